"""The resolver patterns of real Flask+Celery code, one fixture project each, asserted
on the JSON facts: every task with the names it registers, every call site with the
task it resolves to. (Findings of the same fixtures are checked against their
`# expect:` comments by test_rule_fixtures.py.)"""

from __future__ import annotations

from typing import Any

from conftest import FIXTURES, scan_json

# (file, line, registered name) -> (func, app, decorator)
Tasks = dict[tuple[str, int, str], tuple[str, str, str]]
# (file, line) -> (kind, task name sent, resolved)
Calls = dict[tuple[str, int], tuple[str, str, bool]]


def _facts(fixture: str) -> tuple[dict[str, Any], Tasks, Calls]:
    data = scan_json(FIXTURES / fixture)
    facts = data["facts"]
    tasks = {
        (t["file"], t["line"], t["name"]): (t["func"], t["app"], t["decorator"])
        for t in facts["tasks"]
    }
    calls = {
        (c["file"], c["line"]): (c["kind"], c["task"], c["resolved"]) for c in facts["call_sites"]
    }
    assert len(tasks) == len(facts["tasks"]) and len(calls) == len(facts["call_sites"])
    return facts, tasks, calls


def test_dispatches_bound_to_a_name_before_the_call() -> None:
    # `deliver = send_email.delay if ... else send_now; deliver(...)` and
    # `task = tasks.export_outbox; task.apply_async(...)`.
    _, tasks, calls = _facts("resolve_bound_dispatch")
    assert tasks == {
        ("mailer/tasks.py", 7, "mailer.send_email"):
            ("send_email", "mailer.extensions.celery", '@celery.task(name="mailer.send_email")'),
        ("mailer/tasks.py", 13, "mailer.export_outbox"):
            ("export_outbox", "mailer.extensions.celery", '@celery.task(name="mailer.export_outbox")'),
    }  # fmt: skip
    assert calls == {
        ("mailer/views.py", 18): ("delay", "mailer.send_email", True),
        ("mailer/views.py", 26): ("apply_async", "mailer.export_outbox", True),
    }


def test_look_alikes_are_not_celery() -> None:
    # attr.s, itertools.chain, a project object's own delay()/apply_async() and
    # Celery's current_app: none is a dispatch, none needs a Flask context.
    facts, tasks, calls = _facts("resolve_lookalikes")
    assert tasks == {
        ("ledger/tasks.py", 10, "ledger.post_entries"):
            ("post_entries", "ledger.celery_app.celery", '@celery.task(name="ledger.post_entries")'),
    }  # fmt: skip
    assert facts["tasks"][0]["needs_app_context"] is False
    assert calls == {("ledger/views.py", 18): ("delay", "ledger.post_entries", True)}


def test_a_project_module_named_celery() -> None:
    # hub/celery.py (Celery's documented layout) and a top-level scripts/celery.py that
    # imports the installed package: `import celery; @celery.shared_task` in hub/tasks.py
    # is the installed package's shared_task, not an attribute of scripts/celery.py.
    facts, tasks, calls = _facts("resolve_celery_module")
    assert [(a["file"], a["var"]) for a in facts["celery_apps"]] == [
        ("hub/celery.py", "hub.celery.app"),
        ("scripts/celery.py", "celery.app"),
    ]
    assert tasks == {
        ("hub/tasks.py", 5, "hub.sync_devices"):
            ("sync_devices", "shared_task", '@celery.shared_task(name="hub.sync_devices")'),
    }  # fmt: skip
    assert calls == {("hub/web.py", 10): ("delay", "hub.sync_devices", True)}


def test_custom_task_decorators_from_their_bodies_and_from_configuration() -> None:
    # periodic_task(...) (a function helper) and locked_task(...) (a class helper) apply
    # the app's task decorator in their bodies; newsroom_platform.jobs.job is installed
    # code, named in [tool.celery-audit] task-decorators. not_a_task is a plain function.
    facts, tasks, calls = _facts("resolve_custom_decorators")
    assert tasks == {
        ("newsroom/jobs.py", 9, "newsroom.jobs.refresh_feeds"):
            ("refresh_feeds", "newsroom.worker.celery", "@periodic_task(run_every=timedelta(minutes=10))"),
        ("newsroom/jobs.py", 14, "newsroom.jobs.reindex_articles"):
            ("reindex_articles", "newsroom.worker.celery", '@locked_task("reindex")'),
        ("newsroom/jobs.py", 19, "newsroom.jobs.transcode_video"):
            ("transcode_video", "", '@job(queue="media")'),
    }  # fmt: skip
    # periodic_task(run_every=...) schedules the task it makes.
    assert [(b["file"], b["line"], b["task"], b["schedule"]) for b in facts["beat"]] == [
        ("newsroom/jobs.py", 8, "newsroom.jobs.refresh_feeds", "timedelta(minutes=10)")
    ]
    assert calls == {
        ("newsroom/views.py", 10): ("delay", "newsroom.jobs.reindex_articles", True),
        ("newsroom/views.py", 16): ("delay", "newsroom.jobs.transcode_video", True),
        ("newsroom/views.py", 22): ("delay", "not_a_task", False),
    }


