"""Files that cannot be parsed become CA001; the rest of the scan goes on."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, scan_json

from celery_audit.extract import extract_bytes
from celery_audit.model.facts import FileKind, SourceFile


def test_syntax_errors_are_findings_and_the_scan_goes_on() -> None:
    data = scan_json(FIXTURES / "parse_error")
    assert [(f["file"], f["line"], f["code"]) for f in data["findings"]] == [
        ("shop/broken.py", 11, "CA001"),
        ("shop/legacy_report.py", 20, "CA001"),
        ("shop/tasks.py", 13, "CA201"),
    ]
    assert data["summary"]["parse_errors"] == 2
    assert {t["func"] for t in data["facts"]["tasks"]} == {"purge_abandoned_carts"}


def _problem(data: bytes) -> str:
    facts = extract_bytes(SourceFile("x.py", FileKind.PYTHON), data)
    assert facts.python is None
    return facts.problems[0].message


def test_bad_bytes_are_problems_not_crashes() -> None:
    assert _problem(b"x = 1\x00\n") == "cannot parse: the file contains NUL bytes"
    assert _problem(b"x = '\xff\xfe'\n").startswith("cannot decode as utf-8")
    assert _problem(b"# -*- coding: no-such-codec -*-\nx = 1\n").startswith("cannot decode")
    assert _problem(b"def f(:\n").startswith("syntax error")


def test_coding_cookie_is_honoured(tmp_path: Path) -> None:
    facts = extract_bytes(
        SourceFile("x.py", FileKind.PYTHON),
        "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"),
    )
    assert facts.problems == () and facts.python is not None
