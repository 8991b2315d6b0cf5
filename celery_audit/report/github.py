"""GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per
finding, escaped as the Actions toolkit does, so a message can never end the command
early or smuggle in a second one."""

from __future__ import annotations

import os

from celery_audit.audit import Report
from celery_audit.model.findings import Finding, Severity

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message (after `::`), as @actions/core's escapeData does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (`file=...`), where `:` and `,` also delimit, as
    @actions/core's escapeProperty does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    span = finding.span
    line = max(span.line, 1)
    column = max(span.column, 1)
    end_line = max(span.last_line, line)
    properties = [
        ("file", finding.file),
        ("line", str(line)),
        ("endLine", str(end_line)),
        ("col", str(column)),
    ]
    # An unknown end column (0) is left out: GitHub then marks the whole line.
    if span.end_column and (end_line > line or span.end_column > column):
        properties.append(("endColumn", str(span.end_column)))
    properties.append(("title", f"{finding.code} {finding.name}"))
    listed = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
    message = finding.message if not finding.fix else f"{finding.message}\nfix: {finding.fix}"
    return f"::{COMMANDS[finding.severity]} {listed}::{escape_data(message)}"


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    return "".join(annotation(finding) + "\n" for finding in findings)


def step_summary_path() -> str | None:
    """The file a step appends Markdown to for the job summary, when run in Actions."""
    return os.environ.get("GITHUB_STEP_SUMMARY") or None
