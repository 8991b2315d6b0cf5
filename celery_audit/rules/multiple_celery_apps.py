"""More than one Celery app instance in one project.

## What it does
Reports every Celery app created in a project after the first one.

## Why is this bad?
`@shared_task` binds to whichever app is current, and tasks decorated with one app's
`.task` are registered only there: with two apps, which broker, configuration and
task registry a call uses depends on import order and thread. Workers started with
`-A` one app do not know the other's tasks.

## Example
```python
# extensions.py
celery = Celery("shop")
# legacy/jobs.py
celery_app = Celery("jobs", broker="redis://localhost:6379/1")
```

Use instead: one Celery app, imported (or `current_app`) everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import CeleryApp, Project
from celery_audit.rules.base import finding

NAME = "multiple-celery-apps"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Create one Celery app and import it everywhere (or use shared_task with one default app)."


def check(project: Project) -> Iterator[Finding]:
    first: dict[str, CeleryApp] = {}
    for app in sorted(project.celery_apps, key=lambda a: (a.file, a.span.line)):
        root = project.root_of(app.module)
        if root not in first:
            first[root] = app
            continue
        other = first[root]
        yield finding(
            NAME,
            f"a second Celery app `{app.qualname}` besides `{other.qualname}`",
            app.file,
            app.span,
            related=(
                Related(
                    other.file, other.span.line, f"`{other.qualname}` created with {other.how}"
                ),
            ),
            key=app.qualname,
        )
