"""Linking on small in-test projects: registered names, beat sources, canvases,
layouts, diagram size."""

from __future__ import annotations

import textwrap
from pathlib import Path

from celery_audit.audit import audit
from celery_audit.settings import Settings
from celery_audit.topology import MAX_NODES, diagram


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


EXT = "from celery import Celery\ncelery = Celery('shop')\n"


def test_wrappers_without_functools_wraps_rename_the_task(tmp_path: Path) -> None:
    _project(tmp_path, {
        "shop/__init__.py": "",
        "shop/ext.py": EXT,
        "shop/decorators.py": """
            import functools

            def logged(fn):
                def wrapper(*args, **kwargs):
                    return fn(*args, **kwargs)
                return wrapper

            def timed(fn):
                @functools.wraps(fn)
                def inner(*args, **kwargs):
                    return fn(*args, **kwargs)
                return inner

            def retrying(times):
                def decorate(fn):
                    def attempt(*args, **kwargs):
                        return fn(*args, **kwargs)
                    return attempt
                return decorate
        """,
        "shop/tasks.py": """
            from shop.ext import celery
            from shop.decorators import logged, timed, retrying

            @celery.task
            @logged
            def plain(): ...

            @celery.task
            @timed
            def wrapped(): ...

            @celery.task
            @retrying(3)
            def factory(): ...

            @celery.task(name="shop.pinned")
            @logged
            def pinned(): ...

            @logged
            @celery.task
            def outside(): ...
        """,
    })  # fmt: skip
    tasks = {
        t.func: (t.name, t.renamed_by) for t in audit(tmp_path, settings=Settings()).project.tasks
    }
    assert tasks == {
        "plain": ("shop.decorators.wrapper", "logged"),
        "wrapped": ("shop.tasks.wrapped", None),
        "factory": ("shop.decorators.attempt", "retrying(3)"),
        "pinned": ("shop.pinned", "logged"),
        "outside": ("shop.tasks.outside", None),
    }


def test_beat_from_conf_update_config_dicts_and_canvases(tmp_path: Path) -> None:
    _project(tmp_path, {
        "app/__init__.py": "",
        "app/ext.py": """
            from celery import Celery, chain, group
            from celery.schedules import crontab
            celery = Celery("app")
            celery.conf.update(beat_schedule={"nightly": {"task": "app.tasks.report", "schedule": crontab(hour=1)}})
        """,
        "app/config.py": """
            class Config:
                SECRET_KEY = "x"
                CELERY = {"broker_url": "redis://", "beat_schedule": {"sweep": {"task": "app.tasks.sweep", "schedule": 60}}}
        """,
        "app/tasks.py": """
            from itertools import chain as ichain
            from celery import chain, group
            from app.ext import celery

            @celery.task
            def report(): ...

            @celery.task
            def sweep(): ...

            def run_all():
                chain(report.s(), sweep.si()).delay()
                group([report.s()]).apply_async()
                list(ichain([1], [2]))
                celery.send_task("app.tasks.report")
        """,
    })  # fmt: skip
    project = audit(tmp_path, settings=Settings()).project
    assert [(b.file, b.key, b.task, b.source, b.resolved) for b in project.beat] == [
        ("app/config.py", "sweep", "app.tasks.sweep", "config", "app.tasks.sweep"),
        ("app/ext.py", "nightly", "app.tasks.report", "conf.update", "app.tasks.report"),
    ]
    assert [(c.span.line, c.kind, c.task) for c in project.call_sites] == [
        (13, "chain", None),
        (13, "s", "app.tasks.report"),
        (13, "si", "app.tasks.sweep"),
        (14, "group", None),
        (14, "s", "app.tasks.report"),
        (16, "send_task", "app.tasks.report"),
    ]


