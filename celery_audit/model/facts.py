"""Per-file facts: what one file says, with no knowledge of any other file.

Extraction produces these; linking combines them. Every class is a frozen dataclass of
plain values (str, int, bool, tuples), so facts pickle, hash and compare cheaply and can
be cached by content hash.

Names that point at other code are kept as written (`Ref`): a dotted text plus the scope
it was read in. Linking resolves them through the project's own import tables.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FileKind(str, enum.Enum):
    PYTHON = "python"
    SCRIPT = "script"
    FRONTEND = "frontend"


@dataclass(frozen=True, order=True)
class Span:
    """A source range: 1-based lines, 1-based columns, end column exclusive."""

    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    @property
    def last_line(self) -> int:
        return self.end_line or self.line


@dataclass(frozen=True)
class SourceFile:
    """A file found by discovery: `path` is relative to the root, with forward slashes."""

    path: str
    kind: FileKind


@dataclass(frozen=True)
class Ref:
    """A dotted name as written (`tasks.send`, `celery`), read inside `scope`.

    `scope` is the qualified name of the enclosing function or class ("" at module
    level), so a function-local import can shadow a module-level name.
    """

    dotted: str
    scope: str = ""

    @property
    def head(self) -> str:
        return self.dotted.split(".", 1)[0]

    @property
    def tail(self) -> str:
        return self.dotted.split(".", 1)[1] if "." in self.dotted else ""


# -- the module table (cheap pass, every Python file) ---------------------------------


@dataclass(frozen=True)
class Import:
    """One name bound by an import statement.

    `import a.b` binds `a` (module "a.b", name None, alias "a", binds_submodule=True);
    `import a.b as c` binds `c` to module "a.b"; `from .x import y as z` has module "x",
    level 1, name "y", alias "z". `lazy` is True inside a function or class body.
    """

    module: str
    name: str | None
    alias: str
    level: int
    span: Span
    lazy: bool
    scope: str = ""
    binds_submodule: bool = False
    conditional: bool = False


@dataclass(frozen=True)
class Binding:
    """A module-level (or class/function-level) name bound by def, class or assignment.

    kind: "function", "class" or "assign". For an assignment, `value_call` is the callee
    of a call on the right-hand side (`Celery` in `celery = Celery(__name__)`) and
    `value_ref` a plain dotted right-hand side (`app = create_app()` has value_call
    "create_app"; `task = tasks.export` has value_ref "tasks.export"). For a class,
    `bases` are the base classes as written. For a function that returns one of its
    nested functions (a decorator), `wrapper` names that nested function and
    `wrapper_uses_wraps` says whether it is decorated with functools.wraps. `value_str`
    is the string an assignment binds when its right-hand side is a string literal
    (`WEEKLY = "reports.weekly"`: task names kept in constants). `unpacked`: bound by
    unpacking (`app, celery = create_app()`), so its value is not known.
    """

    name: str
    kind: str
    span: Span
    scope: str = ""
    value_call: str | None = None
    value_ref: str | None = None
    bases: tuple[str, ...] = ()
    call_has_args: bool = False
    wrapper: str | None = None
    wrapper_uses_wraps: bool = False
    value_str: str | None = None
    unpacked: bool = False
    returns: str | None = None  # a function whose every `return` returns this name


@dataclass(frozen=True)
class ModuleTable:
    """What the cheap pass learns of every Python file."""

    imports: tuple[Import, ...] = ()
    bindings: tuple[Binding, ...] = ()
    has_main_guard: bool = False
    calls: tuple[str, ...] = ()  # callees of module-level call statements (`init_celery(app)`)
    main_calls: tuple[str, ...] = ()  # the same under `if __name__ == "__main__":`


# -- deep facts (deep pass, Celery/Flask-relevant files only) ------------------------


@dataclass(frozen=True)
class Keyword:
    """A keyword argument whose value could be read statically (`repr`-like text)."""

    name: str
    value: str
    literal: bool


@dataclass(frozen=True)
class AppCreation:
    """`x = Flask(...)`, `x = Celery(...)`, `x = make_celery(app)` and the like.

    `callee` is the called name as written (`Celery`, `celery.Celery`, `make_celery`);
    linking decides, by qualified name, whether it creates a Flask or Celery app.
    `var` is the bound name ("" for a bare call), `scope` the enclosing function (an app
    factory) or "". `main` is the first positional argument when it is a string or
    `__name__`.
    """

    callee: str
    var: str
    span: Span
    scope: str = ""
    main: str | None = None
    keywords: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class AppConfig:
    """A configuration step on an app variable: `celery.conf.update(...)`,
    `celery.config_from_object(...)`, `celery.autodiscover_tasks([...])`,
    `celery.Task = ContextTask`, `celery.set_default()`."""

    target: Ref
    action: str
    span: Span
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decorator:
    """A decorator as written: `celery.task`, `shared_task`, `ensure_context`."""

    ref: Ref
    text: str
    span: Span
    called: bool
    keywords: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class NameUse:
    """A global dotted name read in a function body (not a local or parameter).

    `in_context` is True when the read sits inside `with X.app_context():` (or a
    request context) in the same body.
    """

    ref: Ref
    span: Span
    in_context: bool = False


@dataclass(frozen=True)
class FunctionFacts:
    """A function or method: decorators, the global names it reads, context it pushes.

    `qualname` is `func`, `Class.method` or `outer.inner`. `pushes_context` lists the
    receivers of `with X.app_context():` / `X.app_context().push()` in the body (and of
    request contexts, which push an app context too); `pushes_request_context`: one of
    them is a request context (`X.test_request_context()`, `X.request_context(env)`).
    """

    qualname: str
    span: Span
    def_span: Span
    decorators: tuple[Decorator, ...] = ()
    uses: tuple[NameUse, ...] = ()
    pushes_context: tuple[Ref, ...] = ()
    params: tuple[str, ...] = ()
    is_method: bool = False
    self_uses: tuple[str, ...] = ()  # `task` for `self.task(...)` in a method (or nested)
    pushes_request_context: bool = False


@dataclass(frozen=True)
class ClassFacts:
    """A class with its bases and the methods that matter for Celery/Flask wiring.
    `attributes` are the names its body assigns, with their values (`name = "x"`,
    `time_limit = 60` on a task class)."""

    qualname: str
    span: Span
    bases: tuple[Ref, ...] = ()
    methods: tuple[str, ...] = ()
    attributes: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class DispatchArg:
    """An argument passed to a task: its text, the dotted name when it is one, and
    for a local variable the call chain it was assigned from (`User.query.get()`)."""

    text: str
    ref: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Dispatch:
    """A place that sends a task: `x.delay()`, `x.apply_async()`, `x.s()`, `x.si()`,
    `x.signature()`, `send_task("name")`, `signature("name")`, `chain(...)`,
    `group(...)`, `chord(...)`.

    `receiver` is what the method is called on (None for send_task/signature by name and
    for canvas calls); `task_name` the literal name for by-name forms. `id_returned` is
    True when the result's id reaches a return statement of the enclosing function.
    """

    kind: str
    span: Span
    scope: str
    receiver: Ref | None = None
    task_name: str | None = None
    id_returned: bool = False
    callee: str | None = None
    args: tuple[DispatchArg, ...] = ()
    queue: str | None = None  # `apply_async(queue="reports")`


@dataclass(frozen=True)
class RouteFacts:
    """A URL rule bound to a view: `@app.route("/x")`, `@bp.get(...)`,
    `add_url_rule(...)`, `api.add_resource(Resource, "/x")`. `view` is the decorated
    function's qualname when `decorated`, else the view as written."""

    rule: str
    view: str
    span: Span
    methods: tuple[str, ...] = ()
    registrar: Ref | None = None
    decorated: bool = False


