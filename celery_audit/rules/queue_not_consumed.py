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

Queues come from the task decorator's `queue=`, `apply_async(queue=...)` and a
literal `task_routes` (exact names and globs, matched as Celery matches them).

## Known problems
Routes computed at run time (a router function, a mapping built in code) are not
judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import route_matches, route_queue, routes_of

NAME = "queue-not-consumed"
SEVERITY = "warning"
AREA = "Service Management"
FIX = "Add the queue to a worker's -Q list, or route the task to a consumed queue."

DEFAULT_QUEUE = "celery"


def _routes(project: Project, root: str) -> list[tuple[str, str]]:
    """(task name or glob, queue) of a project's literal `task_routes`."""
    found = []
    for setting in project.settings:
        if setting.root != root or setting.key != "task_routes":
            continue
        for pattern, route in routes_of(setting) or ():  # computed routes: not judged
            queue = route_queue(route)
            if queue is not None:
                found.append((pattern, queue))
    return found


def _uses(project: Project, root: str) -> list[tuple[str, str, str, Span, str]]:
    """(queue, what, file, span, scope) of every queue a task of the project is sent to."""
    tasks = {t.qualname: t for t in project.tasks if t.root == root}
    found = [
        (t.queue, f"task `{t.func}`", t.file, t.def_span, t.func) for t in tasks.values() if t.queue
    ]
    for call in project.call_sites:
        if call.queue and project.root_of(call.module) == root:
            found.append(
                (
                    call.queue,
                    f"`{call.target}.{call.kind}(queue=...)`",
                    call.file,
                    call.span,
                    call.scope,
                )
            )
    # Celery looks a name up among the exact keys first, then tries the globs in order.
    routes = sorted(_routes(project, root), key=lambda route: "*" in route[0])
    for task in tasks.values():
        for pattern, queue in routes:
            if task.queue is None and route_matches(pattern, task.name):
                found.append(
                    (
                        queue,
                        f"task `{task.func}` (task_routes)",
                        task.file,
                        task.def_span,
                        task.func,
                    )
                )
                break
    return found


def check(project: Project) -> Iterator[Finding]:
    commands = project.commands_by_root
    for root in sorted({m.root for m in project.modules}):
        workers = [c for c in commands.get(root, []) if c.subcommand in ("worker", "multi")]
        if not any(w.queues for w in workers):
            continue
        consumed = {q for w in workers for q in (w.queues or (DEFAULT_QUEUE,))}
        for queue, what, file, span, scope in _uses(project, root):
            if queue in consumed:
                continue
            yield finding(
                NAME,
                f"{what} is routed to queue `{queue}`, which no worker consumes "
                f"(workers consume: {', '.join(sorted(consumed))})",
                file,
                span,
                related=tuple(Related(w.file, w.span.line, w.command) for w in workers),
                scope=scope,
                key=f"{what}:{queue}",
            )
