"""Changed-files mode (`scan PATH FILE...`, as pre-commit calls it): the whole project is
scanned and linked, only findings located in FILE... are reported and count."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES

from celery_audit.cli import main

CODES = {"CA101", "CA102", "CA201", "CA301"}


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def found(*args: str) -> set[tuple[str, int, str]]:
    result = run("scan", *args, "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    return {
        (f["file"], f["line"], f["code"])
        for f in json.loads(result.stdout)["findings"]
        if f["code"] in CODES
    }


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def test_only_findings_in_the_given_files(in_fixtures: Path) -> None:
    assert found("seed_app", "seed_app/workers.py") == {
        ("workers.py", 65, "CA201"),
        ("workers.py", 97, "CA301"),
    }
    # CA101 needs workers.py's task to be known: the whole project is still linked.
    assert found("seed_app", "seed_app/resources.py") == {
        ("resources.py", 21, "CA101"),
        ("resources.py", 21, "CA102"),
    }
    assert found("seed_app", "seed_app/resources.py", "seed_app/workers.py") == found("seed_app")
    assert found("seed_app", "seed_app/models.py", "seed_app/Procfile") == set()


def test_paths_relative_to_the_working_directory_or_absolute(
    in_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {("workers.py", 65, "CA201"), ("workers.py", 97, "CA301")}
    assert found("seed_app", str(in_fixtures / "seed_app" / "workers.py")) == expected
    assert found("seed_app", "seed_app/./static/../workers.py") == expected
    monkeypatch.chdir(in_fixtures / "seed_app")
    assert found(".", "workers.py") == expected
    assert found(os.path.join("..", "seed_app"), "workers.py") == expected


def test_exit_code_counts_only_the_given_files(in_fixtures: Path) -> None:
    # resources.py has info findings only; workers.py has the CA201 error.
    assert run("scan", "seed_app", "seed_app/resources.py", "--select", "CA1,CA2").exit_code == 0
    assert run("scan", "seed_app", "seed_app/workers.py", "--select", "CA1,CA2").exit_code == 1


def test_files_outside_the_scanned_folder_are_a_usage_error(in_fixtures: Path) -> None:
    result = run("scan", "seed_app", "ca201_near_miss/tasks.py")
    assert (result.exit_code, result.stderr) == (
        2,
        "celery-audit: error: ca201_near_miss/tasks.py is not inside the scanned folder seed_app\n",
    )


def test_write_baseline_needs_the_whole_project(in_fixtures: Path, tmp_path: Path) -> None:
    result = run(
        "scan", "seed_app", "seed_app/workers.py", "--write-baseline", str(tmp_path / "b.json")
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "celery-audit: error: --write-baseline records the whole project: do not pass FILES\n",
    )
    assert not (tmp_path / "b.json").exists()
