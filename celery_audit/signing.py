"""A per-user secret that signs the cache's binary files.

The fact cache stores facts and linked projects pickled: unpickling is 2-3x faster than
decoding JSON into type-checked dataclasses, and a run whose file gained a fact decodes
every other file's facts. But the default cache folder lies inside the scanned tree,
which a repository controls, and unpickling a file it shipped would run its code. So
every binary cache file carries an HMAC-SHA256 of its bytes under a secret that never
leaves the user's own cache folder (`$XDG_CACHE_HOME/celery-audit/secret`, else
`~/.cache/celery-audit/secret`, created once with mode 0600); a file whose signature
does not verify is never unpickled, only ignored. Without a usable secret (a read-only
home) there is no fact cache at all: runs extract every file, and still replay
unchanged invocations (run records are JSON).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

__all__ = ["secret", "sign", "verify"]

_MAGIC = b"celery-audit signed 1\n"
_SIZE = 32
_cached: dict[str, bytes | None] = {}


def _path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "celery-audit", "secret")


def secret() -> bytes | None:
    """This user's secret (created on first use), or None when it cannot be had."""
    path = _path()
    if path not in _cached:
        _cached[path] = _load_or_create(path)
    return _cached[path]


def _load_or_create(path: str) -> bytes | None:
    """The secret in `path`. A missing one is created, and an unusable one (the wrong
    size: a run killed while writing it, before secrets were published whole) replaced:
    the new secret is written to a private temporary file first, then published under
    `path` whole, so no run ever reads half of one. Of two runs creating it at once the
    first to publish wins and the other reads that one."""
    for _ in range(3):
        try:
            with open(path, "rb") as handle:
                data = handle.read(_SIZE + 1)
            if len(data) == _SIZE:
                return data
            replace = True  # unusable: nothing can have been signed with it
        except FileNotFoundError:
            replace = False
        except OSError:
            return None
        if not _publish(path, replace=replace):
            return None
    return None


def _publish(path: str, *, replace: bool) -> bool:
    """Write a new secret to `path` (`replace`: over the file there); False when the
    folder cannot be written. Losing the race to another run is no failure."""
    import tempfile  # only when the secret is made: 4 ms of every other run

    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".secret.")  # mode 0600
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_SIZE))
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if another run published first
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.replace(temporary, path)
        return True
    except OSError:
        return False
    finally:
        try:  # noqa: SIM105 - what is left of the temporary file, if anything
            os.unlink(temporary)
        except OSError:
            pass


def sign(key: bytes, data: bytes) -> bytes:
    """`data` with its signature."""
    return _MAGIC + hmac.new(key, data, hashlib.sha256).digest() + data


def verify(key: bytes, signed: bytes) -> bytes | None:
    """The data `signed` carries when its signature is this key's, else None."""
    if not signed.startswith(_MAGIC):
        return None
    mac, data = signed[len(_MAGIC) : len(_MAGIC) + 32], signed[len(_MAGIC) + 32 :]
    expected = hmac.new(key, data, hashlib.sha256).digest()
    return data if hmac.compare_digest(mac, expected) else None
