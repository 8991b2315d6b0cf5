"""Tasks run eagerly in a configuration that is not a test configuration.

## What it does
Reports `task_always_eager = True` — also spelt `CELERY_TASK_ALWAYS_EAGER`, the old
`CELERY_ALWAYS_EAGER` or `always_eager` — in a configuration that is not a test
configuration. A test configuration is a config class named `Testing`, `Test*` or
`*TestConfig`, or a module named `test*` or `conftest`.

## Why is this bad?
With eager mode on, `.delay()` runs the task inside the web request: no worker, no
retry, no time limit, and a slow task blocks the request. When the flag leaks from a
development config into production nothing fails; requests just get slow.
`always_eager` in the new lowercase style is not a setting at all: Celery ignores it
silently, so the tests that rely on it are not eager either.

## Example
```python
class Config:
    CELERY = {"broker_url": os.environ["CELERY_BROKER_URL"], "task_always_eager": True}
```

Use instead:
```python
class TestingConfig(Config):
    CELERY = {**Config.CELERY, "task_always_eager": True}
```

## Known problems
Which configuration class is loaded at run time is not known; every class that is not
named like a test configuration counts.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import is_test_config, setting_value

NAME = "eager-in-config"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Set task_always_eager only in the test configuration."


def check(project: Project) -> Iterator[Finding]:
    for setting in project.settings:
        if setting.key != "task_always_eager" or is_test_config(setting):
            continue
        if setting_value(setting) is True:
            yield finding(
                NAME,
                "tasks run eagerly (task_always_eager=True) in a configuration that is not a test "
                "configuration: .delay() runs inside the caller",
                setting.file,
                setting.span,
                scope=setting.container,
                key=f"{setting.container}:{setting.key}",
            )
