"""Gather task dispatches, task-status reads (AsyncResult) and update_state calls.

Also follows, within one function body, where a dispatch's result id goes: into a
variable, a dict, and finally a `return` (the id then reaches the HTTP client).
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from celery_audit.extract.python.source import (
    dict_items,
    dotted,
    is_sole_argument,
    keyword,
    name_of,
    positional,
    source_args,
    string_value,
    unstarred,
)
from celery_audit.model.facts import Dispatch, DispatchArg, Ref, StateSet, StatusRead

if TYPE_CHECKING:
    from celery_audit.extract.python.deep import Walker

# Methods that send (delay, apply_async) or describe (s, si, signature, map, ...) a
# task invocation when called on a task.
TASK_METHODS = frozenset(
    {"delay", "apply_async", "s", "si", "signature", "map", "starmap", "chunks"}
)
# Functions that build canvases or send by name; linking checks they are Celery's.
CANVAS_FUNCTIONS = frozenset({"chain", "group", "chord", "signature", "subtask", "send_task"})
ID_ATTRIBUTES = frozenset({"id", "task_id"})

# Regular expressions. Canvas functions (chain, group, chord) come from `celery`, a
# word the apps gatherer's vocabulary already admits.
VOCABULARY = (
    r"\.delay\(", "apply_async", "send_task", r"\.s\(", r"\.si\(", r"signature\(",
    "AsyncResult", "update_state", r"\.(?:map|starmap|chunks)\(",
)  # fmt: skip


@dataclass
class _Body:
    """Per-function state for following result ids."""

    results: dict[str, int] = field(default_factory=dict)  # var -> dispatch index
    carriers: dict[str, set[int]] = field(default_factory=dict)  # var holding an id
    dict_keys: dict[str, set[str]] = field(default_factory=dict)  # var -> dict keys
    returned_keys: set[str] = field(default_factory=set)
    status_reads: list[int] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # var -> call chain assigned
    bound: dict[str, tuple[str, str]] = field(default_factory=dict)  # var -> (receiver, method)
    dispatched: bool = False  # a dispatch was met in this body (its lambdas included)


def _bound_dispatch(value: ast.expr) -> tuple[str, str] | None:
    """(receiver, method) for `send.delay`, or either branch of
    `send.delay if cfg.ASYNC else send_now` (a dispatch method not yet called)."""
    if type(value) is ast.IfExp:
        return _bound_dispatch(value.body) or _bound_dispatch(value.orelse)
    if type(value) is ast.Attribute and value.attr in ("delay", "apply_async"):
        receiver = dotted(value.value)
        if receiver is not None:
            return receiver, value.attr
    return None


def call_chain(node: ast.AST) -> str | None:
    """`User.query.filter_by().first()` for a chain of attributes and calls on a name."""
    parts: list[str] = []
    while True:
        kind = type(node)
        if kind is ast.Call:
            parts.append("()")
            node = node.func  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            parts.append("." + node.attr)  # type: ignore[attr-defined]
            node = node.value  # type: ignore[attr-defined]
        else:
            name = name_of(node)
            if name is None:
                return None
            parts.append(name)
            return "".join(reversed(parts)) if "()" in parts else None


def _returned_keys(value: ast.expr, body: _Body) -> set[str]:
    """Keys of the JSON object a return value builds: `{...}`, `jsonify(k=..)`,
    `jsonify({...})`, `dict(k=..)`, `(payload, 202)` or a variable holding a dict."""
    if type(value) is ast.Tuple and value.elts:
        return _returned_keys(unstarred(value.elts[0]), body)
    if type(value) is ast.Dict:
        return {k for k, _, _ in dict_items(value)}
    if type(value) is ast.Call:
        callee = dotted(value.func) or ""
        if callee.rsplit(".", 1)[-1] in ("jsonify", "dict", "make_response", "Response"):
            keys = {k.arg for k in value.keywords if k.arg is not None}
            for arg in positional(value):
                keys |= _returned_keys(arg, body)
            return keys
    name = name_of(value)
    if name is not None:
        return set(body.dict_keys.get(name, ()))
    return set()


def _tasks_subscript(node: ast.expr) -> str | None:
    """The name in `app.tasks["name"]`."""
    if (
        type(node) is ast.Subscript
        and type(node.value) is ast.Attribute
        and node.value.attr == "tasks"
    ):
        return string_value(node.slice)
    return None


class DispatchGatherer:
    """Collects dispatches (`x.delay()`, `send_task("n")`, `chain(...)`), AsyncResult
    reads with the keys the enclosing function returns, and update_state states."""

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.source = walker.source
        self.dispatches: list[Dispatch] = []
        self.status_reads: list[StatusRead] = []
        self.states: list[StateSet] = []
        self._by_node: dict[int, int] = {}
        self._bodies: list[_Body] = []

    @property
    def _body(self) -> _Body | None:
        return self._bodies[-1] if self._bodies else None

    def enter_function(self) -> None:
        self._bodies.append(_Body())

    def leave_function(self) -> None:
        body = self._bodies.pop()
        for index in body.status_reads:
            read = self.status_reads[index]
            self.status_reads[index] = dataclasses.replace(
                read, returns=tuple(sorted(body.returned_keys))
            )

    # -- dispatches --------------------------------------------------------------------

    def _add(self, node: ast.Call, dispatch: Dispatch) -> None:
        self._by_node[id(node)] = len(self.dispatches)
        self.dispatches.append(dispatch)
        if self._bodies:
            self._bodies[-1].dispatched = True

    def call(self, node: ast.Call) -> None:
        func = node.func
        kind = type(func)
        if kind is not ast.Attribute and kind is not ast.Name:
            return
        args = positional(node)
        first_string = string_value(args[0]) if args else None
        body = self._body
        scope = self.walker.scope
        if kind is ast.Name and body is not None and func.id in body.bound:  # type: ignore[attr-defined]
            bound_to, method = body.bound[func.id]  # type: ignore[attr-defined]
            self._add(node, Dispatch(method, self.source.span(node), scope,
                                     receiver=Ref(bound_to, scope),
                                     args=self._args(node, method)))  # fmt: skip
            return
        if kind is ast.Attribute:
            method = func.attr  # type: ignore[attr-defined]
            if method == "update_state":
                self._state(node)
                return
            if method == "AsyncResult":
                self._status_read(node)
                return
            if method == "send_task":
                self._add(node, Dispatch("send_task", self.source.span(node), scope,
                                         receiver=self._ref(func.value), task_name=first_string,  # type: ignore[attr-defined]
                                         callee=dotted(func)))  # fmt: skip
                return
            if method not in TASK_METHODS:
                return
            if method == "signature" and first_string is not None:
                self._add(node, Dispatch("signature", self.source.span(node), scope,
                                         receiver=self._ref(func.value), task_name=first_string,  # type: ignore[attr-defined]
                                         callee=dotted(func)))  # fmt: skip
                return
            task_name = _tasks_subscript(func.value)  # type: ignore[attr-defined]
            receiver = self._ref(func.value)  # type: ignore[attr-defined]
            if receiver is None and task_name is None:
                return
            self._add(node, Dispatch(method, self.source.span(node), scope,
                                     receiver=receiver, task_name=task_name,
                                     args=self._args(node, method),
                                     queue=string_value(keyword(node, "queue"))))  # fmt: skip
            return
        callee = func.id  # type: ignore[attr-defined]
        if callee == "AsyncResult":
            self._status_read(node)
        elif callee in CANVAS_FUNCTIONS:
            kind_ = "signature" if callee == "subtask" else callee
            self._add(node, Dispatch(kind_, self.source.span(node), scope,
                                     task_name=first_string if kind_ in ("signature", "send_task") else None,
                                     callee=callee))  # fmt: skip

    def _args(self, call: ast.Call, method: str) -> tuple[DispatchArg, ...]:
        """The values sent to the task: positional and keyword arguments of `delay`,
        the `args=[...]` / `kwargs={...}` of `apply_async`."""
        values: list[tuple[ast.expr, bool]] = []
        if method == "delay":
            for arg in source_args(call):
                if type(arg) is ast.keyword:
                    if arg.arg is not None:  # type: ignore[union-attr]
                        values.append((arg.value, False))
                elif type(arg) is not ast.Starred:
                    values.append((arg, is_sole_argument(call, arg)))  # type: ignore[arg-type]
        elif method == "apply_async":
            for option in ("args", "kwargs"):
                given = keyword(call, option)
                if given is None and option == "args" and positional(call):
                    given = positional(call)[0]
                if type(given) in (ast.List, ast.Tuple):
                    values += [(unstarred(e), False) for e in given.elts]  # type: ignore[union-attr]
                elif type(given) is ast.Dict:
                    values += [
                        (v, False)
                        for k, v in zip(given.keys, given.values, strict=True)
                        if k is not None
                    ]  # type: ignore[union-attr]
        else:
            return ()
        body = self._body
        found = []
        for value, sole in values:
            name = dotted(value)
            origin = body.origins.get(name) if body is not None and name else None
            found.append(
                DispatchArg(self.source.code(value, sole), name, origin or call_chain(value))
            )
        return tuple(found)

    def _ref(self, node: ast.expr) -> Ref | None:
        name = dotted(node)
        return Ref(name, self.walker.scope) if name is not None else None

    def _state(self, node: ast.Call) -> None:
        value = keyword(node, "state")
        if value is None:
            args = positional(node)
            value = args[1] if len(args) > 1 else None
        state = string_value(value)
        if state is not None:
            self.states.append(StateSet(self.walker.scope, state, self.source.span(node)))

    def _status_read(self, node: ast.Call) -> None:
        body = self._body
        receiver = None
        if type(node.func) is ast.Attribute:
            receiver = self._ref(node.func.value)
        self.status_reads.append(
            StatusRead(self.walker.scope, self.source.span(node), receiver=receiver)
        )
        if body is not None:
            body.status_reads.append(len(self.status_reads) - 1)

    # -- following result ids ----------------------------------------------------------

    def _id_sources(self, expr: ast.AST, body: _Body) -> set[int]:
        """Dispatch indices whose result id `expr` carries."""
        found: set[int] = set()
        if not (body.results or body.carriers or body.dispatched):
            # Nothing to carry yet: no need to walk the expression. (A dispatch inside
            # it was met in this body, before the expression is looked at.)
            return found
        carriers = body.carriers
        for node in ast.walk(expr):
            kind = type(node)
            if kind is ast.Attribute:
                if node.attr in ID_ATTRIBUTES:  # type: ignore[attr-defined]
                    inner = node.value  # type: ignore[attr-defined]
                    name = name_of(inner)
                    if name is not None and name in body.results:
                        found.add(body.results[name])
                    elif id(inner) in self._by_node:
                        found.add(self._by_node[id(inner)])
                if node.attr in carriers:  # type: ignore[attr-defined]
                    found |= carriers[node.attr]  # type: ignore[attr-defined]
            elif kind is ast.Name or kind is ast.Constant:
                name = name_of(node)
                if name is not None and name in carriers:
                    found |= carriers[name]
            elif kind is ast.keyword or kind is ast.arg:
                if node.arg in carriers:  # type: ignore[attr-defined]
                    found |= carriers[node.arg]  # type: ignore[attr-defined]
            elif kind is ast.Call and dotted(node.func) == "str":  # type: ignore[attr-defined]
                ordered = source_args(node)  # type: ignore[arg-type]
                if ordered:
                    first = ordered[0]
                    inner = first.value if type(first) in (ast.keyword, ast.Starred) else first  # type: ignore[union-attr]
                    name = name_of(inner)
                    if name is not None and name in body.results:
                        found.add(body.results[name])
        return found

    def assign(self, node: ast.Assign) -> None:
        body = self._body
        if body is None:
            return
        value = node.value
        names = [n for n in (name_of(t) for t in node.targets) if n is not None]
        index = self._by_node.get(id(value))
        carried = self._id_sources(value, body)
        chain = call_chain(value)
        keys = {k for k, _, _ in dict_items(value)}
        bound = _bound_dispatch(value)
        for name in names:
            if bound is not None:
                body.bound[name] = bound
            else:
                body.bound.pop(name, None)
            if chain is not None:
                body.origins[name] = chain
            else:
                body.origins.pop(name, None)
            if index is not None:
                body.results[name] = index
            if carried:
                body.carriers[name] = carried
            if keys:  # a dict built in several branches: any of its keys may be returned
                body.dict_keys.setdefault(name, set()).update(keys)
        # `payload["task_id"] = result.id`
        for target in node.targets:
            if type(target) is ast.Subscript and type(target.value) is ast.Name:
                holder = target.value.id
                if carried:
                    body.carriers.setdefault(holder, set()).update(carried)
                key = string_value(target.slice)
                if key is not None:
                    body.dict_keys.setdefault(holder, set()).add(key)

    def return_(self, value: ast.expr) -> None:
        body = self._body
        if body is None:
            return
        for index in self._id_sources(value, body):
            self.dispatches[index] = dataclasses.replace(self.dispatches[index], id_returned=True)
        body.returned_keys |= _returned_keys(value, body)
