"""Gather URL rules: route decorators, add_url_rule and flask-restful add_resource."""

from __future__ import annotations

import libcst as cst

from celery_audit.extract.python.common import (
    Gatherer,
    dotted,
    keyword,
    positional,
    string_value,
)
from celery_audit.model.facts import Ref, RouteFacts

ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete"})

# Regular expressions: route decorators and registrations; `.get(` etc. only when a URL
# rule follows (`@bp.get("/x")`), since `.get(` alone is in nearly every file.
VOCABULARY = (
    r"\.route\(",
    r"\.(?:get|post|put|patch|delete)\(\s*(?:rule\s*=\s*)?['\"]/",
    "add_url_rule",
    "add_resource",
)


def _methods(call: cst.Call, verb: str) -> tuple[str, ...]:
    if verb != "route":
        return (verb.upper(),)
    value = keyword(call, "methods")
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        found = (string_value(e.value) for e in value.elements)
        return tuple(sorted(m.upper() for m in found if m))
    return ()


class RouteGatherer(Gatherer):
    """Collects `@x.route(rule)` / `@bp.get(rule)` views, `x.add_url_rule(rule, ...)`
    and `api.add_resource(Resource, rule, ...)`."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[RouteFacts] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        for decorator in node.decorators:
            call = decorator.decorator
            if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
                continue
            verb = call.func.attr.value
            args = positional(call)
            rule = string_value(args[0]) if args else string_value(keyword(call, "rule"))
            if verb in ROUTE_DECORATORS and rule is not None and rule.startswith("/"):
                self.routes.append(
                    RouteFacts(
                        rule=rule,
                        view=self.scope,
                        span=self.span(decorator),
                        methods=_methods(call, verb),
                        registrar=Ref(dotted(call.func.value) or "", self.scope),
                        decorated=True,
                    )
                )

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute):
            return
        method = node.func.attr.value
        registrar = Ref(dotted(node.func.value) or "", self.scope)
        args = positional(node)
        if method == "add_url_rule":
            rule = string_value(args[0]) if args else string_value(keyword(node, "rule"))
            view = keyword(node, "view_func") or (args[2] if len(args) > 2 else None)
            if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute):
                view = view.func.value  # `Cls.as_view("name")`
            name = dotted(view)
            if rule is not None and name is not None:
                self.routes.append(RouteFacts(rule, name, self.span(node), (), registrar))
        elif method == "add_resource" and args:
            name = dotted(args[0])
            if name is None:
                return
            for arg in args[1:]:
                rule = string_value(arg)
                if rule is not None:
                    self.routes.append(RouteFacts(rule, name, self.span(node), (), registrar))
