"""Service scripts: find the `celery` commands that start workers, beat and friends.

Every format is reduced to one of two things and handed to one small shell reader:

- a command string, read as /bin/sh reads it (quotes, `$VAR` / `${VAR:-default}`,
  `&&` `;` `|` `&`, comments, heredocs, `cd`, `export`, `sh -c '...'`);
- an exec-form word list (Dockerfile JSON arrays, compose and Kubernetes YAML lists),
  read without a shell.

Wrappers (exec, env, nohup, gosu, sudo, su -c, watchmedo auto-restart, wait-for-it
... --, poetry run, ...) are peeled off until a `celery` or `python -m celery` word is
found. Every character keeps its source position, so a fact points at the line and
column of its `celery` word; YAML and JSON values point at their key.

Nothing here evaluates anything, and no input makes it raise: unbalanced quotes read
to the end of the text, invalid YAML or JSON yields no facts.
"""

from __future__ import annotations

import configparser
import json
import posixpath
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from celery_audit.extract.errors import SourceError
from celery_audit.model.facts import Keyword, Span, WorkerCommandFacts

Position = tuple[int, int]  # (line, column), both 1-based
Lookup = Callable[[str], "str | None"]


def _options(names: str) -> frozenset[str]:
    return frozenset(names.split())


SUBCOMMANDS = _options(
    "worker beat multi flower events inspect call shell purge status control result "
    "report migrate amqp list upgrade graph logtool"
)

# Legacy (Celery 3) programs and the subcommand each one implies.
_CELERY_PROGRAMS = {
    "celery": "",
    "celeryd": "worker",
    "celerybeat": "beat",
    "celeryd-multi": "multi",
    "celeryev": "events",
}
# An unresolved `$CELERY_BIN` in the command position is celery (the documented
# systemd/init.d setup reads it from an EnvironmentFile we never see).
_CELERY_VARIABLE = re.compile(r"\$\{?CELERY(?:_BIN)?\}?")
_PYTHON = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*)?")
_SHELLS = _options("sh bash dash zsh ash ksh mksh")
_RUNNERS = _options("poetry pipenv pdm hatch rye uv")
_RUNNER_VALUE_OPTIONS = _options(
    "--with --python -p --extra --group --env-file --directory --project --package "
    "--index --with-requirements --with-editable --only-group --no-group -e --env"
)
# Wrappers that run the rest of their arguments: options taking a value, and how many
# positional arguments (a user, a duration) come before the command.
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "exec": (_options("-a"), 0),
    "nohup": (frozenset(), 0),
    "time": (_options("-f -o --format --output"), 0),
    "nice": (_options("-n --adjustment"), 0),
    "ionice": (_options("-c -n -p -P -u --class --classdata"), 0),
    "stdbuf": (_options("-i -o -e"), 0),
    "timeout": (_options("-s -k --signal --kill-after"), 1),
    "setsid": (frozenset(), 0),
    "dumb-init": (_options("-r --rewrite"), 0),
    "tini": (_options("-p -e"), 0),
    "gosu": (frozenset(), 1),
    "su-exec": (frozenset(), 1),
    "setuidgid": (frozenset(), 1),
    "s6-setuidgid": (frozenset(), 1),
    "chpst": (
        _options("-u -U -b -e -/ -n -l -L -m -d -o -p -f -c"),
        0,
    ),
    "sudo": (
        _options(
            "-u -g -C -D -h -p -r -t -U -T --user --group --chdir --host --prompt --role "
            "--type --other-user --command-timeout --close-from"
        ),
        0,
    ),
    "setpriv": (
        _options(
            "--reuid --regid --groups --inh-caps --ambient-caps --bounding-set --securebits "
            "--pdeathsig --selinux-label --apparmor-profile"
        ),
        0,
    ),
    "ddtrace-run": (frozenset(), 0),
}
# Wrappers whose every `--option` without `=` takes a value.
_LONG_VALUE_WRAPPERS = _options("opentelemetry-instrument")
_WATCHMEDO_VALUE_OPTIONS = _options(
    "-d --directory -p --pattern --patterns -i --ignore-pattern --ignore-patterns "
    "--interval --signal --kill-after --debounce-interval"
)
_RESERVED = _options("if then else elif do while until { } ! fi done esac")
# Shell operators kept as plain words where no shell reads the text (compose, systemd).
_LITERAL_OPERATORS = _options("; && || | &")
_DECLARATIONS = _options("export declare typeset local readonly")
_STATE_BUILTINS = _DECLARATIONS | _options("cd pushd unset")

# celery options that take a value (so the value is not mistaken for the subcommand).
_SHORT_VALUE_OPTIONS = _options("-A -b -n -S -l -O -c -P -f -Q -X -I -s -t -d")
_LONG_VALUE_OPTIONS = _options(
    "--app --broker --result-backend --loader --config --workdir --hostname "
    "--scheduler --loglevel --optimization --prefetch-multiplier --concurrency "
    "--pool --pidfile --logfile --queues --exclude-queues --include --schedule "
    "--autoscale --max-tasks-per-child --max-memory-per-child --time-limit "
    "--soft-time-limit --statedb --uid --gid --umask --executable --max-interval "
    "--timeout --destination --heartbeat-interval --port --address --broker-api "
    "--basic-auth --url-prefix --camera --frequency --maxrate"
)
_SHORT_FLAGS = re.compile(r"-[BEDCq]+")  # -B beat, -E events, -D detach, combinable
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_-]*")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?", re.S)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_MAX_DEPTH = 6  # nested `sh -c` strings


# -- text with positions ----------------------------------------------------------------


class _Text:
    """A string with the source position of each character.

    Positions are stored as segments: from offset `starts[k]` on, characters advance one
    column at a time from `where[k]`. A fixed text maps every character to one position
    (a YAML or JSON value, which points at its key).
    """

    __slots__ = ("_fixed", "_starts", "_where", "value")

    def __init__(
        self, value: str, starts: list[int], where: list[Position], *, fixed: bool = False
    ) -> None:
        self.value = value
        self._starts = starts
        self._where = where
        self._fixed = fixed

    @classmethod
    def fixed(cls, value: str, where: Position) -> _Text:
        return cls(value, [0], [where], fixed=True)

    @classmethod
    def of_file(cls, text: str) -> _Text:
        starts = [0]
        where = [(1, 1)]
        for number, match in enumerate(re.finditer("\n", text), 2):
            starts.append(match.end())
            where.append((number, 1))
        return cls(text, starts, where)

    @classmethod
    def join(cls, pieces: Sequence[tuple[str, Position]]) -> _Text:
        starts: list[int] = []
        where: list[Position] = []
        offset = 0
        for piece, position in pieces:
            starts.append(offset)
            where.append(position)
            offset += len(piece)
        return cls("".join(p for p, _ in pieces), starts or [0], where or [(1, 1)])

    def at(self, index: int) -> Position:
        if self._fixed:
            return self._where[0]
        k = max(bisect_right(self._starts, index) - 1, 0)
        line, column = self._where[k]
        return line, column + index - self._starts[k]

    def pick(self, value: str, offsets: Sequence[int], default: int = 0) -> _Text:
        """`value`, whose i-th character was read at offset `offsets[i]` of this text."""
        if self._fixed:
            return _Text.fixed(value, self._where[0])
        starts: list[int] = []
        where: list[Position] = []
        for i, offset in enumerate(offsets):
            line, column = self.at(offset)
            if not where or (line, column) != (where[-1][0], where[-1][1] + i - starts[-1]):
                starts.append(i)
                where.append((line, column))
        if not starts:
            return _Text(value, [0], [self.at(offsets[0] if offsets else default)])
        return _Text(value, starts, where)

    def slice(self, start: int, end: int) -> _Text:
        return self.pick(self.value[start:end], range(start, end), default=start)


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


