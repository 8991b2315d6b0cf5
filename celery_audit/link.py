"""Linking: join every file's facts into one resolved `Project`.

Module names, name resolution (see resolve.py), which objects are Flask apps, Celery
apps and Flask extensions, which functions are tasks and under what registered name,
what each dispatch calls, which functions serve HTTP, the import graph and its cycles.
"""

from __future__ import annotations

import ast
import dataclasses
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from celery_audit.celery_names import is_test_path, listed_modules, setting_name
from celery_audit.extract.python.table import dotted
from celery_audit.graph import ProjectGraph
from celery_audit.model.facts import (
    AppConfig,
    AppCreation,
    Decorator,
    Dispatch,
    FileFacts,
    FunctionFacts,
    Keyword,
    PythonFacts,
    Ref,
    Span,
)
from celery_audit.model.project import (
    BeatEntry,
    CallSite,
    CeleryApp,
    Edge,
    Evidence,
    FlaskApp,
    FrontendCall,
    LinkOptions,
    Module,
    Problem,
    Project,
    Route,
    Setting,
    StatusEndpoint,
    Task,
    WorkerCommand,
)
from celery_audit.resolve import Resolver, Target, module_names, module_parts, path_aliases
from celery_audit.urls import best_rules
from celery_audit.worker_targets import WorkerLinker

__all__ = ["LinkOptions", "link", "tasks_by_qualname"]

FLASK = frozenset({"flask.Flask", "flask.app.Flask"})
CELERY = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task", "celery.task"})
CELERYEXT_FACTORIES = frozenset(
    {"flask_celeryext.create_celery_app", "flask_celeryext.app.create_celery_app"}
)
CELERYEXT = frozenset({"flask_celeryext.FlaskCeleryExt", "flask_celeryext.ext.FlaskCeleryExt"})
CONTEXT_TASK_BASES = frozenset(
    {"flask_celeryext.AppContextTask", "flask_celeryext.app.AppContextTask"}
)
CANVAS = frozenset(
    f"celery{mid}.{name}"
    for mid in ("", ".canvas")
    for name in ("chain", "group", "chord", "signature", "subtask")
)
API_CLASSES = frozenset({"flask_restful.Api", "flask_restx.Api", "flask_smorest.Api"})
BLUEPRINTS = frozenset({"flask.Blueprint", "flask.blueprints.Blueprint", "flask_smorest.Blueprint"})
VIEW_BASES = frozenset(
    {
        "flask_restful.Resource", "flask_restx.Resource", "flask.views.MethodView",
        "flask.views.View", "flask_smorest.MethodView",
    }
)  # fmt: skip
# Worker signals whose handlers run in the worker before tasks (and may push a context).
CONTEXT_SIGNALS = frozenset(
    f"celery.signals.{name}" for name in ("worker_process_init", "worker_init", "task_prerun")
)
FLASK_PROXIES = frozenset(
    {"flask.request", "flask.session", "flask.g", "flask.current_app", "flask_login.current_user"}
)
# Query methods that return model instances (or lists of them).
ORM_FETCH = frozenset(
    {
        "first", "one", "one_or_none", "get", "all", "first_or_404", "get_or_404", "one_or_404",
        "scalar", "scalar_one", "scalar_one_or_none", "scalars",
    }
)  # fmt: skip
HTTP_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"}
)

# Flask names that only work inside an app context, and inside a request context.
APP_CONTEXT_NAMES = frozenset(
    {
        "flask.current_app", "flask.g", "flask.url_for", "flask.render_template",
        "flask.render_template_string", "flask.stream_template", "flask.globals.current_app",
        "flask.globals.g",
    }
)  # fmt: skip
REQUEST_CONTEXT_NAMES = frozenset(
    {
        "flask.request",
        "flask.session",
        "flask.flash",
        "flask.globals.request",
        "flask_login.current_user",
    }
)

# Extension classes by what their instances need.
EXTENSION_KINDS = {
    "flask_sqlalchemy.SQLAlchemy": "sqlalchemy",
    "flask_caching.Cache": "cache",
    "flask_cache.Cache": "cache",
    "flask_mail.Mail": "mail",
    "flask_mailman.Mail": "mail",
}
EXTENSION_PACKAGES = ("flask_", "celery", "redis", "sqlalchemy", "kombu", "pymongo")

ROLE_ORDER = ("app", "workers", "resources", "extensions", "config")


@dataclass
class _Object:
    """A module-level (or factory-level) object worth knowing: an app or extension."""

    qualname: str
    module: str
    kind: str  # flask, celery, sqlalchemy, cache, mail, extension, api, blueprint
    span: Span
    how: str
    creation: AppCreation | None = None
    call_has_args: bool = True


_NO_OBJECT = _Object("", "", "", Span(1), "")


@dataclass
class _AppDraft:
    obj: _Object
    aliases: set[str] = field(default_factory=set)
    include: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    autodiscover: list[str] = field(default_factory=list)
    context_base: str | None = None
    request_base: str | None = None  # its task class pushes a request context too
    set_default: bool = False
    config: list[Evidence] = field(default_factory=list)
    backend: str | None = None
    creation_module: str | None = None  # where the folded factory's Celery() call is


