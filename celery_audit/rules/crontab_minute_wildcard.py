"""A crontab schedule sets a larger unit but leaves a smaller one unset.

## What it does
Reports beat entries (and `add_periodic_task` calls) scheduled with `crontab(...)`
that restrict a larger unit (`hour`, `day_of_week`, `day_of_month`, `month_of_year`)
but leave `minute` — or, below a day, `hour` — unset.

## Why is this bad?
Every unset crontab field means "every": `crontab(hour=2)` runs at 02:00, 02:01, ...,
02:59, sixty times instead of once, and `crontab(minute=0, day_of_week="mon")` runs
every hour on Mondays. The nightly job runs sixty times in parallel, sends sixty
mails, or takes sixty locks.

## Example
```python
CELERY = {
    "beat_schedule": {
        "nightly-report": {"task": "reports.nightly", "schedule": crontab(hour=2)},
    },
}
```

Use instead:
```python
CELERY = {
    "beat_schedule": {
        "nightly-report": {"task": "reports.nightly", "schedule": crontab(minute=0, hour=2)},
    },
}
```

## Known problems
A schedule built elsewhere and referenced by name (`"schedule": NIGHTLY`) is not
judged. An explicit `minute="*"` is taken as meant.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "crontab-minute-wildcard"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Give every smaller unit a value: crontab(minute=0, hour=2)."

# crontab's positional order; each field's rank (0 = smallest unit).
FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
RANK = {"minute": 0, "hour": 1, "day_of_week": 2, "day_of_month": 2, "month_of_year": 3}
EVERY = {"minute": "every minute", "hour": "every hour"}  # of the smallest unset unit


def _crontab_fields(schedule: str) -> dict[str, ast.expr] | None:
    """The fields a `crontab(...)` schedule text sets, or None when it is not one."""
    try:
        tree = ast.parse(schedule.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    call = tree.body
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name != "crontab" or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    if any(k.arg is None for k in call.keywords):
        return None  # crontab(**fields): not known
    fields = dict(zip(FIELDS, call.args, strict=False))
    fields.update({k.arg: k.value for k in call.keywords if k.arg in RANK})
    return fields


def _restricts(value: ast.expr) -> bool:
    return not (isinstance(value, ast.Constant) and value.value == "*")


def check(project: Project) -> Iterator[Finding]:
    for entry in project.beat:
        fields = _crontab_fields(entry.schedule)
        if not fields:
            continue
        largest = max((RANK[f] for f, v in fields.items() if _restricts(v)), default=0)
        unset = [f for f in ("minute", "hour") if f not in fields and RANK[f] < largest]
        if not unset:
            continue
        every = EVERY[unset[0]]
        yield finding(
            NAME,
            f"beat entry `{entry.key}` ({entry.schedule}) leaves {', '.join(unset)} unset: it runs {every} "
            "of the period it names",
            entry.file,
            entry.span,
            scope=entry.container,
            key=f"{entry.container}:{entry.key}:{entry.schedule}",
        )