# -- shell tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "op" or "redirect"
    start: int
    end: int


_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")")
_REDIRECTS = ("&>>", "<<<", "<<-", "<<", ">>", "<&", ">&", "&>", "<>", ">|", "<", ">")
_WORD_END = frozenset(" \t\r\n;&|<>")


def _close_quote(s: str, i: int) -> int:
    """The offset after the `'` closing a single-quoted string opened before `i`."""
    j = s.find("'", i)
    return len(s) if j < 0 else j + 1


def _scan_double(s: str, i: int) -> int:
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "`":
            i = _scan_backtick(s, i + 1)
        elif c == "$" and i + 1 < n and s[i + 1] in "({":
            i = _scan_group(s, i + 2, s[i + 1])
        else:
            i += 1
    return n


def _scan_backtick(s: str, i: int) -> int:
    n = len(s)
    while i < n:
        if s[i] == "\\":
            i += 2
        elif s[i] == "`":
            return i + 1
        else:
            i += 1
    return n


def _scan_group(s: str, i: int, opener: str) -> int:
    """The offset after the `)` or `}` closing a `$(` or `${` opened before `i`."""
    closer = ")" if opener == "(" else "}"
    depth = 1
    n = len(s)
    while i < n:
        c = s[i]
        skipped = _skip_quoted(s, i)
        if skipped is not None:
            i = skipped
            continue
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_quoted(s: str, i: int) -> int | None:
    """The index after the escape or quoted run starting at `s[i]`, or None."""
    c = s[i]
    if c == "\\":
        return i + 2
    if c == "'":
        return _close_quote(s, i + 1)
    if c == '"':
        return _scan_double(s, i + 1)
    if c == "`":
        return _scan_backtick(s, i + 1)
    return None


def _scan_word(s: str, i: int) -> int:
    # A `(` inside a word does not end it, so `app:create_app()` stays one word; an
    # unmatched `)` does, so a case pattern `worker)` ends at the parenthesis.
    n = len(s)
    depth = 0
    while i < n:
        c = s[i]
        if c in _WORD_END:
            break
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        elif (skipped := _skip_quoted(s, i)) is not None:
            i = skipped
            continue
        elif c == "$" and i + 1 < n and s[i + 1] in "({":
            i = _scan_group(s, i + 2, s[i + 1])
            continue
        i += 1
    return min(i, n)


def _skip_heredoc(s: str, i: int, delimiter: str, strip_tabs: bool) -> int:
    n = len(s)
    while i < n:
        j = s.find("\n", i)
        end = n if j < 0 else j
        line = s[i:end].rstrip("\r")
        if (line.lstrip("\t") if strip_tabs else line) == delimiter:
            return n if j < 0 else j + 1
        i = end + 1
    return n


def _tokenize(s: str) -> list[_Token]:
    """Words, operators and redirections of shell text; comments and heredoc bodies
    are dropped, a newline is an operator."""
    tokens: list[_Token] = []
    heredocs: list[tuple[str, bool]] = []
    pending: bool | None = None  # a heredoc operator waits for its delimiter word
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and s.startswith("\n", i + 1):
            i += 2
        elif c in " \t\r":
            i += 1
        elif c == "\n":
            tokens.append(_Token("op", i, i + 1))
            i += 1
            for delimiter, strip_tabs in heredocs:
                i = _skip_heredoc(s, i, delimiter, strip_tabs)
            heredocs.clear()
        elif c == "#":
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif redirect := next((r for r in _REDIRECTS if s.startswith(r, i)), None):
            tokens.append(_Token("redirect", i, i + len(redirect)))
            if redirect in ("<<", "<<-"):
                pending = redirect == "<<-"
            i += len(redirect)
        elif operator := next((o for o in _OPERATORS if s.startswith(o, i)), None):
            tokens.append(_Token("op", i, i + len(operator)))
            i += len(operator)
        else:
            j = max(_scan_word(s, i), i + 1)
            tokens.append(_Token("word", i, j))
            if pending is not None:
                heredocs.append((re.sub(r"[\"'\\]", "", s[i:j]), pending))
                pending = None
            i = j
    return tokens


# -- expansion ---------------------------------------------------------------------------


