"""A task bound to one Celery app instance is called from another module.

## What it does
Reports call sites (`.delay()`, `.apply_async()`, `.s()`, ...) of tasks declared with
a specific app's decorator (`@celery.task`) when the caller imports the task from its
defining module. This is the coupling the seed analysis calls "Task Invocation".

## Why is this bad?
It works today, but the call depends on three things staying put: the task's module,
its app instance and the import path between them. Moving the task, switching it to
`@shared_task` or creating the app elsewhere changes what this import loads and which
app sends the message; a move without `name=` also changes the registered name that
running workers and beat know.

## Example
```python
# resources.py
from workers import generate_user_export

task = generate_user_export.delay(user_id)
```

Use instead (keep the call, pin what it depends on):
```python
# workers.py
@celery.task(name="exports.generate_user_export")
def generate_user_export(user_id): ...
```

## Known problems
Informational: it inventories coupling for the report and never fails CI by default.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "app-bound-task-call"
SEVERITY = "info"
AREA = "Task Invocation"
FIX = "Pin the task's name with name=... before moving it or switching to @shared_task; re-check this call after any move."

CALL_KINDS = frozenset({"delay", "apply_async", "s", "si", "signature", "map", "starmap", "chunks"})


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        task = project.task(call.task) if call.task else None
        if task is None or call.kind not in CALL_KINDS or task.app in ("", "shared_task"):
            continue
        if call.module == task.module or call.task_name is not None:
            continue  # by name (`app.tasks["n"]`, `signature("n")`): nothing is imported
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` calls task `{call.sent_name or task.name}`, bound to app "
            f"`{task.app}` and imported from `{task.module}`",
            call.file,
            call.span,
            related=(
                Related(
                    task.file,
                    task.def_span.line,
                    f"task `{task.func}` defined with {task.decorator}",
                ),
            ),
            scope=call.scope,
            key=f"{call.target}.{call.kind}->{task.name}",
        )