def test_src_layout_and_a_scan_started_inside_the_package(tmp_path: Path) -> None:
    _project(tmp_path, {
        "src/shop/__init__.py": "",
        "src/shop/ext.py": EXT,
        "src/shop/tasks.py": "from .ext import celery\n\n@celery.task\ndef ship(): ...\n",
        "src/shop/views.py": "from shop.tasks import ship\n\ndef view():\n    ship.delay()\n",
    })  # fmt: skip
    whole = audit(tmp_path, settings=Settings()).project
    inside = audit(tmp_path / "src" / "shop", settings=Settings()).project
    for project, prefix in ((whole, "src/shop/"), (inside, "")):
        assert [(t.name, t.file) for t in project.tasks] == [
            ("shop.tasks.ship", prefix + "tasks.py")
        ]
        assert [(c.file, c.task) for c in project.call_sites] == [
            (prefix + "views.py", "shop.tasks.ship")
        ]


def test_large_projects_collapse_to_packages(tmp_path: Path) -> None:
    files = {"big/__init__.py": "", "big/ext.py": EXT}
    for package in range(8):
        files[f"big/area{package}/__init__.py"] = ""
        for module in range(6):
            files[f"big/area{package}/tasks{module}.py"] = (
                "from big.ext import celery\n\n@celery.task\ndef job(): ...\n"
            )
    project = audit(_project(tmp_path, files), settings=Settings()).project
    assert len(project.tasks) == 48
    view = diagram(project)
    assert view.collapsed and len(view.nodes) <= MAX_NODES
    assert {n.id: n.members for n in view.nodes} == {
        "big.ext": 1,
        **{f"big.area{p}": 6 for p in range(8)},
    }
    full = diagram(project, scope="full", max_nodes=1000)
    assert not full.collapsed and len(full.nodes) == 58


def test_context_from_signals_custom_bases_and_helpers(tmp_path: Path) -> None:
    _project(tmp_path, {
        "news/__init__.py": "",
        "news/ext.py": """
            from celery import Celery, Task
            from flask_sqlalchemy import SQLAlchemy
            db = SQLAlchemy()

            def make_celery(app):
                class ContextTask(Task):
                    def __call__(self, *args, **kwargs):
                        with app.app_context():
                            return self.run(*args, **kwargs)
                celery = Celery(app.import_name, task_cls=ContextTask)
                return celery

            class OnceTask(Task):
                '''Runs a task at most once at a time; pushes no context.'''
        """,
        "news/worker.py": """
            from flask import Flask
            from news.ext import make_celery
            app = Flask(__name__)
            celery = make_celery(app)
        """,
        "news/helpers.py": """
            from news.ext import db

            def save_task_result(row):
                db.session.add(row)
                db.session.commit()
        """,
        "news/tasks.py": """
            from news.worker import celery
            from news.ext import OnceTask
            from news.helpers import save_task_result

            @celery.task
            def covered(row):
                save_task_result(row)

            @celery.task(base=OnceTask)
            def replaced_base(row):
                save_task_result(row)
        """,
        "svc/other/__init__.py": "",
        "svc/other/app.py": """
            from celery import Celery, shared_task
            from celery.signals import worker_process_init
            from flask import Flask, current_app
            flask_app = Flask(__name__)
            celery = Celery("other")

            @worker_process_init.connect
            def push_context(**kwargs):
                flask_app.app_context().push()

            @shared_task
            def uses_config():
                return current_app.config["X"]
        """,
    })  # fmt: skip
    report = audit(tmp_path, settings=Settings())
    tasks = {t.func: t for t in report.project.tasks}
    assert [e.what for e in tasks["covered"].needs_app_context] == [
        "uses db.session (in save_task_result())"
    ]
    assert [e.what for e in tasks["covered"].context_provided_by] == [
        "app news.worker.celery runs tasks with news.ext.make_celery.ContextTask"
    ]
    assert tasks["replaced_base"].context_provided_by == ()
    assert [e.what for e in tasks["uses_config"].context_provided_by] == [
        "app worker_process_init handler pushes an app context"
    ]
    assert [(f.code, f.file, f.span.line) for f in report.findings if f.code.startswith("CA2")] == [
        ("CA201", "news/tasks.py", 11)
    ]


