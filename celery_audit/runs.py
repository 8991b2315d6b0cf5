"""Run records: the output of the last run of each `scan` invocation, replayed when
nothing that decided it has changed.

A run that ends without internal errors writes, next to the fact cache, a record for
its invocation (the command line's parameters, the working directory, the tool version
and, for a terminal, its size and colour settings) with what it printed, its exit
status, the linked key and the settings key it came from, and the *signature* (`stat`:
modification and change times, size, inode, mode; or absence) of every path the run
depended on: each file scanned, each folder listed, each `.gitignore`, each
`pyproject.toml`, `.git` and `__init__.py` looked for above the root, the baseline.

The next run of the same invocation replays the record

- by signature, before anything else is imported, read or hashed, when every signature
  is unchanged (`unchanged`): the warm run of a linter in pre-commit or an editor;
- by key, once the files are read and hashed (`same`), when the linked project and the
  settings are the ones the record came from: an edit that changed no fact (a comment,
  a docstring, code celery-audit does not read) leaves the rules and the renderer
  nothing new to say.

Signatures are taken at the end of the run. A path modified during the run could carry
the same signature as when it was read (a timestamp's granularity can hide a second
write), so, as git does with "racily clean" entries, a record whose signatures include
a time not safely before the run's start is written without signatures: it can only be
replayed by key.

Only this module's standard-library imports run before a replay by signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from celery_audit import __version__

__all__ = ["Replay", "Runs", "invocation_key", "now_ns", "write_atomically"]

_FORMAT = 1
KEPT = 16  # records kept per cache folder: the most recently written ones

# A file's time can trail the clock that started the run: Linux stamps files from a
# clock that ticks once per jiffy (up to 10 ms). File systems that store whole seconds
# (FAT stores two) leave a time with no nanoseconds: for those the margin is 2 s.
_MARGIN_NS = 50_000_000
_COARSE_MARGIN_NS = 2_000_000_000

# What a terminal's rendering depends on besides the report (rich reads these).
_TERMINAL_ENV = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM",
                 "TTY_COMPATIBLE", "TTY_INTERACTIVE")  # fmt: skip


def now_ns() -> int:
    """The wall clock, as a run's start is compared with the times of files."""
    return time.time_ns()


def invocation_key(params: Mapping[str, object], *, color: bool) -> str:
    """What, besides the files, decides a run's output: the command line's values, the
    working directory they are relative to, the version, and a terminal's settings."""
    parts = [__version__, os.getcwd(), repr(sorted(params.items()))]
    if color:
        parts.append(repr(tuple(shutil.get_terminal_size())))
        parts.extend(f"{name}={os.environ.get(name)}" for name in _TERMINAL_ENV)
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


Signature = list[int] | None


def signature(path: str) -> Signature:
    """What changes when `path` does: its (followed) stat, or None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        try:
            st = os.lstat(path)  # a broken link: it changes when its target appears
        except OSError:
            return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode]


def _racy(sig: Signature, started_ns: int) -> bool:
    if sig is None:
        return False
    coarse = sig[0] % 1_000_000_000 == 0 and sig[1] % 1_000_000_000 == 0
    limit = started_ns - (_COARSE_MARGIN_NS if coarse else _MARGIN_NS)
    return sig[0] >= limit or sig[1] >= limit


@dataclass(frozen=True)
class Replay:
    output: str
    status: int


class Runs:
    """The record of one invocation (`key`) in the cache `folder`."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.path = folder / f"run-{key[:32]}.json"
        self._record: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._record is None:
            self._record = {}
            try:
                with open(self.path, "rb") as handle:
                    data = json.loads(zlib.decompress(handle.read()))
            except (OSError, ValueError, zlib.error):
                return self._record
            if (
                isinstance(data, dict)
                and data.get("format") == _FORMAT
                and isinstance(data.get("output"), str)
                and type(data.get("status")) is int
            ):
                self._record = data
        return self._record

    def _replay(self) -> Replay:
        record = self._load()
        return Replay(str(record["output"]), int(record["status"]))  # type: ignore[call-overload]

    def unchanged(self) -> Replay | None:
        """The recorded output when nothing the recorded run depended on has changed."""
        watched = self._load().get("watched")
        if not isinstance(watched, dict) or not watched:
            return None
        for path, sig in watched.items():
            if signature(path) != sig:
                return None
        return self._replay()

    def same(self, linked_key: str, settings_key: str) -> Replay | None:
        """The recorded output when it came from this linked project and these settings."""
        record = self._load()
        if not linked_key or record.get("linked") != linked_key:
            return None
        return self._replay() if record.get("settings") == settings_key else None

    def write(
        self,
        *,
        output: str,
        status: int,
        linked_key: str,
        settings_key: str,
        depends: Iterable[str],
        started_ns: int,
    ) -> None:
        """Record this run (`depends`: every path it depended on; `started_ns`: when it
        started). A record that cannot be written is no error."""
        watched = {path: signature(path) for path in sorted(set(depends))}
        if any(_racy(sig, started_ns) for sig in watched.values()):
            watched = {}  # replayed by key only
        record = {
            "format": _FORMAT,
            "linked": linked_key,
            "settings": settings_key,
            "status": status,
            "watched": watched,
            "output": output,
        }
        if record == self._load():
            return
        text = json.dumps(record, separators=(",", ":")).encode("utf-8", "surrogatepass")
        if write_atomically(self.folder, self.path, zlib.compress(text, 1)):
            self._prune()

    def _prune(self) -> None:
        with contextlib.suppress(OSError):
            records = sorted(self.folder.glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)
            for old in records[:-KEPT]:
                old.unlink(missing_ok=True)


def write_atomically(folder: Path, target: Path, data: bytes) -> bool:
    """Write `data` to `target` in the cache `folder` (created with a `.gitignore` of
    `*`, like ruff's), through a temporary file and `os.replace`: a reader never sees
    half a file, and of two concurrent writers the last one wins. False when the folder
    cannot be written: a cache is never worth an error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            _replace(ignore, b"# Automatically created by celery-audit.\n*\n")
        _replace(target, data)
    except OSError:
        return False
    return True


def _replace(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
