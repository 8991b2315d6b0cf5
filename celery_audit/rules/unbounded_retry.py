"""A task retries without bound, or retries without backoff.

## What it does
Reports tasks declared with `max_retries=None` (also inside `retry_kwargs=`): every
`self.retry()` and every automatic retry of such a task repeats forever — with
`autoretry_for=(Exception,)` even a bug in the task's own code does. Also reports
`autoretry_for=...` without `retry_backoff=`: the retries come at a fixed delay.

Celery's default `max_retries` is 3, so only an explicit `None` is unbounded.

## Why is this bad?
A task that retries forever never fails: a permanent error (a deleted row, a revoked
API key, a typo) keeps it in the queue, retrying and logging, until someone notices the
broker growing. Retries at a fixed delay hit a struggling service again at the same
pace, all failed tasks together; exponential backoff (with Celery's jitter) spreads
them out and gives the service room to recover.

## Example
```python
@shared_task(autoretry_for=(Exception,), max_retries=None)
def sync_customer(customer_id): ...
```

Use instead:
```python
@shared_task(autoretry_for=(requests.RequestException,), retry_backoff=True, max_retries=5)
def sync_customer(customer_id): ...
```

## Known problems
Only the task decorator's keywords are read: retry options set as class attributes of
a custom task base are not seen. A `retry_backoff` that is not a constant
(`retry_backoff=settings.BACKOFF`) is not judged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project, Task
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import UNKNOWN, task_option, value_of

NAME = "unbounded-retry"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Bound the retries (max_retries=5, Celery's default is 3) and back off: retry_backoff=True."

EVERYTHING = frozenset({"Exception", "BaseException"})


def _unbounded(task: Task) -> str | None:
    """How the task asks for unbounded retries, or None."""
    option = task_option(task, "max_retries")
    if option is not None and option.literal and option.value == "None":
        return "max_retries=None"
    kwargs = task_option(task, "retry_kwargs")
    if kwargs is not None:
        value = value_of(kwargs.value, kwargs.literal)
        if isinstance(value, dict) and "max_retries" in value and value["max_retries"] is None:
            return "retry_kwargs max_retries=None"
    return None


def _catches_everything(text: str) -> bool:
    """Whether an `autoretry_for` value names Exception or BaseException."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    body = tree.body
    names = body.elts if isinstance(body, (ast.Tuple, ast.List)) else [body]
    return any(
        (n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")) in EVERYTHING
        for n in names
    )


def _backs_off(task: Task) -> bool | None:
    option = task_option(task, "retry_backoff")
    if option is None:
        return False
    value = value_of(option.value, option.literal)
    if value is UNKNOWN or (not option.literal and not isinstance(value, (bool, int, float))):
        return None
    return bool(value)


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        autoretry = task_option(task, "autoretry_for")
        unbounded = _unbounded(task)
        problems = []
        if unbounded is not None:
            on = (
                "on any exception, bugs included"
                if autoretry is not None and _catches_everything(autoretry.value)
                else "until it succeeds"
            )
            problems.append(f"retries without bound ({unbounded}): it retries {on}")
        if autoretry is not None and _backs_off(task) is False:
            problems.append("retries at a fixed delay (autoretry_for without retry_backoff)")
        if not problems:
            continue
        yield finding(
            NAME,
            f"task `{task.func}` " + "; and ".join(problems),
            task.file,
            task.def_span,
            scope=task.func,
            key=f"{task.qualname}:{'+'.join(p.split(' (')[0] for p in problems)}",
        )
