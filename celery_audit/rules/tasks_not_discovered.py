"""A worker never imports a module that defines its app's tasks.

## What it does
Follows what a worker imports — the module-level import closure of its `-A` module,
the app's `include=`/`imports=` settings, `autodiscover_tasks()` packages and
`--include` — and reports task modules of that app outside it.

## Why is this bad?
Tasks are registered when their module is imported. A module the worker never
imports has unregistered tasks: the worker logs `Received unregistered task of type
'...'` and discards every message for them. The web process (which imports the module)
sends them happily, so nothing fails until the work silently does not happen.

## Example
```python
celery = Celery("shop")  # shop/extensions.py; worker: celery -A shop.extensions:celery worker
# shop/tasks/reports.py defines tasks; nothing the worker imports imports it
```

Use instead:
```python
celery = Celery("shop", include=["shop.tasks.reports"])
```

It also reports a task module that the web process imports by another dotted path
(`from src.shop.tasks import export` beside a worker that loads `shop.tasks`): that
second copy of the module registers its tasks as `src.shop.tasks.export`, which is
the name its dispatches send and a name the worker never registers.

Use instead: import the module by one path everywhere (`from shop.tasks import
export`, with the package installed or `src` on the path).
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "tasks-not-discovered"
SEVERITY = "error"
AREA = "Service Management"
FIX = "Add the module to the app's include=[...] (or imports / autodiscover_tasks)."


def check(project: Project) -> Iterator[Finding]:
    for command in project.worker_commands:
        for module in command.undiscovered:
            tasks = [t for t in project.tasks if t.module == module]
            if tasks:
                names = ", ".join(f"`{t.name}`" for t in tasks)
                yield finding(
                    NAME,
                    f"`{command.command}` never imports `{module}`: its tasks ({names}) are unregistered in this worker",
                    command.file,
                    command.span,
                    related=tuple(Related(t.file, t.def_span.line, f"task `{t.func}`") for t in tasks),
                    key=f"{command.command}:{module}",
                )  # fmt: skip
                continue
            # Another dotted path of a task module, that dispatches go through.
            sent = [c for c in project.call_sites if (c.sent_name or "").startswith(module + ".")]
            names = ", ".join(sorted({f"`{c.sent_name}`" for c in sent}))
            yield finding(
                NAME,
                f"`{command.command}` never imports `{module}`, the path dispatches import "
                f"their task module by: the names they send ({names}) are unregistered in this worker",
                command.file,
                command.span,
                related=tuple(Related(c.file, c.span.line, f"sends `{c.sent_name}`") for c in sent),
                key=f"{command.command}:{module}",
                fix="Import the task module by one dotted path everywhere (the one the worker uses).",
            )
