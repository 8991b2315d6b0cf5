"""The program's entry point: replay a recorded run before importing the command line.

Running `celery-audit scan ...` again when nothing it read has changed prints the last
run's output (see runs.py). For that to take no longer than starting Python, this module
reads `scan`'s long options from the raw arguments itself and imports neither click nor
the pipeline. A `scan` command line it reads whole, with values click would accept,
then runs without click (`scanning.scan`, ~30 ms less); whatever it does not fully
understand (another command, a short option, --help, a mistake) goes to the command
line (cli.py), which parses it properly or says what is wrong.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs a replay 4 ms
if TYPE_CHECKING:
    from collections.abc import Sequence

    from celery_audit.runs import Runs

# The options of `scan` that take a value, and its flags (cli.py; a test keeps them equal).
SCAN_VALUE_OPTIONS = frozenset(
    {"--format", "--output", "--select", "--ignore", "--exclude", "--fail-on", "--baseline",
     "--write-baseline", "--graph", "--jobs", "--cache-dir"}
)  # fmt: skip
SCAN_FLAGS = frozenset({"--no-cache", "--debug"})
_FILE_OPTIONS = ("--output", "--baseline", "--write-baseline")  # click: not a folder


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


def _cache_dir(options: dict[str, str | bool]) -> str | None:
    """--cache-dir as click gives it: the option's value, even empty, else the variable
    when it is set and not empty."""
    from celery_audit.runs import CACHE_DIR_ENV

    value = options.get("--cache-dir")
    if isinstance(value, str):
        return value
    return os.environ.get(CACHE_DIR_ENV) or None


def recorded_run(
    argv: Sequence[str], found: tuple[list[str], dict[str, str | bool]]
) -> Runs | None:
    """The record of this `scan` command line (`found`: as `scan_arguments` read it),
    or None when such a run is never recorded (`runs.recorded`)."""
    from celery_audit.runs import Runs, cache_folder, colored, invocation_key, recorded

    positional, options = found
    text = _values(options)
    fmt, output = text.get("--format", "text"), text.get("--output")
    no_cache = "--no-cache" in options
    if not recorded(fmt=fmt, output=output, write_baseline=text.get("--write-baseline"), no_cache=no_cache):  # fmt: skip
        return None
    key = invocation_key(argv, color=colored(fmt=fmt, output=output))
    return Runs(cache_folder(positional[0], _cache_dir(options) or None), key)


def _values(options: dict[str, str | bool]) -> dict[str, str]:
    """The options that take a value, with their values (flags left out)."""
    return {name: value for name, value in options.items() if isinstance(value, str)}


def scan_options(found: tuple[list[str], dict[str, str | bool]]) -> dict[str, object] | None:
    """The keyword arguments of `scanning.scan` for a `scan` command line as read by
    `scan_arguments`, when every value is one click would accept as is; else None (the
    command line then goes to click, which reads it, or says what is wrong with it)."""
    from celery_audit.levels import FAIL_ON
    from celery_audit.scanning import GRAPH_SCOPES, SCAN_FORMATS

    positional, options = found
    text = _values(options)
    jobs = text.get("--jobs")
    cache_dir = _cache_dir(options)
    if (
        text.get("--format", "text") not in SCAN_FORMATS
        or text.get("--fail-on", "warning") not in FAIL_ON
        or text.get("--graph", "celery") not in GRAPH_SCOPES
        or (jobs is not None and not (jobs.isascii() and jobs.isdigit() and int(jobs) >= 1))
        or any(name in text and os.path.isdir(text[name]) for name in _FILE_OPTIONS)
        or (cache_dir is not None and os.path.isfile(cache_dir))
    ):
        return None
    return {
        "path": positional[0],
        "files": tuple(positional[1:]),
        "fmt": text.get("--format", "text"),
        "output": text.get("--output"),
        "select": text.get("--select"),
        "ignore": text.get("--ignore"),
        "exclude": text.get("--exclude"),
        "fail_on": text.get("--fail-on"),
        "baseline_file": text.get("--baseline"),
        "write_baseline": text.get("--write-baseline"),
        "graph_scope": text.get("--graph", "celery"),
        "jobs": int(jobs) if jobs is not None else None,
        "no_cache": options.get("--no-cache") is True,
        "cache_dir": cache_dir,
        "debug": options.get("--debug") is True,
    }


def main() -> None:
    argv = sys.argv[1:]
    found = scan_arguments(argv)
    if found is not None:
        runs = recorded_run(argv, found)
        if runs is not None:
            replay = runs.unchanged()
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
        options = scan_options(found)
        if options is not None:
            _run_scan(argv, options, runs)
    from celery_audit.cli import main as command_line

    command_line()


def _run_scan(argv: Sequence[str], options: dict[str, object], runs: Runs | None) -> None:
    """`scanning.scan` for a command line read here (`runs`: its record, already found
    not to replay by signature), ending as click ends a command: Ctrl-C is "Aborted!"
    and exit 1, a closed pipe a quiet exit 1."""
    from celery_audit.scanning import scan

    try:
        scan(arguments=argv, runs=runs, **options)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except BrokenPipeError:
        sys.stdout = None  # type: ignore[assignment]  # nothing more can be written
        sys.exit(1)
