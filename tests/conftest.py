from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from celery_audit.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECT = re.compile(rb"(?:#|//)\s*expect:\s*((?:CA\d{3}\s*)+)")


def expected_findings(fixture: Path, codes: set[str] | None = None) -> set[tuple[str, int, str]]:
    """(file, line, code) of every `# expect: CODE` comment under `fixture`; files are
    read as bytes, since fixtures include undecodable ones on purpose."""
    found = set()
    for path in sorted(fixture.rglob("*")):
        if not path.is_file() or ".celery_audit_cache" in path.parts:
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match.group(1).decode().split():
                    if codes is None or code in codes:
                        found.add((path.relative_to(fixture).as_posix(), number, code))
    return found


def scan_json(path: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        main, ["scan", str(path), "--format", "json", "--fail-on", "never", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reported(data: dict, codes: set[str]) -> set[tuple[str, int, str]]:
    return {(f["file"], f["line"], f["code"]) for f in data["findings"] if f["code"] in codes}


@pytest.fixture(scope="session")
def _cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fact-cache")


@pytest.fixture(autouse=True)
def _cache_outside_the_repository(_cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans of fixtures/ keep their fact cache outside the checkout (subprocesses too),
    and the secret that signs it outside the tester's home."""
    monkeypatch.setenv("CELERY_AUDIT_CACHE_DIR", str(_cache_folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_folder / "user-cache"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