def _expand(
    s: str, start: int, end: int, lookup: Lookup, *, split: bool = True
) -> list[tuple[str, list[int]]]:
    """The fields one shell word expands to, each with the source offset of each of its
    characters: quotes removed, known `$VAR`s substituted (an unquoted one split at
    whitespace), `${VAR:-default}` of an unknown VAR read as its default, and anything
    else (`$(...)`, unknown names, `$1`) kept as written."""
    chars: list[str] = []
    offsets: list[int] = []
    breaks: list[bool] = []

    def literal(a: int, b: int) -> None:
        chars.extend(s[a:b])
        offsets.extend(range(a, b))
        breaks.extend([False] * (b - a))

    def value(text: str, at: int, unquoted: bool) -> None:
        chars.extend(text)
        offsets.extend([at] * len(text))
        breaks.extend(split and unquoted and c.isspace() for c in text)

    def dollar(i: int, stop: int, quoted: bool) -> int:
        following = s[i + 1] if i + 1 < stop else ""
        if following == "(":
            close = min(_scan_group(s, i + 2, "("), stop)
            literal(i, close)
            return close
        if following == "{":
            close = min(_scan_group(s, i + 2, "{"), stop)
            match = _BRACED.fullmatch(s, i + 2, close - 1) if s[close - 1] == "}" else None
            if match:
                known = lookup(match[1])
                if known is not None:
                    value(known, i, not quoted)
                    return close
                if match[2] is not None and match[2].lstrip(":") in ("-", "="):
                    walk(match.start(3), match.end(3))
                    return close
            literal(i, close)
            return close
        if following == "'" and not quoted:
            return i + 1  # $'...': the quotes are read next
        name = _NAME.match(s, i + 1, stop)
        if name:
            known = lookup(name[0])
            if known is not None:
                value(known, i, not quoted)
            else:
                literal(i, name.end())
            return name.end()
        literal(i, i + 1)
        return i + 1

    def double(i: int, stop: int) -> int:
        while i < stop:
            c = s[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < stop and s[i + 1] in '$`"\\\n':
                if s[i + 1] != "\n":
                    literal(i + 1, i + 2)
                i += 2
            elif c == "$":
                i = dollar(i, stop, True)
            elif c == "`":
                close = min(_scan_backtick(s, i + 1), stop)
                literal(i, close)
                i = close
            else:
                literal(i, i + 1)
                i += 1
        return stop

    def walk(i: int, stop: int) -> None:
        while i < stop:
            c = s[i]
            if c == "\\":
                if i + 1 < stop and s[i + 1] != "\n":
                    literal(i + 1, i + 2)
                i += 2
            elif c == "'":
                close = s.find("'", i + 1, stop)
                close = stop if close < 0 else close
                literal(i + 1, close)
                i = close + 1
            elif c == '"':
                i = double(i + 1, stop)
            elif c == "$":
                i = dollar(i, stop, False)
            elif c == "`":
                close = min(_scan_backtick(s, i + 1), stop)
                literal(i, close)
                i = close
            else:
                literal(i, i + 1)
                i += 1

    walk(start, end)
    if not any(breaks):
        return [("".join(chars), offsets)]
    fields: list[tuple[str, list[int]]] = []
    current: list[str] = []
    places: list[int] = []
    for char, offset, is_break in zip(chars, offsets, breaks, strict=True):
        if is_break:
            if current:
                fields.append(("".join(current), places))
            current, places = [], []
        else:
            current.append(char)
            places.append(offset)
    if current:
        fields.append(("".join(current), places))
    return fields


def _known(value: str) -> str | None:
    """A variable's value, or None when it still holds something unresolved."""
    return None if "$" in value or "`" in value else value


# `$(dirname "$0")`, `$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)`: the script's folder.
_SCRIPT_DIR = re.compile(
    r"""\$\((?:\s*cd\s+)?\s*"?\$\(\s*dirname\s+"?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\})"?\s*\)"?"""
    r"""(?:\s*(?:&&|;)\s*pwd(?:\s+-P)?)?\s*\)"""
    r"""|\$\(\s*dirname\s+"?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\})"?\s*\)"""
)


def _join_dir(workdir: str | None, target: str) -> str | None:
    """The folder `cd target` leads to from `workdir` (None: unknown).

    A relative result is relative to the folder holding the file read; the script-folder
    idiom `$(dirname "$0")` is that folder, ".".
    """
    if target == "-":
        return None
    if _SCRIPT_DIR.match(target):
        workdir, target = None, _SCRIPT_DIR.sub(".", target, count=1)
    # an unknown expansion (`$HOME`, `$(git rev-parse --show-toplevel)`) replaces the folder
    if workdir is None or target.startswith(("/", "~", "$")):
        joined = target
    else:
        joined = workdir.rstrip("/") + "/" + target if workdir != "/" else "/" + target
    if "$" in joined or "`" in joined:
        return joined
    return posixpath.normpath(joined)


# -- words and the shell reader ---------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """One word of a command: its value, how it was written, where it starts, and the
    value again with each character's position (read again by `sh -c`)."""

    value: str
    raw: str
    where: Position
    text: _Text


def _plain_word(value: str, where: Position) -> _Word:
    raw = value if value and not any(c.isspace() or c in "'\"" for c in value) else repr(value)
    return _Word(value, raw, where, _Text.fixed(value, where))


def _word_fields(text: _Text, token: _Token, lookup: Lookup) -> list[_Word]:
    raw = text.value[token.start : token.end]
    where = text.at(token.start)
    words = []
    for k, (value, offsets) in enumerate(_expand(text.value, token.start, token.end, lookup)):
        words.append(_Word(value, raw if k == 0 else "", where, text.pick(value, offsets)))
    return words


def _split_words(text: _Text, lookup: Lookup) -> list[_Word]:
    """The words of a command line that no shell reads (operators stay plain words)."""
    words: list[_Word] = []
    for token in _tokenize(text.value):
        if token.kind == "word":
            words.extend(_word_fields(text, token, lookup))
        elif text.value[token.start : token.end] != "\n":
            piece = text.value[token.start : token.end]
            words.append(
                _Word(piece, piece, text.at(token.start), text.slice(token.start, token.end))
            )
    return words


@dataclass
class _Shell:
    """What a shell knows while it reads a script: its variables (None: set, value
    unknown), which of them are exported, and its current folder."""

    vars: dict[str, str | None] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    workdir: str | None = None
    # variables whose value mentions celery: only then can `$VAR` start a celery command
    celery_vars: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.celery_vars = {n for n, v in self.vars.items() if v and "celery" in v.lower()}

    @classmethod
    def with_env(cls, env: Mapping[str, str | None], workdir: str | None = None) -> _Shell:
        return cls(dict(env), set(env), workdir)

    def copy(self) -> _Shell:
        return _Shell(dict(self.vars), set(self.exported), self.workdir)

    def bind(self, name: str, value: str | None) -> None:
        self.vars[name] = value
        if value and "celery" in value.lower():
            self.celery_vars.add(name)
        else:
            self.celery_vars.discard(name)

    def unset(self, name: str) -> None:
        self.vars.pop(name, None)
        self.exported.discard(name)
        self.celery_vars.discard(name)

    def may_run_celery(self, raws: Sequence[str]) -> bool:
        """Whether a command, as written, can start celery or change what this shell
        knows; the others are not worth expanding (installers embed megabytes)."""
        text = " ".join(raws).lower()
        if "celery" in text:
            return True
        k = 0
        while k < len(raws) and raws[k] in _RESERVED:
            k += 1
        while k < len(raws) and _ASSIGNMENT.match(raws[k]):
            k += 1
        if k == len(raws) or raws[k] in _STATE_BUILTINS:
            return True
        return bool(self.celery_vars) and ("$" in text or "`" in text)

    def lookup(self, name: str) -> str | None:
        return self.vars.get(name)

    def environ(self, prefix: Mapping[str, str | None] | None = None) -> Mapping[str, str | None]:
        """A command's environment: the exported variables (a live view: scripts export
        thousands) under its own `NAME=value` prefix assignments."""
        return _Environ(self, prefix or {})

    def assign(self, name: str, value: str, *, export: bool = False) -> None:
        self.bind(name, _known(value))
        if export:
            self.exported.add(name)


class _Environ(Mapping[str, "str | None"]):
    def __init__(self, shell: _Shell, prefix: Mapping[str, str | None]) -> None:
        self._shell = shell
        self._prefix = prefix

    def __getitem__(self, name: str) -> str | None:
        if name in self._prefix:
            return self._prefix[name]
        if name not in self._shell.exported:
            raise KeyError(name)
        return self._shell.vars.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._shell.exported | set(self._prefix))

    def __len__(self) -> int:
        return len(self._shell.exported | set(self._prefix))


# Worker options that set a Celery setting, by the setting's name.
_SETTING_OPTIONS = {
    "--prefetch-multiplier": "worker_prefetch_multiplier",
    "--time-limit": "task_time_limit",
    "--soft-time-limit": "task_soft_time_limit",
}


@dataclass
class _CeleryArgs:
    app: str | None = None
    subcommand: str = ""
    queues: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    beat: bool = False
    workdir: str | None = None
    settings: list[Keyword] = field(default_factory=list)


def _names(value: str) -> list[str]:
    return [part for part in re.split(r"[,\s]+", value) if part]


def _parse_celery_args(args: Sequence[str], implied: str) -> _CeleryArgs:
    """The -A target, subcommand, queues, -B, --include and the setting options
    (--prefetch-multiplier, --time-limit, --soft-time-limit) of celery's arguments.

    Options may come before or after the subcommand (Celery 4 took `celery worker -A X`);
    `celery multi` per-node options (`-Q:w1 images`) count as plain ones.
    """
    parsed = _CeleryArgs()
    positionals: list[str] = []

    def apply(option: str, value: str) -> None:
        if option in ("-A", "--app"):
            parsed.app = value
        elif option in ("-Q", "--queues"):
            parsed.queues.extend(_names(value))
        elif option in ("-I", "--include"):
            parsed.include.extend(_names(value))
        elif option == "--workdir":
            parsed.workdir = value
        elif option in _SETTING_OPTIONS and value:
            # `--time-limit=$LIMIT` is not knowable: never judged.
            parsed.settings.append(Keyword(_SETTING_OPTIONS[option], value, "$" not in value))

    i = 0
    while i < len(args):
        word = args[i]
        following = args[i + 1] if i + 1 < len(args) else ""
        if word == "--":
            break
        if word.startswith("--"):
            option, equals, value = word.partition("=")
            option = option.split(":", 1)[0]
            if option == "--beat":
                parsed.beat = True
            elif not equals and option in _LONG_VALUE_OPTIONS:
                value = following
                i += 1
            apply(option, value)
        elif word.startswith("-") and len(word) > 1:
            option = word[:2]
            if _SHORT_FLAGS.fullmatch(word):
                parsed.beat = parsed.beat or "B" in word
            elif option in _SHORT_VALUE_OPTIONS:
                rest = word[2:]
                if not rest or rest.startswith(":"):
                    rest = following
                    i += 1
                apply(option, rest)
        else:
            positionals.append(word)
        i += 1
    if implied:
        parsed.subcommand = implied
    else:
        known = [p for p in positionals if p in SUBCOMMANDS]
        if known:
            parsed.subcommand = known[0]
        elif positionals and _IDENTIFIER.fullmatch(positionals[0]):
            parsed.subcommand = positionals[0]
    return parsed