def test_task_classes_and_tasks_named_by_string() -> None:
    # register_task(RenderReport()) bound to a name, register_task(PurgeDrafts()) named
    # module.Class; app.tasks["..."], signature("..."), send_task("...") by name.
    _, tasks, calls = _facts("resolve_task_classes")
    assert tasks == {
        ("reports/tasks.py", 6, "reports.render"):
            ("RenderReport", "reports.celery_app.celery", "celery.register_task(RenderReport())"),
        ("reports/tasks.py", 19, "reports.tasks.PurgeDrafts"):
            ("PurgeDrafts", "reports.celery_app.celery", "celery.register_task(PurgeDrafts())"),
        ("reports/tasks.py", 28, "reports.notify"):
            ("notify", "reports.celery_app.celery", '@celery.task(name="reports.notify")'),
    }  # fmt: skip
    assert calls == {
        ("reports/web.py", 12): ("delay", "reports.render", True),
        ("reports/web.py", 13): ("signature", "reports.notify", True),
        ("reports/web.py", 19): ("delay", "reports.tasks.PurgeDrafts", True),
        ("reports/web.py", 20): ("send_task", "reports.notify", True),
        ("reports/web.py", 21): ("send_task", "reports.archive", False),
    }


def test_explicit_derived_and_wrapper_renamed_task_names() -> None:
    # name= wins; else module.function; functools.wraps keeps it; a wrapper without
    # wraps renames the task after itself (billing.audit.inner).
    _, tasks, calls = _facts("resolve_task_names")
    app = "billing.extensions.celery"
    assert tasks == {
        ("billing/tasks.py", 6, "billing.charge_card"):
            ("charge_card", app, '@celery.task(name="billing.charge_card")'),
        ("billing/tasks.py", 11, "billing.tasks.send_receipt"): ("send_receipt", app, "@celery.task"),
        ("billing/tasks.py", 17, "billing.tasks.reconcile"): ("reconcile", app, "@celery.task"),
        ("billing/tasks.py", 23, "billing.audit.inner"): ("close_books", app, "@celery.task"),
    }  # fmt: skip
    assert calls == {
        ("billing/views.py", 11): ("delay", "billing.charge_card", True),
        ("billing/views.py", 12): ("send_task", "billing.tasks.send_receipt", True),
        ("billing/views.py", 18): ("delay", "billing.audit.inner", True),
    }


def test_tasks_of_a_module_run_as_main_are_named_after_the_apps_main() -> None:
    # worker.py starts its worker under `if __name__ == "__main__"`: run so, its tasks
    # register as thumbnails.* (Celery("thumbnails")); imported, as worker.*.
    _, tasks, calls = _facts("resolve_main_module")
    assert tasks == {
        ("worker.py", 12, "worker.make_thumbnail"): ("make_thumbnail", "worker.app", "@app.task"),
        ("worker.py", 12, "thumbnails.make_thumbnail"): ("make_thumbnail", "worker.app", "@app.task"),
        ("worker.py", 17, "thumbnails.purge"):
            ("purge_thumbnails", "worker.app", '@app.task(name="thumbnails.purge")'),
    }  # fmt: skip
    assert calls == {
        ("web.py", 11): ("send_task", "thumbnails.make_thumbnail", True),
        ("web.py", 12): ("send_task", "thumbnails.purge", True),
    }


def test_a_module_imported_by_two_dotted_paths_registers_two_names() -> None:
    # src layout: clinic.reminders for the worker, src.clinic.reminders for web.py,
    # which therefore sends src.clinic.reminders.send_reminder.
    facts, tasks, calls = _facts("resolve_two_import_paths")
    assert tasks == {
        ("src/clinic/reminders.py", 5, "clinic.reminders.send_reminder"):
            ("send_reminder", "clinic.celery_app.celery", "@celery.task"),
        ("src/clinic/reminders.py", 5, "src.clinic.reminders.send_reminder"):
            ("send_reminder", "clinic.celery_app.celery", "@celery.task"),
    }  # fmt: skip
    assert calls == {
        ("src/clinic/web.py", 13): ("delay", "src.clinic.reminders.send_reminder", True),
    }
    assert [(w["app_target"], w["subcommand"]) for w in facts["worker_commands"]] == [
        ("clinic.celery_app", "worker")
    ]


