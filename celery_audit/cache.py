"""The fact cache: each file's `FileFacts`, keyed by what decides them, and the linked
project of the last run, keyed by all of its inputs.

A file's key is the sha256 of its bytes, the build (`runs.build`), the prefilter vocabulary
(configured names), the file kind and its path: facts are a pure function of those
(`extract/__init__.py`). Its facts are stored under their own digest (of their
pickle: `facts_body`), so the linked project's key is made of facts, not bytes: an
edit that changes no fact changes no linked key. Each file of the cache (`FactCache`)
is written whole, only when it changed, atomically (temporary file + `os.replace`), so
two concurrent runs each leave whole files and the last one wins; a keys file naming
facts that another run's shard lacks is merely a miss. The files hold exactly the
entries of the last run: no pruning is ever needed. An unreadable, corrupt, foreign or
unsigned file, or an entry that does not unpickle to the file's facts, is a miss and
gets extracted again.

Facts and linked projects are pickled (2-3x faster to load than JSON decoded into
checked dataclasses), and signed: the default cache lives inside the scanned tree, and
a repository could ship a cache file of its own, so nothing is unpickled unless it
carries this user's signature (signing.py). The keys file is plain JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery_audit import runs
from celery_audit.model.facts import FileFacts, FileKind, SourceFile
from celery_audit.runs import CACHE_DIR, write_atomically
from celery_audit.signing import sign, verify

if TYPE_CHECKING:
    from celery_audit.model.project import Linked

__all__ = ["CACHE_DIR", "FactCache", "facts_body", "facts_digest", "file_key", "unpickled_facts"]

_FORMAT = 11  # bumped whenever the facts change shape: old entries would decode stale

# -- the cache --------------------------------------------------------------------------


def file_key(content: str, source: SourceFile, *, version: str, vocabulary: tuple[str, ...]) -> str:
    """What decides a file's facts, hashed (`content`: the sha256 of its bytes)."""
    digest = hashlib.sha256()
    for part in (version, source.kind.value, source.path, "\x1f".join(vocabulary), content):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def facts_body(facts: FileFacts) -> tuple[str, bytes]:
    """The facts' digest and `facts` as stored (pickled). The digest is the sha256 of
    the pickle, with the format and the build (a class that gained a field must not
    meet its old pickles): pickling is deterministic, so facts extracted again come out
    with the same digest, whatever the bytes they came from. (Were two equal facts ever
    to pickle differently, say with a string shared in one and copied in the other, the
    cost would be one linking too many, never a wrong result: unequal facts never share
    a digest.)"""
    body = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(f"{_FORMAT}\x00{runs.build()}\x00".encode())
    digest.update(body)
    return digest.hexdigest(), body


def facts_digest(facts: FileFacts) -> str:
    return facts_body(facts)[0]


def unpickled_facts(body: bytes) -> FileFacts:
    """The facts a `facts_body` of this run holds: one an extraction worker made and
    sent (the facts are sent once, as the cache stores them). Never a body read from
    disk: those are unpickled only once their signature is checked (`FactCache`)."""
    facts = pickle.loads(body)
    if not isinstance(facts, FileFacts):
        raise TypeError(f"not facts: {type(facts).__name__}")
    return facts


def _read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing, unreadable or not JSON."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return None


def _read_signed(path: Path, key: bytes) -> Any:
    """The object pickled in `path` under this user's signature, or None when the file
    is missing, unreadable or not signed by this user (then it is never unpickled)."""
    try:
        with open(path, "rb") as handle:
            data = verify(key, handle.read())
        return None if data is None else pickle.loads(zlib.decompress(data))
    except (OSError, zlib.error, pickle.UnpicklingError, EOFError, AttributeError,
            ImportError, IndexError, TypeError, ValueError):  # fmt: skip
        return None


SHARDS = 16  # facts files per root, by a digest's first hex digit


_HEX = frozenset("0123456789abcdef")


def _shard(digest: str) -> int:
    return int(digest[0], 16) if digest[:1] in _HEX else 0