@dataclass(frozen=True)
class StatusRead:
    """`AsyncResult(id)` or `task.AsyncResult(id)` in a function, with the keys of the
    dict it returns (when the return value is a dict literal or jsonify(...))."""

    scope: str
    span: Span
    returns: tuple[str, ...] = ()
    receiver: Ref | None = None


@dataclass(frozen=True)
class CelerySetting:
    """A Celery setting written in code, under its lowercase (Celery 4+) name.

    `container` says where: a config class (`Config`), a mapping (`Config.CELERY`,
    `app.config['CELERY']`), `celery.conf` (conf.update / assignment) or `<module>`
    (a celeryconfig-style module). `literal` is False when the value is computed
    (read from the environment, a call): such values are never judged.
    """

    key: str
    value: str
    literal: bool
    span: Span
    container: str


@dataclass(frozen=True)
class BeatEntryFacts:
    """One beat schedule entry. `source` says where it is written:
    "conf.beat_schedule", "conf.update", "config" (a config class/dict key) or
    "add_periodic_task". `options` is the entry's `"options"` value as written
    (`{"expires": 60}`); for add_periodic_task, its extra keywords and those of a
    `.set(...)` on the signature, as a `dict(...)` call (`dict(expires=60)`)."""

    key: str
    task: str | None
    schedule: str
    span: Span
    source: str
    container: str = ""
    task_ref: Ref | None = None
    options: str = ""


