"""The pre-commit hook, for real: `pre-commit try-repo` installs this checkout (from the
package index, like a user's pre-commit would) and runs the hook on a throwaway repo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from celery_audit.discover import classify

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))

EXTENSIONS = """\
from celery import Celery
from flask_sqlalchemy import SQLAlchemy

celery = Celery(__name__)
db = SQLAlchemy()
"""
APP = """\
from flask import Flask

from extensions import celery, db


def create_app():
    app = Flask(__name__)
    db.init_app(app)
    celery.conf.update(app.config.get("CELERY", {}))
    return app
"""
BUGGY_TASKS = """\
from extensions import celery, db


@celery.task
def purge_sessions():
    db.session.execute(db.text("DELETE FROM sessions WHERE expired"))
    db.session.commit()
"""
FIXED_TASKS = """\
from extensions import celery, db


@celery.task
def purge_sessions():
    from app import create_app

    with create_app().app_context():
        db.session.execute(db.text("DELETE FROM sessions WHERE expired"))
        db.session.commit()
"""
CA201_LINE = (
    "  5:5  error   CA201 task `purge_sessions` uses db.session outside an app context, "
    "and nothing provides one"
)


def git(cwd: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def git_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "PRE_COMMIT_COLOR": "never",
    }


def commit_all(repo: Path, message: str, env: dict[str, str]) -> None:
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "--no-verify", "-m", message, env=env)


def snapshot_of_checkout(target: Path, env: dict[str, str]) -> Path:
    """This checkout's working tree (tracked and untracked, minus ignored files) as a
    one-commit repository. `try-repo` on the checkout itself would only see tracked
    files (its shadow repo runs `git add -u`), so new, uncommitted files would be
    missing from what it installs."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.decode()
        names = sorted({name for name in listed.split("\0") if name})
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        names = sorted(
            p.relative_to(ROOT).as_posix()
            for p in ROOT.rglob("*")
            if p.is_file() and not {".git", ".venv", "__pycache__"} & set(p.parts)
        )
    for name in names:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q", env=env)
    commit_all(target, "snapshot", env)
    return target


def try_repo(repo: Path, hook_repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = ["try-repo", str(hook_repo), "celery-audit", "--all-files"]
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *command],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_hook_fails_on_a_finding_and_passes_after_the_fix(tmp_path: Path) -> None:
    env = git_env(tmp_path)
    hook_repo = snapshot_of_checkout(tmp_path / "celery-audit", env)
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / "extensions.py").write_text(EXTENSIONS)
    (repo / "app.py").write_text(APP)
    (repo / "tasks.py").write_text(BUGGY_TASKS)
    # The hook reads the project's configuration too.
    (repo / "pyproject.toml").write_text('[tool.celery-audit]\nfail-on = "error"\n')
    git(repo, "init", "-q", env=env)
    commit_all(repo, "a task without an app context", env)

    failed = try_repo(repo, hook_repo, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"^celery-audit\.+Failed$", failed.stdout, re.M), failed.stdout
    assert CA201_LINE in failed.stdout.splitlines()

    (repo / "tasks.py").write_text(FIXED_TASKS)
    commit_all(repo, "push an app context", env)
    passed = try_repo(repo, hook_repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"^celery-audit\.+Passed$", passed.stdout, re.M), passed.stdout


def test_hook_definition() -> None:
    validated = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (validated.returncode, validated.stdout, validated.stderr) == (0, "", "")
    (hook,) = HOOKS
    assert {k: v for k, v in hook.items() if k not in ("files", "description")} == {
        "id": "celery-audit",
        "name": "celery-audit",
        "entry": "celery-audit scan .",
        "language": "python",
        "pass_filenames": True,
        "require_serial": True,
        "types": ["file"],
    }


@pytest.mark.parametrize(
    "name",
    [
        "app.py", "pkg/tasks.pyw", "static/poll.js", "web/src/api.mjs", "a.cjs", "src/status.ts",
        "Status.jsx", "Status.tsx", "Progress.vue", "Progress.svelte", "templates/export.html",
        "templates/x.htm", "t.jinja", "t.jinja2", "t.j2", "bin/start.sh", "run.bash",
        "deploy/worker.service", "supervisord.conf", "uwsgi.ini", "docker-compose.yml",
        "compose.yaml", "docker-compose.override.yml", ".github/workflows/ci.yml", "Procfile",
        "Procfile.dev", "Makefile", "Dockerfile", "Dockerfile.worker", "worker.dockerfile",
        "frontend/package.json", "README.md", "setup.cfg", "requirements.txt", "data.json",
        "notes.txt", "x.pyc", "docs/Procfile.md",
    ],
)  # fmt: skip
def test_hook_files_pattern_matches_what_celery_audit_reads(name: str) -> None:
    (hook,) = HOOKS
    assert bool(re.search(hook["files"], name)) == (classify(name) is not None)
