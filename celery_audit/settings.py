"""Settings: defaults < [tool.celery-audit] in the scanned repo's pyproject.toml < CLI."""

from __future__ import annotations

from dataclasses import dataclass

from celery_audit.model.findings import Severity

FAIL_ON = ("error", "warning", "info", "never")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str = "warning"

    def selects(self, code: str) -> bool:
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(code.startswith(p) for p in patterns)

        if self.select and not matches(self.select):
            return False
        return not matches(self.ignore)

    def fails(self, severity: Severity) -> bool:
        if self.fail_on == "never":
            return False
        return severity.rank >= Severity(self.fail_on).rank
