"""A beat schedule exists but no service starts beat.

## What it does
Reports a project's beat schedule when its service scripts start Celery processes
but none runs `celery beat` (or a worker with `-B`).

## Why is this bad?
Without a beat process no periodic task ever runs, and nothing reports it: the
schedule sits in the configuration while nightly reports and cleanups never happen.

## Example
```text
web: gunicorn app:app
worker: celery -A app:celery worker
```

Use instead:
```text
worker: celery -A app:celery worker
beat: celery -A app:celery beat
```

## Known problems
Only service scripts celery-audit can read count; beat started by another repository
or a platform scheduler is not seen. Projects with no Celery command in any script are
not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "beat-not-started"
SEVERITY = "warning"
AREA = "Service Management"
FIX = "Start beat: a `celery -A ... beat` service (or -B on exactly one worker)."


def check(project: Project) -> Iterator[Finding]:
    commands = project.commands_by_root
    for root in sorted({project.root_of(e.module) for e in project.beat}):
        mine = commands.get(root, [])
        if not mine or any(c.subcommand == "beat" or c.beat for c in mine):
            continue
        entries = [e for e in project.beat if project.root_of(e.module) == root]
        first = min(entries, key=lambda e: (e.file, e.span.line))
        yield finding(
            NAME,
            f"{len(entries)} beat entr{'y' if len(entries) == 1 else 'ies'} but no service starts "
            "celery beat (or a worker with -B): periodic tasks never run",
            first.file,
            first.span,
            related=tuple(Related(c.file, c.span.line, c.command) for c in mine),
            key=f"beat:{root}",
        )
