"""A serializer setting allows pickle.

## What it does
Reports `task_serializer`, `result_serializer`, `event_serializer`, `accept_content`
or `result_accept_content` set to `pickle` (or its content type
`application/x-python-serialize`), wherever the configuration is written: a config
class, the `CELERY` mapping of `app.config`, `conf.update(...)`, `CELERY_`-namespaced
keys or `Celery(...)` keyword arguments.

## Why is this bad?
A worker that accepts pickle runs whatever a message tells it to while unpickling:
anyone who can write to the broker (a shared Redis, a leaked URL) executes code on
every worker. Celery made JSON the default in 4.0 for this reason.

## Example
```python
app.config["CELERY"] = {
    "task_serializer": "pickle",
    "accept_content": ["pickle", "json"],
}
```

Use instead:
```python
app.config["CELERY"] = {
    "task_serializer": "json",
    "accept_content": ["json"],
}
```

## Known problems
Values read from the environment or computed are not judged. A project that must
send Python objects can sign messages (`task_serializer = "auth"`), which this rule
does not report.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import setting_value

NAME = "pickle-serializer"
SEVERITY = "error"
AREA = "Configuration Location"
FIX = "Use the json serializer and accept_content = ['json']."

KEYS = (
    "task_serializer",
    "result_serializer",
    "event_serializer",
    "accept_content",
    "result_accept_content",
)
PICKLE = ("pickle", "application/x-python-serialize")


def check(project: Project) -> Iterator[Finding]:
    for setting in project.settings:
        if setting.key not in KEYS:
            continue
        value = setting_value(setting)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, (list, tuple, set, frozenset)):
            continue
        if any(isinstance(name, str) and name.lower() in PICKLE for name in names):
            yield finding(
                NAME,
                f"`{setting.key}` allows pickle: anyone who can write to the broker runs code on the workers",
                setting.file,
                setting.span,
                scope=setting.container,
                key=f"{setting.container}:{setting.key}",
            )
