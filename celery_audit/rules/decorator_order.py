"""A function decorator is applied outside (above) the task decorator.

## What it does
Reports project decorators that return a wrapper function and sit above the task
decorator, so they wrap the Task object instead of the function.

## Why is this bad?
The module-level name is now the wrapper, a plain function: `.delay()` on it raises
`AttributeError`, and when the worker runs the task the decorator's code never runs
(the worker calls the registered Task, not the wrapper).

## Example
```python
@ensure_context
@celery.task
def send_daily_reminders(): ...
```

Use instead:
```python
@celery.task
@ensure_context
def send_daily_reminders(): ...
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "decorator-order"
SEVERITY = "error"
AREA = "Flask Context"
FIX = "Put the task decorator on top: @celery.task first, other decorators below it."


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        for outer in task.wrapped_outside:
            yield finding(
                NAME,
                f"{outer.what} wraps the Task object of `{task.func}`, not the function: "
                f"`.delay()` is lost and the worker never runs the decorator",
                outer.file,
                outer.span,
                scope=task.func,
                key=f"{outer.what}:{task.func}",
            )