def _dash_c(words: Sequence[_Word], i: int) -> tuple[bool, int]:
    """After a shell's name: (whether -c was given, index of its first operand)."""
    has_c = False
    while i < len(words):
        word = words[i].value
        if word == "--":
            return has_c, i + 1
        if word in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if len(word) > 1 and word[0] in "-+":
            if word[0] == "-" and not word.startswith("--") and "c" in word[1:]:
                has_c = True
            i += 1
            continue
        break
    return has_c, i


def _skip_options(
    words: Sequence[_Word], i: int, with_value: frozenset[str], *, long_values: bool = False
) -> int:
    while i < len(words):
        word = words[i].value
        if word == "--":
            return i + 1
        if not word.startswith("-") or word == "-":
            return i
        takes_value = word in with_value or (long_values and word.startswith("--"))
        i += 2 if takes_value and "=" not in word else 1
    return i


def _python_module(words: Sequence[_Word], i: int) -> int | None:
    """After `python`: the index of celery's first argument for `-m celery`, else None."""
    while i < len(words):
        word = words[i].value
        if word == "-m":
            return i + 2 if i + 1 < len(words) and words[i + 1].value == "celery" else None
        if word == "-mcelery":
            return i + 1
        if word in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
        elif word.startswith("-") and not word.startswith("-c"):
            i += 1
        else:
            return None
    return None


def _watchmedo(words: Sequence[_Word], i: int) -> list[_Word]:
    """The command `watchmedo auto-restart` runs: after `--`, or `CMD ... -- ARGS`."""
    if i >= len(words) or words[i].value != "auto-restart":
        return []
    command: _Word | None = None
    j = i + 1
    while j < len(words):
        word = words[j].value
        if word == "--":
            return [*([command] if command else []), *words[j + 1 :]]
        if word.startswith("-") and len(word) > 1:
            j += 2 if word in _WATCHMEDO_VALUE_OPTIONS else 1
            continue
        if command is None:
            command = words[j]
        j += 1
    return [command] if command else []


class _Reader:
    """Reads commands and collects the celery invocations among them."""

    def __init__(self) -> None:
        self.found: list[WorkerCommandFacts] = []

    def result(self) -> tuple[WorkerCommandFacts, ...]:
        unique = list(dict.fromkeys(self.found))
        return tuple(sorted(unique, key=lambda f: (f.span.line, f.span.column)))

    def script(self, text: _Text, shell: _Shell, depth: int = 0) -> None:
        """Read shell text command by command; `shell` learns its assignments and `cd`s."""
        source = text.value
        words: list[_Token] = []
        skip_target = False
        for token in [*_tokenize(source), _Token("op", len(source), len(source))]:
            if token.kind == "word":
                if skip_target:
                    skip_target = False
                else:
                    words.append(token)
                continue
            if token.kind == "redirect":
                previous = words[-1] if words else None
                if (
                    previous
                    and previous.end == token.start
                    and source[previous.start : previous.end].isdigit()
                ):
                    words.pop()  # the `2` of `2>&1`
                skip_target = True
                continue
            skip_target = False
            if words and shell.may_run_celery([source[t.start : t.end] for t in words]):
                expanded = [w for t in words for w in _word_fields(text, t, shell.lookup)]
                self.simple(expanded, shell, depth)
            words = []

    def simple(self, words: list[_Word], shell: _Shell, depth: int) -> None:
        """One simple command: assignments, builtins that change the shell, or a program."""
        raws = [w.raw for w in words]
        start = 0
        while start < len(words) and raws[start] in _RESERVED:
            start += 1
        prefix: dict[str, str | None] = {}
        while start < len(words) and _ASSIGNMENT.match(raws[start]):
            name, _, value = words[start].value.partition("=")
            prefix[name] = _known(value)
            start += 1
        rest = words[start:]
        if not rest:
            for name, known in prefix.items():
                shell.bind(name, known)
            return
        program = rest[0].value
        if program in _DECLARATIONS:
            export = program == "export" or any(w.value.startswith("-x") for w in rest[1:])
            for word in rest[1:]:
                name, equals, value = word.value.partition("=")
                if word.value.startswith("-") or not _NAME.fullmatch(name):
                    continue
                if equals:
                    shell.assign(name, value, export=export)
                elif export:
                    shell.exported.add(name)
            return
        if program in ("cd", "pushd"):
            targets = [w.value for w in rest[1:] if not w.value.startswith("-") or w.value == "-"]
            shell.workdir = _join_dir(shell.workdir, targets[0] if targets else "~")
            return
        if program == "unset":
            for word in rest[1:]:
                shell.unset(word.value)
            return
        self.run(rest, shell.environ(prefix), shell.workdir, depth)

    def run(
        self,
        words: Sequence[_Word],
        env: Mapping[str, str | None],
        workdir: str | None,
        depth: int,
    ) -> None:
        """Follow wrappers in one command's words to a celery invocation, if any.

        `env` is the command's environment (None: set, value unknown).
        """
        i = 0
        while i < len(words):
            value = words[i].value
            name = posixpath.basename(value)
            if name in _CELERY_PROGRAMS or _CELERY_VARIABLE.fullmatch(value):
                implied = _CELERY_PROGRAMS.get(name, "")
                self.celery(words, i, i + 1, env, workdir, implied)
                return
            if _PYTHON.fullmatch(name):
                first = _python_module(words, i + 1)
                if first is not None:
                    self.celery(words, i, first, env, workdir, "")
                return
            if name in _SHELLS or name in ("su", "runuser"):
                if name in _SHELLS:
                    has_c, operand = _dash_c(words, i + 1)
                else:
                    operand = next(
                        (
                            k + 1
                            for k in range(i + 1, len(words))
                            if words[k].value in ("-c", "--command")
                        ),
                        len(words),
                    )
                    has_c = operand < len(words)
                if has_c:
                    if operand < len(words) and depth < _MAX_DEPTH:
                        inner = _Shell.with_env(env, workdir)
                        self.script(words[operand].text, inner, depth + 1)
                    return
                if name in _SHELLS:
                    i = operand + 1  # `sh /entrypoint.sh ARGS...`: the script runs ARGS
                    continue
            if name == "env":
                i, env, workdir = self._env_wrapper(words, i + 1, env, workdir)
                continue
            if name == "watchmedo":
                self.run(_watchmedo(words, i + 1), env, workdir, depth)
                return
            if name in _WRAPPERS:
                with_value, positionals = _WRAPPERS[name]
                i = _skip_options(words, i + 1, with_value) + positionals
                continue
            if name in _LONG_VALUE_WRAPPERS:
                i = _skip_options(words, i + 1, frozenset(), long_values=True)
                continue
            following = words[i + 1].value if i + 1 < len(words) else ""
            if name in _RUNNERS and following == "run":
                i = _skip_options(words, i + 2, _RUNNER_VALUE_OPTIONS)
                continue
            if name == "newrelic-admin" and following == "run-program":
                i += 2
                continue
            if name.endswith(".sh") or "entrypoint" in name:
                i += 1  # an entrypoint script that ends in `exec "$@"`
                continue
            separator = next((k for k in range(i + 1, len(words)) if words[k].value == "--"), -1)
            if separator < 0:
                return
            i = separator + 1  # wait-for-it host:port -- CMD, doppler run -- CMD, ...

    @staticmethod
    def _env_wrapper(
        words: Sequence[_Word], i: int, env: Mapping[str, str | None], workdir: str | None
    ) -> tuple[int, Mapping[str, str | None], str | None]:
        changed = dict(env)
        while i < len(words):
            word = words[i].value
            following = words[i + 1].value if i + 1 < len(words) else ""
            if word in ("-i", "--ignore-environment", "-"):
                changed = {}
            elif word in ("-u", "--unset"):
                changed.pop(following, None)
                i += 1
            elif word.startswith("--unset="):
                changed.pop(word.partition("=")[2], None)
            elif word in ("-C", "--chdir"):
                workdir = _join_dir(workdir, following)
                i += 1
            elif word.startswith("--chdir="):
                workdir = _join_dir(workdir, word.partition("=")[2])
            elif word == "--":
                return i + 1, changed, workdir
            elif _ASSIGNMENT.match(word):
                name, _, value = word.partition("=")
                changed[name] = _known(value)
            elif not word.startswith("-"):
                break
            i += 1
        return i, changed, workdir

    def celery(
        self,
        words: Sequence[_Word],
        start: int,
        first_arg: int,
        env: Mapping[str, str | None],
        workdir: str | None,
        implied: str,
    ) -> None:
        values = [w.value for w in words[first_arg:]]
        end = next((k for k, v in enumerate(values) if v in _LITERAL_OPERATORS), len(values))
        parsed = _parse_celery_args(values[:end], implied)
        app = parsed.app
        if app is None:
            # Celery 5 reads -A from $APP, then (click's CELERY_ prefix) $CELERY_APP.
            for name in ("APP", "CELERY_APP"):
                if name in env:
                    app = env[name] or f"${name}"
                    break
        text = " ".join(w.raw for w in words[start : first_arg + end] if w.raw)
        line, column = words[start].where
        self.found.append(
            WorkerCommandFacts(
                command=" ".join(text.split()),
                span=Span(line, column),
                app_target=app,
                subcommand=parsed.subcommand,
                queues=tuple(parsed.queues),
                beat=parsed.beat,
                include=tuple(parsed.include),
                workdir=_join_dir(workdir, parsed.workdir) if parsed.workdir else workdir,
                settings=tuple(parsed.settings),
            )
        )