class _Linker:
    def __init__(
        self,
        root: str,
        facts: list[FileFacts],
        root_packages: tuple[str, ...],
        options: LinkOptions,
    ) -> None:
        self.root = root
        self.options = options
        self.facts = sorted(facts, key=lambda f: f.source.path)
        python = {f.source.path: f.python for f in self.facts if f.python is not None}
        natural = module_names(sorted(python), root_packages)
        # The folder each module's dotted name starts from: separate projects in one
        # scan (a monorepo) have separate import roots.
        roots = {path: _import_root(path, name) for path, name in natural.items()}
        # Two projects of a monorepo may have modules of the same name (`app.tasks` in
        # services/api and in services/worker): the first keeps it, the others are
        # known by their path from the scanned root (`services.worker.app.tasks`), and
        # their own project's imports of the name still find them (`Resolver.local`).
        self.paths = _distinct_names(natural)
        self.natural = {
            key: natural[path] for path, key in self.paths.items() if key != natural[path]
        }
        self.file_of = {name: path for path, name in self.paths.items()}
        self.py: dict[str, PythonFacts] = {self.paths[p]: f for p, f in python.items()}
        self.import_root = {self.paths[path]: root for path, root in roots.items()}
        packages = {self.paths[p] for p in python if p.endswith("__init__.py")}
        self.resolver = Resolver(
            {m: f.table for m, f in self.py.items()},
            packages,
            path_aliases(self.paths),
            _shadowing({m: f for m, f in self.py.items() if m not in packages}),
            local={
                (roots[p], natural[p]): key for p, key in self.paths.items() if key != natural[p]
            },
            roots=self.import_root,
        )
        # Other dotted paths modules are actually imported under, and by whom.
        self.alias_importers: dict[str, set[str]] = {}  # other path -> importing modules
        for (module, _), imports in self.resolver.imports_by_scope():
            for imp in imports:
                base = self.resolver.absolute(module, imp)
                for name in (base, f"{base}.{imp.name}" if imp.name else base):
                    if name in self.resolver.aliases:
                        self.alias_importers.setdefault(name, set()).add(module)
        self.functions = {(m, fn.qualname): fn for m, f in self.py.items() for fn in f.functions}
        self.classes = {(m, c.qualname): c for m, f in self.py.items() for c in f.classes}
        self._helpers: dict[str, str | None] = {}  # decorator -> app of the task it makes
        self._signals: dict[str, tuple[Evidence, ...]] | None = None
        # `app.register_task(Export())`: (app qualname, module, the registration step)
        self._registrations: list[tuple[str, str, AppConfig]] = []
        self._drafts: dict[str, _AppDraft] = {}  # apps by qualname and alias
        # (name, function) of `name = function(...)` for a project function whose every
        # `return` returns one name (`objects` collects them, `_returned_apps` reads them)
        self._returned: list[tuple[str, Target]] = []

    # -- helpers -----------------------------------------------------------------------

    def resolve(self, module: str, ref: Ref | str) -> Target | None:
        return self.resolver.resolve(module, ref)

    def qualified(self, module: str, ref: Ref | str) -> str | None:
        target = self.resolve(module, ref)
        return target.name if target is not None else None

    def _local_creation(self, module: str, ref: Ref) -> AppCreation | None:
        """A creation bound to `ref`'s head in its own scope (an app in a factory)."""
        scope = ref.scope
        while True:
            for creation in self.py[module].app_creations:
                if creation.var == ref.head and creation.scope == scope:
                    return creation
            if not scope:
                return None
            scope = scope.rpartition(".")[0]

    # -- objects -----------------------------------------------------------------------

    def objects(self) -> dict[str, _Object]:
        """Apps and extension objects by qualified name."""
        found: dict[str, _Object] = {}
        for module, facts in sorted(self.py.items()):
            for creation in facts.app_creations:
                kind = self._creation_kind(
                    self.qualified(module, Ref(creation.callee, creation.scope))
                ) or self._app_class_kind(
                    self.resolve(module, Ref(creation.callee, creation.scope))
                )
                if kind is None:
                    continue
                var = creation.var or "<unnamed>"
                qualname = ".".join(p for p in (module, creation.scope, var) if p)
                if "." in var:
                    # `extensions.celery = FlaskCelery(app)`: the module's attribute
                    holder = self.resolve(module, Ref(var.split(".")[0], creation.scope))
                    if holder is None or holder.kind != "module":
                        continue
                    qualname = f"{holder.name}.{var.split('.', 1)[1]}"
                how = creation.callee.rsplit(".", 1)[-1] + "()"
                if creation.scope and kind in ("celery", "flask"):
                    how = f"{creation.scope.split('.')[0]}()"
                found.setdefault(
                    qualname, _Object(qualname, module, kind, creation.span, how, creation)
                )
            for binding in facts.table.bindings:
                if binding.kind != "assign" or not binding.value_call:
                    continue
                qualname = ".".join(p for p in (module, binding.scope, binding.name) if p)
                callee = self.resolve(module, Ref(binding.value_call, binding.scope))
                if callee is None:
                    continue
                function = callee.binding if callee.kind == "def" else None
                if function is not None and function.kind == "function" and function.returns:
                    self._returned.append((qualname, callee))  # see `_returned_apps`
                kind = self._creation_kind(callee.name) or self._app_class_kind(callee)
                if kind is None and callee.kind == "def" and callee.binding is not None:
                    kind = self._factory_kind(callee)
                if (
                    kind is None
                    and callee.kind == "external"
                    and callee.name.startswith(EXTENSION_PACKAGES)
                ):
                    kind = "extension"
                if kind is None:
                    continue
                if qualname in found:
                    found[qualname].call_has_args = binding.call_has_args
                    continue
                how = binding.value_call.rsplit(".", 1)[-1] + "()"
                found[qualname] = _Object(
                    qualname, module, kind, binding.span, how, None, binding.call_has_args
                )
        return found

    def _creation_kind(self, callee: str | None) -> str | None:
        if callee is None:
            return None
        if callee in FLASK:
            return "flask"
        if callee in CELERY or callee in CELERYEXT_FACTORIES:
            return "celery"
        if callee in CELERYEXT:
            return "celeryext"
        if callee in API_CLASSES:
            return "api"
        if callee in BLUEPRINTS:
            return "blueprint"
        return EXTENSION_KINDS.get(callee)

    def _app_class_kind(self, target: Target | None, depth: int = 0) -> str | None:
        """`celery` / `flask` for a project class deriving from Celery or Flask
        (`class IndicoCelery(Celery)`): its instances are apps."""
        if target is None or depth > 8:
            return None
        if target.name in CELERY:
            return "celery"
        if target.name in FLASK:
            return "flask"
        if target.kind != "def" or target.binding is None or target.binding.kind != "class":
            return None
        for base in self._bases(target):
            kind = self._app_class_kind(base, depth + 1)
            if kind is not None:
                return kind
        return None

    def _bases(self, target: Target) -> Iterator[Target]:
        """The base classes of the project class `target` (or of the class a member
        hangs from), resolved in its module."""
        module = target.module or ""
        cls = self.classes.get((module, target.base[len(module) + 1 :]))
        if cls is not None:
            refs = cls.bases
        else:
            refs = tuple(Ref(b) for b in target.binding.bases) if target.binding else ()
        for ref in refs:
            resolved = self.resolve(module, ref)
            if resolved is not None:
                yield resolved

    def _functions_under(self, module: str, qualname: str) -> Iterator[FunctionFacts]:
        """The function `qualname` of `module` (a function or class) and every function
        nested in it."""
        for (where, name), fn in self.functions.items():
            if where == module and (name == qualname or name.startswith(qualname + ".")):
                yield fn

    def _factory_kind(self, callee: Target) -> str | None:
        """`flask` / `celery` when a project function creates (and returns) an app."""
        if callee.module is None or callee.binding is None or callee.binding.kind != "function":
            return None
        scope = callee.name[len(callee.module) + 1 :]
        for creation in self.py[callee.module].app_creations:
            if creation.scope == scope or creation.scope.startswith(scope + "."):
                kind = self._creation_kind(
                    self.qualified(callee.module, Ref(creation.callee, creation.scope))
                )
                if kind in ("flask", "celery"):
                    return kind
        return None

    # -- Celery apps -------------------------------------------------------------------

    def celery_apps(self, objects: dict[str, _Object]) -> list[_AppDraft]:
        drafts: dict[str, _AppDraft] = {}
        folded: dict[str, str] = {}  # factory-local app -> the module-level app it becomes
        for obj in objects.values():
            if obj.kind == "celeryext":
                celery = _Object(
                    f"{obj.qualname}.celery",
                    obj.module,
                    "celery",
                    obj.span,
                    "FlaskCeleryExt",
                    obj.creation,
                )
                draft = _AppDraft(celery, context_base="flask_celeryext.AppContextTask")
                drafts[celery.qualname] = draft
            elif obj.kind == "celery":
                drafts[obj.qualname] = _AppDraft(obj)
                creation = obj.creation
                if creation is not None and (
                    self.qualified(obj.module, Ref(creation.callee, creation.scope))
                    in CELERYEXT_FACTORIES
                ):
                    # `celery = create_celery_app(app)`: Flask-CeleryExt's AppContextTask
                    drafts[obj.qualname].context_base = "flask_celeryext.AppContextTask"
        # `celery = make_celery(app)`: the module-level name and the app made in the
        # factory are one app; keep the module-level name, merge the factory's facts.
        for qualname, draft in list(drafts.items()):
            if draft.obj.creation is not None:
                continue
            binding_module = draft.obj.module
            facts = self.py[binding_module]
            for binding in facts.table.bindings:
                if (
                    ".".join(p for p in (binding_module, binding.scope, binding.name) if p)
                    != qualname
                ):
                    continue
                callee = self.resolve(binding_module, Ref(binding.value_call or "", binding.scope))
                if callee is None:
                    continue
                if callee.name in CELERYEXT_FACTORIES:
                    draft.context_base = "flask_celeryext.AppContextTask"
                if callee.kind == "def" and callee.module is not None:
                    scope = callee.name[len(callee.module) + 1 :]
                    for inner_name, inner in list(drafts.items()):
                        creation = inner.obj.creation
                        if inner_name == qualname or inner_name in folded:
                            continue
                        if (
                            inner.obj.module == callee.module
                            and creation
                            and creation.scope == scope
                        ):
                            folded[inner_name] = qualname
                            draft.obj.creation = creation
                            draft.creation_module = callee.module
                            draft.aliases.add(inner_name)
                            draft.obj.how = f"{scope}()"
        for inner_name in folded:
            drafts.pop(inner_name, None)
        self._returned_apps(drafts)
        by_name = {}
        for draft in drafts.values():
            by_name[draft.obj.qualname] = draft
            for alias in draft.aliases:
                by_name[alias] = draft
        for draft in drafts.values():
            self._creation_settings(draft)
        self._configure(by_name)
        return sorted(drafts.values(), key=lambda d: (self.file_of[d.obj.module], d.obj.span.line))

    def _returned_apps(self, drafts: dict[str, _AppDraft]) -> None:
        """`celery = configure_celery(app)`, where the function configures and returns
        an app made elsewhere (`return celery`): the name is that app too. The names
        bound to what such a function returns were collected by `objects`."""
        for qualname, callee in self._returned:
            assert callee.binding is not None and callee.binding.returns is not None
            module = callee.module or ""
            scope = callee.name[len(module) + 1 :]
            target = self.resolve(module, Ref(callee.binding.returns, scope))
            draft = drafts.get(target.name) if target is not None else None
            if draft is not None and qualname != draft.obj.qualname:
                draft.aliases.add(qualname)

    def _creation_settings(self, draft: _AppDraft) -> None:
        creation = draft.obj.creation
        if creation is None:
            return
        module = draft.creation_module or draft.obj.module
        for kw in creation.keywords:
            if kw.name == "include":
                draft.include.extend(listed_modules(kw.value, kw.literal))
            elif kw.name == "imports":
                draft.imports.extend(listed_modules(kw.value, kw.literal))
            elif kw.name == "backend":
                draft.backend = kw.value
            elif kw.name == "task_cls":
                base = self._context_class(module, kw.value, creation.scope)
                if base:
                    draft.context_base = base
                    draft.request_base = self._context_class(
                        module, kw.value, creation.scope, request=True
                    )
            if kw.name in ("include", "imports", "backend", "broker", "task_cls", "config_source"):
                draft.config.append(
                    Evidence(self.file_of[module], creation.span, f"{kw.name}={kw.value}")
                )

    def _configure(self, apps: dict[str, _AppDraft]) -> None:
        # `self.Task = X` in a method of an app's own Celery subclass configures every
        # instance of that class.
        by_class: dict[str, list[_AppDraft]] = {}
        for qualname, each in apps.items():
            app_class = self._app_class(each)
            if app_class is not None and qualname == each.obj.qualname:
                by_class.setdefault(app_class.name, []).append(each)
        for module, facts in sorted(self.py.items()):
            for step in facts.app_configs:
                if step.target.dotted == "self" and step.target.scope:
                    owner = f"{module}.{step.target.scope.split('.', 1)[0]}"
                    for each in by_class.get(owner, ()):
                        self._configure_step(each, module, step)
                    continue
                target = self.resolve(module, step.target)
                draft = apps.get(target.name) if target is not None else None
                if draft is not None:
                    self._configure_step(draft, module, step)

    def _configure_step(self, draft: _AppDraft, module: str, step: AppConfig) -> None:
        action = step.action
        if action == "set:Task":
            base = self._context_class(module, step.args[0], step.target.scope)
            if base:
                draft.context_base = base
                draft.request_base = self._context_class(
                    module, step.args[0], step.target.scope, request=True
                )
        elif action == "autodiscover_tasks":
            for arg in step.args:
                name, is_keyword, value = arg.partition("=")
                if not is_keyword:
                    draft.autodiscover.append(arg)
                elif name.strip() == "packages":
                    draft.autodiscover.extend(listed_modules(value, False))
        elif action == "set_default":
            draft.set_default = True
        elif action in ("register_task", "tasks.register"):
            self._registrations.append((draft.obj.qualname, module, step))
            return
        elif action in ("conf.update", "config_from_object") or action.startswith("set:conf."):
            for text in step.args:
                if "result_backend" in text and draft.backend is None:
                    draft.backend = text
        else:
            return
        where = f"{step.target.dotted}.{action}"
        draft.config.append(Evidence(self.file_of[module], step.span, where))

    def _context_class(
        self, module: str, text: str, scope: str, *, request: bool = False
    ) -> str | None:
        """The qualified name of the task base class `text` names, when that class
        pushes an app context (`request`: a request context) in `__call__` (itself or
        through its bases)."""
        if ":" in text:  # task_cls="pkg.module:ContextTask"
            mod, _, attr = text.partition(":")
            target = self.resolver.resolve_name(mod, attr) if self.resolver.is_module(mod) else None
        else:
            target = self.resolve(module, Ref(text, scope))
        if target is None:
            return None
        return target.name if self._pushes_context(target, request=request) else None

    def _pushes_context(self, target: Target, depth: int = 0, *, request: bool = False) -> bool:
        """Whether the task class `target` pushes an app context (`request`: a request
        context) in `__call__`, itself or through its bases."""
        if target.name in CONTEXT_TASK_BASES:
            return not request
        if target.kind == "member" and target.member == "Task":
            # `class Once(celery.Task)`: the app's task class, whatever it was set to.
            draft = self._drafts.get(target.base)
            if draft is None:
                return False
            return (draft.request_base if request else draft.context_base) is not None
        if (
            depth > 8
            or target.kind != "def"
            or target.binding is None
            or target.binding.kind != "class"
        ):
            return False
        module = target.module or ""
        cls_qualname = target.name[len(module) + 1 :]
        call = self.functions.get((module, f"{cls_qualname}.__call__"))
        if call is not None and (call.pushes_request_context if request else call.pushes_context):
            return True
        if call is not None and not any(
            u.ref.dotted == "super" or u.ref.dotted.endswith(".__call__") for u in call.uses
        ):
            return False  # its own __call__ never reaches the base's
        return any(
            self._pushes_context(base, depth + 1, request=request) for base in self._bases(target)
        )

    # -- tasks -------------------------------------------------------------------------

    def tasks(self, apps: list[_AppDraft], objects: dict[str, _Object]) -> list[Task]:
        app_names = {}
        for draft in apps:
            app_names[draft.obj.qualname] = draft
            for alias in draft.aliases:
                app_names[alias] = draft
        self._drafts = app_names
        found = []
        for (module, _), fn in sorted(self.functions.items()):
            if fn.is_method:
                continue
            task = self._task(module, fn, app_names, apps, objects)
            if task is not None:
                found.append(task)
        found.extend(self._task_classes(objects))
        return sorted(found, key=lambda t: (t.file, t.def_span.line))

    def _task_classes(self, objects: dict[str, _Object]) -> list[Task]:
        """Task classes registered with an app: `app.register_task(Export())` (or the
        class itself), `app.tasks.register(...)`. Celery names one by its `name`
        attribute, else `module.ClassName`."""
        found: dict[str, Task] = {}
        for app, module, step in self._registrations:
            if not step.args:
                continue
            text = step.args[0]
            head = text.split("(", 1)[0].strip()
            target = self.resolve(module, Ref(head, step.target.scope))
            if target is None or target.kind != "def" or target.module is None:
                continue
            cls_module = target.module
            cls_qualname = target.name[len(cls_module) + 1 :]
            cls = self.classes.get((cls_module, cls_qualname))
            if cls is None:
                continue
            alias = self._registered_as(module, step)
            if target.name in found:
                if alias:
                    previous = found[target.name]
                    found[target.name] = dataclasses.replace(
                        previous, aliases=tuple(sorted({*previous.aliases, alias}))
                    )
                continue
            attrs = {a.name: a for a in cls.attributes}
            name_attr = attrs.get("name")
            explicit = name_attr is not None and name_attr.literal
            class_name = cls_qualname.rsplit(".", 1)[-1]
            name = name_attr.value if explicit and name_attr else f"{cls_module}.{class_name}"
            others = (
                () if explicit else self._other_names(cls_module, cls_module, class_name, app, name)
            )
            file = self.file_of[cls_module]
            provided = []
            in_request = False
            for base in cls.bases:
                resolved = self.resolve(cls_module, base)
                if resolved is not None and self._pushes_context(resolved):
                    request = self._pushes_context(resolved, request=True)
                    in_request = in_request or request
                    kind = "a request" if request else "an app"
                    provided.append(
                        Evidence(file, cls.span, f"base={base.dotted} pushes {kind} context")
                    )
            run = self.functions.get((cls_module, f"{cls_qualname}.run"))
            needs_app, needs_request = self._needs(cls_module, run, objects) if run else ([], [])
            if in_request:
                needs_request = []
            states = self._states_set(cls_module, f"{cls_qualname}.run")
            signal = self._signal_contexts().get(self.import_root[cls_module], ())
            found[target.name] = Task(
                qualname=target.name,
                module=cls_module,
                func=cls_qualname,
                file=file,
                span=cls.span,
                def_span=cls.span,
                decorator=f"{step.target.dotted}.{step.action}({text})",
                app=app,
                name=name,
                name_explicit=explicit,
                bind=True,
                base=cls.bases[0].dotted if cls.bases else None,
                queue=attrs["queue"].value if "queue" in attrs else None,
                needs_app_context=tuple(needs_app),
                needs_request_context=tuple(needs_request),
                context_provided_by=tuple(sorted({*provided, *signal})),
                states_set=states,
                ignore_result=_literal_flag(attrs.get("ignore_result")),
                root=self.import_root[cls_module],
                options=cls.attributes,
                aliases=(alias,) if alias else (),
                other_names=others,
            )
        return list(found.values())

    def _states_set(self, module: str, scope: str) -> tuple[str, ...]:
        """The states `update_state(state=...)` sets in one function."""
        return tuple(sorted({s.state for s in self.py[module].states_set if s.scope == scope}))

    def _registered_as(self, module: str, step: AppConfig) -> str | None:
        """The module-level (or scope-level) name a registration's result is bound to."""
        callee = f"{step.target.dotted}.{step.action}"
        for binding in self.py[module].table.bindings:
            if (
                binding.kind == "assign"
                and binding.value_call == callee
                and binding.span.line == step.span.line
                and binding.scope == step.target.scope
            ):
                return ".".join(p for p in (module, binding.scope, binding.name) if p)
        return None

    def _task_decorator(
        self, module: str, fn: FunctionFacts, app_names: dict[str, _AppDraft]
    ) -> tuple[int, str] | None:
        """(index, app) of the decorator that makes `fn` a task: `shared_task`, an app's
        `.task`, a configured task decorator, or a project decorator whose body
        applies one of those (`periodic_task(...)`, a `custom_celery_task` class)."""
        for index, decorator in enumerate(fn.decorators):
            target = self.resolve(module, decorator.ref)
            app = self._decorator_app(target, app_names)
            if app is None and target is None and decorator.ref.dotted.endswith(".task"):
                head = decorator.ref.dotted[: -len(".task")]
                local = self._local_creation(module, Ref(head, decorator.ref.scope))
                if local is not None:
                    qualname = ".".join(p for p in (module, local.scope, local.var) if p)
                    app = app_names[qualname].obj.qualname if qualname in app_names else None
            if app is None and target is not None:
                app = self._helper_app(target, app_names)
            if app is not None:
                return index, app
        return None

    def _decorator_app(self, target: Target | None, app_names: dict[str, _AppDraft]) -> str | None:
        """The app a task decorator binds to ("shared_task", an app, "" when unknown)."""
        if target is None:
            return None
        if target.name in SHARED_TASK:
            return "shared_task"
        if target.name in self.options.task_decorators:
            return ""
        if target.kind in ("member", "external") and target.name.endswith(".task"):
            base = target.name[: -len(".task")]
            if base in app_names:
                return app_names[base].obj.qualname
        if target.kind == "member" and target.base in app_names and "." not in target.member:
            # `@celery.periodic_task(...)`: a method of the app's own Celery subclass
            # that applies `self.task`.
            draft = app_names[target.base]
            app_class = self._app_class(draft)
            if app_class is not None and self._method_applies_task(app_class, target.member):
                return draft.obj.qualname
        return None

    def _app_class(self, draft: _AppDraft) -> Target | None:
        """The project class an app is an instance of (`IndicoCelery`), if any."""
        creation = draft.obj.creation
        if creation is None:
            return None
        module = draft.creation_module or draft.obj.module
        target = self.resolve(module, Ref(creation.callee, creation.scope))
        if target is None or target.kind != "def" or target.binding is None:
            return None
        return target if target.binding.kind == "class" else None

    def _method_applies_task(self, cls: Target, method: str) -> bool:
        module = cls.module or ""
        qualname = f"{cls.name[len(module) + 1 :]}.{method}"
        return any("task" in fn.self_uses for fn in self._functions_under(module, qualname))

    def _helper_app(self, target: Target, app_names: dict[str, _AppDraft]) -> str | None:
        """For a project function or class used as a decorator: the app of the task
        decorator its body (or its methods and nested functions) applies."""
        if target.kind != "def" or target.module is None or target.binding is None:
            return None
        if target.binding.kind not in ("function", "class"):
            return None
        key = target.name
        if key not in self._helpers:
            self._helpers[key] = None
            module = target.module
            qualname = key[len(module) + 1 :]
            for fn in self._functions_under(module, qualname):
                for use in fn.uses:
                    app = self._decorator_app(self.resolve(module, use.ref), app_names)
                    if app is not None:
                        self._helpers[key] = app
                        break
                if self._helpers[key] is not None:
                    break
        return self._helpers[key]

    def _task(
        self,
        module: str,
        fn: FunctionFacts,
        app_names: dict[str, _AppDraft],
        apps: list[_AppDraft],
        objects: dict[str, _Object],
    ) -> Task | None:
        found = self._task_decorator(module, fn, app_names)
        if found is None:
            return None
        index, app = found
        decorator = fn.decorators[index]
        kw = {k.name: k for k in decorator.keywords}
        file = self.file_of[module]
        func = fn.qualname.rsplit(".", 1)[-1]
        name_kw = kw.get("name")
        explicit = name_kw is not None
        renamed_by = None
        owner_module, owner_func = module, func
        provided: list[Evidence] = []
        requests: list[Evidence] = []  # what runs the task inside a request context
        for inner in fn.decorators[index + 1 :]:
            wrapper = self._wrapper_of(module, inner)
            if wrapper is None:
                continue
            wrapper_module, wrapper_qualname, uses_wraps = wrapper
            wrapper_name = wrapper_qualname.rsplit(".", 1)[-1]
            if not uses_wraps and renamed_by is None:
                renamed_by = inner.text
                owner_module, owner_func = wrapper_module, wrapper_name
            inner_fn = self.functions.get((wrapper_module, wrapper_qualname))
            if inner_fn is not None and inner_fn.pushes_context:
                kind = "a request" if inner_fn.pushes_request_context else "an app"
                (requests if inner_fn.pushes_request_context else provided).append(
                    Evidence(file, inner.span, f"decorator @{inner.text} pushes {kind} context")
                )
        derived = f"{self.natural.get(owner_module, owner_module)}.{owner_func}"
        if name_kw is None:
            name = derived
        elif name_kw.literal:
            name = name_kw.value
        else:
            name = self._string_value(module, fn.qualname.rpartition(".")[0], name_kw.value)
        other_names = (
            () if explicit else self._other_names(module, owner_module, owner_func, app, name)
        )
        base_kw = kw.get("base")
        if base_kw is not None:
            base = self._context_class(module, base_kw.value, fn.qualname)
            if base and self._context_class(module, base_kw.value, fn.qualname, request=True):
                requests.append(
                    Evidence(file, decorator.span, f"base={base_kw.value} pushes a request context")
                )
            elif base:
                provided.append(
                    Evidence(file, decorator.span, f"base={base_kw.value} pushes an app context")
                )
        if app == "shared_task":
            # A shared task binds to the current app: one of its own project's apps;
            # not one a test module makes, unless the task is test code too.
            if is_test_path(file):
                candidates = apps
            else:
                candidates = [d for d in apps if not is_test_path(self.file_of[d.obj.module])]
            root = self.import_root[module]
            bound = [d for d in candidates if self.import_root[d.obj.module] == root] or candidates
        else:
            bound = [d for d in apps if d.obj.qualname == app]
        with_base = [d for d in bound if d.context_base]
        # `base=` replaces the app's task class: its context counts only through `base=`.
        if with_base and len(with_base) == len(bound) and base_kw is None:
            in_request = all(d.request_base for d in with_base)
            for draft in with_base:
                (requests if in_request else provided).append(
                    Evidence(self.file_of[draft.obj.module], draft.obj.span,
                             f"app {draft.obj.qualname} runs tasks with {draft.context_base}"
                             + (" (in a request context)" if in_request else ""))
                )  # fmt: skip
        for push in fn.pushes_context:
            provided.append(Evidence(file, fn.span, f"with {push.dotted}.app_context()"))
        provided.extend(self._signal_contexts().get(self.import_root[module], ()))
        needs_app, needs_request = self._needs(module, fn, objects)
        if requests:  # a request context is an app context too
            needs_request = []
            provided += requests
        states = self._states_set(module, fn.qualname)
        return Task(
            qualname=f"{module}.{fn.qualname}",
            module=module,
            func=fn.qualname,
            file=file,
            span=fn.span,
            def_span=fn.def_span,
            decorator="@" + decorator.text,
            app=app,
            name=name,
            name_explicit=explicit,
            name_pattern=UNKNOWN_PART in name,
            bind=kw.get("bind") is not None and kw["bind"].value == "True",
            base=base_kw.value if base_kw else None,
            queue=kw["queue"].value if "queue" in kw else None,
            needs_app_context=tuple(needs_app),
            needs_request_context=tuple(needs_request),
            context_provided_by=tuple(sorted(set(provided))),
            renamed_by=renamed_by,
            states_set=states,
            wrapped_outside=tuple(
                Evidence(file, outer.span, f"@{outer.text}")
                for outer in fn.decorators[:index]
                if self._wrapper_of(module, outer) is not None
            ),
            ignore_result=_literal_flag(kw.get("ignore_result")),
            root=self.import_root[module],
            options=decorator.keywords,
            other_names=other_names,
        )

    def _string_value(self, module: str, scope: str, text: str) -> str:
        """The string the expression `text` (read in `scope` of `module`) builds from
        literals and the project's string constants: a constant's name, an f-string,
        `+`; each part that cannot be known statically is `*`."""
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return UNKNOWN_PART
        value = self._string_of(module, scope, tree.body, 0)
        return re.sub(r"\*+", UNKNOWN_PART, value)

    def _string_of(self, module: str, scope: str, node: ast.expr, depth: int) -> str:
        if depth > 16:
            return UNKNOWN_PART
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(self._string_of(module, scope, part, depth + 1) for part in node.values)
        if isinstance(node, ast.FormattedValue):
            plain = node.conversion in (-1, ord("s")) and node.format_spec is None
            return self._string_of(module, scope, node.value, depth + 1) if plain else UNKNOWN_PART
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._string_of(module, scope, node.left, depth + 1)
            return left + self._string_of(module, scope, node.right, depth + 1)
        dotted_name = dotted(node)
        if dotted_name is not None:
            target = self.resolve(module, Ref(dotted_name, scope))
            binding = target.binding if target is not None and target.kind == "def" else None
            if binding is not None and binding.value_str is not None:
                return binding.value_str
        return UNKNOWN_PART

    def _other_names(
        self, module: str, owner_module: str, func: str, app: str, name: str
    ) -> tuple[str, ...]:
        """The names besides `name` a task without `name=` also registers under: through
        every other dotted path its module is imported by, and as `{main}.{func}` when
        its module starts a worker of its app under `if __name__ == "__main__":` (Celery
        names the tasks of `__main__` after the app's `main`, `__main__` without one)."""
        return tuple(n for n in self._names_elsewhere(module, owner_module, func, app) if n != name)

    def _names_elsewhere(self, module: str, owner_module: str, func: str, app: str) -> list[str]:
        found = [
            f"{alias}.{func}"
            for alias in sorted(self.alias_importers)
            if self.resolver.aliases[alias] == owner_module
        ]
        draft = self._drafts.get(app)
        if draft is None or owner_module != module:
            return found
        for callee in self.py[module].table.main_calls:
            target = self.resolve(module, callee)
            if (
                target is not None
                and target.kind == "member"
                and target.member in ("worker_main", "start")
                and self._drafts.get(target.base) is draft
            ):
                main = draft.obj.creation.main if draft.obj.creation else None
                found.append(f"{main if main and main != '__name__' else '__main__'}.{func}")
                break
        return found

    def _signal_contexts(self) -> dict[str, tuple[Evidence, ...]]:
        """Per import root: worker signal handlers that push an app context for every
        task (`@worker_process_init.connect` / `@task_prerun.connect` with
        `app.app_context().push()`)."""
        if self._signals is None:
            found: dict[str, list[Evidence]] = {}
            for (module, _), fn in sorted(self.functions.items()):
                if not fn.pushes_context:
                    continue
                for decorator in fn.decorators:
                    signal = decorator.ref.dotted.removesuffix(".connect")
                    target = self.resolve(module, Ref(signal, decorator.ref.scope))
                    if target is not None and target.name in CONTEXT_SIGNALS:
                        found.setdefault(self.import_root[module], []).append(
                            Evidence(self.file_of[module], decorator.span,
                                     f"app {signal} handler pushes an app context")
                        )  # fmt: skip
            self._signals = {root: tuple(items) for root, items in found.items()}
        return self._signals

    def _wrapper_of(self, module: str, decorator: Decorator) -> tuple[str, str, bool] | None:
        """(module, qualname, uses functools.wraps) of the wrapper function a project
        decorator puts in place of the function, following one decorator factory
        level (`@retry(3)` returns `decorate`, which returns `wrapper`)."""
        target = self.resolve(module, decorator.ref)
        if target is None or target.kind != "def" or target.module is None:
            return None
        binding = target.binding
        if binding is None or binding.kind != "function" or binding.wrapper is None:
            return None
        qualname = target.name[len(target.module) + 1 :]
        inner = f"{qualname}.{binding.wrapper}"
        if decorator.called:
            # `@register(...)`: the factory returns the decorator; what replaces the
            # function is what that decorator returns (maybe the function itself).
            factory = self.resolver.binding(target.module, qualname, binding.wrapper)
            if factory is None or factory.wrapper is None:
                return None
            return target.module, f"{inner}.{factory.wrapper}", factory.wrapper_uses_wraps
        return target.module, inner, binding.wrapper_uses_wraps

    def _needs(
        self, module: str, fn: FunctionFacts, objects: dict[str, _Object], *, follow: bool = True
    ) -> tuple[list[Evidence], list[Evidence]]:
        """What the body reads outside any app context that needs one (app, request)."""
        file = self.file_of[module]
        app: list[Evidence] = []
        request: list[Evidence] = []
        for use in fn.uses:
            if use.in_context:
                continue
            target = self.resolve(module, use.ref)
            if target is None:
                continue
            need = self._need(target, objects)
            if need is None and follow:
                # A project helper the task calls: what it needs, one call deep.
                helper = self._function_target(target)
                if helper is not None:
                    inner_app, inner_request = self._needs(
                        helper[0], helper[1], objects, follow=False
                    )
                    via = f" (in {helper[1].qualname}())"
                    app += [Evidence(file, use.span, e.what + via) for e in inner_app]
                    request += [Evidence(file, use.span, e.what + via) for e in inner_request]
                continue
            if need is None:
                continue
            kind, what = need
            evidence = Evidence(file, use.span, what)
            (request if kind == "request" else app).append(evidence)
        return sorted(set(app)), sorted(set(request))

    def _function_target(self, target: Target) -> tuple[str, FunctionFacts] | None:
        if not _is_function(target) or target.module is None:
            return None
        fn = self.functions.get((target.module, target.name[len(target.module) + 1 :]))
        return (target.module, fn) if fn is not None else None

    def _need(self, target: Target, objects: dict[str, _Object]) -> tuple[str, str] | None:
        name = target.name
        configured = frozenset(self.options.context_names)
        for context_names, kind in (
            (APP_CONTEXT_NAMES, "app"),
            (REQUEST_CONTEXT_NAMES, "request"),
            (configured, "app"),
        ):
            for known in context_names:
                if name == known or name.startswith(known + "."):
                    return kind, f"uses {known.rsplit('.', 1)[-1]}"
        if target.kind != "member":
            return None
        obj = objects.get(target.base)
        first = target.member.split(".", 1)[0]
        short = target.base.rsplit(".", 1)[-1]
        if obj is not None:
            if obj.kind == "sqlalchemy" and first in ("session", "engine"):
                return "app", f"uses {short}.{first}"
            if obj.kind == "mail" and first in ("send", "send_message", "connect"):
                return "app", f"uses {short}.{first}"
            if obj.kind == "cache" and not obj.call_has_args:
                return "app", f"uses {short}.{first}"
            return None
        if first == "query" and self._is_model(target):
            return "app", f"uses {short}.query"
        return None

    def _is_model(self, target: Target, depth: int = 0) -> bool:
        """A class deriving from `<SQLAlchemy instance>.Model` (directly or not)."""
        if (
            depth > 8
            or target.binding is None
            or target.binding.kind != "class"
            or target.module is None
        ):
            return False
        for base in self._bases(target):
            if base.kind == "member" and base.member == "Model":
                return True
            if base.kind == "def" and self._is_model(base, depth + 1):
                return True
        return False

    # -- routes ------------------------------------------------------------------------

    def routes(self, objects: dict[str, _Object]) -> tuple[list[Route], dict[tuple[str, str], str]]:
        """Routes, and the handler map (module, function or class qualname) -> rule."""
        blueprint_prefix = self._blueprint_registrations()
        routes = []
        handlers: dict[tuple[str, str], str] = {}
        for module, facts in sorted(self.py.items()):
            for route in facts.routes:
                prefix = self._prefix(module, route.registrar, objects, blueprint_prefix)
                rule = _join(prefix, route.rule)
                if route.decorated:
                    view_module, view = module, route.view
                else:
                    target = self.resolve(
                        module, Ref(route.view, route.registrar.scope if route.registrar else "")
                    )
                    if target is None or target.kind != "def" or target.module is None:
                        view_module, view = module, route.view
                    else:
                        view_module, view = target.module, target.name[len(target.module) + 1 :]
                routes.append(
                    Route(self.file_of[module], route.span, rule, view_module, view, route.methods)
                )
                handlers.setdefault((view_module, view), rule)
        # Resource/MethodView subclasses serve HTTP even when registered elsewhere.
        for (module, qualname), cls in sorted(self.classes.items()):
            if (module, qualname) in handlers:
                continue
            for base in cls.bases:
                target = self.resolve(module, base)
                if target is not None and target.name in VIEW_BASES:
                    handlers[(module, qualname)] = ""
        return sorted(routes, key=lambda r: (r.file, r.span.line)), handlers

    def _blueprint_registrations(self) -> dict[str, str]:
        found = {}
        for module, facts in self.py.items():
            for step in facts.app_configs:
                if step.action != "register_blueprint" or not step.args:
                    continue
                target = self.resolve(module, Ref(step.args[0], step.target.scope))
                for arg in step.args[1:]:
                    if arg.startswith("url_prefix=") and target is not None:
                        found[target.name] = arg.split("=", 1)[1]
        return found

    def _prefix(
        self,
        module: str,
        registrar: Ref | None,
        objects: dict[str, _Object],
        registered: dict[str, str],
    ) -> str:
        if registrar is None or not registrar.dotted:
            return ""
        creation = self._local_creation(module, registrar)
        qualname = None
        if creation is not None:
            qualname = ".".join(p for p in (module, creation.scope, creation.var) if p)
        else:
            target = self.resolve(module, registrar)
            qualname = target.name if target is not None else None
        if qualname is None:
            return ""
        obj = objects.get(qualname)
        prefix = ""
        if obj is not None and obj.creation is not None:
            for kw in obj.creation.keywords:
                if kw.name in ("prefix", "url_prefix") and kw.literal:
                    prefix = kw.value
        return _join(registered.get(qualname, prefix), "") if qualname in registered else prefix

    @staticmethod
    def handler_rule(handlers: dict[tuple[str, str], str], module: str, scope: str) -> str | None:
        if (module, scope) in handlers:
            return handlers[(module, scope)]
        owner, _, method = scope.rpartition(".")
        if owner and method in HTTP_METHODS and (module, owner) in handlers:
            return handlers[(module, owner)]
        return None

    # -- dispatches --------------------------------------------------------------------

    def call_sites(
        self, tasks: list[Task], handlers: dict[tuple[str, str], str], objects: dict[str, _Object]
    ) -> tuple[list[CallSite], dict[str, Task]]:
        by_qualname = tasks_by_qualname(tasks)
        by_name: dict[str, Task] = {}
        for each in tasks:
            by_name.setdefault(each.name, each)
        for each in tasks:
            for other in each.other_names:
                by_name.setdefault(other, each)
        found = []
        for module, facts in sorted(self.py.items()):
            file = self.file_of[module]
            for dispatch in facts.dispatches:
                task: Task | None = None
                plain: str | None = None
                target_text = dispatch.task_name or (
                    dispatch.receiver.dotted if dispatch.receiver else dispatch.callee or ""
                )
                if dispatch.kind in ("chain", "group", "chord") or (
                    dispatch.callee and dispatch.receiver is None
                ):
                    canvas = self.qualified(module, Ref(dispatch.callee or "", dispatch.scope))
                    if canvas not in CANVAS:
                        continue
                    if dispatch.task_name is not None:
                        task = by_name.get(dispatch.task_name)
                elif dispatch.task_name is not None:
                    task = by_name.get(dispatch.task_name)
                elif dispatch.receiver is not None:
                    target = self.resolve(module, dispatch.receiver)
                    task = by_qualname.get(target.name) if target is not None else None
                    if (
                        task is None
                        and dispatch.kind in ("delay", "apply_async")
                        and _is_function(target)
                    ):
                        plain = target.name if target is not None else None
                    elif task is None and (
                        dispatch.kind not in ("delay", "apply_async")
                        or target is not None
                        or dispatch.receiver.head in ("self", "cls")
                    ):
                        continue  # `attr.s`, a project object's own `.delay()`
                found.append(
                    CallSite(
                        file=file,
                        span=dispatch.span,
                        kind=dispatch.kind,
                        module=module,
                        scope=dispatch.scope,
                        target=target_text,
                        task=task.qualname if task else None,
                        id_returned=dispatch.id_returned,
                        handler=self.handler_rule(handlers, module, dispatch.scope),
                        task_name=dispatch.task_name,
                        plain_function=plain,
                        commit_after=self._commit_after(
                            module, dispatch.scope, dispatch.span.line, objects
                        ),
                        unserializable=self._unserializable(module, dispatch, objects),
                        queue=dispatch.queue,
                        sent_name=self._sent_name(module, dispatch, task),
                    )
                )
        return sorted(found, key=lambda c: (c.file, c.span.line, c.span.column)), by_name

    def _sent_name(self, module: str, dispatch: Dispatch, task: Task | None) -> str | None:
        """The name a dispatch sends when it reaches the task through another dotted
        path of the task's module (its module object is then a second copy, whose task
        registers under that path)."""
        if task is None or dispatch.receiver is None or not task.other_names:
            return None
        spelled = self.resolver.spelled(module, dispatch.receiver)
        if spelled is None:
            return None
        found = self.resolver.through_alias(spelled)
        if found is None or found[1] != task.module:
            return None
        name = f"{found[0]}.{task.func.rsplit('.', 1)[-1]}"
        return name if name in task.other_names else None

    def _unserializable(
        self, module: str, dispatch: Dispatch, objects: dict[str, _Object]
    ) -> tuple[str, ...]:
        found = []
        for arg in dispatch.args:
            what = None
            if arg.ref is not None:
                target = self.resolve(module, Ref(arg.ref, dispatch.scope))
                if target is not None and target.name in FLASK_PROXIES:
                    what = f"`{arg.text}` ({target.name})"
                elif target is not None and objects.get(target.name, _NO_OBJECT).kind == "flask":
                    what = f"`{arg.text}` (the Flask app)"
                elif (
                    target is not None
                    and target.kind == "member"
                    and target.member == "session"
                    and objects.get(target.base, _NO_OBJECT).kind == "sqlalchemy"
                ):
                    what = f"`{arg.text}` (a SQLAlchemy session)"
            if (
                what is None
                and arg.origin is not None
                and self._loads_model(module, dispatch.scope, arg.origin, objects)
            ):
                what = f"`{arg.text}` (a SQLAlchemy model instance from `{arg.origin}`)"
            if what is not None:
                found.append(what)
        return tuple(found)

    def _loads_model(
        self, module: str, scope: str, chain: str, objects: dict[str, _Object]
    ) -> bool:
        """Whether a call chain yields ORM instances: `User(...)`, `User.query...first()`,
        `db.session.get(User, id)`, `db.get_or_404(User, id)`."""
        head = re.split(r"[.(]", chain, maxsplit=1)[0]
        target = self.resolve(module, Ref(head, scope))
        if target is None:
            return False
        last = chain.rstrip("()").rsplit(".", 1)[-1]
        if target.kind == "def" and self._is_model(target):
            return chain == f"{head}()" or (chain.startswith(f"{head}.query") and last in ORM_FETCH)
        if objects.get(target.name, _NO_OBJECT).kind == "sqlalchemy":
            return last in ORM_FETCH and (
                ".session." in chain
                or chain.startswith(f"{head}.get_or_404")
                or chain.startswith(f"{head}.first_or_404")
                or chain.startswith(f"{head}.one_or_404")
            )
        return False

    def _commit_after(
        self, module: str, scope: str, line: int, objects: dict[str, _Object]
    ) -> int | None:
        """The line of the first `db.session.commit()` after `line` in the function."""
        fn = self.functions.get((module, scope))
        for use in fn.uses if fn else ():
            if use.span.line <= line or not use.ref.dotted.endswith(".commit"):
                continue
            target = self.resolve(module, use.ref)
            if target is None or target.kind != "member" or target.member != "session.commit":
                continue
            obj = objects.get(target.base)
            if obj is not None and obj.kind == "sqlalchemy":
                return use.span.line
        return None

    # -- the rest ----------------------------------------------------------------------

    def beat(
        self, tasks: list[Task], by_name: dict[str, Task], by_qualname: dict[str, Task]
    ) -> list[BeatEntry]:
        found = []
        for module, facts in sorted(self.py.items()):
            for entry in facts.beat_entries:
                name = entry.task
                if entry.task_ref is not None:
                    target = self.resolve(module, entry.task_ref)
                    task = by_qualname.get(target.name) if target is not None else None
                    name = task.name if task is not None else entry.task_ref.dotted
                resolved = by_name.get(name) if name else None
                found.append(
                    BeatEntry(self.file_of[module], entry.span, entry.key, name, entry.schedule,
                              entry.source, module, resolved.qualname if resolved else None,
                              entry.container, entry.options)
                )  # fmt: skip
        # `@app.periodic_task(run_every=...)`: a task decorator that schedules its task
        # (Celery 3's periodic_task, and project helpers in its image).
        for task in tasks:
            run_every = next((k for k in task.options if k.name == "run_every"), None)
            if run_every is not None and task.decorator.startswith("@"):
                found.append(
                    BeatEntry(task.file, task.span, task.name, task.name, run_every.value,
                              "run_every", task.module, task.qualname)
                )  # fmt: skip
        return sorted(found, key=lambda b: (b.file, b.span.line))

    def settings(self, apps: list[_AppDraft]) -> list[Setting]:
        """Every Celery setting in code: config classes and mappings, conf.update and
        conf assignments, and the keyword arguments of `Celery(...)`."""
        found = []
        for module, facts in sorted(self.py.items()):
            root, file = self.import_root[module], self.file_of[module]
            for item in facts.settings:
                found.append(
                    Setting(
                        file, item.span, item.key, item.value, item.literal, item.container, root
                    )
                )
        for draft in apps:
            creation = draft.obj.creation
            if creation is None:
                continue
            module = draft.creation_module or draft.obj.module
            for kw in creation.keywords:
                key = (
                    setting_name(kw.name)
                    if kw.name not in ("task_cls", "include", "imports")
                    else None
                )
                if key is not None and kw.name not in ("main", "loader", "log", "set_as_current"):
                    found.append(
                        Setting(self.file_of[module], creation.span, key, kw.value, kw.literal,
                                draft.obj.qualname, self.import_root[module])
                    )  # fmt: skip
        return sorted(found, key=lambda s: (s.file, s.span.line, s.span.column))

    def frontend_calls(self, routes: list[Route]) -> list[FrontendCall]:
        """Frontend requests with the Flask routes they reach."""
        by_rule: dict[str, set[str]] = {}
        for route in routes:
            by_rule.setdefault(route.rule, set()).add(route.module)
        found = []
        for facts in self.facts:
            for call in facts.frontend_calls:
                rules = tuple(best_rules(call.url, by_rule))
                modules = tuple(sorted({m for r in rules for m in by_rule[r]}))
                found.append(
                    FrontendCall(
                        facts.source.path,
                        call.span,
                        call.url,
                        call.method,
                        call.states,
                        call.fields,
                        rules,
                        modules,
                    )
                )
        return sorted(found, key=lambda c: (c.file, c.span.line, c.span.column))

    def imports_of(self, qualnames: set[str]) -> dict[str, tuple[Evidence, ...]]:
        """For each of `qualnames`: the module-level imports, anywhere in the project,
        that bind it (one pass over every import, whatever the number of names)."""
        found: dict[str, list[Evidence]] = {name: [] for name in qualnames}
        for module, facts in sorted(self.py.items()):
            for imp in facts.table.imports:
                if imp.lazy or imp.name is None:
                    continue
                target = self.resolver.resolve_name(module, imp.alias)
                if target is not None and target.name in found:
                    found[target.name].append(Evidence(self.file_of[module], imp.span, module))
        return {name: tuple(evidence) for name, evidence in found.items()}

    def graph_edges(self) -> list[Edge]:
        edges = []
        for module, facts in sorted(self.py.items()):
            for imp in facts.table.imports:
                if imp.conditional:
                    continue
                target = self.resolver.imported_module(module, imp)
                if target is None or target == module:
                    continue
                kind = "lazy-import" if imp.lazy else "import"
                edges.append(Edge(module, target, kind, self.file_of[module], imp.span))
        return edges

    def roles(
        self, objects: dict[str, _Object], tasks: list[Task], handlers: dict[tuple[str, str], str]
    ) -> dict[str, str]:
        evidence: dict[str, set[str]] = {m: set() for m in self.py}
        for obj in objects.values():
            if obj.kind == "flask":
                evidence[obj.module].add("app")
            elif obj.kind not in ("api", "blueprint"):
                evidence[obj.module].add("extensions")
            else:
                evidence[obj.module].add("resources" if obj.kind == "blueprint" else "app")
        for task in tasks:
            evidence[task.module].add("workers")
        for module, _ in handlers:
            evidence[module].add("resources")
        for module, facts in self.py.items():
            if any(r.decorated for r in facts.routes):
                evidence[module].add("resources")
            if facts.config_classes:
                evidence[module].add("config")
        return {
            m: next((r for r in ROLE_ORDER if r in found), "module")
            for m, found in evidence.items()
        }


