"""A task is routed to a queue that no worker consumes.

## What it does
When some worker command selects queues with `-Q`, reports tasks declared with
`queue="..."` that no worker consumes (a worker without `-Q` consumes only the
default queue, `celery`).

## Why is this bad?
Messages for the task pile up in a queue nobody reads: the task never runs and the
broker's memory grows, with no error anywhere.

## Example
```python
@shared_task(queue="reports")
def build_report(): ...
```
```text
worker: celery -A app:celery worker -Q default,emails
```

Use instead:
```text
worker: celery -A app:celery worker -Q default,emails,reports
```

## Known problems
Routes from `task_routes` and `apply_async(queue=...)` are not read yet.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import commands_by_project, finding

NAME = "queue-not-consumed"
SEVERITY = "warning"
AREA = "Service Management"
FIX = "Add the queue to a worker's -Q list, or route the task to a consumed queue."

DEFAULT_QUEUE = "celery"


def check(project: Project) -> Iterator[Finding]:
    commands = commands_by_project(project)
    for task in project.tasks:
        if task.queue is None:
            continue
        workers = [c for c in commands.get(task.root, []) if c.subcommand in ("worker", "multi")]
        if not any(w.queues for w in workers):
            continue
        consumed = {q for w in workers for q in (w.queues or (DEFAULT_QUEUE,))}
        if task.queue in consumed:
            continue
        yield finding(
            NAME,
            f"task `{task.func}` is routed to queue `{task.queue}`, which no worker consumes "
            f"(workers consume: {', '.join(sorted(consumed))})",
            task.file,
            task.def_span,
            related=tuple(Related(w.file, w.span.line, w.command) for w in workers),
            scope=task.func,
            key=f"{task.name}:{task.queue}",
        )
