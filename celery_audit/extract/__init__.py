"""Extraction: one file in, plain facts out. No knowledge of any other file.

`extract_file` is pure (the file's bytes decide its facts) and its result pickles, so
it can run in worker processes and be cached by content hash.

A file that cannot be read, decoded or parsed becomes a `ParseProblem` (reported as
CA001), never an exception: every extractor signals such a file by raising
`SourceError`. Any other exception is a bug in celery-audit; the caller reports it as
an internal error.
"""

from __future__ import annotations

import errno
from pathlib import Path

from celery_audit.extract.errors import SourceError
from celery_audit.model.facts import FileFacts, FileKind, ParseProblem, SourceFile, Span

__all__ = ["MAX_BYTES", "SourceError", "extract_bytes", "extract_file", "read_source"]

# Files above this size are generated or data, not code anyone wrote by hand.
MAX_BYTES = 20 * 1024 * 1024


def _too_large(source: SourceFile) -> FileFacts:
    problem = ParseProblem(f"skipped: larger than {MAX_BYTES // (1024 * 1024)} MB", Span(1))
    return FileFacts(source, problems=(problem,))


def _unreadable(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "cannot read: symbolic link loop"
    if error.errno == errno.ENOENT and path.is_symlink():
        return "cannot read: broken symbolic link"
    if error.errno == errno.EISDIR:
        return "cannot read: is a directory"
    return f"cannot read: {error.strerror or error.__class__.__name__}"


def extract_file(root: Path, source: SourceFile, *, vocabulary: tuple[str, ...] = ()) -> FileFacts:
    """The facts of one file; unreadable or unparsable files become problems.
    `vocabulary`: configured names that make a Python file worth the deep pass."""
    data = read_source(root, source)
    if isinstance(data, FileFacts):
        return data
    return extract_bytes(source, data, vocabulary=vocabulary)


def read_source(root: Path, source: SourceFile) -> bytes | FileFacts:
    """The file's bytes, or its facts when it cannot be read or is too large to be."""
    path = root / source.path
    try:
        # A file too large to analyse is not read into memory at all.
        if path.stat().st_size > MAX_BYTES:
            return _too_large(source)
        return path.read_bytes()
    except OSError as error:
        return FileFacts(source, problems=(ParseProblem(_unreadable(path, error), Span(1)),))


def extract_bytes(
    source: SourceFile, data: bytes, *, vocabulary: tuple[str, ...] = ()
) -> FileFacts:
    """The facts of one file's bytes (see `extract_file`)."""
    # Imported here, each only for its kind of file: a run served from the cache reads
    # files but extracts none, or one (a pre-commit run).
    from celery_audit.extract.comments import directives_of

    if len(data) > MAX_BYTES:
        return _too_large(source)
    directives = directives_of(source.path, source.kind, data)
    try:
        if source.kind is FileKind.PYTHON:
            from celery_audit.extract.python import extract_python

            python = extract_python(data, vocabulary)
            return FileFacts(source, python=python, directives=directives)
        text = data.decode("utf-8", errors="replace")
        if source.kind is FileKind.SCRIPT:
            from celery_audit.extract.scripts import extract_scripts

            commands = extract_scripts(source.path, text)
            return FileFacts(source, worker_commands=commands, directives=directives)
        from celery_audit.extract.frontend import extract_frontend

        calls = extract_frontend(source.path, text)
        return FileFacts(source, frontend_calls=calls, directives=directives)
    except SourceError as error:
        problem = ParseProblem(error.message, error.span)
        return FileFacts(source, python=error.partial, problems=(problem,), directives=directives)
