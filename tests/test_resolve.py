"""Module names and name resolution from import tables."""

from __future__ import annotations

import ast
import textwrap

from celery_audit.extract.python.table import build_table
from celery_audit.resolve import Resolver, module_names


def test_module_names_for_flat_package_and_src_layouts() -> None:
    paths = [
        "app.py",
        "src/shop/__init__.py", "src/shop/tasks/__init__.py", "src/shop/tasks/email.py",
        "services/api/app/__init__.py", "services/api/app/views.py", "scripts/seed.py",
    ]  # fmt: skip
    assert module_names(paths) == {
        "app.py": "app",
        "src/shop/__init__.py": "shop",
        "src/shop/tasks/__init__.py": "shop.tasks",
        "src/shop/tasks/email.py": "shop.tasks.email",
        "services/api/app/__init__.py": "app",
        "services/api/app/views.py": "app.views",
        "scripts/seed.py": "seed",
    }


def test_scan_started_inside_a_package_keeps_the_package_prefix() -> None:
    names = module_names(["__init__.py", "tasks.py", "sub/__init__.py", "sub/x.py"], ("shop",))
    assert names == {"__init__.py": "shop", "tasks.py": "shop.tasks", "sub/__init__.py": "shop.sub",
                     "sub/x.py": "shop.sub.x"}  # fmt: skip


def _resolver(sources: dict[str, str], packages: set[str] = frozenset()) -> Resolver:  # type: ignore[assignment]
    return Resolver(
        {m: build_table(ast.parse(textwrap.dedent(s))) for m, s in sources.items()}, set(packages)
    )


def test_resolution_through_relative_imports_aliases_and_reexports() -> None:
    r = _resolver(
        {
            "shop": "",
            "shop.tasks": "from .email import send as send_mail\n",
            "shop.tasks.email": "from ..ext import celery\n@celery.task\ndef send(): ...\n",
            "shop.ext": "from celery import Celery\ncelery = Celery()\n",
            "shop.views": (
                "import shop.tasks as t\nfrom shop import tasks\nfrom celery import shared_task as st\n"
                "def view():\n    from shop.tasks import send_mail as local\n    alias = t.send_mail\n"
            ),
        },
        {"shop", "shop.tasks"},
    )
    send = "shop.tasks.email.send"
    assert r.resolve("shop.views", "t.send_mail").name == send
    assert r.resolve("shop.views", "tasks.send_mail").name == send
    assert r.resolve("shop.views", "st").name == "celery.shared_task"
    assert r.resolve("shop.views", "st").kind == "external"
    from celery_audit.model.facts import Ref

    assert r.resolve("shop.views", Ref("local", "view")).name == send
    assert r.resolve("shop.views", Ref("alias", "view")).name == send
    assert r.resolve("shop.views", "local") is None  # function-local import is not module level
    celery = r.resolve("shop.tasks.email", "celery.task")
    assert (celery.kind, celery.base, celery.member) == ("member", "shop.ext.celery", "task")


def test_import_cycles_in_reexports_terminate() -> None:
    r = _resolver({"a": "from b import x\n", "b": "from a import x\n"})
    assert r.resolve("a", "x") is None or r.resolve("a", "x").kind == "external"


def test_a_global_declaration_makes_the_function_bind_the_module_name() -> None:
    source = textwrap.dedent("""\
        from celery import Celery
        celery = None
        other = None

        def init_celery(app):
            global celery
            if app.testing:
                celery = Celery("test")
            try:
                connect()
            except OSError:
                global other
                other = Celery("fallback")
            local = Celery("mine")

            def inner():
                celery = "inner's own"

            class Settings:
                other = "a class attribute"
    """)
    table = build_table(ast.parse(source))
    scope_at = {b.span.line: b.scope for b in table.bindings if b.kind == "assign"}
    assert scope_at == {
        2: "", 3: "",
        8: "",  # `global celery`, then assigned in an `if`: the module's name
        13: "",  # declared inside an `except` handler: still the module's name
        14: "init_celery",
        17: "init_celery.inner",  # the declaration is not the nested function's
        20: "init_celery.Settings",  # nor the class body's
    }  # fmt: skip
