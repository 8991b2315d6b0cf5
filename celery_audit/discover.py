"""Find the files to scan under a root and classify them.

Honours the root's .gitignore files (nested ones too, each relative to its folder) and
configured excludes; never descends into virtualenvs, dependency or cache folders, and
never follows a symlink out of the root.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from celery_audit.model.facts import FileKind, SourceFile

if TYPE_CHECKING:
    import pathspec

# pathspec is imported when a tree is walked or patterns matched: a run whose tree the
# cache knows unchanged does neither (cache.py).

# Folders that never hold the project's own code.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", ".env",
        "node_modules", "bower_components", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".celery_audit_cache", "build", "dist", "site-packages",
        ".eggs", "htmlcov", ".idea", ".vscode",
    }
)  # fmt: skip

FRONTEND_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".vue", ".svelte"})
TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".jinja", ".jinja2", ".j2"})
SCRIPT_NAMES = frozenset({"procfile", "makefile", "dockerfile", "package.json"})
SCRIPT_SUFFIXES = frozenset({".sh", ".bash", ".service", ".conf", ".ini", ".yml", ".yaml"})


def classify(rel_path: str) -> FileKind | None:
    """The kind of a file by its name, or None when celery-audit does not read it."""
    name = rel_path.rsplit("/", 1)[-1]
    lower = name.lower()
    suffix = os.path.splitext(lower)[1]
    if suffix in (".py", ".pyw"):
        return FileKind.PYTHON
    if suffix in FRONTEND_SUFFIXES or suffix in TEMPLATE_SUFFIXES:
        return FileKind.FRONTEND
    if (
        lower in SCRIPT_NAMES
        or lower.startswith(("procfile.", "dockerfile.", "docker-compose", "compose."))
        or lower.endswith(".dockerfile")
        or suffix in SCRIPT_SUFFIXES
    ):
        return FileKind.SCRIPT
    return None


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def _ignore_spec(directory: Path) -> pathspec.GitIgnoreSpec | None:
    import pathspec

    gitignore = directory / ".gitignore"
    try:
        if not gitignore.is_file():  # a FIFO or a device would block or never end
            return None
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def discover(
    root: Path, *, exclude: Iterable[str] = (), inputs: list[str] | None = None
) -> list[SourceFile]:
    """Every file under `root` that celery-audit reads, sorted by path.

    `exclude` holds gitignore-style patterns relative to the root. A single file as
    root yields that file alone. `inputs`, when given, collects what the result
    depends on besides the files' names: the folders listed (a new, removed or renamed
    entry changes a folder's modification time), the `.gitignore` files read and the
    virtualenvs skipped (root-relative, "" for the root).
    """
    root = root.resolve()
    if root.is_file():
        kind = classify(root.name)
        return [SourceFile(root.name, kind)] if kind else []
    import pathspec

    excludes = pathspec.GitIgnoreSpec.from_lines(list(exclude))
    found = [
        SourceFile(rel, kind)
        for rel in _walk(root, excludes, [] if inputs is None else inputs)
        if (kind := classify(rel)) is not None
    ]
    return sorted(found, key=lambda f: f.path)


def _walk(root: Path, excludes: pathspec.GitIgnoreSpec, inputs: list[str]) -> Iterator[str]:
    # Each entry: (directory, its path relative to root, the ignore specs in force with
    # the folder each is relative to).
    stack: list[tuple[Path, str, tuple[tuple[str, pathspec.GitIgnoreSpec], ...]]] = [(root, "", ())]
    while stack:
        directory, rel_dir, specs = stack.pop()
        inputs.append(rel_dir)
        spec = _ignore_spec(directory)
        if spec is not None:
            specs = (*specs, (rel_dir, spec))
            inputs.append(f"{rel_dir}/.gitignore" if rel_dir else ".gitignore")
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_link = entry.is_symlink()
            except OSError:
                continue
            try:
                is_file = entry.is_file()  # follows a link
            except OSError:  # a loop of links
                is_file = False
            if is_link and not _link_to_file_inside(Path(entry.path), root):
                continue
            # FIFOs, sockets and devices: reading one could block forever. A broken or
            # looping link inside the root is kept, to be reported as unreadable.
            if not is_dir and not is_file and not is_link:
                continue
            if _ignored(rel, is_dir, specs) or excludes.match_file(rel + ("/" if is_dir else "")):
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if _is_virtualenv(Path(entry.path)):
                    inputs.append(rel)  # it stops being one: its entries change
                    continue
                stack.append((Path(entry.path), rel, specs))
            else:
                yield rel


def _link_to_file_inside(link: Path, root: Path) -> bool:
    """Whether a symbolic link is scanned: it stays inside the root and does not name a
    folder (a link to a folder is never followed: loops, or the whole disk). A broken
    link or a loop of links is kept (reading it fails: a CA001 finding), unless its
    target is outside the root."""
    try:
        target = link.resolve()
    except RuntimeError:  # a loop of links (Python < 3.13)
        return True
    except OSError:
        return False
    if not target.is_relative_to(root):
        return False
    try:
        return not target.is_dir() and (target.is_file() or not os.path.exists(link))
    except OSError:
        return False


def _ignored(rel: str, is_dir: bool, specs: tuple[tuple[str, pathspec.GitIgnoreSpec], ...]) -> bool:
    for base, spec in specs:
        sub = rel[len(base) + 1 :] if base else rel
        if spec.match_file(sub + ("/" if is_dir else "")):
            return True
    return False


def gitignore_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A test of relative POSIX paths against gitignore-style `patterns` (configured
    excludes and per-file ignores use the same syntax as .gitignore)."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(patterns)).match_file
