"""The module table: imports and top-level bindings of one Python file.

This is the cheap pass that runs over every Python file (stdlib `ast`; the deep pass
reads the same tree). Linking resolves every name in the project from these
tables, so no per-file scope analysis is needed.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from typing import Any

from celery_audit.model.facts import Binding, Import, ModuleTable, Span


def dotted(node: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def span_of(node: ast.AST) -> Span:
    """The node's span; ast columns are UTF-8 byte offsets, close enough for columns
    of ASCII code and exact for lines."""
    line = getattr(node, "lineno", 1)
    return Span(
        line,
        getattr(node, "col_offset", 0) + 1,
        getattr(node, "end_lineno", None) or line,
        (getattr(node, "end_col_offset", None) or 0) + 1,
    )


def _unpacked_names(target: ast.Tuple | ast.List) -> list[str]:
    names = []
    for element in target.elts:
        if isinstance(element, ast.Starred):
            element = element.value
        if isinstance(element, ast.Name):
            names.append(element.id)
        elif isinstance(element, (ast.Tuple, ast.List)):
            names += _unpacked_names(element)
    return names


def _constant_name(value: ast.expr) -> str | None:
    """The string a module-level `NAME = "..."` binds, when it is short enough to be a
    name (a task's, a queue's) rather than text."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and len(value.value) <= 200:
        return value.value
    return None


def _is_type_checking(test: ast.expr) -> bool:
    name = dotted(test)
    return name in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _returned_wrapper(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str | None, bool]:
    """(name, uses functools.wraps) of the nested function `node` returns, if any."""
    nested = {
        stmt.name: any(
            isinstance(d, ast.Call) and dotted(d.func) in ("wraps", "functools.wraps")
            for d in stmt.decorator_list
        )
        for stmt in node.body
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    if not nested:
        return None, False
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Return)
            and isinstance(stmt.value, ast.Name)
            and stmt.value.id in nested
        ):
            return stmt.value.id, nested[stmt.value.id]
    return None, False


