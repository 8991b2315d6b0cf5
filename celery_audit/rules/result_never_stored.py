"""A task's state is polled but its result is never stored.

## What it does
Reports tasks whose result or state is read — `task.AsyncResult(id)` in a view, or its
id returned to an HTTP client of a project that serves task status — while the task
ignores results: `ignore_result=True` on the task, or `task_ignore_result=True` in
the configuration (a config class, the `CELERY` mapping, `conf.update`, `Celery(...)`)
without `ignore_result=False` on the task.

## Why is this bad?
With results ignored, the backend never records the task's state: every poll returns
`PENDING` forever, so the UI spins until it times out although the task succeeded.

## Example
```python
CELERY = dict(broker_url=..., result_backend=..., task_ignore_result=True)

@shared_task
def export_orders(): ...
```

Use instead:
```python
@shared_task(ignore_result=False)
def export_orders(): ...
```

## Known problems
A missing `result_backend` is not reported: Celery also reads it from the
`CELERY_RESULT_BACKEND` environment variable, which static analysis cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "result-never-stored"
SEVERITY = "error"
AREA = "Task Invocation"
FIX = "Store the result of tasks whose state is polled: ignore_result=False on the task."


def check(project: Project) -> Iterator[Finding]:
    read: dict[str, Related] = {}
    for endpoint in project.status_endpoints:
        if endpoint.task:
            read.setdefault(
                endpoint.task,
                Related(endpoint.file, endpoint.span.line, f"state read by {endpoint.route}"),
            )
    if project.status_endpoints:
        for call in project.call_sites:
            if call.task and call.id_returned and call.handler is not None:
                read.setdefault(
                    call.task, Related(call.file, call.span.line, "id returned to the HTTP client")
                )
    for task in project.tasks:
        if task.qualname not in read:
            continue
        if task.ignore_result is False:
            continue
        if task.ignore_result:
            why, where = "it is declared with ignore_result=True", None
        else:
            setting = project.setting(task.root, "task_ignore_result")
            if setting is None or setting.value != "True":
                continue
            why = "task_ignore_result=True in the configuration and the task does not set ignore_result=False"
            where = Related(setting.file, setting.span.line, "task_ignore_result=True")
        related = (read[task.qualname], *((where,) if where else ()))
        yield finding(
            NAME,
            f"the state of task `{task.func}` is polled but never stored: {why}; clients see PENDING forever",
            task.file,
            task.def_span,
            related=related,
            scope=task.func,
            key=f"{task.name}:{why}",
        )
