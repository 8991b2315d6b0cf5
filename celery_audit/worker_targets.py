"""Worker commands against the Python side: which app `-A` picks, and which task
modules that worker never imports.

`-A` is resolved the way Celery's `find_app` does it: `module:attr` names the object;
`pkg.module.attr` is an attribute if the module has one, else a module; a module
yields its `app` attribute (whatever object that is: a Flask app there is picked and
crashes the worker), else its `celery` attribute, else for a package the submodule
`pkg.celery`, else any Celery instance in the module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from celery_audit.celery_names import listed_modules
from celery_audit.model.facts import FunctionFacts, Ref
from celery_audit.model.project import CeleryApp, Edge, FlaskApp, Setting, Task, WorkerCommand
from celery_audit.resolve import Resolver, Target

WORKER_SUBCOMMANDS = frozenset({"worker", "multi"})
EXTENSION_SLOT = ".extensions['celery']"


@dataclass(frozen=True)
class Resolution:
    """What `-A` names: a Celery app (`app`), or why not (`problem`); `flask` is set
    when the object picked is a Flask app."""

    app: str | None = None
    problem: str | None = None
    flask: str | None = None
    module: str | None = None  # the module the worker imports first


# Packages whose objects are not Celery apps (an -A naming one of them is wrong).
NOT_APP_PACKAGES = ("flask.", "flask_", "redis.", "sqlalchemy.", "pymongo.", "kombu.")


class WorkerLinker:
    def __init__(
        self,
        resolver: Resolver,
        apps: Iterable[CeleryApp],
        app_aliases: dict[str, str],
        flask_apps: Iterable[FlaskApp],
        tasks: Iterable[Task],
        edges: Iterable[Edge],
        settings: Iterable[Setting],
        roots: dict[str, str],
        functions: Mapping[tuple[str, str], FunctionFacts],
        sent_through: dict[str, tuple[str, set[str]]] | None = None,
    ) -> None:
        self.functions = functions  # (module, qualname) -> the function's facts
        # Another dotted path of a task module that dispatches go through: that path ->
        # (the module, the modules importing the path).
        self.sent_through = sent_through or {}
        self.resolver = resolver
        self.apps = {a.qualname: a for a in apps}
        self.app_aliases = app_aliases  # factory-local names -> the app
        self.flask = {a.qualname for a in flask_apps}
        self.tasks = list(tasks)
        self.imports: dict[str, set[str]] = {}
        for edge in edges:
            if edge.kind == "import":
                self.imports.setdefault(edge.source, set()).add(edge.target)
        self.settings = list(settings)
        self.roots = roots

    # -- -A ----------------------------------------------------------------------------

    def _judge(
        self, target: Target | None, text: str, module: str, *, lookup: bool = False
    ) -> Resolution | None:
        """`lookup`: the object was picked by Celery's `module.app` lookup (CA505's
        trap), not named explicitly."""
        if target is None:
            return None
        name = self.app_aliases.get(target.name, target.name)
        if name.endswith(EXTENSION_SLOT):
            name = self._stored_app(module) or name
        if name in self.apps:
            return Resolution(app=name, module=module)
        if name in self.flask and lookup:
            problem = f"`{text}` picks the Flask app `{name}`, not a Celery app"
            return Resolution(problem=problem, flask=name, module=module)
        if name in self.flask:
            return Resolution(
                problem=f"`{text}` names the Flask app `{name}`, not a Celery app", module=module
            )
        if target.kind == "module":
            return None
        if target.kind == "external":
            # An object of an installed package (`from invenio_app.celery import
            # celery`): whatever it is, the scan cannot see it.
            return Resolution(module=module)
        if self._unknowable(target):
            return Resolution(module=module)
        return Resolution(
            problem=f"`{text}` names `{name}`, which is not a Celery app", module=module
        )

    def _unknowable(self, target: Target) -> bool:
        """Whether `target` is bound to a value the scan cannot know: by unpacking
        (`app, celery = create_app()`), or to what a project function or an unknown
        call returns (`celery = configure_celery(app)`, which configures and returns
        an app made elsewhere). An instance of a project class, or of a package known
        to make no Celery app (`db = SQLAlchemy()`), is known not to be one."""
        binding = target.binding
        if target.kind != "def" or binding is None or binding.kind != "assign":
            return False
        if binding.unpacked:
            return True
        if binding.value_call is None:
            return False
        module = target.module or ""
        callee = self.resolver.resolve(module, Ref(binding.value_call, binding.scope))
        if callee is None:
            return True
        if callee.kind == "external":
            return not callee.name.startswith(NOT_APP_PACKAGES)
        return (
            callee.kind == "def"
            and callee.binding is not None
            and callee.binding.kind == "function"
        )

    def resolve(self, text: str, folder: str | None = None) -> Resolution:
        """What `-A text` loads, for a worker started in `folder` (root-relative; None:
        unknown): of two projects with a module of that name, the one it is run in."""
        if folder is not None:
            head, sep, tail = text.partition(":")
            text = self.resolver.localized(head, self._root_of(folder)) + sep + tail
        # `-A src.shop.celery_app`, run from the repository root: the same module.
        head, sep, tail = text.partition(":")
        alias = self.resolver.through_alias(head)
        if alias is not None:
            text = alias[1] + head[len(alias[0]) :] + sep + tail
        if ":" in text:
            module, _, attr = text.partition(":")
            if not self.resolver.is_module(module):
                return Resolution(problem=f"module `{module}` is not in the project")
            found = self._judge(self.resolver.resolve(module, attr), text, module)
            return found or Resolution(
                problem=f"`{module}` has no attribute `{attr}`", module=module
            )
        module, _, attr = text.rpartition(".")
        if module and self.resolver.is_module(module):
            found = self._judge(self.resolver.resolve_name(module, attr), text, module)
            if found is not None:
                return found
        if self.resolver.is_module(text):
            return self._module(text)
        return Resolution(
            problem=f"`{text}` is neither a module of the project nor an attribute of one"
        )

    def _module(self, module: str) -> Resolution:
        for attr in ("app", "celery"):
            target = self.resolver.resolve_name(module, attr)
            if target is not None and target.kind != "module":
                found = self._judge(target, f"-A {module}", module, lookup=attr == "app")
                return found or Resolution(
                    problem=f"`{module}.{attr}` is not a Celery app", module=module
                )
        if module in self.resolver.packages and self.resolver.is_module(f"{module}.celery"):
            return self.resolve(f"{module}.celery")
        created = sorted(a for a, app in self.apps.items() if app.module == module)
        if created:
            return Resolution(app=created[0], module=module)
        table = self.resolver.tables[module]
        if any((b.value_ref or "").endswith(EXTENSION_SLOT) for b in table.bindings if not b.scope):
            stored = self._stored_app(module)
            if stored is not None:
                return Resolution(app=stored, module=module)
        return Resolution(problem=f"module `{module}` holds no Celery app", module=module)

    def _stored_app(self, module: str) -> str | None:
        """The app behind `flask_app.extensions["celery"]` (where the Flask docs'
        celery_init_app stores it): the one Celery app of the module's project."""
        root = self.roots.get(module, "")
        candidates = sorted(a for a, app in self.apps.items() if self.roots.get(app.module) == root)
        return candidates[0] if len(candidates) == 1 else None

    def _root_of(self, folder: str) -> str:
        """The deepest import root at or above `folder`."""
        found = ""
        for root in set(self.roots.values()):
            if (not root or folder == root or folder.startswith(root + "/")) and len(root) > len(
                found
            ):
                found = root
        return found

    # -- what the worker imports -------------------------------------------------------

    def imported_by(self, command: WorkerCommand, resolution: Resolution) -> set[str]:
        """Modules a worker imports: the closure of module-level imports from the -A
        module, the app's include=/imports= and autodiscover_tasks packages, and
        --include; importing a module also runs its packages' __init__."""
        app = self.apps[resolution.app] if resolution.app else None
        roots = [resolution.module] if resolution.module else []
        listed = list(command.include)
        if app is not None:
            roots.append(app.module)
            listed += [*app.include, *app.imports]
            # Celery imports each package, then its `tasks` module (if there is one).
            listed += [m for package in app.autodiscover for m in (package, f"{package}.tasks")]
            root = self.roots.get(app.module, "")
            for setting in self.settings:
                if setting.root == root and setting.key in ("imports", "include"):
                    listed += listed_modules(setting.value, setting.literal)
        # Names as the app's own project means them.
        project = self.roots.get(app.module if app is not None else resolution.module or "", "")
        roots += [self.resolver.localized(name, project) for name in listed]
        return self.closure_of(roots)

    def closure_of(self, modules: Iterable[str]) -> set[str]:
        """Every module importing `modules` loads: module-level imports, the packages
        above each module, and what functions run at import time import."""
        seen: set[str] = set()
        stack = [r for r in modules if self.resolver.is_module(r)]
        while stack:
            module = stack.pop()
            if module in seen:
                continue
            seen.add(module)
            parent = module.rpartition(".")[0]
            while parent:
                if self.resolver.is_module(parent) and parent not in seen:
                    stack.append(parent)
                parent = parent.rpartition(".")[0]
            stack.extend(self.imports.get(module, ()))
            stack.extend(self._run_on_import(module))
        return seen

    def _run_on_import(self, module: str) -> set[str]:
        """Modules imported inside the project functions a module calls at import time
        (`app = create_app()` runs the factory, and with it the factory's imports),
        following the calls those functions make, a few levels deep."""
        table = self.resolver.tables[module]
        callees = [
            *table.calls,
            *(b.value_call for b in table.bindings if not b.scope and b.value_call),
        ]
        pending = [(module, callee, "") for callee in callees if callee]
        loaded: set[str] = set()
        visited: set[str] = set()
        for _ in range(4):
            following = []
            for where, callee, scope in pending:
                target = self.resolver.resolve(where, Ref(callee, scope))
                if (
                    target is None
                    or target.kind != "def"
                    or target.module is None
                    or target.name in visited
                ):
                    continue
                if target.binding is None or target.binding.kind != "function":
                    continue
                visited.add(target.name)
                owner, qualname = target.module, target.name[len(target.module) + 1 :]
                for (mod, scope_name), imports in self.resolver.imports_by_scope():
                    if mod == owner and (
                        scope_name == qualname or scope_name.startswith(qualname + ".")
                    ):
                        loaded.update(
                            filter(None, (self.resolver.imported_module(mod, i) for i in imports))
                        )
                function = self.functions.get((owner, qualname))
                following += [
                    (owner, use.ref.dotted, qualname)
                    for use in (function.uses if function is not None else ())
                ]
            pending = following
        return loaded

    def undiscovered(self, command: WorkerCommand, resolution: Resolution) -> tuple[str, ...]:
        """Task modules of the worker's app that the worker never imports."""
        if command.subcommand not in WORKER_SUBCOMMANDS or resolution.app is None:
            return ()
        app = self.apps[resolution.app]
        root = self.roots.get(app.module, "")
        mine = {
            t.module
            for t in self.tasks
            if t.app == app.qualname or (t.app in ("shared_task", "") and t.root == root)
        }
        imported = self.imported_by(command, resolution)
        # A dispatch through another path (`src.shop.tasks`) sends that path's task
        # name: registered only if the worker imports the module by that path too.
        through = {
            path
            for path, (module, importers) in self.sent_through.items()
            if module in mine and not importers & imported
        }
        return tuple(sorted((mine - imported) | through))