@dataclass(frozen=True)
class StateSet:
    """`self.update_state(state="PROGRESS", ...)` in a task body."""

    scope: str
    state: str
    span: Span


@dataclass(frozen=True)
class ParseProblem:
    """A file that could not be read or parsed: its facts are missing."""

    message: str
    span: Span


@dataclass(frozen=True)
class PythonFacts:
    """Everything extraction learns of one Python file."""

    table: ModuleTable = field(default_factory=ModuleTable)
    deep: bool = False
    app_creations: tuple[AppCreation, ...] = ()
    app_configs: tuple[AppConfig, ...] = ()
    functions: tuple[FunctionFacts, ...] = ()
    classes: tuple[ClassFacts, ...] = ()
    dispatches: tuple[Dispatch, ...] = ()
    routes: tuple[RouteFacts, ...] = ()
    status_reads: tuple[StatusRead, ...] = ()
    beat_entries: tuple[BeatEntryFacts, ...] = ()
    states_set: tuple[StateSet, ...] = ()
    config_classes: tuple[str, ...] = ()
    settings: tuple[CelerySetting, ...] = ()


@dataclass(frozen=True)
class WorkerCommandFacts:
    """A `celery` command line found in a service script. `settings` are the options
    that set a Celery setting, under the setting's name (`--prefetch-multiplier=1` is
    `worker_prefetch_multiplier`); a value read from the environment is not literal."""

    command: str
    span: Span
    app_target: str | None
    subcommand: str
    queues: tuple[str, ...] = ()
    beat: bool = False
    include: tuple[str, ...] = ()
    workdir: str | None = None
    settings: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class FrontendCallFacts:
    """A request made by frontend code, with the task states it compares and the
    response fields it reads."""

    url: str
    method: str
    span: Span
    states: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directive:
    """One suppression comment: `form` is "ignore", "ignore-file" or "noqa"; `codes`
    the rule codes it names (none when it names none: then it suppresses nothing)."""

    line: int
    column: int
    form: str
    codes: tuple[str, ...]

    @property
    def whole_file(self) -> bool:
        return self.form == "ignore-file"

    @property
    def text(self) -> str:
        """The directive as it should be written (codes normalised)."""
        if not self.codes:
            return f"celery-audit: {self.form}"
        if self.form == "noqa":
            return f"noqa: {', '.join(self.codes)}"
        return f"celery-audit: {self.form}[{', '.join(self.codes)}]"


@dataclass(frozen=True)
class FileFacts:
    """The facts of one file, whatever its kind."""

    source: SourceFile
    python: PythonFacts | None = None
    worker_commands: tuple[WorkerCommandFacts, ...] = ()
    frontend_calls: tuple[FrontendCallFacts, ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    directives: tuple[Directive, ...] = ()  # suppression comments