def _default_app_risks(
    calls: list[CallSite],
    tasks: list[Task],
    apps: tuple[CeleryApp, ...],
    workers: WorkerLinker,
    roots: dict[str, str],
) -> list[CallSite]:
    """Mark dispatches of shared tasks that may reach Celery's fallback default app."""
    shared = {t.qualname for t in tasks if t.app == "shared_task"}
    task_bodies = {t.qualname for t in tasks}  # inside a worker, the worker's app is current
    marked = []
    closures: dict[str, set[str]] = {}
    for call in calls:
        risky = False
        in_task = f"{call.module}.{call.scope}" in task_bodies
        if call.task in shared and call.kind in ("delay", "apply_async") and not in_task:
            mine = [a for a in apps if roots.get(a.module) == roots.get(call.module)]
            # Flask-CeleryExt builds the app from a factory of its own (often Celery's
            # default app itself): which app is current cannot be judged.
            judged = mine and not any(a.how == "FlaskCeleryExt" for a in mine)
            if judged and not any(a.set_default for a in mine):
                if call.module not in closures:
                    closures[call.module] = workers.closure_of([call.module])
                # An app made inside a factory is current only in the thread that ran it.
                risky = not any(
                    a.module in closures[call.module] and not _factory_made(a) for a in mine
                )
        marked.append(dataclasses.replace(call, default_app_risk=True) if risky else call)
    return marked