def test_service_rules_are_judged_per_project(tmp_path: Path) -> None:
    import shutil

    from conftest import FIXTURES

    shutil.copytree(FIXTURES / "ca503_beat_not_started", tmp_path / "a")
    shutil.copytree(FIXTURES / "ca503_near_miss" / "compose_beat", tmp_path / "b")
    report = audit(tmp_path, settings=Settings())
    assert [(f.file, f.code) for f in report.findings if f.code == "CA503"] == [
        ("a/bakery/config.py", "CA503")
    ]


def test_an_explicit_flask_attribute_is_unresolved_not_the_lookup_trap(tmp_path: Path) -> None:
    import shutil

    from conftest import FIXTURES

    shutil.copytree(FIXTURES / "ca505_worker_target_is_flask_app" / "single_module", tmp_path / "p")
    procfile = tmp_path / "p" / "Procfile"
    procfile.write_text(procfile.read_text().replace("-A app ", "-A app:app "))
    codes = {(f.file, f.code) for f in audit(tmp_path, settings=Settings()).findings}
    assert ("p/Procfile", "CA501") in codes and ("p/Procfile", "CA505") not in codes


def test_queues_from_apply_async_and_task_routes(tmp_path: Path) -> None:
    _project(tmp_path, {
        "Procfile": "worker: celery -A shop.ext:celery worker -Q celery,mail\n",
        "shop/__init__.py": "",
        "shop/ext.py": """
            from celery import Celery
            celery = Celery("shop", include=["shop.tasks"])
            celery.conf.update(task_routes={"shop.tasks.report*": {"queue": "reports"},
                                            "shop.tasks.notify": {"queue": "mail"}})
        """,
        "shop/tasks.py": """
            from shop.ext import celery

            @celery.task
            def report_daily(): ...

            @celery.task
            def notify(): ...

            def kick():
                notify.apply_async(queue="urgent")
                notify.apply_async(queue="mail")
        """,
    })  # fmt: skip
    found = [
        (f.file, f.span.line, f.message.split(" is routed")[0])
        for f in audit(tmp_path, settings=Settings()).findings
        if f.code == "CA504"
    ]
    assert found == [
        ("shop/tasks.py", 5, "task `report_daily` (task_routes)"),
        ("shop/tasks.py", 11, "`notify.apply_async(queue=...)`"),
    ]


def test_dispatches_bound_before_they_are_called_and_look_alikes(tmp_path: Path) -> None:
    _project(tmp_path, {
        "shop/__init__.py": "",
        "shop/ext.py": EXT,
        "shop/tasks.py": """
            from shop.ext import celery

            @celery.task
            def send_email(to): ...

            @celery.task
            def export(): ...
        """,
        "shop/limits.py": """
            class RateLimiter:
                def delay(self, seconds): ...

            limiter = RateLimiter()
        """,
        "shop/views.py": """
            import attr
            from itertools import chain
            from shop import tasks
            from shop.tasks import send_email
            from shop.limits import limiter

            def send_now(to): ...

            def notify(cfg, to):
                fn = send_email.delay if cfg.ASYNC else send_now
                fn(to)
                task = tasks.export
                task.apply_async(countdown=5)
                limiter.delay(3)
                attr.s(auto_attribs=True)
                list(chain([1], [2]))
        """,
    })  # fmt: skip
    project = audit(tmp_path, settings=Settings()).project
    assert [(c.file, c.span.line, c.kind, c.task) for c in project.call_sites] == [
        ("shop/views.py", 12, "delay", "shop.tasks.send_email"),
        ("shop/views.py", 14, "apply_async", "shop.tasks.export"),
    ]


