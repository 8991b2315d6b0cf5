"""A soft time limit is not below the hard one, or a time limit is 0.

## What it does
Reports a soft time limit that is not smaller than the hard limit it runs under —
`task_soft_time_limit >= task_time_limit` in one configuration, on one worker command
(`--soft-time-limit`, `--time-limit`), or `soft_time_limit=` / `time_limit=` on a task
(a task's own limit against the configured other one too) — and a time limit of `0`.

## Why is this bad?
The soft limit raises `SoftTimeLimitExceeded` inside the task so that it can clean up
(release a lock, mark the job failed); the hard limit kills the worker process. When
the soft limit is not below the hard one the kill comes first and the clean-up never
runs: locks stay held, temporary files stay, half-written rows stay. A limit of `0`
does not mean "no time at all": Celery reads it as not set (no limit, or on a task the
configured one).

## Example
```python
@shared_task(soft_time_limit=300, time_limit=300)
def export_orders(): ...
```

Use instead:
```python
@shared_task(soft_time_limit=270, time_limit=300)
def export_orders(): ...
```

## Known problems
Limits read from the environment are not judged. When several configurations of the
project set a limit, a task's own limit is compared with all of them and reported
only when it is wrong against every one.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import Project, Setting, Task
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    HARD,
    OPTION,
    SOFT,
    UNKNOWN,
    Limit,
    config_limits,
    is_test_config,
    keyword_seconds,
    setting_value_seconds,
    task_option,
)

NAME = "soft-limit-not-below-hard"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = (
    "Set the soft time limit below the hard one (and never 0): soft_time_limit=270, time_limit=300."
)


def _number(value: object) -> float | None:
    return value if type(value) in (int, float) and value > 0 else None  # type: ignore[return-value, operator]


def _config(project: Project) -> Iterator[Finding]:
    limits = [s for s in project.settings if s.key in (HARD, SOFT) and not is_test_config(s)]
    for setting in limits:
        if setting_value_seconds(setting) == 0:
            yield _zero(
                setting.file, setting.span, f"{setting.key}={setting.value}", setting.container
            )
    by_container: dict[tuple[str, str], dict[str, Setting]] = {}
    for setting in limits:
        by_container.setdefault((setting.root, setting.container), {})[setting.key] = setting
    for (_, container), pair in sorted(by_container.items()):
        if HARD not in pair or SOFT not in pair:
            continue
        hard = _number(setting_value_seconds(pair[HARD]))
        soft = _number(setting_value_seconds(pair[SOFT]))
        if hard is not None and soft is not None and soft >= hard:
            yield finding(
                NAME,
                f"{SOFT}={pair[SOFT].value} is not below {HARD}={pair[HARD].value}: {KILLED}",
                pair[SOFT].file,
                pair[SOFT].span,
                related=(
                    Related(pair[HARD].file, pair[HARD].span.line, f"{HARD}={pair[HARD].value}"),
                ),
                scope=container,
                key=f"{container}:{SOFT}",
            )


def _commands(project: Project) -> Iterator[Finding]:
    for command in project.worker_commands:
        options = {o.name: keyword_seconds(o) for o in command.settings}
        for key, seconds in sorted(options.items()):
            if key in (HARD, SOFT) and seconds == 0:
                yield _zero(command.file, command.span, f"--{OPTION[key].replace('_', '-')}=0", "")
        hard, soft = _number(options.get(HARD)), _number(options.get(SOFT))
        if hard is not None and soft is not None and soft >= hard:
            yield finding(
                NAME,
                f"--soft-time-limit={soft:g} is not below --time-limit={hard:g}: {KILLED}",
                command.file,
                command.span,
                key=f"{command.command}:soft-time-limit",
            )


def _all_numbers(limits: list[Limit]) -> list[float] | None:
    numbers = [_number(limit.seconds) for limit in limits]
    if not limits or any(n is None for n in numbers):
        return None
    return [n for n in numbers if n is not None]


KILLED = "the hard limit kills the task before SoftTimeLimitExceeded lets it clean up"


def _task(
    task: Task, hard: list[Limit], soft: list[Limit]
) -> tuple[str, tuple[Related, ...]] | None:
    """What is wrong with a task's limits, with the configured limits it is judged
    against; None when nothing is."""
    own = {key: task_option(task, OPTION[key]) for key in (HARD, SOFT)}
    seconds = {key: keyword_seconds(kw) if kw is not None else UNKNOWN for key, kw in own.items()}
    for key in (HARD, SOFT):
        if own[key] is not None and seconds[key] == 0:
            return f"{OPTION[key]}=0 does not limit it: Celery reads a limit of 0 as not set", ()
    own_hard, own_soft = _number(seconds[HARD]), _number(seconds[SOFT])
    if own_soft is not None and own_hard is not None:
        if own_soft < own_hard:
            return None
        return f"soft_time_limit={own_soft:g} is not below time_limit={own_hard:g}: {KILLED}", ()
    configured_hard, configured_soft = _all_numbers(hard), _all_numbers(soft)
    if (
        own_soft is not None
        and own[HARD] is None
        and configured_hard
        and own_soft >= max(configured_hard)
    ):
        where = tuple(limit.where for limit in hard)
        return (
            f"soft_time_limit={own_soft:g} is not below the configured {HARD} ({max(configured_hard):g}): {KILLED}",
            where,
        )
    if (
        own_hard is not None
        and own[SOFT] is None
        and configured_soft
        and min(configured_soft) >= own_hard
    ):
        where = tuple(limit.where for limit in soft)
        return (
            f"time_limit={own_hard:g} is not above the configured {SOFT} ({min(configured_soft):g}): {KILLED}",
            where,
        )
    return None


def _zero(file: str, span: Span, what: str, scope: str) -> Finding:
    return finding(
        NAME,
        f"{what} does not limit anything: Celery reads a limit of 0 as not set",
        file,
        span,
        scope=scope,
        key=f"{scope}:{what}",
    )


def check(project: Project) -> Iterator[Finding]:
    yield from _config(project)
    yield from _commands(project)
    for task in project.tasks:
        hard = config_limits(project, task.root, HARD)
        soft = config_limits(project, task.root, SOFT)
        judged = _task(task, hard, soft)
        if judged is None:
            continue
        problem, related = judged
        yield finding(
            NAME,
            f"task `{task.func}`: {problem}",
            task.file,
            task.def_span,
            related=related,
            scope=task.func,
            key=f"{task.qualname}:time-limits",
        )
