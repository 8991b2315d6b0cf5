"""What the configuration rules share: a setting's value as Python, when it is known.

Not a rule. Values that cannot be known statically (read from the environment,
computed) come back as `UNKNOWN` and are never judged.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from typing import Final

from celery_audit.celery_names import is_test_path
from celery_audit.model.facts import Keyword
from celery_audit.model.findings import Related
from celery_audit.model.project import Project, Setting, Task

UNKNOWN: Final = object()

# `Celery(broker=..., backend=...)` keywords name the same settings.
BROKER_KEYS = ("broker_url", "broker", "broker_read_url", "broker_write_url")
BACKEND_KEYS = ("result_backend", "backend")

TEST_CLASS = re.compile(r"^Test(s|ing)?([A-Z_]|$)|Test(ing)?Config$")


def value_of(text: str, literal: bool) -> object:
    """The value of a setting or keyword written as `text`: a constant when `literal`
    (strings arrive without quotes), else a literal container (`["json"]`, `(Exception,)`
    is not one) or `UNKNOWN`."""
    if literal:
        if text in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[text]
        try:
            number = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        return number if isinstance(number, (int, float)) else text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return UNKNOWN


def setting_value(setting: Setting) -> object:
    return value_of(setting.value, setting.literal)


def is_test_config(setting: Setting) -> bool:
    """Whether a setting belongs to a test configuration: a config class named
    `Testing`, `Test*` or `*TestConfig`, a module named `test*` / `conftest`, or a
    module in a `tests` folder."""
    if is_test_path(setting.file):
        return True
    return any(TEST_CLASS.search(part) for part in setting.container.split("."))


def mapping_item(setting: Setting, key: str) -> object:
    """The source text of `key` in a mapping setting written as a dict literal or
    `dict(...)` (`{"visibility_timeout": 2 * 3600}`); None when the mapping does not
    hold it; UNKNOWN when the value is not such a mapping, or spreads another one."""
    try:
        body = ast.parse(setting.value.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return UNKNOWN
    if isinstance(body, ast.Dict):
        items = [(k.value if isinstance(k, ast.Constant) else k, v) for k, v in zip(body.keys, body.values, strict=True)]  # fmt: skip
    elif isinstance(body, ast.Call) and getattr(body.func, "id", "") == "dict" and not body.args:
        items = [(k.arg, k.value) for k in body.keywords]
    else:
        return UNKNOWN
    for name, value in items:
        if name == key:
            return ast.unparse(value)
    return UNKNOWN if any(not isinstance(name, str) for name, _ in items) else None


# -- durations ----------------------------------------------------------------------------

_UNITS = {
    "weeks": 604800.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0,
    "milliseconds": 0.001, "microseconds": 0.000001,
}  # fmt: skip
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")  # fmt: skip
_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b if b else UNKNOWN,
    ast.FloorDiv: lambda a, b: a // b if b else UNKNOWN,
}


def seconds_of(text: str, literal: bool = False) -> object:
    """A duration in seconds written as a number, constant arithmetic (`24 * 3600`) or
    `timedelta(...)` of those; None for `None`; `UNKNOWN` for anything else (a value
    read from the environment, a name)."""
    if literal:
        value = value_of(text, True)
        return value if value is None or _is_number(value) else UNKNOWN
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return UNKNOWN
    if isinstance(tree.body, ast.Constant) and tree.body.value is None:
        return None
    try:
        return _evaluate(tree.body)
    except (ArithmeticError, RecursionError):
        return UNKNOWN


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _evaluate(node: ast.expr) -> object:
    if isinstance(node, ast.Constant):
        return node.value if _is_number(node.value) else UNKNOWN
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        if value is UNKNOWN:
            return UNKNOWN
        assert isinstance(value, (int, float))
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and _callee(node) == "timedelta":
        if any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) > 7:
            return UNKNOWN
        fields = [*zip(_TIMEDELTA_POSITIONAL, node.args, strict=False)]
        fields += [(k.arg, k.value) for k in node.keywords if k.arg is not None]
        if len(fields) != len(node.args) + len(node.keywords):
            return UNKNOWN  # timedelta(**parts)
        total = 0.0
        for unit, part in fields:
            value = _evaluate(part)
            if value is UNKNOWN or unit not in _UNITS:
                return UNKNOWN
            assert isinstance(value, (int, float))
            total += value * _UNITS[unit]
        return total
    return UNKNOWN


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def keyword_seconds(keyword: Keyword) -> object:
    return seconds_of(keyword.value, keyword.literal)


def task_option(task: Task, name: str) -> Keyword | None:
    """The task decorator's keyword `name`, as written (the last one wins)."""
    found = [k for k in task.options if k.name == name]
    return found[-1] if found else None


# -- time limits --------------------------------------------------------------------------

