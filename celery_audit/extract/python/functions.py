"""Gather functions and classes: decorators, the global names a body reads and the app
contexts it pushes. (Whether a function is a decorator returning a wrapper is in the
module table: it matters in files with no Celery vocabulary at all.)"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from celery_audit.extract.python.source import dotted, source_args
from celery_audit.model.facts import (
    ClassFacts,
    Decorator,
    FunctionFacts,
    Keyword,
    NameUse,
    Ref,
    Span,
)

if TYPE_CHECKING:
    from celery_audit.extract.python.deep import Walker
    from celery_audit.extract.python.source import Source

# `with X.app_context():` and friends put a Flask context around the block.
CONTEXT_METHODS = frozenset({"app_context", "test_request_context", "request_context"})

# Tasks (`@x.task`, `@shared_task`), task bases (`class X(Task)`), context pushes and
# context-bound names used in helpers.
VOCABULARY = ("Task", "task", "app_context", "request_context")  # regexes


@dataclass
class _Frame:
    qualname: str
    span: Span
    def_span: Span
    decorators: tuple[Decorator, ...]
    is_method: bool
    parent: _Frame | None
    params: list[str] = field(default_factory=list)
    stores: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)
    # (dotted name, node, in a context) of every name read
    uses: list[tuple[str, ast.AST, bool]] = field(default_factory=list)
    pushes: list[Ref] = field(default_factory=list)
    pushes_request: bool = False  # one of the pushes is a request context
    inner: set[str] = field(default_factory=set)  # nested defs: locals of this frame
    context_depth: int = 0
    pushed_for_rest: bool = False
    # `ctx = app.app_context()`: the variable's `_context_push`
    contexts: dict[str, tuple[str, bool]] = field(default_factory=dict)

    def local_names(self) -> set[str]:
        names = set(self.params) | self.stores | set(self.inner)
        return names - self.imported


def _receiver_text(node: ast.expr) -> str | None:
    """`app` for `app.app_context()`, `create_app()` for `create_app().app_context()`."""
    name = dotted(node)
    if name is not None:
        return name
    if type(node) is ast.Call:
        callee = dotted(node.func)
        if callee is not None:
            return f"{callee}()"
    return None


REQUEST_CONTEXT_METHODS = frozenset({"test_request_context", "request_context"})


def _context_push(expr: ast.expr) -> tuple[str, bool] | None:
    """(receiver, whether it is a request context) of `app.app_context()`,
    `app.test_request_context(...)` or `app.request_context(environ)` (a request
    context pushes an app context too)."""
    if (
        type(expr) is ast.Call
        and type(expr.func) is ast.Attribute
        and expr.func.attr in CONTEXT_METHODS
    ):
        receiver = _receiver_text(expr.func.value)
        if receiver is not None:
            return receiver, expr.func.attr in REQUEST_CONTEXT_METHODS
    return None


def _stored_names(target: ast.expr) -> list[str]:
    kind = type(target)
    if kind is ast.Name:
        return [target.id]  # type: ignore[attr-defined]
    if kind is ast.Tuple or kind is ast.List:
        return [n for e in target.elts for n in _stored_names(e)]  # type: ignore[attr-defined]
    if kind is ast.Starred:
        return _stored_names(target.value)  # type: ignore[attr-defined]
    return []


def _attributes(node: ast.ClassDef, source: Source) -> tuple[Keyword, ...]:
    """The plain `name = value` assignments of a class body."""
    found = []
    for statement in node.body:
        if type(statement) is ast.Assign and len(statement.targets) == 1:
            target = statement.targets[0]
            if type(target) is ast.Name:
                found.append(source.keyword_of(target.id, statement.value))
        elif (
            type(statement) is ast.AnnAssign
            and statement.value is not None
            and type(statement.target) is ast.Name
        ):
            found.append(source.keyword_of(statement.target.id, statement.value))
    return tuple(found)


class FunctionGatherer:
    """Collects every function (with the global names its body reads) and class."""

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.source = walker.source
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self._frame: _Frame | None = None
        self._finished: list[_Frame] = []
        self._methods: list[list[str]] = []
        self._is_method: list[bool] = []

    # -- scopes ------------------------------------------------------------------------

    def enter_class(self, node: ast.ClassDef) -> None:
        scope = self.walker.scope
        bases = tuple(
            Ref(b, scope)
            for b in (
                dotted(a.value if type(a) is ast.Starred else a)  # type: ignore[attr-defined]
                for a in node.bases
            )
            if b
        )
        self.classes.append(ClassFacts(scope, self.source.block_span(node), bases))
        self._methods.append([])

    def leave_class(self, node: ast.ClassDef) -> None:
        methods = self._methods.pop()
        scope = self.walker.scope
        for i in range(len(self.classes) - 1, -1, -1):
            if self.classes[i].qualname == scope:
                facts = self.classes[i]
                self.classes[i] = ClassFacts(
                    facts.qualname,
                    facts.span,
                    facts.bases,
                    tuple(methods),
                    _attributes(node, self.source),
                )
                break

    def enter_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Before the function's scope opens."""
        is_method = self.walker.in_class_body
        if is_method and self._methods:
            self._methods[-1].append(node.name)
        if self._frame is not None:
            self._frame.inner.add(node.name)
        self._is_method.append(is_method)

    def open_frame(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Once the function's scope is open."""
        decorators = tuple(self._decorator(d) for d in node.decorator_list)
        source = self.source
        whole = source.block_span(node)
        first = decorators[0].span.line if decorators else whole.line
        self._frame = _Frame(
            qualname=self.walker.scope,
            span=Span(first, whole.column, whole.end_line, whole.end_column),
            def_span=source.def_span(node),
            decorators=decorators,
            is_method=self._is_method.pop(),
            parent=self._frame,
        )

    def leave_function(self) -> None:
        frame = self._frame
        assert frame is not None
        self._finished.append(frame)
        self._frame = frame.parent
        if frame.parent is None:
            self._finish()

    def _decorator(self, expr: ast.expr) -> Decorator:
        source = self.source
        scope = self.walker.scope
        if type(expr) is ast.Call:
            name = dotted(expr.func) or source.code(expr.func)
            return Decorator(
                Ref(name, scope),
                source.code(expr),
                source.decorator_span(expr),
                True,
                source.keywords(expr),
            )
        return Decorator(
            Ref(dotted(expr) or source.code(expr), scope),
            source.code(expr),
            source.decorator_span(expr),
            False,
        )

    def _finish(self) -> None:
        """Turn the frames of one top-level function (and its nested ones) into facts,
        now that every local name of every frame is known."""
        span = self.source.span
        for frame in self._finished:
            hidden: set[str] = set()
            enclosing = frame.parent
            while enclosing is not None:
                hidden |= enclosing.local_names()
                enclosing = enclosing.parent
            local = frame.local_names()
            uses = tuple(
                NameUse(Ref(name, frame.qualname), span(node), in_context)
                for name, node, in_context in frame.uses
                if (head := name.split(".", 1)[0]) not in local and head not in hidden
            )
            # What the body reads on the instance of the method it is (or is nested in).
            owner: _Frame | None = frame
            while owner is not None and not owner.is_method:
                owner = owner.parent
            instance = owner.params[0] if owner is not None and owner.params else None
            shadowed = frame is not owner and instance in local
            self_uses: tuple[str, ...] = ()
            if instance and not shadowed:
                prefix = instance + "."
                self_uses = tuple(
                    sorted(
                        {
                            name.split(".", 1)[1]
                            for name, _, _ in frame.uses
                            if name.startswith(prefix)
                        }
                    )
                )
            self.functions.append(
                FunctionFacts(
                    qualname=frame.qualname,
                    span=frame.span,
                    def_span=frame.def_span,
                    decorators=frame.decorators,
                    uses=uses,
                    pushes_context=tuple(frame.pushes),
                    pushes_request_context=frame.pushes_request,
                    params=tuple(frame.params),
                    is_method=frame.is_method,
                    self_uses=self_uses,
                )
            )
        self._finished.clear()

    # -- bindings inside a function ----------------------------------------------------

    def param(self, name: str) -> None:
        if self._frame is not None:
            self._frame.params.append(name)

    def store(self, target: ast.expr) -> None:
        if self._frame is not None:
            self._frame.stores.update(_stored_names(target))

    def store_name(self, name: str) -> None:
        if self._frame is not None:
            self._frame.stores.add(name)

    def assign(self, node: ast.Assign) -> None:
        # `ctx = app.app_context()`, pushed later with `ctx.push()`
        if self._frame is None:
            return
        push = _context_push(node.value)
        if push is not None:
            for target in node.targets:
                if type(target) is ast.Name:
                    self._frame.contexts[target.id] = push

    def lambda_(self, node: ast.Lambda) -> None:
        """A lambda's parameters are local names of the body it sits in (the facts keep
        no scope per lambda), not parameters of that function."""
        if self._frame is not None:
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            self._frame.stores.update(a.arg for a in every)

    def imported(self, node: ast.Import | ast.ImportFrom) -> None:
        if self._frame is None:
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            if alias.asname is not None:
                bound = alias.asname
                self._frame.stores.add(bound)
            else:
                bound = alias.name.split(".", 1)[0]
            self._frame.imported.add(bound)

    # -- reads -------------------------------------------------------------------------

    def use(self, name: str, node: ast.AST) -> None:
        frame = self._frame
        if frame is not None:
            in_context = frame.context_depth > 0 or frame.pushed_for_rest
            frame.uses.append((name, node, in_context))

    def use_attribute(self, node: ast.Attribute) -> None:
        frame = self._frame
        if frame is not None:
            in_context = frame.context_depth > 0 or frame.pushed_for_rest
            frame.uses.append((dotted(node), node, in_context))  # type: ignore[arg-type]

    # -- contexts, wrappers ------------------------------------------------------------

    def enter_with(self, node: ast.With | ast.AsyncWith) -> int:
        """Pushes the contexts a with statement enters; how many it entered."""
        frame = self._frame
        if frame is None:
            return 0
        entered = 0
        for item in node.items:
            push = _context_push(item.context_expr)
            if push is not None:
                frame.pushes.append(Ref(push[0], frame.qualname))
                frame.pushes_request |= push[1]
                entered += 1
        frame.context_depth += entered
        return entered

    def leave_with(self, entered: int) -> None:
        if self._frame is not None:
            self._frame.context_depth -= entered

    def call(self, node: ast.Call) -> None:
        # `app.app_context().push()`, `stack.enter_context(app.app_context())`: a
        # context for the rest of the body.
        frame = self._frame
        func = node.func
        if frame is None or type(func) is not ast.Attribute:
            return
        method = func.attr
        if method == "push" and type(func.value) is ast.Name:
            push = frame.contexts.get(func.value.id)
        elif method == "push":
            push = _context_push(func.value)
        elif method == "enter_context" and len(node.args) + len(node.keywords) == 1:
            first = source_args(node)[0]
            value = first.value if type(first) in (ast.keyword, ast.Starred) else first  # type: ignore[union-attr]
            push = _context_push(value)  # type: ignore[arg-type]
        else:
            return
        if push is not None:
            frame.pushes.append(Ref(push[0], frame.qualname))
            frame.pushes_request |= push[1]
            frame.pushed_for_rest = True
