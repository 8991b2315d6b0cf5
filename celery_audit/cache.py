"""The per-file fact cache: `FileFacts` stored as JSON, keyed by what decides them,
and the linked project of the last run, keyed by all of its inputs.

A key is the sha256 of the file's bytes, the tool version, the prefilter vocabulary
(configured names), the file kind and its path: facts are a pure function of those
(`extract/__init__.py`). The store is one (zlib-compressed) JSON index per scanned root and written once
per run, atomically (temporary file + `os.replace`), so two concurrent runs each leave a
whole index and the last one wins. It holds exactly the entries of the last run: no
pruning is ever needed. An unreadable, corrupt or foreign index, or an entry that does not
decode to the expected types, is a miss and gets extracted again.

JSON, never pickle: the default cache lives inside the scanned tree, and a repository
could ship a cache file of its own. Decoding only builds the frozen dataclasses of
`model/facts.py`, checking every value's type against their annotations.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import tempfile
import types
import typing
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery_audit.model.facts import Directive, FileFacts, FunctionFacts, SourceFile
from celery_audit.model.project import Project

__all__ = ["CACHE_DIR", "FactCache", "decode", "encode", "file_key"]

CACHE_DIR = ".celery_audit_cache"
_FORMAT = 4  # bumped whenever the facts change shape: old entries would decode stale

# -- a typed dataclass <-> JSON codec -----------------------------------------------------


def encode(value: object) -> object:
    """`value` (frozen dataclasses, tuples, dicts with str keys, enums, plain values) as
    JSON-ready data.
    Dataclass fields left at their plain default are omitted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for spec in _fields(type(value)):
            item = getattr(value, spec.name)
            if spec.default is not dataclasses.MISSING and item == spec.default:
                continue
            out[spec.name] = encode(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(name): encode(item) for name, item in value.items()}
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


_T = typing.TypeVar("_T")


def decode(cls: type[_T], data: object) -> _T:
    """The inverse of `encode` for `cls`; ValueError when `data` does not fit its types."""
    result: _T = _decoder(cls)(data)
    return result


_FIELDS: dict[type, tuple[dataclasses.Field[Any], ...]] = {}
_DECODERS: dict[object, Callable[[object], Any]] = {}


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = dataclasses.fields(cls)
    return found


def _decoder(hint: object) -> Callable[[object], Any]:
    """A function turning JSON data into a value of type `hint` (built once per type)."""
    found = _DECODERS.get(hint)
    if found is None:
        found = _DECODERS[hint] = _build(hint)
    return found


def _build(hint: object) -> Callable[[object], Any]:
    if hint is type(None):
        return _exactly(type(None))
    if hint in (str, int, float):
        return _exactly(hint)  # type: ignore[arg-type]
    if hint is bool:
        return _exactly(bool)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = hint

        def to_enum(data: object) -> Any:
            return members(data)

        return to_enum
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _decoder(args[0] if args[1] is type(None) else args[1])

        def to_optional(data: object) -> Any:
            return None if data is None else inner(data)

        return to_optional
    if origin in (typing.Union, types.UnionType):
        options = [_decoder(arg) for arg in args]

        def to_union(data: object) -> Any:
            for option in options:
                try:
                    return option(data)
                except (ValueError, TypeError):
                    continue
            raise ValueError(f"no option of {hint} fits")

        return to_union
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])

        def to_tuple(data: object) -> Any:
            if not isinstance(data, list):
                raise ValueError("expected a list")
            return tuple(item(element) for element in data)

        return to_tuple
    if origin is dict and args and args[0] is str:
        values = _decoder(args[1])

        def to_dict(data: object) -> Any:
            if type(data) is not dict:
                raise ValueError("expected an object")
            return {name: values(item) for name, item in data.items()}

        return to_dict
    if origin is tuple:
        items = [_decoder(arg) for arg in args]

        def to_fixed_tuple(data: object) -> Any:
            if not isinstance(data, list) or len(data) != len(items):
                raise ValueError(f"expected a list of {len(items)}")
            return tuple(item(element) for item, element in zip(items, data, strict=True))

        return to_fixed_tuple
    raise TypeError(f"cannot decode {hint!r}")


def _exactly(expected: type) -> Callable[[object], Any]:
    def check(data: object) -> Any:
        # bool is an int subclass, int is not a float: compare the type itself.
        if type(data) is not expected and not (expected is float and type(data) is int):
            raise ValueError(f"expected {expected.__name__}, got {type(data).__name__}")
        return data

    return check


