"""Run records: the output of the last run of each `scan` invocation, replayed when
nothing that decided it has changed.

A run that ends without internal errors writes, next to the fact cache, a record for
its invocation (the command line as typed, the working directory, the build (`build`)
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

Only this module's standard-library imports run before a replay by signature (not even
contextlib, typing, dataclasses or pathlib: each costs a replay milliseconds).
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib

TYPE_CHECKING = False  # typing itself costs a replay 4 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = ["CACHE_DIR", "CACHE_DIR_ENV", "Replay", "Runs", "cache_folder", "invocation_key", "now_ns",
           "write_atomically"]  # fmt: skip

CACHE_DIR = ".celery_audit_cache"  # in the scanned folder, unless --cache-dir says otherwise
CACHE_DIR_ENV = "CELERY_AUDIT_CACHE_DIR"  # what --cache-dir defaults to

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


def recorded(*, fmt: str, output: str | None, write_baseline: str | None, no_cache: bool) -> bool:
    """Whether a `scan` with these options is recorded (and replayed): not without a
    cache, nor with a report written to a file, a baseline being written, or GitHub's
    format (which may append to the step summary)."""
    return not no_cache and output is None and not write_baseline and fmt != "github"


def colored(*, fmt: str, output: str | None) -> bool:
    """Whether the report is rendered in colour: text, to a terminal."""
    return fmt == "text" and output is None and sys.stdout.isatty()


def cache_folder(root: str, cache_dir: str | None) -> str:
    """Where the caches of a scan of `root` are kept."""
    if cache_dir:
        return cache_dir
    return os.path.join(root if os.path.isdir(root) else os.path.dirname(root), CACHE_DIR)


_CODE: list[str] = []


def build() -> str:
    """The version, the Python it runs on, and a fingerprint of celery-audit's own
    source files (their paths, sizes and modification times): every cache key names
    it, so that a checkout edited without a new version (an editable install) never
    meets the facts, projects or outputs of its former code, nor one Python's those
    of another (`ast` positions differ between versions; one editable checkout can
    serve several). ~1 ms: one listing of the package."""
    from celery_audit import __version__  # read now: a test may pretend an upgrade

    if not _CODE:
        package = os.path.dirname(os.path.abspath(__file__))
        found: list[str] = []
        folders = [package]
        try:
            while folders:
                with os.scandir(folders.pop()) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                            folders.append(entry.path)
                        elif entry.name.endswith(".py"):
                            info = entry.stat()
                            found.append(f"{entry.path}:{info.st_size}:{info.st_mtime_ns}")
        except OSError:  # not a folder of files (a zip archive): the version alone
            found = ["unlisted"]
        text = "\n".join(sorted(found)).encode("utf-8", "surrogateescape")
        _CODE.append(f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}")
    return f"{__version__}+{sys.implementation.cache_tag}+{_CODE[0]}"


def invocation_key(argv: Sequence[str], *, color: bool) -> str:
    """What, besides the files, decides a run's output: the command line as typed, the
    working directory it is relative to, the build, and a terminal's settings."""
    parts = [build(), os.getcwd(), *argv]
    if color:
        import shutil

        parts.append(repr(tuple(shutil.get_terminal_size())))
        parts.extend(f"{name}={os.environ.get(name)}" for name in _TERMINAL_ENV)
    return "\x00".join(parts)


Signature = list[int] | None

# A path depended on only for whether it is there and what it is (a `.git` folder, an
# `__init__.py`): its times change with every git command, its existence does not.
_EXISTS = "exists:"


def existence(path: str) -> str:
    """`path`, as a dependency on its existence and kind only."""
    return _EXISTS + path


def signature(path: str) -> Signature:
    """What changes when `path` does: its (followed) stat, or None when it is missing;
    for an `existence` path, its kind (0 missing, 1 file, 2 folder, 3 other)."""
    if path.startswith(_EXISTS):
        path = path[len(_EXISTS) :]
        return [1 if os.path.isfile(path) else 2 if os.path.isdir(path) else 3 if os.path.lexists(path) else 0]  # fmt: skip
    try:
        st = os.stat(path)
    except OSError:
        try:
            st = os.lstat(path)  # a broken link: it changes when its target appears
        except OSError:
            return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode]


def racy(sig: Signature, started_ns: int) -> bool:
    """Whether a path with this signature may have been written during a run that
    started at `started_ns` (then a second write could keep the signature)."""
    if sig is None or len(sig) < 2:  # missing, or an existence: no times
        return False
    coarse = sig[0] % 1_000_000_000 == 0 and sig[1] % 1_000_000_000 == 0
    limit = started_ns - (_COARSE_MARGIN_NS if coarse else _MARGIN_NS)
    return sig[0] >= limit or sig[1] >= limit


class Replay:
    """A recorded run's output and exit status. (Not a dataclass: importing dataclasses
    would double the time of a replay.)"""

    __slots__ = ("output", "status")

    def __init__(self, output: str, status: int) -> None:
        self.output = output
        self.status = status


class Runs:
    """The record of one invocation (`key`) in the cache `folder`. The file is named by a
    checksum of the key and holds the key itself: two keys with one checksum share a
    file, and each replays only its own record."""

    def __init__(self, folder: str, key: str) -> None:
        self.folder = folder
        self.key = key
        data = key.encode("utf-8", "surrogatepass")
        self.path = os.path.join(folder, f"run-{zlib.crc32(data):08x}{zlib.adler32(data):08x}.json")
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
                and data.get("invocation") == self.key
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
        if any(racy(sig, started_ns) for sig in watched.values()):
            watched = {}  # replayed by key only
        record = {
            "format": _FORMAT,
            "invocation": self.key,
            "linked": linked_key,
            "settings": settings_key,
            "status": status,
            "watched": watched,
            "output": output,
        }
        old = self._load()
        if all(record[name] == old.get(name) for name in record if watched or name != "watched"):
            return  # the same record (a racy one: the stored signatures are stale, harmless)
        text = json.dumps(record, separators=(",", ":")).encode("utf-8", "surrogatepass")
        if write_atomically(self.folder, self.path, zlib.compress(text, 1)):
            self._prune()

    def _prune(self) -> None:
        try:
            with os.scandir(self.folder) as entries:
                records = [e for e in entries if e.name.startswith("run-") and e.name.endswith(".json")]  # fmt: skip
            records.sort(key=lambda entry: entry.stat().st_mtime_ns)
            for old in records[:-KEPT]:
                os.unlink(old.path)
        except OSError:  # another run pruned it first, or the folder went away
            pass


def write_atomically(folder: str | Path, target: str | Path, data: bytes) -> bool:
    """Write `data` to `target` in the cache `folder` (created with a `.gitignore` of
    `*`, like ruff's), through a temporary file and `os.replace`: a reader never sees
    half a file, and of two concurrent writers the last one wins. False when the folder
    cannot be written: a cache is never worth an error."""
    try:
        os.makedirs(folder, exist_ok=True)
        ignore = os.path.join(folder, ".gitignore")
        if not os.path.exists(ignore):
            _replace(ignore, b"# Automatically created by celery-audit.\n*\n")
        _replace(os.fspath(target), data)
    except OSError:
        return False
    return True


def _replace(target: str, data: bytes) -> None:
    import tempfile

    folder, name = os.path.split(target)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:  # noqa: SIM105 - contextlib costs a replay 6 ms to import
            os.unlink(tmp)
        except OSError:
            pass
        raise
