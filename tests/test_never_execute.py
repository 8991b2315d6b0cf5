"""celery-audit parses; it never imports or runs scanned code. The fixture's modules
write a marker file, raise, or kill the process when imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

MARKER = Path("/tmp/celery_audit_executed.txt")


def test_scanned_code_is_never_imported_or_executed() -> None:
    MARKER.unlink(missing_ok=True)
    before = set(sys.modules)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery_audit",
            "scan",
            str(FIXTURES / "never_execute"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # os._exit(3) in models.py would end the process with 3; the CA201 error gives 1.
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [(f["file"], f["code"]) for f in data["findings"]] == [("payroll/tasks.py", "CA201")]
    assert not MARKER.exists()
    assert not {m for m in set(sys.modules) - before if m.split(".")[0] in ("payroll", "setup")}
