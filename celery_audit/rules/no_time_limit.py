"""Tasks run without any time limit.

## What it does
Reports, once per Celery app (at the app's creation), the tasks of that app that have
no time limit: neither `task_time_limit` / `task_soft_time_limit` in the project's
configuration (or `--time-limit` / `--soft-time-limit` on a worker command) nor
`time_limit=` / `soft_time_limit=` on the task. A `@shared_task` belongs to the apps of
its own project.

Off by default: select it by its code (`--select CA703`, or `extend-select =
["CA703"]` in `[tool.celery-audit]`).

## Why is this bad?
Celery sets no time limit by default. A task that hangs — a socket without a timeout, a
lock never released, an endless loop — holds its worker process forever; a few of
them and the worker stops consuming while it still looks alive.

## Example
```python
@shared_task
def import_feed(url): ...
```

Use instead:
```python
class Config:
    CELERY = {"task_soft_time_limit": 240, "task_time_limit": 300}
```

## Known problems
Off by default because nearly every project would get it: it is a hygiene check for
teams that audit their Celery configuration, not a sign of a break. Settings are read
per project, not per app: a limit set in any configuration of the project (other than
a test configuration), or on any of its worker commands, counts for all of its apps.
A limit set as a class attribute of a custom task base (`base=`, `task_cls=`) is not
seen. Values read from the environment count as limits.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import CeleryApp, Project, Task
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    HARD,
    OPTION,
    SOFT,
    config_limits,
    keyword_seconds,
    limit_set,
    task_option,
)

NAME = "no-time-limit"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Set task_time_limit (with task_soft_time_limit below it) in the configuration, or time_limit= on each task."
DEFAULT_ENABLED = False

SHOWN = 5  # task names in the message; `related` lists them all


def _limited(task: Task) -> bool:
    for key in (HARD, SOFT):
        own = task_option(task, OPTION[key])
        if own is not None and limit_set(keyword_seconds(own)):
            return True
    return False


def _tasks_of(project: Project, app: CeleryApp, root: str) -> list[Task]:
    """The tasks an app runs: those bound to it, and the shared (or unresolved) ones
    of its project."""
    return [
        t
        for t in project.tasks
        if t.app == app.qualname or (t.app in ("shared_task", "") and t.root == root)
    ]


def check(project: Project) -> Iterator[Finding]:
    for app in sorted(project.celery_apps, key=lambda a: (a.file, a.span.line)):
        root = project.root_of(app.module)
        configured = config_limits(project, root, HARD) + config_limits(project, root, SOFT)
        if any(limit_set(limit.seconds) for limit in configured):
            continue
        unlimited = sorted(
            (t for t in _tasks_of(project, app, root) if not _limited(t)),
            key=lambda t: (t.file, t.def_span.line),
        )
        if not unlimited:
            continue
        names = ", ".join(f"`{t.name}`" for t in unlimited[:SHOWN])
        more = f" and {len(unlimited) - SHOWN} more" if len(unlimited) > SHOWN else ""
        yield finding(
            NAME,
            f"{len(unlimited)} {'task' if len(unlimited) == 1 else 'tasks'} of app `{app.qualname}` "
            f"run without a time limit: {names}{more}",
            app.file,
            app.span,
            related=tuple(
                Related(t.file, t.def_span.line, f"task `{t.name}` has no time limit")
                for t in unlimited
            ),
            key=f"{app.qualname}:no-time-limit",
        )
