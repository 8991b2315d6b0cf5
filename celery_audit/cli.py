"""The command line: flags -> Settings -> audit() -> a renderer. The only importer of
click. Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/internal error."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from celery_audit import __version__
from celery_audit.settings import FAIL_ON, Settings

SCAN_FORMATS = ("text", "json", "markdown", "mermaid", "dot", "sarif", "github")
GRAPH_FORMATS = ("mermaid", "dot", "svg", "png")


def _codes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(sorted({c.strip().upper() for c in value.split(",") if c.strip()}))


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
    fd, tmp = tempfile.mkstemp(
        dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}."
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fail(message: str) -> None:
    click.echo(f"celery-audit: error: {message}", err=True)
    sys.exit(2)


def _check_path(path: str) -> Path:
    root = Path(path)
    if not root.exists():
        _fail(f"path does not exist: {path}")
    return root


def _display(path: str) -> str:
    return Path(path).as_posix()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celery-audit")
def main() -> None:
    """Audit how Celery is wired into a Flask application, by reading its code."""


@main.command()
@click.argument("path", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(SCAN_FORMATS), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE (atomically)."
)
@click.option("--select", help="Comma-separated codes or prefixes to report (e.g. CA2,CA301).")
@click.option("--ignore", help="Comma-separated codes or prefixes not to report.")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="warning", show_default=True,
              help="Exit 1 when a finding has at least this severity.")  # fmt: skip
@click.option("--graph", "graph_scope", type=click.Choice(("celery", "full")), default="celery", show_default=True,
              help="Diagram scope for markdown/mermaid/dot.")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def scan(path: str, fmt: str, output: str | None, select: str | None, ignore: str | None,
         fail_on: str, graph_scope: str, debug: bool) -> None:  # fmt: skip
    """Scan the repository at PATH and report findings."""
    from celery_audit.audit import audit
    from celery_audit.report import render
    from celery_audit.report.github import step_summary_path

    root = _check_path(path)
    settings = Settings(select=_codes(select), ignore=_codes(ignore), fail_on=fail_on)
    report = audit(root, settings=settings, display_root=_display(path))
    color = fmt == "text" and output is None and sys.stdout.isatty()
    _write(render(report, fmt, graph=graph_scope, color=color), output)
    summary = step_summary_path() if fmt == "github" else None
    if summary:
        # GitHub Actions shows this file on the run's summary page.
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(str(render(report, "markdown", graph=graph_scope)))
    for error in report.internal_errors:
        click.echo(f"celery-audit: internal-error: {error.where}: {error.message}", err=True)
        if debug:
            click.echo(error.traceback, err=True)
    if report.internal_errors:
        sys.exit(2)
    sys.exit(1 if any(settings.fails(f.severity) for f in report.findings) else 0)


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
def graph(path: str, fmt: str, graph_scope: str, output: str | None) -> None:
    """Draw the module graph of the Celery integration."""
    from celery_audit.audit import audit
    from celery_audit.report import render

    root = _check_path(path)
    report = audit(root, settings=Settings(), display_root=_display(path))
    try:
        _write(render(report, fmt, graph=graph_scope), output)
    except RuntimeError as error:  # Graphviz missing for svg/png
        _fail(str(error))


@main.command("rules")
def list_rules() -> None:
    """List every rule with its default severity."""
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
        return
    click.echo(f"# {found.code} {found.name} ({found.severity.value})\n\n{found.doc}")
