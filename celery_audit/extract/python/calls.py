"""Gather task dispatches, task-status reads (AsyncResult) and update_state calls.

Also follows, within one function body, where a dispatch's result id goes: into a
variable, a dict, and finally a `return` (the id then reaches the HTTP client).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import libcst as cst

from celery_audit.extract.python.common import (
    Gatherer,
    code,
    dict_items,
    dotted,
    keyword,
    positional,
    string_value,
    walk,
)
from celery_audit.model.facts import Dispatch, DispatchArg, Ref, StateSet, StatusRead

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


def _bound_dispatch(value: cst.BaseExpression) -> tuple[str, str] | None:
    """(receiver, method) for `send.delay`, or either branch of
    `send.delay if cfg.ASYNC else send_now` (a dispatch method not yet called)."""
    if isinstance(value, cst.IfExp):
        return _bound_dispatch(value.body) or _bound_dispatch(value.orelse)
    if isinstance(value, cst.Attribute) and value.attr.value in ("delay", "apply_async"):
        receiver = dotted(value.value)
        if receiver is not None:
            return receiver, value.attr.value
    return None


def call_chain(node: cst.BaseExpression) -> str | None:
    """`User.query.filter_by().first()` for a chain of attributes and calls on a name."""
    parts: list[str] = []
    while True:
        if isinstance(node, cst.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, cst.Attribute):
            parts.append("." + node.attr.value)
            node = node.value
        elif isinstance(node, cst.Name):
            parts.append(node.value)
            return "".join(reversed(parts)) if "()" in parts else None
        else:
            return None


def _returned_keys(value: cst.BaseExpression, body: _Body) -> set[str]:
    """Keys of the JSON object a return value builds: `{...}`, `jsonify(k=..)`,
    `jsonify({...})`, `dict(k=..)`, `(payload, 202)` or a variable holding a dict."""
    if isinstance(value, cst.Tuple) and value.elements:
        return _returned_keys(value.elements[0].value, body)
    if isinstance(value, cst.Dict):
        return {k for k, _, _ in dict_items(value)}
    if isinstance(value, cst.Call):
        callee = dotted(value.func) or ""
        if callee.rsplit(".", 1)[-1] in ("jsonify", "dict", "make_response", "Response"):
            keys = {arg.keyword.value for arg in value.args if arg.keyword is not None}
            for arg in positional(value):
                keys |= _returned_keys(arg, body)
            return keys
    if isinstance(value, cst.Name):
        return set(body.dict_keys.get(value.value, ()))
    return set()


class DispatchGatherer(Gatherer):
    """Collects dispatches (`x.delay()`, `send_task("n")`, `chain(...)`), AsyncResult
    reads with the keys the enclosing function returns, and update_state states."""

    def __init__(self) -> None:
        super().__init__()
        self.dispatches: list[Dispatch] = []
        self.status_reads: list[StatusRead] = []
        self.states: list[StateSet] = []
        self._by_node: dict[int, int] = {}
        self._bodies: list[_Body] = []

    @property
    def _body(self) -> _Body | None:
        return self._bodies[-1] if self._bodies else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._bodies.append(_Body())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        body = self._bodies.pop()
        for index in body.status_reads:
            read = self.status_reads[index]
            self.status_reads[index] = dataclasses.replace(
                read, returns=tuple(sorted(body.returned_keys))
            )
        super().leave_FunctionDef(original_node)

    # -- dispatches --------------------------------------------------------------------

    def _add(self, node: cst.Call, dispatch: Dispatch) -> None:
        self._by_node[id(node)] = len(self.dispatches)
        self.dispatches.append(dispatch)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        args = positional(node)
        first_string = string_value(args[0]) if args else None
        body = self._body
        if isinstance(func, cst.Name) and body is not None and func.value in body.bound:
            bound_to, method = body.bound[func.value]
            self._add(node, Dispatch(method, self.span(node), self.scope,
                                     receiver=Ref(bound_to, self.scope),
                                     args=self._args(node, method)))  # fmt: skip
            return
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "update_state":
                self._state(node)
                return
            if method == "AsyncResult":
                self._status_read(node)
                return
            if method == "send_task":
                self._add(node, Dispatch("send_task", self.span(node), self.scope,
                                         receiver=self._ref(func.value), task_name=first_string,
                                         callee=dotted(func)))  # fmt: skip
                return
            if method not in TASK_METHODS:
                return
            if method == "signature" and first_string is not None:
                self._add(node, Dispatch("signature", self.span(node), self.scope,
                                         receiver=self._ref(func.value), task_name=first_string,
                                         callee=dotted(func)))  # fmt: skip
                return
            task_name = self._tasks_subscript(func.value)
            receiver = self._ref(func.value)
            if receiver is None and task_name is None:
                return
            self._add(node, Dispatch(method, self.span(node), self.scope,
                                     receiver=receiver, task_name=task_name,
                                     args=self._args(node, method),
                                     queue=string_value(keyword(node, "queue"))))  # fmt: skip
            return
        callee = dotted(func)
        if callee is None:
            return
        last = callee.rsplit(".", 1)[-1]
        if last == "AsyncResult":
            self._status_read(node)
        elif last in CANVAS_FUNCTIONS:
            kind = "signature" if last == "subtask" else last
            self._add(node, Dispatch(kind, self.span(node), self.scope,
                                     task_name=first_string if kind in ("signature", "send_task") else None,
                                     callee=callee))  # fmt: skip

    def _args(self, call: cst.Call, method: str) -> tuple[DispatchArg, ...]:
        """The values sent to the task: positional and keyword arguments of `delay`,
        the `args=[...]` / `kwargs={...}` of `apply_async`."""
        if method == "delay":
            values = [arg.value for arg in call.args if not arg.star]
        elif method == "apply_async":
            values = []
            for option in ("args", "kwargs"):
                given = keyword(call, option)
                if given is None and option == "args" and positional(call):
                    given = positional(call)[0]
                if isinstance(given, (cst.List, cst.Tuple)):
                    values += [e.value for e in given.elements]
                elif isinstance(given, cst.Dict):
                    values += [e.value for e in given.elements if isinstance(e, cst.DictElement)]
        else:
            return ()
        body = self._body
        found = []
        for value in values:
            name = dotted(value)
            origin = body.origins.get(name) if body is not None and name else None
            found.append(DispatchArg(code(value), name, origin or call_chain(value)))
        return tuple(found)

    def _ref(self, node: cst.BaseExpression) -> Ref | None:
        name = dotted(node)
        return Ref(name, self.scope) if name is not None else None

    @staticmethod
    def _tasks_subscript(node: cst.BaseExpression) -> str | None:
        """The name in `app.tasks["name"]`."""
        if (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "tasks"
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ):
            return string_value(node.slice[0].slice.value)
        return None

    def _state(self, node: cst.Call) -> None:
        value = keyword(node, "state")
        if value is None:
            args = positional(node)
            value = args[1] if len(args) > 1 else None
        state = string_value(value)
        if state is not None:
            self.states.append(StateSet(self.scope, state, self.span(node)))

    def _status_read(self, node: cst.Call) -> None:
        body = self._body
        receiver = None
        if isinstance(node.func, cst.Attribute):
            receiver = self._ref(node.func.value)
        self.status_reads.append(StatusRead(self.scope, self.span(node), receiver=receiver))
        if body is not None:
            body.status_reads.append(len(self.status_reads) - 1)

    # -- following result ids ----------------------------------------------------------

    def _id_sources(self, expr: cst.CSTNode, body: _Body) -> set[int]:
        """Dispatch indices whose result id `expr` carries."""
        found: set[int] = set()
        for node in walk(expr):
            if isinstance(node, cst.Attribute) and node.attr.value in ID_ATTRIBUTES:
                inner = node.value
                if isinstance(inner, cst.Name) and inner.value in body.results:
                    found.add(body.results[inner.value])
                elif id(inner) in self._by_node:
                    found.add(self._by_node[id(inner)])
            elif isinstance(node, cst.Name) and node.value in body.carriers:
                found |= body.carriers[node.value]
            elif (
                isinstance(node, cst.Call)
                and dotted(node.func) == "str"
                and node.args
                and isinstance(node.args[0].value, cst.Name)
                and node.args[0].value.value in body.results
            ):
                found.add(body.results[node.args[0].value.value])
        return found

    def leave_Assign(self, original_node: cst.Assign) -> None:
        body = self._body
        if body is None:
            return
        value = original_node.value
        names = [t.target.value for t in original_node.targets if isinstance(t.target, cst.Name)]
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
        for target in original_node.targets:
            sub = target.target
            if isinstance(sub, cst.Subscript) and isinstance(sub.value, cst.Name):
                holder = sub.value.value
                if carried:
                    body.carriers.setdefault(holder, set()).update(carried)
                element = sub.slice[0].slice if len(sub.slice) == 1 else None
                if isinstance(element, cst.Index):
                    key = string_value(element.value)
                    if key is not None:
                        body.dict_keys.setdefault(holder, set()).add(key)

    def leave_Return(self, original_node: cst.Return) -> None:
        body = self._body
        if body is None or original_node.value is None:
            return
        for index in self._id_sources(original_node.value, body):
            self.dispatches[index] = dataclasses.replace(self.dispatches[index], id_returned=True)
        body.returned_keys |= _returned_keys(original_node.value, body)