def _literal_flag(keyword: Keyword | None) -> bool | None:
    """A `True`/`False` option as written (`ignore_result=True`); None when not given
    or not a literal."""
    return keyword.value == "True" if keyword is not None and keyword.literal else None


def _shadowing(py: dict[str, PythonFacts]) -> frozenset[str]:
    """Top-level plain modules that import a package of their own name (`celery.py`
    with `from celery import Celery`): they cannot be what that name imports."""
    return frozenset(
        name
        for name, facts in py.items()
        if "." not in name
        and any(
            imp.level == 0 and imp.module.split(".", 1)[0] == name for imp in facts.table.imports
        )
    )


def tasks_by_qualname(tasks: Iterable[Task]) -> dict[str, Task]:
    """Tasks by qualified name and by the names their registered instances are bound to."""
    found = {t.qualname: t for t in tasks}
    for task in found.copy().values():
        for alias in task.aliases:
            found.setdefault(alias, task)
    return found


def _factory_made(app: CeleryApp) -> bool:
    """`pkg.celery_init_app.celery_app`: created inside a function, not on import."""
    return app.qualname.count(".") > app.module.count(".") + 1


def _is_function(target: Target | None) -> bool:
    return (
        target is not None
        and target.kind == "def"
        and target.binding is not None
        and target.binding.kind == "function"
    )


