"""Gather Flask/Celery app creations and the configuration steps applied to apps."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from celery_audit.extract.python.source import (
    dotted,
    is_sole_argument,
    positional,
    string_value,
    unstarred,
)
from celery_audit.model.facts import AppConfig, AppCreation, Ref

if TYPE_CHECKING:
    from celery_audit.extract.python.deep import Walker

# Callees whose result may be a Flask or Celery app (or an object that makes one).
# Linking decides by qualified name; this only keeps unrelated calls out of the facts.
APP_FACTORY_NAMES = frozenset(
    {
        "Flask", "Celery", "make_celery", "celery_init_app", "create_celery_app",
        "create_celery", "make_celery_app", "init_celery", "FlaskCeleryExt", "Api",
        "Blueprint",
    }
)  # fmt: skip

# Calls linking reads: configuration of a Celery app (or its conf), task classes
# registered with an app, and Flask's register_blueprint (for URL prefixes).
CONFIG_METHODS = frozenset(
    {
        "config_from_object", "autodiscover_tasks", "set_default", "conf.update",
        "register_task", "tasks.register", "register_blueprint",
    }
)  # fmt: skip
# Regular expressions: a file matching none of them holds no fact of this gatherer.
VOCABULARY = (
    r"Flask\(", "Celery", "celery", r"Api\(", r"Blueprint\(", r"conf\.", "register_blueprint",
    "register_task", r"tasks\.register",
)  # fmt: skip


def _is_app_factory(callee: str) -> bool:
    last = callee.rsplit(".", 1)[-1]
    return last in APP_FACTORY_NAMES or "celery" in last.lower()


class AppGatherer:
    """Collects `x = Flask(...)` / `x = Celery(...)` / factory calls, and calls or
    assignments that configure an app (`x.conf.update`, `x.Task = Base`, ...)."""

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.source = walker.source
        self.creations: list[AppCreation] = []
        self.configs: list[AppConfig] = []
        self._assigned: set[int] = set()
        self._globals: list[set[str]] = []  # `global x` per enclosing function

    def enter_function(self) -> None:
        self._globals.append(set())

    def leave_function(self) -> None:
        self._globals.pop()

    def global_(self, node: ast.Global) -> None:
        if self._globals:
            self._globals[-1].update(node.names)

    def _arg_texts(self, call: ast.Call) -> tuple[str, ...]:
        texts = []
        for value in positional(call):
            literal = string_value(value)
            if literal is not None:
                texts.append(literal)
            elif type(value) in (ast.List, ast.Tuple, ast.Set):
                texts.extend(
                    s
                    for s in (string_value(unstarred(e)) for e in value.elts)  # type: ignore[attr-defined]
                    if s is not None
                )
            else:
                texts.append(self.source.code(value, is_sole_argument(call, value)))
        texts.extend(f"{k.name}={k.value}" for k in self.source.keywords(call))
        return tuple(texts)

    def _creation(self, call: ast.Call, var: str, node: ast.AST) -> None:
        callee = dotted(call.func)
        if callee is None or not _is_app_factory(callee):
            return
        args = positional(call)
        main = None
        if args:
            main = string_value(args[0])
            if main is None and type(args[0]) is ast.Name and args[0].id == "__name__":
                main = "__name__"
        # `global celery` then `celery = Celery(...)` in a factory binds the module's name.
        is_global = bool(self._globals) and var in self._globals[-1]
        self.creations.append(
            AppCreation(
                callee=callee,
                var=var,
                span=self.source.span(node),
                scope="" if is_global else self.walker.scope,
                main=main,
                keywords=self.source.keywords(call),
            )
        )
        self._assigned.add(id(call))

    def assign(self, node: ast.Assign) -> None:
        value = node.value
        is_call = type(value) is ast.Call
        for target in node.targets:
            name = dotted(target)
            if name is None:
                continue
            if is_call and "." not in name:
                self._creation(value, name, node)  # type: ignore[arg-type]
            elif is_call and name.count(".") == 1:
                # `extensions.celery = FlaskCelery(app)`: the app stored in a module
                self._creation(value, name, node)  # type: ignore[arg-type]
                if id(value) not in self._assigned:
                    self._config_assignment(name, value, node)
            elif "." in name:
                self._config_assignment(name, value, node)

    def _config_assignment(self, name: str, value: ast.expr, node: ast.AST) -> None:
        # `celery.Task = ContextTask`, `celery.conf.beat_schedule = {...}`
        head, _, attr = name.partition(".")
        self.configs.append(
            AppConfig(
                target=self._ref(head),
                action=f"set:{attr}",
                span=self.source.span(node),
                args=(self.source.code(value),),
            )
        )

    def ann_assign(self, node: ast.AnnAssign) -> None:
        name = dotted(node.target)
        if type(node.value) is ast.Call and name and "." not in name:
            self._creation(node.value, name, node)

    def call(self, node: ast.Call) -> None:
        if id(node) in self._assigned:
            return
        callee = dotted(node.func)
        if callee is None:
            return
        head, _, method = callee.partition(".")
        if method in CONFIG_METHODS:
            self.configs.append(
                AppConfig(
                    target=self._ref(head),
                    action=method,
                    span=self.source.span(node),
                    args=self._arg_texts(node),
                )
            )
        elif not method and _is_app_factory(callee):
            # A bare `celery_init_app(app)` inside a factory still creates an app.
            self._creation(node, "", node)

    def _ref(self, head: str) -> Ref:
        return Ref(head, self.walker.scope)