class _TableBuilder(ast.NodeVisitor):
    """Collects imports everywhere (with their scope) and bindings at module level,
    class level and in function bodies (app factories bind apps there)."""

    def __init__(self) -> None:
        self.imports: list[Import] = []
        self.bindings: list[Binding] = []
        self.scope: list[str] = []
        self.conditional = 0
        self.main_guard = False
        self.in_main_guard = False
        # `global` names declared so far in each enclosing function or class body.
        self.globals: list[set[str]] = []
        # What each enclosing function's `return` statements return (a dotted name, or
        # None for anything else).
        self.returns: list[list[str | None]] = []
        self.calls: list[str] = []
        self.main_calls: list[str] = []

    @property
    def where(self) -> str:
        return ".".join(self.scope)

    def _declare_globals(self, start: int) -> None:
        """`global celery` then `celery = Celery(...)` in the function just visited:
        the assignment binds the module's name. Its bindings are those from `start`;
        the declaration may come anywhere in the body (Python only requires it to come
        before the name's use, in the text), and only binds the function's own names."""
        declared = self.globals.pop()
        if not declared:
            return
        scope = self.where
        for index in range(start, len(self.bindings)):
            binding = self.bindings[index]
            if binding.kind == "assign" and binding.scope == scope and binding.name in declared:
                self.bindings[index] = dataclasses.replace(binding, scope="")

    def visit_Return(self, node: ast.Return) -> None:
        if self.returns:
            self.returns[-1].append(dotted(node.value) if node.value is not None else None)

    def visit_Global(self, node: ast.Global) -> None:
        if self.globals:
            self.globals[-1].update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                bound, submodule = alias.asname, False
            else:
                bound, submodule = alias.name.split(".", 1)[0], "." in alias.name
            self.imports.append(
                Import(
                    module=alias.name,
                    name=None,
                    alias=bound,
                    level=0,
                    span=span_of(node),
                    lazy=bool(self.scope),
                    scope=self.where,
                    binds_submodule=submodule,
                    conditional=self.conditional > 0,
                )
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.imports.append(
                Import(
                    module=node.module or "",
                    name=alias.name,
                    alias=alias.asname or alias.name,
                    level=node.level or 0,
                    span=span_of(node),
                    lazy=bool(self.scope),
                    scope=self.where,
                    conditional=self.conditional > 0,
                )
            )

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        wrapper, uses_wraps = _returned_wrapper(node)
        self.bindings.append(
            Binding(
                node.name,
                "function",
                span_of(node),
                scope=self.where,
                wrapper=wrapper,
                wrapper_uses_wraps=uses_wraps,
            )
        )
        self.scope.append(node.name)
        self.globals.append(set())
        self.returns.append([])
        start = len(self.bindings)
        for stmt in node.body:
            self.visit(stmt)
        self._declare_globals(start)
        returned = set(self.returns.pop())
        if len(returned) == 1 and None not in returned:
            # `return celery` (after configuring it): what calling the function gives.
            self.bindings[start - 1] = dataclasses.replace(
                self.bindings[start - 1], returns=returned.pop()
            )
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = tuple(b for b in (dotted(base) for base in node.bases) if b)
        self.bindings.append(
            Binding(node.name, "class", span_of(node), scope=self.where, bases=bases)
        )
        self.scope.append(node.name)
        self.globals.append(set())  # a class body's `global` is not its function's
        for stmt in node.body:
            self.visit(stmt)
        self.globals.pop()
        self.scope.pop()

    def _assign(self, targets: list[ast.expr], value: ast.expr | None, node: ast.stmt) -> None:
        if value is None:
            return
        call = dotted(value.func) if isinstance(value, ast.Call) else None
        ref = dotted(value)
        if (
            isinstance(value, ast.Subscript)
            and isinstance(value.slice, ast.Constant)
            and isinstance(value.slice.value, str)
            and dotted(value.value)
        ):
            # `celery_app = flask_app.extensions["celery"]` (the Flask docs' make_celery.py)
            ref = f"{dotted(value.value)}[{value.slice.value!r}]"
        for target in targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                # `app, celery = create_app()`: bound, to values not known statically.
                for name in _unpacked_names(target):
                    self.bindings.append(
                        Binding(name, "assign", span_of(node), scope=self.where, unpacked=True)
                    )
                continue
            if isinstance(target, ast.Name):
                self.bindings.append(
                    Binding(
                        target.id,
                        "assign",
                        span_of(node),
                        scope=self.where,
                        value_call=call,
                        value_ref=ref,
                        call_has_args=isinstance(value, ast.Call)
                        and bool(value.args or value.keywords),
                        value_str=_constant_name(value) if not self.scope else None,
                    )
                )

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assign(node.targets, node.value, node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assign([node.target], node.value, node)

    def visit_If(self, node: ast.If) -> None:
        guard = not self.scope and _is_main_guard(node.test)
        self.main_guard = self.main_guard or guard
        conditional = _is_type_checking(node.test)
        self.conditional += conditional
        self.in_main_guard = self.in_main_guard or guard
        for stmt in node.body:
            self.visit(stmt)
        self.in_main_guard = self.in_main_guard and not guard
        self.conditional -= conditional
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Try(self, node: ast.Try) -> None:
        # `try: import ujson as json / except ImportError: import json`: both bind.
        for stmt in [*node.body, *node.orelse, *node.finalbody]:
            self.visit(stmt)
        for handler in node.handlers:
            for stmt in handler.body:
                self.visit(stmt)

    # Expressions hold no imports or statements worth descending into; a module-level
    # call statement runs at import time, so its callee is kept.
    def visit_Expr(self, node: ast.Expr) -> None:
        if not self.scope and isinstance(node.value, ast.Call):
            callee = dotted(node.value.func)
            if callee is not None:
                (self.main_calls if self.in_main_guard else self.calls).append(callee)

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _METHODS.get(kind)
        if method is None:
            name = "visit_" + kind.__name__
            method = _METHODS[kind] = getattr(_TableBuilder, name, _TableBuilder.generic_visit)
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        # Only statements bind names, so only statement lists are walked (`for`, `with`,
        # `match`, `except` bodies): a long `a + b + ...` chain in a loop's header would
        # otherwise cost one recursion level per operator.
        kind = type(node)
        fields = _STATEMENT_LISTS.get(kind)
        if fields is None:
            fields = _STATEMENT_LISTS[kind] = tuple(
                f
                for f in kind._fields
                if f in _STATEMENT_FIELDS  # type: ignore[attr-defined]
            )
        for name in fields:
            for child in getattr(node, name):
                self.visit(child)


# The fields that hold statements (or `except` handlers, `case` blocks) in the nodes
# the table walks, and by node type those it has; the method that visits each type.
_STATEMENT_FIELDS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_STATEMENT_LISTS: dict[type, tuple[str, ...]] = {}
_METHODS: dict[type, Callable[[_TableBuilder, Any], None]] = {}


def build_table(tree: ast.Module) -> ModuleTable:
    builder = _TableBuilder()
    for stmt in tree.body:
        builder.visit(stmt)
    return ModuleTable(
        imports=tuple(builder.imports),
        bindings=tuple(builder.bindings),
        has_main_guard=builder.main_guard,
        calls=tuple(builder.calls),
        main_calls=tuple(builder.main_calls),
    )