UNKNOWN_PART = "*"  # a part of a task's name= that is not known statically


def _started_in(file: str, workdir: str | None) -> str | None:
    """The root-relative folder a command in `file` runs in: the file's own folder, or
    the relative `--workdir`/`cd` below it; None when that leaves the scanned root or
    is not known statically."""
    folder = posixpath.dirname(file)
    if workdir:
        if workdir.startswith(("/", "~", "$")):
            return None
        folder = posixpath.normpath(posixpath.join(folder, workdir))
        if folder == ".":
            folder = ""
        if folder.startswith(".."):
            return None
    return folder


def _distinct_names(natural: dict[str, str]) -> dict[str, str]:
    """Each path's module key: its dotted name (`natural`), unless a path sorted
    before it has that name; then its dotted path from the scanned root, made of
    identifiers and unique (`services.worker.app.tasks`)."""
    taken = set(natural.values())
    seen: set[str] = set()
    keys: dict[str, str] = {}
    for path in sorted(natural):
        if natural[path] not in seen:
            seen.add(natural[path])
            keys[path] = natural[path]
            continue
        key = ".".join(_identifier(part) for part in module_parts(path))
        while key in taken:
            key += "_"
        taken.add(key)
        keys[path] = key
    return keys


def _identifier(part: str) -> str:
    name = re.sub(r"\W", "_", part)
    return name if name and not name[0].isdigit() else f"_{name}"


