"""The deep pass: one traversal of the module's `ast` tree feeding every gatherer.

The traversal keeps the enclosing scope (functions and classes open scopes; lambdas and
comprehensions do not) and visits children in source order. Each gatherer (apps, calls,
config, functions, routes) gets hooks for the node types it reads.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from celery_audit.extract.python import apps, calls, config, functions, routes
from celery_audit.extract.python.source import Source, source_args
from celery_audit.model.facts import ModuleTable, PythonFacts

_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind"})


def _child_fields(kind: type) -> tuple[str, ...]:
    return tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)  # type: ignore[attr-defined]


class Walker:
    """Visits a module tree once, in source order, calling the gatherers' hooks."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.names: list[str] = []  # enclosing function/class names
        self.kinds: list[str] = []  # "function" or "class", per enclosing scope
        self.function_depth = 0
        self.quiet = 0  # inside decorators or `as` targets: names there are not reads
        self.apps = apps.AppGatherer(self)
        self.functions = functions.FunctionGatherer(self)
        self.calls = calls.DispatchGatherer(self)
        self.routes = routes.RouteGatherer(self)
        self.config = config.ConfigGatherer(self)
        self._fields: dict[type, tuple[str, ...]] = {}
        self._handlers: dict[type, Callable[[ast.AST], None]] = {
            ast.FunctionDef: self._function,  # type: ignore[dict-item]
            ast.AsyncFunctionDef: self._function,  # type: ignore[dict-item]
            ast.ClassDef: self._class,  # type: ignore[dict-item]
            ast.Lambda: self._lambda,  # type: ignore[dict-item]
            ast.Call: self._call,  # type: ignore[dict-item]
            ast.Name: self._name,  # type: ignore[dict-item]
            ast.Attribute: self._attribute,  # type: ignore[dict-item]
            ast.Constant: self._constant,  # type: ignore[dict-item]
            ast.Assign: self._assign,  # type: ignore[dict-item]
            ast.AnnAssign: self._ann_assign,  # type: ignore[dict-item]
            ast.AugAssign: self._store_into,  # type: ignore[dict-item]
            ast.NamedExpr: self._store_into,  # type: ignore[dict-item]
            ast.For: self._for,  # type: ignore[dict-item]
            ast.AsyncFor: self._for,  # type: ignore[dict-item]
            ast.comprehension: self._comprehension,  # type: ignore[dict-item]
            ast.With: self._with,  # type: ignore[dict-item]
            ast.AsyncWith: self._with,  # type: ignore[dict-item]
            ast.ExceptHandler: self._except,  # type: ignore[dict-item]
            ast.Import: self._import,  # type: ignore[dict-item]
            ast.ImportFrom: self._import,  # type: ignore[dict-item]
            ast.Global: self._global,  # type: ignore[dict-item]
            ast.Nonlocal: self._skip,
            ast.Return: self._return,  # type: ignore[dict-item]
            ast.Dict: self._dict,  # type: ignore[dict-item]
            ast.IfExp: self._if_exp,  # type: ignore[dict-item]
            ast.Expr: self._expr,  # type: ignore[dict-item]
            ast.MatchAs: self._capture,  # type: ignore[dict-item]
            ast.MatchStar: self._capture,  # type: ignore[dict-item]
            ast.MatchMapping: self._capture_rest,  # type: ignore[dict-item]
            ast.Pass: self._skip,
            ast.Break: self._skip,
            ast.Continue: self._skip,
        }

    # -- scope ---------------------------------------------------------------------------

    @property
    def scope(self) -> str:
        return ".".join(self.names)

    @property
    def in_function(self) -> bool:
        return self.function_depth > 0

    @property
    def in_class_body(self) -> bool:
        return bool(self.kinds) and self.kinds[-1] == "class"

    # -- traversal -----------------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        handler = self._handlers.get(type(node))
        if handler is not None:
            handler(node)
        else:
            self.generic(node)

    def generic(self, node: ast.AST) -> None:
        kind = type(node)
        fields = self._fields.get(kind)
        if fields is None:
            fields = self._fields[kind] = _child_fields(kind)
        visit = self.visit
        for name in fields:
            value = getattr(node, name)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

    def visit_all(self, nodes: list[ast.stmt] | list[ast.expr]) -> None:
        visit = self.visit
        for node in nodes:
            visit(node)

    def _skip(self, node: ast.AST) -> None:
        pass

    def _quietly(self, node: ast.AST) -> None:
        self.quiet += 1
        self.visit(node)
        self.quiet -= 1

    def _arguments(self, args: ast.arguments, *, own: bool = True) -> None:
        """Each parameter in turn: its name (`own`: the enclosing function's, not a
        lambda's, whose names `FunctionGatherer.lambda_` keeps), annotation and default."""
        functions = self.functions
        plain = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(plain) - len(args.defaults))
        defaults += args.defaults
        ordered: list[tuple[ast.arg, ast.expr | None]] = list(zip(plain, defaults, strict=True))
        if args.vararg is not None:
            ordered.append((args.vararg, None))
        ordered += zip(args.kwonlyargs, args.kw_defaults, strict=True)
        if args.kwarg is not None:
            ordered.append((args.kwarg, None))
        for arg, default in ordered:
            if own:
                functions.param(arg.arg)
            if arg.annotation is not None:
                self.visit(arg.annotation)
            if default is not None:
                self.visit(default)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators run in the enclosing scope, before the function exists.
        for decorator in node.decorator_list:
            self._quietly(decorator)
        self.functions.enter_function(node)
        self.names.append(node.name)
        self.kinds.append("function")
        self.function_depth += 1
        self.apps.enter_function()
        self.functions.open_frame(node)
        self.calls.enter_function()
        self.routes.enter_function(node)
        self._arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.visit_all(node.body)
        self.apps.leave_function()
        self.functions.leave_function()
        self.calls.leave_function()
        self.function_depth -= 1
        self.kinds.pop()
        self.names.pop()

    def _class(self, node: ast.ClassDef) -> None:
        self.names.append(node.name)
        self.kinds.append("class")
        self.functions.enter_class(node)
        self.config.enter_class()
        for decorator in node.decorator_list:
            self._quietly(decorator)
        self.visit_all(node.bases)
        for item in node.keywords:
            self.visit(item.value)
        self.visit_all(node.body)
        self.functions.leave_class(node)
        self.config.leave_class()
        self.kinds.pop()
        self.names.pop()

    def _lambda(self, node: ast.Lambda) -> None:
        self.functions.lambda_(node)
        self._arguments(node.args, own=False)
        self.visit(node.body)

    def _call(self, node: ast.Call) -> None:
        self.apps.call(node)
        self.functions.call(node)
        self.calls.call(node)
        self.routes.call(node)
        self.config.call(node)
        self.visit(node.func)
        # In source order: a keyword can come before a `*args`.
        for arg in source_args(node) if node.keywords else node.args:
            self.visit(arg.value if type(arg) is ast.keyword else arg)

    def _name(self, node: ast.Name) -> None:
        if not self.quiet:
            self.functions.use(node.id, node)

    def _constant(self, node: ast.Constant) -> None:
        # `None`, `True` and `False` are read like names (the facts have always listed
        # them among a body's reads; no import or binding can give them a meaning).
        value = node.value
        if not self.quiet and (value is None or value is True or value is False):
            self.functions.use(str(value), node)

    def _attribute(self, node: ast.Attribute) -> None:
        # A dotted name (`a.b.c`) is one read; in `f().x` or `a[0].x` the reads are inside.
        inner = node.value
        while type(inner) is ast.Attribute:
            inner = inner.value
        kind = type(inner)
        if kind is ast.Name or (
            kind is ast.Constant
            and (inner.value is None or inner.value is True or inner.value is False)  # type: ignore[attr-defined]
        ):
            if not self.quiet:
                self.functions.use_attribute(node)
            return
        self.visit(node.value)

    def _assign(self, node: ast.Assign) -> None:
        self.apps.assign(node)
        self.functions.assign(node)
        self.config.assign(node)
        for target in node.targets:
            self.functions.store(target)
            self.visit(target)
        self.visit(node.value)
        self.calls.assign(node)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        self.apps.ann_assign(node)
        self.functions.store(node.target)
        self.config.ann_assign(node)
        self.visit(node.target)
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    def _store_into(self, node: ast.AugAssign | ast.NamedExpr) -> None:
        """`x += v`, `(x := v)`: one target stored, then the target and the value."""
        self.functions.store(node.target)
        self.visit(node.target)
        self.visit(node.value)

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        self.functions.store(node.target)
        self.visit(node.target)
        self.visit(node.iter)
        self.visit_all(node.body)
        self.visit_all(node.orelse)

    def _comprehension(self, node: ast.comprehension) -> None:
        self.functions.store(node.target)
        self.visit(node.target)
        self.visit(node.iter)
        self.visit_all(node.ifs)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        entered = self.functions.enter_with(node)
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.functions.store(item.optional_vars)
                self._quietly(item.optional_vars)
        self.visit_all(node.body)
        self.functions.leave_with(entered)

    def _except(self, node: ast.ExceptHandler) -> None:
        if node.name is not None:
            self.functions.store_name(node.name)
        if node.type is not None:
            self.visit(node.type)
        self.visit_all(node.body)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.functions.imported(node)

    def _global(self, node: ast.Global) -> None:
        self.apps.global_(node)

    def _return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.calls.return_(node.value)

    def _capture(self, node: ast.MatchAs | ast.MatchStar) -> None:
        # A capture pattern binds a local name.
        if node.name is not None:
            self.functions.store_name(node.name)
        self.generic(node)

    def _capture_rest(self, node: ast.MatchMapping) -> None:
        if node.rest is not None:
            self.functions.store_name(node.rest)
        self.generic(node)

    def _dict(self, node: ast.Dict) -> None:
        visit = self.visit
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                visit(key)
            visit(value)

    def _if_exp(self, node: ast.IfExp) -> None:
        # In source order: `body if test else orelse`.
        self.visit(node.body)
        self.visit(node.test)
        self.visit(node.orelse)

    def _expr(self, node: ast.Expr) -> None:
        self.visit(node.value)


def deep_facts(text: str, tree: ast.Module, table: ModuleTable) -> PythonFacts:
    """The deep facts of a parsed module."""
    walker = Walker(Source(text))
    walker.visit_all(tree.body)
    return PythonFacts(
        table=table,
        deep=True,
        app_creations=tuple(walker.apps.creations),
        app_configs=tuple(walker.apps.configs),
        functions=tuple(walker.functions.functions),
        classes=tuple(walker.functions.classes),
        dispatches=tuple(walker.calls.dispatches),
        routes=tuple(walker.routes.routes),
        status_reads=tuple(walker.calls.status_reads),
        beat_entries=tuple(walker.config.entries),
        states_set=tuple(walker.calls.states),
        config_classes=tuple(walker.config.config_classes),
        settings=tuple(walker.config.settings),
    )
