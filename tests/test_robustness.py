"""Bad input never crashes a scan or costs the other files' results.

Each bad file is dropped into a copy of fixtures/robustness_app, a valid app with one
known finding (CA201 in jobs/worker.py). The scan must report the bad file as exactly
one CA001 with the expected message (or skip it, where that is the documented
behaviour) and still report the known finding.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import celery_audit.audit
import celery_audit.rules
from celery_audit.cli import main
from celery_audit.extract import MAX_BYTES, SourceError, extract_bytes, extract_file
from celery_audit.model.facts import FileKind, SourceFile, Span
from celery_audit.rules import parse_error

APP = FIXTURES / "robustness_app"
KNOWN = ("jobs/worker.py", 13, "CA201")
MISSING = "; the facts of this file are missing"
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX file system semantics")


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(APP, root)
    return root


def _scan(root: Path, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", *args])
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def _findings(data: dict) -> list[tuple[str, int, str, str]]:
    return [(f["file"], f["line"], f["code"], f["message"]) for f in data["findings"]]


def _ca001(file: str, line: int, message: str) -> tuple[str, int, str, str]:
    if message.startswith("syntax error"):
        message += f" (read as {parse_error.GRAMMAR})"
    return (file, line, "CA001", message + MISSING)


def _known() -> tuple[str, int, str, str]:
    file, line, code = KNOWN
    message = (
        "task `rebuild_index` uses current_app outside an app context, and nothing provides one"
    )
    return (file, line, code, message)


def _nested_ifs(depth: int) -> bytes:
    lines = [b"    " * i + b"if x:\n" for i in range(depth)]
    return b"".join(lines) + b"    " * depth + b"pass\n"


# name -> (file content, line of the finding, message); Python's own messages are
# those of CPython 3.10 to 3.13.
BAD_PYTHON = {
    "syntax_error": (b"def f(:\n    pass\n", 1, "syntax error: invalid syntax"),
    "python2_print": (
        b'print "exporting"\n',
        1,
        "syntax error: Missing parentheses in call to 'print'. Did you mean print(...)?",
    ),
    "python2_except": (
        b"try:\n    pass\nexcept Exception, e:\n    pass\n",
        3,
        "syntax error: multiple exception types must be parenthesized",
    ),
    "latin1_declared_utf8": (
        "# -*- coding: utf-8 -*-\nname = 'café'\n".encode("latin-1"),
        2,
        "cannot decode as utf-8: invalid continuation byte (0xe9)",
    ),
    "unknown_codec": (
        b"# -*- coding: klingon -*-\nx = 1\n",
        1,
        "cannot decode: unknown encoding: klingon",
    ),
    "bom_with_latin1_cookie": (
        b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n",
        1,
        "cannot decode: encoding problem: utf-8",
    ),
    "nul_bytes": (b"x = 1\ny = 2\x00\n", 2, "cannot parse: the file contains NUL bytes"),
    "binary": (bytes(range(256)) * 16, 1, "cannot parse: the file contains NUL bytes"),
    "binary_without_nul": (
        bytes(range(128, 256)) * 16,
        1,
        "cannot decode as utf-8: invalid start byte (0x80)",
    ),
    "nested_parentheses": (
        b"x = " + b"(" * 1000 + b"1" + b")" * 1000 + b"\n",
        1,
        "syntax error: too many nested parentheses",
    ),
    "nested_brackets": (
        b"import celery\nx = " + b"[" * 1000 + b"]" * 1000 + b"\n",
        2,
        "syntax error: too many nested parentheses",
    ),
    "nested_ifs": (_nested_ifs(120), 101, "syntax error: too many levels of indentation"),
    "long_expression": (
        b"import celery\nx = " + b" + ".join([b"a"] * 20_000) + b"\n",
        1,
        "cannot parse: nested too deeply (RecursionError)",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PYTHON))
def test_bad_python_file_is_one_ca001_and_the_scan_goes_on(tmp_path: Path, name: str) -> None:
    content, line, message = BAD_PYTHON[name]
    root = _repo(tmp_path)
    (root / f"{name}.py").write_bytes(content)
    code, data, stderr = _scan(root)
    assert _findings(data) == sorted([_ca001(f"{name}.py", line, message), _known()])
    assert data["summary"]["parse_errors"] == 1
    assert (code, stderr) == (1, "")


# Files that are fine, however odd: no finding, and the deep pass still sees tasks.
GOOD_PYTHON = {
    "empty": b"",
    "only_comments": b"# nothing here\n",
    "latin1_with_cookie": "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"),
    "utf8_bom": b"\xef\xbb\xbfname = 'caf\xc3\xa9'\n",
    "cr_line_endings": b"import celery\rx = 1\rdef f():\r    return 1\r",
    "form_feed": b"import celery\n\x0c\ndef f():\n    return 1\n",
    "long_elif_chain": b"import celery\nif x == 0:\n    pass\n"
    + b"".join(b"elif x == %d:\n    pass\n" % i for i in range(1, 1500)),
    "long_concatenation": b"import celery\nx = (" + b" ".join([b"'a'"] * 1000) + b")\n",
    "nested_lists": b"import celery\nx = " + b"[" * 150 + b"]" * 150 + b"\n",
    # ast keeps these flat (a parser nesting one level per operand or string needs a
    # deeper stack than Python's own, or refuses them).
    "long_and_chain": b"import celery\nx = " + b" and ".join([b"a"] * 20_000) + b"\n",
    "very_long_concatenation": b"import celery\nx = (" + b" ".join([b"'a'"] * 5_000) + b")\n",
}


@pytest.mark.parametrize("name", sorted(GOOD_PYTHON))
def test_odd_but_valid_python_is_no_finding(tmp_path: Path, name: str) -> None:
    root = _repo(tmp_path)
    (root / f"{name}.py").write_bytes(GOOD_PYTHON[name])
    _, data, _ = _scan(root)
    assert _findings(data) == [_known()]
    assert data["summary"]["python_files"] == 3


def test_a_task_beside_deep_nesting_is_still_analysed() -> None:
    """A long implicit concatenation beside a task does not hide the task."""
    source = (
        b"from celery import Celery\nfrom flask import current_app\ncelery = Celery()\n"
        b"BANNER = (" + b" ".join([b"'='"] * 1000) + b")\n"
        b"@celery.task\ndef report():\n    return current_app.name\n"
    )
    facts = extract_bytes(SourceFile("jobs.py", FileKind.PYTHON), source)
    assert facts.problems == () and facts.python is not None
    assert [f.qualname for f in facts.python.functions] == ["report"]


def test_a_failed_deep_pass_keeps_the_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """RecursionError in the deep pass is a CA001, and the module table survives it, so
    other modules still resolve names through this one."""
    from celery_audit.extract.python import functions

    def enter_function(self: object, node: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(functions.FunctionGatherer, "enter_function", enter_function)
    facts = extract_bytes(
        SourceFile("jobs.py", FileKind.PYTHON),
        b"from celery import shared_task\n@shared_task\ndef export():\n    pass\n",
    )
    assert [p.message for p in facts.problems] == [
        "skipped: nested too deeply for the deep pass (RecursionError)"
    ]
    assert facts.python is not None and not facts.python.deep
    assert [i.name for i in facts.python.table.imports] == ["shared_task"]


def test_a_large_file_gets_the_deep_pass(tmp_path: Path) -> None:
    """A file over a megabyte (generated code) is analysed like any other: the deep
    pass costs about what its parse does, so no size stops it below MAX_BYTES."""
    root = _repo(tmp_path)
    filler = b"".join(b"value_%06d = %d\n" % (i, i) for i in range(60_000))
    assert len(filler) > 1024 * 1024
    (root / "generated_celery.py").write_bytes(
        b"from celery import shared_task\n" + filler
        + b"@shared_task\ndef report():\n    return 1\n"
    )  # fmt: skip
    (root / "generated_data.py").write_bytes(filler)
    _, data, _ = _scan(root)
    # The deep pass saw the task: the worker never imports its module.
    unregistered = (
        "Procfile",
        1,
        "CA502",
        "`celery -A jobs.worker worker --loglevel=info` never imports `generated_celery`: "
        "its tasks (`generated_celery.report`) are unregistered in this worker",
    )
    assert _findings(data) == [unregistered, _known()]
    modules = {node["id"] for node in data["graph"]["nodes"]}
    assert {"generated_celery", "generated_data"} <= modules
    facts = extract_bytes(
        SourceFile("generated_celery.py", FileKind.PYTHON),
        (root / "generated_celery.py").read_bytes(),
    )
    assert facts.problems == () and facts.python is not None
    assert [f.qualname for f in facts.python.functions] == ["report"]


def test_file_above_max_bytes_is_not_even_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path)
    with (root / "dump.py").open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no disk used
    _, data, _ = _scan(root)
    assert _findings(data) == [_ca001("dump.py", 1, "skipped: larger than 20 MB"), _known()]

    def read_bytes(path: Path) -> bytes:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    facts = extract_file(root, SourceFile("dump.py", FileKind.PYTHON))
    assert [p.message for p in facts.problems] == ["skipped: larger than 20 MB"]


@pytest.mark.slow
def test_ten_megabyte_files_are_scanned_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """A 10 MB module of plain assignments gets its module table (stdlib ast: about
    10 s and 1.3 GB here); with Celery vocabulary it also gets the deep pass, which
    walks the same tree: no finding either way."""
    import resource

    root = _repo(tmp_path)
    lines = b"".join(b"value_%07d = %d\n" % (i, i) for i in range(461_000))
    assert len(lines) > 10 * 1024 * 1024
    (root / "plain_data.py").write_bytes(lines)
    (root / "celery_data.py").write_bytes(b"import celery\n" + lines)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "celery_audit", "scan", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\ntwo 10 MB modules: {elapsed:.0f} s, peak RSS of a scan so far {peak_mb:.0f} MB")
    data = json.loads(result.stdout)
    assert _findings(data) == [_known()]
    assert (result.returncode, result.stderr) == (1, "")
    assert elapsed < 300, f"{elapsed:.0f} s"
    assert peak_mb < 4096, f"{peak_mb:.0f} MB"


# -- the file system ---------------------------------------------------------------------


@POSIX
def test_broken_and_looping_links_inside_the_root_are_ca001(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    os.symlink("nowhere.py", root / "dangling.py")
    os.symlink("loop_b.py", root / "loop_a.py")
    os.symlink("loop_a.py", root / "loop_b.py")
    os.symlink("self.py", root / "self.py")
    _, data, _ = _scan(root)
    assert _findings(data) == sorted(
        [
            _ca001("dangling.py", 1, "cannot read: broken symbolic link"),
            _ca001("loop_a.py", 1, "cannot read: symbolic link loop"),
            _ca001("loop_b.py", 1, "cannot read: symbolic link loop"),
            _ca001("self.py", 1, "cannot read: symbolic link loop"),
            _known(),
        ]
    )


@POSIX
def test_links_are_never_followed_out_of_the_root(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("from celery import shared_task\n@shared_task\ndef x(): 1\n")
    os.symlink(outside / "secret.py", root / "secret.py")
    os.symlink(outside / "missing.py", root / "missing.py")  # broken, and outside
    os.symlink(outside, root / "outside_dir")
    os.symlink(root, root / "loop_dir")
    os.symlink("jobs", root / "jobs_alias")  # a folder inside: still never followed
    _, data, _ = _scan(root)
    assert _findings(data) == [_known()]
    assert data["summary"]["files"] == 3  # Procfile, jobs/__init__.py, jobs/worker.py


@POSIX
def test_a_link_to_a_file_inside_the_root_is_scanned(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    os.symlink("jobs/worker.py", root / "worker_alias.py")
    _, data, _ = _scan(root)
    assert ("worker_alias.py", 13, "CA201") in {f[:3] for f in _findings(data)}


@POSIX
def test_fifos_are_skipped_not_read(tmp_path: Path) -> None:
    """Reading a FIFO named x.py (or .gitignore) would block for ever: the scan runs in
    a subprocess with a timeout."""
    root = _repo(tmp_path)
    os.mkfifo(root / "pipe.py")
    os.symlink("pipe.py", root / "pipe_link.py")
    os.mkfifo(root / "jobs" / ".gitignore")
    result = subprocess.run(
        [sys.executable, "-m", "celery_audit", "scan", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert _findings(json.loads(result.stdout)) == [_known()]
    assert result.returncode == 1


def test_a_directory_named_like_a_python_file_is_a_folder(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "x.py").mkdir()
    (root / "x.py" / "broken.py").write_bytes(b"def f(:\n")
    _, data, _ = _scan(root)
    assert _findings(data) == [
        _known(),
        _ca001("x.py/broken.py", 1, "syntax error: invalid syntax"),
    ]


def _deny(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Reading `name` fails as it does for another user's chmod 000 file (tests run
    as root in CI, where chmod cannot deny a read)."""
    read = Path.read_bytes

    def denied(path: Path) -> bytes:
        if path.name == name:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return read(path)

    monkeypatch.setattr(Path, "read_bytes", denied)


