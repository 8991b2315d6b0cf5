"""A queue that tasks are sent to is missing from the declared task_queues.

## What it does
When the project declares `task_queues` literally (`Queue("name")` / `Broadcast("name")`
entries, or a mapping), reports queues that tasks are sent to but that it does not
declare: a task's `queue=`, `apply_async(queue=...)`, a literal `task_routes` entry, and
the default queue (`task_default_queue`, `celery` unless set) when some task is routed
nowhere else.

It reports when `task_create_missing_queues = False`, and, with Celery's default
(`True`), when no worker command selects queues with `-Q` (those cases are
queue-not-consumed's).

## Why is this bad?
`task_queues` is the list of queues a worker consumes when it is started without `-Q`.
With `task_create_missing_queues` on (the default) sending to another queue creates it,
but no worker reads it: the messages pile up and the tasks never run, with no error
anywhere. With it off, sending to an undeclared queue raises `QueueNotFound` in the
caller. Declaring queues and forgetting the default one is the classic case: every
task without a route goes to `celery`, which nobody consumes.

## Example
```python
from kombu import Queue

CELERY = {
    "task_queues": (Queue("emails"),),
    "task_routes": {"shop.send_invoice": {"queue": "billing"}},
}
```

Use instead:
```python
CELERY = {
    "task_queues": (Queue("celery"), Queue("emails"), Queue("billing")),
    "task_routes": {"shop.send_invoice": {"queue": "billing"}},
}
```

## Known problems
Queues declared in code that is not a literal list of `Queue(...)` calls, queue names
and settings read from the environment, and routes computed at run time are not
judged. Settings are read per project, not per app; test configurations are left out.
When the repository holds no worker command (workers started from elsewhere), workers
are taken to start without `-Q`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project, Setting
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    UNKNOWN,
    is_test_config,
    route_matches,
    route_queue,
    routes_of,
    setting_value,
    task_option,
)

NAME = "queue-not-declared"
SEVERITY = "warning"
AREA = "Service Management"
FIX = "Declare the queue in task_queues (and start a worker that consumes it)."

DEFAULT_QUEUE = "celery"
QUEUE_CLASSES = frozenset({"Queue", "Broadcast"})


def declared_queues(text: str) -> set[str] | None:
    """The queue names a `task_queues` value declares: a list/tuple of `Queue("name",
    ...)` calls (or `name=`), or a mapping of names; None when it is anything else."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    body = tree.body
    if isinstance(body, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) else None for k in body.keys]
        return {k for k in keys if isinstance(k, str)} if all(isinstance(k, str) for k in keys) else None  # fmt: skip
    if not isinstance(body, (ast.Tuple, ast.List, ast.Set)):
        return None
    names = set()
    for element in body.elts:
        if not isinstance(element, ast.Call):
            return None
        func = element.func
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = element.args[0] if element.args else None
        first = first or next((k.value for k in element.keywords if k.arg == "name"), None)
        if callee not in QUEUE_CLASSES or not isinstance(first, ast.Constant):
            return None
        if not isinstance(first.value, str):
            return None
        names.add(first.value)
    return names


@dataclass(frozen=True)
class _Use:
    queue: str
    what: str
    file: str
    span: Span
    scope: str


def _literal(project: Project, root: str, key: str) -> list[tuple[Setting, object]]:
    return [
        (s, setting_value(s))
        for s in project.settings
        if s.root == root and s.key == key and not is_test_config(s)
    ]


def _uses(project: Project, root: str) -> list[_Use] | None:
    """Every queue a project's tasks are sent to; None when the routes are computed."""
    routes = []
    for setting in project.settings:
        if setting.root != root or setting.key != "task_routes" or is_test_config(setting):
            continue
        found = routes_of(setting)
        if found is None:
            return None
        routes += [(setting, pattern, route) for pattern, route in found]
    uses = []
    for setting, pattern, route in routes:
        queue = route_queue(route)
        if queue is not None:
            what = f"task_routes entry `{pattern}`"
            uses.append(_Use(queue, what, setting.file, setting.span, setting.container))
    unrouted = []
    for task in (t for t in project.tasks if t.root == root):
        option = task_option(task, "queue")
        if option is not None:
            if option.literal:
                what = f"queue= of task `{task.func}`"
                uses.append(_Use(option.value, what, task.file, task.def_span, task.func))
            continue
        if not any(route_matches(pattern, task.name) for _, pattern, _ in routes):
            unrouted.append(task)
    for call in project.call_sites:
        if call.queue and project.root_of(call.module) == root:
            what = f"`{call.target}.{call.kind}(queue=...)`"
            uses.append(_Use(call.queue, what, call.file, call.span, call.scope))
    defaults = _literal(project, root, "task_default_queue")
    if unrouted and all(isinstance(v, str) for _, v in defaults):
        queue = str(defaults[-1][1]) if defaults else DEFAULT_QUEUE
        names = ", ".join(f"`{t.func}`" for t in unrouted[:5])
        more = f" and {len(unrouted) - 5} more" if len(unrouted) > 5 else ""
        what = f"the default queue, of tasks without a route: {names}{more}"
        uses.append(_Use(queue, what, "", Span(0), ""))
    return uses


def _declared(declarations: list[tuple[Setting, object]]) -> set[str] | None:
    names: set[str] = set()
    for setting, _ in declarations:
        found = declared_queues(setting.value)
        if found is None:
            return None
        names |= found
    return names


def check(project: Project) -> Iterator[Finding]:
    commands = project.commands_by_root
    for root in sorted({s.root for s in project.settings}):
        declarations = _literal(project, root, "task_queues")
        declared = _declared(declarations)
        if not declarations or declared is None:
            continue
        flags = [v for _, v in _literal(project, root, "task_create_missing_queues")]
        if any(v is UNKNOWN for v in flags):
            continue
        created = not flags or not all(v is False for v in flags)
        workers = [c for c in commands.get(root, []) if c.subcommand in ("worker", "multi")]
        if created and any(w.queues for w in workers):
            continue  # a worker's -Q creates and consumes it, or queue-not-consumed says it does not
        uses = _uses(project, root)
        if uses is None:
            continue
        where = declarations[-1][0]
        outcome = (
            "workers without -Q consume only the declared queues, so nothing consumes it"
            if created
            else "sending raises QueueNotFound (task_create_missing_queues=False)"
        )
        reported = set()
        for use in uses:
            if use.queue in declared:
                continue
            file, span, scope = (use.file, use.span, use.scope) if use.file else (where.file, where.span, where.container)  # fmt: skip
            if (file, span.line, use.queue) in reported:
                continue
            reported.add((file, span.line, use.queue))
            yield finding(
                NAME,
                f"queue `{use.queue}` ({use.what}) is not declared in task_queues: {outcome}",
                file,
                span,
                related=(Related(where.file, where.span.line, "task_queues declared here"),),
                scope=scope,
                key=f"{use.what}:{use.queue}",
            )
