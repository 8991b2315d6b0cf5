"""Extraction: one file in, plain facts out. No knowledge of any other file.

`extract_file` is pure (the file's bytes decide its facts) and its result pickles, so
it can run in worker processes and be cached by content hash.
"""

from __future__ import annotations

from pathlib import Path

from celery_audit.extract.python import SourceError, extract_python
from celery_audit.extract.scripts import extract_scripts
from celery_audit.model.facts import FileFacts, FileKind, ParseProblem, SourceFile, Span

# Files above this size are generated or data, not code anyone wrote by hand.
MAX_BYTES = 20 * 1024 * 1024


def extract_file(root: Path, source: SourceFile, *, vocabulary: tuple[str, ...] = ()) -> FileFacts:
    """The facts of one file; unreadable or unparsable files become problems.
    `vocabulary`: configured names that make a Python file worth the deep pass."""
    try:
        data = (root / source.path).read_bytes()
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        return FileFacts(source, problems=(ParseProblem(f"cannot read: {reason}", Span(1)),))
    return extract_bytes(source, data, vocabulary=vocabulary)


def extract_bytes(
    source: SourceFile, data: bytes, *, vocabulary: tuple[str, ...] = ()
) -> FileFacts:
    if len(data) > MAX_BYTES:
        problem = ParseProblem(f"skipped: larger than {MAX_BYTES // (1024 * 1024)} MB", Span(1))
        return FileFacts(source, problems=(problem,))
    if source.kind is FileKind.PYTHON:
        try:
            return FileFacts(source, python=extract_python(data, vocabulary))
        except SourceError as error:
            return FileFacts(source, problems=(ParseProblem(error.message, error.span),))
    text = data.decode("utf-8", errors="replace")
    if source.kind is FileKind.SCRIPT:
        return FileFacts(source, worker_commands=extract_scripts(source.path, text))
    return FileFacts(source)
