"""Gather functions and classes: decorators, the global names a body reads and the app
contexts it pushes. (Whether a function is a decorator returning a wrapper is in the
module table: it matters in files with no Celery vocabulary at all.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from celery_audit.extract.python.common import (
    Gatherer,
    code,
    dotted,
    keyword_of,
    keywords,
    walk,
)
from celery_audit.model.facts import (
    ClassFacts,
    Decorator,
    FunctionFacts,
    Keyword,
    NameUse,
    Ref,
    Span,
)

# `with X.app_context():` and friends put a Flask context around the block.
CONTEXT_METHODS = frozenset({"app_context", "test_request_context", "request_context"})

# Tasks (`@x.task`, `@shared_task`), task bases (`class X(Task)`), context pushes and
# context-bound names used in helpers.
VOCABULARY = ("[Tt]ask", "app_context", "request_context")  # regexes


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
    uses: list[NameUse] = field(default_factory=list)
    pushes: list[Ref] = field(default_factory=list)
    inner: set[str] = field(default_factory=set)  # nested defs: locals of this frame
    context_depth: int = 0
    pushed_for_rest: bool = False
    contexts: dict[str, str] = field(default_factory=dict)  # `ctx = app.app_context()`

    def local_names(self) -> set[str]:
        names = set(self.params) | self.stores | set(self.inner)
        return names - self.imported


def _receiver_text(node: cst.BaseExpression) -> str | None:
    """`app` for `app.app_context()`, `create_app()` for `create_app().app_context()`."""
    name = dotted(node)
    if name is not None:
        return name
    if isinstance(node, cst.Call):
        callee = dotted(node.func)
        if callee is not None:
            return f"{callee}()"
    return None


def _context_receiver(expr: cst.BaseExpression) -> str | None:
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in CONTEXT_METHODS
    ):
        return _receiver_text(expr.func.value)
    return None


def _stored_names(target: cst.CSTNode) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _stored_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _stored_names(target.value)
    return []


def _attributes(node: cst.ClassDef) -> tuple[Keyword, ...]:
    """The plain `name = value` assignments of a class body."""
    found = []
    for line in node.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for statement in line.body:
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                target = statement.targets[0].target
                if isinstance(target, cst.Name):
                    found.append(keyword_of(target.value, statement.value))
            elif (
                isinstance(statement, cst.AnnAssign)
                and statement.value is not None
                and isinstance(statement.target, cst.Name)
            ):
                found.append(keyword_of(statement.target.value, statement.value))
    return tuple(found)


class FunctionGatherer(Gatherer):
    """Collects every function (with the global names its body reads) and class."""

    def __init__(self) -> None:
        super().__init__()
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self._frame: _Frame | None = None
        self._finished: list[_Frame] = []
        self._seen: set[int] = set()
        self._methods: list[list[str]] = []

    # -- scopes ------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        super().visit_ClassDef(node)
        self._seen.add(id(node.name))
        bases = tuple(Ref(b, self.scope) for b in (dotted(a.value) for a in node.bases) if b)
        self.classes.append(ClassFacts(self.scope, self.span(node), bases))
        self._methods.append([])
        for decorator in node.decorators:
            self._seen.update(id(n) for n in walk(decorator))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        methods = self._methods.pop()
        for i in range(len(self.classes) - 1, -1, -1):
            if self.classes[i].qualname == self.scope:
                facts = self.classes[i]
                self.classes[i] = ClassFacts(
                    facts.qualname,
                    facts.span,
                    facts.bases,
                    tuple(methods),
                    _attributes(original_node),
                )
                break
        super().leave_ClassDef(original_node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        is_method = self.in_class_body
        if is_method and self._methods:
            self._methods[-1].append(node.name.value)
        parent = self._frame
        if parent is not None:
            parent.inner.add(node.name.value)
        super().visit_FunctionDef(node)
        decorators = tuple(self._decorator(d) for d in node.decorators)
        for decorator in node.decorators:
            self._seen.update(id(n) for n in walk(decorator))
        self._seen.add(id(node.name))
        first = node.decorators[0] if node.decorators else node
        whole = self.span(node)
        self._frame = _Frame(
            qualname=self.scope,
            span=Span(self.span(first).line, whole.column, whole.end_line, whole.end_column),
            def_span=self.span(node.name),
            decorators=decorators,
            is_method=is_method,
            parent=parent,
        )

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        frame = self._frame
        assert frame is not None
        self._finished.append(frame)
        self._frame = frame.parent
        if frame.parent is None:
            self._finish()
        super().leave_FunctionDef(original_node)

    def _decorator(self, decorator: cst.Decorator) -> Decorator:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            name = dotted(expr.func) or code(expr.func)
            return Decorator(
                Ref(name, self.scope), code(expr), self.span(decorator), True, keywords(expr)
            )
        return Decorator(
            Ref(dotted(expr) or code(expr), self.scope), code(expr), self.span(decorator), False
        )

    def _finish(self) -> None:
        """Turn the frames of one top-level function (and its nested ones) into facts,
        now that every local name of every frame is known."""
        for frame in self._finished:
            hidden: set[str] = set()
            enclosing = frame.parent
            while enclosing is not None:
                hidden |= enclosing.local_names()
                enclosing = enclosing.parent
            local = frame.local_names()
            uses = tuple(
                u for u in frame.uses if u.ref.head not in local and u.ref.head not in hidden
            )
            # What the body reads on the instance of the method it is (or is nested in).
            owner: _Frame | None = frame
            while owner is not None and not owner.is_method:
                owner = owner.parent
            instance = owner.params[0] if owner is not None and owner.params else None
            shadowed = frame is not owner and instance in local
            self_uses = tuple(
                sorted(
                    {
                        u.ref.dotted.split(".", 1)[1]
                        for u in frame.uses
                        if instance
                        and not shadowed
                        and u.ref.head == instance
                        and "." in u.ref.dotted
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
                    params=tuple(frame.params),
                    is_method=frame.is_method,
                    self_uses=self_uses,
                )
            )
        self._finished.clear()

    # -- bindings inside a function ----------------------------------------------------

    def visit_Param(self, node: cst.Param) -> None:
        self._seen.add(id(node.name))
        if self._frame is not None:
            self._frame.params.append(node.name.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._seen.add(id(node.keyword))

    def _store(self, target: cst.CSTNode) -> None:
        if self._frame is not None:
            self._frame.stores.update(_stored_names(target))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_Assign(self, node: cst.Assign) -> None:
        # `ctx = app.app_context()`, pushed later with `ctx.push()`
        receiver = _context_receiver(node.value)
        if self._frame is not None and receiver is not None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._frame.contexts[target.target.value] = receiver

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._store(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._store(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._store(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._seen.update(id(n) for n in walk(node))
        self._store(node.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._store(node.name.name)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        if self._frame is not None:
            self._frame.stores.update(p.name.value for p in node.params.params)

    def _imported(self, node: cst.Import | cst.ImportFrom) -> None:
        self._seen.update(id(n) for n in walk(node))
        if self._frame is None:
            return
        names = node.names if not isinstance(node.names, cst.ImportStar) else ()
        for alias in names:
            if alias.asname is not None:
                bound = dotted(alias.asname.name)
            else:
                bound = (dotted(alias.name) or "").split(".", 1)[0]
            if bound:
                self._frame.imported.add(bound)

    def visit_Import(self, node: cst.Import) -> None:
        self._imported(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._imported(node)

    def visit_Global(self, node: cst.Global) -> None:
        self._seen.update(id(n) for n in walk(node))

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._seen.update(id(n) for n in walk(node))

    # -- reads -------------------------------------------------------------------------

    def _use(self, name: str, node: cst.CSTNode) -> None:
        frame = self._frame
        if frame is None:
            return
        in_context = frame.context_depth > 0 or frame.pushed_for_rest
        frame.uses.append(NameUse(Ref(name, frame.qualname), self.span(node), in_context))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._seen.add(id(node.attr))
        if id(node) in self._seen:
            return
        name = dotted(node)
        if name is None:
            return
        inner: cst.BaseExpression = node.value
        while isinstance(inner, cst.Attribute):
            self._seen.add(id(inner))
            inner = inner.value
        self._seen.add(id(inner))
        self._use(name, node)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._seen:
            self._use(node.value, node)

    # -- contexts, wrappers ------------------------------------------------------------

    def visit_With(self, node: cst.With) -> None:
        if self._frame is None:
            return
        for item in node.items:
            receiver = _context_receiver(item.item)
            if receiver is not None:
                self._frame.pushes.append(Ref(receiver, self._frame.qualname))
                self._frame.context_depth += 1

    def leave_With(self, original_node: cst.With) -> None:
        if self._frame is None:
            return
        for item in original_node.items:
            if _context_receiver(item.item) is not None:
                self._frame.context_depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        # `app.app_context().push()`, `stack.enter_context(app.app_context())`: a
        # context for the rest of the body.
        if self._frame is not None and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method == "push" and isinstance(node.func.value, cst.Name):
                receiver = self._frame.contexts.get(node.func.value.value)
            elif method == "push":
                receiver = _context_receiver(node.func.value)
            elif method == "enter_context" and len(node.args) == 1:
                receiver = _context_receiver(node.args[0].value)
            else:
                return
            if receiver is not None:
                self._frame.pushes.append(Ref(receiver, self._frame.qualname))
                self._frame.pushed_for_rest = True
