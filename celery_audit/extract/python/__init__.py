"""Python extraction: one file's text in, `PythonFacts` out.

Two passes. The module table (imports, bindings) comes from stdlib `ast` for every
file: it is what name resolution needs and it is cheap. The deep facts come from libcst
gatherers run in one batched traversal, only for files whose text holds the vocabulary
the gatherers match (libcst parse + positions costs ~40x an `ast.parse`).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings

from celery_audit.extract.python import apps, calls, config, functions, routes
from celery_audit.extract.python.table import build_table
from celery_audit.model.facts import ModuleTable, PythonFacts, Span

# One pattern built from every gatherer's vocabulary: a file none of it occurs in
# holds no deep fact.
_PREFILTER = re.compile(
    "|".join(
        re.escape(word)
        for module in (apps, calls, config, functions, routes)
        for word in module.VOCABULARY
    )
)


class SourceError(Exception):
    """The file could not be decoded or parsed; `span` says where."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def decode(data: bytes) -> str:
    """Decode Python source as the interpreter would (BOM, PEP 263 cookie, UTF-8)."""
    if b"\x00" in data:
        raise SourceError(
            "cannot parse: the file contains NUL bytes",
            Span(data[: data.index(b"\x00")].count(b"\n") + 1),
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "unknown encoding" in str(error):
            raise SourceError(f"cannot decode: {error}", Span(1)) from None
        encoding = "utf-8"  # undecodable first lines: let the decode below say where
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        line = data[: getattr(error, "start", 0)].count(b"\n") + 1
        raise SourceError(
            f"cannot decode as {encoding}: {error.__class__.__name__}", Span(line)
        ) from None


def _parse(text: str) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not ours
            return ast.parse(text)
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        raise SourceError(f"syntax error: {error.msg}", Span(line, column)) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SourceError(f"cannot parse: {error.__class__.__name__}: {error}", Span(1)) from None


def needs_deep_pass(text: str, vocabulary: tuple[str, ...] = ()) -> bool:
    """Whether the text can hold a deep fact: a gatherer's word or a configured name."""
    return _PREFILTER.search(text) is not None or any(word in text for word in vocabulary)


def extract_python(data: bytes, vocabulary: tuple[str, ...] = ()) -> PythonFacts:
    """The facts of one Python file. `vocabulary` adds configured names (custom task
    decorators, context-bound objects) to the prefilter. Raises SourceError for
    undecodable or invalid source."""
    text = decode(data)
    table = build_table(_parse(text))
    if not needs_deep_pass(text, vocabulary):
        return PythonFacts(table=table)
    return _deep(text, table)


def _deep(text: str, table: ModuleTable) -> PythonFacts:
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError) as error:
        line = getattr(error, "raw_line", 1)
        raise SourceError(f"cannot parse: {str(error).splitlines()[0]}", Span(line)) from None
    app_g = apps.AppGatherer()
    fn_g = functions.FunctionGatherer()
    call_g = calls.DispatchGatherer()
    route_g = routes.RouteGatherer()
    config_g = config.ConfigGatherer()
    MetadataWrapper(module, unsafe_skip_copy=True).visit_batched(
        [app_g, fn_g, call_g, route_g, config_g]
    )
    return PythonFacts(
        table=table,
        deep=True,
        app_creations=tuple(app_g.creations),
        app_configs=tuple(app_g.configs),
        functions=tuple(fn_g.functions),
        classes=tuple(fn_g.classes),
        dispatches=tuple(call_g.dispatches),
        routes=tuple(route_g.routes),
        status_reads=tuple(call_g.status_reads),
        beat_entries=tuple(config_g.entries),
        states_set=tuple(call_g.states),
        config_classes=tuple(config_g.config_classes),
        settings=tuple(config_g.settings),
    )
