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
import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from celery_audit.model.facts import Directive, FileFacts, FunctionFacts, Span
from celery_audit.model.findings import Finding
from celery_audit.settings import Settings

UNUSED_SUPPRESSION = "unused-suppression"
BASELINE_SCHEMA = 1

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
    directives: Mapping[str, tuple[Directive, ...]],
    functions: Mapping[str, tuple[FunctionFacts, ...]],
    settings: Settings,
    ran: Collection[str],
    files: Collection[str] | None = None,
    baseline: Baseline | None = None,
) -> Outcome:
    """Severities and per-file ignores from the settings, then suppression comments
    (`directives` and the `functions` of the files that have any, by path; with CA002
    for those that suppressed nothing, among the rule codes that `ran`), then, when
    given, only findings located in `files`, minus the `baseline`."""
    configured = [f for f in (_configure(f, settings) for f in findings) if f is not None]
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


def suppression_facts(
    facts: Iterable[FileFacts],
) -> tuple[dict[str, tuple[Directive, ...]], dict[str, tuple[FunctionFacts, ...]]]:
    """What `apply` needs of the files' facts: the directives of every file that has
    any, and those files' functions (whose decorator and def lines a directive may sit
    on)."""
    directives = {f.source.path: f.directives for f in facts if f.directives}
    functions = {
        f.source.path: f.python.functions for f in facts if f.directives and f.python is not None
    }
    return directives, functions


def _configure(finding: Finding, settings: Settings) -> Finding | None:
    if settings.ignored_in(finding.file, finding.code):
        return None
    severity = settings.severity_of(finding.code, finding.severity)
    return finding if severity is finding.severity else replace(finding, severity=severity)


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
    directives: Mapping[str, tuple[Directive, ...]],
    functions: Mapping[str, tuple[FunctionFacts, ...]],
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
    directives: Mapping[str, tuple[Directive, ...]],
    functions: Mapping[str, tuple[FunctionFacts, ...]],
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
