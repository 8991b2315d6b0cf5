"""Gather Flask/Celery app creations and the configuration steps applied to apps."""

from __future__ import annotations

import libcst as cst

from celery_audit.extract.python.common import (
    Gatherer,
    code,
    dotted,
    keywords,
    positional,
    string_value,
)
from celery_audit.model.facts import AppConfig, AppCreation, Ref

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
    r"Flask\(", "[Cc]elery", r"Api\(", r"Blueprint\(", r"conf\.", "register_blueprint",
    "register_task", r"tasks\.register",
)  # fmt: skip


def _is_app_factory(callee: str) -> bool:
    last = callee.rsplit(".", 1)[-1]
    return last in APP_FACTORY_NAMES or "celery" in last.lower()


def _arg_texts(call: cst.Call) -> tuple[str, ...]:
    texts = []
    for value in positional(call):
        literal = string_value(value)
        if literal is not None:
            texts.append(literal)
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            texts.extend(
                s for s in (string_value(e.value) for e in value.elements) if s is not None
            )
        else:
            texts.append(code(value))
    texts.extend(f"{k.name}={k.value}" for k in keywords(call))
    return tuple(texts)


class AppGatherer(Gatherer):
    """Collects `x = Flask(...)` / `x = Celery(...)` / factory calls, and calls or
    assignments that configure an app (`x.conf.update`, `x.Task = Base`, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.creations: list[AppCreation] = []
        self.configs: list[AppConfig] = []
        self._assigned: set[int] = set()
        self._globals: list[set[str]] = []  # `global x` per enclosing function

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._globals.append(set())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._globals.pop()
        super().leave_FunctionDef(original_node)

    def visit_Global(self, node: cst.Global) -> None:
        if self._globals:
            self._globals[-1].update(item.name.value for item in node.names)

    def _creation(self, call: cst.Call, var: str, node: cst.CSTNode) -> None:
        callee = dotted(call.func)
        if callee is None or not _is_app_factory(callee):
            return
        args = positional(call)
        main = None
        if args:
            main = string_value(args[0])
            if main is None and isinstance(args[0], cst.Name) and args[0].value == "__name__":
                main = "__name__"
        # `global celery` then `celery = Celery(...)` in a factory binds the module's name.
        is_global = bool(self._globals) and var in self._globals[-1]
        self.creations.append(
            AppCreation(
                callee=callee,
                var=var,
                span=self.span(node),
                scope="" if is_global else self.scope,
                main=main,
                keywords=keywords(call),
            )
        )
        self._assigned.add(id(call))

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            name = dotted(target.target)
            if name is None:
                continue
            if isinstance(value, cst.Call) and "." not in name:
                self._creation(value, name, node)
            elif isinstance(value, cst.Call) and name.count(".") == 1:
                # `extensions.celery = FlaskCelery(app)`: the app stored in a module
                self._creation(value, name, node)
                if id(value) not in self._assigned:
                    self._config_assignment(name, value, node)
            elif "." in name:
                self._config_assignment(name, value, node)

    def _config_assignment(self, name: str, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        # `celery.Task = ContextTask`, `celery.conf.beat_schedule = {...}`
        head, _, attr = name.partition(".")
        self.configs.append(
            AppConfig(
                target=self._ref(head),
                action=f"set:{attr}",
                span=self.span(node),
                args=(code(value),),
            )
        )

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = dotted(node.target)
        if isinstance(node.value, cst.Call) and name and "." not in name:
            self._creation(node.value, name, node)

    def visit_Call(self, node: cst.Call) -> None:
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
                    span=self.span(node),
                    args=_arg_texts(node),
                )
            )
        elif not method and _is_app_factory(callee):
            # A bare `celery_init_app(app)` inside a factory still creates an app.
            self._creation(node, "", node)

    def _ref(self, head: str) -> Ref:
        return Ref(head, self.scope)
