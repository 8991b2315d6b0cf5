"""The configuration rules (CA7xx) on facts built in the test, without parsing:
values that cannot be known are never judged, test configurations are left out."""

from __future__ import annotations

import dataclasses

import pytest

from celery_audit.celery_names import setting_name
from celery_audit.model.facts import Keyword, Span
from celery_audit.model.findings import Related
from celery_audit.model.project import (
    BeatEntry,
    CeleryApp,
    Module,
    Project,
    Setting,
    Task,
    WorkerCommand,
)
from celery_audit.rules import (
    beat_entry_without_expires,
    beat_period_below_limit,
    broker_credentials_in_code,
    crontab_minute_wildcard,
    eager_in_config,
    implicit_task_name,
    late_ack_prefetch,
    no_time_limit,
    pickle_serializer,
    queue_not_declared,
    result_expires_disabled,
    route_to_unknown_task,
    soft_limit_not_below_hard,
    unbounded_retry,
    visibility_timeout_too_short,
)
from celery_audit.rules.beat_entry_without_expires import has_expires
from celery_audit.rules.beat_period_below_limit import period_of
from celery_audit.rules.config_values import (
    UNKNOWN,
    route_matches,
    route_queue,
    routes_of,
    seconds_of,
    value_of,
)
from celery_audit.rules.queue_not_declared import declared_queues


def _setting(key: str, value: str, *, literal: bool = True, file: str = "shop/config.py",
             container: str = "Config.CELERY") -> Setting:  # fmt: skip
    return Setting(file, Span(3, 5), key, value, literal, container)


SHOP = (Module("shop.tasks", "shop/tasks.py", "workers"),)


def _project(*settings: Setting, beat: tuple[BeatEntry, ...] = ()) -> Project:
    return Project(root=".", files=1, python_files=1, settings=settings, beat=beat, modules=SHOP)


@pytest.mark.parametrize(
    ("text", "literal", "expected"),
    [
        ("True", True, True),
        ("None", True, None),
        ("0", True, 0),
        ("pickle", True, "pickle"),
        ('["pickle", "json"]', False, ["pickle", "json"]),
        ("-1", False, -1),
        ('os.environ.get("SERIALIZER", "pickle")', False, UNKNOWN),
        ("24 * 3600", False, UNKNOWN),
    ],
)
def test_value_of(text: str, literal: bool, expected: object) -> None:
    assert value_of(text, literal) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("CELERY_TASK_RESULT_EXPIRES", "result_expires"),
        ("CELERYD_TASK_TIME_LIMIT", "task_time_limit"),
        ("CELERYD_TASK_SOFT_TIME_LIMIT", "task_soft_time_limit"),
        ("CELERYD_PREFETCH_MULTIPLIER", "worker_prefetch_multiplier"),
        ("CELERY_ALWAYS_EAGER", "task_always_eager"),
        ("always_eager", "task_always_eager"),
    ],
)
def test_old_setting_names(name: str, key: str) -> None:
    assert setting_name(name) == key


def test_pickle_serializer_judges_literals_and_lists_only() -> None:
    project = _project(
        _setting("task_serializer", "pickle"),
        _setting("accept_content", '["json", "application/x-python-serialize"]', literal=False),
        _setting("result_serializer", 'os.environ.get("S", "pickle")', literal=False),
        _setting("accept_content", '["json"]', literal=False),
    )
    found = list(pickle_serializer.check(project))
    assert [f.message.split("`")[1] for f in found] == ["task_serializer", "accept_content"]


def test_broker_credentials_are_masked_and_test_configs_left_out() -> None:
    project = _project(
        _setting("broker_url", "amqp://shop:hunter2@rabbit//;amqp://shop:hunter2@rabbit2//"),
        _setting("backend", "redis://cache:6379/1"),
        _setting("broker_url", 'os.environ.get("URL", "redis://:pw@x")', literal=False),
        _setting("broker_url", "redis://:pw@localhost", container="TestingConfig.CELERY"),
        _setting("result_backend", "redis://:pw@localhost", file="tests/conftest.py"),
    )
    found = list(broker_credentials_in_code.check(project))
    assert len(found) == 1
    assert "hunter2" not in found[0].message
    assert "amqp://shop:***@rabbit//, amqp://shop:***@rabbit2//" in found[0].message


