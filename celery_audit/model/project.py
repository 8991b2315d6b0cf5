"""The linked project: facts of all files joined into one resolved picture.

Linking builds these from per-file facts; rules and reports read them and never parse.
Every `file` is relative to the scanned root with forward slashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from celery_audit.model.facts import Directive, FunctionFacts, Keyword, Span


@dataclass(frozen=True, order=True)
class Evidence:
    """A place in the code and what it shows (`uses db.session`)."""

    file: str
    span: Span
    what: str


@dataclass(frozen=True)
class Module:
    """A Python module. `name` is its dotted import name; `role` one of
    app, extensions, resources, workers, config, module. `root` is the folder its
    dotted name starts from (one project of a monorepo)."""

    name: str
    file: str
    role: str
    is_package: bool = False
    root: str = ""


@dataclass(frozen=True)
class CeleryApp:
    """A Celery application instance.

    `qualname` is `module.var` (or `module.factory.var` inside a factory), `how` the
    creation style as written (`Celery()`, `make_celery()`, `celery_init_app()`,
    `FlaskCeleryExt`). `context_base` names the task base that pushes an app context,
    when one is installed (`task_cls=`, `celery.Task = X`, `class X(Task)` in the
    factory). `config` lists the configuration steps as evidence.
    """

    qualname: str
    module: str
    file: str
    span: Span
    var: str
    how: str
    main: str | None = None
    include: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    autodiscover: tuple[str, ...] = ()
    context_base: str | None = None
    set_default: bool = False
    config: tuple[Evidence, ...] = ()
    backend: str | None = None


@dataclass(frozen=True)
class FlaskApp:
    """A Flask app instance. `imported_at` lists the module-level imports of this
    instance elsewhere (`what` is the importing module)."""

    qualname: str
    module: str
    file: str
    span: Span
    how: str
    imported_at: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Task:
    """A Celery task.

    `name` is the registered name Celery will use; `name_explicit` whether `name=` set
    it. A `name=` that is not a literal is evaluated from the project's string
    constants (`name=WEEKLY`, `name=f"{PREFIX}.daily"`); a part that cannot be known
    statically is a `*` in `name` (`shop.jobs.*`), and `name_pattern` is then true. `app` is the qualname of the bound Celery app, "shared_task", or "" when the
    decorator's app could not be resolved. `renamed_by` is the wrapper decorator that
    replaced the function's name (no functools.wraps), if any. `options` are the task
    decorator's keywords as written (`time_limit=60`, `autoretry_for=(Exception,)`).
    A task class registered with `app.register_task(Export())` is a task too: its
    `func` is the class, `options` its class attributes, and `aliases` the names the
    registered instance is bound to (`export = app.register_task(Export())`).
    `other_names` are the names the same task also registers under when its module is
    loaded another way: as `__main__` (`{Celery main}.func`), or under a second dotted
    path (`src.shop.tasks.func` beside `shop.tasks.func`).
    """

    qualname: str
    module: str
    func: str
    file: str
    span: Span
    def_span: Span
    decorator: str
    app: str
    name: str
    name_explicit: bool
    bind: bool
    base: str | None
    queue: str | None
    needs_app_context: tuple[Evidence, ...] = ()
    needs_request_context: tuple[Evidence, ...] = ()
    context_provided_by: tuple[Evidence, ...] = ()
    renamed_by: str | None = None
    states_set: tuple[str, ...] = ()
    wrapped_outside: tuple[Evidence, ...] = ()
    ignore_result: bool | None = None
    root: str = ""
    options: tuple[Keyword, ...] = ()
    aliases: tuple[str, ...] = ()
    other_names: tuple[str, ...] = ()
    name_pattern: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the task registers under: `name`, then `other_names`."""
        return (self.name, *self.other_names)

    def context_from(self, *sources: str) -> tuple[Evidence, ...]:
        """Context providers of the given sources: "body" (`with ...app_context()`),
        "decorator", "base" (`base=`), "app" (the app's task class)."""
        prefixes = {"body": "with ", "decorator": "decorator ", "base": "base=", "app": "app "}
        wanted = tuple(prefixes[s] for s in sources)
        return tuple(e for e in self.context_provided_by if e.what.startswith(wanted))


@dataclass(frozen=True)
class CallSite:
    """A dispatch of a task. `task` is the resolved task's qualname (None when the
    receiver did not resolve to a task); `target` the receiver or name as written;
    `task_name` the literal name of by-name forms (send_task, signature("n"));
    `plain_function` the qualname of a project function that is not a task, when the
    receiver resolved to one; `handler` the URL rule when the enclosing function serves
    HTTP requests; `commit_after` the line of a `db.session.commit()` later in the
    same function; `unserializable` describes arguments no serializer can send
    (request objects, the app, sessions, ORM instances); `default_app_risk` is set
    for a `@shared_task` dispatched from a module that does not load the project's
    Celery app when no app is `set_default()`-ed; `sent_name` is the name the message
    carries when the task was imported through another dotted path of its module
    (`src.shop.tasks.export`), so differs from the task's `name`."""

    file: str
    span: Span
    kind: str
    module: str
    scope: str
    target: str
    task: str | None
    id_returned: bool = False
    handler: str | None = None
    task_name: str | None = None
    plain_function: str | None = None
    commit_after: int | None = None
    unserializable: tuple[str, ...] = ()
    default_app_risk: bool = False
    queue: str | None = None
    sent_name: str | None = None


@dataclass(frozen=True)
class Route:
    file: str
    span: Span
    rule: str
    module: str
    view: str
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusEndpoint:
    """A view reading a task's state through AsyncResult; `task` is the task's
    qualname when the AsyncResult is taken from it (`export.AsyncResult(id)`)."""

    file: str
    span: Span
    route: str
    module: str
    scope: str
    returns: tuple[str, ...] = ()
    task: str | None = None


