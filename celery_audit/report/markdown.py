"""The Markdown report: the seed conflict analysis, regenerated from facts.

Sections follow the seed document: Current Dependencies (diagram and the wiring it
stands for), Potential Conflicts (findings by area), Why Changes Might Be Risky (what
works today and depends on the current structure), Recommendation (per rule). Every
item links to its file and line.
"""

from __future__ import annotations

import re
from itertools import groupby

from celery_audit import __version__
from celery_audit.audit import Report
from celery_audit.model.findings import Finding, Severity
from celery_audit.model.project import CallSite, Project, Task
from celery_audit.report import baseline_note, plural
from celery_audit.report.mermaid import render_diagram
from celery_audit.rules import AREAS, BY_CODE
from celery_audit.topology import diagram

# The seed's three conflicts are always shown, in its order; other areas when present.
SEED_AREAS = AREAS[:3]


def link(file: str, line: int) -> str:
    return f"[{file}:{line}]({file}#L{line})"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _use_instead(doc: str) -> str | None:
    """The first code block after "Use instead" in a rule's documentation."""
    match = re.search(r"Use instead[^\n]*\n+```(\w*)\n(.*?)```", doc, re.S)
    return f"```{match.group(1)}\n{match.group(2)}```" if match else None


def _task_line(task: Task) -> str:
    name = _code(task.name) + (
        " (derived name)"
        if not task.name_explicit
        else " (name= only partly known statically)"
        if task.name_pattern
        else ""
    )
    return f"{link(task.file, task.def_span.line)} task {_code(task.func)} registered as {name}, {_code(task.decorator)}"


def _call_text(call: CallSite) -> str:
    if call.kind in (
        "chain",
        "group",
        "chord",
        "send_task",
        "signature",
    ) and not call.target.endswith(call.kind):
        return (
            f"{call.kind}({call.target!r})"
            if call.kind in ("send_task", "signature")
            else f"{call.kind}()"
        )
    return f"{call.target}.{call.kind}()"


def _wiring(project: Project) -> list[str]:
    lines = []
    for app in project.celery_apps:
        extra = f"; tasks run with {_code(app.context_base)}" if app.context_base else ""
        lines.append(
            f"- Celery app {_code(app.qualname)} created with {_code(app.how)} at {link(app.file, app.span.line)}{extra}"
        )
    for flask in project.flask_apps:
        lines.append(
            f"- Flask app {_code(flask.qualname)} created with {_code(flask.how)} at {link(flask.file, flask.span.line)}"
        )
    lines.extend(f"- {_task_line(task)}" for task in project.tasks)
    for call in project.call_sites:
        called = project.task(call.task or "")
        target = _code(called.name) if called else f"{_code(call.target)} (unresolved)"
        where = call.handler or call.scope
        where = f" in {_code(where)}" if where else ""
        lines.append(
            f"- {link(call.file, call.span.line)} dispatch {_code(_call_text(call))} -> {target}{where}"
        )
    for entry in project.beat:
        lines.append(
            f"- {link(entry.file, entry.span.line)} beat entry {_code(entry.key)} runs {_code(entry.task or '?')} on {_code(entry.schedule or '?')}"
        )
    for command in project.worker_commands:
        lines.append(
            f"- {link(command.file, command.span.line)} service command {_code(command.command)}"
        )
    return lines


def _finding(item: Finding) -> list[str]:
    lines = [f"- **{item.code}** {link(item.file, item.span.line)}: {item.message}"]
    for related in item.related:
        lines.append(f"  - {link(related.file, related.line)}: {related.message}")
    return lines


def _conflicts(report: Report) -> list[str]:
    lines = []
    by_area = {area: [f for f in report.findings if BY_CODE[f.code].area == area] for area in AREAS}
    areas = [a for a in AREAS if a in SEED_AREAS or by_area[a]]
    for number, area in enumerate(areas, 1):
        lines.append(f"### {number}. {area}")
        found = by_area[area]
        if not found:
            lines.append("- No findings.")
        for item in found:
            lines.extend(_finding(item))
        lines.append("")
    return lines


def _risks(project: Project, report: Report) -> list[str]:
    lines = ["### 1. Working Integration"]
    covered = [
        t for t in project.tasks if t.context_provided_by and not _missing_context(t, report)
    ]
    for task in covered:
        how = "; ".join(sorted({e.what for e in task.context_provided_by}))
        lines.append(
            f"- {link(task.file, task.def_span.line)} task {_code(task.func)} gets its app context from: {how}"
        )
    resolved = [c for c in project.call_sites if c.task]
    if resolved:
        verb = "reaches its" if len(resolved) == 1 else "reach their"
        lines.append(
            f"- {plural(len(resolved), 'call site')} {verb} task through the current import paths; moving a task changes them"
        )
    implicit = [t for t in project.tasks if not t.name_explicit]
    if implicit:
        names = ", ".join(_code(t.name) for t in implicit)
        lines.append(
            f"- {plural(len(implicit), 'task')} registered under a name derived from the module path ({names}): moving or renaming the module renames the task"
        )
    if len(lines) == 1:
        lines.append("- No Celery wiring found to preserve.")
    lines += ["", "### 2. Frontend Dependencies"]
    exposed = [f for f in report.findings if f.code == "CA102"]
    for item in exposed:
        lines.append(f"- {link(item.file, item.span.line)}: {item.message}")
    for endpoint in project.status_endpoints:
        keys = ", ".join(_code(k) for k in endpoint.returns) or "a value"
        lines.append(
            f"- {link(endpoint.file, endpoint.span.line)} status endpoint {_code(endpoint.route)} returns {keys}"
        )
    for call in project.frontend_calls:
        states = ", ".join(_code(s) for s in call.states) or "no state"
        fields = ", ".join(_code(f) for f in call.fields) or "no field"
        lines.append(
            f"- {link(call.file, call.span.line)} frontend {call.method} {_code(call.url)} compares {states}, reads {fields}"
        )
    if not (exposed or project.status_endpoints or project.frontend_calls):
        lines.append("- No task id or status reaches an HTTP client.")
    lines += ["", "### 3. Service Management"]
    for command in project.worker_commands:
        target = _code(command.app_target) if command.app_target else "no `-A` target"
        what = command.subcommand or "celery"
        beat = " with embedded beat (-B)" if command.beat else ""
        queues = f" consuming {', '.join(command.queues)}" if command.queues else ""
        lines.append(
            f"- {link(command.file, command.span.line)} starts `{what}`{beat}{queues} for {target}"
        )
    if not project.worker_commands:
        lines.append("- No service script starts a Celery worker or beat.")
    if project.beat:
        lines.append(
            f"- {plural(len(project.beat), 'beat entry', 'beat entries')} name tasks by string; beat must import the module that defines the schedule"
        )
    return lines


