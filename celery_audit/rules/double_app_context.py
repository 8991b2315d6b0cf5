"""An app context is pushed twice for one task.

## What it does
Reports tasks whose app context already comes from their base class (the app's
`FlaskTask`/`ContextTask`, or `base=`) and that push another one in their body or
through a decorator.

## Why is this bad?
The inner context is a second app context, with its own `g` and teardown: a
`db.session` opened in one is removed in the other's teardown, and work done in `g`
disappears. It also hides which of the two mechanisms the code relies on, so removing
either looks safe and is not.

## Example
```python
@shared_task  # the app's task_cls already pushes app.app_context()
def sync_inventory():
    with create_app().app_context():
        ...
```

Use instead:
```python
@shared_task
def sync_inventory():
    ...
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "double-app-context"
SEVERITY = "warning"
AREA = "Flask Context"
FIX = "Rely on one mechanism: drop the body/decorator context when the task base provides one."


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        outer = task.context_from("base", "app")
        inner = task.context_from("body", "decorator")
        if not outer or not inner:
            continue
        yield finding(
            NAME,
            f"task `{task.func}` pushes an app context ({inner[0].what}) although "
            f"{outer[0].what.split(' runs tasks with ')[-1]} already does",
            task.file,
            task.def_span,
            related=tuple(Related(e.file, e.span.line, e.what) for e in (*outer, *inner)),
            scope=task.func,
            key=f"{outer[0].what}|{inner[0].what}",
        )
