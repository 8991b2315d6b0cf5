"""A task is referenced by string under its derived (implicit) name.

## What it does
Reports beat entries, `send_task("name")` and `signature("name")` that name a task
registered without `name=`, i.e. under the name Celery derives from its module path
(`workers.send_daily_reminders`), or, for a module run as a script that starts its
worker, from the app's main (`Celery("thumbnails")`: `thumbnails.make_thumbnail`).

## Why is this bad?
The name changes whenever the task's module is renamed or the function moves (to a
package, to `tasks/`, behind `@shared_task` in another module). Python imports fail
loudly on such a move; these string references do not: beat keeps scheduling the old
name and workers drop it as unregistered.

## Example
```python
@celery.task
def send_daily_reminders(): ...

celery.conf.beat_schedule = {
    "reminders": {"task": "workers.send_daily_reminders", "schedule": crontab(hour=8)},
}
```

Use instead:
```python
@celery.task(name="reminders.send_daily")
def send_daily_reminders(): ...

celery.conf.beat_schedule = {
    "reminders": {"task": "reminders.send_daily", "schedule": crontab(hour=8)},
}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project, Task
from celery_audit.rules.base import finding, string_references

NAME = "implicit-name-referenced"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Give the task an explicit name=... and reference that name."


def _derivation(project: Project, task: Task, name: str) -> str:
    """How Celery derived `name`, one of `task`'s names, and what breaks it."""
    app = next((a for a in project.celery_apps if a.qualname == task.app), None)
    main = app.main if app is not None and app.main and app.main != "__name__" else None
    func = task.func.rsplit(".", 1)[-1]
    if name != task.name and name == f"{main or '__main__'}.{func}":
        source = f"from its app's main (`{main}`)" if main else "from `__main__`"
        return (
            f"the name `{task.func}` gets {source} when its module runs as a script: "
            "renaming the app or starting the worker another way breaks it silently"
        )
    return (
        f"a name derived from the module path of `{task.func}`: moving or renaming the "
        "module breaks it silently"
    )


def check(project: Project) -> Iterator[Finding]:
    implicit = {n: t for t in project.tasks if not t.name_explicit for n in t.names}
    for ref in string_references(project):
        task = implicit.get(ref.name)
        if task is None:
            continue
        unnamed = "name=" if task.decorator.startswith("@") else "`name` attribute"
        yield finding(
            NAME,
            f"{ref.what} references `{ref.name}`, {_derivation(project, task, ref.name)}",
            ref.file,
            ref.span,
            related=(
                Related(task.file, task.def_span.line, f"task `{task.func}` has no {unnamed}"),
            ),
            scope=ref.scope,
            key=f"{ref.what}:{ref.name}",
        )
