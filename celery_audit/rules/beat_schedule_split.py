"""The beat schedule is defined in more than one place.

## What it does
Reports every beat schedule definition of a project after the first: the schedule is
split between, say, a config class and `celery.conf.beat_schedule`.

## Why is this bad?
`beat_schedule` is one setting: whichever assignment runs last replaces the other
(`conf.update`, `config_from_object` and direct assignment do not merge). Entries
vanish depending on import and configuration order, without an error.

## Example
```python
class Config:
    CELERY_BEAT_SCHEDULE = {"cleanup": {...}}

# tasks.py
celery.conf.beat_schedule = {"reminders": {...}}
```

Use instead: one `beat_schedule` holding every entry, in the configuration the beat
process loads.

## Known problems
`add_periodic_task` entries are not counted: they are added to whatever schedule is
configured, so they never replace it.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import BeatEntry, Project
from celery_audit.rules.base import finding

NAME = "beat-schedule-split"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Keep every beat entry in one beat_schedule setting."


def check(project: Project) -> Iterator[Finding]:
    locations: dict[str, dict[tuple[str, str, str], BeatEntry]] = {}
    for entry in sorted(project.beat, key=lambda e: (e.file, e.span.line)):
        if entry.source in ("add_periodic_task", "run_every"):
            continue  # adds to the schedule at run time; it replaces nothing
        where = locations.setdefault(project.root_of(entry.module), {})
        where.setdefault((entry.file, entry.source, entry.container), entry)
    for entries in locations.values():
        firsts = list(entries.values())
        for entry in firsts[1:]:
            first = firsts[0]
            yield finding(
                NAME,
                f"a second beat schedule ({entry.source}) besides the one at {first.file}:{first.span.line}: "
                "one silently replaces the other",
                entry.file,
                entry.span,
                related=(Related(first.file, first.span.line, "first beat schedule"),),
                scope=entry.container,
                key=f"{entry.source}:{entry.container}",
            )
