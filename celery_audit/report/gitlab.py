"""GitLab Code Quality report: the JSON array GitLab reads from a job's
`artifacts:reports:codequality` file (a subset of the Code Climate issue format) and
shows in merge requests and pipelines.

Each issue carries the same line-independent fingerprint as SARIF, so GitLab tells new
findings from ones that only moved. Paths are relative to the scanned folder: scan the
repository root for them to match GitLab's file paths.
"""

from __future__ import annotations

import json
from typing import Any

from celery_audit.audit import Report
from celery_audit.model.findings import Finding, Severity
from celery_audit.suppress import fingerprints

# GitLab's scale is info, minor, major, critical, blocker.
SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def _issue(finding: Finding, stable_id: str) -> dict[str, Any]:
    return {
        "description": f"{finding.code} {finding.message}",
        "check_name": f"{finding.code} {finding.name}",
        "fingerprint": stable_id,
        "severity": SEVERITIES[finding.severity],
        "location": {"path": finding.file, "lines": {"begin": max(finding.span.line, 1)}},
    }


def as_list(report: Report) -> list[dict[str, Any]]:
    findings = sorted(report.findings, key=Finding.sort_key)
    ids = fingerprints(findings)
    return [_issue(f, id_) for f, id_ in zip(findings, ids, strict=True)]


def render(report: Report) -> str:
    return json.dumps(as_list(report), indent=2, ensure_ascii=False) + "\n"