@pytest.mark.parametrize(
    ("container", "file", "reported"),
    [
        ("Config.CELERY", "shop/config.py", True),
        ("ProductionConfig", "shop/config.py", True),
        ("TestimonialsConfig", "shop/config.py", True),
        ("TestingConfig.CELERY", "shop/config.py", False),
        ("IntegrationTestConfig", "shop/config.py", False),
        ("app.config", "shop/conftest.py", False),
        ("<module>", "shop/test_settings.py", False),
    ],
)
def test_eager_in_config_outside_test_configs(container: str, file: str, reported: bool) -> None:
    setting = _setting("task_always_eager", "True", container=container, file=file)
    assert bool(list(eager_in_config.check(_project(setting)))) is reported


@pytest.mark.parametrize(
    ("expires", "backend", "reported"),
    [
        ("None", "redis://cache:6379/1", True),
        ("0", "redis://cache:6379/1", True),
        ("3600", "redis://cache:6379/1", False),
        ("None", "rpc://", False),
        ("None", None, False),
    ],
)
def test_result_expires_needs_a_stored_backend(
    expires: str, backend: str | None, reported: bool
) -> None:
    settings = [_setting("result_expires", expires)]
    if backend is not None:
        settings.append(_setting("result_backend", backend))
    assert bool(list(result_expires_disabled.check(_project(*settings)))) is reported


def test_computed_result_expires_is_not_judged() -> None:
    project = _project(
        _setting("result_expires", 'int(os.environ["TTL"])', literal=False),
        _setting("result_backend", "redis://cache:6379/1"),
    )
    assert not list(result_expires_disabled.check(project))


@pytest.mark.parametrize(
    ("schedule", "unset"),
    [
        ("crontab(hour=2)", "minute"),
        ("crontab(0, day_of_week='mon')", "hour"),
        ("schedules.crontab(day_of_month=1)", "minute, hour"),
        ("crontab(minute=0, hour=2)", None),
        ("crontab(minute='*', hour='*/4')", None),
        ("crontab(hour='*')", None),
        ("crontab(**NIGHTLY)", None),
        ("timedelta(hours=2)", None),
        ("300.0", None),
    ],
)
def test_crontab_minute_wildcard(schedule: str, unset: str | None) -> None:
    entry = BeatEntry("shop/config.py", Span(4, 9), "job", "shop.job", schedule, "config", "shop")
    found = list(crontab_minute_wildcard.check(_project(beat=(entry,))))
    assert [f.message.split(" unset")[0].rsplit("leaves ", 1)[1] for f in found] == (
        [unset] if unset else []
    )


# -- CA703-CA715: facts built here -----------------------------------------------------------


def _task(
    func: str,
    *options: str,
    root: str = "",
    app: str = "shared_task",
    explicit: bool = True,
    file: str = "shop/tasks.py",
) -> Task:
    """A task with decorator keywords written `name=value` (a quoted value is a literal
    string, a plain number or True/False/None a literal, anything else code)."""
    keywords = []
    for option in options:
        name, _, value = option.partition("=")
        if value[:1] in "\"'":
            keywords.append(Keyword(name, value[1:-1], True))
        else:
            literal = value in ("True", "False", "None") or value.replace(".", "", 1).isdigit()
            keywords.append(Keyword(name, value, literal))
    named = next((k.value for k in keywords if k.name == "name"), None)
    return Task(
        qualname=f"shop.tasks.{func}",
        module="shop.tasks",
        func=func,
        file=file,
        span=Span(9),
        def_span=Span(10, 5),
        decorator="@shared_task",
        app=app,
        name=named or f"shop.tasks.{func}",
        name_explicit=explicit and named is not None,
        bind=False,
        base=None,
        queue=None,
        root=root,
        options=tuple(keywords),
    )


def _worker(command: str, *settings: Keyword, queues: tuple[str, ...] = ()) -> WorkerCommand:
    return WorkerCommand(
        "Procfile", Span(2), command, "shop.celery", "worker", queues, settings=settings
    )


