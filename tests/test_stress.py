"""Stress: the standard library of the running interpreter, scanned end to end.

Thousands of real files, none of them Flask or Celery: the scan must finish without a
crash or an internal error, and report nothing but CA001 for the files the standard
library breaks on purpose (lib2to3's Python 2 test data, test/tokenizedata/bad*).
Installed packages are excluded: they are not the standard library.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

STDLIB = Path(sysconfig.get_paths()["stdlib"])

# Where the standard library keeps its deliberately broken files.
BROKEN_ON_PURPOSE = ("lib2to3/tests/data/", "test/")


@pytest.mark.slow
def test_scanning_the_standard_library() -> None:
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery_audit",
            "scan",
            str(STDLIB),
            "--format",
            "json",
            "--exclude",
            "site-packages/,dist-packages/",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    elapsed = time.monotonic() - start
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == ""  # no internal error, no traceback
    data = json.loads(result.stdout)
    summary = data["summary"]
    print(f"\nstdlib: {summary['python_files']} Python files in {elapsed:.0f} s")
    assert summary["python_files"] > 1000
    assert summary["findings"]["error"] == 0
    unexpected = [
        (f["file"], f["code"], f["message"])
        for f in data["findings"]
        if f["code"] != "CA001" or not f["file"].startswith(BROKEN_ON_PURPOSE)
    ]
    assert unexpected == []
    assert summary["parse_errors"] == len(data["findings"])
