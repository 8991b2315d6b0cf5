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
from celery_audit.rules.config_values import setting_value

NAME = "unserializable-task-argument"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Pass ids and plain values (str, int, dict of them); load objects inside the task."


def check(project: Project) -> Iterator[Finding]:
    pickled = {
        s.root
        for s in project.settings
        if s.key == "task_serializer"
        and setting_value(s) in ("pickle", "application/x-python-serialize")
    }
    for call in project.call_sites:
        if not call.unserializable:
            continue
        outcome = (
            "the worker receives a detached pickled copy"
            if project.root_of(call.module) in pickled
            else "it cannot be serialized"
        )
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` passes {', '.join(call.unserializable)}: {outcome}",
            call.file,
            call.span,
            scope=call.scope,
            key=f"{call.target}.{call.kind}:{','.join(call.unserializable)}",
        )