# -- Procfile, shell -----------------------------------------------------------------------

_PROCFILE_LINE = re.compile(r"\s*[A-Za-z0-9_.-]+\s*:[ \t]*(.*?)\s*$")


def _read_procfile(text: str, reader: _Reader) -> None:
    """`name: command` lines (Heroku, honcho, foreman); each process is its own shell."""
    source = _Text.of_file(text)
    for start, line in zip(_line_starts(text), text.split("\n"), strict=True):
        if line.lstrip().startswith("#"):
            continue
        match = _PROCFILE_LINE.match(line)
        if match:
            reader.script(source.slice(start + match.start(1), start + match.end(1)), _Shell())


def _read_shell(text: str, reader: _Reader) -> None:
    reader.script(_Text.of_file(text), _Shell())


# -- Dockerfile ----------------------------------------------------------------------------

_Form = list[_Word] | _Text  # exec form (JSON array) or shell form
_CONTINUATION = re.compile(r"\\[ \t\r]*$")
_INSTRUCTION = re.compile(r"\s*([A-Za-z]+)(?:\s+|$)")


def _docker_instructions(text: str) -> Iterator[tuple[str, _Text]]:
    """(INSTRUCTION, its arguments) with continuations joined; comment and blank lines
    inside a continuation are dropped, as Docker does."""
    pieces: list[tuple[str, Position]] = []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        continued = _CONTINUATION.search(line)
        pieces.append((line[: continued.start()] if continued else line.rstrip("\r"), (number, 1)))
        if continued:
            continue
        yield from _docker_instruction(pieces)
        pieces = []
    yield from _docker_instruction(pieces)


def _docker_instruction(pieces: list[tuple[str, Position]]) -> Iterator[tuple[str, _Text]]:
    if not pieces:
        return
    joined = _Text.join(pieces)
    match = _INSTRUCTION.match(joined.value)
    if match:
        yield match[1].upper(), joined.slice(match.end(), len(joined.value))


def _docker_form(args: _Text) -> _Form:
    stripped = args.value.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            words = []
            search = 0
            for item in items:
                found = args.value.find(json.dumps(item, ensure_ascii=False), search)
                if found >= 0:
                    search = found + len(json.dumps(item, ensure_ascii=False))
                where = args.at(found if found >= 0 else args.value.find("["))
                words.append(_plain_word(item, where))
            return words
    lead = len(args.value) - len(args.value.lstrip())
    return args.slice(lead, len(args.value.rstrip()))


@dataclass
class _Stage:
    """One build stage: its runtime environment, WORKDIR and effective ENTRYPOINT/CMD."""

    env: dict[str, str | None] = field(default_factory=dict)
    args: dict[str, str | None] = field(default_factory=dict)
    workdir: str | None = None
    entrypoint: _Form | None = None
    cmd: _Form | None = None
    writes_command: bool = False  # ENTRYPOINT or CMD written in this stage
    writes_cmd: bool = False

    def inherit(self) -> _Stage:
        return _Stage(dict(self.env), dict(self.args), self.workdir, self.entrypoint, self.cmd)

    def lookup(self, name: str) -> str | None:
        return self.env[name] if name in self.env else self.args.get(name)


def _docker_assignments(args: _Text, stage: _Stage) -> Iterator[tuple[str, str, bool]]:
    """(name, value, has a value) of ENV/ARG arguments, `K=V ...` or legacy `K V`."""
    tokens = [t for t in _tokenize(args.value) if t.kind == "word"]
    if not tokens:
        return
    first = args.value[tokens[0].start : tokens[0].end]
    if "=" not in first and len(tokens) > 1:
        rest = args.value[tokens[0].end :].strip()
        fields = _expand(rest, 0, len(rest), stage.lookup, split=False)
        yield first, fields[0][0], True
        return
    for token in tokens:
        value = _expand(args.value, token.start, token.end, stage.lookup, split=False)[0][0]
        name, equals, rest = value.partition("=")
        if _NAME.fullmatch(name):
            yield name, rest, bool(equals)


def _read_dockerfile(text: str, reader: _Reader) -> None:
    stages: dict[str, _Stage] = {}
    stage = _Stage()
    for instruction, args in _docker_instructions(text):
        if instruction == "FROM":
            _run_stage(stage, reader)
            words = [w for w in args.value.split() if not w.startswith("--")]
            base = words[0].lower() if words else ""
            stage = stages[base].inherit() if base in stages else _Stage()
            if len(words) >= 3 and words[1].lower() == "as":
                stages[words[2].lower()] = stage
        elif instruction == "ENV":
            for name, value, _ in _docker_assignments(args, stage):
                stage.env[name] = _known(value)
        elif instruction == "ARG":
            for name, value, has_value in _docker_assignments(args, stage):
                stage.args[name] = _known(value) if has_value else stage.args.get(name)
        elif instruction == "WORKDIR":
            target = args.value.strip()
            value = _expand(target, 0, len(target), stage.lookup, split=False)[0][0]
            stage.workdir = _join_dir(stage.workdir, value)
        elif instruction == "CMD":
            stage.cmd = _docker_form(args)
            stage.writes_command = stage.writes_cmd = True
        elif instruction == "ENTRYPOINT":
            stage.entrypoint = _docker_form(args)
            if not stage.writes_cmd:
                stage.cmd = None  # setting ENTRYPOINT resets an inherited CMD
            stage.writes_command = True
    _run_stage(stage, reader)


