"""A decorator without `functools.wraps` renames the task.

## What it does
Reports tasks without `name=` that have a project decorator under the task decorator
whose wrapper function is not decorated with `functools.wraps`.

## Why is this bad?
Celery derives the task name from the function it receives: the wrapper. The task
registers as `decorators.wrapper` instead of `tasks.export_report` — and every task
with that decorator registers under the *same* name, so only the last one survives.
Calls through imports still work; beat entries and `send_task` by name do not.

## Example
```python
def log_calls(fn):
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper

@celery.task
@log_calls
def export_report(): ...
```

Use instead:
```python
def log_calls(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "wrapper-renames-task"
SEVERITY = "error"
AREA = "Task Invocation"
FIX = "Decorate the wrapper with @functools.wraps(fn), or pin the task's name with name=...."


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        if task.renamed_by is None or task.name_explicit:
            continue
        yield finding(
            NAME,
            f"task `{task.func}` registers as `{task.name}`: @{task.renamed_by} does not use functools.wraps",
            task.file,
            task.def_span,
            scope=task.func,
            key=f"{task.renamed_by}:{task.name}",
        )
