"""A `@shared_task` is dispatched where the project's Celery app may not be current.

## What it does
Reports `.delay()` / `.apply_async()` calls of `@shared_task` tasks when no Celery app
of the project calls `set_default()` and the dispatching module does not import (at
module level, directly or not) the module that creates the app.

## Why is this bad?
A shared task sends through the *current* app, which Celery tracks per thread. The app
is current in the thread that created it; in other threads (a threaded WSGI server, a
thread pool) the fallback is Celery's default app, configured with
`amqp://guest@localhost//`: the call hangs or fails against a broker that does not
exist, only in production threads.

## Example
```python
def celery_init_app(app):
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    return celery_app
```

Use instead:
```python
    celery_app.set_default()
```

## Known problems
Apps built through Flask-CeleryExt are not judged: its factory may configure Celery's
default app itself, which shared tasks already use. Dispatches from task bodies are not
reported (in a worker, the worker's app is current).
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "shared-task-default-app"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Call set_default() on the project's Celery app where it is created."


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        if not call.default_app_risk:
            continue
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` sends a shared task from a module that does not load the "
            "Celery app, and no app calls set_default(): in other threads it goes to amqp://localhost",
            call.file,
            call.span,
            scope=call.scope,
            key=f"{call.target}.{call.kind}",
        )