def _run_stage(stage: _Stage, reader: _Reader) -> None:
    """The process a stage's image starts: ENTRYPOINT (exec form) + CMD, else either."""
    if not stage.writes_command:
        return
    shell = _Shell.with_env(stage.env, stage.workdir)
    entrypoint, cmd = stage.entrypoint, stage.cmd
    if isinstance(entrypoint, list):
        words = list(entrypoint)
        if isinstance(cmd, list):
            words += cmd
        elif isinstance(cmd, _Text):
            where = cmd.at(0)
            words += [
                _plain_word("/bin/sh", where),
                _plain_word("-c", where),
                _Word(cmd.value, cmd.value, where, cmd),
            ]
        reader.run(words, shell.environ(), stage.workdir, 0)
    elif isinstance(entrypoint, _Text):
        reader.script(entrypoint, shell)
    elif isinstance(cmd, list):
        reader.run(cmd, shell.environ(), stage.workdir, 0)
    elif isinstance(cmd, _Text):
        reader.script(cmd, shell)


# -- Makefile -----------------------------------------------------------------------------

_MAKE_ASSIGN = re.compile(
    r"(?:(?:export|override)\s+)*([A-Za-z_][A-Za-z0-9_.-]*)\s*(:::=|::=|:=|\?=|\+=|!=|=)\s*(.*)",
    re.S,
)
_MAKE_EXPORT = re.compile(r"export\s+([A-Za-z_][A-Za-z0-9_ \t.-]*)\s*$")
_MAKE_RULE = re.compile(r"([^:#=\t][^:#=]*?)::?(?!=)(.*)", re.S)
_MAKE_DIRECTIVE = re.compile(r"(?:ifeq|ifneq|ifdef|ifndef|else|endif|include|-include|sinclude)\b")


def _make_value(raw: str, variables: dict[str, str], depth: int = 0) -> str:
    text = _Text.fixed(raw, (1, 1))
    return _make_expand(text, variables, depth).value


def _make_expand(text: _Text, variables: dict[str, str], depth: int = 0) -> _Text:
    """`$(VAR)` / `${VAR}` of known make variables substituted and `$$` read as `$`;
    functions, automatic and unknown variables kept as written."""
    s = text.value
    chars: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(s):
        if s[i] == "$" and i + 1 < len(s):
            following = s[i + 1]
            if following == "$":
                chars.append("$")
                offsets.append(i)
                i += 2
                continue
            if following in "({":
                close = _scan_group(s, i + 2, following)
                name = s[i + 2 : close - 1]
                if _NAME.fullmatch(name.replace(".", "_").replace("-", "_")) and (
                    name in variables and depth < 10
                ):
                    value = _make_value(variables[name], variables, depth + 1)
                    chars.extend(value)
                    offsets.extend([i] * len(value))
                else:
                    chars.extend(s[i:close])
                    offsets.extend(range(i, close))
                i = close
                continue
        chars.append(s[i])
        offsets.append(i)
        i += 1
    return text.pick("".join(chars), offsets)


def _read_makefile(text: str, reader: _Reader) -> None:
    """Recipe lines (tab-indented, after a rule), each run by its own shell with the
    Makefile's exported variables; `$(VAR)` expanded from the Makefile's assignments."""
    source = _Text.of_file(text)
    starts = _line_starts(text)
    lines = text.split("\n")
    variables: dict[str, str] = {}
    exported: set[str] = set()
    in_rule = False
    in_define = False
    i = 0
    while i < len(lines):
        j = i
        while _CONTINUATION.search(lines[j]) and j + 1 < len(lines):
            j += 1
        line = lines[i]
        end = starts[j] + len(lines[j].rstrip("\r"))
        stripped = line.strip()
        if in_define:
            in_define = not stripped.startswith("endef")
        elif line.startswith("\t"):
            if in_rule:
                _make_recipe(source.slice(starts[i] + 1, end), variables, exported, reader)
        elif not stripped or stripped.startswith("#") or _MAKE_DIRECTIVE.match(stripped):
            pass
        elif stripped.startswith("define"):
            in_define, in_rule = True, False
        elif assign := _MAKE_ASSIGN.fullmatch(
            " ".join(_CONTINUATION.sub("", part).strip() for part in lines[i : j + 1])
        ):
            name, operator, value = assign.groups()
            if operator == "?=":
                variables.setdefault(name, value)
            elif operator == "+=":
                variables[name] = f"{variables[name]} {value}" if name in variables else value
            elif operator == "!=":
                variables.pop(name, None)  # a shell command's output: unknown
            else:
                variables[name] = value
            if stripped.startswith("export"):
                exported.add(name)
            in_rule = False
        elif export := _MAKE_EXPORT.fullmatch(stripped):
            exported.update(export[1].split())
        elif rule := _MAKE_RULE.fullmatch(line):
            prerequisites, semicolon, _ = rule[2].partition(";")
            if _MAKE_ASSIGN.fullmatch(prerequisites.strip()):
                pass  # a target-specific variable, not a rule
            else:
                in_rule = True
                if semicolon:
                    offset = starts[i] + rule.start(2) + len(prerequisites) + 1
                    _make_recipe(source.slice(offset, end), variables, exported, reader)
        i = j + 1


def _make_recipe(
    text: _Text, variables: dict[str, str], exported: set[str], reader: _Reader
) -> None:
    lead = len(text.value) - len(text.value.lstrip(" \t@-+"))
    recipe = _make_expand(text.slice(lead, len(text.value)), variables)
    env = {name: _known(_make_value(variables.get(name, ""), variables)) for name in exported}
    reader.script(recipe, _Shell.with_env(env))


# -- YAML: compose, Kubernetes, CI ---------------------------------------------------------

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COMPOSE_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])([^}]*)\}")
_K8S_VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_CI_SCRIPT_KEYS = ("before_script", "script", "after_script", "run", "command", "shell")
_YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")

_Entry = tuple[Node, Node]  # (key node, value node)


def _pairs(node: MappingNode, depth: int = 0) -> dict[str, _Entry]:
    """A mapping's entries by key, with `<<: *anchor` merges applied (own keys win)."""
    own: dict[str, _Entry] = {}
    merged: dict[str, _Entry] = {}
    for key, value in node.value:
        if key.tag == _MERGE_TAG and depth < 20:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                if isinstance(source, MappingNode):
                    for name, entry in _pairs(source, depth + 1).items():
                        merged.setdefault(name, entry)
        elif isinstance(key, ScalarNode):
            own[key.value] = (key, value)
    return {**merged, **own}


def _scalar(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode) and node.tag != _NULL_TAG:
        return str(node.value)
    return None


def _key_position(entry: _Entry) -> Position:
    mark = entry[0].start_mark
    return mark.line + 1, mark.column + 1


def _compose_interpolate(value: str) -> str:
    """Compose's own `${VAR:-default}` (the host's VAR is unknown: its default) and `$$`."""

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return match[3] if match[2].endswith("-") else match[0]

    return _COMPOSE_VARIABLE.sub(substitute, value)


