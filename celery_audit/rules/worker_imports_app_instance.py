"""A task module imports the Flask app instance at module level.

## What it does
Reports module-level imports of the Flask application *instance* (`from app import
app`) in modules that define tasks.

## Why is this bad?
Every worker process then builds the whole web application on import (blueprints,
extensions, configuration) — and the app module usually imports the task module,
so the two form an import cycle that breaks as soon as the import order changes
(`celery -A tasks worker` imports them the other way round).

## Example
```python
# tasks.py
from myapp.app import app

@celery.task
def rebuild():
    with app.app_context(): ...
```

Use instead:
```python
@celery.task
def rebuild():
    from myapp import create_app
    with create_app().app_context(): ...
```
or give the Celery app a task base that pushes the context.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "worker-imports-app-instance"
SEVERITY = "warning"
AREA = "Imports"
FIX = "Import the app factory lazily inside the task, or provide the context through the task base class."


def check(project: Project) -> Iterator[Finding]:
    task_modules = {t.module for t in project.tasks}
    for app in project.flask_apps:
        for where in app.imported_at:
            if where.what not in task_modules or where.what == app.module:
                continue
            yield finding(
                NAME,
                f"task module `{where.what}` imports the Flask app instance `{app.qualname}` at module level",
                where.file,
                where.span,
                related=(
                    Related(app.file, app.span.line, f"`{app.qualname}` created with {app.how}"),
                ),
                key=app.qualname,
            )
