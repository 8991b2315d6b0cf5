"""The command line: flags -> Settings -> audit() -> a renderer. The only importer of
click. Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/internal error."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from celery_audit import __version__
from celery_audit.collector import no_cycle_collection
from celery_audit.levels import FAIL_ON
from celery_audit.runs import CACHE_DIR, CACHE_DIR_ENV, cache_folder

if TYPE_CHECKING:
    from celery_audit.cache import FactCache
    from celery_audit.runs import Runs
    from celery_audit.settings import Settings


SCAN_FORMATS = ("text", "json", "markdown", "mermaid", "dot", "sarif", "github", "gitlab")
GRAPH_FORMATS = ("mermaid", "dot", "svg", "png")


def _codes(value: str | None, option: str) -> tuple[str, ...]:
    """Comma-separated rule codes or prefixes; an unknown one is a usage error."""
    codes = _patterns((value or "").upper())
    if not codes:
        return ()
    from celery_audit.config import CODE
    from celery_audit.rules import RULES

    for code in codes:
        if not CODE.fullmatch(code) or not any(r.code.startswith(code) for r in RULES):
            _fail(f"{option}: unknown rule code {code!r}; `celery-audit rules` lists them")
    return tuple(sorted(set(codes)))


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _settings(
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
        _fail(str(error))
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
            _fail(f"{file} is not inside the scanned folder {path}")
    return frozenset(found)


def _write(text: str | bytes, output: str | None) -> None:
    """Write to stdout, or atomically to `output` (a reader never sees half a file)."""
    if output is None:
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            click.echo(text, nl=False)
        return
    target = Path(output)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}."
        )
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror or error.__class__.__name__}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _contained(debug: bool) -> Iterator[None]:
    """A crash outside the per-file and per-rule containment (discovery, linking, a
    renderer) is one line and exit 2, never a traceback unless --debug."""
    try:
        yield
    except OSError as error:
        if debug:
            click.echo(traceback.format_exc(), err=True)
        where = f": {error.filename}" if error.filename else ""
        _fail(f"{error.strerror or error.__class__.__name__}{where}")
    except Exception as error:
        click.echo(f"celery-audit: internal-error: {error.__class__.__name__}: {error}", err=True)
        if debug:
            click.echo(traceback.format_exc(), err=True)
        sys.exit(2)


def _fail(message: str) -> NoReturn:
    click.echo(f"celery-audit: error: {message}", err=True)
    sys.exit(2)


def _check_path(path: str) -> Path:
    root = Path(path)
    if not root.exists():
        _fail(f"path does not exist: {path}")
    return root


def _default_jobs() -> int:
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


def _display(path: str) -> str:
    return Path(path).as_posix()


class _Group(click.Group):
    """Keeps the arguments as typed: a run is recorded under them (see entry.py)."""

    arguments: tuple[str, ...] = ()

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:  # type: ignore[override]
        _Group.arguments = tuple(sys.argv[1:] if args is None else args)
        return super().main(args, *rest, **extra)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celery-audit")
def main() -> None:
    """Audit how Celery is wired into a Flask application, by reading its code."""


@main.command()
@click.argument("path", type=click.Path())
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(SCAN_FORMATS), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE (atomically)."
)
@click.option("--select", help="Comma-separated codes or prefixes to report (e.g. CA2,CA301).")
@click.option("--ignore", help="Comma-separated codes or prefixes not to report.")
@click.option("--exclude", help="Comma-separated gitignore-style patterns (relative to PATH) not to scan; replaces the configured exclude.")  # fmt: skip
@click.option("--fail-on", type=click.Choice(FAIL_ON),
              help="Exit 1 when a finding has at least this severity.  [default: warning]")  # fmt: skip
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings not recorded in this baseline FILE.")  # fmt: skip
@click.option("--write-baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in FILE as a baseline (then exit 0).")  # fmt: skip
@click.option("--graph", "graph_scope", type=click.Choice(("celery", "full")), default="celery", show_default=True,
              help="Diagram scope for markdown/mermaid/dot.")  # fmt: skip
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Processes extracting facts in parallel.  [default: the number of CPUs]")  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Neither read nor write the fact cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar=CACHE_DIR_ENV,
              help=f"Keep the fact cache in DIR (or ${CACHE_DIR_ENV}).  [default: PATH/{CACHE_DIR}]")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def scan(path: str, files: tuple[str, ...], fmt: str, output: str | None, select: str | None,
         ignore: str | None, exclude: str | None, fail_on: str | None, baseline_file: str | None,
         write_baseline: str | None, graph_scope: str, jobs: int | None, no_cache: bool,
         cache_dir: str | None, debug: bool) -> None:  # fmt: skip
    """Scan the repository at PATH and report findings.

    With FILES (as pre-commit passes them), the whole repository is still scanned and
    linked, but only findings located in FILES are reported.
    """
    from celery_audit.runs import now_ns

    started = now_ns()
    color = fmt == "text" and output is None and sys.stdout.isatty()
    runs = None
    if not no_cache and output is None and not write_baseline and fmt != "github":
        # A run of this very command line whose inputs are all unchanged: its output
        # stands, and nothing else needs importing (see runs.py; entry.py replays it
        # even before click is imported).
        from celery_audit.runs import Runs, invocation_key

        key = invocation_key(_Group.arguments, color=color)
        runs = Runs(cache_folder(path, cache_dir), key)
        replay = runs.unchanged()
        if replay is not None:
            _write(replay.output, None)
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

    root = _check_path(path)
    depends: list[str] = []
    settings = _settings(
        root,
        select=_codes(select, "--select"),
        ignore=_codes(ignore, "--ignore"),
        exclude=None if exclude is None else _patterns(exclude),
        fail_on=fail_on,
        consulted=depends,
    )
    if write_baseline and files:
        _fail("--write-baseline records the whole project: do not pass FILES")
    baseline = None
    settings_key = repr(settings)
    if baseline_file:
        from celery_audit.suppress import BaselineError, read_baseline

        depends.append(os.path.abspath(baseline_file))
        try:
            baseline = read_baseline(Path(baseline_file), shown=baseline_file)
            settings_key += Path(baseline_file).read_text(encoding="utf-8", errors="replace")
        except BaselineError as problem:
            _fail(str(problem))
    with _contained(debug):
        cache = None if no_cache else _cache(root, cache_dir)
        scanned = scan_files(root, settings=settings, display_root=_display(path),
                             jobs=jobs or _default_jobs(), cache=cache, depends=depends)  # fmt: skip
        replay = runs.same(scanned.linked_key, settings_key) if runs is not None else None
        if replay is not None:
            # Nothing the rules read has changed: neither has what they would say.
            runs.write(output=replay.output, status=replay.status, linked_key=scanned.linked_key,  # type: ignore[union-attr]
                       settings_key=settings_key, depends=depends, started_ns=started)  # fmt: skip
            _write(replay.output, None)
            sys.exit(replay.status)
        from celery_audit.report import render
        from celery_audit.report.github import step_summary_path
        from celery_audit.suppress import baseline_text

        only_files = _root_relative(root, path, files) if files else None
        report = check(scanned, settings=settings, only_files=only_files, baseline=baseline)
        text = render(report, fmt, graph=graph_scope, color=color)
        _write(text, output)
        summary = step_summary_path() if fmt == "github" else None
        if summary:
            # GitHub Actions shows this file on the run's summary page.
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(str(render(report, "markdown", graph=graph_scope)))
        if write_baseline:
            recorded = (*report.findings, *report.baselined)
            _write(baseline_text(recorded), write_baseline)
            count = len(recorded)
            click.echo(f"celery-audit: wrote {count} finding{'' if count == 1 else 's'} to {write_baseline}", err=True)  # fmt: skip
    for error in report.internal_errors:
        click.echo(f"celery-audit: internal-error: {error.where}: {error.message}", err=True)
        if debug:
            click.echo(error.traceback, err=True)
    if report.internal_errors:
        sys.exit(2)
    if write_baseline:
        sys.exit(0)
    status = 1 if any(settings.fails(f.severity) for f in report.findings) else 0
    if runs is not None and isinstance(text, str):
        runs.write(output=text, status=status, linked_key=scanned.linked_key,
                   settings_key=settings_key, depends=depends, started_ns=started)  # fmt: skip
    sys.exit(status)


@main.command()
@click.argument("path", type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="mermaid", show_default=True
)
@click.option(
    "--graph",
    "graph_scope",
    type=click.Choice(("celery", "full")),
    default="celery",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False))
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def graph(path: str, fmt: str, graph_scope: str, output: str | None, debug: bool) -> None:
    """Draw the module graph of the Celery integration."""
    from celery_audit.audit import audit
    from celery_audit.report import render
    from celery_audit.report.dot import GraphvizMissing

    root = _check_path(path)
    with _contained(debug):
        report = audit(
            root, settings=_settings(root), display_root=_display(path), jobs=_default_jobs()
        )
        try:
            _write(render(report, fmt, graph=graph_scope), output)
        except GraphvizMissing as error:
            _fail(str(error))


@main.command("rules")
def list_rules() -> None:
    """List every rule with its default severity and whether it runs by default."""
    from celery_audit.report.terminal import render_rules

    click.echo(render_rules(), nl=False)


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Print the documentation of rule CODE (e.g. CA201)."""
    from celery_audit.rules import BY_CODE

    found = BY_CODE.get(code.upper())
    if found is None:
        _fail(f"no rule {code}; `celery-audit rules` lists them")
    off = "" if found.default_enabled else ", off by default: select it by its code"
    click.echo(f"# {found.code} {found.name} ({found.severity.value}{off})\n\n{found.doc}")
