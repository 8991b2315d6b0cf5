"""A task is dispatched before the SQLAlchemy session is committed.

## What it does
Reports `.delay()` / `.apply_async()` calls followed, later in the same function, by
`db.session.commit()`.

## Why is this bad?
The message reaches the broker at once; a worker can pick the task up before the web
request commits. The task then reads a row that does not exist yet (or old values), and
fails or does the wrong thing — intermittently, under load.

## Example
```python
order = Order(cart=cart)
db.session.add(order)
db.session.flush()
send_confirmation.delay(order.id)
db.session.commit()
```

Use instead:
```python
db.session.add(order)
db.session.commit()
send_confirmation.delay(order.id)
```
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "dispatch-before-commit"
SEVERITY = "warning"
AREA = "Task Invocation"
FIX = "Commit first, then dispatch (or dispatch from an after-commit hook)."

KINDS = frozenset({"delay", "apply_async"})


def check(project: Project) -> Iterator[Finding]:
    for call in project.call_sites:
        if call.kind not in KINDS or call.commit_after is None or call.task is None:
            continue
        yield finding(
            NAME,
            f"`{call.target}.{call.kind}()` is sent before the session is committed "
            f"(line {call.commit_after}): the worker may not see the data yet",
            call.file,
            call.span,
            related=(Related(call.file, call.commit_after, "db.session.commit()"),),
            scope=call.scope,
            key=f"{call.target}.{call.kind}",
        )
