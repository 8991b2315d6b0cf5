"""`[tool.celery-audit]` in pyproject.toml: every key, lookup from a subdirectory, errors
(exit 2, one line naming the file and key) and command-line flags overriding it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit.cli import main
from celery_audit.config import rebase
from celery_audit.model.findings import Severity
from celery_audit.settings import Selection, Settings

# The seed app's findings of these codes (other rules are held to their own fixtures).
CODES = {"CA101", "CA102", "CA201", "CA301"}
SEED = {
    ("resources.py", 21, "CA101"),
    ("resources.py", 21, "CA102"),
    ("workers.py", 65, "CA201"),
    ("workers.py", 97, "CA301"),
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line, in-process (stderr and exit code included)."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def scan(path: Path, *args: str) -> set[tuple[str, int, str]]:
    result = CliRunner().invoke(main, ["scan", str(path), "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return {
        (f["file"], f["line"], f["code"])
        for f in json.loads(result.stdout)["findings"]
        if f["code"] in CODES
    }


def severities(path: Path) -> dict[str, str]:
    result = CliRunner().invoke(main, ["scan", str(path), "--format", "json"])
    return {f["code"]: f["severity"] for f in json.loads(result.stdout)["findings"]}


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    copy = tmp_path / "seed_app"
    shutil.copytree(FIXTURES / "seed_app", copy)
    return copy


def configure(folder: Path, table: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f'[project]\nname = "shop"\n\n[tool.celery-audit]\n{table}\n')
    return path


# -- each key ------------------------------------------------------------------------


def test_no_config_is_the_default(seed: Path) -> None:
    assert scan(seed) == SEED


def test_select_ignore_and_extend_select(seed: Path) -> None:
    configure(seed, 'select = ["CA2"]')
    assert scan(seed) == {("workers.py", 65, "CA201")}
    configure(seed, 'select = ["CA2"]\nextend-select = ["CA301"]')
    assert scan(seed) == {("workers.py", 65, "CA201"), ("workers.py", 97, "CA301")}
    configure(seed, 'ignore = ["CA10"]')
    assert scan(seed) == {("workers.py", 65, "CA201"), ("workers.py", 97, "CA301")}
    # The most specific code wins: CA102 stays although CA1 is ignored.
    configure(seed, 'ignore = ["CA1"]\nextend-select = ["ca102"]')
    assert scan(seed) == {
        ("resources.py", 21, "CA102"),
        ("workers.py", 65, "CA201"),
        ("workers.py", 97, "CA301"),
    }


def test_severity_changes_findings_exit_code_and_sarif_level(seed: Path) -> None:
    configure(seed, 'severity = { CA201 = "warning", CA3 = "error" }')
    found = severities(seed)
    assert (found["CA201"], found["CA301"], found["CA101"]) == ("warning", "error", "info")
    sarif = CliRunner().invoke(main, ["scan", str(seed), "--format", "sarif"])
    levels = {r["ruleId"]: r["level"] for r in json.loads(sarif.stdout)["runs"][0]["results"]}
    assert (levels["CA201"], levels["CA301"]) == ("warning", "error")
    configure(seed, 'select = ["CA301"]\nseverity = { CA301 = "warning" }')
    assert run("scan", str(seed)).returncode == 1
    configure(seed, 'select = ["CA301"]')
    assert run("scan", str(seed)).returncode == 0


def test_fail_on(seed: Path) -> None:
    configure(seed, 'select = ["CA101", "CA102", "CA301"]\nfail-on = "info"')
    assert run("scan", str(seed)).returncode == 1
    configure(seed, 'select = ["CA101", "CA102", "CA301"]\nfail-on = "warning"')
    assert run("scan", str(seed)).returncode == 0
    configure(seed, 'fail-on = "never"')
    assert run("scan", str(seed)).returncode == 0
    configure(seed, 'select = ["CA201"]\nfail-on = "error"')
    assert run("scan", str(seed)).returncode == 1


def test_per_file_ignores(seed: Path) -> None:
    configure(seed, 'per-file-ignores = { "resources.py" = ["CA102"], "work*.py" = ["CA2"] }')
    assert scan(seed) == {("resources.py", 21, "CA101"), ("workers.py", 97, "CA301")}
    # `!`: in every file the pattern does not match.
    configure(seed, 'per-file-ignores = { "!resources.py" = ["CA"] }')
    assert scan(seed) == {("resources.py", 21, "CA101"), ("resources.py", 21, "CA102")}


def test_exclude_and_extend_exclude(seed: Path) -> None:
    # Without workers.py the tasks are unknown: no CA101/CA102, no CA201/CA301.
    configure(seed, 'exclude = ["workers.py"]')
    assert scan(seed) == set()
    configure(seed, 'extend-exclude = ["/resources.py"]')
    assert scan(seed) == {("workers.py", 65, "CA201"), ("workers.py", 97, "CA301")}
    # --exclude replaces exclude; extend-exclude still applies.
    configure(seed, 'exclude = ["workers.py"]\nextend-exclude = ["resources.py"]')
    assert scan(seed, "--exclude", "static/") == {
        ("workers.py", 65, "CA201"),
        ("workers.py", 97, "CA301"),
    }


def test_context_bound_names_and_task_decorators(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "storage.py").write_text("class Storage: ...\nstorage = Storage()\n")
    (tmp_path / "app" / "helpers.py").write_text(
        "from celery import shared_task\n\ndef periodic(every):\n    return shared_task\n"
    )
    (tmp_path / "app" / "jobs.py").write_text(
        "from app.storage import storage\nfrom app.helpers import periodic\n\n"
        "@periodic(every=60)\ndef sweep():\n    storage.purge()\n"
    )
    assert scan(tmp_path) == set()
    configure(
        tmp_path,
        'context-bound-names = ["app.storage.storage"]\ntask-decorators = ["app.helpers.periodic"]',
    )
    assert scan(tmp_path) == {("app/jobs.py", 5, "CA201")}


# -- where the configuration is found ------------------------------------------------


def test_found_from_a_subdirectory_with_patterns_rebased(tmp_path: Path) -> None:
    web = tmp_path / "services" / "web"
    shutil.copytree(FIXTURES / "seed_app", web)
    (tmp_path / ".git").mkdir()
    configure(
        tmp_path,
        'per-file-ignores = { "services/web/resources.py" = ["CA101"] }\n'
        'extend-exclude = ["/services/web/static/"]\nfail-on = "never"',
    )
    assert scan(web) == SEED - {("resources.py", 21, "CA101")}
    assert run("scan", str(web)).returncode == 0
    # A pyproject.toml without the table in between does not stop the search.
    (tmp_path / "services" / "pyproject.toml").write_text('[project]\nname = "web"\n')
    assert scan(web) == SEED - {("resources.py", 21, "CA101")}
    # A table nearer to the scanned folder wins.
    configure(web, 'select = ["CA3"]')
    assert scan(web) == {("workers.py", 97, "CA301")}


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "seed_app", repo)
    (repo / ".git").mkdir()
    configure(tmp_path, 'select = ["CA3"]')  # above the repository: not ours
    assert scan(repo) == SEED


def test_scanning_a_single_file_uses_its_folders_config(seed: Path) -> None:
    configure(seed, 'select = ["CA301"]\nseverity = { CA301 = "warning" }')
    assert severities(seed / "workers.py") == {"CA301": "warning"}


# -- errors: exit 2 and one line naming the file and the key ------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("fail_on = 'error'", "unknown key 'fail_on' in [tool.celery-audit] (did you mean 'fail-on'?)"),
        ("colour = true", "unknown key 'colour' in [tool.celery-audit]"),
        ("select = 'CA2'", "[tool.celery-audit] select: expected an array of strings, got a string"),
        ("ignore = [201]", "[tool.celery-audit] ignore: expected an array of strings, got an array"),
        ("select = ['CA999']", "[tool.celery-audit] select: unknown rule code 'CA999'"),
        ("extend-select = ['E501']", "[tool.celery-audit] extend-select: unknown rule code 'E501'"),
        ("fail-on = 'errors'", "[tool.celery-audit] fail-on: expected one of error, warning, info, never, got 'errors'"),
        ("severity = ['CA201']", "[tool.celery-audit] severity: expected a table of code = severity, got an array"),
        ("severity = { CA201 = 'fatal' }", "[tool.celery-audit] severity.CA201: expected one of error, warning, info, got 'fatal'"),
        ("per-file-ignores = { 'tests/' = 'CA2' }", "[tool.celery-audit] per-file-ignores.'tests/': expected an array of strings, got a string"),
        ("exclude = 'build'", "[tool.celery-audit] exclude: expected an array of strings, got a string"),
        ("context-bound-names = ['cache']", "[tool.celery-audit] context-bound-names: expected a qualified name like 'myapp.ext.cache', got 'cache'"),
        ("task-decorators = {}", "[tool.celery-audit] task-decorators: expected an array of strings, got a table"),
    ],
)  # fmt: skip
def test_config_errors_are_exit_2_naming_file_and_key(
    seed: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    configure(seed, table)
    monkeypatch.chdir(seed.parent)
    result = run("scan", "seed_app")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"celery-audit: error: seed_app/pyproject.toml: {message}\n"


def test_invalid_toml_names_file_line_and_column(
    seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (seed / "pyproject.toml").write_text('[tool.celery-audit]\nselect = ["CA2"]\nfail-on error\n')
    monkeypatch.chdir(seed)
    result = run("scan", ".")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "celery-audit: error: pyproject.toml:3:9: invalid TOML: "
        "Expected '=' after a key in a key/value pair\n"
    )
    (seed / "pyproject.toml").write_text('[tool.celery-audit]\nselect = ["CA2"\n')
    result = run("scan", ".")
    assert (
        result.stderr == "celery-audit: error: pyproject.toml:2:16: invalid TOML: Unclosed array\n"
    )


def test_the_graph_command_reads_the_config_too(seed: Path) -> None:
    configure(seed, "unknown = 1")
    assert run("graph", str(seed)).returncode == 2


# -- the command line wins -----------------------------------------------------------


def test_cli_flags_override_the_config(seed: Path) -> None:
    configure(seed, 'select = ["CA2"]\nignore = ["CA201"]\nfail-on = "never"')
    assert scan(seed) == set()
    # --select replaces the file's select and ignore (as in ruff).
    assert scan(seed, "--select", "CA201,CA301") == {
        ("workers.py", 65, "CA201"),
        ("workers.py", 97, "CA301"),
    }
    # --ignore applies on top of the file's selection.
    configure(seed, 'select = ["CA1", "CA2"]')
    assert scan(seed, "--ignore", "CA2") == {
        ("resources.py", 21, "CA101"),
        ("resources.py", 21, "CA102"),
    }
    configure(seed, 'select = ["CA201"]\nfail-on = "never"')
    assert run("scan", str(seed)).returncode == 0
    assert run("scan", str(seed), "--fail-on", "error").returncode == 1


def test_unknown_code_on_the_command_line_is_a_usage_error(seed: Path) -> None:
    result = run("scan", str(seed), "--ignore", "CA201,CA999")
    assert (result.returncode, result.stderr) == (
        2,
        "celery-audit: error: --ignore: unknown rule code 'CA999'; `celery-audit rules` lists them\n",
    )


def test_docs_example_configuration_is_valid(seed: Path) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    (seed / "pyproject.toml").write_text(example)
    result = run("scan", str(seed))
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == ""


# -- the pieces ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "prefix", "rebased"),
    [
        ("*.pyc", "src/app", (("*.pyc",), False)),
        ("build/", "src/app", (("build/",), False)),
        ("src", "src/app", (("src",), True)),  # unanchored: also matches the folder above
        ("/src/app/legacy/", "src/app", (("/legacy/",), False)),
        ("src/app/legacy/old.py", "src/app", (("/legacy/old.py",), False)),
        ("/docs/", "src/app", ((), False)),  # anchored elsewhere
        ("src/*/gen", "src/app", (("/gen",), False)),
        ("src/app", "src/app", ((), True)),  # the scanned folder itself
        ("src/", "src/app", (("src/",), True)),
        ("/src", "src/app", ((), True)),
        ("**/migrations", "src/app", (("/**/migrations",), False)),
        ("**/app/x.py", "src/app", (("/x.py", "/**/app/x.py"), False)),
        ("src/**", "src/app", (("/**",), True)),
        ("/legacy/", "", (("/legacy/",), False)),
    ],
)
def test_rebase(pattern: str, prefix: str, rebased: tuple[tuple[str, ...], bool]) -> None:
    parts = tuple(prefix.split("/")) if prefix else ()
    patterns, whole = rebase(pattern, parts)
    assert (tuple(sorted(patterns)), whole) == (tuple(sorted(rebased[0])), rebased[1])


def test_selection_layers() -> None:
    config = Selection(select=("CA2",), extend_select=("CA301",), ignore=("CA20",))
    settings = Settings(selection=(config,))
    assert [settings.selects(c) for c in ("CA101", "CA201", "CA210", "CA301", "CA302")] == [
        False, False, True, True, False,
    ]  # fmt: skip
    more_specific_select = Settings(selection=(Selection(("CA201",), (), ("CA2",)),))
    assert (more_specific_select.selects("CA201"), more_specific_select.selects("CA202")) == (
        True,
        False,
    )
    tie = Settings(selection=(Selection(("CA2",), (), ("CA2",)),))
    assert tie.selects("CA201") is False
    assert Settings(selection=(config,), select=("CA1",)).selects("CA101") is True
    assert Settings(selection=(config,), ignore=("CA301",)).selects("CA301") is False


def test_off_by_default_rules_run_only_when_selected_by_code() -> None:
    def runs(settings: Settings) -> bool:
        return settings.selects("CA714", default=False)

    assert not runs(Settings())
    assert not runs(Settings(select=("CA7",)))
    assert not runs(Settings(select=("CA",)))
    assert runs(Settings(select=("CA714",)))
    assert runs(Settings(select=("CA7", "CA714")))
    assert runs(Settings(selection=(Selection(extend_select=("CA714",)),)))
    assert not runs(Settings(selection=(Selection(extend_select=("CA71",)),)))
    assert not runs(Settings(selection=(Selection(select=("CA714",)),), ignore=("CA7",)))
    assert not runs(Settings(select=("CA714",), ignore=("CA714",)))
    assert runs(Settings(selection=(Selection(select=("CA714",)),), select=("CA714",)))
    # A later layer's select replaces an earlier one's.
    assert not runs(Settings(selection=(Selection(select=("CA714",)),), select=("CA1",)))


def test_severity_of_takes_the_most_specific_entry() -> None:
    settings = Settings(severity=(("CA2", Severity.INFO), ("CA201", Severity.WARNING)))
    assert [settings.severity_of(c, Severity.ERROR) for c in ("CA201", "CA202", "CA101")] == [
        Severity.WARNING,
        Severity.INFO,
        Severity.ERROR,
    ]