def _entry(
    schedule: str, *, options: str = "", resolved: str | None = "shop.tasks.sync"
) -> BeatEntry:
    return BeatEntry(
        "shop/config.py",
        Span(7, 9),
        "sync",
        "shop.sync",
        schedule,
        "config",
        "shop",
        resolved,
        "Config.CELERY",
        options,
    )


def _lines(findings: object) -> list[int]:
    return [f.span.line for f in findings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("300", 300),
        ("24 * 3600", 86400),
        ("timedelta(minutes=5)", 300.0),
        ("datetime.timedelta(hours=1, seconds=30)", 3630.0),
        ("timedelta(1, 30)", 86430.0),
        ("-60", -60),
        ("None", None),
        ("3600 / 0", UNKNOWN),
        ('int(os.environ["TASK_TIME_LIMIT"])', UNKNOWN),
        ("timedelta(**PARTS)", UNKNOWN),
        ("LIMIT", UNKNOWN),
    ],
)
def test_seconds_of(text: str, seconds: object) -> None:
    assert seconds_of(text) == seconds if seconds is not UNKNOWN else seconds_of(text) is UNKNOWN


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("shop.send_invoice", "shop.send_invoice", True),
        ("shop.*", "shop.send_invoice", True),
        ("shop.*", "shop.", False),  # `*` is one or more characters
        ("*.send", "shop.send_invoice", True),  # anchored at the start only
        ("shop.send?", "shop.sends", False),  # only `*` is special
        ("shop.send?", "shop.send?", True),
        ("shop.[ab]", "shop.a", False),
    ],
)
def test_routes_match_as_celery_matches_them(pattern: str, name: str, matches: bool) -> None:
    assert route_matches(pattern, name) is matches


def test_routes_of_reads_mappings_lists_and_items_only() -> None:
    items = '([("feed.*", {"queue": "feeds"}), ("web.x", "web")],)'
    assert routes_of(_setting("task_routes", items, literal=False)) == [
        ("feed.*", {"queue": "feeds"}),
        ("web.x", "web"),
    ]
    assert routes_of(
        _setting("task_routes", '[{"a": "q"}, {"b": {"queue": "r"}}]', literal=False)
    ) == [
        ("a", "q"),
        ("b", {"queue": "r"}),
    ]
    assert routes_of(_setting("task_routes", '("shop.routers.Router",)', literal=False)) is None
    assert routes_of(_setting("task_routes", "build_routes()", literal=False)) is None
    assert route_queue({"queue": "feeds"}) == "feeds" and route_queue("web") == "web"


def test_no_time_limit_lists_each_apps_tasks_once() -> None:
    shop = CeleryApp("shop.celery", "shop", "shop/__init__.py", Span(5), "celery", "Celery()")
    other = CeleryApp("other.celery", "other", "other/__init__.py", Span(5), "celery", "Celery()")
    modules = (Module("shop", "shop/__init__.py", "extensions", root="shop"),
               Module("other", "other/__init__.py", "extensions", root="other"))  # fmt: skip
    tasks = (
        _task("a", root="shop"),
        _task("b", "time_limit=60", root="shop"),
        _task("c", "soft_time_limit=LIMIT", root="shop"),  # not known: taken as a limit
        _task("d", "time_limit=0", root="shop"),  # 0 is no limit
        _task("e", app="other.celery", root="other"),
        _task("f", root="other"),
    )
    project = Project(root=".", files=1, python_files=1, modules=modules,
                      celery_apps=(shop, other), tasks=tasks)  # fmt: skip
    found = list(no_time_limit.check(project))
    assert [(f.file, [r.message.split("`")[1] for r in f.related]) for f in found] == [
        ("other/__init__.py", ["shop.tasks.e", "shop.tasks.f"]),
        ("shop/__init__.py", ["shop.tasks.a", "shop.tasks.d"]),
    ]
    configured = _setting("task_time_limit", 'os.environ["L"]', literal=False)
    limited = dataclasses.replace(project, settings=(dataclasses.replace(configured, root="shop"),))
    assert [f.file for f in no_time_limit.check(limited)] == ["other/__init__.py"]
    testing = _setting("task_time_limit", "60", container="TestingConfig")
    not_limited = dataclasses.replace(
        project, settings=(dataclasses.replace(testing, root="shop"),)
    )
    assert len(list(no_time_limit.check(not_limited))) == 2
    option = Keyword("task_time_limit", "300", True)
    on_worker = dataclasses.replace(
        project, worker_commands=(_worker("celery worker --time-limit=300", option),)
    )
    assert not list(no_time_limit.check(on_worker))  # a command with no known app serves both


