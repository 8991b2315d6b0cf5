from __future__ import annotations

import os
from pathlib import Path

from celery_audit.discover import classify, discover
from celery_audit.model.facts import FileKind


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_gitignore_virtualenvs_and_dependency_folders_are_skipped(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "generated/\n*.tmp.py\n",
        "app.py": "", "tasks.tmp.py": "", "generated/x.py": "",
        "web/.gitignore": "local_settings.py\n", "web/local_settings.py": "", "web/views.py": "",
        "node_modules/lib/index.js": "", "static/js/poll.js": "",
        "myenv/pyvenv.cfg": "", "myenv/lib/site.py": "", ".venv/lib/a.py": "",
        "build/lib/app.py": "", "__pycache__/x.py": "", "pkg.egg-info/x.py": "",
        "Procfile": "worker: celery -A app worker", "docker-compose.yml": "", "README.md": "",
    })  # fmt: skip
    found = {(f.path, f.kind) for f in discover(tmp_path)}
    assert found == {
        ("app.py", FileKind.PYTHON),
        ("web/views.py", FileKind.PYTHON),
        ("static/js/poll.js", FileKind.FRONTEND),
        ("Procfile", FileKind.SCRIPT),
        ("docker-compose.yml", FileKind.SCRIPT),
    }


def test_excludes_and_sorted_output(tmp_path: Path) -> None:
    _tree(tmp_path, {"b.py": "", "a.py": "", "migrations/0001.py": "", "z/c.py": ""})
    assert [f.path for f in discover(tmp_path, exclude=["migrations/"])] == [
        "a.py",
        "b.py",
        "z/c.py",
    ]


def test_symlinks_never_leave_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    root = tmp_path / "root"
    _tree(outside, {"secret.py": ""})
    _tree(root, {"app.py": ""})
    os.symlink(outside / "secret.py", root / "linked.py")
    os.symlink(outside, root / "linked_dir")
    os.symlink(root, root / "loop")
    assert [f.path for f in discover(root)] == ["app.py"]


def test_classify() -> None:
    assert classify("app/tasks.py") is FileKind.PYTHON
    assert classify("templates/status.html") is FileKind.FRONTEND
    assert classify("src/App.vue") is FileKind.FRONTEND
    assert classify("deploy/celery.service") is FileKind.SCRIPT
    assert classify("Dockerfile.worker") is FileKind.SCRIPT
    assert classify("compose.yaml") is FileKind.SCRIPT
    assert classify("README.md") is None
    assert classify("data.csv") is None
