"""Where the beat schedule lives and which tasks it names.

## What it does
Reports each place a beat schedule is defined (`conf.beat_schedule`, `conf.update`,
a config class or mapping, `add_periodic_task`) with the task names it schedules.
This is the seed analysis's "Configuration Location".

## Why is this bad?
It is not bad in itself. But the schedule is only read by the process that imports
that module before beat starts: moving it (say from workers.py to app.py) changes
which module `celery beat -A ...` must import, and the entries name tasks by string,
so a moved or renamed task silently stops running.

## Example
```python
celery.conf.beat_schedule = {
    "send-daily-reminders": {"task": "workers.send_daily_reminders", "schedule": crontab(hour=8)},
}
```

## Known problems
Informational: it inventories configuration for the report and never fails CI by
default.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "beat-schedule-location"
SEVERITY = "info"
AREA = "Configuration Location"
FIX = "Keep the schedule in the module the beat process imports; pin task names with name=... before moving tasks."


def _where(file: str, source: str, container: str) -> str:
    if source == "add_periodic_task":
        return f"add_periodic_task calls in `{container or file}`"
    if source == "run_every":
        return f"`run_every=` task decorators in `{file}`"
    if source == "conf.update":
        return f"`{container}.update(beat_schedule=...)`"
    if source == "conf.beat_schedule":
        return f"`{container}.conf.beat_schedule`"
    return f"config `{container}`"


def check(project: Project) -> Iterator[Finding]:
    def location(entry):  # type: ignore[no-untyped-def]
        return entry.file, entry.source, entry.container

    entries = sorted(project.beat, key=lambda e: (*location(e), e.span.line))
    for (file, source, container), group in groupby(entries, key=location):
        items = list(group)
        first = items[0]
        names = ", ".join(f"{e.key} -> {e.task or '?'}" for e in items)
        yield finding(
            NAME,
            f"beat schedule in {_where(file, source, container)}: {len(items)} "
            f"entr{'y' if len(items) == 1 else 'ies'} ({names})",
            file,
            first.span,
            related=tuple(Related(e.file, e.span.line, f"schedules {e.task}") for e in items[1:]),
            scope=container,
            key=f"{source}:{container}:{names}",
        )
