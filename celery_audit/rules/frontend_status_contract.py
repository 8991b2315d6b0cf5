"""Frontend code polls a task-status endpoint: the states and fields it relies on.

## What it does
Reports each frontend request (fetch, axios, jQuery, XMLHttpRequest) that reaches a
Flask view reading task state through `AsyncResult`, with the task states the code
compares and the response fields it reads.

## Why is this bad?
It is not bad: it is the contract between the UI and the task layer. Changing a task
(its states, `update_state` meta, result) or the status view's response breaks it,
and no Python test sees the JavaScript side.

## Example
```javascript
const data = await (await fetch(`/api/exports/${taskId}`)).json();
if (data.state === "PROGRESS") bar.value = data.progress;
```

## Known problems
Informational: it inventories the contract for the report and never fails CI by
default.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding, status_endpoints_of

NAME = "frontend-status-contract"
SEVERITY = "info"
AREA = "Frontend Dependencies"
FIX = "Keep the status endpoint's states and fields stable, or change both sides together."


def check(project: Project) -> Iterator[Finding]:
    for call in project.frontend_calls:
        endpoints = status_endpoints_of(project, call)
        if not endpoints:
            continue
        states = ", ".join(call.states) or "no state"
        fields = ", ".join(call.fields) or "no field"
        yield finding(
            NAME,
            f"{call.method} {call.url} polls task status ({endpoints[0].route}): compares {states}; reads {fields}",
            call.file,
            call.span,
            related=tuple(
                Related(
                    e.file,
                    e.span.line,
                    f"status endpoint returns {', '.join(e.returns) or 'a value'}",
                )
                for e in endpoints
            ),
            key=f"{call.method} {call.url}",
        )
