"""Frontend code waits for a task state nothing sets, or reads a field never returned.

## What it does
For frontend requests that poll a task-status view, reports compared states that are
neither Celery's own (PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED,
REJECTED, IGNORED) nor set by any `update_state(state=...)` of the polled task, and
response fields the view never returns.

## Why is this bad?
The branch can never run: a progress bar that waits for `PROGRESS` stays empty, a
field read from the response is `undefined`. The UI looks broken although every task
succeeds.

## Example
```javascript
if (data.state === "PROGRESS") bar.value = data.meta.percent;
```
while the task never calls `self.update_state(state="PROGRESS", ...)` and the view
returns only `state` and `result`.

Use instead: set the state in the task and return the field from the view, or drop
the branch.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding, status_endpoints_of

NAME = "frontend-contract-broken"
SEVERITY = "warning"
AREA = "Frontend Dependencies"
FIX = "Set the state with update_state in the task / return the field from the status view, or remove the dead branch."

CELERY_STATES = frozenset(
    {
        "PENDING",
        "RECEIVED",
        "STARTED",
        "SUCCESS",
        "FAILURE",
        "RETRY",
        "REVOKED",
        "REJECTED",
        "IGNORED",
    }
)


def check(project: Project) -> Iterator[Finding]:
    for call in project.frontend_calls:
        endpoints = status_endpoints_of(project, call)
        if not endpoints:
            continue
        polled = {e.task for e in endpoints}
        tasks = (
            [t for t in project.tasks if t.qualname in polled]
            if None not in polled
            else list(project.tasks)
        )
        set_states = {s for t in tasks for s in t.states_set}
        problems = [
            f"state `{s}` (no task sets it)"
            for s in call.states
            if s not in CELERY_STATES and s not in set_states
        ]
        returned = {k for e in endpoints for k in e.returns}
        if returned and all(e.returns for e in endpoints):
            problems += [
                f"field `{f}` (the view never returns `{f.split('.')[0]}`)"
                for f in call.fields
                if f.split(".")[0] not in returned
            ]
        if not problems:
            continue
        yield finding(
            NAME,
            f"{call.method} {call.url} relies on {', '.join(problems)}",
            call.file,
            call.span,
            related=tuple(
                Related(e.file, e.span.line, f"status endpoint {e.route}") for e in endpoints
            ),
            key=f"{call.method} {call.url}:{','.join(problems)}",
        )
