"""Positions and source text of stdlib `ast` nodes, as the facts report them.

`ast` columns are UTF-8 byte offsets and its ranges leave out the parentheses around an
expression; facts use character columns, and a node's text (`code`) keeps its own
parentheses, comments left out and whitespace collapsed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from celery_audit.model.facts import Keyword, Span

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_DEF = re.compile(r"(?:async(?:\s|\\\r?\n)+)?def(?:\s|\\\r?\n)+")
_SINGLETONS = {None: "None", True: "True", False: "False"}


def name_of(node: ast.AST) -> str | None:
    """The identifier a Name is; `None`, `True` and `False` count as names."""
    if type(node) is ast.Name:
        return node.id
    if type(node) is ast.Constant:
        value = node.value
        if value is None or value is True or value is False:
            return _SINGLETONS[value]
    return None


def dotted(node: ast.AST | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    name = name_of(node) if node is not None else None
    if name is None:
        return None
    if not parts:
        return name
    parts.append(name)
    return ".".join(reversed(parts))


def string_value(node: ast.AST | None) -> str | None:
    """The value of a string literal (plain or implicitly concatenated), else None."""
    if type(node) is ast.Constant and type(node.value) is str:
        return node.value
    return None


def is_literal(node: ast.AST) -> bool:
    """A constant that can be trusted statically: string, number, True/False/None."""
    return type(node) is ast.Constant and type(node.value) in _LITERAL_TYPES


_LITERAL_TYPES = frozenset({str, int, float, bool, type(None)})


def unstarred(node: ast.expr) -> ast.expr:
    return node.value if type(node) is ast.Starred else node


def source_args(call: ast.Call) -> list[ast.expr | ast.keyword]:
    """Positional and keyword arguments of a call in source order."""
    args, keywords = call.args, call.keywords
    if not keywords:
        return list(args)
    if not args:
        return list(keywords)
    merged: list[ast.expr | ast.keyword] = [*args, *keywords]
    first = keywords[0]
    if (args[-1].lineno, args[-1].col_offset) > (first.lineno, first.col_offset):
        merged.sort(key=lambda a: (a.lineno, a.col_offset))
    return merged


def positional(call: ast.Call) -> list[ast.expr]:
    return [arg for arg in call.args if type(arg) is not ast.Starred]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for arg in call.keywords:
        if arg.arg == name:
            return arg.value
    return None


def _comment_start(line: str) -> int:
    """Where a comment starts in `line` (its length if none); strings on one line only."""
    if "#" not in line:
        return len(line)
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 1
            elif line.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char == "#":
            return i
        elif char in "'\"":
            quote = char * 3 if line.startswith(char * 3, i) else char
            i += len(quote) - 1
        i += 1
    return len(line)


def without_comments(text: str) -> str:
    try:
        comments = [
            t
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    for comment in reversed(comments):
        (row, start), (_, end) = comment.start, comment.end
        lines[row - 1] = lines[row - 1][:start] + lines[row - 1][end:]
    return "".join(lines)


def collapse(text: str) -> str:
    return " ".join((without_comments(text) if "#" in text else text).split())


class Source:
    """One file's text, for turning `ast` positions into facts' spans and texts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _LINE.findall(text)
        self.ascii = text.isascii()

    def column(self, line: int, offset: int) -> int:
        """The character column (0-based) of UTF-8 byte `offset` on `line`."""
        if self.ascii:
            return offset
        text = self.lines[line - 1]
        if text.isascii():
            return offset
        return len(text.encode()[:offset].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> Span:
        line: int = node.lineno  # type: ignore[attr-defined]
        end: int = node.end_lineno  # type: ignore[attr-defined]
        return Span(
            line,
            self.column(line, node.col_offset) + 1,  # type: ignore[attr-defined]
            end,
            self.column(end, node.end_col_offset) + 1,  # type: ignore[attr-defined]
        )

    def block_span(self, node: ast.stmt) -> Span:
        """The span of a def or class. Its range in `ast` takes in a semicolon ending
        the last statement; the facts' spans end at that statement."""
        span = self.span(node)
        text = self.lines[span.end_line - 1]
        column = span.end_column - 1
        if column > 0 and text[column - 1] == ";":
            column -= 1
            while column > 0 and text[column - 1] in " \t\f":
                column -= 1
            return Span(span.line, span.column, span.end_line, column + 1)
        return span

    def name_span(self, node: ast.keyword) -> Span:
        """The name of a keyword argument."""
        column = self.column(node.lineno, node.col_offset) + 1
        return Span(node.lineno, column, node.lineno, column + len(node.arg or ""))

    def def_span(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Span:
        """The name in `def name(...)`."""
        line = node.lineno
        column = self.column(line, node.col_offset)
        head = "".join(self.lines[line - 1 : line + 3])
        found = _DEF.match(head, column)
        offset = found.end() if found else column
        while offset > len(self.lines[line - 1]):
            offset -= len(self.lines[line - 1])
            line += 1
        return Span(line, offset + 1, line, offset + 1 + len(node.name))

    # -- parentheses -------------------------------------------------------------------

    def _before(self, line: int, column: int) -> tuple[int, int]:
        """The last significant character before (line, column): (line, column) of it,
        column -1 when there is none."""
        text = self.lines[line - 1][:column].rstrip()
        while not text:
            line -= 1
            if line < 1:
                return 1, -1
            raw = self.lines[line - 1].rstrip("\r\n")
            text = raw[: _comment_start(raw)].rstrip()
            if text.endswith("\\"):
                text = text[:-1].rstrip()
        return line, len(text) - 1

    def _after(self, line: int, column: int) -> tuple[int, int]:
        """The first significant character at or after (line, column)."""
        count = len(self.lines)
        while line <= count:
            text = self.lines[line - 1]
            while column < len(text) and text[column] in " \t\f":
                column += 1
            if column < len(text) and text[column] not in "#\\\r\n":
                return line, column
            line, column = line + 1, 0
        return line, -1

    def _char(self, line: int, column: int) -> str:
        return self.lines[line - 1][column] if column >= 0 else ""

    def outer(self, node: ast.AST, sole_argument: bool = False) -> tuple[int, int, int, int]:
        """The node's range (0-based character columns) with its own parentheses; a sole
        positional argument's nearest pair is the call's."""
        line, column = node.lineno, self.column(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line: int = node.end_lineno  # type: ignore[attr-defined]
        end = self.column(end_line, node.end_col_offset)  # type: ignore[attr-defined]
        pairs = [(line, column, end_line, end)]
        while True:
            before = self._before(line, column)
            if self._char(*before) != "(":
                break
            after = self._after(end_line, end)
            if self._char(*after) != ")":
                break
            line, column = before
            end_line, end = after[0], after[1] + 1
            pairs.append((line, column, end_line, end))
        if not sole_argument:
            return pairs[-1]
        if len(pairs) > 1:
            return pairs[-2]  # the outermost pair is the call's
        line, column, end_line, end = pairs[0]
        if self.lines[line - 1][column : column + 1] == "(":
            # A generator expression as the sole argument: ast counts the call's
            # parentheses as its own.
            column += 1
            end -= 1
        return line, column, end_line, end

    def code(self, node: ast.AST, sole_argument: bool = False) -> str:
        """The node's source text, parentheses kept, comments left out and whitespace
        collapsed to single spaces (a comment inside a multi-line value would
        otherwise swallow the rest)."""
        if type(node) is ast.keyword:
            line, end_line = node.lineno, node.end_lineno or node.lineno
            column = self.column(line, node.col_offset)
            end = self.column(end_line, node.end_col_offset or 0)
        else:
            line, column, end_line, end = self.outer(node, sole_argument)
        if line == end_line:
            text = self.lines[line - 1][column:end]
        else:
            text = "".join(
                [
                    self.lines[line - 1][column:],
                    *self.lines[line : end_line - 1],
                    self.lines[end_line - 1][:end],
                ]
            )
        return collapse(text)

    def decorator_span(self, expr: ast.expr) -> Span:
        """From the `@` to the end of the decorator's expression."""
        line, column = expr.lineno, self.column(expr.lineno, expr.col_offset)
        end_line = expr.end_lineno or line
        end = self.column(end_line, expr.end_col_offset or 0)
        while True:
            line, column = self._before(line, column)
            if self._char(line, column) != "(":
                break
            end_line, end = self._after(end_line, end)
            end += 1
        return Span(line, column + 1, end_line, end + 1)

    def keyword_of(self, name: str, value: ast.expr) -> Keyword:
        """`name` bound to `value`, as a keyword argument or a class attribute is."""
        text = string_value(value)
        if text is not None:
            return Keyword(name, text, True)
        return Keyword(name, self.code(value), is_literal(value))

    def keywords(self, call: ast.Call) -> tuple[Keyword, ...]:
        """Keyword arguments with their values as text; `literal` when the value is a
        constant (string, number, True/False/None) that can be trusted statically."""
        return tuple(self.keyword_of(k.arg, k.value) for k in call.keywords if k.arg is not None)


def is_sole_argument(call: ast.Call, node: ast.AST) -> bool:
    return not call.keywords and len(call.args) == 1 and call.args[0] is node


def dict_items(node: ast.AST) -> list[tuple[str, ast.expr, ast.AST]]:
    """(key, value, key node) of a dict literal or a `dict(k=v)` call with literal keys."""
    if type(node) is ast.Dict:
        found: list[tuple[str, ast.expr, ast.AST]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            text = string_value(key)
            if text is not None and key is not None:
                found.append((text, value, key))
        return found
    if type(node) is ast.Call and dotted(node.func) == "dict":
        return [(k.arg, k.value, k) for k in node.keywords if k.arg is not None]
    return []
