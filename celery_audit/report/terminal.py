"""The text report: findings grouped by file, coloured by severity, one summary line.
The only importer of rich. Plain text (no escape codes) when colour is off."""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.table import Table
from rich.text import Text

from celery_audit.audit import Report
from celery_audit.model.findings import Severity
from celery_audit.report import baseline_note, plural

STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _console(buffer: io.StringIO, color: bool, width: int = 100) -> Console:
    return Console(
        file=buffer,
        force_terminal=color,
        color_system="standard" if color else None,
        width=width if not color else None,
        soft_wrap=True,
        highlight=False,
        emoji=False,
    )


def render(report: Report, *, color: bool = False) -> str:
    buffer = io.StringIO()
    console = _console(buffer, color)
    project = report.project
    for file, group in groupby(report.findings, key=lambda f: f.file):
        console.print(Text(file, style="bold underline"))
        for item in group:
            line = Text("  ")
            line.append(f"{item.span.line}:{item.span.column}", style="dim")
            line.append("  ")
            line.append(f"{item.severity.value:<7}", style=STYLES[item.severity])
            line.append(f" {item.code} ", style="bold")
            line.append(item.message)
            console.print(line)
            for related in item.related:
                console.print(
                    Text(f"      {related.file}:{related.line}: {related.message}", style="dim")
                )
            if item.fix:
                console.print(Text(f"      fix: {item.fix}", style="green"))
        console.print()
    counts = {s: sum(1 for f in report.findings if f.severity is s) for s in Severity}
    summary = Text()
    if report.findings:
        summary.append(f"Found {plural(len(report.findings), 'finding')} ", style="bold")
        summary.append(
            f"({plural(counts[Severity.ERROR], 'error')}, {plural(counts[Severity.WARNING], 'warning')}, "
            f"{counts[Severity.INFO]} info)"
        )
    else:
        summary.append("No findings", style="bold green")
    summary.append(
        f" in {plural(project.files, 'file')} ({project.python_files} Python): "
        f"{plural(len(project.celery_apps), 'Celery app')}, {plural(len(project.tasks), 'task')}, "
        f"{plural(len(project.call_sites), 'call site')}, {plural(len(project.beat), 'beat entry', 'beat entries')}"
    )
    if report.baselined or report.baseline_fixed:
        summary.append(f" ({baseline_note(report)})")
    if project.python_files == 0:
        summary.append(" — no Python files found")
    console.print(summary)
    return buffer.getvalue()


def render_rules() -> str:
    from celery_audit.rules import RULES

    buffer = io.StringIO()
    console = _console(buffer, False, width=200)
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column("code")
    table.add_column("name")
    table.add_column("severity")
    table.add_column("default")
    table.add_column("area")
    table.add_column("summary")
    for rule in RULES:
        default = "on" if rule.default_enabled else "off"
        table.add_row(rule.code, rule.name, rule.severity.value, default, rule.area, rule.summary)
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
