"""A task_routes entry matches no task.

## What it does
Reports each key of a literal `task_routes` (a mapping, a list of mappings or the
items form; also `CELERY_TASK_ROUTES` and the old `CELERY_ROUTES`) that matches no task
the project registers. Keys are matched as Celery matches them: an exact task name, or
a glob in which only `*` is special.

## Why is this bad?
A route that matches nothing routes nothing, silently: the task it was meant for (often
renamed or moved, so its derived name changed) goes to the default queue, where the
dedicated workers for it never look, or where it competes with everything else.

## Example
```python
CELERY = {"task_routes": {"reports.tasks.build_pdf": {"queue": "reports"}}}
```
```python
# reports/pdf.py (moved from reports/tasks.py)
@shared_task
def build_pdf(report_id): ...
```

Use instead:
```python
@shared_task(name="reports.build_pdf")
def build_pdf(report_id): ...
```
```python
CELERY = {"task_routes": {"reports.build_pdf": {"queue": "reports"}}}
```

## Known problems
Only keys that name the project's own tasks are judged: the first part of the name (or
of a glob, before any `*`) must be one of the project's packages or start a name its
tasks register, and Celery's built-in `celery.*` tasks are left out. Routes are not
judged when a task's `name=` is not a constant. Routers given as functions or classes
are not read.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    is_test_config,
    route_matches,
    routes_of,
    task_option,
)

NAME = "route-to-unknown-task"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Route by the name the task registers (pin it with name=...), or drop the route."

BUILTIN_PREFIXES = ("celery.",)


def check(project: Project) -> Iterator[Finding]:
    names = {n for t in project.tasks for n in t.names}
    if any((kw := task_option(t, "name")) is not None and not kw.literal for t in project.tasks):
        return  # a computed name= could be the one a route means
    own = {m.name.split(".", 1)[0] for m in project.modules} | {n.split(".", 1)[0] for n in names}
    for setting in project.settings:
        if setting.key != "task_routes" or is_test_config(setting):
            continue
        routes = routes_of(setting)
        if routes is None:
            continue
        for pattern, _ in routes:
            if pattern.startswith(BUILTIN_PREFIXES) or pattern.split(".", 1)[0] not in own:
                continue
            if any(route_matches(pattern, name) for name in names):
                continue
            what = "glob" if "*" in pattern else "name"
            yield finding(
                NAME,
                f"task_routes entry `{pattern}` matches no task the project registers (by {what}): "
                "the route applies to nothing",
                setting.file,
                setting.span,
                scope=setting.container,
                key=f"{setting.container}:task_routes:{pattern}",
            )
