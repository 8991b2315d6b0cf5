"""What every libcst gatherer shares: scope tracking, positions, reading literals."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from celery_audit.model.facts import Keyword, Span

_EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    """The source text of a node, comments left out and whitespace collapsed to single
    spaces (a comment inside a multi-line value would otherwise swallow the rest)."""
    text = _EMPTY.code_for_node(node)
    return " ".join((_without_comments(text) if "#" in text else text).split())


def _without_comments(text: str) -> str:
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


def dotted(node: cst.CSTNode | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a string literal (plain or implicitly concatenated), else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def keywords(call: cst.Call) -> tuple[Keyword, ...]:
    """Keyword arguments with their values as text; `literal` when the value is a
    constant (string, number, True/False/None) that can be trusted statically."""
    return tuple(keyword_of(arg.keyword.value, arg.value) for arg in call.args if arg.keyword)


def keyword_of(name: str, value: cst.BaseExpression) -> Keyword:
    """`name` bound to `value`, as a keyword argument or a class attribute is."""
    text = string_value(value)
    literal = (
        text is not None
        or isinstance(value, (cst.Integer, cst.Float))
        or (isinstance(value, cst.Name) and value.value in ("True", "False", "None"))
    )
    return Keyword(name, text if text is not None else code(value), literal)


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below `node` (itself included), depth first. For small subtrees
    (an expression, a return value) where a visitor would cost more than it saves."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def dict_items(node: cst.CSTNode) -> Iterator[tuple[str, cst.BaseExpression, cst.CSTNode]]:
    """(key, value, key node) of a dict literal or a `dict(k=v)` call with literal keys."""
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                if key is not None:
                    yield key, element.value, element.key
    elif isinstance(node, cst.Call) and dotted(node.func) == "dict":
        for arg in node.args:
            if arg.keyword is not None:
                yield arg.keyword.value, arg.value, arg.keyword


class Gatherer(cst.BatchableCSTVisitor):
    """Base of the gatherers: knows the enclosing scope and node positions.

    All gatherers of a file run in one batched traversal, so each keeps its own scope
    stack; `scope` is the dotted qualname of the enclosing function/class ("" at
    module level).
    """

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self._scope: list[str] = []
        self._kinds: list[str] = []

    @property
    def scope(self) -> str:
        return ".".join(self._scope)

    @property
    def in_function(self) -> bool:
        return "function" in self._kinds

    @property
    def in_class_body(self) -> bool:
        return bool(self._kinds) and self._kinds[-1] == "class"

    def span(self, node: cst.CSTNode) -> Span:
        where = self.get_metadata(PositionProvider, node)
        return Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scope.append(node.name.value)
        self._kinds.append("function")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scope.pop()
        self._kinds.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scope.append(node.name.value)
        self._kinds.append("class")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scope.pop()
        self._kinds.pop()
