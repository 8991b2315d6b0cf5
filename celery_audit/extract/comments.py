"""Suppression comments of one file: `# celery-audit: ignore[CA201]`, `# noqa: CA201`,
`# celery-audit: ignore-file[CA201]`, in each file kind's own comment syntax. Found at
extraction, so they are cached with the file's facts."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from celery_audit.model.facts import Directive, FileKind

# Cheap test of a file's bytes before looking for comments at all: a directive of ours
# says `celery-audit:`, or is a noqa naming one of our codes on its line (a bare noqa,
# or one for other tools only, is not ours; many files have those).
MAYBE_DIRECTIVE = re.compile(rb"celery-audit:|noqa:[^\r\n]*CA\d{3}", re.I)
IGNORE = re.compile(r"celery-audit:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?", re.I)
NOQA = re.compile(r"(?<![\w-])noqa(?::\s*(?P<codes>[A-Z]+\d+(?:(?:\s*,\s*|\s+)[A-Z]+\d+)*))?", re.I)
RULE_CODE = re.compile(r"CA\d{3}")

JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx")
SEMICOLON_SUFFIXES = (".ini", ".conf", ".service")


def comments(path: str, kind: FileKind, text: str) -> tuple[Directive, ...]:
    """The suppression directives in one file's text, in order."""
    found = _python_comments(text) if kind is FileKind.PYTHON else _other_comments(path, text)
    return tuple(d for line, column, comment in found for d in _directives(comment, line, column))


def _directives(comment: str, line: int, column: int) -> Iterator[Directive]:
    for match in IGNORE.finditer(comment):
        names = re.split(r"[\s,]+", (match.group("codes") or "").upper())
        codes = tuple(dict.fromkeys(c for c in names if RULE_CODE.fullmatch(c)))
        form = "ignore-file" if match.group("file") else "ignore"
        yield Directive(line, column + match.start(), form, codes)
    for match in NOQA.finditer(comment):
        names = re.split(r"[\s,]+", (match.group("codes") or "").upper())
        codes = tuple(dict.fromkeys(c for c in names if RULE_CODE.fullmatch(c)))
        if codes:  # a bare noqa, or one for other tools only, is not ours
            yield Directive(line, column + match.start(), "noqa", codes)


def _python_comments(text: str) -> Iterator[tuple[int, int, str]]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.start[1] + 1, token.string
    except (tokenize.TokenError, SyntaxError):
        return  # an unparsable file (CA001): the comments before the error still count


def _other_comments(path: str, text: str) -> Iterator[tuple[int, int, str]]:
    lower = path.lower()
    if lower.endswith(JS_SUFFIXES):
        return _scan(text, ("//",), (("/*", "*/"),), quotes="'\"`")
    if lower.endswith((".vue", ".svelte", ".html", ".htm", ".jinja", ".jinja2", ".j2")):
        blocks = (("<!--", "-->"), ("{#", "#}"), ("/*", "*/"))
        return _scan(text, ("//",), blocks, quotes="")
    # Procfile, compose/YAML, shell, Dockerfile, Makefile, supervisor/systemd/ini files.
    markers = ("#", ";") if lower.endswith(SEMICOLON_SUFFIXES) else ("#",)
    return _scan(text, markers, (), quotes="", after_space=True)


def _scan(
    text: str,
    line_markers: tuple[str, ...],
    blocks: tuple[tuple[str, str], ...],
    *,
    quotes: str,
    after_space: bool = False,
) -> Iterator[tuple[int, int, str]]:
    """(line, column, text) of each comment, one piece per line for block comments.
    `after_space`: a line marker starts a comment only at the start of the line or after
    whitespace (shell, YAML: `a#b` is a word)."""
    closing: str | None = None  # inside a block comment, its closing delimiter
    quote: str | None = None  # inside a string literal, its quote
    for number, line in enumerate(text.splitlines(), 1):
        i = 0
        while i < len(line):
            if closing is not None:
                end = line.find(closing, i)
                yield number, i + 1, line[i : len(line) if end < 0 else end]
                if end < 0:
                    break
                i, closing = end + len(closing), None
                continue
            char = line[i]
            if quote is not None:
                if char == "\\":
                    i += 2
                    continue
                quote = None if char == quote else quote
                i += 1
                continue
            if char in quotes:
                quote, i = char, i + 1
                continue
            marker = next((m for m in line_markers if line.startswith(m, i)), None)
            if marker and (not after_space or i == 0 or line[i - 1].isspace()):
                yield number, i + 1, line[i:]
                break
            block = next((b for b in blocks if line.startswith(b[0], i)), None)
            if block:
                closing, i = block[1], i + len(block[0])
                continue
            i += 1
        if quote != "`":  # only template literals span lines
            quote = None


def directives_of(source_path: str, kind: FileKind, data: bytes) -> tuple[Directive, ...]:
    """The directives in a file's bytes (none without a cheap sign of one)."""
    if not MAYBE_DIRECTIVE.search(data):
        return ()
    return comments(source_path, kind, data.decode("utf-8", "replace"))