def test_soft_limit_not_below_hard() -> None:
    project = _project(
        _setting("task_soft_time_limit", "300"),
        _setting("task_time_limit", "300"),
        _setting("task_soft_time_limit", "50", container="TestingConfig.CELERY"),
        _setting("task_time_limit", "10", container="TestingConfig.CELERY"),
        _setting("task_time_limit", "0", container="Production"),
        _setting(
            "task_soft_time_limit", 'int(os.environ["SOFT"])', literal=False, container="Staging"
        ),
        _setting("task_time_limit", "60", container="Staging"),
    )
    messages = [f.message for f in soft_limit_not_below_hard.check(project)]
    assert len(messages) == 2
    assert messages[0].startswith("task_time_limit=0 does not limit")
    assert messages[1].startswith("task_soft_time_limit=300 is not below task_time_limit=300")
    tasks = (
        _task("pair", "soft_time_limit=60", "time_limit=60"),
        _task("fine", "soft_time_limit=50", "time_limit=60"),
        _task("zero", "time_limit=0"),
        _task("computed", "soft_time_limit=SOFT", "time_limit=60"),
    )
    found = list(
        soft_limit_not_below_hard.check(Project(root=".", files=1, python_files=1, tasks=tasks))
    )
    assert [f.message.split(":")[0] for f in found] == ["task `pair`", "task `zero`"]


def test_soft_limit_against_the_configured_hard_limit() -> None:
    hard = _setting("task_time_limit", "300")
    tasks = (_task("long", "soft_time_limit=300"), _task("short", "soft_time_limit=200"))
    project = Project(root=".", files=1, python_files=1, tasks=tasks, settings=(hard,))
    found = list(soft_limit_not_below_hard.check(project))
    assert [f.scope for f in found] == ["long"]
    assert found[0].related == (Related("shop/config.py", 3, "task_time_limit=300"),)


@pytest.mark.parametrize(
    ("settings", "workers", "reported"),
    [
        ((), (), True),
        ((("worker_prefetch_multiplier", "1", True),), (), False),
        ((("worker_prefetch_multiplier", "4", True),), (), True),
        ((("worker_prefetch_multiplier", 'os.environ["N"]', False),), (), False),
        ((), (("worker_prefetch_multiplier", "1", True),), False),
        ((), (("worker_prefetch_multiplier", "$PREFETCH", False),), False),
        (
            (("worker_prefetch_multiplier", "1", True),),
            (("worker_prefetch_multiplier", "8", True),),
            True,
        ),
        ((("worker_prefetch_multiplier", "1", True),), (), False),
    ],
)
def test_late_ack_prefetch(settings: tuple, workers: tuple, reported: bool) -> None:  # type: ignore[type-arg]
    project = _project(
        _setting("task_acks_late", "True"),
        *(_setting(k, v, literal=lit) for k, v, lit in settings),
    )
    commands = tuple(_worker("celery -A shop.celery worker", Keyword(*w)) for w in workers)
    project = dataclasses.replace(project, worker_commands=commands)
    assert bool(list(late_ack_prefetch.check(project))) is reported


