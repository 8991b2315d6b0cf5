"""Two tasks register the same name.

## What it does
Reports every task whose registered name (explicit `name=` or derived) is already
registered by another task of the same project.

## Why is this bad?
Celery's registry maps one name to one task. Whichever module is imported last wins,
so which function runs depends on import order: calls and beat entries silently reach
the wrong code.

## Example
```python
# billing/tasks.py
@shared_task(name="send_invoice")
def send_invoice(invoice_id): ...

# notifications/tasks.py
@shared_task(name="send_invoice")
def send_invoice_email(invoice_id): ...
```

Use instead:
```python
@shared_task(name="notifications.send_invoice_email")
def send_invoice_email(invoice_id): ...
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project, Task
from celery_audit.rules.base import finding

NAME = "task-name-collision"
SEVERITY = "error"
AREA = "Task Invocation"
FIX = "Give each task a unique name=... (prefix it with its module or domain)."


def check(project: Project) -> Iterator[Finding]:
    first: dict[tuple[str, str], Task] = {}
    for task in sorted(project.tasks, key=lambda t: (t.file, t.def_span.line)):
        if task.name_pattern:
            continue  # a name only partly known statically: nothing to compare
        key = (task.root, task.name)
        if key not in first:
            first[key] = task
            continue
        other = first[key]
        yield finding(
            NAME,
            f"task `{task.func}` registers `{task.name}`, already registered by `{other.func}`",
            task.file,
            task.def_span,
            related=(
                Related(other.file, other.def_span.line, f"`{other.func}` registers `{task.name}`"),
            ),
            scope=task.func,
            key=task.name,
        )
