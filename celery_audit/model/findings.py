"""Findings and the rule descriptions that explain them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from celery_audit.model.facts import Span


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, order=True)
class Related:
    """Evidence for a finding in another place (SARIF relatedLocations)."""

    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Finding:
    """One problem or inventory item, located at `file`:`span`.

    `scope` is the enclosing function or class (for baselines and suppressions), `key`
    a stable description of the evidence that does not depend on line numbers.
    """

    code: str
    name: str
    severity: Severity
    message: str
    file: str
    span: Span
    related: tuple[Related, ...] = ()
    fix: str | None = None
    scope: str = ""
    key: str = ""

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.span.line, self.span.column, self.code, self.message)