def _dataclass_decoder(cls: type) -> Callable[[object], Any]:
    """Decodes a frozen dataclass without running its `__init__` (which sets each field
    through `object.__setattr__`: most of the cost of a warm run's decoding): every
    value is checked by its field's decoder, omitted fields take their defaults, and a
    missing required field is an error, as the constructor would make it."""
    hints = typing.get_type_hints(cls)
    specs = _fields(cls)
    decoders: dict[str, Callable[[object], Any]] = {}
    defaults = {s.name: s.default for s in specs if s.default is not dataclasses.MISSING}
    factories = {
        s.name: s.default_factory
        for s in specs
        if s.default_factory is not dataclasses.MISSING  # type: ignore[misc]
    }
    required = frozenset(s.name for s in specs) - set(defaults) - set(factories)
    new = object.__new__

    def to_dataclass(data: object) -> Any:
        if type(data) is not dict:
            raise ValueError(f"expected an object for {cls.__name__}")
        if not decoders:  # built on first use: the classes may refer to each other
            decoders.update({spec.name: _decoder(hints[spec.name]) for spec in specs})
        try:
            arguments = {name: decoders[name](value) for name, value in data.items()}
        except KeyError as error:
            raise ValueError(f"{cls.__name__} has no field {error}") from None
        if not required <= arguments.keys():
            raise ValueError(f"{cls.__name__} misses {sorted(required - arguments.keys())}")
        instance: Any = new(cls)
        fields = instance.__dict__
        fields.update(defaults)
        for name, factory in factories.items():
            fields[name] = factory()
        fields.update(arguments)
        return instance

    return to_dataclass


# -- the cache --------------------------------------------------------------------------


def file_key(data: bytes, source: SourceFile, *, version: str, vocabulary: tuple[str, ...]) -> str:
    """What decides a file's facts, hashed."""
    digest = hashlib.sha256()
    for part in (version, source.kind.value, source.path, "\x1f".join(vocabulary)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class Linked:
    """What the last run made of its files when none changed since: the linked project,
    and the suppression directives (with the functions around them) by path."""

    project: Project
    directives: dict[str, tuple[Directive, ...]]
    functions: dict[str, tuple[FunctionFacts, ...]]


class FactCache:
    """The facts of the last run at one scanned root, in `folder`.

    `hits` and `misses` list the paths served from the cache and extracted in this run.
    """

    def __init__(self, folder: Path, root: Path) -> None:
        self.folder = folder
        name = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:16]
        self.index = folder / f"facts-{name}.json"
        self.linked_index = folder / f"linked-{name}.json"
        self.hits: list[str] = []
        self.misses: list[str] = []
        self.linked_hit = False  # the run reused the last run's linked project
        self._old: dict[str, Any] | None = None
        self._new: dict[str, list[object]] = {}
        self._changed = False

    def _load(self) -> dict[str, Any]:
        if self._old is None:
            self._old = {}
            try:
                with open(self.index, "rb") as handle:
                    data = json.loads(zlib.decompress(handle.read()))
            except (OSError, ValueError, zlib.error):
                return self._old
            if isinstance(data, dict) and data.get("format") == _FORMAT:
                entries = data.get("entries")
                if isinstance(entries, dict):
                    self._old = entries
        return self._old

    def get(self, source: SourceFile, key: str) -> FileFacts | None:
        """The cached facts of `source` under `key`, or None (a miss)."""
        entry = self._load().get(source.path)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == key:
            try:
                facts = decode(FileFacts, entry[1])
            except (ValueError, TypeError, KeyError):
                facts = None
            if facts is not None and facts.source == source:
                self.hits.append(source.path)
                self._new[source.path] = entry
                return facts
        self.misses.append(source.path)
        return None

    def get_linked(self, key: str) -> Linked | None:
        """The linked project stored under `key` (the run's every input), or None."""
        try:
            with open(self.linked_index, "rb") as handle:
                data = json.loads(zlib.decompress(handle.read()))
            if data.get("format") != _FORMAT or data.get("key") != key:
                return None
            linked = decode(Linked, data["linked"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError, zlib.error):
            return None
        self.linked_hit = True
        return linked

    def put_linked(self, key: str, linked: Linked) -> None:
        """Store this run's linked project (written at once, atomically)."""
        body = {"format": _FORMAT, "key": key, "linked": encode(linked)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._ignore_file()
            text = json.dumps(body, separators=(",", ":")).encode()
            _atomic_write(self.linked_index, zlib.compress(text, 1))
        except OSError:
            pass

    def _ignore_file(self) -> None:
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            _atomic_write(ignore, b"# Automatically created by celery-audit.\n*\n")

    def put(self, key: str, facts: FileFacts) -> None:
        self._new[facts.source.path] = [key, encode(facts)]
        self._changed = True

    def save(self) -> None:
        """Write this run's entries (only when they differ from what was read). A cache
        that cannot be written is no error: the next run extracts again."""
        if not self._changed and set(self._new) == set(self._load()):
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._ignore_file()
            body = {"format": _FORMAT, "entries": dict(sorted(self._new.items()))}
            text = json.dumps(body, separators=(",", ":")).encode()
            _atomic_write(self.index, zlib.compress(text, 1))
        except OSError:
            pass


def _atomic_write(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
