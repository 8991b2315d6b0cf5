"""What rule modules share: the finding constructor. A rule module knows its name,
never its code: codes live in the one table in `celery_audit.rules`."""

from __future__ import annotations

from dataclasses import dataclass

from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Related
from celery_audit.model.project import FrontendCall, Project, StatusEndpoint


def finding(
    name: str,
    message: str,
    file: str,
    span: Span,
    *,
    related: tuple[Related, ...] = (),
    scope: str = "",
    key: str = "",
    fix: str | None = None,
) -> Finding:
    """A finding of the rule called `name`, with its code, severity and fix from the
    rule table (`fix` replaces the rule's for a variant of what it detects). `key`
    describes the evidence without line numbers (for baselines)."""
    from celery_audit.rules import BY_NAME

    rule = BY_NAME[name]
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=message,
        file=file,
        span=span,
        related=tuple(sorted(set(related))),
        fix=fix or rule.fix,
        scope=scope,
        key=key or message,
    )


@dataclass(frozen=True)
class StringReference:
    """A task named by string: a beat entry, `send_task("n")`, `signature("n")`."""

    name: str
    what: str
    file: str
    span: Span
    scope: str


def string_references(project: Project) -> list[StringReference]:
    found = [
        StringReference(e.task, f"beat entry `{e.key}`", e.file, e.span, e.container)
        for e in project.beat
        if e.task and e.source not in ("add_periodic_task", "run_every")  # the task itself
    ]
    found += [
        StringReference(c.task_name, f'`{c.kind}("{c.task_name}")`', c.file, c.span, c.scope)
        for c in project.call_sites
        if c.task_name
    ]
    return sorted(found, key=lambda r: (r.file, r.span.line, r.span.column))


def status_endpoints_of(project: Project, call: FrontendCall) -> list[StatusEndpoint]:
    """The task-status views a frontend request reaches."""
    return [e for e in project.status_endpoints if e.route in call.routes]