def _compose_environment(entry: _Entry | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    node = entry[1] if entry else None
    if isinstance(node, MappingNode):
        for name, (_, value) in _pairs(node).items():
            text = _scalar(value)
            env[name] = _known(_compose_interpolate(text)) if text is not None else None
    elif isinstance(node, SequenceNode):
        for item in node.value:
            text = _scalar(item)
            if text is not None:
                name, equals, value = text.partition("=")
                env[name] = _known(_compose_interpolate(value)) if equals else None
    return env


def _compose_words(entry: _Entry, shell: _Shell) -> list[_Word]:
    where = _key_position(entry)
    node = entry[1]
    text = _scalar(node)
    if text is not None:
        return _split_words(_Text.fixed(_compose_interpolate(text), where), shell.lookup)
    if isinstance(node, SequenceNode):
        items = (_scalar(item) for item in node.value)
        return [_plain_word(_compose_interpolate(i), where) for i in items if i is not None]
    return []


def _compose_services(document: Node, named: bool) -> list[MappingNode] | None:
    if not isinstance(document, MappingNode):
        return None
    top = _pairs(document)
    services = top.get("services")
    if services is not None and isinstance(services[1], MappingNode):
        return [v for _, v in _pairs(services[1]).values() if isinstance(v, MappingNode)]
    if named:  # the version 1 format: services at the top level
        return [
            value
            for name, (_, value) in top.items()
            if isinstance(value, MappingNode)
            and not name.startswith("x-")
            and name not in ("volumes", "networks", "configs", "secrets")
        ]
    return None


def _read_service(service: MappingNode, reader: _Reader) -> None:
    entries = _pairs(service)
    env = _compose_environment(entries.get("environment"))
    workdir_entry = entries.get("working_dir")
    workdir = _scalar(workdir_entry[1]) if workdir_entry else None
    workdir = _compose_interpolate(workdir) if workdir is not None else None
    shell = _Shell.with_env(env, workdir)
    command = entries.get("command")
    entrypoint = entries.get("entrypoint")
    if entrypoint is not None and (
        _scalar(entrypoint[1]) or isinstance(entrypoint[1], SequenceNode)
    ):
        words = _compose_words(entrypoint, shell)
        if command is not None:
            words += _compose_words(command, shell)
        reader.run(words, env, workdir, 0)
    elif command is not None:
        text = _scalar(command[1])
        if text is not None:
            where = _key_position(command)
            reader.script(_Text.fixed(_compose_interpolate(text), where), shell)
        else:
            reader.run(_compose_words(command, shell), env, workdir, 0)


def _yaml_text(node: ScalarNode, lines: list[str]) -> _Text:
    """A scalar's value with positions: exact for `|` blocks and one-line scalars."""
    value = str(node.value)
    start, end = node.start_mark, node.end_mark
    line, column = start.line + 1, start.column + 1
    if node.style == "|":
        starts: list[int] = []
        where: list[Position] = []
        offset = 0
        for k, part in enumerate(value.split("\n")):
            number = line + 1 + k
            source = lines[number - 1] if number - 1 < len(lines) else ""
            starts.append(offset)
            where.append((number, len(source) - len(part) + 1 if source.endswith(part) else 1))
            offset += len(part) + 1
        return _Text(value, starts, where)
    width = end.column - start.column
    if start.line == end.line and node.style in (None, "") and width == len(value):
        return _Text(value, [0], [(line, column)])
    if start.line == end.line and node.style in ("'", '"') and width == len(value) + 2:
        return _Text(value, [0], [(line, column + 1)])
    return _Text.fixed(value, (line, column))


def _walk_yaml(node: Node, lines: list[str], reader: _Reader, seen: set[int], depth: int) -> None:
    """Kubernetes containers (`command` + `args` lists) and CI steps (`run:`, `script:`)
    anywhere in a document that is not a compose file."""
    if id(node) in seen or depth > 100:
        return
    seen.add(id(node))
    if isinstance(node, SequenceNode):
        for item in node.value:
            _walk_yaml(item, lines, reader, seen, depth + 1)
        return
    if not isinstance(node, MappingNode):
        return
    entries = _pairs(node)
    _read_container(entries, reader)
    _read_ci_step(entries, lines, reader)
    for _, value in entries.values():
        _walk_yaml(value, lines, reader, seen, depth + 1)


def _read_container(entries: dict[str, _Entry], reader: _Reader) -> None:
    lists = [entries[k] for k in ("command", "args") if k in entries]
    lists = [entry for entry in lists if isinstance(entry[1], SequenceNode)]
    if not lists:
        return
    env: dict[str, str | None] = {}
    env_entry = entries.get("env")
    if env_entry and isinstance(env_entry[1], SequenceNode):
        for item in env_entry[1].value:
            if isinstance(item, MappingNode):
                pairs = _pairs(item)
                name = _scalar(pairs["name"][1]) if "name" in pairs else None
                if name:
                    value = _scalar(pairs["value"][1]) if "value" in pairs else None
                    env[name] = _known(value) if value is not None else None

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return env.get(match[1]) or match[0]

    words: list[_Word] = []
    for entry in lists:
        where = _key_position(entry)
        for item in entry[1].value:
            text = _scalar(item)
            if text is not None:
                words.append(_plain_word(_K8S_VARIABLE.sub(substitute, text), where))
    workdir_entry = entries.get("workingDir")
    workdir = _scalar(workdir_entry[1]) if workdir_entry else None
    reader.run(words, env, workdir, 0)


def _read_ci_step(entries: dict[str, _Entry], lines: list[str], reader: _Reader) -> None:
    env: dict[str, str | None] = {}
    for key in ("env", "variables"):
        entry = entries.get(key)
        if entry and isinstance(entry[1], MappingNode):
            for name, (_, value) in _pairs(entry[1]).items():
                text = _scalar(value)
                env[name] = _known(text) if text is not None else None
    workdir_entry = entries.get("working-directory")
    workdir = _scalar(workdir_entry[1]) if workdir_entry else None
    shell = _Shell.with_env(env, workdir)
    for key, (_, value) in entries.items():
        if key not in _CI_SCRIPT_KEYS:
            continue
        if isinstance(value, ScalarNode) and _scalar(value) is not None:
            reader.script(_yaml_text(value, lines), shell)
        elif isinstance(value, SequenceNode) and key.endswith("script"):
            for item in value.value:
                if isinstance(item, ScalarNode) and _scalar(item) is not None:
                    reader.script(_yaml_text(item, lines), shell)


def _read_yaml(name: str, text: str, reader: _Reader) -> None:
    named = name.startswith(("docker-compose", "compose"))
    try:
        documents = [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]
    except yaml.MarkedYAMLError as error:
        # A compose file that does not parse is a finding (CA001); other YAML (Helm
        # templates, say) is often not YAML before rendering: no facts, no noise.
        if not named:
            return
        mark = error.problem_mark or error.context_mark
        span = Span(mark.line + 1, mark.column + 1) if mark else Span(1)
        raise SourceError(f"invalid YAML: {error.problem or error.context}", span) from None
    except (yaml.YAMLError, RecursionError):
        if named:
            raise SourceError("invalid YAML", Span(1)) from None
        return
    lines = _YAML_LINE_BREAK.split(text)
    for document in documents:
        services = _compose_services(document, named)
        if services is not None:
            for service in services:
                _read_service(service, reader)
        else:
            _walk_yaml(document, lines, reader, set(), 0)


# -- supervisor / uWSGI / upstart, systemd, package.json -----------------------------------

_SUPERVISOR_ENV = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,]*)\s*(?:,|$)"
)
_INI_SECTION = re.compile(r"\s*\[(.+)\]")
_UWSGI_DAEMONS = {"attach-daemon": 0, "smart-attach-daemon": 1, "legion-attach-daemon": 1}


