"""A task registers under its derived name.

## What it does
Reports every task declared without `name=`: Celery registers it as
`module.function`, derived from where the code lives.

Off by default: select it by its code (`--select CA714`, or `extend-select =
["CA714"]` in `[tool.celery-audit]`). implicit-name-referenced (CA104) already reports,
by default, the tasks whose derived name something refers to as a string.

## Why is this bad?
The registered name is the contract between whoever sends a task and the workers that
run it, and it is stored in queued messages, beat schedules, `task_routes` and result
metadata. A derived name changes when the module is moved or renamed; messages in flight
then fail as "unregistered task". Teams that want every name pinned enable this rule.

## Example
```python
# shop/tasks.py
@shared_task
def send_invoice(order_id): ...
```

Use instead:
```python
@shared_task(name="shop.send_invoice")
def send_invoice(order_id): ...
```

## Known problems
Off by default: most tasks are only ever called through their function, where a derived
name is harmless.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "implicit-task-name"
SEVERITY = "info"
AREA = "Task Invocation"
FIX = 'Pin the name: @shared_task(name="project.task_name").'
DEFAULT_ENABLED = False


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        if task.name_explicit:
            continue
        yield finding(
            NAME,
            f"task `{task.func}` registers under its derived name `{task.name}`: moving or renaming "
            "the code renames the task",
            task.file,
            task.def_span,
            scope=task.func,
            key=f"{task.qualname}:implicit-name",
        )
