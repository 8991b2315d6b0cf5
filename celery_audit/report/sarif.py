"""SARIF 2.1.0 for GitHub code scanning: every rule's doc in `tool.driver.rules`, every
finding as a result with a line-independent fingerprint.

Paths are relative to the scanned root under the `%SRCROOT%` base, which is never
resolved to an absolute path here: the same scan gives the same bytes on every machine.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from celery_audit import __version__
from celery_audit.audit import InternalError, Report
from celery_audit.model.findings import Finding, Severity
from celery_audit.rules import RULES, Rule
from celery_audit.suppress import fingerprint, fingerprints

__all__ = ["as_dict", "fingerprint", "fingerprints", "render"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "celery-audit"
INFORMATION_URI = "https://github.com/celery-audit/celery-audit"
SRCROOT = "%SRCROOT%"
# Versioned so a future change to what is hashed can use a new key instead of
# silently re-identifying every alert already open on GitHub.
FINGERPRINT_KEY = "celeryAudit/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULE_INDEX = {rule.code: index for index, rule in enumerate(RULES)}


def _uri(file: str) -> str:
    # A relative URI reference: spaces, `%`, `#` and `:` in file names must be escaped.
    return quote(file, safe="/")


def _artifact(file: str) -> dict[str, Any]:
    return {"uri": _uri(file), "uriBaseId": SRCROOT}


def _region(finding: Finding) -> dict[str, Any]:
    span = finding.span
    line = max(span.line, 1)
    column = max(span.column, 1)
    region: dict[str, Any] = {
        "startLine": line,
        "startColumn": column,
        "endLine": max(span.last_line, line),
    }
    # An unknown end column (0) means "to the end of the line": SARIF's default when omitted.
    if span.end_column and (span.last_line > line or span.end_column > column):
        region["endColumn"] = span.end_column
    return region


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _rule(rule: Rule) -> dict[str, Any]:
    configuration: dict[str, Any] = {"level": LEVELS[rule.severity]}
    if not rule.default_enabled:
        configuration["enabled"] = False  # runs only when selected by its code
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc},
        "help": {"text": rule.fix, "markdown": rule.doc},
        "defaultConfiguration": configuration,
        "properties": {"tags": ["celery", _slug(rule.area)]},
    }


def _result(finding: Finding, stable_id: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(finding.file),
                    "region": _region(finding),
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: stable_id},
    }
    if finding.code in RULE_INDEX:
        result["ruleIndex"] = RULE_INDEX[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": _artifact(related.file),
                    "region": {"startLine": max(related.line, 1)},
                },
                "message": {"text": related.message},
            }
            for number, related in enumerate(finding.related, 1)
        ]
    return result


def _notification(error: InternalError) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{error.where}: {error.message}"},
    }
    code = error.where.removeprefix("rule ")
    if code in RULE_INDEX:
        notification["associatedRule"] = {"id": code, "index": RULE_INDEX[code]}
    return notification


def as_dict(report: Report) -> dict[str, Any]:
    findings = tuple(sorted(report.findings, key=Finding.sort_key))
    ids = fingerprints(findings)
    invocation: dict[str, Any] = {"executionSuccessful": not report.internal_errors}
    if report.internal_errors:
        invocation["toolExecutionNotifications"] = [
            _notification(e) for e in report.internal_errors
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in RULES],
                    }
                },
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "The directory celery-audit scanned."}}
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": [_result(f, id_) for f, id_ in zip(findings, ids, strict=True)],
            }
        ],
    }


def render(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
