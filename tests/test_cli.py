"""Exit codes and CLI behaviour (SPEC section 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit import __version__
from celery_audit.cli import main
from celery_audit.rules import RULES


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_exit_codes_follow_fail_on() -> None:
    seed = str(FIXTURES / "seed_app")  # one error (CA201), infos
    assert run("scan", seed).exit_code == 1
    assert run("scan", seed, "--fail-on", "error").exit_code == 1
    assert run("scan", seed, "--fail-on", "never").exit_code == 0
    assert run("scan", seed, "--ignore", "CA201").exit_code == 1  # CA104 warnings
    assert run("scan", seed, "--ignore", "CA201", "--fail-on", "error").exit_code == 0
    assert run("scan", seed, "--ignore", "CA201,CA104").exit_code == 0
    assert run("scan", seed, "--ignore", "CA201,CA104", "--fail-on", "info").exit_code == 1
    assert run("scan", str(FIXTURES / "ca101_near_miss")).exit_code == 0


def test_select_and_ignore_filter_codes_and_prefixes() -> None:
    seed = str(FIXTURES / "seed_app")

    def codes(*args: str) -> set[str]:
        data = json.loads(run("scan", seed, "--format", "json", *args).stdout)
        return {f["code"] for f in data["findings"]}

    assert codes() == {"CA101", "CA102", "CA104", "CA201", "CA301", "CA601"}
    assert codes("--select", "CA1") == {"CA101", "CA102", "CA104"}
    assert codes("--select", "ca2,CA301") == {"CA201", "CA301"}
    assert codes("--ignore", "CA10,CA6") == {"CA201", "CA301"}


def test_missing_path_is_a_one_line_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "celery_audit", "scan", "does/not/exist"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == "celery-audit: error: path does not exist: does/not/exist\n"
    assert result.stdout == ""


def test_bad_option_is_exit_2() -> None:
    assert run("scan", str(FIXTURES / "seed_app"), "--format", "yaml").exit_code == 2


def test_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run("scan", str(FIXTURES / "seed_app"), "--format", "markdown", "--output", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    assert out.read_text().startswith("# Celery Integration Conflict Analysis\n")
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_text_output_groups_by_file_with_a_summary() -> None:
    result = run("scan", str(FIXTURES / "seed_app"))
    lines = result.stdout.splitlines()
    assert lines[0] == "resources.py"
    assert "\x1b[" not in result.stdout  # plain when not a terminal
    assert lines[-1] == ("Found 7 findings (1 error, 2 warnings, 4 info) in 9 files (6 Python): "
                         "1 Celery app, 3 tasks, 1 call site, 2 beat entries")  # fmt: skip


def test_rules_and_rule_docs() -> None:
    listing = run("rules").stdout
    for rule in RULES:
        assert f"{rule.code}  {rule.name}" in listing
        assert rule.severity.value in listing
        row = next(line for line in listing.splitlines() if line.startswith(rule.code))
        assert row.split()[3] == ("on" if rule.default_enabled else "off")
    assert run("rule", "CA714").stdout.startswith(
        "# CA714 implicit-task-name (info, off by default: select it by its code)\n"
    )
    doc = run("rule", "ca201")
    assert doc.exit_code == 0
    assert doc.stdout.startswith("# CA201 task-missing-app-context (error)\n")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "Use instead"):
        assert heading in doc.stdout
    assert run("rule", "CA999").exit_code == 2


def test_every_rule_doc_has_the_sections() -> None:
    for rule in RULES:
        for heading in ("## What it does", "## Why is this bad?", "## Example"):
            assert heading in rule.doc, (rule.code, heading)


def test_version_and_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "celery_audit", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout == f"celery-audit, version {__version__}\n"


def test_graph_command() -> None:
    result = run("graph", str(FIXTURES / "seed_app"))
    assert result.exit_code == 0 and result.stdout.startswith("graph TD\n")
    assert run("graph", str(FIXTURES / "seed_app"), "--format", "dot").stdout.startswith("digraph")


def test_unexpected_crashes_are_one_line_internal_errors(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import celery_audit.link

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("linker bug")

    monkeypatch.setattr(celery_audit.link, "link", broken)  # audit imports it when needed
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "seed_app"), "--no-cache"])
    assert result.exit_code == 2
    assert result.stderr == "celery-audit: internal-error: KeyError: 'linker bug'\n"
    assert (
        "Traceback"
        in CliRunner()
        .invoke(main, ["scan", str(FIXTURES / "seed_app"), "--debug", "--no-cache"])
        .stderr
    )


def test_unwritable_output_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.md"
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "seed_app"), "-o", str(target)])
    assert result.exit_code == 2
    assert (
        result.stderr == f"celery-audit: error: cannot write {target}: No such file or directory\n"
    )
