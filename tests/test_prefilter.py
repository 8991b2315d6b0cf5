"""The prefilter that decides which files get the deep pass."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES

from celery_audit.extract.python import apps, calls, config, functions, needs_deep_pass, routes

PATTERNS = [p for module in (apps, calls, config, functions, routes) for p in module.VOCABULARY]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_vocabulary_pattern_starts_with_a_literal_character(pattern: str) -> None:
    # Joined, patterns that all start with a literal let the regular expression engine
    # skip to the places where one of those characters occurs; one `[Cc]elery` would
    # make it try every pattern at every position of every file.
    if pattern.startswith("\\"):
        assert not pattern[1].isalnum()  # `\.` is a literal, `\d` or `\b` is not
    else:
        assert pattern[0].isalnum() or pattern[0] == "_"


def test_the_joined_prefilter_finds_exactly_what_its_patterns_find() -> None:
    texts = [
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(FIXTURES.rglob("*.py"))
    ]
    texts += [
        "x = Celery(__name__)\n", "celery = make()\n", "@shared_task\ndef f(): pass\n",
        "job = Task\n", "r = send.delay(1)\n", "app.conf.update(x=1)\n",
        "@bp.get('/status')\ndef s(): pass\n", "@bp.get(rule='/x')\ndef s(): pass\n",
        "items.get('/x')\n", "d.get(key)\n", "def add(a, b):\n    return a + b\n",
    ]  # fmt: skip
    compiled = [re.compile(p) for p in PATTERNS]
    found = [needs_deep_pass(text) for text in texts]
    assert found == [any(p.search(text) for p in compiled) for text in texts]
    assert True in found and False in found
