"""`.delay()` or `.apply_async()` is called on a plain function.

## What it does
Reports dispatches whose receiver resolves to a project function that is not a Celery
task (no task decorator, or the decorator was removed in a refactoring).

## Why is this bad?
A plain function has no `delay` attribute: the call raises `AttributeError` at run
time, typically in a code path tests did not cover.

## Example
```python
def rebuild_search_index(): ...

rebuild_search_index.delay()
```

Use instead:
```python
@shared_task
def rebuild_search_index(): ...

rebuild_search_index.delay()
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "dispatch-on-non-task"
SEVERITY = "error"
AREA = "Task Invocation"
FIX = "Decorate the function as a task, or call it directly."


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        if call.plain_function is None:
            continue
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` is called on `{call.plain_function}`, a plain function, not a task",
            call.file,
            call.span,
            scope=call.scope,
            key=f"{call.target}.{call.kind}",
        )
