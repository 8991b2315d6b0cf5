"""Celery's setting names, shared by extraction (which records settings) and linking
(which reads `Celery(...)` keyword arguments as settings)."""

from __future__ import annotations

import re

# Celery 3 names that Celery 4+ still reads under a new name (the ones rules use).
TEST_MODULE = re.compile(r"^(test(s|ing)?(_|$)|conftest$)")


def is_test_path(path: str) -> bool:
    """Whether a root-relative file is test code: a module named `test*` or
    `conftest`, or one in a `test` or `tests` folder."""
    parts = path.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return bool(TEST_MODULE.match(stem)) or any(part in ("test", "tests") for part in parts[:-1])


OLD_NAMES = {
    "ignore_result": "task_ignore_result",
    "always_eager": "task_always_eager",
    "acks_late": "task_acks_late",
    "task_result_expires": "result_expires",
    "worker_task_time_limit": "task_time_limit",
    "worker_task_soft_time_limit": "task_soft_time_limit",
    "celerybeat_schedule": "beat_schedule",
    "beat_schedule": "beat_schedule",
    "imports": "imports",
    "include": "include",
}
# Lowercase settings recognised at module level (a celeryconfig module).
MODULE_SETTINGS = frozenset(
    {
        "broker_url", "result_backend", "task_ignore_result", "task_serializer",
        "result_serializer", "accept_content", "task_always_eager", "task_acks_late",
        "worker_prefetch_multiplier", "task_time_limit", "task_soft_time_limit",
        "task_routes", "task_queues", "imports", "include", "result_expires",
        "broker_transport_options", "timezone", "enable_utc", "event_serializer",
        "result_accept_content", "broker_read_url", "broker_write_url", "always_eager",
    }
)  # fmt: skip


def setting_name(name: str) -> str | None:
    """`task_ignore_result` for CELERY_TASK_IGNORE_RESULT, CELERY_IGNORE_RESULT or
    task_ignore_result; None for a Flask setting (SECRET_KEY)."""
    if name.isupper():
        if name.startswith("CELERYBEAT_"):
            return "beat_" + name[len("CELERYBEAT_") :].lower()
        if name.startswith("CELERYD_"):
            worker = "worker_" + name[len("CELERYD_") :].lower()
            return OLD_NAMES.get(worker, worker)
        if not name.startswith("CELERY_"):
            return "broker_url" if name == "BROKER_URL" else None
        name = name[len("CELERY_") :]
    lower = name.lower()
    return OLD_NAMES.get(lower, lower)


def listed_modules(value: str, literal: bool) -> list[str]:
    """The module names an `include` / `imports` value lists: a literal string is one
    name; code (`["a.tasks", "b.tasks"]`, `("a.tasks",)`) lists its quoted strings."""
    return [value] if literal else re.findall(r"""['"]([^'"]+)['"]""", value)
