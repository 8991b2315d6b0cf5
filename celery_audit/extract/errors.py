"""The one exception an extractor raises for a file it cannot read: it becomes a
CA001 finding, never an internal error."""

from __future__ import annotations

from celery_audit.model.facts import PythonFacts, Span


class SourceError(Exception):
    """The file could not be decoded or parsed; `span` says where.

    `partial` holds what was learnt before the failure (a Python file whose module
    table was built but whose deep pass failed keeps its imports), else None.
    """

    def __init__(self, message: str, span: Span, *, partial: PythonFacts | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.partial = partial
