"""Baseline: write, rescan = 0 new, add a bug = 1 new, fix an old one = the summary says
so; fingerprints survive line shifts; duplicates count as a multiset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit.cli import main
from celery_audit.model.facts import Span
from celery_audit.model.findings import Finding, Severity
from celery_audit.suppress import Baseline, baseline_text, fingerprint

NEW_BUG = """

@celery.task
def send_weekly_digest():
    users = User.query.filter_by(wants_reminders=True).all()
    return len(users)
"""
BUGGY = """@celery.task
def send_daily_reminders():  # expect: CA201
    users = User.query.filter_by(wants_reminders=True).all()
"""
FIXED = """@celery.task
def send_daily_reminders():
    from app import create_app

    with create_app().app_context():
        return _send_daily_reminders()


def _send_daily_reminders():
    users = User.query.filter_by(wants_reminders=True).all()
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, in-process, from the folder `cwd`."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def new_findings(cwd: Path) -> list[tuple[str, int, str]]:
    result = run(cwd, "scan", "app", "--baseline", "baseline.json", "--format", "json")
    return [(f["file"], f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]]


def summary(cwd: Path) -> str:
    return run(cwd, "scan", "app", "--baseline", "baseline.json").stdout.splitlines()[-1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "seed_app", tmp_path / "app")
    return tmp_path


def test_round_trip(project: Path) -> None:
    workers = project / "app" / "workers.py"
    written = run(project, "scan", "app", "--write-baseline", "baseline.json")
    recorded = json.loads((project / "baseline.json").read_text())["findings"]
    count = len(recorded)
    assert written.returncode == 0  # recording findings is not failing on them
    assert written.stderr == f"celery-audit: wrote {count} findings to baseline.json\n"
    assert ("workers.py", "CA201") in {(f["file"], f["code"]) for f in recorded}

    # Rescan: nothing new, and the summary says how many the baseline hid.
    assert new_findings(project) == []
    assert run(project, "scan", "app", "--baseline", "baseline.json").returncode == 0
    assert summary(project).startswith("No findings in 9 files (6 Python): ")
    assert summary(project).endswith(f"2 beat entries ({count} baselined)")

    # Lines move: still nothing new.
    workers.write_text("\n\n\n" + workers.read_text())
    assert new_findings(project) == []

    # The same bug in a new function is a new finding, the only one.
    workers.write_text(workers.read_text() + NEW_BUG)
    digest_line = workers.read_text().splitlines().index("def send_weekly_digest():") + 1
    assert new_findings(project) == [("workers.py", digest_line, "CA201")]
    assert run(project, "scan", "app", "--baseline", "baseline.json").returncode == 1

    # Fixing a recorded finding: it drops out, and the summary says so.
    workers.write_text(workers.read_text().replace(BUGGY, FIXED))
    assert new_findings(project) == [("workers.py", digest_line + 7, "CA201")]
    assert summary(project).endswith(
        f"2 beat entries ({count - 1} baselined, 1 fixed since the baseline)"
    )
    markdown = run(project, "scan", "app", "--baseline", "baseline.json", "--format", "markdown")
    assert f"info ({count - 1} baselined, 1 fixed since the baseline)." in markdown.stdout


def test_baseline_file_is_stable_and_line_free(project: Path) -> None:
    run(project, "scan", "app", "--write-baseline", "first.json")
    workers = project / "app" / "workers.py"
    workers.write_text("\n\n" + workers.read_text())
    run(project, "scan", "app", "--write-baseline", "second.json")
    first = (project / "first.json").read_text()
    assert first == (project / "second.json").read_text()
    data = json.loads(first)
    assert list(data) == ["schema", "tool", "findings"]
    assert (data["schema"], data["tool"]) == (1, "celery-audit")
    assert all(list(entry) == ["file", "code", "fingerprint", "message"] for entry in data["findings"])  # fmt: skip


def test_write_baseline_keeps_what_the_old_baseline_hid(project: Path) -> None:
    run(project, "scan", "app", "--write-baseline", "baseline.json")
    run(project, "scan", "app", "--baseline", "baseline.json", "--write-baseline", "again.json")
    assert (project / "again.json").read_text() == (project / "baseline.json").read_text()


def finding(scope: str, line: int) -> Finding:
    return Finding(
        "CA201", "task-missing-app-context", Severity.ERROR, "m", "w.py", Span(line), scope=scope,
        key=f"{scope}:db.session",
    )  # fmt: skip


def test_identical_findings_are_a_multiset() -> None:
    recorded = [finding("a", 10), finding("a", 20)]
    baseline = Baseline(tuple((fingerprint(f), f.file) for f in recorded))
    now = [finding("a", 11), finding("a", 21), finding("a", 31), finding("b", 41)]
    outcome = baseline.split(now, files=None)
    assert [f.span.line for f in outcome.findings] == [31, 41]
    assert [f.span.line for f in outcome.baselined] == [11, 21]
    assert outcome.fixed == 0
    gone = baseline.split([finding("a", 12)], files=None)
    assert (len(gone.findings), len(gone.baselined), gone.fixed) == (0, 1, 1)
    # Entries of files outside a changed-files scan are not "fixed".
    assert baseline.split([], files={"other.py"}).fixed == 0


def test_fingerprint_includes_the_scope() -> None:
    assert fingerprint(finding("a", 1)) == fingerprint(finding("a", 99))
    assert fingerprint(finding("a", 1)) != fingerprint(finding("b", 1))
    text = baseline_text([finding("a", 1), finding("a", 2)])
    assert [e["fingerprint"] for e in json.loads(text)["findings"]] == [
        fingerprint(finding("a", 1))
    ] * 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found: baseline.json"),
        ("{", "baseline.json: not a celery-audit baseline: invalid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ("[]", 'baseline.json: not a celery-audit baseline (expected {"schema": 1, "tool": "celery-audit", "findings": [...]})'),
        ('{"schema": 1, "tool": "celery-audit", "findings": [{"file": "a.py"}]}', "baseline.json: finding 1 has no fingerprint and file"),
    ],
)  # fmt: skip
def test_bad_baseline_is_exit_2(project: Path, content: str | None, message: str) -> None:
    if content is not None:
        (project / "baseline.json").write_text(content)
    result = run(project, "scan", "app", "--baseline", "baseline.json")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"celery-audit: error: {message}\n",
    )
