"""Matching URLs written in frontend code to Flask URL rules.

A frontend URL is a literal with placeholders for what the code computes
(`/api/exports/{taskId}`); a Flask rule has variables (`/api/exports/<string:id>`).
Both are split into path segments; a placeholder or variable matches any one segment
(a `path` converter any number of them), literals must be equal. The best match is
the rule with the most literal segments in common.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_ANY, _PATH = "\0any", "\0path"


def _rule_segments(rule: str) -> list[str]:
    segments = []
    for part in rule.strip("/").split("/"):
        variable = _VARIABLE.search(part)
        if variable is None:
            segments.append(part)
        else:
            segments.append(_PATH if variable.group(1) == "path" else _ANY)
    return segments


def _url_segments(url: str) -> tuple[list[str], bool] | None:
    """The URL's path segments, and whether an unknown prefix stands before them."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url)  # scheme and host
    url = re.split(r"[?#]", url, maxsplit=1)[0]
    if not url.startswith(("/", "{")):
        return None
    prefixed = False
    if url.startswith("{"):
        # `{API_BASE}/exports/{id}`: an unknown prefix; match on what follows.
        rest = _PLACEHOLDER.sub("", url, count=1)
        if not rest.startswith("/"):
            return None
        url, prefixed = rest, True
    return [
        _ANY if _PLACEHOLDER.search(part) else part for part in url.strip("/").split("/")
    ], prefixed


def _score(url: list[str], rule: list[str]) -> int | None:
    """Literal segments in common, or None when they do not match."""
    if _PATH in rule:
        at = rule.index(_PATH)
        head, tail = rule[:at], rule[at + 1 :]
        if len(url) < len(head) + len(tail) + 1:
            return None
        middle = len(url) - len(head) - len(tail)
        url = [*url[: len(head)], _ANY, *url[len(head) + middle :]]
        rule = [*head, _ANY, *tail]
    if len(url) != len(rule):
        return None
    score = 0
    for mine, theirs in zip(url, rule, strict=True):
        if mine == _ANY or theirs == _ANY:
            continue
        if mine != theirs:
            return None
        score += 1
    return score


def best_rules(url: str, rules: Iterable[str]) -> list[str]:
    """The rules `url` matches best (several when equally good), sorted."""
    parsed = _url_segments(url)
    if parsed is None:
        return []
    segments, prefixed = parsed
    scored = []
    for rule in set(rules):
        pattern = _rule_segments(rule)
        if prefixed and len(pattern) > len(segments) and _PATH not in pattern:
            pattern = pattern[len(pattern) - len(segments) :]
        score = _score(segments, pattern)
        if score is not None:
            scored.append((score, rule))
    if not scored:
        return []
    best = max(s for s, _ in scored)
    return sorted(r for s, r in scored if s == best and (best > 0 or len(segments) == 0))
