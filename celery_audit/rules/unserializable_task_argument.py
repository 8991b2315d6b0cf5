"""A value no serializer can send is passed to a task.

## What it does
Reports `.delay()` / `.apply_async()` calls that pass Flask's `request`, `session`,
`g` or `current_app`, the Flask app, a SQLAlchemy session, or a SQLAlchemy model
instance (a local variable loaded with `Model.query...first()`, `db.session.get(...)`,
`db.get_or_404(...)` or built with `Model(...)`).

## Why is this bad?
Task arguments are serialized into the broker message. With the default JSON
serializer the call raises `kombu.exceptions.EncodeError` in the web request; with
pickle the worker receives a detached copy (stale data, lazy loads that fail, or a
proxy that points at nothing).

## Example
```python
user = User.query.get_or_404(user_id)
send_welcome_email.delay(user)
```

Use instead:
```python
send_welcome_email.delay(user.id)

@shared_task
def send_welcome_email(user_id):
    user = db.session.get(User, user_id)
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "unserializable-task-argument"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Pass ids and plain values (str, int, dict of them); load objects inside the task."


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        if not call.unserializable:
            continue
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` passes {', '.join(call.unserializable)}: it cannot be serialized",
            call.file,
            call.span,
            scope=call.scope,
            key=f"{call.target}.{call.kind}:{','.join(call.unserializable)}",
        )
