"""The `scan` command's work, from parsed options to the exit status; the helpers the
command line shares. Imports no click: `entry.py` runs a command line it fully reads
without it (30 ms of a pre-commit run), and `cli.py` runs the others.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/internal error.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from celery_audit.collector import no_cycle_collection
from celery_audit.runs import cache_folder

if TYPE_CHECKING:
    from celery_audit.cache import FactCache
    from celery_audit.runs import Runs
    from celery_audit.settings import Settings

SCAN_FORMATS = ("text", "json", "markdown", "mermaid", "dot", "sarif", "github", "gitlab")
GRAPH_SCOPES = ("celery", "full")


def echo(message: str, *, err: bool = False) -> None:
    """`message` and a newline on stdout (or stderr), flushed."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n")
    stream.flush()


def _codes(value: str | None, option: str) -> tuple[str, ...]:
    """Comma-separated rule codes or prefixes; an unknown one is a usage error."""
    codes = _patterns((value or "").upper())
    if not codes:
        return ()
    from celery_audit.config import CODE
    from celery_audit.rules import RULES

    for code in codes:
        if not CODE.fullmatch(code) or not any(r.code.startswith(code) for r in RULES):
            fail(f"{option}: unknown rule code {code!r}; `celery-audit rules` lists them")
    return tuple(sorted(set(codes)))


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def settings_of(
    root: Path,
    *,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    exclude: tuple[str, ...] | None = None,
    fail_on: str | None = None,
    consulted: list[str] | None = None,
) -> Settings:
    """The command line's flags over the scanned repository's [tool.celery-audit]."""
    from celery_audit.config import ConfigError, load
    from celery_audit.settings import resolve

    def known_codes() -> tuple[str, ...]:
        from celery_audit.rules import RULES  # only when there is a configuration to check

        return tuple(r.code for r in RULES)

    try:
        config = load(root, known_codes=known_codes, consulted=consulted)
    except ConfigError as error:
        fail(str(error))
    return resolve(config, select=select, ignore=ignore, exclude=exclude, fail_on=fail_on)


def _root_relative(root: Path, path: str, files: tuple[str, ...]) -> frozenset[str]:
    """FILES (relative to the working directory, or absolute) as paths relative to the
    scanned folder, the way findings name them."""
    base = root if root.is_dir() else root.parent
    found = set()
    for file in files:
        for folder, target in (
            (Path(os.path.abspath(base)), Path(os.path.abspath(file))),
            (base.resolve(), Path(file).resolve()),
        ):
            if target.is_relative_to(folder):
                found.add(target.relative_to(folder).as_posix())
                break
        else:
            fail(f"{file} is not inside the scanned folder {path}")
    return frozenset(found)


def write(text: str | bytes, output: str | None) -> None:
    """Write to stdout, or atomically to `output` (a reader never sees half a file)."""
    if output is None:
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    target = Path(output)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}."
        )
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error.__class__.__name__}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def contained(debug: bool) -> Iterator[None]:
    """A crash outside the per-file and per-rule containment (discovery, linking, a
    renderer) is one line and exit 2, never a traceback unless --debug."""
    try:
        yield
    except OSError as error:
        if debug:
            echo(traceback.format_exc(), err=True)
        where = f": {error.filename}" if error.filename else ""
        fail(f"{error.strerror or error.__class__.__name__}{where}")
    except Exception as error:
        echo(f"celery-audit: internal-error: {error.__class__.__name__}: {error}", err=True)
        if debug:
            echo(traceback.format_exc(), err=True)
        sys.exit(2)


def fail(message: str) -> NoReturn:
    echo(f"celery-audit: error: {message}", err=True)
    sys.exit(2)


def check_path(path: str) -> Path:
    root = Path(path)
    if not root.exists():
        fail(f"path does not exist: {path}")
    return root


def default_jobs() -> int:
    return os.cpu_count() or 1


def _cache(root: Path, cache_dir: str | None) -> FactCache | None:
    """The fact cache of a scan of `root`; None without the user's secret to sign it."""
    from celery_audit.cache import FactCache
    from celery_audit.signing import secret

    key = secret()
    if key is None:
        return None
    base = root if root.is_dir() else root.parent
    return FactCache(Path(cache_folder(str(root), cache_dir)), base, key)


def display(path: str) -> str:
    return Path(path).as_posix()


