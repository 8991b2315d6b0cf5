"""Gather URL rules: route decorators, add_url_rule and flask-restful add_resource."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from celery_audit.extract.python.source import dotted, keyword, positional, string_value
from celery_audit.model.facts import Ref, RouteFacts

if TYPE_CHECKING:
    from celery_audit.extract.python.deep import Walker

ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete"})

# Regular expressions: route decorators and registrations; `.get(` etc. only when a URL
# rule follows (`@bp.get("/x")`), since `.get(` alone is in nearly every file.
VOCABULARY = (
    r"\.route\(",
    r"\.(?:get|post|put|patch|delete)\(\s*(?:rule\s*=\s*)?['\"]/",
    "add_url_rule",
    "add_resource",
)


def _methods(call: ast.Call, verb: str) -> tuple[str, ...]:
    if verb != "route":
        return (verb.upper(),)
    value = keyword(call, "methods")
    if type(value) in (ast.List, ast.Tuple, ast.Set):
        found = (string_value(e.value if type(e) is ast.Starred else e) for e in value.elts)  # type: ignore[union-attr]
        return tuple(sorted(m.upper() for m in found if m))
    return ()


class RouteGatherer:
    """Collects `@x.route(rule)` / `@bp.get(rule)` views, `x.add_url_rule(rule, ...)`
    and `api.add_resource(Resource, rule, ...)`."""

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.source = walker.source
        self.routes: list[RouteFacts] = []

    def enter_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = self.walker.scope
        for call in node.decorator_list:
            if type(call) is not ast.Call or type(call.func) is not ast.Attribute:
                continue
            verb = call.func.attr
            args = positional(call)
            rule = string_value(args[0]) if args else string_value(keyword(call, "rule"))
            if verb in ROUTE_DECORATORS and rule is not None and rule.startswith("/"):
                self.routes.append(
                    RouteFacts(
                        rule=rule,
                        view=scope,
                        span=self.source.decorator_span(call),
                        methods=_methods(call, verb),
                        registrar=Ref(dotted(call.func.value) or "", scope),
                        decorated=True,
                    )
                )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if type(func) is not ast.Attribute:
            return
        method = func.attr
        if method == "add_url_rule":
            args = positional(node)
            rule = string_value(args[0]) if args else string_value(keyword(node, "rule"))
            view = keyword(node, "view_func") or (args[2] if len(args) > 2 else None)
            if type(view) is ast.Call and type(view.func) is ast.Attribute:
                view = view.func.value  # `Cls.as_view("name")`
            name = dotted(view)
            if rule is not None and name is not None:
                registrar = Ref(dotted(func.value) or "", self.walker.scope)
                self.routes.append(RouteFacts(rule, name, self.source.span(node), (), registrar))
        elif method == "add_resource":
            args = positional(node)
            if not args:
                return
            name = dotted(args[0])
            if name is None:
                return
            registrar = Ref(dotted(func.value) or "", self.walker.scope)
            for arg in args[1:]:
                rule = string_value(arg)
                if rule is not None:
                    self.routes.append(
                        RouteFacts(rule, name, self.source.span(node), (), registrar)
                    )
