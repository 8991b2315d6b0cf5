"""What rule modules share: the finding constructor. A rule module knows its name,
never its code: codes live in the one table in `celery_audit.rules`."""

from __future__ import annotations

from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Related


def finding(
    name: str,
    message: str,
    file: str,
    span: Span,
    *,
    related: tuple[Related, ...] = (),
    scope: str = "",
    key: str = "",
) -> Finding:
    """A finding of the rule called `name`, with its code, severity and fix from the
    rule table. `key` describes the evidence without line numbers (for baselines)."""
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
        fix=rule.fix,
        scope=scope,
        key=key or message,
    )