def test_two_projects_with_the_same_package_name_are_both_analysed() -> None:
    """services/api/app and services/thumbnails/app: `app.tasks` is the api's module in
    the api and the thumbnails' module there. Neither project's modules are dropped,
    task names are derived from the names their own worker imports, and each worker's
    `-A app.tasks` is its own project's app."""
    from conftest import FIXTURES

    project = audit(FIXTURES / "resolve_monorepo_same_names", settings=Settings()).project
    thumbnails = "services.thumbnails.app.tasks"
    assert {(t.file, t.name, t.app) for t in project.tasks} == {
        ("services/api/app/tasks.py", "app.tasks.send_receipt", "app.tasks.celery"),
        ("services/api/app/tasks.py", "app.tasks.ping", "app.tasks.celery"),
        ("services/thumbnails/app/tasks.py", "app.tasks.resize", f"{thumbnails}.celery"),
        ("services/thumbnails/app/tasks.py", "app.tasks.ping", f"{thumbnails}.celery"),
    }
    assert {(c.file, c.task) for c in project.call_sites} == {
        ("services/api/app/views.py", "app.tasks.send_receipt"),
        ("services/thumbnails/app/jobs.py", f"{thumbnails}.resize"),
    }
    assert {(w.file, w.app, w.problem) for w in project.worker_commands} == {
        ("services/api/Procfile", "app.tasks.celery", None),
        ("services/thumbnails/Procfile", f"{thumbnails}.celery", None),
    }


def test_ca104_says_where_a_script_s_task_name_comes_from(tmp_path: Path) -> None:
    """A task of a module run as a script registers under the app's main (or
    `__main__`), not its module path: CA104 says so, and what breaks it."""
    from conftest import FIXTURES, scan_json

    (main,) = [
        f for f in scan_json(FIXTURES / "resolve_main_module")["findings"] if f["code"] == "CA104"
    ]
    assert (
        "the name `make_thumbnail` gets from its app's main (`thumbnails`) when its module runs as a script"
        in main["message"]
    )
    _project(tmp_path, {
        "worker.py": """
            from celery import Celery

            app = Celery(__name__)

            @app.task
            def resize(path):
                return path

            if __name__ == "__main__":
                app.worker_main(["worker"])
        """,
        "web.py": """
            from worker import app

            def thumbnail(path):
                app.send_task("__main__.resize", args=(path,))
                app.send_task("worker.resize", args=(path,))
        """,
    })  # fmt: skip
    messages = sorted(f["message"] for f in scan_json(tmp_path)["findings"] if f["code"] == "CA104")
    assert len(messages) == 2
    assert (
        "`__main__.resize`, the name `resize` gets from `__main__` when its module runs as a script"
        in messages[0]
    )
    assert "`worker.resize`, a name derived from the module path of `resize`" in messages[1]


def test_task_names_from_constants_and_f_strings() -> None:
    """`name=RENEW_LOAN` is the constant's value; `name=f"{__name__}.holds.expire"`
    is only partly known: `*.holds.expire`, which the dispatch by name matches (no
    CA103), and which is not taken for a derived name (no CA104/CA714)."""
    from conftest import FIXTURES

    project = audit(FIXTURES / "ca103_near_miss", settings=Settings()).project
    names = {t.func: (t.name, t.name_explicit, t.name_pattern) for t in project.tasks}
    assert names["renew_loan"] == ("tasks.loans.renew", True, False)
    assert names["expire_holds"] == ("*.holds.expire", True, True)


def test_a_worker_target_naming_a_known_non_app_is_still_judged(tmp_path: Path) -> None:
    """What a project function returns is not judged (resolve_worker_target_unknown);
    an extension object is known not to be a Celery app: CA501."""
    from conftest import scan_json

    _project(tmp_path, {
        "app.py": """
            from celery import Celery
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            celery = Celery(__name__)
        """,
        "Procfile": "worker: celery -A app.db worker\n",
    })  # fmt: skip
    (found,) = [f for f in scan_json(tmp_path)["findings"] if f["code"] == "CA501"]
    assert "`app.db` names `app.db`, which is not a Celery app" in found["message"]


def test_worker_targets_bound_to_what_a_function_returns() -> None:
    """`app, celery = create_app()`: not knowable, not judged. `celery =
    configure_celery(app)` returning the module-level app it configures: that app."""
    from conftest import FIXTURES

    project = audit(FIXTURES / "resolve_worker_target_unknown", settings=Settings()).project
    assert {(w.app_target, w.app, w.problem) for w in project.worker_commands} == {
        ("run.celery", None, None),
        ("entry.celery", "shop.sockets.celery", None),
    }
