"""The command line: click's options, help and errors; the work is `scanning.py`'s. The
only importer of click. Exit codes: 0 clean, 1 findings at or above --fail-on, 2
usage/internal error."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from celery_audit import __version__, scanning
from celery_audit.levels import FAIL_ON
from celery_audit.runs import CACHE_DIR, CACHE_DIR_ENV
from celery_audit.scanning import GRAPH_SCOPES, SCAN_FORMATS

GRAPH_FORMATS = ("mermaid", "dot", "svg", "png")


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
@click.option("--graph", "graph_scope", type=click.Choice(GRAPH_SCOPES), default="celery", show_default=True,
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
    scanning.scan(arguments=_Group.arguments, path=path, files=files, fmt=fmt, output=output,
                  select=select, ignore=ignore, exclude=exclude, fail_on=fail_on,
                  baseline_file=baseline_file, write_baseline=write_baseline,
                  graph_scope=graph_scope, jobs=jobs, no_cache=no_cache, cache_dir=cache_dir,
                  debug=debug)  # fmt: skip


@main.command()
@click.argument("path", type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="mermaid", show_default=True
)
@click.option(
    "--graph",
    "graph_scope",
    type=click.Choice(GRAPH_SCOPES),
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

    root = scanning.check_path(path)
    with scanning.contained(debug):
        report = audit(
            root,
            settings=scanning.settings_of(root),
            display_root=scanning.display(path),
            jobs=scanning.default_jobs(),
        )
        try:
            scanning.write(render(report, fmt, graph=graph_scope), output)
        except GraphvizMissing as error:
            scanning.fail(str(error))


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
        scanning.fail(f"no rule {code}; `celery-audit rules` lists them")
    off = "" if found.default_enabled else ", off by default: select it by its code"
    click.echo(f"# {found.code} {found.name} ({found.severity.value}{off})\n\n{found.doc}")
