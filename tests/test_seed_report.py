"""The seed analysis, regenerated: diagram edges, the three conflicts with evidence,
the JSON schema, and byte-identical output. Snapshots are real files under
tests/snapshots/; refresh them deliberately with UPDATE_SNAPSHOTS=1."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit.cli import main

SNAPSHOTS = Path(__file__).parent / "snapshots"
SEED = FIXTURES / "seed_app"


def _scan(fmt: str, path: Path = SEED) -> str:
    # A relative root keeps the "root" field and the snapshots machine-independent.
    rel = os.path.relpath(path, Path.cwd()) if path.is_absolute() else str(path)
    result = CliRunner().invoke(main, ["scan", rel, "--format", fmt, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES.parent)


def _snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {name}; UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_SNAPSHOTS=1 to accept"


def test_mermaid_has_the_seed_edges() -> None:
    text = _scan("mermaid")
    edges = set(re.findall(r"n_(\w+) (-->|-\.->)(?:\|\w+\|)? n_(\w+)", text))
    seed = {("app", "extensions"), ("app", "resources"), ("app", "workers"),
            ("resources", "workers"), ("workers", "extensions")}  # fmt: skip
    frontend = ("frontend_static_js_export_js", "resources")  # the polling script
    assert {(a, b) for a, arrow, b in edges if arrow == "-->"} == seed | {frontend}
    assert 'n_frontend_static_js_export_js["frontend"]' in text
    # The only other import is real: the tasks build the app lazily, inside functions.
    assert {(a, b) for a, arrow, b in edges if arrow == "-.->"} == {("workers", "app")}
    _snapshot("seed_app.mmd", text)


def test_markdown_covers_the_three_conflicts_with_evidence() -> None:
    text = _scan("markdown")
    sections = re.split(r"^### ", text, flags=re.M)
    conflicts = {s.split("\n", 1)[0]: s for s in sections}
    assert "[resources.py:21](resources.py#L21)" in conflicts["1. Task Invocation"]
    assert (
        "**CA101**" in conflicts["1. Task Invocation"]
        and "**CA102**" in conflicts["1. Task Invocation"]
    )
    assert "**CA201** [workers.py:65](workers.py#L65)" in conflicts["2. Flask Context"]
    assert "**CA301** [workers.py:97](workers.py#L97)" in conflicts["3. Configuration Location"]
    for heading in ("## Current Dependencies", "## Potential Conflicts", "## Why Changes Might Be Risky",
                    "## Recommendation", "```mermaid"):  # fmt: skip
        assert heading in text
    assert "**CA201 task-missing-app-context** ([workers.py:65](workers.py#L65))" in text
    _snapshot("seed_app.md", text)


def test_json_has_every_schema_key_and_is_byte_identical() -> None:
    first, second = _scan("json"), _scan("json")
    assert first == second
    data = json.loads(first)
    assert list(data) == [
        "schema",
        "tool",
        "version",
        "root",
        "summary",
        "graph",
        "facts",
        "findings",
    ]
    assert (
        data["schema"] == 1
        and data["tool"] == "celery-audit"
        and data["root"] == "fixtures/seed_app"
    )
    assert set(data["summary"]) == {"files", "python_files", "parse_errors", "findings"}
    assert set(data["summary"]["findings"]) == {"error", "warning", "info"}
    assert set(data["graph"]) == {"nodes", "edges"}
    keys = {
        "celery_apps": {"file", "line", "var", "how"},
        "tasks": {"file", "line", "func", "name", "decorator", "app", "bind", "queue",
                  "needs_app_context", "needs_request_context", "context_provided_by"},
        "call_sites": {"file", "line", "kind", "task", "resolved"},
        "status_endpoints": {"file", "line", "route", "returns"},
        "beat": {"file", "line", "key", "task", "schedule"},
        "worker_commands": {"file", "line", "command", "app_target", "subcommand", "queues"},
        "frontend_calls": {"file", "line", "url", "method", "states", "fields"},
    }  # fmt: skip
    assert set(data["facts"]) == set(keys)
    for name, expected in keys.items():
        for item in data["facts"][name]:
            assert set(item) == expected, name
        lines = [(i["file"], i["line"]) for i in data["facts"][name]]
        assert lines == sorted(lines), f"{name} not sorted by file, line"
    finding_keys = {"code", "name", "severity", "message", "file", "line", "column", "end_line",
                    "end_column", "related", "fix"}  # fmt: skip
    assert data["findings"] and all(set(f) == finding_keys for f in data["findings"])
    assert [(f["file"], f["line"]) for f in data["findings"]] == sorted(
        (f["file"], f["line"]) for f in data["findings"]
    )
    for node in data["graph"]["nodes"]:
        assert set(node) == {"id", "file", "role"}
    for edge in data["graph"]["edges"]:
        assert set(edge) == {"source", "target", "kind"} and edge["kind"] in (
            "import",
            "lazy-import",
            "http",
        )
    _snapshot(
        "seed_app.json", first.replace(f'"version": "{data["version"]}"', '"version": "<version>"')
    )


def test_dot_renders_the_same_graph() -> None:
    text = _scan("dot")
    assert '"resources" -> "workers";' in text and '"workers" -> "app" [style=dashed];' in text


def test_the_recommendation_gives_a_variant_its_own_fix() -> None:
    """CA502 for a worker that imports the task module by another dotted path than the
    dispatches: the fix is to import it by one path, not the rule's "add it to include"
    (nor the rule's example of that)."""
    text = _scan("markdown", FIXTURES / "resolve_two_import_paths")
    broken = text.split("### 1. Fix What Is Broken", 1)[1].split("### 2.", 1)[0]
    assert (
        "**CA502 tasks-not-discovered** ([Procfile:2](Procfile#L2)): Import the task module by one dotted path everywhere"
        in broken
    )
    assert "include=" not in broken
