"""A beat entry sends messages that never expire.

## What it does
Reports beat entries (and `add_periodic_task` calls) without an `expires` option —
neither `"options": {"expires": ...}` on the entry, `expires=` on `add_periodic_task` or
its signature's `.set(...)`, nor `expires=` on the task it starts.

Off by default: select it by its code (`--select CA712`, or `extend-select =
["CA712"]` in `[tool.celery-audit]`).

## Why is this bad?
Beat keeps sending while the workers are down or busy. When they come back, every
message queued in the meantime runs: a job meant to run every minute runs a few hundred
times in a row, each doing work that only the latest run needed. With `expires` set
(to about the period) stale runs are dropped instead.

## Example
```python
beat_schedule = {
    "refresh-rates": {"task": "rates.refresh", "schedule": 60.0},
}
```

Use instead:
```python
beat_schedule = {
    "refresh-rates": {"task": "rates.refresh", "schedule": 60.0, "options": {"expires": 55}},
}
```

## Known problems
Off by default: many schedules are meant to catch up, and whether one is cannot be read
from the code. Options built elsewhere (`"options": DEFAULT_OPTIONS`) are not judged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import task_option

NAME = "beat-entry-without-expires"
SEVERITY = "info"
AREA = "Configuration Location"
FIX = 'Give the entry "options": {"expires": <about its period in seconds>}.'
DEFAULT_ENABLED = False


def has_expires(options: str) -> bool | None:
    """Whether beat entry options (as written) set `expires`; None when not known."""
    if not options:
        return False
    try:
        body = ast.parse(options.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if isinstance(body, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) else k for k in body.keys]
        if "expires" in keys:
            return True
        return None if any(not isinstance(k, str) for k in keys) else False
    if isinstance(body, ast.Call) and getattr(body.func, "id", "") == "dict" and not body.args:
        names = [k.arg for k in body.keywords]
        if "expires" in names:
            return True
        return None if None in names else False
    return None


def check(project: Project) -> Iterator[Finding]:
    for entry in project.beat:
        if has_expires(entry.options) is not False:
            continue
        task = project.task(entry.resolved) if entry.resolved else None
        if task is not None and task_option(task, "expires") is not None:
            continue
        yield finding(
            NAME,
            f"beat entry `{entry.key}` sets no expires: messages queued while workers are down all "
            "run when they come back",
            entry.file,
            entry.span,
            scope=entry.container,
            key=f"{entry.container}:{entry.key}",
        )
