"""A task is referenced by a name that no task in the project registers.

## What it does
Reports beat entries, `send_task("name")` and `signature("name")` whose name starts
with one of the project's own top-level modules or packages (so it is meant to be a
task of this codebase) while no task registers exactly that name.

## Why is this bad?
Celery only knows tasks by registered name. A typo, a renamed function or a moved
module leaves the reference pointing at nothing: beat keeps sending it and workers log
`Received unregistered task of type ...` and drop the message.

## Example
```python
celery.conf.beat_schedule = {
    "nightly": {"task": "shop.tasks.send_nightly_report", "schedule": crontab(hour=2)},
}  # the task is shop.tasks.send_nightly_reports
```

Use instead:
```python
@celery.task(name="shop.send_nightly_reports")
def send_nightly_reports(): ...

celery.conf.beat_schedule = {
    "nightly": {"task": "shop.send_nightly_reports", "schedule": crontab(hour=2)},
}
```

A task's `name=` is read through the project's string constants (`name=RENEW_LOAN`,
`name=f"{PREFIX}.renew"`); a part that cannot be known statically
(`name=f"{__name__}.holds.expire"`) matches anything, so a reference it could match is
not reported.

## Known problems
Names outside the project's own packages are never reported: they may belong to
another service's workers. A task made by a decorator helper that passes `name=` to
the app's `task` itself (`@job("cleanup")` returning `celery.task(name=...)`) is taken
to have its derived name.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding, string_references

NAME = "unknown-task-name"
SEVERITY = "error"
AREA = "Task Invocation"
FIX = "Reference the task by the name it registers (pin it with name=...), or restore the task."

BUILTIN_PREFIXES = ("celery.",)


def check(project: Project) -> Iterator[Finding]:
    registered = {n for t in project.tasks if not t.name_pattern for n in t.names}
    # Names only partly known statically (`name=f"{prefix}.{job}"`): `shop.jobs.*`.
    patterns = [t.name for t in project.tasks if t.name_pattern]
    own = {m.name.split(".", 1)[0] for m in project.modules}
    for ref in string_references(project):
        if ref.name in registered or ref.name.startswith(BUILTIN_PREFIXES):
            continue
        if any(fnmatchcase(ref.name, pattern) for pattern in patterns):
            continue
        if ref.name.split(".", 1)[0] not in own:
            continue
        yield finding(
            NAME,
            f"{ref.what} names task `{ref.name}`, which no task in the project registers",
            ref.file,
            ref.span,
            scope=ref.scope,
            key=f"{ref.what}:{ref.name}",
        )
