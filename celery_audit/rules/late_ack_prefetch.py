"""Late acknowledgement without a prefetch multiplier of 1.

## What it does
Reports `task_acks_late = True` (also `CELERY_ACKS_LATE`), and `acks_late=True` on a
task of a project that does not set it in its configuration, when the project's
workers do not run with a prefetch multiplier of 1: neither
`worker_prefetch_multiplier = 1` (`CELERYD_PREFETCH_MULTIPLIER`) in the configuration
nor `--prefetch-multiplier=1` on every worker command.

## Why is this bad?
Late acknowledgement is chosen for tasks that must not be lost, usually long ones.
With the default multiplier of 4 each worker process reserves four more messages,
unacknowledged, while it runs one: short tasks wait behind a long one although other
workers are idle, and on Redis or SQS a reserved message that waits longer than the
visibility timeout is delivered to a second worker and runs twice. Celery's
optimisation guide pairs `task_acks_late` with `worker_prefetch_multiplier = 1`.

## Example
```python
celery.conf.update(task_acks_late=True)
```

Use instead:
```python
celery.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)
```

## Known problems
Settings are read per project, not per app; for a task with a literal `queue=` only
the workers that consume that queue (by `-Q`) are judged. A prefetch multiplier read from the
environment (in the configuration or as `--prefetch-multiplier=$N`) is not judged, and
neither is late acknowledgement switched on that way. Test configurations are left
out.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    UNKNOWN,
    is_test_config,
    setting_value,
    task_option,
    value_of,
)

NAME = "late-ack-prefetch"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Set worker_prefetch_multiplier = 1 (or start workers with --prefetch-multiplier=1)."

MULTIPLIER = "worker_prefetch_multiplier"
DEFAULT_QUEUE = "celery"


def _is_one(value: object) -> bool | None:
    """Whether a multiplier is 1; None when it is not known."""
    return None if value is UNKNOWN else (type(value) is int and value == 1)


def _prefetch_one(project: Project, root: str, queue: str | None = None) -> bool | None:
    """Whether every worker of a project that may run tasks of `queue` (any queue
    when None) prefetches one message per process (None: cannot be known). A worker
    without -Q consumes the default queue only, as queue-not-consumed reads it."""
    configured = [
        setting_value(s)
        for s in project.settings
        if s.root == root and s.key == MULTIPLIER and not is_test_config(s)
    ]
    states = [_is_one(v) for v in configured]
    config: bool | None = None if None in states else bool(states) and all(states)
    workers = [
        c for c in project.commands_by_root.get(root, []) if c.subcommand in ("worker", "multi")
    ]
    consuming = [w for w in workers if queue in (w.queues or (DEFAULT_QUEUE,))]
    workers = consuming or workers
    if not workers:
        return config
    per_worker = []
    for worker in workers:
        given = [o for o in worker.settings if o.name == MULTIPLIER]
        per_worker.append(
            _is_one(value_of(given[-1].value, given[-1].literal)) if given else config
        )
    if all(state is True for state in per_worker):
        return True
    return False if False in per_worker else None


def check(project: Project) -> Iterator[Finding]:
    known: dict[tuple[str, str | None], bool | None] = {}

    def prefetches_more(root: str, queue: str | None = None) -> bool:
        if (root, queue) not in known:
            known[root, queue] = _prefetch_one(project, root, queue)
        return known[root, queue] is False

    configured = set()
    for setting in project.settings:
        if setting.key != "task_acks_late" or is_test_config(setting):
            continue
        if setting_value(setting) is not True:
            continue
        configured.add(setting.root)
        if prefetches_more(setting.root):
            yield finding(
                NAME,
                "tasks are acknowledged late (task_acks_late=True) but workers prefetch more than one "
                "message per process: reserved messages wait unacknowledged behind running tasks",
                setting.file,
                setting.span,
                scope=setting.container,
                key=f"{setting.container}:{setting.key}",
            )
    for task in project.tasks:
        option = task_option(task, "acks_late")
        if option is None or task.root in configured:
            continue
        queue = task_option(task, "queue")
        where = queue.value if queue is not None and queue.literal else None
        if value_of(option.value, option.literal) is True and prefetches_more(task.root, where):
            yield finding(
                NAME,
                f"task `{task.func}` is acknowledged late (acks_late=True) but workers prefetch more "
                "than one message per process: reserved messages wait unacknowledged behind it",
                task.file,
                task.def_span,
                scope=task.func,
                key=f"{task.qualname}:acks_late",
            )