def _import_root(path: str, module: str) -> str:
    """`modern` for modern/tracker/tasks.py imported as tracker.tasks."""
    folders = path.split("/")[:-1]
    consumed = module.count(".") + (1 if path.rsplit("/", 1)[-1] == "__init__.py" else 0)
    return "/".join(folders[: max(len(folders) - consumed, 0)])


def _join(prefix: str, rule: str) -> str:
    if not prefix:
        return rule
    return prefix.rstrip("/") + ("/" + rule.lstrip("/") if rule else "")


def link(
    root: str,
    facts: Iterable[FileFacts],
    *,
    root_packages: tuple[str, ...] = (),
    options: LinkOptions | None = None,
    known_cycles: dict[str, list[list[Edge]]] | None = None,
) -> Project:
    """Join the facts of every file into the project picture. `known_cycles`: see
    `ProjectGraph.import_cycles_through`."""
    facts = list(facts)
    linker = _Linker(root, facts, root_packages, options or LinkOptions())
    objects = linker.objects()
    apps = linker.celery_apps(objects)
    tasks = linker.tasks(apps, objects)
    routes, handlers = linker.routes(objects)
    call_sites, by_name = linker.call_sites(tasks, handlers, objects)
    by_qualname = tasks_by_qualname(tasks)
    beat = linker.beat(tasks, by_name, by_qualname)
    roles = linker.roles(objects, tasks, handlers)
    modules = [
        Module(
            name,
            linker.file_of[name],
            roles[name],
            linker.file_of[name].endswith("__init__.py"),
            linker.import_root[name],
        )
        for name in sorted(linker.py)
    ]
    frontend = linker.frontend_calls(routes)
    http = [
        Edge(f"frontend:{call.file}", module, "http", call.file, call.span)
        for call in frontend
        for module in call.modules
    ]
    graph = ProjectGraph([*linker.py, *(e.source for e in http)], [*linker.graph_edges(), *http])
    relevant = {d.obj.module for d in apps} | {t.module for t in tasks}
    status = []
    for module, facts_ in sorted(linker.py.items()):
        for read in facts_.status_reads:
            rule = linker.handler_rule(handlers, module, read.scope)
            if rule is None:
                continue
            target = linker.resolve(module, read.receiver) if read.receiver else None
            task = by_qualname.get(target.name) if target is not None else None
            status.append(
                StatusEndpoint(
                    linker.file_of[module],
                    read.span,
                    rule,
                    module,
                    read.scope,
                    read.returns,
                    task.qualname if task else None,
                )
            )
    flask_objects = [o for o in objects.values() if o.kind == "flask"]
    # `app = create_app()`: the app made inside the factory is that same app.
    factories = {f"{o.module}.{o.how[:-2]}" for o in flask_objects if o.creation is None}
    imported = linker.imports_of({o.qualname for o in flask_objects})
    flask_apps = [
        FlaskApp(
            o.qualname,
            o.module,
            linker.file_of[o.module],
            o.span,
            o.how,
            imported[o.qualname],
        )
        for o in flask_objects
        if o.creation is None or f"{o.module}.{o.creation.scope}" not in factories
    ]
    problems = [Problem(f.source.path, p.span, p.message) for f in linker.facts for p in f.problems]
    celery_apps = tuple(
        CeleryApp(
            qualname=d.obj.qualname,
            module=d.obj.module,
            file=linker.file_of[d.obj.module],
            span=d.obj.span,
            var=d.obj.qualname.rsplit(".", 1)[-1],
            how=d.obj.how,
            main=d.obj.creation.main if d.obj.creation else None,
            include=tuple(d.include),
            imports=tuple(d.imports),
            autodiscover=tuple(d.autodiscover),
            context_base=d.context_base,
            set_default=d.set_default,
            config=tuple(sorted(set(d.config))),
            backend=d.backend,
        )
        for d in apps
    )
    settings = linker.settings(apps)
    worker_linker = WorkerLinker(
        linker.resolver,
        celery_apps,
        {alias: d.obj.qualname for d in apps for alias in d.aliases},
        flask_apps,
        tasks,
        graph.edges,
        settings,
        linker.import_root,
        linker.functions,
        {
            path: (linker.resolver.aliases[path], linker.alias_importers.get(path, set()))
            for path in sorted({c.sent_name.rpartition(".")[0] for c in call_sites if c.sent_name})
        },
    )
    call_sites = _default_app_risks(
        call_sites, tasks, celery_apps, worker_linker, linker.import_root
    )
    workers = []
    for f in linker.facts:
        for w in f.worker_commands:
            command = WorkerCommand(
                f.source.path,
                w.span,
                w.command,
                w.app_target,
                w.subcommand,
                w.queues,
                w.beat,
                w.include,
                w.workdir,
                settings=w.settings,
            )
            if w.app_target and "$" not in w.app_target:  # `-A $CELERY_APP`: not knowable
                found = worker_linker.resolve(w.app_target, _started_in(f.source.path, w.workdir))
                command = dataclasses.replace(
                    command,
                    app=found.app,
                    problem=found.problem,
                    flask_app=found.flask,
                    undiscovered=worker_linker.undiscovered(command, found),
                )
            workers.append(command)
    return Project(
        root=root,
        files=len(linker.facts),
        python_files=sum(1 for f in linker.facts if f.source.kind.value == "python"),
        modules=tuple(modules),
        edges=tuple(graph.edges),
        cycles=tuple(tuple(c) for c in graph.import_cycles_through(relevant, known_cycles)),
        celery_apps=celery_apps,
        flask_apps=tuple(sorted(flask_apps, key=lambda a: (a.file, a.span.line))),
        tasks=tuple(tasks),
        call_sites=tuple(call_sites),
        routes=tuple(routes),
        status_endpoints=tuple(status),
        beat=tuple(beat),
        worker_commands=tuple(sorted(workers, key=lambda w: (w.file, w.span.line))),
        frontend_calls=tuple(frontend),
        problems=tuple(sorted(problems, key=lambda p: (p.file, p.span.line))),
        settings=tuple(settings),
    )
