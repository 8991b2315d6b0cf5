"""A module-level import cycle runs through the Celery app or task modules.

## What it does
Reports each cycle of module-level imports that contains a module creating a Celery
app or defining tasks. Imports inside functions are lazy and do not count.

## Why is this bad?
Which module finishes importing first depends on the entry point: the web server,
`celery -A ... worker` and `celery beat` import the project in different orders, so a
cycle that works in one process raises `ImportError: cannot import name ...` (or
leaves a task unregistered) in another.

## Example
```python
# celery_app.py
from inventory.tasks import reindex  # registers tasks

# tasks.py
from inventory.celery_app import celery
```

Use instead:
```python
# celery_app.py
celery = Celery("inventory", include=["inventory.tasks"])
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "circular-import"
SEVERITY = "warning"
AREA = "Imports"
FIX = "Import tasks lazily (include=[...] or inside a function) so the app module imports no task module."


def check(project: Project) -> Iterator[Finding]:
    for cycle in project.cycles:
        path = " -> ".join([*(e.source for e in cycle), cycle[0].source])
        first = cycle[0]
        yield finding(
            NAME,
            f"module-level import cycle {path}",
            first.file,
            first.span,
            related=tuple(
                Related(e.file, e.span.line, f"{e.source} imports {e.target}") for e in cycle[1:]
            ),
            key=path,
        )
