"""What is not reported: configured severities and per-file ignores, inline suppression
comments, the changed-files filter and the baseline. Runs after the rules.

Suppression comments name their codes: `# celery-audit: ignore[CA201, CA101]` or
`# noqa: CA201` on the finding's line or on a decorator/def line of a function that
encloses it, `# celery-audit: ignore-file[CA201]` anywhere in the file. A bare `# noqa`
(or one naming only other tools' codes) belongs to flake8/ruff and is not honoured.
Python comments are found with `tokenize`, so a `# noqa` inside a string is text, not a
comment; other files use their own comment syntax (`#`, `//`, `/* */`, `<!-- -->`,
`{# #}`). A suppression that suppresses nothing is reported as CA002.

A baseline records findings by `fingerprint`: code, file, enclosing scope and the
rule's line-free description of the evidence, so it survives code moving up and down,
and a bug copied into another function is a new finding.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import tokenize
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from celery_audit.extract import MAX_BYTES
from celery_audit.model.facts import FileFacts, FileKind, FunctionFacts, Span
from celery_audit.model.findings import Finding
from celery_audit.settings import Settings

UNUSED_SUPPRESSION = "unused-suppression"
BASELINE_SCHEMA = 1

# Cheap test of a file's bytes before looking for comments at all.
MAYBE_DIRECTIVE = re.compile(rb"celery-audit:|noqa", re.I)
IGNORE = re.compile(r"celery-audit:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?", re.I)
NOQA = re.compile(r"(?<![\w-])noqa(?::\s*(?P<codes>[A-Z]+\d+(?:(?:\s*,\s*|\s+)[A-Z]+\d+)*))?", re.I)
RULE_CODE = re.compile(r"CA\d{3}")

JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx")
SEMICOLON_SUFFIXES = (".ini", ".conf", ".service")


@dataclass(frozen=True)
class Directive:
    """One suppression comment: `form` is "ignore", "ignore-file" or "noqa"; `codes`
    the rule codes it names (none when it names none: then it suppresses nothing)."""

    line: int
    column: int
    form: str
    codes: tuple[str, ...]

    @property
    def whole_file(self) -> bool:
        return self.form == "ignore-file"

    @property
    def text(self) -> str:
        """The directive as it should be written (codes normalised)."""
        if not self.codes:
            return f"celery-audit: {self.form}"
        if self.form == "noqa":
            return f"noqa: {', '.join(self.codes)}"
        return f"celery-audit: {self.form}[{', '.join(self.codes)}]"


# -- finding comments -----------------------------------------------------------------


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


# -- applying settings and suppressions ------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The findings to report; those a baseline already knew; baseline entries that no
    longer match a finding (fixed since the baseline was written)."""

    findings: tuple[Finding, ...]
    baselined: tuple[Finding, ...] = ()
    fixed: int = 0


def apply(
    findings: Iterable[Finding],
    *,
    facts: Sequence[FileFacts],
    root: Path,
    settings: Settings,
    ran: Collection[str],
    files: Collection[str] | None = None,
    baseline: Baseline | None = None,
) -> Outcome:
    """Severities and per-file ignores from the settings, then suppression comments
    (with CA002 for those that suppressed nothing, among the rule codes that `ran`),
    then, when given, only findings located in `files`, minus the `baseline`."""
    configured = [f for f in (_configure(f, settings) for f in findings) if f is not None]
    by_file = {f.source.path: f for f in facts}
    directives = {path: _read_directives(root, f) for path, f in by_file.items()}
    functions = {path: f.python.functions for path, f in by_file.items() if f.python is not None}
    used: set[tuple[str, Directive, str]] = set()  # (file, directive, code)
    kept = _unsuppressed(configured, directives, functions, used)
    unused = _unused(directives, functions, used, settings, ran)
    configured_unused = [f for f in (_configure(f, settings) for f in unused) if f is not None]
    kept += _unsuppressed(configured_unused, directives, functions, set())
    kept.sort(key=Finding.sort_key)
    if files is not None:
        kept = [f for f in kept if f.file in files]
    if baseline is None:
        return Outcome(tuple(kept))
    return baseline.split(kept, files=files)


def _configure(finding: Finding, settings: Settings) -> Finding | None:
    if settings.ignored_in(finding.file, finding.code):
        return None
    severity = settings.severity_of(finding.code, finding.severity)
    return finding if severity is finding.severity else replace(finding, severity=severity)


def _read_directives(root: Path, facts: FileFacts) -> tuple[Directive, ...]:
    path = root / facts.source.path
    try:
        # Like extraction: no FIFO or device (it could block), nothing too large to analyse.
        status = path.stat()
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_BYTES:
            return ()
        data = path.read_bytes()
    except OSError:
        return ()
    if not MAYBE_DIRECTIVE.search(data):
        return ()
    return comments(facts.source.path, facts.source.kind, data.decode("utf-8", "replace"))


def _enclosing(functions: Sequence[FunctionFacts], line: int) -> list[FunctionFacts]:
    """The functions whose source (decorators included) holds `line`, innermost first."""
    around = [f for f in functions if f.span.line <= line <= f.span.last_line]
    return sorted(around, key=lambda f: (-f.span.line, f.span.last_line))


def _marking_lines(functions: Sequence[FunctionFacts], span: Span) -> set[int]:
    """Lines where a comment suppresses a finding at `span`: its own line and each
    decorator and def line of the functions around it."""
    lines = {span.line}
    for function in _enclosing(functions, span.line):
        lines.add(function.def_span.line)
        for decorator in function.decorators:
            lines.update(range(decorator.span.line, decorator.span.last_line + 1))
    return lines