def _ini_value_text(
    text: str, source: _Text, section: str, key: str, value: str
) -> Iterator[_Text]:
    """Each `key = value` line of a section, as text with positions (a line scan)."""
    starts = _line_starts(text)
    inside = False
    for start, line in zip(starts, text.split("\n"), strict=True):
        header = _INI_SECTION.match(line)
        if header:
            inside = header[1] == section
            continue
        match = re.match(rf"\s*{re.escape(key)}\s*[=:][ \t]*", line, re.I) if inside else None
        if not match:
            continue
        rest = line[match.end() :]
        first = value.split("\n", 1)[0] if value else rest.strip()
        if "\n" not in value and rest.startswith(first):
            yield source.slice(start + match.end(), start + match.end() + len(first))
        else:
            where = source.at(start + match.end())
            yield _Text.fixed(" ".join((value or rest).split()), where)


def _supervisor_env(value: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    for match in _SUPERVISOR_ENV.finditer(value):
        raw = match[2].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        env[match[1]] = _known(raw)
    return env


def _read_ini(name: str, text: str, reader: _Reader) -> None:
    """supervisord `[program:x]` (command=, directory=, environment=) and uWSGI
    `attach-daemon`; a `.conf` that is not INI is read as an upstart job."""
    parser = configparser.ConfigParser(
        interpolation=None,
        strict=False,
        allow_no_value=True,
        inline_comment_prefixes=(";", "#"),
    )
    try:
        parser.read_string(text)
    except configparser.Error:
        if name.endswith(".conf"):
            _read_upstart(text, reader)
        return
    source = _Text.of_file(text)
    for section in parser.sections():
        values = parser[section]
        if section.startswith("program:"):
            command = values.get("command")
            if not command:
                continue
            env = _supervisor_env(values.get("environment") or "")
            workdir = values.get("directory")
            for command_text in _ini_value_text(text, source, section, "command", command):
                reader.script(command_text, _Shell.with_env(env, workdir))
                break
        elif section == "uwsgi":
            workdir = values.get("chdir")
            for key, skip in _UWSGI_DAEMONS.items():
                for value in _ini_value_text(text, source, section, key, ""):
                    # smart-/legion- daemons start with a pidfile or legion name
                    words = list(re.finditer(r"\S+", value.value))
                    if len(words) > skip:
                        command_text = value.slice(words[skip].start(), len(value.value))
                        reader.script(command_text, _Shell.with_env({}, workdir))


def _read_upstart(text: str, reader: _Reader) -> None:
    source = _Text.of_file(text)
    starts = _line_starts(text)
    lines = text.split("\n")
    shell = _Shell()
    for line in lines:
        words = line.split(None, 1)
        if len(words) == 2 and words[0] == "env":
            name, _, value = words[1].strip().partition("=")
            shell.assign(name.strip(), value.strip().strip("\"'"), export=True)
        elif len(words) == 2 and words[0] == "chdir":
            shell.workdir = words[1].strip()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if re.fullmatch(r"(?:(?:pre|post)-(?:start|stop)\s+)?script", stripped):
            j = next(
                (k for k in range(i + 1, len(lines)) if lines[k].strip() == "end script"),
                len(lines),
            )
            end = starts[j] if j < len(lines) else len(text)
            if i + 1 < len(lines):
                reader.script(source.slice(starts[i + 1], end), shell.copy())
            i = j + 1
            continue
        if stripped.startswith("exec "):
            offset = starts[i] + lines[i].index("exec")
            reader.script(source.slice(offset, starts[i] + len(lines[i])), shell.copy())
        i += 1


def _read_systemd(text: str, reader: _Reader) -> None:
    """`[Service]` ExecStart= lines with WorkingDirectory= and Environment=
    (EnvironmentFile= names a file we do not read)."""
    source = _Text.of_file(text)
    starts = _line_starts(text)
    lines = text.split("\n")
    section = ""
    env: dict[str, str | None] = {}
    workdir: str | None = None
    commands: list[_Text] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped[0] in "#;":
            i += 1
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]").strip()
            i += 1
            continue
        pieces: list[tuple[str, Position]] = []
        while True:
            line = lines[i].rstrip("\r")
            lead = len(line) - len(line.lstrip())
            continued = _CONTINUATION.search(line) if i + 1 < len(lines) else None
            body = line[lead : continued.start()] if continued else line[lead:]
            pieces.append((body + (" " if continued else ""), source.at(starts[i] + lead)))
            i += 1
            if not continued:
                break
        logical = _Text.join(pieces)
        key, equals, _ = logical.value.partition("=")
        if section != "Service" or not equals:
            continue
        value = logical.slice(len(key) + 1, len(logical.value))
        key = key.strip()
        if key == "Environment":
            for word in _split_words(value, lambda _: None):
                name, has_value, assigned = word.value.partition("=")
                if has_value and _NAME.fullmatch(name):
                    env[name] = _known(assigned)
        elif key == "WorkingDirectory":
            workdir = value.value.strip().lstrip("-") or None
        elif key == "ExecStart":
            if not value.value.strip():
                commands.clear()  # an empty ExecStart= resets the list
            else:
                commands.append(value)
    for command in commands:
        lead = len(command.value) - len(command.value.lstrip())
        prefix = re.match(r"[-@+!:|]*", command.value[lead:])
        flags = prefix[0] if prefix else ""
        words = _split_words(command.slice(lead + len(flags), len(command.value)), env.get)
        if "@" in flags and len(words) > 1:
            del words[1]  # `@/usr/bin/celery celery ...`: the second word is argv[0]
        reader.run(words, env, workdir, 0)


def _read_package_json(text: str, reader: _Reader) -> None:
    """npm `scripts` (run by sh); each fact points at its script's key."""
    try:
        data = json.loads(text)
    except ValueError:
        return
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return
    starts = _line_starts(text)
    anchor = re.search(r'"scripts"\s*:', text)
    search = anchor.end() if anchor else 0
    for key, command in scripts.items():
        if not isinstance(command, str):
            continue
        match = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:").search(
            text, search
        )
        offset = match.start() if match else search
        if match:
            search = match.end()
        line = bisect_right(starts, offset)
        reader.script(_Text.fixed(command, (line, offset - starts[line - 1] + 1)), _Shell())


# -- entry point ---------------------------------------------------------------------------


def extract_scripts(path: str, text: str) -> tuple[WorkerCommandFacts, ...]:
    """The celery commands a service script starts, in source order.

    The format is chosen by file name: Procfile*, Dockerfile*, Makefile, package.json,
    docker-compose*/compose* and other YAML, *.service (systemd), *.conf/*.ini
    (supervisord, uWSGI, upstart); anything else is read as a shell script.
    """
    name = path.rsplit("/", 1)[-1].lower()
    suffix = posixpath.splitext(name)[1]
    compose = name.startswith(("docker-compose", "compose"))
    if not compose and "celery" not in text.lower():
        # No celery command can be in it: not parsed (a YAML file of data, a script
        # that starts something else; a 1.3 MB YAML vocabulary took 7.7 s). A compose
        # file is always read: one that does not parse is a finding (CA001).
        return ()
    reader = _Reader()
    if name.startswith("procfile"):
        _read_procfile(text, reader)
    elif name in ("makefile", "gnumakefile") or suffix == ".mk":
        _read_makefile(text, reader)
    elif compose or suffix in (".yml", ".yaml"):
        _read_yaml(name, text, reader)
    elif (
        name in ("dockerfile", "containerfile")
        or name.startswith("dockerfile.")
        or (name.endswith(".dockerfile"))
    ):
        _read_dockerfile(text, reader)
    elif name == "package.json":
        _read_package_json(text, reader)
    elif suffix == ".service":
        _read_systemd(text, reader)
    elif suffix in (".conf", ".ini"):
        _read_ini(name, text, reader)
    else:
        _read_shell(text, reader)
    return reader.result()