class FactCache:
    """The facts of the last run at one scanned root, in `folder`:

    - `keys-*.json`: each file's path -> [its key, the digest of its facts, the sha256
      of its bytes, its stat signature when the run that read it started safely after
      its last change (see runs.py); a file with that signature again is not read];
    - `facts-*-<0..f>.bin`: each digest -> the facts (pickled, unpickled only when
      needed), in 16 shards by the digest's first digit, so that a run that changed one
      file's facts rewrites a sixteenth of them;
    - `linked-*.bin`: the linked project, under the key of all paths and digests.

    Binary files are signed with the user's secret (signing.py) and never unpickled
    unless the signature verifies.

    A file whose bytes changed but whose facts did not (a comment, a blank line at the
    end, an edit outside anything celery-audit reads) keeps its digest, so the linked
    project still stands. `hits` and `misses` list the paths whose facts were decoded
    from the cache and extracted in this run.
    """

    def __init__(self, folder: Path, root: Path, secret: bytes) -> None:
        self.folder = folder
        self._secret = secret
        name = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:16]
        self.keys_index = folder / f"keys-{name}.json"
        self.facts_files = [folder / f"facts-{name}-{shard:x}.bin" for shard in range(SHARDS)]
        self.linked_index = folder / f"linked-{name}.bin"
        self.cycles_index = folder / f"cycles-{name}.bin"
        self._cycles: dict[str, Any] | None = None
        self._name = name
        self._old_formats_gone = False  # looked for once, at the first write
        self.hits: list[str] = []
        self.misses: list[str] = []
        self.linked_hit = False  # the run reused the last run's linked project
        self._keys: dict[str, Any] | None = None
        self._old_tree: dict[str, Any] | None = None
        self._new_tree: dict[str, Any] | None = None
        self._bodies: dict[int, dict[str, Any]] = {}  # the shards read, by number
        self._new_keys: dict[str, list[Any]] = {}
        self._new_bodies: dict[str, bytes] = {}
        self._dirty: set[int] = set()  # shards that lack (or hold a broken) entry
        self._stored_digests: set[str] | None = None
        self.started_ns = runs.now_ns()  # signatures at or after this are not trusted later

    def _entry(self, path: str) -> list[Any] | None:
        """The last run's entry for `path`, if it has the expected shape."""
        entry = self._old_keys().get(path)
        if isinstance(entry, list) and len(entry) == 4 and all(isinstance(e, str) for e in entry[:3]):  # fmt: skip
            return entry
        return None

    def content(self, source: SourceFile, signature: list[int] | None) -> str | None:
        """The sha256 of `source`'s bytes when its stat `signature` is the one recorded
        with it (the file is then not read), else None."""
        entry = self._entry(source.path)
        if signature is not None and entry is not None and entry[3] == signature:
            return str(entry[2])
        return None

    def _stored(self) -> set[str]:
        """The digests the facts files are meant to hold: those the keys file names."""
        if self._stored_digests is None:
            entries = self._old_keys().values()
            self._stored_digests = {e[1] for e in entries if isinstance(e, list) and len(e) == 4}
        return self._stored_digests

    def _old_keys(self) -> dict[str, Any]:
        if self._keys is None:
            data = _read_json(self.keys_index)
            ok = isinstance(data, dict) and data.get("format") == _FORMAT
            files = data.get("files") if ok else None
            tree = data.get("tree") if ok else None
            self._keys = files if isinstance(files, dict) else {}
            self._old_tree = tree if isinstance(tree, dict) else None
        return self._keys

    def tree(
        self, base: Path, exclude: tuple[str, ...]
    ) -> tuple[list[SourceFile], list[str]] | None:
        """The files the last run discovered under `base` with `exclude`, and what
        discovery looked at (root-relative), when none of that has changed since: no
        folder listed, `.gitignore` read or virtualenv skipped has a new signature (an
        entry added, removed or renamed changes its folder's). Else None: walk again."""
        self._old_keys()
        tree = self._old_tree
        if (
            tree is None
            or tree.get("exclude") != list(exclude)
            or tree.get("build") != runs.build()
        ):
            return None
        inputs, found = tree.get("inputs"), tree.get("found")
        if not isinstance(inputs, dict) or not isinstance(found, list):
            return None
        folder = os.path.abspath(base)
        for path, recorded in inputs.items():
            if recorded is None or runs.signature(os.path.join(folder, path)) != recorded:
                return None
        try:
            files = [SourceFile(path, FileKind(kind)) for path, kind in found]
        except (TypeError, ValueError):
            return None
        self._new_tree = tree
        return files, list(inputs)

    def put_tree(
        self, base: Path, exclude: tuple[str, ...], inputs: list[str], files: list[SourceFile]
    ) -> None:
        """Record this run's discovery (written by `save`); not when a folder or file it
        looked at changed around the run's start (a later change could keep its
        signature)."""
        folder = os.path.abspath(base)
        signatures = {path: runs.signature(os.path.join(folder, path)) for path in inputs}
        if any(sig is None or runs.racy(sig, self.started_ns) for sig in signatures.values()):
            return
        self._new_tree = {
            "build": runs.build(),  # what a file's kind is, which folders are skipped
            "exclude": list(exclude),
            "inputs": signatures,
            "found": [[f.path, f.kind.value] for f in files],
        }

    def _old_bodies(self, shard: int) -> dict[str, Any]:
        found = self._bodies.get(shard)
        if found is None:
            data = _read_signed(self.facts_files[shard], self._secret)
            ok = isinstance(data, dict) and data.get("format") == _FORMAT
            facts = data.get("facts") if ok else None
            found = self._bodies[shard] = facts if isinstance(facts, dict) else {}
        return found

    def digest(
        self, source: SourceFile, key: str, signature: list[int] | None = None
    ) -> str | None:
        """The digest of the facts stored for `source` under `key`, or None (a miss).
        Nothing is decoded: `facts` does that if the run needs them."""
        entry = self._entry(source.path)
        if entry is not None and entry[0] == key:
            self._new_keys[source.path] = [key, entry[1], entry[2], signature]
            return str(entry[1])
        return None

    def facts(self, source: SourceFile, digest: str) -> FileFacts | None:
        """The stored facts of `source` with `digest`, or None when they are missing or
        do not decode to `source`'s facts (the file is then extracted again)."""
        body = self._old_bodies(_shard(digest)).get(digest)
        found = None
        if isinstance(body, bytes):  # signed with the rest of its shard: safe to unpickle
            try:
                found = pickle.loads(body)
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                    IndexError, TypeError, ValueError):  # fmt: skip
                found = None
        if not isinstance(found, FileFacts) or found.source != source or not isinstance(body, bytes):  # fmt: skip
            self._new_keys.pop(source.path, None)
            self._dirty.add(_shard(digest))
            return None
        self.hits.append(source.path)
        self._new_bodies[digest] = body
        return found

    def put(
        self,
        key: str,
        facts: FileFacts,
        *,
        stored: tuple[str, bytes] | None = None,
        content: str = "",
        signature: list[int] | None = None,
    ) -> str:
        """Store the facts extracted under `key` from bytes hashing to `content` (with
        the file's stat `signature`; `stored`: their `facts_body`, when it was already
        made); their digest."""
        digest, body = stored or facts_body(facts)
        self.misses.append(facts.source.path)
        self._new_keys[facts.source.path] = [key, digest, content, signature]
        if digest not in self._stored():
            self._dirty.add(_shard(digest))
        self._new_bodies[digest] = body
        return digest

    def get_linked(self, key: str) -> Linked | None:
        """The linked project stored under `key` (the run's every input), or None."""
        from celery_audit.model.project import Linked

        data = _read_signed(self.linked_index, self._secret)
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("key") != key:
            return None
        linked = data.get("linked")
        if not isinstance(linked, Linked):
            return None
        self.linked_hit = True
        return linked

    def known_cycles(self) -> dict[str, Any]:
        """The import cycles the last link computed, by what decided them (graph.py);
        the caller may update the dict, and `put_known_cycles` stores it."""
        data = _read_signed(self.cycles_index, self._secret)
        ok = isinstance(data, dict) and data.get("format") == _FORMAT
        known = data.get("cycles") if ok else None
        self._cycles = dict(known) if isinstance(known, dict) else {}
        return dict(self._cycles)

    def put_known_cycles(self, known: dict[str, Any]) -> None:
        if known != self._cycles:
            self._write_signed(self.cycles_index, {"format": _FORMAT, "cycles": known})
            self._cycles = dict(known)

    def put_linked(self, key: str, linked: Linked) -> None:
        """Store this run's linked project (written at once, atomically)."""
        self._write_signed(self.linked_index, {"format": _FORMAT, "key": key, "linked": linked})

    def save(self) -> None:
        """Write this run's keys, and each shard of facts whose set changed (a file
        whose facts are new, or gone). Each file is written whole and atomically; a
        cache that cannot be written is no error: the next run extracts again."""
        keys = {
            path: entry if not runs.racy(entry[3], self.started_ns) else [*entry[:3], None]
            for path, entry in sorted(self._new_keys.items())
        }
        stored = self._stored()  # before the keys file is replaced
        if keys != self._old_keys() or self._new_tree != self._old_tree:
            body = {"format": _FORMAT, "files": keys, "tree": self._new_tree}
            self._write(self.keys_index, json.dumps(body, separators=(",", ":")).encode())
            self._keys, self._old_tree = dict(keys), self._new_tree
        wanted = {entry[1] for entry in keys.values()}
        changed = {_shard(digest) for digest in wanted ^ stored} | self._dirty
        for shard in sorted(changed):
            old = self._old_bodies(shard)
            mine = sorted(d for d in wanted if _shard(d) == shard)
            bodies = {d: b for d in mine if (b := self._new_bodies.get(d) or old.get(d))}
            self._write_signed(self.facts_files[shard], {"format": _FORMAT, "facts": bodies})
            self._bodies[shard] = bodies
        self._stored_digests, self._dirty = wanted, set()

    def _write(self, target: Path, data: bytes) -> None:
        write_atomically(self.folder, target, data)

    def _write_signed(self, target: Path, value: object) -> None:
        data = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self._write(target, sign(self._secret, data))
        if not self._old_formats_gone:
            self._old_formats_gone = True
            self._forget_old_formats()

    def _forget_old_formats(self) -> None:
        """Remove the files an older format of this root left behind (JSON facts and
        projects); one that cannot be removed is no error."""
        try:
            for old in self.folder.glob(f"*-{self._name}*.json"):
                if old != self.keys_index:
                    old.unlink(missing_ok=True)
        except OSError:
            pass
