"""`[tool.celery-audit]` in the scanned repository's pyproject.toml: found, parsed, checked.

The table is looked up like ruff looks up `[tool.ruff]`: in the scanned folder, else in
the nearest ancestor whose pyproject.toml has the table, stopping at the repository root
(a folder holding `.git`). Keys are kebab-case. Anything unexpected — an unknown key, a
value of the wrong type, an unknown rule code, broken TOML — is a `ConfigError` naming
the file and the key: a typo in CI configuration must never quietly turn a check off.

Path patterns (exclude, extend-exclude, per-file-ignores) are written relative to the
folder of the pyproject.toml and rebased here onto the scanned folder, so scanning a
subdirectory applies them exactly as scanning the whole repository would.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from celery_audit.levels import FAIL_ON
from celery_audit.model.findings import Severity
from celery_audit.runs import existence

FILE_NAME = "pyproject.toml"
TABLE = "tool.celery-audit"
KEYS = (
    "exclude",
    "extend-exclude",
    "select",
    "extend-select",
    "ignore",
    "severity",
    "fail-on",
    "per-file-ignores",
    "context-bound-names",
    "task-decorators",
)
CODE = re.compile(r"CA\d{0,3}")
QUALIFIED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
TOML_AT_END = " (at end of document)"


class ConfigError(Exception):
    """A configuration problem, as one line that names the file (and key)."""


@dataclass(frozen=True)
class FileIgnore:
    """Codes not reported in the files that `patterns` (gitignore-style, relative to the
    scanned folder) match, or with `negated`, in the files they do not match."""

    patterns: tuple[str, ...]
    codes: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class FileConfig:
    """A validated `[tool.celery-audit]` table. None means "not set" (the default, or
    what the command line says, applies); patterns are already relative to the
    scanned folder."""

    path: Path
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    fail_on: str | None = None
    per_file_ignores: tuple[FileIgnore, ...] = ()
    context_bound_names: tuple[str, ...] = ()
    task_decorators: tuple[str, ...] = ()


def display(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    try:
        return (
            Path(os.path.relpath(path)).as_posix() if path.is_relative_to(Path.cwd()) else str(path)
        )
    except (OSError, ValueError):
        return str(path)


def find(
    scanned: Path, *, consulted: list[str] | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """The nearest pyproject.toml with a `[tool.celery-audit]` table, and that table.
    `consulted` collects the paths looked at (each pyproject.toml and `.git`)."""
    folder = scanned.resolve()
    if not folder.is_dir():
        folder = folder.parent
    while True:
        candidate = folder / FILE_NAME
        if consulted is not None:
            consulted += [str(candidate), existence(str(folder / ".git"))]
        if candidate.is_file():
            table = _read(candidate).get("tool", {})
            if isinstance(table, dict) and "celery-audit" in table:
                return candidate, table["celery-audit"]
        if (folder / ".git").exists() or folder.parent == folder:
            return None
        folder = folder.parent


def load(
    scanned: Path,
    *,
    known_codes: Callable[[], tuple[str, ...]],
    consulted: list[str] | None = None,
) -> FileConfig | None:
    """The configuration that applies to a scan of `scanned`, or None when there is none.
    `known_codes`: returns the rule codes that exist (config naming any other is an
    error); called only when there is a configuration to check (importing the rules
    costs a run that has none);
    `consulted` collects the paths looked at."""
    found = find(scanned, consulted=consulted)
    if found is None:
        return None
    path, table = found
    where = display(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{TABLE}] must be a table")
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}' in [{TABLE}]{hint}")
    root = scanned.resolve()
    root = root if root.is_dir() else root.parent
    prefix = root.relative_to(path.parent).parts
    check = _Checker(where, known_codes())
    exclude = table.get("exclude")
    select = table.get("select")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(
            f"{where}: [{TABLE}] fail-on: expected one of {', '.join(FAIL_ON)}, got {fail_on!r}"
        )
    return FileConfig(
        path=path,
        exclude=None if exclude is None else _excludes(check.strings("exclude", exclude), prefix),
        extend_exclude=_excludes(
            check.strings("extend-exclude", table.get("extend-exclude", [])), prefix
        ),
        select=None if select is None else check.codes("select", select),
        extend_select=check.codes("extend-select", table.get("extend-select", [])),
        ignore=check.codes("ignore", table.get("ignore", [])),
        severity=check.severity(table.get("severity", {})),
        fail_on=fail_on,
        per_file_ignores=check.per_file_ignores(table.get("per-file-ignores", {}), prefix),
        context_bound_names=check.names(
            "context-bound-names", table.get("context-bound-names", [])
        ),
        task_decorators=check.names("task-decorators", table.get("task-decorators", [])),
    )


def _read(path: Path) -> dict[str, Any]:
    # Imported here: a project without a pyproject.toml never needs it (~10 ms).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    where = display(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{where}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = TOML_POSITION.search(message)
        if position:
            where = f"{where}:{position.group(1)}:{position.group(2)}"
            message = message[: position.start()]
        elif message.endswith(TOML_AT_END):
            lines = path.read_bytes().splitlines() or [b""]
            where = f"{where}:{len(lines)}:{len(lines[-1]) + 1}"
            message = message.removesuffix(TOML_AT_END)
        raise ConfigError(f"{where}: invalid TOML: {message}") from None


def _type_name(value: object) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class _Checker:
    where: str
    known_codes: tuple[str, ...]

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: [{TABLE}] {key}: {message}")

    def strings(self, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected an array of strings, got {_type_name(value)}")
        return tuple(value)

    def code(self, key: str, value: str) -> str:
        code = value.strip().upper()
        if not CODE.fullmatch(code) or not any(c.startswith(code) for c in self.known_codes):
            raise self.fail(key, f"unknown rule code {value!r}")
        return code

    def codes(self, key: str, value: object) -> tuple[str, ...]:
        return tuple(sorted({self.code(key, v) for v in self.strings(key, value)}))

    def names(self, key: str, value: object) -> tuple[str, ...]:
        names = self.strings(key, value)
        for name in names:
            if not QUALIFIED_NAME.fullmatch(name):
                raise self.fail(key, f"expected a qualified name like 'myapp.ext.cache', got {name!r}")  # fmt: skip
        return tuple(sorted(set(names)))

    def severity(self, value: object) -> tuple[tuple[str, Severity], ...]:
        if not isinstance(value, dict):
            raise self.fail("severity", f"expected a table of code = severity, got {_type_name(value)}")  # fmt: skip
        levels = tuple(s.value for s in Severity)
        pairs = {}
        for code, level in value.items():
            if level not in levels:
                raise self.fail(
                    f"severity.{code}", f"expected one of {', '.join(levels)}, got {level!r}"
                )
            pairs[self.code(f"severity.{code}", code)] = Severity(level)
        return tuple(sorted(pairs.items()))

    def per_file_ignores(self, value: object, prefix: tuple[str, ...]) -> tuple[FileIgnore, ...]:
        if not isinstance(value, dict):
            raise self.fail("per-file-ignores", f"expected a table of pattern = [codes], got {_type_name(value)}")  # fmt: skip
        ignores = []
        for pattern, codes in sorted(value.items()):
            checked = self.codes(f"per-file-ignores.{pattern!r}", codes)
            negated = pattern.startswith("!")
            patterns, whole = rebase(pattern[1:] if negated else pattern, prefix)
            # A pattern matching the scanned folder itself (or a folder above it) covers
            # every file scanned.
            ignores.append(FileIgnore(patterns + (("*",) if whole else ()), checked, negated))
        return tuple(ignores)


def _excludes(patterns: tuple[str, ...], prefix: tuple[str, ...]) -> tuple[str, ...]:
    rebased: list[str] = []
    for pattern in patterns:
        negated = pattern.startswith("!")
        # A pattern that excludes the scanned folder itself is not applied: the folder
        # was named on purpose (as ruff checks a path given explicitly).
        found, _whole = rebase(pattern[1:] if negated else pattern, prefix)
        rebased += [f"!{p}" if negated else p for p in found]
    return tuple(rebased)


def rebase(pattern: str, prefix: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """A gitignore pattern relative to a folder F, rewritten relative to F/prefix.

    Returns the patterns that match, under F/prefix, exactly what `pattern` matches
    there, and whether `pattern` matches F/prefix itself or a folder between F and it
    (then it covers everything below). A pattern anchored elsewhere yields nothing.
    """
    if not prefix or not pattern.strip("/"):
        return ((pattern,) if pattern.strip("/") else ()), False
    dir_only = pattern.endswith("/")
    core = pattern.rstrip("/")
    if "/" not in core:  # unanchored: matches at any depth, below the prefix too
        return (pattern,), any(fnmatchcase(part, core) for part in prefix)
    rests, whole = _consume(tuple(core.lstrip("/").split("/")), prefix)
    suffix = "/" if dir_only else ""
    patterns = tuple(dict.fromkeys("/" + "/".join(rest) + suffix for rest in rests if rest))
    return patterns, whole


def _consume(
    segments: tuple[str, ...], parts: tuple[str, ...]
) -> tuple[list[tuple[str, ...]], bool]:
    """Match the leading `segments` of an anchored pattern against the folders `parts`:
    the segments left over for each way to match, and whether all of them matched."""
    if not segments:
        return [], True
    if not parts:
        return [segments], False
    head = segments[0]
    if head == "**":  # zero or more folders
        skip, skip_whole = _consume(segments[1:], parts)
        eat, eat_whole = _consume(segments, parts[1:])
        return skip + eat, skip_whole or eat_whole
    if fnmatchcase(parts[0], head):
        return _consume(segments[1:], parts[1:])
    return [], False
