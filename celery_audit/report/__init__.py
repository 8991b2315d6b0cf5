"""Renderers: one `render(report) -> str` per format. They format, never analyse."""

from __future__ import annotations

from celery_audit.audit import Report

# Box colours of the diagram by module role (fill, stroke), for every diagram format.
ROLE_COLOURS = {
    "app": ("#dbeafe", "#1d4ed8"),
    "workers": ("#dcfce7", "#15803d"),
    "resources": ("#fef9c3", "#a16207"),
    "extensions": ("#f3e8ff", "#7e22ce"),
    "config": ("#f1f5f9", "#475569"),
    "frontend": ("#ffedd5", "#c2410c"),
}


def plural(count: int, word: str, plural: str | None = None) -> str:
    """`1 task`, `3 tasks`, `2 beat entries` (with `plural` given)."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def baseline_note(report: Report) -> str:
    """`2 baselined`, and how many baseline entries no finding matches any more."""
    note = f"{len(report.baselined)} baselined"
    if report.baseline_fixed:
        note += f", {report.baseline_fixed} fixed since the baseline"
    return note


def render(report: Report, fmt: str, *, graph: str = "celery", color: bool = False) -> str | bytes:
    if fmt == "json":
        from celery_audit.report import json

        return json.render(report)
    if fmt == "markdown":
        from celery_audit.report import markdown

        return markdown.render(report, graph=graph)
    if fmt == "mermaid":
        from celery_audit.report import mermaid

        return mermaid.render(report, graph=graph)
    if fmt in ("dot", "svg", "png"):
        from celery_audit.report import dot

        return dot.render(report, graph=graph, fmt=fmt)
    if fmt == "sarif":
        from celery_audit.report import sarif

        return sarif.render(report)
    if fmt == "gitlab":
        from celery_audit.report import gitlab

        return gitlab.render(report)
    if fmt == "github":
        from celery_audit.report import github

        return github.render(report)
    from celery_audit.report import terminal

    return terminal.render(report, color=color)
