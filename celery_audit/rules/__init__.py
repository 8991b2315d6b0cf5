"""The rule table: every code, once, in order. A rule is a module named after what it
detects, whose docstring is its documentation and whose `check(project)` yields
findings from linked facts (never from syntax)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from celery_audit.model.findings import Finding, Severity
from celery_audit.model.project import Project
from celery_audit.rules import (
    app_bound_task_call,
    beat_schedule_location,
    circular_import,
    parse_error,
    task_id_exposed,
    task_missing_app_context,
)

# Areas group findings in the Markdown report, in the seed document's order.
AREAS = (
    "Task Invocation",
    "Flask Context",
    "Configuration Location",
    "Service Management",
    "Frontend Dependencies",
    "Imports",
    "Files",
)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    area: str
    summary: str
    fix: str
    doc: str
    check: Callable[[Project], Iterator[Finding]]


def _rule(code: str, module: ModuleType) -> Rule:
    doc = (module.__doc__ or "").strip()
    return Rule(
        code=code,
        name=module.NAME,
        severity=Severity(module.SEVERITY),
        area=module.AREA,
        summary=doc.splitlines()[0].rstrip("."),
        fix=module.FIX,
        doc=doc,
        check=module.check,
    )


RULES: tuple[Rule, ...] = (
    _rule("CA001", parse_error),
    _rule("CA101", app_bound_task_call),
    _rule("CA102", task_id_exposed),
    _rule("CA201", task_missing_app_context),
    _rule("CA301", beat_schedule_location),
    _rule("CA401", circular_import),
)
BY_CODE = {rule.code: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}
