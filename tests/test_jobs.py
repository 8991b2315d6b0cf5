"""--jobs: the same bytes out whatever the number of processes; a dying worker is an
internal error for its file, never a hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import celery_audit.audit
from celery_audit.cli import main
from celery_audit.model.facts import SourceFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _scan(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", "--no-cache", *args])
    return result.exit_code, result.stdout, result.stderr


def synthetic_project(root: Path, modules: int = 120) -> Path:
    """A Flask + Celery project of `modules` task/view modules around one app."""
    pkg = root / "proj"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "extensions.py").write_text(
        "from celery import Celery\nfrom flask_sqlalchemy import SQLAlchemy\n"
        "celery = Celery(__name__)\ndb = SQLAlchemy()\n"
    )
    for i in range(modules):
        if i % 2:
            (pkg / f"tasks_{i}.py").write_text(
                "from proj.extensions import celery, db\n\n"
                f"@celery.task(name='proj.t{i}')\ndef task_{i}(x):\n"
                "    return db.session.get('User', x)\n"
            )
        else:
            (pkg / f"views_{i}.py").write_text(
                f"from flask import Blueprint\nfrom proj.tasks_{i + 1} import task_{i + 1}\n"
                f"bp = Blueprint('b{i}', __name__)\n\n@bp.route('/run/{i}')\n"
                f"def run_{i}():\n    return task_{i + 1}.delay(1).id\n"
            )
    (root / "Procfile").write_text("worker: celery -A proj.extensions worker\n")
    return root


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use worker processes even for the small fixtures."""
    monkeypatch.setattr(celery_audit.audit, "PARALLEL_MIN_FILES", 0)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_jobs_do_not_change_the_output(fixture: str) -> None:
    one = _scan(FIXTURES / fixture, "--jobs", "1")
    assert one == _scan(FIXTURES / fixture, "--jobs", "2")


def test_jobs_on_a_120_file_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celery_audit.audit, "PARALLEL_MIN_FILES", 50)
    root = synthetic_project(tmp_path)
    calls: list[int] = []
    parallel = celery_audit.audit._extract_parallel

    def counted(work, vocabulary, jobs, store):  # type: ignore[no-untyped-def]
        calls.append(len(work))
        return parallel(work, vocabulary, jobs, store)

    monkeypatch.setattr(celery_audit.audit, "_extract_parallel", counted)
    one = _scan(root, "--jobs", "1")
    assert calls == []
    assert one[0] in (0, 1) and '"tasks"' in one[1]
    assert _scan(root, "--jobs", "2") == one
    assert _scan(root, "--jobs", "3") == one
    assert calls == [123, 123]


def test_a_dying_worker_is_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = synthetic_project(tmp_path, modules=10)
    expected = _scan(root, "--jobs", "1")
    (root / "proj" / "boom.py").write_text("x = 1\n")
    original = celery_audit.audit.extract_bytes

    def dies_on_boom(source: SourceFile, data: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
        if source.path.endswith("boom.py"):
            os._exit(3)  # as a segmentation fault would: no exception, no cleanup
        return original(source, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(celery_audit.audit, "extract_bytes", dies_on_boom)
    code, out, err = _scan(root, "--jobs", "2")
    assert code == 2
    assert err == (
        "celery-audit: internal-error: extract proj/boom.py: BrokenProcessPool: the extraction"
        " process died (A process in the process pool was terminated abruptly while the future"
        " was running or pending.)\n"
    )
    # Every other file kept its facts: the report is the one without boom.py.
    assert out == expected[1]


def test_workers_send_cached_facts_once_as_their_pickle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a cache, a worker sends each file's facts only as the pickle the cache
    stores; unpickled on arrival, they give the output of a run without workers, and
    the cache they fill serves the next run the same output."""
    root = synthetic_project(tmp_path)
    expected = _scan(root, "--jobs", "1")
    arrived: list[str] = []
    unpickled = celery_audit.audit.unpickled_facts

    def counted(body: bytes):  # type: ignore[no-untyped-def]
        facts = unpickled(body)
        arrived.append(facts.source.path)
        return facts

    monkeypatch.setattr(celery_audit.audit, "unpickled_facts", counted)
    cached = ["--cache-dir", str(tmp_path / "cache")]
    for jobs in ("2", "1"):  # cold, with workers; then warm, from the cache they filled
        result = CliRunner().invoke(
            main, ["scan", str(root), "--format", "json", "--jobs", jobs, *cached]
        )
        assert (result.exit_code, result.stdout, result.stderr) == expected
    assert len(arrived) == len(set(arrived)) == 123
