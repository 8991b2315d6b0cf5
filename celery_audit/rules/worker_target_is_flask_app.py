"""`celery -A module` picks the Flask app, not the Celery app.

## What it does
Reports worker and beat commands whose `-A module` resolves to a module with a
module-level `app` that is the Flask application. Celery looks for `module.app` first
and takes whatever object is there.

## Why is this bad?
The worker starts with a Flask object as its Celery app and crashes at once
(`AttributeError: 'Flask' object has no attribute 'user_options'` or similar). It is
the trap of the Flask documentation's single-module layout, where `app` is the Flask
app and `celery` the Celery app in the same module.

## Example
```text
worker: celery -A app worker   # app.py: app = Flask(__name__); celery = Celery(app.name)
```

Use instead:
```text
worker: celery -A app:celery worker
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "worker-target-is-flask-app"
SEVERITY = "error"
AREA = "Service Management"
FIX = "Name the Celery app explicitly: -A module:celery_app_variable."


def check(project: Project) -> Iterator[Finding]:
    for command in project.worker_commands:
        if command.flask_app is None:
            continue
        yield finding(
            NAME,
            f"`{command.command}`: -A {command.app_target} picks the Flask app `{command.flask_app}` "
            "(Celery takes module.app first); the worker crashes",
            command.file,
            command.span,
            key=command.command,
        )