HARD, SOFT = "task_time_limit", "task_soft_time_limit"
OPTION = {HARD: "time_limit", SOFT: "soft_time_limit"}  # the task decorator's keyword


@dataclass(frozen=True)
class Limit:
    """A time limit as configured: seconds (a number, None for "no limit", or
    UNKNOWN) and where it is written."""

    seconds: object
    where: Related


def limit_set(seconds: object) -> bool:
    """Whether a limit value limits: a positive number, or a value not known (which is
    never taken to be missing)."""
    return seconds is UNKNOWN or (_is_number(seconds) and seconds > 0)  # type: ignore[operator]


def config_limits(project: Project, root: str, key: str) -> list[Limit]:
    """The project-wide values of `key` (task_time_limit or task_soft_time_limit): its
    settings outside test configurations and the worker options that set it."""
    found = [
        Limit(setting_value_seconds(s), Related(s.file, s.span.line, f"{s.key}={s.value}"))
        for s in project.settings
        if s.root == root and s.key == key and not is_test_config(s)
    ]
    for command in project.commands_by_root.get(root, []):
        for option in command.settings:
            if option.name == key and command.subcommand in ("worker", "multi"):
                found.append(
                    Limit(
                        keyword_seconds(option),
                        Related(
                            command.file, command.span.line, f"{key}={option.value} (worker option)"
                        ),
                    )
                )
    return found


def setting_value_seconds(setting: Setting) -> object:
    return seconds_of(setting.value, setting.literal)


def _effective(task: Task, configured: list[Limit], key: str) -> Limit | None:
    """The limit `key` of one task: its own keyword, else the configured one (the
    smallest of several, UNKNOWN when one is not known, None when one is off)."""
    own = task_option(task, OPTION[key])
    if own is not None:
        return Limit(
            keyword_seconds(own),
            Related(task.file, task.def_span.line, f"{own.name}={own.value} on task `{task.func}`"),
        )
    if not configured:
        return None
    if any(c.seconds is UNKNOWN for c in configured):
        return next(c for c in configured if c.seconds is UNKNOWN)
    if any(not limit_set(c.seconds) for c in configured):
        return next(c for c in configured if not limit_set(c.seconds))
    return min(configured, key=lambda c: c.seconds)  # type: ignore[arg-type, return-value]


def runtime_limit(task: Task, hard: list[Limit], soft: list[Limit]) -> Limit | None:
    """How long a run of `task` is allowed to take: its hard time limit, else its soft
    one (a run may outlive a soft limit, but that is when it is expected to end).
    None when it has neither; `seconds` is UNKNOWN when that cannot be known."""
    limit = _effective(task, hard, HARD)
    if limit is not None and (limit.seconds is UNKNOWN or limit_set(limit.seconds)):
        return limit
    limit = _effective(task, soft, SOFT)
    if limit is not None and (limit.seconds is UNKNOWN or limit_set(limit.seconds)):
        return limit
    return None


def duration(seconds: float) -> str:
    """`90 s`, `1 h`, `1.5 h`: a duration for a message."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % (size / 2) == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


# -- routes -------------------------------------------------------------------------------


def routes_of(setting: Setting) -> list[tuple[str, object]] | None:
    """(pattern, route) of a literal `task_routes`: a mapping, a list of mappings, or
    the items form (`([("feed.*", {"queue": "feeds"})],)`). None when it is computed or
    holds anything else (a router function or class, a compiled regex)."""
    value = setting_value(setting)
    found: list[tuple[str, object]] = []

    def add(router: object) -> bool:
        if isinstance(router, dict):
            found.extend((k, v) for k, v in router.items() if isinstance(k, str))
            return all(isinstance(k, str) for k in router)
        if isinstance(router, (list, tuple)) and all(
            isinstance(i, (list, tuple)) and len(i) == 2 and isinstance(i[0], str) for i in router
        ):
            found.extend((i[0], i[1]) for i in router)
            return True
        return False

    if isinstance(value, dict):
        add(value)
        return found
    if isinstance(value, (list, tuple)) and all(add(router) for router in value):
        return found
    return None


def route_matches(pattern: str, name: str) -> bool:
    """Whether a task_routes key routes the task `name`, as Celery's MapRoute decides:
    an exact name, or a glob where only `*` is special (one or more characters) and
    the match is anchored at the start only."""
    if "*" not in pattern:
        return pattern == name
    escaped = "".join("\\" + c if c in _GLOB_QUOTED else c for c in pattern)
    return re.match(escaped.replace("*", ".+?"), name) is not None


_GLOB_QUOTED = frozenset(string.punctuation) - {"*"}


def route_queue(route: object) -> str | None:
    """The queue a route sends to: `{"queue": "x"}`, or a bare queue name."""
    if isinstance(route, str):
        return route
    if isinstance(route, dict) and isinstance(route.get("queue"), str):
        queue: str = route["queue"]
        return queue
    return None
