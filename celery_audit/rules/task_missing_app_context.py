"""A task needs a Flask app context and nothing provides one.

## What it does
Reports tasks whose body uses something that only works inside a Flask application
context — `current_app`, `g`, `db.session`, `Model.query`, a Flask-Caching cache,
Flask-Mail's `mail.send`, `url_for`, `render_template` — outside any
`with app.app_context():` block, when neither the task's base class, the app's task
class, nor a decorator under the task decorator pushes a context.

A `@shared_task` of a project that creates no Celery app of its own (a library, or a
Flask extension, whose tasks run in its users' apps) is not reported: whether that app
pushes a context is outside the scan. An app made in test code (a pytest fixture's)
does not count for the shared tasks of the code under test.

## Why is this bad?
Workers run tasks outside any request, so there is no app context: the task fails
with `RuntimeError: Working outside of application context.` the first time it runs
in production, although it passes tests that run it inside the web app.

## Example
```python
@celery.task
def send_daily_reminders():
    for user in User.query.filter_by(reminders=True):
        mail.send(reminder_for(user))
```

Use instead (the Flask documentation's pattern, one place for every task):
```python
def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
```

## References
- Flask: Background Tasks with Celery, "Integrate Celery with Flask"
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.celery_names import is_test_path
from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "task-missing-app-context"
SEVERITY = "error"
AREA = "Flask Context"
FIX = "Run tasks with a base class that pushes app.app_context() (task_cls=FlaskTask), or wrap the body in `with app.app_context():`."


def check(project: Project) -> Iterator[Finding]:
    root_of = {m.name: m.root for m in project.modules}
    # The import roots with a Celery app; an app a test module makes (a pytest
    # fixture's) runs only test code.
    with_apps = {
        root_of.get(app.module, "") for app in project.celery_apps if not is_test_path(app.file)
    }
    with_test_apps = {root_of.get(app.module, "") for app in project.celery_apps}
    for task in project.tasks:
        if not task.needs_app_context:
            continue
        roots = with_test_apps if is_test_path(task.file) else with_apps
        if task.app == "shared_task" and task.root not in roots:
            continue  # it runs in some other project's app: not knowable here
        providers = [e for e in task.context_provided_by if not e.what.startswith("with ")]
        if providers:
            continue
        uses = sorted({e.what.removeprefix("uses ") for e in task.needs_app_context})
        yield finding(
            NAME,
            f"task `{task.func}` uses {', '.join(uses)} outside an app context, and nothing provides one",
            task.file,
            task.def_span,
            related=tuple(Related(e.file, e.span.line, e.what) for e in task.needs_app_context),
            scope=task.func,
            key=f"{task.func}:{','.join(uses)}",
        )
