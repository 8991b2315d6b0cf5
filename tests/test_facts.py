"""The linked facts behind the findings: apps, tasks with registered names, resolved
call sites. A near-miss that is silent for the wrong reason fails here."""

from __future__ import annotations

from conftest import FIXTURES, scan_json

from celery_audit.extract.python import extract_python


def _tasks(data: dict) -> dict[str, tuple]:
    return {
        t["func"]: (
            t["file"],
            t["line"],
            t["name"],
            t["app"],
            t["needs_app_context"],
            tuple(t["context_provided_by"]),
        )
        for t in data["facts"]["tasks"]
    }


def _calls(data: dict) -> set[tuple]:
    return {
        (c["file"], c["line"], c["kind"], c["task"], c["resolved"])
        for c in data["facts"]["call_sites"]
    }


def test_seed_app_facts() -> None:
    data = scan_json(FIXTURES / "seed_app")
    assert data["facts"]["celery_apps"] == [
        {"file": "extensions.py", "line": 18, "var": "extensions.celery", "how": "Celery()"}
    ]
    assert _tasks(data) == {
        "generate_user_export": ("workers.py", 19, "workers.generate_user_export", "extensions.celery",
                                 False, ("with create_app().app_context()",)),
        "send_daily_reminders": ("workers.py", 65, "workers.send_daily_reminders", "extensions.celery", True, ()),
        "cleanup_expired_exports": ("workers.py", 81, "workers.cleanup_expired_exports", "extensions.celery",
                                    False, ("with create_app().app_context()",)),
    }  # fmt: skip
    assert _calls(data) == {("resources.py", 21, "delay", "workers.generate_user_export", True)}
    assert data["facts"]["status_endpoints"] == [
        {"file": "resources.py", "line": 27, "route": "/api/exports/<string:task_id>",
         "returns": ["progress", "result", "state"]}
    ]  # fmt: skip
    assert [(b["key"], b["task"], b["schedule"]) for b in data["facts"]["beat"]] == [
        ("send-daily-reminders", "workers.send_daily_reminders", "crontab(hour=8, minute=0)"),
        ("cleanup-expired-exports", "workers.cleanup_expired_exports", "3600.0"),
    ]
    assert [
        (w["file"], w["line"], w["app_target"], w["subcommand"])
        for w in data["facts"]["worker_commands"]
    ] == [
        ("Procfile", 2, "app:celery", "worker"),
        ("Procfile", 3, "app:celery", "beat"),
    ]
    roles = {n["id"]: n["role"] for n in data["graph"]["nodes"]}
    assert roles == {"app": "app", "config": "config", "extensions": "extensions", "models": "module",
                     "resources": "resources", "workers": "workers",
                     "frontend:static/js/export.js": "frontend"}  # fmt: skip


def test_calls_resolve_through_reexports_modules_and_aliases() -> None:
    data = scan_json(FIXTURES / "ca101_app_bound_call")
    assert {(c["file"], c["line"], c["task"], c["resolved"]) for c in data["facts"]["call_sites"]
            if c["kind"] in ("delay", "apply_async", "s")} == {
        ("app/views.py", 22, "email.send_welcome", True),
        ("app/auth.py", 17, "email.send_welcome", True),
        ("app/auth.py", 24, "email.send_welcome", True),
    }  # fmt: skip


def test_context_providers_are_recognised() -> None:
    data = scan_json(FIXTURES / "ca201_near_miss")
    tasks = _tasks(data)
    assert tasks["send_confirmation"][3:] == (
        "newsletter.app.celery", True,
        ("app newsletter.app.celery runs tasks with newsletter.app.make_celery.ContextTask",),
    )  # fmt: skip
    assert tasks["refresh_tracking"][3:] == (
        "shared_task", True,
        ("app tracker.celery_init_app.celery_app runs tasks with tracker.celery_init_app.FlaskTask",),
    )  # fmt: skip
    assert tasks["publish_scheduled_posts"][3:] == (
        "blog.extensions.celery", True, ("decorator @ensure_context pushes an app context",),
    )  # fmt: skip
    assert tasks["archive_old_posts"][4] is False  # its uses sit inside `with app.app_context()`
    assert tasks["worker_heartbeat"][2:5] == (
        "blog.worker_heartbeat",
        "shared_task",
        False,
    )  # celery's current_app
    assert {(a["var"], a["how"]) for a in data["facts"]["celery_apps"]} == {
        ("newsletter.app.celery", "make_celery()"),
        ("tracker.celery_init_app.celery_app", "celery_init_app()"),
        ("blog.extensions.celery", "Celery()"),
    }