def _unsuppressed(
    findings: Iterable[Finding],
    directives: dict[str, tuple[Directive, ...]],
    functions: dict[str, tuple[FunctionFacts, ...]],
    used: set[tuple[str, Directive, str]],
) -> list[Finding]:
    kept = []
    for finding in findings:
        candidates = [d for d in directives.get(finding.file, ()) if finding.code in d.codes]
        if candidates:
            lines = _marking_lines(functions.get(finding.file, ()), finding.span)
            matched = [d for d in candidates if d.whole_file or d.line in lines]
            if matched:
                used.update((finding.file, d, finding.code) for d in matched)
                continue
        kept.append(finding)
    return kept


def _unused(
    directives: dict[str, tuple[Directive, ...]],
    functions: dict[str, tuple[FunctionFacts, ...]],
    used: set[tuple[str, Directive, str]],
    settings: Settings,
    ran: Collection[str],
) -> list[Finding]:
    from celery_audit.rules import BY_NAME
    from celery_audit.rules.base import finding

    rule = BY_NAME.get(UNUSED_SUPPRESSION)
    if rule is None or not settings.selects(rule.code):
        return []
    found = []
    for file, listed in sorted(directives.items()):
        for directive in listed:
            unused = [
                code
                for code in directive.codes
                if code != rule.code
                and code in ran
                and (file, directive, code) not in used
                and not settings.ignored_in(file, code)
            ]
            if directive.codes and not unused:
                continue
            if directive.codes:
                where = "in this file" if directive.whole_file else "here"
                message = f"`{directive.text}`: no {', '.join(unused)} finding {where} to suppress"  # fmt: skip
            else:
                message = f"`{directive.text}` names no rule code, so it suppresses nothing"
            inner = _enclosing(functions.get(file, ()), directive.line)
            column = directive.column
            found.append(
                finding(
                    UNUSED_SUPPRESSION,
                    message,
                    file,
                    Span(directive.line, column, directive.line, column + len(directive.text)),
                    scope=inner[0].qualname if inner else "",
                    key=f"{directive.form}[{','.join(directive.codes)}]:{','.join(unused)}",
                )
            )
    return found


# -- baseline ---------------------------------------------------------------------------


class BaselineError(Exception):
    """A baseline file that is missing or is not a celery-audit baseline."""


def fingerprint(finding: Finding) -> str:
    """What identifies a finding across commits: never its line, so code inserted above
    it keeps the alert open instead of closing it and opening a new one."""
    identity = "\0".join((finding.code, finding.file, finding.scope, finding.key))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def fingerprints(findings: Sequence[Finding]) -> list[str]:
    """One fingerprint per finding, in order (callers pass them sorted): the second and
    later findings with the same identity get `:2`, `:3`, ... so each stays unique."""
    seen: Counter[str] = Counter()
    result: list[str] = []
    for item in findings:
        base = fingerprint(item)
        seen[base] += 1
        result.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return result


@dataclass(frozen=True)
class Baseline:
    """Recorded findings as (fingerprint, file) pairs; a pair recorded twice stands for
    two identical findings (a third one is new)."""

    entries: tuple[tuple[str, str], ...]

    def split(self, findings: Sequence[Finding], *, files: Collection[str] | None) -> Outcome:
        remaining = Counter(self.entries)
        new, known = [], []
        for item in findings:
            entry = (fingerprint(item), item.file)
            if remaining[entry] > 0:
                remaining[entry] -= 1
                known.append(item)
            else:
                new.append(item)
        fixed = sum(
            count
            for (_, file), count in remaining.items()
            if count > 0 and (files is None or file in files)
        )
        return Outcome(tuple(new), tuple(known), fixed)


def baseline_text(findings: Iterable[Finding]) -> str:
    """A baseline of `findings`: JSON without line numbers (it changes only when the
    findings do), sorted, one entry per finding."""
    entries = sorted((f.file, f.code, fingerprint(f), f.message) for f in findings)
    data = {
        "schema": BASELINE_SCHEMA,
        "tool": "celery-audit",
        "findings": [
            {"file": file, "code": code, "fingerprint": print_, "message": message}
            for file, code, print_, message in entries
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_baseline(path: Path, *, shown: str | None = None) -> Baseline:
    """The baseline in `path`; BaselineError (naming the file as `shown`) when it is
    missing or is not one."""
    where = shown or str(path)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {where}") from None
    except OSError as error:
        raise BaselineError(f"cannot read baseline {where}: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BaselineError(f"{where}: not a celery-audit baseline: invalid JSON ({error})") from None  # fmt: skip
    if (
        not isinstance(data, dict)
        or data.get("tool") != "celery-audit"
        or data.get("schema") != BASELINE_SCHEMA
        or not isinstance(data.get("findings"), list)
    ):
        raise BaselineError(
            f'{where}: not a celery-audit baseline (expected {{"schema": 1, "tool": "celery-audit", "findings": [...]}})'
        )
    entries: list[tuple[str, str]] = []
    for number, entry in enumerate(data["findings"], 1):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("fingerprint"), str)
            and isinstance(entry.get("file"), str)
        ):
            raise BaselineError(f"{where}: finding {number} has no fingerprint and file")
        entries.append((entry["fingerprint"], entry["file"]))
    return Baseline(tuple(entries))
