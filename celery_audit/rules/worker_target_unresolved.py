"""A worker or beat command's `-A` names no Celery app of the project.

## What it does
Resolves the `-A`/`--app` target of every `celery` command in service scripts
(Procfile, compose, Dockerfile, shell, Makefile, supervisor, systemd, package.json)
the way Celery's `find_app` does, and reports targets that do not reach a Celery app:
a module that does not exist, an attribute that is not there, an object that is not a
Celery app, or no `-A` at all.

## Why is this bad?
The process starts and fails (`Unable to load celery application`), or — without
`-A` — runs Celery's default app, which knows none of the project's tasks: every task
message is rejected as unregistered.

## Example
```text
worker: celery -A app.tasks worker   # app/tasks.py defines tasks but no Celery app
```

Use instead:
```text
worker: celery -A app.extensions:celery worker
```

## Known problems
A target read from an environment variable that the scripts do not set
(`-A $CELERY_APP`) cannot be resolved and is not reported. Nothing is reported when
the scan finds no Celery app at all (for example a scan of a
deployment folder alone): there is nothing to resolve the target against.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "worker-target-unresolved"
SEVERITY = "error"
AREA = "Service Management"
FIX = "Point -A at the module (or module:attribute) that creates the Celery app."

COMMANDS_NEEDING_AN_APP = frozenset({"worker", "beat", "multi"})


def check(project: Project) -> Iterator[Finding]:
    if not project.celery_apps:
        return  # no Python side in view (a scan of deploy files only): nothing to judge against
    for command in project.worker_commands:
        if command.subcommand not in COMMANDS_NEEDING_AN_APP or command.flask_app:
            continue
        if command.app_target is None:
            problem = "has no -A/--app: it runs Celery's default app, which has none of the project's tasks"
        elif command.app is None and command.problem:
            problem = f"cannot load its app: {command.problem}"
        else:
            continue
        yield finding(NAME, f"`{command.command}` {problem}", command.file, command.span,
                      key=command.command)  # fmt: skip