@dataclass(frozen=True)
class Setting:
    """A Celery setting as configured in code (see facts.CelerySetting); `root` is the
    import root of the project it belongs to."""

    file: str
    span: Span
    key: str
    value: str
    literal: bool
    container: str
    root: str = ""


@dataclass(frozen=True)
class BeatEntry:
    """A beat schedule entry (`source` as in facts.BeatEntryFacts, or "run_every" for
    a task decorator's `run_every=`); `task` is the task name string, `resolved` the qualname
    of the task that registers that name (None when no task does), `options` the
    entry's options as written (see facts.BeatEntryFacts)."""

    file: str
    span: Span
    key: str
    task: str | None
    schedule: str
    source: str
    module: str
    resolved: str | None = None
    container: str = ""
    options: str = ""


@dataclass(frozen=True)
class WorkerCommand:
    """A `celery` command in a service script, with what its `-A` resolves to: the
    Celery app (`app`), or why not (`problem`; `flask_app` when the Flask app is
    picked), and the task modules of that app it never imports (`undiscovered`).
    `settings` are the Celery settings its options set (see facts.WorkerCommandFacts)."""

    file: str
    span: Span
    command: str
    app_target: str | None
    subcommand: str
    queues: tuple[str, ...] = ()
    beat: bool = False
    include: tuple[str, ...] = ()
    workdir: str | None = None
    app: str | None = None
    problem: str | None = None
    flask_app: str | None = None
    undiscovered: tuple[str, ...] = ()
    settings: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class FrontendCall:
    """A request made by frontend code; `routes` are the Flask URL rules it matches
    best and `modules` the modules defining their views."""

    file: str
    span: Span
    url: str
    method: str
    states: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    """An edge of the project graph: kind is "import", "lazy-import" or "http"."""

    source: str
    target: str
    kind: str
    file: str
    span: Span


@dataclass(frozen=True)
class Problem:
    """A file whose facts are missing (it could not be read or parsed)."""

    file: str
    span: Span
    message: str


@dataclass(frozen=True)
class Project:
    """Everything linking learned, sorted by file and line."""

    root: str
    files: int
    python_files: int
    modules: tuple[Module, ...] = ()
    edges: tuple[Edge, ...] = ()
    cycles: tuple[tuple[Edge, ...], ...] = ()
    celery_apps: tuple[CeleryApp, ...] = ()
    flask_apps: tuple[FlaskApp, ...] = ()
    tasks: tuple[Task, ...] = ()
    call_sites: tuple[CallSite, ...] = ()
    routes: tuple[Route, ...] = ()
    status_endpoints: tuple[StatusEndpoint, ...] = ()
    beat: tuple[BeatEntry, ...] = ()
    worker_commands: tuple[WorkerCommand, ...] = ()
    frontend_calls: tuple[FrontendCall, ...] = ()
    problems: tuple[Problem, ...] = ()
    settings: tuple[Setting, ...] = ()

    def setting(self, root: str, key: str) -> Setting | None:
        """The last literal value of a setting in one project (file, line order)."""
        found = [s for s in self.settings if s.root == root and s.key == key and s.literal]
        return found[-1] if found else None

    def module(self, name: str) -> Module | None:
        return next((m for m in self.modules if m.name == name), None)

    def task(self, qualname: str) -> Task | None:
        return self._tasks_by_qualname.get(qualname)

    def root_of(self, module: str) -> str:
        """The import root (project) of a module; "" for an unknown module."""
        return self._roots.get(module, "")

    # Lookups rules and renderers ask for per call site or entry: built once.
    @cached_property
    def _tasks_by_qualname(self) -> dict[str, Task]:
        return {t.qualname: t for t in self.tasks}

    @cached_property
    def _roots(self) -> dict[str, str]:
        return {m.name: m.root for m in self.modules}

    @cached_property
    def commands_by_root(self) -> dict[str, list[WorkerCommand]]:
        """Celery commands per import root (project), by the app their -A resolves to.
        A command whose app is unknown counts for every project: it may serve any."""
        app_roots = {a.qualname: self.root_of(a.module) for a in self.celery_apps}
        every = sorted({m.root for m in self.modules} | set(app_roots.values()))
        found: dict[str, list[WorkerCommand]] = {root: [] for root in every}
        for command in self.worker_commands:
            for root in [app_roots[command.app]] if command.app in app_roots else every:
                found.setdefault(root, []).append(command)
        return found


@dataclass(frozen=True)
class DiagramNode:
    """A box of the diagram: a module, a collapsed package or a frontend file.
    `members` counts the modules a collapsed package stands for."""

    id: str
    label: str
    role: str
    members: int = 1


@dataclass(frozen=True)
class DiagramEdge:
    source: str
    target: str
    kind: str
    in_cycle: bool = False


@dataclass(frozen=True)
class Diagram:
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]
    collapsed: bool = False


@dataclass(frozen=True)
class LinkOptions:
    """Project knowledge from configuration.

    `context_names`: qualified names of project objects that need an app context
    (`myapp.ext.storage`: any use of it or its members). `task_decorators`: qualified
    names of project decorators that register tasks (`myapp.celery_utils.periodic`).
    """

    context_names: tuple[str, ...] = ()
    task_decorators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Linked:
    """What the last run made of its files when none changed since: the linked project,
    and the suppression directives (with the functions around them) by path."""

    project: Project
    directives: dict[str, tuple[Directive, ...]]
    functions: dict[str, tuple[FunctionFacts, ...]]
