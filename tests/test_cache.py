"""The fact cache: identical results, exact invalidation, JSON only, in its own folder."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import celery_audit
import celery_audit.audit
from celery_audit import runs, signing
from celery_audit.audit import audit
from celery_audit.cache import CACHE_DIR, FactCache, facts_body
from celery_audit.cli import main
from celery_audit.discover import discover
from celery_audit.extract import extract_bytes, extract_file
from celery_audit.graph import ProjectGraph
from celery_audit.model.facts import FileFacts, FileKind, SourceFile
from celery_audit.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ALL = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.fixture(autouse=True)
def _default_cache_location(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about where the cache goes by default: in the scanned tree."""
    monkeypatch.delenv("CELERY_AUDIT_CACHE_DIR", raising=False)


def _scan(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", *args])
    return result.exit_code, result.stdout, result.stderr


def test_facts_digest_is_canonical() -> None:
    """Equal facts, equal digests (whatever the bytes they came from); a digest names
    the version too, so a class that gained a field never meets its old pickles."""
    count = 0
    for name in ALL:
        for source in discover(FIXTURES / name):
            facts = extract_file(FIXTURES / name, source)
            digest, body = facts_body(facts)
            assert pickle.loads(body) == facts
            again = extract_file(FIXTURES / name, source)
            assert again is not facts and facts_body(again)[0] == digest
            count += 1
    assert count > 200
    python = FIXTURES / "seed_app"
    facts = extract_file(python, SourceFile("app.py", FileKind.PYTHON))
    moved = extract_bytes(facts.source, (python / "app.py").read_bytes() + b"\n# a comment\n")
    assert facts_body(moved)[0] == facts_body(facts)[0]


@pytest.mark.parametrize("fixture", ALL)
def test_cache_does_not_change_the_output(fixture: str, tmp_path: Path) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    uncached = _scan(root, "--no-cache")
    assert not (root / CACHE_DIR).exists()
    assert _scan(root) == uncached  # cold: writes the cache
    assert (root / CACHE_DIR / ".gitignore").read_text().endswith("\n*\n")
    assert _scan(root) == uncached  # warm: served from it


def _project(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "app.py").write_text("from celery import Celery\ncelery = Celery(__name__)\n")
    (root / "pkg" / "tasks.py").write_text(
        "from pkg.app import celery\n\n@celery.task\ndef add(x, y):\n    return x + y\n"
    )
    (root / "pkg" / "plain.py").write_text("VALUE = 1\n")
    (root / "pkg" / "jobs.py").write_text(
        "from pkg.tasks import add\n\ndef go():\n    my_task(1)\n"
    )
    (root / "Procfile").write_text("worker: celery -A pkg.app worker\n")
    return root


def _run(root: Path, settings: Settings | None = None, **kwargs: object) -> FactCache:
    key = signing.secret()
    assert key is not None
    cache = FactCache(root / CACHE_DIR, root, key)
    audit(root, settings=settings or Settings(), cache=cache, **kwargs)  # type: ignore[arg-type]
    return cache


ALL_FILES = {"Procfile", "pkg/__init__.py", "pkg/app.py", "pkg/tasks.py", "pkg/plain.py",
             "pkg/jobs.py"}  # fmt: skip


def _forget_runs(root: Path) -> None:
    """Drop the run records: the next scan links and renders for itself."""
    for record in (root / CACHE_DIR).glob("run-*.json"):
        record.unlink()


def _stored(cache: FactCache) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The keys file (path -> [key, digest, content, signature]) and the facts (digest ->
    JSON text)."""
    keys = json.loads(cache.keys_index.read_bytes())["files"]
    facts: dict[str, bytes] = {}
    for shard in cache.facts_files:
        if shard.exists():
            facts.update(_unsigned(shard)["facts"])
    return keys, facts


def _unsigned(path: Path) -> Any:
    """What a signed cache file holds (it is this test's own)."""
    key = signing.secret()
    assert key is not None
    data = signing.verify(key, path.read_bytes())
    assert data is not None
    return pickle.loads(zlib.decompress(data))


def _signed(path: Path, value: object, key: bytes | None = None) -> None:
    key = key or signing.secret()
    assert key is not None
    path.write_bytes(signing.sign(key, zlib.compress(pickle.dumps(value))))


def _bytes(cache: FactCache) -> list[bytes]:
    """Every file of the cache but the linked project, as it is on disk."""
    return [p.read_bytes() for p in (cache.keys_index, *cache.facts_files) if p.exists()]


def test_what_invalidates_what(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "repo")
    first = _run(root)
    assert set(first.misses) == ALL_FILES and first.hits == []
    stored = _bytes(first)
    assert not first.linked_hit
    warm = _run(root)
    # Nothing changed: the last run's linked project stands, no facts are even decoded.
    assert warm.linked_hit and warm.misses == [] and warm.hits == []
    assert _bytes(first) == stored  # nothing written

    # An edit that leaves the facts as they were (a comment at the end): the file is
    # extracted again, its new key recorded, and the linked project still stands.
    plain = root / "pkg" / "plain.py"
    plain.write_text("VALUE = 1\n# the default\n")
    same = _run(root)
    assert same.linked_hit and same.misses == ["pkg/plain.py"] and same.hits == []
    assert _bytes(first)[1:] == stored[1:]  # the same facts: the same facts files
    assert _run(root).misses == []

    plain.write_text("VALUE = 2\n\ndef helper():\n    return VALUE\n")  # an edit of the facts
    edited = _run(root)
    assert not edited.linked_hit and edited.misses == ["pkg/plain.py"]
    assert set(edited.hits) == ALL_FILES - {"pkg/plain.py"}
    keys, facts = _stored(edited)
    assert set(keys) == ALL_FILES and set(facts) == {entry[1] for entry in keys.values()}
    plain.rename(root / "pkg" / "other.py")  # rename
    renamed = _run(root)
    assert renamed.misses == ["pkg/other.py"] and not renamed.linked_hit
    (root / "pkg" / "other.py").unlink()  # delete
    cache = _run(root)
    keys, facts = _stored(cache)
    assert cache.misses == [] and not cache.linked_hit
    assert "pkg/other.py" not in keys and len(facts) == len(ALL_FILES) - 1  # pruned

    # A setting that changes extraction (the prefilter vocabulary) invalidates everything;
    # one that does not (a rule selection) nothing, not even the linked project.
    assert _run(root, Settings(select=("CA2",))).linked_hit
    left = ALL_FILES - {"pkg/plain.py"}
    assert set(_run(root, Settings(task_decorators=("my_task",))).misses) == left
    assert _run(root, Settings(task_decorators=("my_task",))).misses == []

    monkeypatch.setattr(celery_audit, "__version__", "999.0")  # upgrade
    assert set(_run(root).misses) == left


def test_unchanged_files_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose stat signature is the one recorded with its content hash is not
    read again; one written around the start of the run that read it is (its signature
    could survive a second write)."""
    root = _project(tmp_path / "repo")
    read: list[str] = []
    read_source = celery_audit.audit.read_source

    def counted(base: Path, source: SourceFile) -> object:
        read.append(source.path)
        return read_source(base, source)

    monkeypatch.setattr(celery_audit.audit, "read_source", counted)
    _run(root)  # the files were just written: their signatures are not recorded
    read.clear()
    _run(root)
    assert set(read) == ALL_FILES
    monkeypatch.setattr(runs, "now_ns", lambda: time.time_ns() + 10_000_000_000)
    _run(root)  # a run that starts well after the last writes records them
    read.clear()
    assert _run(root).linked_hit and read == []
    plain = root / "pkg" / "plain.py"
    stat = plain.stat()
    plain.write_text("VALUE = 3\n")  # same size, modification time put back
    os.utime(plain, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    edited = _run(root)
    assert read == ["pkg/plain.py"] and edited.misses == ["pkg/plain.py"]
    expected = _scan(root, "--no-cache")
    read.clear()
    _forget_runs(root)
    assert _scan(root) == expected and read == []


def test_unusable_caches_are_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path / "repo")
    expected = _scan(root, "--no-cache")
    cache = _run(root)
    keys, linked = cache.keys_index, cache.linked_index
    # A linked project that does not load (or is someone else's) is not used.
    good = _unsigned(linked)
    bad = [dict(good, key="another"), dict(good, linked="not a project"), [1]]
    for garbage in (b"", b"\x00\xff", linked.read_bytes()[:-9], *bad):
        if isinstance(garbage, bytes):
            linked.write_bytes(garbage)
        else:
            _signed(linked, garbage)
        again = _run(root)
        assert not again.linked_hit and again.misses == []
        linked.unlink()
        _forget_runs(root)
        assert _scan(root) == expected
    linked.unlink()
    # Facts under the right digest that do not unpickle to the file's facts: only that
    # file is extracted again.
    digest = json.loads(keys.read_bytes())["files"]["pkg/app.py"][1]
    shard = cache.facts_files[int(digest[0], 16)]
    data = _unsigned(shard)
    other = pickle.dumps(FileFacts(SourceFile("pkg/other.py", FileKind.PYTHON)))
    for wrong in (b"", b"\x80\x05garbage", other, pickle.dumps("a string")):
        data["facts"][digest] = wrong
        _signed(shard, data)
        assert _run(root).misses == ["pkg/app.py"]
        _forget_runs(root)
        assert _scan(root) == expected
        linked.unlink()
    for garbage in (b"", b"\x00\xff", b"[1, 2]", b'{"files": 3}', b'{"format": 6, "files": {"pkg/app.py": 1}}'):  # fmt: skip
        keys.write_bytes(garbage)
        linked.unlink(missing_ok=True)
        assert set(_run(root).misses) >= ({"pkg/app.py"} if b"app" in garbage else ALL_FILES)
        _forget_runs(root)
        assert _scan(root) == expected


class _Payload:
    """Unpickling this runs `open(path, "w")`: what a hostile cache file would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


def test_a_cache_file_not_signed_by_this_user_is_never_unpickled(tmp_path: Path) -> None:
    """The cache lies in the scanned tree: a repository could ship one. Files signed
    with another key, or not at all, are ignored without being unpickled."""
    root = _project(tmp_path / "repo")
    expected = _scan(root, "--no-cache")
    cache = _run(root)
    proof = tmp_path / "unpickled"
    payload = {"format": 6, "facts": {d: pickle.dumps(_Payload(proof)) for d in "0123456789abcdef"}}
    linked = {"format": 6, "key": "x", "linked": _Payload(proof)}
    for key in (b"k" * 32, None):
        for path, value in (
            (cache.linked_index, linked),
            *((s, payload) for s in cache.facts_files),
        ):
            if key is None:
                path.write_bytes(zlib.compress(pickle.dumps(value)))
            else:
                _signed(path, value, key)
        _forget_runs(root)
        assert _scan(root) == expected
        assert not proof.exists()
    # The control: under the user's own signature the payload does run when loaded.
    _signed(cache.linked_index, linked)
    _unsigned(cache.linked_index)
    assert proof.exists()


def test_without_a_secret_there_is_no_fact_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "repo")
    expected = _scan(root, "--no-cache")
    (tmp_path / "home").write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert signing.secret() is None
    assert _scan(root) == expected and _scan(root) == expected
    assert not list((root / CACHE_DIR).glob("facts-*")) and not list(
        (root / CACHE_DIR).glob("keys-*")
    )


def test_the_secret_is_private_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = signing.secret()
    path = tmp_path / "cache" / "celery-audit" / "secret"
    assert key is not None and len(key) == 32 and path.read_bytes() == key
    assert path.stat().st_mode & 0o777 == 0o600
    signing._cached.clear()
    assert signing.secret() == key


def test_an_unchanged_tree_is_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery is skipped while no folder it listed, `.gitignore` it read or
    virtualenv it skipped has changed, the excludes and the build being the same."""
    root = _project(tmp_path / "repo")
    walks: list[int] = []
    discover_ = celery_audit.audit.discover

    def counted(*args: object, **kwargs: object) -> list[SourceFile]:
        walks.append(1)
        return discover_(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(celery_audit.audit, "discover", counted)
    _run(root)
    _run(root)
    assert len(walks) == 2  # the tree was just written: not recorded
    monkeypatch.setattr(runs, "now_ns", lambda: time.time_ns() + 10_000_000_000)
    _run(root)
    walks.clear()
    assert _run(root).linked_hit and walks == []
    changes = [
        lambda: (root / "pkg" / "late.py").write_text("from pkg.tasks import add\n"),
        lambda: (root / "pkg" / "late.py").rename(root / "pkg" / "later.py"),
        lambda: (root / ".gitignore").write_text("pkg/later.py\n"),
        lambda: (root / ".gitignore").write_text("pkg/jobs.py\n"),
        lambda: (root / "pkg" / "sub").mkdir(),
        lambda: (root / "pkg" / "sub" / "deep.py").write_text("VALUE = 1\n"),
        lambda: (root / "tools").mkdir() or (root / "tools" / "pyvenv.cfg").write_text(""),
        lambda: (root / "tools" / "pyvenv.cfg").unlink(),  # no longer a virtualenv
    ]
    for number, change in enumerate(changes):
        change()
        walks.clear()
        _run(root)
        assert walks == [1], number
        _forget_runs(root)
        assert _scan(root) == _scan(root, "--no-cache")
        walks.clear()
        _run(root)
        assert walks == []
    _run(root, Settings(exclude=("pkg/sub/",)))
    assert walks == [1]
    monkeypatch.setattr(runs, "_CODE", ["another build"])
    _run(root, Settings(exclude=("pkg/sub/",)))
    assert walks == [1, 1]


def test_import_cycles_are_reused_while_the_imports_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding import cycles needs networkx (0.1-0.2 s to import): a run whose edit
    changed no module-level import (nor its position) reuses the last answer."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "ca401_circular_import", root)
    computed: list[int] = []
    cycles = ProjectGraph._cycles

    def counted(self: ProjectGraph, modules: set[str], imports: list[tuple[str, str]]) -> object:
        computed.append(1)
        return cycles(self, modules, imports)

    monkeypatch.setattr(ProjectGraph, "_cycles", counted)
    expected = _scan(root, "--no-cache")
    assert '"CA401"' in expected[1]
    computed.clear()
    _run(root)
    assert len(computed) == 1
    module = sorted(root.rglob("*.py"))[0]
    module.write_text(module.read_text() + "\n\ndef added_later():\n    return 1\n")
    edited = _run(root)
    assert not edited.linked_hit and len(computed) == 1  # relinked, cycles reused
    _forget_runs(root)
    assert _scan(root) == _scan(root, "--no-cache")
    module.write_text("\n\n" + module.read_text())  # every import moves down two lines
    _run(root)
    assert len(computed) > 1
    _forget_runs(root)
    assert _scan(root) == _scan(root, "--no-cache")


def test_files_of_older_formats_are_removed(tmp_path: Path) -> None:
    root = _project(tmp_path / "repo")
    cache = _run(root)
    name = cache.keys_index.name.removeprefix("keys-").removesuffix(".json")
    old = [cache.folder / f"facts-{name}.json", cache.folder / f"facts-{name}-3.json",
           cache.folder / f"linked-{name}.json"]  # fmt: skip
    other = cache.folder / "facts-0123456789abcdef.json"  # another root's
    for path in (*old, other):
        path.write_text("{}")
    (root / "pkg" / "plain.py").write_text("VALUE = 2\n\ndef changed():\n    pass\n")
    _run(root)
    assert not any(path.exists() for path in old) and other.exists()
    assert cache.keys_index.exists()


def test_cache_locations(tmp_path: Path) -> None:
    root = _project(tmp_path / "repo")
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    _scan(root, "--no-cache")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before
    elsewhere = tmp_path / "elsewhere"
    _scan(root, "--cache-dir", str(elsewhere))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before
    assert (elsewhere / ".gitignore").is_file() and list(elsewhere.glob("facts-*.bin"))
    _scan(root)
    after = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    created = set(after) - set(before)
    assert created and all(p.startswith(CACHE_DIR) for p in created)
    assert not [p for p in created if ".tmp" in p]  # no temporary file left behind


def test_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "repo")
    expected = _scan(root, "--no-cache")
    (tmp_path / "file").write_text("")
    assert _scan(root, "--cache-dir", str(tmp_path / "file" / "cache")) == expected


def test_an_unusable_secret_is_replaced_and_a_good_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret file of the wrong size (a run killed while writing it) would disable the
    fact cache for good: it is replaced by a usable one. A usable one is never
    replaced, and no temporary file is left beside it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "cache" / "celery-audit" / "secret"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    signing._cached.clear()
    key = signing.secret()
    assert key is not None and len(key) == 32 and path.read_bytes() == key
    assert path.stat().st_mode & 0o777 == 0o600
    signing._cached.clear()
    assert signing.secret() == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]
    root = _project(tmp_path / "repo")
    assert _scan(root) == _scan(root, "--no-cache")
    assert list((root / CACHE_DIR).glob("facts-*"))  # the cache works


def test_runs_creating_the_secret_at_once_all_use_the_one_published(tmp_path: Path) -> None:
    import multiprocessing

    path = str(tmp_path / "cache" / "celery-audit" / "secret")
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    with context.Pool(8) as pool:
        keys = pool.map(signing._load_or_create, [path] * 32)
    assert len(set(keys)) == 1 and keys[0] is not None and len(keys[0]) == 32
    assert Path(path).read_bytes() == keys[0]
