"""A broker or result backend URL holds a password written in the code.

## What it does
Reports `broker_url`, `result_backend` (and `Celery(broker=..., backend=...)`,
`broker_read_url`, `broker_write_url`) whose literal URL contains a password
(`redis://:s3cret@cache:6379/0`, `amqp://user:pass@rabbit//`). Test configurations
(a config class named `Testing`, `Test*` or `*TestConfig`, a `test*` or `conftest`
module) are left out.

## Why is this bad?
The password travels with every clone, fork, CI log and container image of the
repository, and rotating it means a code change and a deploy. Whoever reads the
repository can also write tasks to the broker.

## Example
```python
class Config:
    CELERY = {"broker_url": "redis://:s3cret@cache.internal:6379/0"}
```

Use instead:
```python
class Config:
    CELERY = {"broker_url": os.environ["CELERY_BROKER_URL"]}
```

## Known problems
A default passed to `os.environ.get(...)` is not judged, even when it holds a
password: values read from the environment never are.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    BACKEND_KEYS,
    BROKER_KEYS,
    is_test_config,
    setting_value,
)

NAME = "broker-credentials-in-code"
SEVERITY = "error"
AREA = "Configuration Location"
FIX = "Read the URL (or its password) from the environment."


def _with_password(value: object) -> list[str]:
    """The URLs in a setting's value (Celery's `;`-separated failover list, or a list)
    that contain a password, with the password masked."""
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, (list, tuple)):
        return []
    found = []
    for text in urls:
        if not isinstance(text, str):
            continue
        for url in text.split(";"):
            try:
                password = urlsplit(url.strip()).password
            except ValueError:
                continue
            if password:
                found.append(url.strip().replace(f":{password}@", ":***@", 1))
    return found


def check(project: Project) -> Iterator[Finding]:
    for setting in project.settings:
        if setting.key not in BROKER_KEYS + BACKEND_KEYS or is_test_config(setting):
            continue
        urls = _with_password(setting_value(setting))
        if urls:
            yield finding(
                NAME,
                f"`{setting.key}` holds a password written in the code ({', '.join(urls)})",
                setting.file,
                setting.span,
                scope=setting.container,
                key=f"{setting.container}:{setting.key}",
            )
