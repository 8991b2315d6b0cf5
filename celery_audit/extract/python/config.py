"""Gather configuration: config classes and beat schedules wherever they are written.

A beat schedule is read from `x.conf.beat_schedule = {...}`, `x.conf.update(
beat_schedule={...})`, a module- or class-level `beat_schedule` / `CELERYBEAT_SCHEDULE`
/ `CELERY_BEAT_SCHEDULE`, a config mapping holding one of those keys
(`CELERY = {"beat_schedule": {...}}`), and `sender.add_periodic_task(...)` calls.
"""

from __future__ import annotations

import libcst as cst

from celery_audit.celery_names import MODULE_SETTINGS, setting_name
from celery_audit.extract.python.common import (
    Gatherer,
    code,
    dict_items,
    dotted,
    keyword,
    positional,
    string_value,
)
from celery_audit.model.facts import BeatEntryFacts, CelerySetting, Ref

BEAT_KEYS = frozenset({"beat_schedule", "CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"})

VOCABULARY = ("beat_schedule", "BEAT_SCHEDULE", "add_periodic_task", "Config", "CELERY")  # regexes


def _is_setting(name: str) -> bool:
    return name.isupper() and not name.startswith("_")


class ConfigGatherer(Gatherer):
    """Collects config classes (classes whose body sets UPPER_CASE settings) and every
    beat schedule entry."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[BeatEntryFacts] = []
        self.config_classes: list[str] = []
        self.settings: list[CelerySetting] = []
        self._classes: list[tuple[str, int]] = []  # (qualname, settings seen)
        self._mapping_seen: set[int] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        super().visit_ClassDef(node)
        self._classes.append((self.scope, 0))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        qualname, settings = self._classes.pop()
        if settings:
            self.config_classes.append(qualname)
        super().leave_ClassDef(original_node)

    # -- schedules ---------------------------------------------------------------------

    def _schedule(self, value: cst.CSTNode, source: str, container: str) -> None:
        if (isinstance(value, cst.Call) and dotted(value.func) == "dict") or isinstance(
            value, cst.Dict
        ):
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
                        self.span(key_node),
                        source,
                        container,
                        options=options,
                    )
                )

    def _setting(self, name: str, value: cst.CSTNode, where: cst.CSTNode, container: str) -> None:
        key = setting_name(name)
        if key is None:
            return
        text = string_value(value)
        literal = (
            text is not None
            or isinstance(value, (cst.Integer, cst.Float))
            or (isinstance(value, cst.Name) and value.value in ("True", "False", "None"))
        )
        self.settings.append(
            CelerySetting(
                key, text if text is not None else code(value), literal, self.span(where), container
            )
        )

    def _mapping(self, value: cst.CSTNode, container: str) -> None:
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

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assignment(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node.target, node.value)

    def _assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        name = dotted(target)
        if self._classes and self.in_class_body and name and _is_setting(name):
            qualname, settings = self._classes[-1]
            self._classes[-1] = (qualname, settings + 1)
        if name is None:
            # `app.config["CELERY"] = {...}` / `celery.conf["beat_schedule"] = {...}`
            if isinstance(target, cst.Subscript) and len(target.slice) == 1:
                element = target.slice[0].slice
                key = string_value(element.value) if isinstance(element, cst.Index) else None
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
        if "." in name and name.endswith("conf.beat_schedule"):
            self._schedule(value, "conf.beat_schedule", name.rsplit(".", 2)[0])
        elif "." not in name and last in BEAT_KEYS and not self.in_function:
            self._schedule(value, "config", self.scope or "<module>")
        elif "." not in name and not self.in_function and _is_setting(name):
            container = ".".join(filter(None, (self.scope, name)))
            self._setting(name, value, target, self.scope or "<module>")
            self._mapping(value, container)
        elif (
            "." not in name and not self.in_function and not self.scope and name in MODULE_SETTINGS
        ):
            self._setting(name, value, target, "<module>")
        elif (
            name.count(".") >= 1
            and ".conf." in f".{name}"
            and not name.endswith("conf.beat_schedule")
        ):
            holder, _, attr = name.rpartition(".")
            self._setting(attr, value, target, holder)

    def visit_Call(self, node: cst.Call) -> None:
        callee = dotted(node.func) or ""
        if callee.endswith(("conf.update", "config.update", "config.from_mapping")):
            beat = keyword(node, "beat_schedule")
            holder = callee.rsplit(".", 1)[0]
            if beat is not None:
                self._schedule(beat, "conf.update", holder)
            for arg in node.args:
                if arg.keyword is None or arg.keyword.value == "beat_schedule":
                    continue
                if arg.keyword.value == "CELERY":
                    self._mapping(arg.value, f"{holder}.CELERY")
                elif holder.endswith("conf") or arg.keyword.value.startswith("CELERY"):
                    self._setting(arg.keyword.value, arg.value, arg.keyword, holder)
            for value in positional(node):
                if id(value) not in self._mapping_seen:
                    self._mapping(value, holder)
        elif callee.endswith(".add_periodic_task"):
            args = positional(node)
            signature = keyword(node, "sig") or (args[1] if len(args) > 1 else None)
            schedule = keyword(node, "schedule") or (args[0] if args else None)
            name = string_value(keyword(node, "name"))
            task_ref = None
            if isinstance(signature, cst.Call) and isinstance(signature.func, cst.Attribute):
                receiver = dotted(signature.func.value)
                if receiver is not None:
                    task_ref = Ref(receiver, self.scope)
            by_name = None
            if isinstance(signature, cst.Call) and dotted(signature.func) in (
                "signature",
                "celery.signature",
            ):
                sig_args = positional(signature)
                by_name = string_value(sig_args[0]) if sig_args else None
            self.entries.append(
                BeatEntryFacts(
                    key=name or (code(signature) if signature is not None else ""),
                    task=by_name,
                    schedule=code(schedule) if schedule is not None else "",
                    span=self.span(node),
                    source="add_periodic_task",
                    container=self.scope,
                    task_ref=task_ref,
                    options=_periodic_options(node, signature),
                )
            )


# add_periodic_task(schedule, sig, args, kwargs, name, **options)
_PERIODIC_PARAMETERS = frozenset({"schedule", "sig", "args", "kwargs", "name"})


def _periodic_options(call: cst.Call, signature: cst.BaseExpression | None) -> str:
    """The options of an `add_periodic_task` entry as a `dict(...)` text: its extra
    keywords and those of `sig.set(...)` (`**options` stays in, so it reads as unknown)."""
    args = [
        a for a in call.args if a.keyword is None or a.keyword.value not in _PERIODIC_PARAMETERS
    ]
    args = [a for a in args if a.keyword is not None or a.star == "**"]
    if (
        isinstance(signature, cst.Call)
        and isinstance(signature.func, cst.Attribute)
        and signature.func.attr.value == "set"
    ):
        args += [a for a in signature.args if a.keyword is not None or a.star == "**"]
    if not args:
        return ""
    return "dict(" + ", ".join(code(a).rstrip(",").strip() for a in args) + ")"


def _plain_mapping(node: cst.CSTNode) -> bool:
    """A dict literal or `dict(...)` call that spreads no other mapping into itself."""
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) for e in node.elements)
    if isinstance(node, cst.Call) and dotted(node.func) == "dict":
        return all(a.keyword is not None for a in node.args)
    return False
