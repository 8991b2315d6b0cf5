"""A task body uses the request context (`request`, `session`).

## What it does
Reports tasks whose body reads `flask.request`, `flask.session`, `flask.flash` or
flask-login's `current_user`. Reads inside a request context the task pushes itself
(`with app.test_request_context(...):`), or that its task class pushes around every run
(the app's `Task`, `base=`, a decorator), are not reported: there the request is one
the code set up on purpose, a `base_url` for absolute links or a session for the
language of a mail.

## Why is this bad?
A worker has no HTTP request. Even with an app context pushed, these raise
`RuntimeError: Working outside of request context.` — or, under a test request
context, silently read stale test data.

## Example
```python
@shared_task
def audit_login():
    log(request.remote_addr, current_user.id)
```

Use instead:
```python
@shared_task
def audit_login(remote_addr, user_id):
    log(remote_addr, user_id)

audit_login.delay(request.remote_addr, current_user.id)
```

## Known problems
A task class that pushes a request context only under a condition (Indico's
`if getattr(self, "request_context", False):`, set per task with
`@celery.task(request_context=True)`) counts as pushing it for every task.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "request-context-in-task"
SEVERITY = "error"
AREA = "Flask Context"
FIX = "Read the request values in the view and pass them to the task as arguments."


def check(project: Project) -> Iterator[Finding]:
    for task in project.tasks:
        if not task.needs_request_context:
            continue
        uses = sorted({e.what.removeprefix("uses ") for e in task.needs_request_context})
        yield finding(
            NAME,
            f"task `{task.func}` uses {', '.join(uses)}: a worker has no request",
            task.file,
            task.def_span,
            related=tuple(Related(e.file, e.span.line, e.what) for e in task.needs_request_context),
            scope=task.func,
            key=",".join(uses),
        )
