"""GitHub Actions annotations: exact lines, and the Actions toolkit's escaping."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from celery_audit.audit import Report, audit
from celery_audit.model.facts import Span
from celery_audit.model.findings import Severity
from celery_audit.report import github
from celery_audit.report import json as json_report
from celery_audit.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_report(name: str) -> Report:
    return audit(FIXTURES / name, settings=Settings(), display_root=f"fixtures/{name}")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain `task` text", "plain `task` text"),
        ("100% done", "100%25 done"),
        ("line one\nline two", "line one%0Aline two"),
        ("windows\r\nline", "windows%0D%0Aline"),
        ("already %0A escaped", "already %250A escaped"),
        ("a: b, c", "a: b, c"),  # only properties escape `:` and `,`
        ("::error::injected", "::error::injected"),  # harmless once on one line
    ],
)
def test_escape_data(text: str, escaped: str) -> None:
    assert github.escape_data(text) == escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("app/tasks.py", "app/tasks.py"),
        ("a,b.py", "a%2Cb.py"),
        ("C:/x.py", "C%3A/x.py"),
        ("50%: a, b\r\n", "50%25%3A a%2C b%0D%0A"),
        ("CA201 task-missing-app-context", "CA201 task-missing-app-context"),
    ],
)
def test_escape_property(text: str, escaped: str) -> None:
    assert github.escape_property(text) == escaped


def test_seed_app_annotations() -> None:
    """Locations and titles checked by hand against the fixture; the messages come from
    the JSON report, so rewording a rule's message does not break this renderer's test."""
    report = fixture_report("seed_app")
    findings = json_report.as_dict(report)["findings"]
    assert [(f["code"], f["file"], f["line"]) for f in findings] == [
        ("CA101", "resources.py", 21),
        ("CA102", "resources.py", 21),
        ("CA601", "static/js/export.js", 16),
        ("CA201", "workers.py", 65),
        ("CA104", "workers.py", 97),
        ("CA301", "workers.py", 97),
        ("CA104", "workers.py", 101),
    ]
    heads = [
        "::notice file=resources.py,line=21,endLine=21,col=16,endColumn=56,"
        "title=CA101 app-bound-task-call",
        "::notice file=resources.py,line=21,endLine=21,col=16,endColumn=56,"
        "title=CA102 task-id-exposed",
        "::notice file=static/js/export.js,line=16,endLine=16,col=7,endColumn=38,"
        "title=CA601 frontend-status-contract",
        "::error file=workers.py,line=65,endLine=65,col=5,endColumn=25,"
        "title=CA201 task-missing-app-context",
        "::warning file=workers.py,line=97,endLine=97,col=5,endColumn=27,"
        "title=CA104 implicit-name-referenced",
        "::notice file=workers.py,line=97,endLine=97,col=5,endColumn=27,"
        "title=CA301 beat-schedule-location",
        "::warning file=workers.py,line=101,endLine=101,col=5,endColumn=30,"
        "title=CA104 implicit-name-referenced",
    ]
    # None of the seed's messages holds `%`, CR or LF: only the fix's newline is escaped.
    assert not any(c in f["message"] + f["fix"] for f in findings for c in "%\r\n")
    assert github.render(report).splitlines() == [
        f"{head}::{f['message']}%0Afix: {f['fix']}" for head, f in zip(heads, findings, strict=True)
    ]


def test_one_line_per_finding_ending_in_a_newline() -> None:
    report = fixture_report("seed_app")
    text = github.render(report)
    assert text.endswith("\n")
    assert text.count("\n") == len(report.findings) == 7


def test_unknown_end_column_is_left_out() -> None:
    lines = github.render(fixture_report("parse_error")).splitlines()
    assert [line.split("::")[1] for line in lines if "CA001" in line] == [
        "warning file=shop/broken.py,line=11,endLine=11,col=21,title=CA001 parse-error",
        "warning file=shop/legacy_report.py,line=20,endLine=20,col=5,title=CA001 parse-error",
    ]


def test_warning_without_fix_and_escaped_properties() -> None:
    report = fixture_report("seed_app")
    odd = dataclasses.replace(
        next(f for f in report.findings if f.code == "CA201"),
        severity=Severity.WARNING,
        file="odd, name:1.py",
        span=Span(3, 2, 4, 7),
        message="100% sure\r\nsecond line",
        fix=None,
    )
    assert github.render(dataclasses.replace(report, findings=(odd,))) == (
        "::warning file=odd%2C name%3A1.py,line=3,endLine=4,col=2,endColumn=7,"
        "title=CA201 task-missing-app-context::100%25 sure%0D%0Asecond line\n"
    )


def test_no_findings_render_nothing() -> None:
    assert github.render(fixture_report("ca101_near_miss")) == ""


def test_step_summary_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "/home/runner/work/_temp/step_summary_1")
    assert github.step_summary_path() == "/home/runner/work/_temp/step_summary_1"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "")
    assert github.step_summary_path() is None
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert github.step_summary_path() is None


def test_scan_appends_the_markdown_report_to_the_step_summary(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from celery_audit.cli import main

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = CliRunner().invoke(main, ["scan", "fixtures/seed_app", "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.startswith("::notice file=resources.py,line=21,")
    text = summary.read_text()
    assert text.startswith("earlier step\n# Celery Integration Conflict Analysis\n")