def test_configured_context_names_and_task_decorators(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from celery_audit.audit import audit
    from celery_audit.link import LinkOptions
    from celery_audit.settings import Settings

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "storage.py").write_text("class Storage: ...\nstorage = Storage()\n")
    (tmp_path / "app" / "helpers.py").write_text(
        "from celery import shared_task\n\ndef periodic(every):\n    return shared_task\n"
    )
    (tmp_path / "app" / "jobs.py").write_text(
        "from app.storage import storage\nfrom app.helpers import periodic\n\n"
        "@periodic(every=60)\ndef sweep():\n    storage.purge()\n"
    )
    plain = audit(tmp_path, settings=Settings())
    assert plain.project.tasks == ()
    options = LinkOptions(
        context_names=("app.storage.storage",), task_decorators=("app.helpers.periodic",)
    )
    report = audit(tmp_path, settings=Settings(), link_options=options)
    (task,) = report.project.tasks
    assert (task.name, task.app, [e.what for e in task.needs_app_context]) == (
        "app.jobs.sweep",
        "",
        ["uses storage"],
    )
    assert [(f.code, f.file, f.span.line) for f in report.findings] == [("CA201", "app/jobs.py", 5)]


def test_configuration_facts_read_through_comments_and_beat_options() -> None:
    source = b"""
from celery import Celery

celery = Celery(__name__)
celery.conf.update(
    broker_transport_options={
        "visibility_timeout": 4 * 3600,  # longest export: 3 h
    },
    beat_schedule={
        "a": {"task": "t.a", "schedule": 60.0, "options": {"expires": 55}},
        "b": {"task": "t.b", "schedule": 60.0},
        "c": {**BASE, "task": "t.c"},
        "d": ENTRY_D,
    },
)


@celery.on_after_configure.connect
def setup(sender, **kwargs):
    sender.add_periodic_task(30.0, refresh.s().set(expires=25), name="refresh", priority=3)
    sender.add_periodic_task(30.0, ping.s(), **OPTIONS)
"""
    facts = extract_python(source)
    [options] = [s for s in facts.settings if s.key == "broker_transport_options"]
    assert options.value == '{ "visibility_timeout": 4 * 3600, }'
    assert [(e.key, e.options) for e in facts.beat_entries] == [
        ("a", '{"expires": 55}'),
        ("b", ""),
        ("c", '{**BASE, "task": "t.c"}'),
        ("d", "ENTRY_D"),
        ("refresh", "dict(priority=3, expires=25)"),
        ("ping.s()", "dict(**OPTIONS)"),
    ]


def test_lambda_parameters_are_not_the_function_s() -> None:
    """A lambda in a decorator or in the body binds names inside the body, but its
    parameters are not the function's: `self` stays the first parameter of a bound task
    (a method's first parameter is the instance its `self.x` reads are on)."""
    facts = extract_python(
        b"from app import celery\n\n"
        b"@celery.task(bind=True, retry_if=lambda error, *rest, **named: True)\n"
        b"def sync(self, order_id):\n"
        b"    key = sorted([order_id], key=lambda item: item)\n"
        b"    self.retry(countdown=5)\n"
    )
    (sync,) = facts.functions
    assert sync.params == ("self", "order_id")
    assert {use.ref.dotted for use in sync.uses} == {"sorted"}  # not item, rest or named


def test_a_lambda_in_a_method_s_decorator_keeps_the_instance() -> None:
    facts = extract_python(
        b"from celery import Task\n\n"
        b"class Reports(Task):\n"
        b"    @cached(key=lambda report, week: week)\n"
        b"    def weekly(self, week):\n"
        b"        return self.render(week)\n"
    )
    (weekly,) = [f for f in facts.functions if f.qualname == "Reports.weekly"]
    assert weekly.params == ("self", "week")
    assert weekly.self_uses == ("render",)


def test_a_lambda_in_a_decorator_binds_nothing_in_the_function() -> None:
    """Decorators run in the enclosing scope: a decorator's `lambda request: ...` does
    not make `request` a local name of the decorated function's body."""
    facts = extract_python(
        b"from flask import request\n"
        b"from app import celery\n\n"
        b"@celery.task(retry_if=lambda request: False)\n"
        b"def remember_host():\n"
        b"    return request.host\n"
    )
    (task,) = facts.functions
    assert [use.ref.dotted for use in task.uses] == ["request.host"]
