"""Gather configuration: config classes and beat schedules wherever they are written.

A beat schedule is read from `x.conf.beat_schedule = {...}`, `x.conf.update(
beat_schedule={...})`, a module- or class-level `beat_schedule` / `CELERYBEAT_SCHEDULE`
/ `CELERY_BEAT_SCHEDULE`, a config mapping holding one of those keys
(`CELERY = {"beat_schedule": {...}}`), and `sender.add_periodic_task(...)` calls.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from celery_audit.celery_names import MODULE_SETTINGS, setting_name
from celery_audit.extract.python.source import (
    dict_items,
    dotted,
    keyword,
    positional,
    string_value,
)
from celery_audit.model.facts import BeatEntryFacts, CelerySetting, Ref, Span

if TYPE_CHECKING:
    from celery_audit.extract.python.deep import Walker

BEAT_KEYS = frozenset({"beat_schedule", "CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"})

VOCABULARY = ("beat_schedule", "BEAT_SCHEDULE", "add_periodic_task", "Config", "CELERY")  # regexes


def _is_setting(name: str) -> bool:
    return name.isupper() and not name.startswith("_")


class ConfigGatherer:
    """Collects config classes (classes whose body sets UPPER_CASE settings) and every
    beat schedule entry."""

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.source = walker.source
        self.entries: list[BeatEntryFacts] = []
        self.config_classes: list[str] = []
        self.settings: list[CelerySetting] = []
        self._classes: list[tuple[str, int]] = []  # (qualname, settings seen)
        self._mapping_seen: set[int] = set()

    def enter_class(self) -> None:
        self._classes.append((self.walker.scope, 0))

    def leave_class(self) -> None:
        qualname, settings = self._classes.pop()
        if settings:
            self.config_classes.append(qualname)

    def _span(self, node: ast.AST) -> Span:
        if type(node) is ast.keyword:
            return self.source.name_span(node)  # type: ignore[arg-type]
        return self.source.span(node)

    # -- schedules ---------------------------------------------------------------------

    def _schedule(self, value: ast.AST, source: str, container: str) -> None:
        if (type(value) is ast.Call and dotted(value.func) == "dict") or type(  # type: ignore[attr-defined]
            value
        ) is ast.Dict:
            code = self.source.code
            self._mapping_seen.add(id(value))
            for key, entry, key_node in dict_items(value):
                task = schedule = None
                options = ""
                for field, item, _ in dict_items(entry):
                    if field == "task":
                        task = string_value(item)
                    elif field == "schedule":
                        schedule = code(item)
                    elif field == "options":
                        options = code(item)
                if not options and not _plain_mapping(entry):
                    options = code(entry)  # built elsewhere or spread: its options unknown
                self.entries.append(
                    BeatEntryFacts(
                        key,
                        task,
                        schedule or "",
                        self._span(key_node),
                        source,
                        container,
                        options=options,
                    )
                )

    def _setting(self, name: str, value: ast.expr, where: ast.AST, container: str) -> None:
        key = setting_name(name)
        if key is None:
            return
        written = self.source.keyword_of(key, value)
        self.settings.append(
            CelerySetting(key, written.value, written.literal, self._span(where), container)
        )

    def _mapping(self, value: ast.AST, container: str) -> None:
        """A config mapping (`CELERY = {...}`, `app.config["CELERY"] = dict(...)`,
        `conf.update({...})`): its Celery settings and beat schedule."""
        celery = container.endswith(("CELERY", "['CELERY']", "conf"))
        for key, item, key_node in dict_items(value):
            if key in BEAT_KEYS:
                self._schedule(item, "config", container)
            elif celery or key.startswith(("CELERY_", "CELERYD_", "CELERYBEAT_")):
                self._setting(key, item, key_node, container)
            elif key == "CELERY":
                self._mapping(item, f"{container}.CELERY")

    def assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assignment(target, node.value)

    def ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node.target, node.value)

    def _assignment(self, target: ast.expr, value: ast.expr) -> None:
        walker = self.walker
        name = dotted(target)
        if self._classes and walker.in_class_body and name and _is_setting(name):
            qualname, settings = self._classes[-1]
            self._classes[-1] = (qualname, settings + 1)
        if name is None:
            # `app.config["CELERY"] = {...}` / `celery.conf["beat_schedule"] = {...}`
            if type(target) is ast.Subscript:
                key = string_value(target.slice)
                holder = dotted(target.value) or ""
                if key in BEAT_KEYS:
                    self._schedule(value, "conf.beat_schedule", holder)
                elif key is not None:
                    self._mapping(value, f"{holder}[{key!r}]")
                    # `celery.conf["task_serializer"] = ...`, `app.config["CELERY_..."] = ...`
                    on_conf = holder == "conf" or holder.endswith(".conf")
                    if on_conf or (holder.endswith("config") and _is_setting(key)):
                        self._setting(key, value, target, holder)
            return
        last = name.rsplit(".", 1)[-1]
        scope = walker.scope
        in_function = walker.in_function
        if "." in name and name.endswith("conf.beat_schedule"):
            self._schedule(value, "conf.beat_schedule", name.rsplit(".", 2)[0])
        elif "." not in name and last in BEAT_KEYS and not in_function:
            self._schedule(value, "config", scope or "<module>")
        elif "." not in name and not in_function and _is_setting(name):
            container = ".".join(filter(None, (scope, name)))
            self._setting(name, value, target, scope or "<module>")
            self._mapping(value, container)
        elif "." not in name and not in_function and not scope and name in MODULE_SETTINGS:
            self._setting(name, value, target, "<module>")
        elif (
            name.count(".") >= 1
            and ".conf." in f".{name}"
            and not name.endswith("conf.beat_schedule")
        ):
            holder, _, attr = name.rpartition(".")
            self._setting(attr, value, target, holder)

    def call(self, node: ast.Call) -> None:
        callee = dotted(node.func)
        if callee is None:
            return
        if callee.endswith(("conf.update", "config.update", "config.from_mapping")):
            beat = keyword(node, "beat_schedule")
            holder = callee.rsplit(".", 1)[0]
            if beat is not None:
                self._schedule(beat, "conf.update", holder)
            for arg in node.keywords:
                if arg.arg is None or arg.arg == "beat_schedule":
                    continue
                if arg.arg == "CELERY":
                    self._mapping(arg.value, f"{holder}.CELERY")
                elif holder.endswith("conf") or arg.arg.startswith("CELERY"):
                    self._setting(arg.arg, arg.value, arg, holder)
            for value in positional(node):
                if id(value) not in self._mapping_seen:
                    self._mapping(value, holder)
        elif callee.endswith(".add_periodic_task"):
            self._periodic(node)

    def _periodic(self, node: ast.Call) -> None:
        code = self.source.code
        scope = self.walker.scope
        args = positional(node)
        signature = keyword(node, "sig") or (args[1] if len(args) > 1 else None)
        schedule = keyword(node, "schedule") or (args[0] if args else None)
        name = string_value(keyword(node, "name"))
        task_ref = None
        if type(signature) is ast.Call and type(signature.func) is ast.Attribute:
            receiver = dotted(signature.func.value)
            if receiver is not None:
                task_ref = Ref(receiver, scope)
        by_name = None
        if type(signature) is ast.Call and dotted(signature.func) in (
            "signature",
            "celery.signature",
        ):
            sig_args = positional(signature)
            by_name = string_value(sig_args[0]) if sig_args else None
        self.entries.append(
            BeatEntryFacts(
                key=name
                or (code(signature, _sole(node, signature)) if signature is not None else ""),
                task=by_name,
                schedule=code(schedule, _sole(node, schedule)) if schedule is not None else "",
                span=self.source.span(node),
                source="add_periodic_task",
                container=scope,
                task_ref=task_ref,
                options=self._periodic_options(node, signature),
            )
        )

    def _periodic_options(self, call: ast.Call, signature: ast.expr | None) -> str:
        """The options of an `add_periodic_task` entry as a `dict(...)` text: its extra
        keywords and those of `sig.set(...)` (`**options` stays in, so it reads as
        unknown)."""
        args = [a for a in call.keywords if a.arg not in _PERIODIC_PARAMETERS]
        if (
            type(signature) is ast.Call
            and type(signature.func) is ast.Attribute
            and signature.func.attr == "set"
        ):
            args += signature.keywords
        if not args:
            return ""
        code = self.source.code
        return "dict(" + ", ".join(code(a) for a in args) + ")"


def _sole(call: ast.Call, node: ast.AST | None) -> bool:
    return not call.keywords and len(call.args) == 1 and call.args[0] is node


# add_periodic_task(schedule, sig, args, kwargs, name, **options)
_PERIODIC_PARAMETERS = frozenset({"schedule", "sig", "args", "kwargs", "name"})


def _plain_mapping(node: ast.AST) -> bool:
    """A dict literal or `dict(...)` call that spreads no other mapping into itself."""
    if type(node) is ast.Dict:
        return all(k is not None for k in node.keys)
    if type(node) is ast.Call and dotted(node.func) == "dict":
        return not node.args and all(k.arg is not None for k in node.keywords)
    return False
