"""Stored task results never expire.

## What it does
Reports `result_expires = None` or `0` (also `CELERY_RESULT_EXPIRES` and the old
`CELERY_TASK_RESULT_EXPIRES`) in a project that configures a result backend
(`result_backend` in any configuration, or `Celery(backend=...)`).

## Why is this bad?
Every task stores its result. Without expiry nothing removes them: a Redis backend
grows until it runs out of memory and starts evicting or refusing writes (the broker
too, when they share an instance), and a database backend grows without bound.
Celery's default is one day.

## Example
```python
celery.conf.update(result_backend=os.environ["CELERY_RESULT_BACKEND"], result_expires=None)
```

Use instead:
```python
celery.conf.update(result_backend=os.environ["CELERY_RESULT_BACKEND"], result_expires=3600)
```

## Known problems
With the `rpc://` backend results are messages, not stored entries; a literal `rpc://`
backend is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import BACKEND_KEYS, setting_value

NAME = "result-expires-disabled"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Set result_expires to how long clients need results (Celery's default is 86400 s)."


def _backends(project: Project, root: str) -> list[object]:
    """The result backends a project configures, as values (UNKNOWN when computed)."""
    found: list[object] = [
        setting_value(s) for s in project.settings if s.root == root and s.key in BACKEND_KEYS
    ]
    found += [
        app.backend
        for app in project.celery_apps
        if app.backend is not None and project.root_of(app.module) == root
    ]
    return found


def check(project: Project) -> Iterator[Finding]:
    for setting in project.settings:
        if setting.key != "result_expires":
            continue
        value = setting_value(setting)
        disabled = value is None or (type(value) in (int, float) and value == 0)
        if not disabled:
            continue
        backends = _backends(project, setting.root)
        if not backends or all(isinstance(b, str) and b.startswith("rpc://") for b in backends):
            continue
        yield finding(
            NAME,
            f"stored results never expire (result_expires={value!r}): the result backend grows without bound",
            setting.file,
            setting.span,
            scope=setting.container,
            key=f"{setting.container}:{setting.key}",
        )
