"""`--format gitlab`: a GitLab Code Quality report (JSON array of issues)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit.audit import Report, audit
from celery_audit.cli import main
from celery_audit.report import gitlab, sarif
from celery_audit.settings import Settings


def fixture_report(path: Path) -> Report:
    return audit(path, settings=Settings(select=("CA101", "CA102", "CA201", "CA301")))


def test_seed_app_issues() -> None:
    issues = json.loads(gitlab.render(fixture_report(FIXTURES / "seed_app")))
    prints = [r["partialFingerprints"]["celeryAudit/v1"] for r in sarif.as_dict(
        fixture_report(FIXTURES / "seed_app"))["runs"][0]["results"]]  # fmt: skip
    assert [i.pop("fingerprint") for i in issues] == prints
    context = (
        "CA201 task `send_daily_reminders` uses User.query, mail.send outside an app "
        "context, and nothing provides one"
    )
    beat = (
        "CA301 beat schedule in `celery.conf.beat_schedule`: 2 entries (send-daily-reminders "
        "-> workers.send_daily_reminders, cleanup-expired-exports -> workers.cleanup_expired_exports)"
    )
    app_bound = (
        "CA101 `generate_user_export.delay()` calls task `workers.generate_user_export`, "
        "bound to app `extensions.celery` and imported from `workers`"
    )
    exposed = (
        "CA102 the id of task `workers.generate_user_export` is returned to the HTTP client "
        "by `/api/exports`; clients track it"
    )
    assert issues == [
        {
            "description": app_bound,
            "check_name": "CA101 app-bound-task-call",
            "severity": "info",
            "location": {"path": "resources.py", "lines": {"begin": 21}},
        },
        {
            "description": exposed,
            "check_name": "CA102 task-id-exposed",
            "severity": "info",
            "location": {"path": "resources.py", "lines": {"begin": 21}},
        },
        {
            "description": context,
            "check_name": "CA201 task-missing-app-context",
            "severity": "critical",
            "location": {"path": "workers.py", "lines": {"begin": 65}},
        },
        {
            "description": beat,
            "check_name": "CA301 beat-schedule-location",
            "severity": "info",
            "location": {"path": "workers.py", "lines": {"begin": 97}},
        },
    ]


def test_severity_mapping_follows_configured_severity(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "seed_app", tmp_path / "app")
    (tmp_path / "app" / "pyproject.toml").write_text(
        '[tool.celery-audit]\nselect = ["CA201", "CA301"]\nseverity = { CA301 = "warning" }\n'
    )
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "app"), "--format", "gitlab"])
    assert result.exit_code == 1
    assert [(i["check_name"][:5], i["severity"]) for i in json.loads(result.stdout)] == [
        ("CA201", "critical"),
        ("CA301", "major"),
    ]


def test_fingerprints_are_unique_and_stable(tmp_path: Path) -> None:
    copy = tmp_path / "seed_app"
    shutil.copytree(FIXTURES / "seed_app", copy)
    before = json.loads(gitlab.render(fixture_report(copy)))
    (copy / "workers.py").write_text("\n\n" + (copy / "workers.py").read_text())
    after = json.loads(gitlab.render(fixture_report(copy)))
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert len({i["fingerprint"] for i in after}) == len(after)
    assert [i["location"]["lines"]["begin"] for i in after] == [21, 21, 67, 99]


def test_no_findings_is_an_empty_array() -> None:
    result = CliRunner().invoke(
        main, ["scan", str(FIXTURES / "ca201_near_miss"), "--format", "gitlab", "--select", "CA201"]
    )
    assert (result.exit_code, result.stdout) == (0, "[]\n")
