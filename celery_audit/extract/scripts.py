"""Service scripts: find the `celery` command lines that start workers and beat.

A command line is split with shlex (quotes and escapes as a POSIX shell reads them),
so `celery -A "app:celery" worker` and `python -m celery --app=app worker -B` read
alike. Procfile/honcho lines are `name: command`; shell scripts are read line by line
with backslash continuations joined.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from celery_audit.model.facts import Span, WorkerCommandFacts

SUBCOMMANDS = frozenset({"worker", "beat", "multi", "flower", "events", "inspect", "call", "shell", "purge", "status", "control", "result", "report", "migrate", "amqp", "list", "upgrade", "graph", "logtool"})  # noqa: E501
_PROCFILE_LINE = re.compile(r"^\s*[A-Za-z0-9_.-]+\s*:\s*(.*)$")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) with backslash-newline continuations joined."""
    pending: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _words(command: str) -> list[str]:
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:  # unbalanced quotes
        return command.split()


def parse_celery_command(words: list[str]) -> tuple[str | None, str, tuple[str, ...], bool, tuple[str, ...]] | None:  # noqa: E501
    """(app target, subcommand, queues, beat flag, include) of one command's words, or
    None when they do not run celery."""
    for start, word in enumerate(words):
        base = word.rsplit("/", 1)[-1]
        if base == "celery":
            rest = words[start + 1 :]
            break
        if base.startswith("python") and words[start + 1 : start + 3] == ["-m", "celery"]:
            rest = words[start + 3 :]
            break
    else:
        return None
    app: str | None = None
    subcommand = ""
    queues: list[str] = []
    include: list[str] = []
    beat = False
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in (";", "&&", "||", "|", "&"):
            break
        value = rest[i + 1] if i + 1 < len(rest) else ""
        if word in ("-A", "--app"):
            app, i = value, i + 2
            continue
        if word.startswith("--app="):
            app = word.split("=", 1)[1]
        elif word.startswith("-A") and len(word) > 2:
            app = word[2:]
        elif word in ("-Q", "--queues"):
            queues.extend(q for q in value.split(",") if q)
            i += 2
            continue
        elif word.startswith("--queues="):
            queues.extend(q for q in word.split("=", 1)[1].split(",") if q)
        elif word in ("-I", "--include"):
            include.extend(m for m in value.split(",") if m)
            i += 2
            continue
        elif word.startswith("--include="):
            include.extend(m for m in word.split("=", 1)[1].split(",") if m)
        elif word in ("-B", "--beat"):
            beat = True
        elif not subcommand and word in SUBCOMMANDS:
            subcommand = word
        i += 1
    return app, subcommand, tuple(queues), beat, tuple(include)


def extract_scripts(path: str, text: str) -> tuple[WorkerCommandFacts, ...]:
    """Worker/beat command lines of a Procfile or shell script."""
    name = path.rsplit("/", 1)[-1].lower()
    procfile = name.startswith("procfile")
    found = []
    for line_number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        command = stripped
        if procfile:
            match = _PROCFILE_LINE.match(line)
            if match is None:
                continue
            command = match.group(1).strip()
        parsed = parse_celery_command(_words(command))
        if parsed is None:
            continue
        app, subcommand, queues, beat, include = parsed
        column = line.find(command) + 1 if command in line else 1
        found.append(
            WorkerCommandFacts(
                command=command,
                span=Span(line_number, column),
                app_target=app,
                subcommand=subcommand,
                queues=queues,
                beat=beat,
                include=include,
            )
        )
    return tuple(found)
