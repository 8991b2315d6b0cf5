"""SARIF output: valid against the official 2.1.0 schema for every fixture, byte-for-byte
deterministic, and fingerprinted so that GitHub keeps an alert when lines move."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for

from celery_audit import __version__
from celery_audit.audit import InternalError, Report, audit
from celery_audit.model.findings import Severity
from celery_audit.report import sarif
from celery_audit.rules import RULES
from celery_audit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-2.1.0.json"
FIXTURE_DIRS = sorted(path for path in FIXTURES.iterdir() if path.is_dir())
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def scan(path: Path, display_root: str | None = None) -> Report:
    return audit(path, settings=Settings(), display_root=display_root)


def fixture_report(name: str) -> Report:
    return scan(FIXTURES / name, display_root=f"fixtures/{name}")


def as_sarif(report: Report) -> dict[str, Any]:
    return json.loads(sarif.render(report))


def results(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["runs"][0]["results"]


def prints(data: dict[str, Any]) -> list[str]:
    return [r["partialFingerprints"]["celeryAudit/v1"] for r in results(data)]


def location(result: dict[str, Any]) -> tuple[str, int]:
    physical = result["locations"][0]["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["region"]["startLine"]


@pytest.fixture(scope="module")
def validator() -> Any:
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF 2.1.0 schema is not at {SCHEMA} (it ships in ../shared/schemas)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(validator: Any, data: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=lambda path: path.name)
def test_every_fixture_validates_against_the_schema(fixture: Path, validator: Any) -> None:
    report = fixture_report(fixture.name)
    data = as_sarif(report)
    assert schema_errors(validator, data) == []
    assert len(results(data)) == len(report.findings)
    assert len(set(prints(data))) == len(report.findings)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=lambda path: path.name)
def test_output_is_byte_identical_across_runs(fixture: Path) -> None:
    first = sarif.render(fixture_report(fixture.name))
    second = sarif.render(fixture_report(fixture.name))
    assert first == second
    assert first.endswith("}\n")
    assert prints(json.loads(first)) == prints(json.loads(second))


def test_run_header() -> None:
    data = as_sarif(fixture_report("seed_app"))
    run = data["runs"][0]
    driver = run["tool"]["driver"]
    assert data["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert data["version"] == "2.1.0"
    assert len(data["runs"]) == 1
    assert {k: v for k, v in driver.items() if k != "rules"} == {
        "name": "celery-audit",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": sarif.INFORMATION_URI,
    }
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["originalUriBaseIds"] == {
        "%SRCROOT%": {"description": {"text": "The directory celery-audit scanned."}}
    }


def test_every_rule_is_described_with_its_level() -> None:
    rules = as_sarif(fixture_report("ca101_near_miss"))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in RULES]
    for described, rule in zip(rules, RULES, strict=True):
        assert described == {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc},
            "help": {"text": rule.fix, "markdown": rule.doc},
            "defaultConfiguration": {"level": LEVELS[rule.severity.value]}
            | ({} if rule.default_enabled else {"enabled": False}),
            "properties": {"tags": ["celery", rule.area.lower().replace(" ", "-")]},
        }


def test_seed_app_results() -> None:
    report = fixture_report("seed_app")
    data = as_sarif(report)
    rule_ids = [rule.code for rule in RULES]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results(data)] == [
        ("CA101", rule_ids.index("CA101"), "note"),
        ("CA102", rule_ids.index("CA102"), "note"),
        ("CA601", rule_ids.index("CA601"), "note"),
        ("CA201", rule_ids.index("CA201"), "error"),
        ("CA104", rule_ids.index("CA104"), "warning"),
        ("CA301", rule_ids.index("CA301"), "note"),
        ("CA104", rule_ids.index("CA104"), "warning"),
    ]
    assert [r["message"]["text"] for r in results(data)] == [f.message for f in report.findings]
    context = next(r for r in results(data) if r["ruleId"] == "CA201")
    assert context["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "workers.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 65, "startColumn": 5, "endLine": 65, "endColumn": 25},
            }
        }
    ]
    assert context["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "workers.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 66},
            },
            "message": {"text": "uses User.query"},
        },
        {
            "id": 2,
            "physicalLocation": {
                "artifactLocation": {"uri": "workers.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 74},
            },
            "message": {"text": "uses mail.send"},
        },
    ]
    finding = next(f for f in report.findings if f.code == "CA201")
    identity = f"CA201\0workers.py\0{finding.scope}\0{finding.key}"
    assert context["partialFingerprints"] == {
        "celeryAudit/v1": hashlib.sha256(identity.encode()).hexdigest()
    }


def test_unknown_end_column_is_left_out() -> None:
    data = as_sarif(fixture_report("parse_error"))
    regions = {
        location(r): r["locations"][0]["physicalLocation"]["region"]
        for r in results(data)
        if r["ruleId"] == "CA001"
    }
    assert regions == {
        ("shop/broken.py", 11): {"startLine": 11, "startColumn": 21, "endLine": 11},
        ("shop/legacy_report.py", 20): {"startLine": 20, "startColumn": 5, "endLine": 20},
    }


def test_fingerprints_survive_lines_inserted_above(tmp_path: Path) -> None:
    copy = tmp_path / "seed_app"
    shutil.copytree(FIXTURES / "seed_app", copy)
    before = as_sarif(scan(copy))
    moved = copy / "workers.py"
    moved.write_text("\n\n\n" + moved.read_text(encoding="utf-8"), encoding="utf-8")
    after_text = sarif.render(scan(copy))
    after = json.loads(after_text)

    assert str(tmp_path) not in after_text  # no machine-specific paths
    assert set(prints(after)) == set(prints(before))
    lines_before = {p: location(r) for p, r in zip(prints(before), results(before), strict=True)}
    lines_after = {p: location(r) for p, r in zip(prints(after), results(after), strict=True)}
    expected = {
        p: (uri, line + 3 if uri == "workers.py" else line)
        for p, (uri, line) in lines_before.items()
    }
    assert lines_after == expected
    assert [location(r) for r in results(after) if r["ruleId"] == "CA201"] == [("workers.py", 68)]


def test_identical_findings_get_distinct_stable_fingerprints() -> None:
    report = fixture_report("seed_app")
    original = next(f for f in report.findings if f.code == "CA201")
    twin = dataclasses.replace(
        original, span=dataclasses.replace(original.span, line=original.span.line + 40)
    )
    data = as_sarif(dataclasses.replace(report, findings=(*report.findings, twin)))
    base = sarif.fingerprint(original)
    assert [p for p in prints(data) if p.startswith(base)] == [base, f"{base}:2"]
    assert [location(r) for r in results(data) if r["ruleId"] == "CA201"] == [
        ("workers.py", 65),
        ("workers.py", 105),
    ]


def test_uris_are_escaped() -> None:
    report = fixture_report("seed_app")
    odd = dataclasses.replace(report.findings[0], file="my app/50%#1.py", related=())
    data = as_sarif(dataclasses.replace(report, findings=(odd,)))
    assert location(results(data)[0]) == ("my%20app/50%25%231.py", 21)


def test_internal_errors_mark_the_run_unsuccessful(validator: Any) -> None:
    report = dataclasses.replace(
        fixture_report("seed_app"),
        internal_errors=(
            InternalError("rule CA201", "KeyError: 'x'", "Traceback ..."),
            InternalError("extract workers.py", "ValueError: bad", "Traceback ..."),
        ),
    )
    data = as_sarif(report)
    assert schema_errors(validator, data) == []
    assert data["runs"][0]["invocations"] == [
        {
            "executionSuccessful": False,
            "toolExecutionNotifications": [
                {
                    "level": "error",
                    "message": {"text": "rule CA201: KeyError: 'x'"},
                    "associatedRule": {
                        "id": "CA201",
                        "index": [rule.code for rule in RULES].index("CA201"),
                    },
                },
                {"level": "error", "message": {"text": "extract workers.py: ValueError: bad"}},
            ],
        }
    ]


def test_result_level_follows_the_finding_not_the_rule() -> None:
    report = fixture_report("seed_app")
    softened = dataclasses.replace(report.findings[2], severity=Severity.WARNING)
    data = as_sarif(dataclasses.replace(report, findings=(softened,)))
    assert [r["level"] for r in results(data)] == ["warning"]
