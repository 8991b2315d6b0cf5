"""The README states facts about the tool: keep them true."""

from __future__ import annotations

import re

from click.testing import CliRunner
from conftest import ROOT

from celery_audit.cli import main
from celery_audit.rules import RULES

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_lists_every_rule_with_its_severity() -> None:
    rows = re.findall(r"^\| (CA\d{3}) \| ([\w-]+) \| (\w+) \| (.*) \|$", README, re.M)
    assert [row[:3] for row in rows] == [(r.code, r.name, r.severity.value) for r in RULES]
    off = [code for code, _, _, detects in rows if detects.endswith("(off by default)")]
    assert off == [r.code for r in RULES if not r.default_enabled]


def test_example_output_is_current(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    example = README.split("`celery-audit scan fixtures/seed_app`:\n\n```text\n", 1)[1].split(
        "```", 1
    )[0]
    assert CliRunner().invoke(main, ["scan", "fixtures/seed_app"]).stdout == example


def test_ci_runs_the_readme_test_command() -> None:
    test_command = README.split("```bash\n", 1)[1].splitlines()[1]
    assert test_command.endswith("pytest")
    assert test_command in (ROOT / ".ci" / "run").read_text()
