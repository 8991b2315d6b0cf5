"""Run records: a scan replays the last output of its command line only when nothing
that decided it has changed (runs.py, entry.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import celery_audit
from celery_audit import audit, runs
from celery_audit.cli import main
from celery_audit.cli import scan as scan_command
from celery_audit.entry import SCAN_FLAGS, SCAN_VALUE_OPTIONS, scan_arguments
from celery_audit.rules import RULES
from celery_audit.runs import CACHE_DIR, CACHE_DIR_ENV

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class Calls:
    """How far each scan went: files scanned (scan_files) and rules run (check)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scanned = self.checked = 0
        scan_files, check = audit.scan_files, audit.check

        def counting_scan(*args: object, **kwargs: object) -> audit.Scanned:
            self.scanned += 1
            return scan_files(*args, **kwargs)  # type: ignore[arg-type]

        def counting_check(*args: object, **kwargs: object) -> audit.Report:
            self.checked += 1
            return check(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(audit, "scan_files", counting_scan)
        monkeypatch.setattr(audit, "check", counting_check)

    def since(self, before: tuple[int, int]) -> str:
        """'signature' (nothing run), 'key' (files read, no rules) or 'full'."""
        scanned, checked = self.scanned - before[0], self.checked - before[1]
        return "full" if checked else "key" if scanned else "signature"

    @property
    def now(self) -> tuple[int, int]:
        return self.scanned, self.checked


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled example app (it has findings: exit 1), scanned from its
    parent folder, with its cache inside it."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "seed_app", root)
    (root / ".git").mkdir()  # the configuration lookup stops here
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    return root


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs that start 10 s from now: no file was modified close to their start, so
    their records carry signatures (the files of a test are seconds old at most)."""
    monkeypatch.setattr(runs, "now_ns", lambda: time.time_ns() + 10_000_000_000)


def _scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["scan", "repo", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def _fresh(*args: str) -> tuple[int, str]:
    return _scan(*args, "--no-cache")


def _records(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("run-*.json"))


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _same_size_same_mtime(root: Path) -> None:
    """An edit that keeps the file's size and, put back, its modification time: only
    its change time (which no one can set) tells."""
    path = root / "workers.py"
    stat = path.stat()
    path.write_text(path.read_text().replace("@celery.task(bind=True)", "@celery.task(bind=None)", 1))  # fmt: skip
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _add_folder(root: Path) -> None:
    (root / "admin").mkdir()
    (root / "admin" / "views.py").write_text("from workers import nope\n")


def _make_a_package(root: Path) -> None:
    (root / "__init__.py").write_text("")  # module names now start with "repo."


def _configure_above(root: Path) -> None:
    (root / ".git").rmdir()
    (root.parent / "pyproject.toml").write_text('[tool.celery-audit]\nfail-on = "never"\n')


CHANGES: dict[str, Callable[[Path], object]] = {
    "edit a task module": lambda root: _append(
        root / "workers.py", "\n\n@celery.task\ndef late_report(user_id):\n    return user_id\n"
    ),
    "edit keeping size and mtime": _same_size_same_mtime,
    "add a module": lambda root: (root / "jobs.py").write_text(
        "from workers import export_report\n\n\ndef nightly():\n    export_report.delay(1)\n"
    ),
    "add a folder": _add_folder,
    "delete a module": lambda root: (root / "resources.py").unlink(),
    "rename a module": lambda root: (root / "resources.py").rename(root / "api.py"),
    "ignore a module": lambda root: (root / ".gitignore").write_text("resources.py\n"),
    "configure the repository": lambda root: (root / "pyproject.toml").write_text(
        '[tool.celery-audit]\nignore = ["CA2"]\n'
    ),
    "configure above the repository": _configure_above,
    "make the root a package": _make_a_package,
    "edit a template": lambda root: _append(
        root / "templates" / "export.html", "<script>fetch('/api/none/status')</script>\n"
    ),
}


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_is_never_replayed_by_signature(
    change: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    first = _scan()
    assert first[0] == 1 and len(_records(repo)) == 1
    before = calls.now
    assert _scan() == first and calls.since(before) == "signature"

    CHANGES[change](repo)
    before = calls.now
    changed = _scan()
    assert calls.since(before) != "signature"
    assert changed == _fresh()
    before = calls.now
    assert _scan() == changed and calls.since(before) == "signature"  # recorded again


@pytest.mark.usefixtures("settled")
def test_the_verified_change_of_a_test_is_real(repo: Path) -> None:
    """The changes above change the output, most of them: replaying would be wrong."""
    first = _fresh()
    differ = []
    for change in sorted(CHANGES):
        shutil.rmtree(repo.parent / "copy", ignore_errors=True)
        (repo.parent / "pyproject.toml").unlink(missing_ok=True)
        copy = shutil.copytree(repo, repo.parent / "copy")
        CHANGES[change](copy)
        result = CliRunner().invoke(main, ["scan", "copy", "--format", "json", "--no-cache"])
        differ.append(result.stdout.replace('"copy"', '"repo"') != first[1])
    assert sum(differ) >= len(CHANGES) - 1  # the template edit may not


@pytest.mark.usefixtures("settled")
def test_an_edit_that_changes_no_fact_is_replayed_by_key(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    first = _scan("repo/workers.py")  # as pre-commit runs it: the files it changed
    assert first[0] == 1
    _append(repo / "workers.py", "# a comment changes no fact\n")
    before = calls.now
    assert _scan("repo/workers.py") == first and calls.since(before) == "key"
    before = calls.now
    assert _scan("repo/workers.py") == first and calls.since(before) == "signature"
    assert _fresh("repo/workers.py") == first


def test_a_racy_record_is_replayed_by_key_only(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files modified just before a run started may change again with the same
    signature: the record then has none, and the next run reads and hashes them."""
    calls = Calls(monkeypatch)
    (repo / "models.py").write_text((repo / "models.py").read_text())  # modified now
    first = _scan()
    (record,) = _records(repo)
    assert json.loads(zlib.decompress(record.read_bytes()))["watched"] == {}
    before = calls.now
    assert _scan() == first and calls.since(before) == "key"


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize(
    "args",
    [["--no-cache"], ["--output", "out.json"], ["--write-baseline", "base.json"],
     ["--format", "github"]],
)  # fmt: skip
def test_runs_never_recorded(repo: Path, args: list[str]) -> None:
    CliRunner().invoke(main, ["scan", "repo", *args])
    assert _records(repo) == []


@pytest.mark.usefixtures("settled")
def test_each_command_line_has_its_own_record(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    outputs = {args: _scan(*args) for args in [(), ("--select", "CA1"), ("--fail-on", "never")]}
    assert len(_records(repo)) == 3 and len({out for out in outputs.values()}) == 3
    before = calls.now
    assert {args: _scan(*args) for args in outputs} == outputs
    assert calls.since(before) == "signature"
    monkeypatch.chdir(repo)  # the same words from elsewhere are another command line
    result = CliRunner().invoke(main, ["scan", ".", "--format", "json"])
    assert calls.since(before) == "full" and result.exit_code == 1


@pytest.mark.usefixtures("settled")
def test_git_commands_do_not_invalidate_a_record(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configuration lookup stops at `.git`: only its existence matters, not the
    times git changes with every command."""
    calls = Calls(monkeypatch)
    first = _scan()
    (repo / ".git" / "index.lock").write_text("")
    (repo / ".git" / "index.lock").unlink()
    before = calls.now
    assert _scan() == first and calls.since(before) == "signature"


@pytest.mark.usefixtures("settled")
def test_an_upgrade_is_never_replayed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    first = _scan()
    monkeypatch.setattr(celery_audit, "__version__", "999.0")
    before = calls.now
    assert _scan() == first and calls.since(before) == "full"


@pytest.mark.usefixtures("settled")
def test_an_edit_of_celery_audit_itself_is_never_replayed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editable install changed without a new version: its own source files'
    fingerprint is in every key (runs, facts, linked project)."""
    calls = Calls(monkeypatch)
    first = _scan()
    monkeypatch.setattr(runs, "_CODE", ["another build"])
    before = calls.now
    assert _scan() == first and calls.since(before) == "full"


@pytest.mark.usefixtures("settled")
def test_a_baseline_edit_is_not_replayed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    CliRunner().invoke(main, ["scan", "repo", "--write-baseline", "base.json"])
    assert _scan("--baseline", "base.json")[0] == 0
    baseline = json.loads(Path("base.json").read_text())
    baseline["findings"] = [f for f in baseline["findings"] if f["code"] != "CA201"]
    Path("base.json").write_text(json.dumps(baseline))
    before = calls.now
    assert _scan("--baseline", "base.json") == _fresh("--baseline", "base.json")
    assert calls.since(before) != "signature" and _fresh("--baseline", "base.json")[0] == 1


@pytest.mark.usefixtures("settled")
def test_broken_or_foreign_records_are_ignored(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    expected = _scan()
    (record,) = _records(repo)
    body = json.loads(zlib.decompress(record.read_bytes()))
    foreign = dict(body, invocation="another command line", output="forged\n", status=0)
    for garbage in (b"", b"\x00", zlib.compress(b"[]"), zlib.compress(json.dumps(foreign).encode())):  # fmt: skip
        record.write_bytes(garbage)
        before = calls.now
        assert _scan() == expected and calls.since(before) == "full"


@pytest.mark.usefixtures("settled")
def test_records_are_pruned(repo: Path) -> None:
    for rule in RULES[: runs.KEPT + 4]:
        assert _scan("--select", rule.code)[0] in (0, 1)
    assert len(_records(repo)) == runs.KEPT


ENTRY_PROGRAM = (
    "import sys\n"
    "from celery_audit.entry import main\n"
    "try:\n    main()\n"
    "finally:\n    print('click' in sys.modules, file=sys.stderr)\n"
)


@pytest.mark.usefixtures("settled")
def test_the_entry_point_scans_without_importing_click(repo: Path) -> None:
    """It replays a recorded run, and runs a changed one, without click; --help is
    click's."""
    expected = _scan()
    command = [sys.executable, "-c", ENTRY_PROGRAM, "scan", "repo", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == expected and result.stderr == "False\n"
    (repo / "models.py").write_text((repo / "models.py").read_text() + "\n")  # changed
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == expected and result.stderr == "False\n"
    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False)
    assert "Usage:" in helped.stdout and helped.stderr == "True\n"  # click's to answer


def test_the_entry_point_reads_options_as_click_does() -> None:
    long_options = {
        name: option.is_flag
        for option in scan_command.params
        if isinstance(option, click.Option)
        for name in option.opts
        if name.startswith("--") and name != "--help"
    }
    assert {name for name, flag in long_options.items() if flag} == SCAN_FLAGS
    assert {name for name, flag in long_options.items() if not flag} == SCAN_VALUE_OPTIONS
    assert scan_arguments(["scan", "a", "b.py", "--format=json", "--no-cache", "--jobs", "2"]) == (
        ["a", "b.py"],
        {"--format": "json", "--no-cache": True, "--jobs": "2"},
    )
    # Anything else is the command line's to read (and to reject).
    for argv in (["graph", "a"], ["scan"], ["scan", "a", "-j", "2"], ["scan", "a", "--help"],
                 ["scan", "a", "--format"], ["scan", "a", "--no-cache=1"], ["scan", "--", "a"]):  # fmt: skip
        assert scan_arguments(argv) is None


@pytest.mark.parametrize(
    ("argv", "direct"),
    [
        (["--format", "json"], True),
        (["--format=sarif", "--select", "CA2,CA1", "--jobs", "1"], True),
        (
            ["repo/workers.py", "--fail-on", "never", "--graph", "full", "--format", "markdown"],
            True,
        ),
        (["--no-cache", "--ignore", "CA104", "--exclude", "templates/"], True),
        (["--format", "github", "--debug"], True),
        (["--output", "out.json", "--format", "json"], True),
        (["--format", "JSON"], False),  # click says what is wrong with these
        (["--jobs", "0"], False),
        (["--fail-on", "sometimes"], False),
        (["--select", "CA999"], True),  # valid to click: our own usage error
        (["--select", "--debug"], True),  # click too takes the next word as the value
        (["--cache-dir", "elsewhere", "--format", "json"], True),
        (["--cache-dir=", "--format", "json"], True),
        (["--baseline", "repo"], False),
        (["-j", "1"], False),
    ],
)
def test_the_entry_point_runs_what_click_would(repo: Path, argv: list[str], direct: bool) -> None:
    """A command line the entry point reads itself runs without click, and ends exactly
    as click's would (output, errors, exit status); any other goes to click."""
    expected = CliRunner().invoke(main, ["scan", "repo", *argv])
    Path("out.json").unlink(missing_ok=True)
    command = [sys.executable, "-c", ENTRY_PROGRAM, "scan", "repo", *argv]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    stderr, _, imported = result.stderr.rstrip("\n").rpartition("\n")
    assert imported == str(not direct)
    named = result.stdout.replace("-c scan", "main scan")  # click names the program
    assert (result.returncode, named) == (expected.exit_code, expected.stdout)
    assert stderr.replace("-c scan", "main scan") == expected.stderr.rstrip("\n")


def test_the_build_of_a_package_that_cannot_be_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed in a zip archive, the package's folder cannot be listed: the build is
    then the version and a fixed mark, never an error."""

    def unlistable(path: object) -> object:
        raise NotADirectoryError(path)

    monkeypatch.setattr(runs, "_CODE", [])
    monkeypatch.setattr(runs.os, "scandir", unlistable)
    assert runs.build().startswith(f"{celery_audit.__version__}+")