def test_unreadable_file_is_ca001(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo(tmp_path)
    (root / "secret.py").write_text("x = 1\n")
    _deny(monkeypatch, "secret.py")
    _, data, _ = _scan(root)
    assert _findings(data) == [_known(), _ca001("secret.py", 1, "cannot read: Permission denied")]


@POSIX
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_is_ca001_with_real_permissions(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    secret = root / "secret.py"
    secret.write_text("x = 1\n")
    secret.chmod(0)
    try:
        _, data, _ = _scan(root)
    finally:
        secret.chmod(0o644)
    assert _findings(data) == [_known(), _ca001("secret.py", 1, "cannot read: Permission denied")]


def test_missing_path_is_exit_2_with_one_line() -> None:
    result = CliRunner().invoke(main, ["scan", "no/such/repository"])
    assert result.exit_code == 2
    assert result.stderr == "celery-audit: error: path does not exist: no/such/repository\n"


EMPTY_SUMMARY = (
    "No findings in 0 files (0 Python): 0 Celery apps, 0 tasks, 0 call sites, "
    "0 beat entries — no Python files found\n"
)


def test_empty_repository_is_exit_0_with_a_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, EMPTY_SUMMARY, "")


def test_repository_without_python_says_so(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("worker: celery -A jobs worker\n")
    (tmp_path / "README.md").write_text("# nothing\n")
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--fail-on", "never"])
    assert result.exit_code == 0
    assert result.stdout.endswith(" — no Python files found\n")


@pytest.mark.parametrize("fmt", ["json", "markdown", "mermaid", "dot", "sarif", "github"])
def test_every_format_renders_an_empty_repository(tmp_path: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--format", fmt])
    assert (result.exit_code, result.stderr) == (0, "")


# -- service scripts ---------------------------------------------------------------------


def test_a_script_extractor_signalling_a_bad_file_gives_ca001(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract for script extractors: raise SourceError, get a CA001."""
    import celery_audit.extract.scripts as extract

    original = extract.extract_scripts

    def strict(path: str, text: str):  # type: ignore[no-untyped-def]
        if path.endswith("docker-compose.yml"):
            raise SourceError("invalid YAML: mapping values are not allowed here", Span(3, 10))
        return original(path, text)

    monkeypatch.setattr(extract, "extract_scripts", strict)
    root = _repo(tmp_path)
    (root / "docker-compose.yml").write_text("services:\n  worker:\n    command: a: b\n")
    _, data, _ = _scan(root)
    assert _findings(data) == [
        _ca001("docker-compose.yml", 3, "invalid YAML: mapping values are not allowed here"),
        _known(),
    ]
    assert data["findings"][0]["column"] == 10


INVALID_COMPOSE = "services:\n  worker:\n    command: celery -A jobs.worker worker\n   image: x\n"


def test_invalid_yaml_in_a_compose_file_is_ca001(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "docker-compose.yml").write_text(INVALID_COMPOSE)
    _, data, _ = _scan(root)
    assert [f[:3] for f in _findings(data)] == [("docker-compose.yml", 4, "CA001"), KNOWN]


def test_invalid_yaml_in_a_compose_file_does_not_stop_the_scan(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "docker-compose.yml").write_text(INVALID_COMPOSE)
    code, data, stderr = _scan(root)
    assert KNOWN in {f[:3] for f in _findings(data)}
    assert (code, stderr) == (1, "")


# -- internal errors -----------------------------------------------------------------------


def _crash_on_boom(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gatherer bug that fires on one file only: a call to `boom()`."""
    from celery_audit.extract.python import calls

    call = calls.DispatchGatherer.call

    def crashing_call(self: calls.DispatchGatherer, node):  # type: ignore[no-untyped-def]
        if getattr(node.func, "id", None) == "boom":
            raise KeyError("gatherer bug")
        return call(self, node)

    monkeypatch.setattr(calls.DispatchGatherer, "call", crashing_call)


def test_a_crashing_extractor_costs_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_on_boom(monkeypatch)
    root = _repo(tmp_path)
    (root / "boom.py").write_text("import celery\nboom()\n")
    (root / "broken.py").write_text("def f(:\n")
    code, data, stderr = _scan(root)
    assert code == 2
    assert _findings(data) == [
        _ca001("broken.py", 1, "syntax error: invalid syntax"),
        _known(),
    ]
    assert stderr == "celery-audit: internal-error: extract boom.py: KeyError: 'gatherer bug'\n"


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _crash_on_boom(monkeypatch)
    root = _repo(tmp_path)
    (root / "boom.py").write_text("import celery\nboom()\n")
    result = CliRunner().invoke(main, ["scan", str(root), "--debug"])
    assert result.exit_code == 2
    first, *rest = result.stderr.splitlines()
    assert first == "celery-audit: internal-error: extract boom.py: KeyError: 'gatherer bug'"
    assert rest[0] == "Traceback (most recent call last):"
    assert 'raise KeyError("gatherer bug")' in result.stderr
    assert "CA201" in result.stdout  # the report was printed first, in full


def test_a_crashing_rule_costs_that_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(project: object):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("rule bug")

    rules = tuple(
        replace(rule, check=broken) if rule.code == "CA001" else rule
        for rule in celery_audit.rules.RULES
    )
    monkeypatch.setattr(celery_audit.rules, "RULES", rules)
    root = _repo(tmp_path)
    (root / "broken.py").write_text("def f(:\n")
    code, data, stderr = _scan(root)
    assert code == 2
    assert _findings(data) == [_known()]
    assert stderr == "celery-audit: internal-error: rule CA001: ZeroDivisionError: rule bug\n"


# -- safety: read only, run nothing ------------------------------------------------------


def _state(root: Path) -> dict[str, object]:
    """Every folder's listing and mtime, every file's mtime and bytes."""
    state: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        state[rel + "/"] = (sorted(dirs + files), os.lstat(folder).st_mtime_ns)
        for name in files:
            path = Path(folder, name)
            state[f"{rel}/{name}"] = (path.lstat().st_mtime_ns, path.read_bytes())
    return state


def test_a_scan_never_writes_inside_the_scanned_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery_audit.cli import GRAPH_FORMATS, SCAN_FORMATS

    root = tmp_path / "seed_app"
    shutil.copytree(FIXTURES / "seed_app", root)
    outside = tmp_path / "reports"
    outside.mkdir()
    monkeypatch.chdir(root)  # relative writes would land in the tree
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(outside / "summary.md"))
    before = _state(root)
    # The cache, once there is one, may live in the tree, but not with --no-cache.
    scan = main.commands["scan"]  # type: ignore[attr-defined]
    options = {opt for param in scan.params for opt in (*param.opts, *param.secondary_opts)}
    no_cache = ["--no-cache"] if "--no-cache" in options else []
    runs = [["scan", ".", "--format", fmt, *no_cache] for fmt in SCAN_FORMATS]
    runs += [
        ["scan", str(root), "--format", fmt, "-o", str(outside / fmt), *no_cache]
        for fmt in SCAN_FORMATS
    ]
    runs += [["scan", ".", "--write-baseline", str(outside / "baseline.json"), *no_cache]]
    runs += [
        ["graph", ".", "--format", fmt, "-o", str(outside / f"graph.{fmt}")]
        for fmt in GRAPH_FORMATS
        if fmt in ("mermaid", "dot") or shutil.which("dot")
    ]
    for args in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert _state(root) == before, args
    # Only where --output says so, and only that file (no temporary file left behind).
    result = CliRunner().invoke(
        main, ["scan", ".", "--format", "json", "-o", "report.json", *no_cache]
    )
    assert result.exit_code == 1
    after = _state(root)
    assert set(after) - set(before) == {"./report.json"}
    assert after["./"][0] == sorted([*before["./"][0], "report.json"])  # type: ignore[index]


SOURCE = Path(__file__).resolve().parent.parent / "celery_audit"

# Calls that run code or load objects; `subprocess` only where pydot runs Graphviz.
BANNED_CALLS = frozenset(
    {
        "eval", "exec", "compile", "__import__", "breakpoint", "importlib.import_module",
        "importlib.__import__", "runpy.run_path", "runpy.run_module", "os.system",
        "os.popen", "os.startfile", "pickle.load", "pickle.loads", "marshal.load",
        "marshal.loads", "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load",
        "yaml.full_load_all",
    }
)  # fmt: skip
BANNED_MODULES = frozenset({"subprocess", "runpy", "pty", "code", "codeop", "marshal", "shelve"})
ALLOWED_MODULES = {"subprocess": {"report/dot.py"}}
# The fact cache unpickles what it wrote, only after its signature under the user's
# secret verifies (signing.py; test_cache proves a foreign file is never unpickled).
ALLOWED_CALLS = {"pickle.loads": {"cache.py"}}
SAFE_LOADERS = frozenset({"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader"})
UNSAFE_LOADERS = frozenset(
    {"yaml.Loader", "yaml.UnsafeLoader", "yaml.FullLoader", "yaml.CLoader", "yaml.CUnsafeLoader",
     "yaml.CFullLoader"}
)  # fmt: skip
YAML_LOADING = frozenset(
    {"yaml.load", "yaml.load_all", "yaml.compose", "yaml.compose_all", "yaml.parse", "yaml.scan"}
)


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = aliases.get(node.id, node.id)
    return ".".join([head, *reversed(parts)])


def _violations(rel: str, text: str) -> list[str]:
    tree = ast.parse(text)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[(alias.asname or alias.name).split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
                modules.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for module in modules:
            top = module.split(".")[0]
            if top in BANNED_MODULES and rel not in ALLOWED_MODULES.get(top, set()):
                found.append(f"{rel}:{node.lineno}: imports {module}")
            if module in BANNED_CALLS or module in UNSAFE_LOADERS:
                found.append(f"{rel}:{node.lineno}: imports {module}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            name = _qualified(node, aliases)
            if name in UNSAFE_LOADERS:
                found.append(f"{rel}:{node.lineno}: uses {name}")
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, aliases)
        if name in BANNED_CALLS and rel not in ALLOWED_CALLS.get(name, set()):
            found.append(f"{rel}:{node.lineno}: calls {name}")
        elif name in YAML_LOADING:
            loader = next((k.value for k in node.keywords if k.arg == "Loader"), None)
            if loader is None and len(node.args) > 1:
                loader = node.args[1]
            if loader is None or _qualified(loader, aliases) not in SAFE_LOADERS:
                found.append(f"{rel}:{node.lineno}: {name} without a safe loader")
    return found


def test_the_source_never_runs_or_unpickles_anything() -> None:
    """An AST scan of celery_audit/: no eval/exec/compile/__import__/importlib/runpy,
    no subprocess except report/dot.py (pydot runs Graphviz), no pickle/marshal loads
    except the signed fact cache's, and YAML only through a safe loader."""
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 20
    violations = [
        v
        for path in files
        for v in _violations(path.relative_to(SOURCE).as_posix(), path.read_text("utf-8"))
    ]
    assert violations == []


def test_the_source_scan_catches_what_it_bans() -> None:
    samples = {
        "import yaml\nyaml.load(text)\n": "yaml.load without a safe loader",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)\n": "uses yaml.Loader",
        "from yaml import unsafe_load\nunsafe_load(t)\n": "calls yaml.unsafe_load",
        "import importlib as il\nil.import_module(name)\n": "calls importlib.import_module",
        "x = eval(s)\n": "calls eval",
        "import os, subprocess\n": "imports subprocess",
        "from subprocess import run\n": "imports subprocess",
        "import yaml\nyaml.compose_all(t, yaml.SafeLoader)\n": None,
    }
    for code, expected in samples.items():
        found = _violations("extract/scripts.py", code)
        assert (found == []) if expected is None else any(expected in v for v in found), code
    assert _violations("report/dot.py", "import subprocess\n") == []
    assert _violations("cache.py", "import pickle\npickle.loads(b)\n") == []
    assert _violations("audit.py", "import pickle\npickle.loads(b)\n") != []