def test_configuration_spread_over_modules_classes_and_mappings() -> None:
    # config_from_object("depot.celeryconfig") naming a module by string, with
    # `imports` as one string; CELERY_-namespaced keys of a Flask config class
    # (CELERY_IMPORTS as one string); an app.config["CELERY"] mapping with lowercase
    # keys applied by conf.update. Beat entries come from all three; the workers import
    # what `imports` names (depot.reports, imported by nobody, is CA502 in the fixture).
    facts, tasks, calls = _facts("resolve_config_spread")
    assert [(b["file"], b["line"], b["key"], b["task"], b["schedule"]) for b in facts["beat"]] == [
        ("mapping/kiosk/__init__.py", 14, "refresh-menu", "kiosk.jobs.refresh_menu", "300.0"),
        ("namespaced_keys/parcel/config.py", 11, "sweep-lockers", "parcel.sweep_lockers",
         "timedelta(minutes=15)"),
        ("string_module/depot/celeryconfig.py", 9, "nightly-restock", "depot.restock",
         "crontab(minute=0, hour=3)"),
    ]  # fmt: skip
    assert sorted(name for (_, _, name) in tasks) == [
        "depot.restock",
        "depot.stock_report",
        "kiosk.jobs.refresh_menu",
        "parcel.sweep_lockers",
    ]
    assert calls == {("string_module/depot/web.py", 10): ("delay", "depot.stock_report", True)}
    data = scan_json(FIXTURES / "resolve_config_spread")
    assert sorted((f["file"], f["code"]) for f in data["findings"] if f["code"] == "CA502") == [
        ("string_module/Procfile", "CA502")
    ]


def test_project_subclasses_of_celery_and_flask() -> None:
    # AgendaCelery(Celery) instances are apps; its periodic_task method applies
    # self.task (a task decorator that also schedules), and `self.Task = AgendaTask` in
    # the subclass, whose __call__ enters the app context through an ExitStack, covers
    # every task of the app.
    facts, tasks, calls = _facts("resolve_app_subclass")
    app = "agenda.core.celery.celery"
    assert [(a["file"], a["var"], a["how"]) for a in facts["celery_apps"]] == [
        ("agenda/core/celery.py", app, "AgendaCelery()")
    ]
    assert tasks == {
        ("agenda/rooms/tasks.py", 9, "agenda.rooms.tasks.notify_todays_bookings"): (
            "notify_todays_bookings", app,
            '@celery.periodic_task(run_every=crontab(minute="0", hour="6"))',
        ),
        ("agenda/rooms/tasks.py", 16, "agenda.rooms.tasks.release_room"): (
            "release_room", app, "@celery.task",
        ),
    }  # fmt: skip
    provided = "app agenda.core.celery.celery runs tasks with agenda.core.celery_ext.AgendaCelery._patch_task.AgendaTask"
    assert [(t["needs_app_context"], t["context_provided_by"]) for t in facts["tasks"]] == [
        (True, [provided]),
        (True, [provided]),
    ]
    assert [(b["line"], b["task"]) for b in facts["beat"]] == [
        (8, "agenda.rooms.tasks.notify_todays_bookings")
    ]
    assert calls == {
        ("agenda/rooms/views.py", 10): ("delay", "agenda.rooms.tasks.release_room", True)
    }


def test_an_app_stored_into_a_module_attribute_by_the_factory() -> None:
    # `celeryapp.celery = FlaskCelery(app=app)` in create_app(): the app is
    # feeds.celeryapp.celery, where the tasks import it from; its subclass installs a
    # context task class and autodiscover_tasks(packages=["feeds.rss.tasks"]) imports
    # that module itself, so the worker registers the task (no CA502).
    facts, tasks, calls = _facts("resolve_app_stored_in_module")
    assert [(a["file"], a["line"], a["var"]) for a in facts["celery_apps"]] == [
        ("feeds/__init__.py", 12, "feeds.celeryapp.celery")
    ]
    assert tasks == {
        ("feeds/rss/tasks.py", 7, "feeds.fetch_articles"):
            ("fetch_articles", "feeds.celeryapp.celery", '@celery.task(name="feeds.fetch_articles")'),
    }  # fmt: skip
    assert facts["tasks"][0]["context_provided_by"] == [
        "app feeds.celeryapp.celery runs tasks with feeds.extensions.FlaskCelery._patch_task.ContextTask"
    ]
    assert calls == {("feeds/rss/views.py", 10): ("delay", "feeds.fetch_articles", True)}