def test_late_ack_prefetch_judges_the_workers_of_a_tasks_queue() -> None:
    fast = _worker(
        "celery -A shop.celery worker -Q video",
        Keyword("worker_prefetch_multiplier", "1", True),
        queues=("video",),
    )
    slow = _worker("celery -A shop.celery worker")
    tasks = (_task("encode", "acks_late=True", "queue='video'"), _task("mail", "acks_late=True"))
    project = Project(
        root=".", files=1, python_files=1, tasks=tasks, worker_commands=(fast, slow), modules=SHOP
    )
    assert [f.scope for f in late_ack_prefetch.check(project)] == ["mail"]
    testing = _project(_setting("task_acks_late", "True", container="TestingConfig"))
    assert not list(late_ack_prefetch.check(testing))


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (("autoretry_for=(Exception,)", "max_retries=None", "retry_backoff=True"), "any exception"),
        (("bind=True", "max_retries=None"), "until it succeeds"),
        (
            (
                "autoretry_for=(IOError,)",
                "retry_kwargs={'max_retries': None}",
                "retry_backoff=True",
            ),
            "until it succeeds",
        ),
        (("autoretry_for=(IOError,)",), "fixed delay"),
        (("autoretry_for=(IOError,)", "retry_backoff=False"), "fixed delay"),
        (("autoretry_for=(IOError,)", "retry_backoff=BACKOFF"), None),
        (("autoretry_for=(IOError,)", "retry_backoff=30"), None),
        (("autoretry_for=(Exception,)", "retry_backoff=True"), None),  # bounded: the default is 3
        (("max_retries=MAX",), None),
        (("bind=True",), None),
    ],
)
def test_unbounded_retry(options: tuple[str, ...], problem: str | None) -> None:
    project = Project(root=".", files=1, python_files=1, tasks=(_task("sync", *options),))
    found = list(unbounded_retry.check(project))
    assert [problem in f.message for f in found] == ([True] if problem else [])


@pytest.mark.parametrize(
    ("settings", "reported"),
    [
        ((("broker_transport_options", '{"visibility_timeout": 1800}', False),), True),
        ((("broker_transport_options", '{"visibility_timeout": 2 * 3600}', False),), False),
        (
            (("broker_transport_options", '{"visibility_timeout": int(os.environ["V"])}', False),),
            False,
        ),
        (
            (
                (
                    "broker_transport_options",
                    "dict(visibility_timeout=600, fanout_prefix=True)",
                    False,
                ),
            ),
            True,
        ),
        ((("broker_transport_options", '{**BASE, "visibility_timeout": 600}', False),), True),
        ((("broker_transport_options", "{**BASE}", False),), False),
        ((("broker_url", "redis://redis:6379/0", True),), True),  # Redis's default: 1 h
        ((("broker_url", "amqp://rabbit//", True),), False),
        ((("broker_url", "sqs://", True),), False),  # SQS: the queue's own default, not assumed
        ((("broker_url", 'os.environ["BROKER_URL"]', False),), False),
        (
            (
                ("broker_url", "amqp://rabbit//", True),
                ("broker_transport_options", '{"visibility_timeout": 60}', False),
            ),
            False,
        ),
    ],
)
def test_visibility_timeout_too_short(settings: tuple, reported: bool) -> None:  # type: ignore[type-arg]
    project = dataclasses.replace(
        _project(*(_setting(k, v, literal=lit) for k, v, lit in settings)),
        tasks=(_task("export", "time_limit=7200"), _task("ping", "time_limit=BOUNDLESS")),
    )
    assert bool(list(visibility_timeout_too_short.check(project))) is reported


def test_route_to_unknown_task() -> None:
    routes = _setting(
        "task_routes",
        '{"shop.old.*": "q", "shop.send": "q", "shop.s*": "q", '
        '"mailer.send": "q", "celery.backend_cleanup": "q"}',
        literal=False,
    )
    tasks = (_task("send", "name='shop.send'"),)
    project = dataclasses.replace(_project(routes), tasks=tasks)
    assert [f.message.split("`")[1] for f in route_to_unknown_task.check(project)] == ["shop.old.*"]
    computed = dataclasses.replace(project, tasks=(*tasks, _task("other", "name=TASK_NAME")))
    assert not list(route_to_unknown_task.check(computed))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('(Queue("default"), Queue("emails", routing_key="emails"))', {"default", "emails"}),
        ('[kombu.Queue(name="media"), Broadcast("refresh")]', {"media", "refresh"}),
        ('{"default": {}, "emails": {"exchange": "emails"}}', {"default", "emails"}),
        ("tuple(Queue(n) for n in NAMES)", None),
        ("(Queue(NAME),)", None),
        ("QUEUES", None),
    ],
)
def test_declared_queues(text: str, names: set[str] | None) -> None:
    assert declared_queues(text) == names


