"""What the configuration rules share: a setting's value as Python, when it is known.

Not a rule. Values that cannot be known statically (read from the environment,
computed) come back as `UNKNOWN` and are never judged.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from typing import Final

from celery_audit.model.project import Setting

UNKNOWN: Final = object()

# `Celery(broker=..., backend=...)` keywords name the same settings.
BROKER_KEYS = ("broker_url", "broker", "broker_read_url", "broker_write_url")
BACKEND_KEYS = ("result_backend", "backend")

TEST_MODULE = re.compile(r"^(test(s|ing)?(_|$)|conftest$)")
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
    path = PurePosixPath(setting.file)
    if TEST_MODULE.match(path.stem) or any(part in ("test", "tests") for part in path.parts[:-1]):
        return True
    return any(TEST_CLASS.search(part) for part in setting.container.split("."))