def _missing_context(task: Task, report: Report) -> bool:
    return any(
        f.code == "CA201" and f.file == task.file and f.span.line == task.def_span.line
        for f in report.findings
    )


def _keep(project: Project, report: Report) -> list[str]:
    """What the seed calls "Keep Current Structure": the places others depend on."""
    lines = []
    for module in sorted({t.module for t in project.tasks}):
        tasks = [t for t in project.tasks if t.module == module]
        callers = sorted({(c.file, c.span.line) for c in project.call_sites
                          if c.task in {t.qualname for t in tasks} and c.module != module})  # fmt: skip
        where = f"; called from {', '.join(link(f, n) for f, n in callers)}" if callers else ""
        lines.append(
            f"- Keep {_code(tasks[0].file)} as the module of its {plural(len(tasks), 'task')}{where}"
        )
    for item in (f for f in report.findings if f.code == "CA301"):
        lines.append(
            f"- Keep the beat schedule where it is ({link(item.file, item.span.line)}), or move it together with the `celery beat -A` target"
        )
    implicit = [t for t in project.tasks if not t.name_explicit]
    if implicit:
        lines.append(
            f"- Pin the derived names of {plural(len(implicit), 'task')} with `name=` before moving any of them"
        )
    return lines


def _recommendation(project: Project, report: Report) -> list[str]:
    problems = [f for f in report.findings if f.severity is not Severity.INFO]
    lines = ["Make the smallest changes that remove the problems; keep what works as it is.", ""]
    lines += ["### 1. Fix What Is Broken"]
    if not problems:
        lines.append("- No errors or warnings.")

    # By rule, and within a rule by fix: a variant of what a rule detects carries its
    # own fix (the rule's comes first, with the rule's example).
    def fix_of(finding: Finding) -> str:
        return finding.fix or BY_CODE[finding.code].fix

    ordered = sorted(
        problems,
        key=lambda f: (-f.severity.rank, f.code, fix_of(f) != BY_CODE[f.code].fix, fix_of(f)),
    )
    for (code, fix), group in groupby(ordered, key=lambda f: (f.code, fix_of(f))):
        items = sorted(group, key=Finding.sort_key)
        rule = BY_CODE[code]
        places = ", ".join(link(i.file, i.span.line) for i in items)
        lines.append(f"- **{rule.code} {rule.name}** ({places}): {fix}")
        example = _use_instead(rule.doc) if fix == rule.fix else None
        if example:
            lines.append("")
            lines.extend("  " + line if line else "" for line in example.splitlines())
            lines.append("")
    lines += ["", "### 2. Keep Current Structure"]
    lines += _keep(project, report) or ["- No Celery structure found to keep."]
    return lines


def render(report: Report, *, graph: str = "celery") -> str:
    project = report.project
    counts = {s: sum(1 for f in report.findings if f.severity is s) for s in Severity}
    lines = [
        "# Celery Integration Conflict Analysis",
        "",
        f"Generated by celery-audit {__version__} from `{project.root}`: "
        f"{plural(project.files, 'file')} ({project.python_files} Python), "
        f"{plural(len(project.celery_apps), 'Celery app')}, {plural(len(project.tasks), 'task')}, "
        f"{plural(len(project.call_sites), 'call site')}, "
        f"{plural(len(project.beat), 'beat entry', 'beat entries')}; "
        f"findings: {plural(counts[Severity.ERROR], 'error')}, "
        f"{plural(counts[Severity.WARNING], 'warning')}, {counts[Severity.INFO]} info"
        f"{f' ({baseline_note(report)})' if report.baselined or report.baseline_fixed else ''}.",
        "",
        "## Current Dependencies",
        "",
        "```mermaid",
        render_diagram(diagram(project, scope=graph)).rstrip("\n"),
        "```",
        "",
        *(_wiring(project) or ["- No Celery wiring found."]),
        "",
        "## Potential Conflicts",
        "",
        *_conflicts(report),
        "## Why Changes Might Be Risky",
        "",
        *_risks(project, report),
        "",
        "## Recommendation",
        "",
        *_recommendation(project, report),
    ]
    text = "\n".join(lines).strip("\n") + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)
