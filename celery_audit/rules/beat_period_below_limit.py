"""A beat entry runs its task more often than the task may take to run.

## What it does
Reports beat entries (and `add_periodic_task` calls) whose period is shorter than the
time limit of the task they start: the task's `time_limit=` (else the configured
`task_time_limit`, else the soft limits). The period is read from a number of seconds,
`timedelta(...)`, `schedule(run_every=...)`, and the simple crontabs: `crontab()`,
`crontab(minute="*/15")`, `crontab(minute="0,30")`, `crontab(minute=0)`.

## Why is this bad?
Beat does not wait for the previous run: it sends the next message when the period is
up. A task allowed to run for ten minutes and scheduled every five can run twice at
once — two imports writing the same rows, two reports mailed, a lock held by one run
that makes the other fail. The limit says the task is expected to take that long.

## Example
```python
@shared_task(name="feeds.import_all", time_limit=900)
def import_all(): ...

beat_schedule = {"import-feeds": {"task": "feeds.import_all", "schedule": timedelta(minutes=5)}}
```

Use instead:
```python
beat_schedule = {"import-feeds": {"task": "feeds.import_all", "schedule": timedelta(minutes=15)}}
```
or a lock in the task that makes an overlapping run return at once.

## Known problems
Crontabs that restrict hours or days with a single minute, `solar` schedules and
schedules built elsewhere (`"schedule": EVERY_FIVE_MINUTES`) are not judged, nor are
limits read from the environment. A task that guards itself with a lock is still
reported: suppress the finding there.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from itertools import pairwise

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    HARD,
    SOFT,
    UNKNOWN,
    config_limits,
    duration,
    runtime_limit,
    seconds_of,
)

NAME = "beat-period-below-limit"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Schedule the task less often than its time limit, or lower the limit (or lock against overlap)."

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
_STEP = re.compile(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?")


def _minutes(value: ast.expr | None) -> set[int] | None:
    """The minutes of the hour a crontab `minute` field selects; None when unknown."""
    if value is None:
        return set(range(60))
    if isinstance(value, ast.Constant) and type(value.value) is int:
        return {value.value} if 0 <= value.value < 60 else None
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return None
    found: set[int] = set()
    for part in value.value.replace(" ", "").split(","):
        match = _STEP.fullmatch(part)
        if match is None:
            return None
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            low, high = 0, 59
        else:
            first, _, last = span.partition("-")
            low, high = int(first), int(last or first)
        if step < 1 or not 0 <= low <= high < 60:
            return None
        found |= set(range(low, high + 1, step))
    return found


def _every(value: ast.expr | None) -> bool:
    return value is None or (isinstance(value, ast.Constant) and value.value == "*")


def crontab_period(call: ast.Call) -> float | None:
    """The shortest time between two runs of a simple crontab, in seconds."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return None
    fields: dict[str, ast.expr] = dict(zip(CRONTAB_FIELDS, call.args, strict=False))
    fields.update({k.arg: k.value for k in call.keywords if k.arg in CRONTAB_FIELDS})
    minutes = _minutes(fields.get("minute"))
    if not minutes:
        return None
    ordered = sorted(minutes)
    gaps = [b - a for a, b in pairwise(ordered)]
    if _every(fields.get("hour")):
        gaps.append(60 - ordered[-1] + ordered[0])  # into the next hour
    return min(gaps) * 60.0 if gaps else None


def period_of(schedule: str) -> float | None:
    """The period of a beat schedule as written, in seconds; None when not known."""
    seconds = seconds_of(schedule)
    if seconds is not UNKNOWN:
        return float(seconds) if type(seconds) in (int, float) else None  # type: ignore[arg-type]
    try:
        call = ast.parse(schedule.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if callee == "crontab":
        return crontab_period(call)
    if callee == "schedule":
        every = call.args[0] if call.args else None
        every = every or next((k.value for k in call.keywords if k.arg == "run_every"), None)
        return period_of(ast.unparse(every)) if every is not None else None
    return None


def check(project: Project) -> Iterator[Finding]:
    for entry in project.beat:
        task = project.task(entry.resolved) if entry.resolved else None
        if task is None:
            continue
        period = period_of(entry.schedule)
        if period is None or period <= 0:
            continue
        hard = config_limits(project, task.root, HARD)
        soft = config_limits(project, task.root, SOFT)
        limit = runtime_limit(task, hard, soft)
        if limit is None or type(limit.seconds) not in (int, float):
            continue
        assert isinstance(limit.seconds, (int, float))
        if period >= limit.seconds:
            continue
        yield finding(
            NAME,
            f"beat entry `{entry.key}` starts `{task.name}` every {duration(period)}, but a run may take "
            f"{duration(limit.seconds)} ({limit.where.message}): runs overlap",
            entry.file,
            entry.span,
            related=(limit.where,),
            scope=entry.container,
            key=f"{entry.container}:{entry.key}:{task.name}",
        )
