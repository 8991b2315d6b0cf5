"""The program's entry point: replay a recorded run before importing the command line.

Running `celery-audit scan ...` again when nothing it read has changed prints the last
run's output (see runs.py). For that to take no longer than starting Python, this module
reads the few options it needs from the raw arguments itself, imports neither click nor
the pipeline, and hands whatever it does not fully understand (another command, a short
option, --help, a mistake) to the command line (cli.py), which parses it properly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# The options of `scan` that take a value, and its flags (cli.py; a test keeps them equal).
SCAN_VALUE_OPTIONS = frozenset(
    {"--format", "--output", "--select", "--ignore", "--exclude", "--fail-on", "--baseline",
     "--write-baseline", "--graph", "--jobs", "--cache-dir"}
)  # fmt: skip
SCAN_FLAGS = frozenset({"--no-cache", "--debug"})


def scan_arguments(argv: Sequence[str]) -> tuple[list[str], dict[str, str | bool]] | None:
    """The positional arguments and the long options of `scan ...` as click would read
    them, or None for anything else."""
    if not argv or argv[0] != "scan":
        return None
    positional: list[str] = []
    options: dict[str, str | bool] = {}
    rest = list(argv[1:])
    while rest:
        token = rest.pop(0)
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, equals, value = token.partition("=")
        if name in SCAN_FLAGS and not equals:
            options[name] = True
        elif name in SCAN_VALUE_OPTIONS and (equals or rest):
            options[name] = value if equals else rest.pop(0)
        else:
            return None
    return (positional, options) if positional else None


def replayable(argv: Sequence[str], *, color: bool) -> tuple[str, str] | None:
    """Where the record of this `scan` invocation is kept and its key, or None when the
    invocation is never recorded (no cache, a report written to a file, a baseline
    being written, GitHub's format, which may append to the step summary)."""
    from celery_audit.runs import CACHE_DIR_ENV, cache_folder, invocation_key

    found = scan_arguments(argv)
    if found is None:
        return None
    positional, options = found
    if any(name in options for name in ("--no-cache", "--output", "--write-baseline")):
        return None
    if options.get("--format") == "github":
        return None
    cache_dir = options.get("--cache-dir") or os.environ.get(CACHE_DIR_ENV) or None
    folder = cache_folder(positional[0], str(cache_dir) if cache_dir else None)
    return folder, invocation_key(argv, color=color)


def main() -> None:
    argv = sys.argv[1:]
    found = scan_arguments(argv)
    if found is not None:
        fmt = found[1].get("--format", "text")
        color = fmt == "text" and "--output" not in found[1] and sys.stdout.isatty()
        where = replayable(argv, color=color)
        if where is not None:
            from celery_audit.runs import Runs

            replay = Runs(*where).unchanged()
            if replay is not None:
                try:
                    data = replay.output.encode(sys.stdout.encoding, sys.stdout.errors or "strict")
                except (UnicodeEncodeError, LookupError, TypeError, AttributeError):
                    data = None  # the command line knows how to write it to this stream
                if data is not None:
                    sys.stdout.flush()
                    sys.stdout.buffer.write(data)
                    sys.stdout.flush()
                    sys.exit(replay.status)
    from celery_audit.cli import main as command_line

    command_line()
