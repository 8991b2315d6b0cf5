"""Spans and texts of the deep pass, where `ast` and the facts differ: character columns
(ast counts UTF-8 bytes), parentheses (ast leaves an expression's own out of its range,
the facts' texts keep them), decorators (from the `@`), def names, and a trailing
semicolon (ast takes it into a def's range)."""

from __future__ import annotations

from celery_audit.extract.python import extract_python
from celery_audit.model.facts import Span


def _facts(source: str):  # type: ignore[no-untyped-def]
    facts = extract_python(source.encode())
    assert facts.deep
    return facts


def test_columns_count_characters_not_bytes() -> None:
    facts = _facts('from tasks import send\ndef f():\n    x = "é"; send.delay("ü")\n')
    (dispatch,) = facts.dispatches
    assert dispatch.span == Span(3, 14, 3, 29)
    assert [a.text for a in dispatch.args] == ['"ü"']


def test_texts_keep_their_own_parentheses_not_the_calls() -> None:
    facts = _facts(
        "from tasks import send\n"
        "def f(user):\n"
        "    send.delay((user.id), ( # why\n"
        "        user.name\n"
        "    ))\n"
        "    send.delay(user)\n"
        "    send.delay((user))\n"
        "    send.delay(u for u in user)\n"
        "    return (send.delay())\n"
    )
    assert [[a.text for a in d.args] for d in facts.dispatches] == [
        ["(user.id)", "( user.name )"],
        ["user"],
        ["(user)"],
        ["u for u in user"],
        [],
    ]
    assert facts.dispatches[-1].span == Span(9, 13, 9, 25)  # the call, not its parentheses


def test_decorators_span_from_the_at_sign_and_defs_from_their_name() -> None:
    facts = _facts(
        "from celery import shared_task\n@ (shared_task)\nasync  def  export(): pass;  \n"
    )
    (function,) = facts.functions
    assert function.decorators[0].span == Span(2, 1, 2, 16)
    assert function.decorators[0].text == "(shared_task)"
    assert function.def_span == Span(3, 13, 3, 19)
    assert function.span == Span(2, 1, 3, 27)  # up to `pass`, not the semicolon


def test_match_patterns_bind_names_and_read_none() -> None:
    facts = _facts(
        "from celery import shared_task\n"
        "@shared_task\n"
        "def run(value):\n"
        "    match value:\n"
        "        case {'task': name, **rest}: pass\n"
        "        case Point(x=0) | [*name]: pass\n"
        "        case None: pass\n"
        "    return name, rest, Point\n"
    )
    (function,) = facts.functions
    assert [u.ref.dotted for u in function.uses] == ["Point", "Point"]


def test_identifiers_are_read_as_python_normalises_them() -> None:
    fullwidth = "\uff57\uff49\uff44\uff54\uff48"  # `width` in fullwidth letters
    facts = _facts(
        f"from celery import shared_task\n@shared_task\ndef f():\n    return {fullwidth}\n"
    )
    (function,) = facts.functions
    assert [u.ref.dotted for u in function.uses] == ["width"]
