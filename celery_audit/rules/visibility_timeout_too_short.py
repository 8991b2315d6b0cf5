"""The broker's visibility timeout is shorter than a task may run.

## What it does
Reports a `broker_transport_options` `visibility_timeout` shorter than the longest time
limit of the project's tasks (a task's `time_limit=`, else `task_time_limit`, else the
soft limits). With a Redis broker given literally (`redis://`, `rediss://`,
`sentinel://`) and no `visibility_timeout`, Redis's default of one hour is compared.

## Why is this bad?
Redis and SQS have no acknowledgements of their own: a message that is not acknowledged
within the visibility timeout is delivered again, to another worker. A late-acknowledged
task that runs longer than the timeout, or a message reserved (prefetched) behind a
task that does, runs twice — two e-mails, two charges, two exports racing on one file.
The time limit says how long the project lets a task run, so the timeout must be longer.

## Example
```python
CELERY = {
    "broker_transport_options": {"visibility_timeout": 1800},
    "task_time_limit": 3600,
}
```

Use instead:
```python
CELERY = {
    "broker_transport_options": {"visibility_timeout": 7200},
    "task_time_limit": 3600,
}
```

## Known problems
A broker URL read from the environment is taken to be Redis or SQS only when
`visibility_timeout` is set; SQS's default (the queue's own setting) is never assumed.
Values read from the environment are not judged. ETA and countdown tasks (which have
the same problem with long delays) are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project, Setting
from celery_audit.rules.base import finding
from celery_audit.rules.config_values import (
    BROKER_KEYS,
    HARD,
    SOFT,
    UNKNOWN,
    Limit,
    config_limits,
    duration,
    is_test_config,
    mapping_item,
    runtime_limit,
    seconds_of,
    setting_value,
)

NAME = "visibility-timeout-too-short"
SEVERITY = "warning"
AREA = "Configuration Location"
FIX = "Set broker_transport_options visibility_timeout above the longest task time limit."

REDIS_DEFAULT = 3600.0
REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://", "sentinel://")
SQS_SCHEMES = ("sqs://",)


def _longest(project: Project, root: str) -> Limit | None:
    """The longest known time limit of a project's tasks."""
    hard, soft = config_limits(project, root, HARD), config_limits(project, root, SOFT)
    limits = [runtime_limit(t, hard, soft) for t in project.tasks if t.root == root]
    known = [limit for limit in limits if limit is not None and limit.seconds is not UNKNOWN]
    return max(known, key=lambda limit: limit.seconds, default=None)  # type: ignore[arg-type, return-value]


def _brokers(project: Project, root: str) -> list[tuple[Setting, str]]:
    """(setting, kind) of the project's broker URLs written in code: "redis", "sqs",
    "other", or "" when read from the environment."""
    found = []
    for setting in project.settings:
        if setting.root != root or setting.key not in BROKER_KEYS or is_test_config(setting):
            continue
        value = setting_value(setting)
        kind = ""
        if isinstance(value, str):
            kind = (
                "redis"
                if value.startswith(REDIS_SCHEMES)
                else "sqs"
                if value.startswith(SQS_SCHEMES)
                else "other"
            )
        found.append((setting, kind))
    return found


def _timeouts(project: Project, root: str) -> list[tuple[Setting, object]] | None:
    """(setting, visibility timeout in seconds, None when not set) of each
    broker_transport_options; None when one of them is not known."""
    found = []
    for setting in project.settings:
        if setting.root != root or setting.key != "broker_transport_options":
            continue
        if is_test_config(setting):
            continue
        timeout = mapping_item(setting, "visibility_timeout")
        if timeout is UNKNOWN:
            return None
        seconds = seconds_of(timeout) if isinstance(timeout, str) else None
        if seconds is UNKNOWN:
            return None
        found.append((setting, seconds))
    return found


def check(project: Project) -> Iterator[Finding]:
    for root in sorted({s.root for s in project.settings}):
        longest = _longest(project, root)
        timeouts = _timeouts(project, root)
        if longest is None or timeouts is None:
            continue
        assert isinstance(longest.seconds, (int, float))
        brokers = _brokers(project, root)
        kinds = {kind for _, kind in brokers}
        if kinds and kinds <= {"other"}:
            continue  # AMQP and the like acknowledge for real
        limit = f"{longest.where.message} ({duration(longest.seconds)})"
        for setting, seconds in timeouts:
            if seconds is None or not isinstance(seconds, (int, float)):
                continue
            if seconds < longest.seconds:
                yield finding(
                    NAME,
                    f"visibility_timeout {duration(seconds)} is shorter than the longest task time "
                    f"limit, {limit}: a message unacknowledged that long is delivered again and runs twice",
                    setting.file,
                    setting.span,
                    related=(longest.where,),
                    scope=setting.container,
                    key=f"{setting.container}:visibility_timeout",
                )
        if any(seconds is not None for _, seconds in timeouts):
            continue
        for setting, kind in brokers:
            if kind == "redis" and longest.seconds > REDIS_DEFAULT:
                yield finding(
                    NAME,
                    f"the Redis broker's default visibility timeout (1 h) is shorter than the longest "
                    f"task time limit, {limit}: a message unacknowledged that long is delivered again "
                    "and runs twice",
                    setting.file,
                    setting.span,
                    related=(longest.where,),
                    scope=setting.container,
                    key=f"{setting.container}:default-visibility_timeout",
                )