def test_queue_not_declared() -> None:
    queues = _setting("task_queues", '(Queue("default"),)', literal=False)
    default = _setting("task_default_queue", "default")
    tasks = (
        _task("send", "name='shop.send'", "queue='emails'"),
        _task("report", "name='shop.report'"),
    )
    project = dataclasses.replace(_project(queues, default), tasks=tasks)
    assert [f.message.split("`")[1] for f in queue_not_declared.check(project)] == ["emails"]
    undeclared_default = dataclasses.replace(project, settings=(queues,))
    assert sorted(
        f.message.split("`")[1] for f in queue_not_declared.check(undeclared_default)
    ) == ["celery", "emails"]
    selecting = dataclasses.replace(
        project, worker_commands=(_worker("celery worker -Q emails", queues=("emails",)),)
    )
    assert not list(queue_not_declared.check(selecting))  # the worker's -Q creates it
    strict = dataclasses.replace(
        selecting, settings=(queues, default, _setting("task_create_missing_queues", "False"))
    )
    assert ["QueueNotFound" in f.message for f in queue_not_declared.check(strict)] == [True]
    unknown = dataclasses.replace(
        project,
        settings=(queues, default, _setting("task_create_missing_queues", "FLAG", literal=False)),
    )
    assert not list(queue_not_declared.check(unknown))


@pytest.mark.parametrize(
    ("schedule", "period"),
    [
        ("30.0", 30.0),
        ("timedelta(minutes=5)", 300.0),
        ("schedule(run_every=timedelta(seconds=45))", 45.0),
        ("celery.schedules.schedule(60)", 60.0),
        ("crontab()", 60.0),
        ("crontab(minute='*/15')", 900.0),
        ("crontab(minute='*/7')", 240.0),  # 56 -> 0 of the next hour
        ("crontab(minute='0,30', hour='9-17')", 1800.0),
        ("crontab(minute=0)", 3600.0),
        ("crontab(minute=0, hour=3)", None),
        ("crontab(minute='5-10/2', day_of_week='mon')", 120.0),
        ("crontab(minute=MINUTES)", None),
        ("solar('sunset', -37.81, 144.96)", None),
        ("EVERY_MINUTE", None),
    ],
)
def test_beat_periods(schedule: str, period: float | None) -> None:
    assert period_of(schedule) == period


def test_beat_period_below_limit() -> None:
    tasks = (_task("sync", "time_limit=600"),)
    entries = (_entry("timedelta(minutes=5)"), _entry("900.0"), _entry("crontab(minute='*/5')"))
    project = Project(root=".", files=1, python_files=1, tasks=tasks, beat=entries)
    assert len(list(beat_period_below_limit.check(project))) == 2
    configured = dataclasses.replace(
        project, tasks=(_task("sync"),), settings=(_setting("task_time_limit", "600"),)
    )
    assert len(list(beat_period_below_limit.check(configured))) == 2
    unknown = dataclasses.replace(
        configured, settings=(_setting("task_time_limit", "L", literal=False),)
    )
    assert not list(beat_period_below_limit.check(unknown))
    unresolved = dataclasses.replace(project, beat=(_entry("60.0", resolved=None),))
    assert not list(beat_period_below_limit.check(unresolved))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", False),
        ('{"expires": 55}', True),
        ('{"queue": "celery"}', False),
        ("dict(expires=30, priority=5)", True),
        ("dict(priority=5)", False),
        ("dict(**DEFAULTS)", None),
        ('{**DEFAULTS, "priority": 5}', None),
        ("DEFAULT_OPTIONS", None),
    ],
)
def test_beat_entry_options_expires(options: str, expected: bool | None) -> None:
    assert has_expires(options) is expected


def test_beat_entry_without_expires_and_implicit_task_name() -> None:
    tasks = (_task("sync", "expires=60"), _task("other", explicit=False))
    entries = (
        _entry("60.0"),
        _entry("60.0", resolved="shop.tasks.other"),
        _entry("60.0", options='{"expires": 5}'),
    )
    project = Project(root=".", files=1, python_files=1, tasks=tasks, beat=entries)
    assert len(list(beat_entry_without_expires.check(project))) == 1
    assert [f.scope for f in implicit_task_name.check(project)] == ["sync", "other"]
