"""Python extraction: one file's text in, `PythonFacts` out.

Both passes read the one `ast` tree parsed per file. The module table (imports,
bindings) is built for every file: it is what name resolution needs. The deep facts come
from one traversal feeding every gatherer (deep.py), only for files whose text holds the
vocabulary the gatherers match.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import sys
import threading
import tokenize
import warnings
from collections.abc import Callable
from typing import TypeVar

from celery_audit.extract.errors import SourceError
from celery_audit.extract.python.table import build_table
from celery_audit.model.facts import PythonFacts, Span

__all__ = ["SourceError", "decode", "extract_python", "needs_deep_pass", "with_large_stack"]


@functools.cache
def _prefilter() -> re.Pattern[str]:
    """One pattern built from every gatherer's vocabulary: a file none of it occurs in
    holds no deep fact. Built on first use: a run served from the cache never needs
    the gatherers.

    Every pattern starts with a literal character (`Celery`, `celery`, not `[Cc]elery`)
    and they are joined bare: the regular expression engine then only tries the
    patterns where one of those characters occurs (2-3x faster on real code)."""
    from celery_audit.extract.python import apps, calls, config, functions, routes

    return re.compile(
        "|".join(
            pattern
            for module in (apps, calls, config, functions, routes)
            for pattern in module.VOCABULARY
        )
    )


# The module table and the deep pass recurse over the tree, and valid code nests deeper
# than the default recursion limit allows (a long `elif` chain, a long `a + b + ...`).
# Python's parser (at its default limits) bounds how deep a tree can be, so both run in
# a thread whose stack holds any tree it accepts, with a recursion limit to match. The
# limit is per process: one such thread at a time. Starting one costs ~1 ms (as much as
# analysing a small file), so whoever extracts many files runs them all in one.
_STACK_BYTES = 256 * 1024 * 1024
_RECURSION_LIMIT = 50_000
_stack_lock = threading.Lock()
_large_stack = threading.local()  # `inside` is set in such a thread

_T = TypeVar("_T")


def _byte_span(data: bytes, offset: int) -> Span:
    """Line and (byte) column of `offset`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return Span(data.count(b"\n", 0, offset) + 1, offset - line_start + 1)


def decode(data: bytes) -> str:
    """Decode Python source as the interpreter would (BOM, PEP 263 cookie, UTF-8)."""
    if b"\x00" in data:
        raise SourceError(
            "cannot parse: the file contains NUL bytes", _byte_span(data, data.index(0))
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if not str(error).startswith("invalid or missing encoding declaration"):
            # An unknown codec, or a UTF-8 byte-order mark with another coding cookie.
            raise SourceError(f"cannot decode: {error}", Span(1)) from None
        encoding = "utf-8"  # undecodable first lines: let the decode below say where
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"cannot decode as {encoding}: {error.reason} (0x{data[error.start]:02x})",
            _byte_span(data, error.start),
        ) from None
    except LookupError as error:
        raise SourceError(f"cannot decode: {error}", Span(1)) from None


def _parse(text: str) -> ast.Module:
    """The tree of `text`, parsed at the recursion limit of the code that asked for the
    large stack, if it is one: that limit bounds how deep a tree can be, and so what
    the analysis must hold (a 20,000-term `a + b + ...` is "nested too deeply"
    whether or not its file is extracted in a batch)."""
    outer = getattr(_large_stack, "outer_limit", None)
    if outer is None:
        return _parse_at_limit(text)
    inner = sys.getrecursionlimit()
    sys.setrecursionlimit(outer)
    try:
        return _parse_at_limit(text)
    finally:
        sys.setrecursionlimit(inner)


def _parse_at_limit(text: str) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not ours
            return ast.parse(text)
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        raise SourceError(f"syntax error: {error.msg}", Span(line, column)) from None
    except RecursionError:
        raise SourceError("cannot parse: nested too deeply (RecursionError)", Span(1)) from None
    except MemoryError:
        # Python's parser also says so when a statement is too complex for its stack.
        raise SourceError("cannot parse: too large or too complex (MemoryError)", Span(1)) from None
    except ValueError as error:
        raise SourceError(f"cannot parse: {error}", Span(1)) from None


def with_large_stack(function: Callable[..., _T], *args: object) -> _T:
    """`function(*args)` run in a thread with a large stack and a high recursion
    limit (here, when this already is one); its exception, if any, is raised here.
    Where the platform refuses such a thread, the call runs here, with the limits in
    force."""
    if getattr(_large_stack, "inside", False):
        return function(*args)
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        _large_stack.inside = True
        _large_stack.outer_limit = limit
        try:
            outcome.append(function(*args))
        except BaseException as error:  # handed over to the calling thread
            failure.append(error)

    with _stack_lock:
        limit = sys.getrecursionlimit()
        try:
            previous = threading.stack_size(_STACK_BYTES)
        except (ValueError, RuntimeError):
            return function(*args)
        # A daemon, so that Ctrl-C is not held up by the file being analysed.
        worker = threading.Thread(target=run, name="celery-audit-extract", daemon=True)
        try:
            sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
            worker.start()
        except RuntimeError:  # no memory for the stack
            sys.setrecursionlimit(limit)
            return function(*args)
        finally:
            threading.stack_size(previous)
        try:
            worker.join()
        finally:
            sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]
    return outcome[0]


def needs_deep_pass(text: str, vocabulary: tuple[str, ...] = ()) -> bool:
    """Whether the text can hold a deep fact: a gatherer's word or a configured name."""
    return _prefilter().search(text) is not None or any(word in text for word in vocabulary)


def extract_python(data: bytes, vocabulary: tuple[str, ...] = ()) -> PythonFacts:
    """The facts of one Python file. `vocabulary` adds configured names (custom task
    decorators, context-bound objects) to the prefilter.

    Raises SourceError for undecodable or invalid source, and for a deep pass that
    cannot be done (out of stack or memory): that error keeps the module table as its
    `partial` facts."""
    text = decode(data)
    tree = _parse(text)
    return with_large_stack(_analyse, text, tree, vocabulary)


def _analyse(text: str, tree: ast.Module, vocabulary: tuple[str, ...]) -> PythonFacts:
    try:
        table = build_table(tree)
    except RecursionError:
        raise SourceError("cannot parse: nested too deeply (RecursionError)", Span(1)) from None
    if not needs_deep_pass(text, vocabulary):
        return PythonFacts(table=table)
    from celery_audit.extract.python.deep import deep_facts

    try:
        return deep_facts(text, tree, table)
    except RecursionError:
        message = "skipped: nested too deeply for the deep pass (RecursionError)"
    except MemoryError:
        message = "skipped: out of memory in the deep pass (MemoryError)"
    raise SourceError(message, Span(1), partial=PythonFacts(table=table))