def scan(
    *,
    arguments: Sequence[str],
    path: str,
    files: tuple[str, ...] = (),
    fmt: str = "text",
    output: str | None = None,
    select: str | None = None,
    ignore: str | None = None,
    exclude: str | None = None,
    fail_on: str | None = None,
    baseline_file: str | None = None,
    write_baseline: str | None = None,
    graph_scope: str = "celery",
    jobs: int | None = None,
    no_cache: bool = False,
    cache_dir: str | None = None,
    debug: bool = False,
    runs: Runs | None = None,
) -> None:
    """Scan the repository at `path` and report findings; exits. `arguments`: the
    command line as typed (a run is recorded under it); `runs`: its record, when the
    caller already found it not to replay by signature (entry.py)."""
    from celery_audit.runs import Runs, colored, invocation_key, now_ns, recorded

    started = now_ns()
    color = colored(fmt=fmt, output=output)
    recording = recorded(fmt=fmt, output=output, write_baseline=write_baseline, no_cache=no_cache)
    if runs is None and recording:
        # A run of this very command line whose inputs are all unchanged: its output
        # stands, and nothing else needs importing (see runs.py; entry.py replays it
        # even before this module is imported).
        runs = Runs(cache_folder(path, cache_dir), invocation_key(arguments, color=color))
        replay = runs.unchanged()
        if replay is not None:
            write(replay.output, None)
            sys.exit(replay.status)
    with no_cycle_collection():  # from the imports on: nothing a scan builds is cyclic
        _scan(path, files, fmt, output, select, ignore, exclude, fail_on, baseline_file,
              write_baseline, graph_scope, jobs, no_cache, cache_dir, debug, color, runs,
              started)  # fmt: skip


def _scan(path: str, files: tuple[str, ...], fmt: str, output: str | None, select: str | None,
          ignore: str | None, exclude: str | None, fail_on: str | None, baseline_file: str | None,
          write_baseline: str | None, graph_scope: str, jobs: int | None, no_cache: bool,
          cache_dir: str | None, debug: bool, color: bool, runs: Runs | None,
          started: int) -> None:  # fmt: skip
    from celery_audit.audit import check, scan_files

    root = check_path(path)
    depends: list[str] = []
    settings = settings_of(
        root,
        select=_codes(select, "--select"),
        ignore=_codes(ignore, "--ignore"),
        exclude=None if exclude is None else _patterns(exclude),
        fail_on=fail_on,
        consulted=depends,
    )
    if write_baseline and files:
        fail("--write-baseline records the whole project: do not pass FILES")
    baseline = None
    settings_key = repr(settings)
    if baseline_file:
        from celery_audit.suppress import BaselineError, read_baseline

        depends.append(os.path.abspath(baseline_file))
        try:
            baseline = read_baseline(Path(baseline_file), shown=baseline_file)
            settings_key += Path(baseline_file).read_text(encoding="utf-8", errors="replace")
        except BaselineError as problem:
            fail(str(problem))
    with contained(debug):
        cache = None if no_cache else _cache(root, cache_dir)
        scanned = scan_files(root, settings=settings, display_root=display(path),
                             jobs=jobs or default_jobs(), cache=cache, depends=depends)  # fmt: skip
        replay = runs.same(scanned.linked_key, settings_key) if runs is not None else None
        if replay is not None:
            # Nothing the rules read has changed: neither has what they would say.
            runs.write(output=replay.output, status=replay.status, linked_key=scanned.linked_key,  # type: ignore[union-attr]
                       settings_key=settings_key, depends=depends, started_ns=started)  # fmt: skip
            write(replay.output, None)
            sys.exit(replay.status)
        from celery_audit.report import render
        from celery_audit.report.github import step_summary_path
        from celery_audit.suppress import baseline_text

        only_files = _root_relative(root, path, files) if files else None
        report = check(scanned, settings=settings, only_files=only_files, baseline=baseline)
        text = render(report, fmt, graph=graph_scope, color=color)
        write(text, output)
        summary = step_summary_path() if fmt == "github" else None
        if summary:
            # GitHub Actions shows this file on the run's summary page.
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(str(render(report, "markdown", graph=graph_scope)))
        if write_baseline:
            recorded = (*report.findings, *report.baselined)
            write(baseline_text(recorded), write_baseline)
            count = len(recorded)
            echo(f"celery-audit: wrote {count} finding{'' if count == 1 else 's'} to {write_baseline}", err=True)  # fmt: skip
    for error in report.internal_errors:
        echo(f"celery-audit: internal-error: {error.where}: {error.message}", err=True)
        if debug:
            echo(error.traceback, err=True)
    if report.internal_errors:
        sys.exit(2)
    if write_baseline:
        sys.exit(0)
    status = 1 if any(settings.fails(f.severity) for f in report.findings) else 0
    if runs is not None and isinstance(text, str):
        runs.write(output=text, status=status, linked_key=scanned.linked_key,
                   settings_key=settings_key, depends=depends, started_ns=started)  # fmt: skip
    sys.exit(status)
