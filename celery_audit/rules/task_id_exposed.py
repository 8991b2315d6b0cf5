"""A dispatched task's id is returned to an HTTP client.

## What it does
Reports dispatches whose result id (`result.id`, `result.task_id`) reaches a `return`
of a Flask view, MethodView or flask-restful Resource method.

## Why is this bad?
The client now holds a task id and will poll for its state: the task's name, its
result backend and the status endpoint form a contract with the frontend. Changing
how the task is dispatched (a chain, a different app, `ignore_result=True`) silently
breaks status tracking in the UI.

## Example
```python
class ExportResource(Resource):
    def post(self):
        task = generate_user_export.delay(current_user.id)
        return {"task_id": task.id}, 202
```

Use instead: keep it, and keep the contract explicit, e.g. a status endpoint that
reads `AsyncResult(task_id)` and documents the states and fields it returns.

## Known problems
Informational: it inventories the frontend contract and never fails CI by default.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "task-id-exposed"
SEVERITY = "info"
AREA = "Task Invocation"
FIX = "Keep the task's name, result backend and status endpoint stable while clients poll this id."


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        if not call.id_returned or call.handler is None:
            continue
        task = project.task(call.task) if call.task else None
        label = f"`{task.name}`" if task else f"`{call.target}`"
        where = f"`{call.handler}`" if call.handler else f"`{call.scope}`"
        related = tuple(
            Related(
                s.file,
                s.span.line,
                f"status endpoint {s.route} returns {', '.join(s.returns) or 'a value'}",
            )
            for s in project.status_endpoints
        )
        yield finding(
            NAME,
            f"the id of task {label} is returned to the HTTP client by {where}; clients track it",
            call.file,
            call.span,
            related=related,
            scope=call.scope,
            key=f"{call.target}.{call.kind}@{call.scope}",
        )
