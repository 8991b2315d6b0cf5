"""Frontend code: the HTTP requests a browser script makes, and what it reads back.

One file in, `FrontendCallFacts` out. Nothing is executed: a small JavaScript tokenizer
(comments, strings with escapes, template literals with nested `${...}`, regex literals
by the usual previous-token rule, numbers, names, punctuators) turns the file into
tokens, and the analysis works on tokens with matched brackets, never on raw text, so a
URL or a state name in a comment, a string or a regex is never mistaken for code.

Which parts of a file are JavaScript: all of .js/.mjs/.cjs/.ts/.jsx/.tsx (and of
`x.js.j2`-style templates); for .vue/.svelte/.html/.htm/.jinja/.jinja2/.j2 only the
bodies of `<script>` elements whose `type` is JavaScript, everything else blanked to
spaces so lines and columns stay the original file's. HTML comments hide scripts. In
HTML and Jinja files `{# ... #}` is a comment, `{% ... %}` is skipped like whitespace (so
both branches of an `{% if %}` read as code) and `{{ ... }}` is one opaque value, kept
verbatim in URLs, also inside string literals.

Calls: `fetch(url, {method})`, `axios(url | config)`, `axios.get/post/put/patch/delete/
head/options/request(...)` (also on instances from `axios.create({baseURL})`, whose base
is prefixed, and with TypeScript type arguments), `$.ajax(url?, settings)`,
`$.get/post/getJSON(...)` (also `jQuery.`), `X.open(method, url)` on an `X` assigned
`new XMLHttpRequest()`, and navigations that follow a redirect: `location = url`,
`location.href = url`, `location.assign/replace(url)`, with or without `window.` or
`document.`. The method defaults to "GET"; a literal method is upper-cased.

URLs: string literals; `+` concatenations and template literals, their unknown parts
rendered as `{expression}` (source text, whitespace collapsed):
`` `/api/exports/${id}/status` `` is "/api/exports/{id}/status". A name declared
`const/let/var NAME = <string, concatenation or template>` is resolved (the nearest
declaration before the use); anything else is "{expression}". An `http(s)://host[:port]`
origin or a leading `{window.location.origin}` is dropped.

Attaching states and fields to calls (the precise variant, not the per-function
fallback): each call's response value is followed through `await`, promise chains
(`.then/.done/.success`, `.json()` on a fetch Response, axios' `.data`), callback
parameters (inline functions, or functions of this file passed by name), jQuery
`success:` settings and shorthand callbacks, `JSON.parse(xhr.responseText)` and
`xhr.response`, assignments and destructuring, and into functions of this file that
receive the value as an argument or return it (names resolved by lexical scope). Every
member chain read on a followed value is a field: `data.meta.percent` is "meta.percent",
`data["state"]` is "state", axios' leading `.data` is dropped, a method call ends the
chain (`data.result.toFixed()` reads "result"), and `const {state, meta: {percent}} =
data` reads "state" and "meta.percent". A call whose response is never read has no
fields. A state is an ALL-CAPS string literal (`[A-Z][A-Z0-9_]*`, HTTP method names
excepted) compared with `==`/`===`/`!=`/`!==`, a `case` label of a `switch`, or an
element of an array (inline, or a named constant, also `new Set([...])`) tested with
`.includes/.indexOf/.has`. It attaches to the calls whose followed value the compared
expression reads; a comparison that reads no followed value (`this.state === "SUCCESS"`)
attaches to the call whose handling code most narrowly encloses it, unless it compares
an HTTP or DOM property (`xhr.statusText === "OK"`); a comparison that reads only a raw
Response (`response.statusText`) or lies outside all handling code attaches to nothing.

Not supported: inline event-handler attributes (`onclick="fetch(...)"`), JSX text with
unbalanced quotes (the damage stays within its line), other HTTP clients (ky,
superagent, Angular's HttpClient, `this.$http`), block scoping (let/const are function
scoped here), data flow through object properties, arrays, classes or other files.

Linear time, and never an exception on malformed input: unterminated strings end at the
line break, unterminated comments and templates at the end of the file, unbalanced
brackets are recovered from, and the analysis runs a bounded number of passes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from celery_audit.model.facts import FrontendCallFacts, Span

__all__ = [
    "HEAD",
    "JINJA",
    "MIDDLE",
    "NAME",
    "NUMBER",
    "PUNCT",
    "REGEX",
    "STRING",
    "TAIL",
    "Token",
    "extract_frontend",
    "script_source",
    "tokenize",
]

# -- which parts of a file are JavaScript -------------------------------------------------

_JS_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"})
_JINJA_SUFFIXES = frozenset({".jinja", ".jinja2", ".j2"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_COMPONENT_SUFFIXES = frozenset({".vue", ".svelte"})
_JS_TYPES = frozenset(
    [
        "text/javascript",
        "application/javascript",
        "module",
        "text/ecmascript",
        "application/ecmascript",
        "application/x-javascript",
        "text/x-javascript",
        "text/babel",
        "text/jsx",
        "text/typescript",
        "application/typescript",
    ]
) | {""}
_MARKUP = re.compile(r"<!--|<script(?=[\s/>])|\{#", re.IGNORECASE)
_MARKUP_NO_JINJA = re.compile(r"<!--|<script(?=[\s/>])", re.IGNORECASE)
_SCRIPT_END = re.compile(r"</script", re.IGNORECASE)
_TYPE_ATTR = re.compile(r"""(?:^|\s)type\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_NOT_LINE_BREAK = re.compile(r"[^\r\n\u2028\u2029]+")


def script_source(path: str, text: str) -> tuple[str, bool]:
    """The JavaScript of a frontend file, everything else blanked to spaces (so offsets,
    lines and columns are the original file's), and whether Jinja markup may occur in it."""
    name = PurePosixPath(path.lower())
    if name.suffix in _JINJA_SUFFIXES:
        if PurePosixPath(name.stem).suffix in _JS_SUFFIXES:
            return text, True
        return _script_blocks(text, jinja=True), True
    if name.suffix in _HTML_SUFFIXES:
        return _script_blocks(text, jinja=True), True
    if name.suffix in _COMPONENT_SUFFIXES:
        return _script_blocks(text, jinja=False), False
    return text, False


def _blank(text: str) -> str:
    return _NOT_LINE_BREAK.sub(lambda match: " " * len(match.group()), text)


def _after(text: str, closer: str, start: int) -> int:
    found = text.find(closer, start)
    return len(text) if found < 0 else found + len(closer)


def _tag_end(text: str, start: int) -> int:
    """The offset of the `>` that ends a start tag (quoted `>` do not count), or -1."""
    quote = ""
    for offset in range(start, len(text)):
        char = text[offset]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ">":
            return offset
    return -1


def _is_javascript(attributes: str) -> bool:
    match = _TYPE_ATTR.search(attributes)
    if match is None:
        return True
    kind = match.group(1) or match.group(2) or match.group(3) or ""
    return kind.split(";")[0].strip().lower() in _JS_TYPES


def _script_blocks(text: str, *, jinja: bool) -> str:
    pattern = _MARKUP if jinja else _MARKUP_NO_JINJA
    out: list[str] = []
    pos = 0
    while pos < len(text):
        match = pattern.search(text, pos)
        if match is None:
            break
        marker = match.group().lower()
        if marker == "<!--":
            end = _after(text, "-->", match.end())
        elif marker == "{#":
            end = _after(text, "#}", match.end())
        else:
            close = _tag_end(text, match.end())
            if close < 0:
                break
            attributes = text[match.end() : close]
            if attributes.rstrip().endswith("/"):
                body_end = close + 1
            else:
                found = _SCRIPT_END.search(text, close + 1)
                body_end = found.start() if found else len(text)
            body = text[close + 1 : body_end]
            out.append(_blank(text[pos : close + 1]))
            out.append(body if _is_javascript(attributes) else _blank(body))
            pos = body_end
            continue
        out.append(_blank(text[pos:end]))
        pos = end
    out.append(_blank(text[pos:]))
    return "".join(out)


# -- the tokenizer ----------------------------------------------------------------------

NAME = "name"
NUMBER = "number"
STRING = "string"  # also a template literal without substitutions
REGEX = "regex"
PUNCT = "punct"
JINJA = "jinja"  # {{ ... }} in a Jinja template: an opaque value
HEAD = "template-head"  # `text${
MIDDLE = "template-middle"  # }text${
TAIL = "template-tail"  # }text`


@dataclass(frozen=True, slots=True)
class Token:
    """One JavaScript token. `value` is the name, the punctuator, the cooked text of a
    string or template piece, or the source text of a number, regex or Jinja token.
    Lines and columns are 1-based; `end_column` is exclusive."""

    kind: str
    value: str
    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    newline_before: bool = False

    def punct(self, *values: str) -> bool:
        return self.kind == PUNCT and self.value in values

    def name(self, *values: str) -> bool:
        return self.kind == NAME and self.value in values


_LINE_BREAK = re.compile(r"\r\n?|[\n\u2028\u2029]")
_SPACE = re.compile(r"[\s\ufeff]+")
_NAME = re.compile(r"(?:[^\W\d]|\$)[\w$]*")
_NUMBER = re.compile(
    r"0[xXoObB][\da-fA-F_]*n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?"
)
_PUNCTUATOR = re.compile(
    r">>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=|=>|==|!=|<=|>=|&&|\|\||\?\?"
    r"|\?\.(?!\d)|\+\+|--|\+=|-=|\*=|/=|%=|&=|\|=|\^=|\*\*|<<|>>|[{}()\[\];,<>+\-*/%&|^!~?:=.@#]"
)
_REGEX_BODY = re.compile(r"[^\\\[\]/\r\n\u2028\u2029]+")
_FLAGS = re.compile(r"[\w$]*")
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
# After these names a `/` starts a regex literal rather than a division.
_REGEX_AFTER_NAMES = frozenset(
    [
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "instanceof",
        "new",
        "delete",
        "void",
        "throw",
        "yield",
        "await",
        "of",
    ]
)
_JINJA_CLOSERS = {"{": "}}", "%": "%}", "#": "#}"}


def _unescape_one(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape[0] in "\r\n\u2028\u2029":
        return ""
    if escape[0] in "ux" and len(escape) > 1:
        digits = escape[2:-1] if escape.startswith("u{") else escape[1:]
        code = int(digits, 16)
        return chr(code) if code <= 0x10FFFF else ""
    return _SIMPLE_ESCAPES.get(escape, escape)


def _unescape(raw: str) -> str:
    return _ESCAPE.sub(_unescape_one, raw) if "\\" in raw else raw


class _Lexer:
    def __init__(self, text: str, jinja: bool) -> None:
        self.text = text
        self.jinja = jinja
        self.line_starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        self.tokens: list[Token] = []
        self.newline = False
        # True for a `${` substitution, False for a plain `{`.
        self.braces: list[bool] = []
        self.string_chunk = {
            quote: re.compile(rf"[^{quote}\\\r\n\u2028\u2029{'{' if jinja else ''}]+")
            for quote in "'\""
        }
        self.template_chunk = re.compile(r"[^`\\${]+" if jinja else r"[^`\\$]+")
        self.jinja_closers: dict[str, list[int]] = {}
        if jinja:
            for closer in ("}}", "%}"):
                self.jinja_closers[closer] = [
                    m.start() for m in re.finditer(re.escape(closer), text)
                ]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def emit(self, kind: str, value: str, start: int, end: int) -> None:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        self.tokens.append(
            Token(kind, value, start, end, line, column, end_line, end_column, self.newline)
        )
        self.newline = False

    def regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind == PUNCT:
            return last.value not in (")", "]", "++", "--")
        if last.kind == NAME:
            return last.value in _REGEX_AFTER_NAMES
        return last.kind in (HEAD, MIDDLE)

    def jinja_close_in_line(self, start: int, closer: str) -> int:
        """The offset after the `closer` of Jinja markup opened at `start` inside a string,
        when it closes on the same line; else -1."""
        positions = self.jinja_closers.get(closer, [])
        index = bisect.bisect_left(positions, start + 2)
        if index == len(positions):
            return -1
        line = bisect.bisect_right(self.line_starts, start)
        line_end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return positions[index] + 2 if positions[index] < line_end else -1

    def string(self, start: int) -> int:
        text, quote = self.text, self.text[start]
        chunk = self.string_chunk[quote]
        pos, closed = start + 1, False
        while pos < len(text):
            match = chunk.match(text, pos)
            if match:
                pos = match.end()
                if pos >= len(text):
                    break
            char = text[pos]
            if char == quote:
                pos, closed = pos + 1, True
                break
            if char == "\\":
                pos += 3 if text.startswith("\r\n", pos + 1) else 2
            elif char == "{":
                after = text[pos + 1 : pos + 2]
                close = (
                    self.jinja_close_in_line(pos, _JINJA_CLOSERS[after])
                    if after in "{%" and after
                    else -1
                )
                pos = close if close > 0 else pos + 1
            else:  # a line break: the string is unterminated
                break
        pos = min(pos, len(text))
        raw = text[start + 1 : pos - 1 if closed else pos]
        self.emit(STRING, _unescape(raw), start, pos)
        return pos

    def template(self, start: int) -> tuple[int, str, bool]:
        """Scan template characters from `start` (just after a backtick or the `}` of a
        substitution): (end offset, cooked text, whether a `${` substitution opens)."""
        text, pos = self.text, start
        while pos < len(text):
            match = self.template_chunk.match(text, pos)
            if match:
                pos = match.end()
                if pos >= len(text):
                    break
            char = text[pos]
            if char == "`":
                return pos + 1, _unescape(text[start:pos]), False
            if char == "\\":
                pos += 2
            elif char == "$":
                if text.startswith("{", pos + 1):
                    return pos + 2, _unescape(text[start:pos]), True
                pos += 1
            else:  # "{" in Jinja mode
                after = text[pos + 1 : pos + 2]
                pos = (
                    _after(text, _JINJA_CLOSERS[after], pos + 2)
                    if after and after in "{%#"
                    else pos + 1
                )
        return len(text), _unescape(text[start:]), False

    def regex(self, start: int) -> int:
        text, pos, in_class = self.text, start + 1, False
        while pos < len(text):
            match = _REGEX_BODY.match(text, pos)
            if match:
                pos = match.end()
                if pos >= len(text):
                    break
            char = text[pos]
            if char == "\\":
                if text[pos + 1 : pos + 2] in ("", "\r", "\n", "\u2028", "\u2029"):
                    pos += 1
                    break
                pos += 2
            elif char == "[":
                in_class, pos = True, pos + 1
            elif char == "]":
                in_class, pos = False, pos + 1
            elif char == "/":
                pos += 1
                if not in_class:
                    flags = _FLAGS.match(text, pos)
                    pos = flags.end() if flags else pos
                    break
            else:  # a line break: the regex is unterminated
                break
        pos = min(pos, len(text))
        self.emit(REGEX, text[start:pos], start, pos)
        return pos

    def run(self) -> list[Token]:
        text, pos = self.text, 0
        while pos < len(text):
            char = text[pos]
            if char.isspace() or char == "\ufeff":
                match = _SPACE.match(text, pos)
                end = match.end() if match else pos + 1
                if _LINE_BREAK.search(text, pos, end):
                    self.newline = True
                pos = end
                continue
            after = text[pos + 1 : pos + 2]
            if char == "/" and after == "/":
                found = _LINE_BREAK.search(text, pos)
                pos = found.start() if found else len(text)
                continue
            if char == "/" and after == "*":
                end = _after(text, "*/", pos + 2)
                if _LINE_BREAK.search(text, pos, end):
                    self.newline = True
                pos = end
                continue
            if char == "/" and self.regex_allowed() and not self.closing_tag(pos):
                pos = self.regex(pos)
                continue
            if self.jinja and char == "{" and after and after in "{%#":
                end = _after(text, _JINJA_CLOSERS[after], pos + 2)
                if after == "{":
                    self.emit(JINJA, " ".join(text[pos:end].split()), pos, end)
                elif _LINE_BREAK.search(text, pos, end):
                    self.newline = True
                pos = end
                continue
            if char in "'\"":
                pos = self.string(pos)
                continue
            if char == "`":
                end, value, opens = self.template(pos + 1)
                if opens:
                    self.braces.append(True)
                self.emit(HEAD if opens else STRING, value, pos, end)
                pos = end
                continue
            if char == "}" and self.braces and self.braces[-1]:
                self.braces.pop()
                end, value, opens = self.template(pos + 1)
                if opens:
                    self.braces.append(True)
                self.emit(MIDDLE if opens else TAIL, value, pos, end)
                pos = end
                continue
            if char.isdigit() or (char == "." and after.isdigit()):
                match = _NUMBER.match(text, pos)
                end = match.end() if match and match.end() > pos else pos + 1
                self.emit(NUMBER, text[pos:end], pos, end)
                pos = end
                continue
            match = _NAME.match(text, pos)
            if match:
                self.emit(NAME, match.group(), pos, match.end())
                pos = match.end()
                continue
            match = _PUNCTUATOR.match(text, pos)
            if match:
                value = match.group()
                if value == "{":
                    self.braces.append(False)
                elif value == "}" and self.braces:
                    self.braces.pop()
                self.emit(PUNCT, value, pos, match.end())
                pos = match.end()
                continue
            pos += 1  # a character JavaScript has no use for: skip it
        return self.tokens

    def closing_tag(self, pos: int) -> bool:
        """`</div>` in JSX: after `<`, a `/` before a letter or `>` is no regex."""
        last = self.tokens[-1] if self.tokens else None
        after = self.text[pos + 1 : pos + 2]
        return last is not None and last.punct("<") and (after.isalpha() or after == ">")


def tokenize(text: str, *, jinja: bool = False) -> list[Token]:
    """The JavaScript tokens of `text`; comments and whitespace are dropped. With `jinja`,
    `{# #}` and `{% %}` are skipped and `{{ }}` is one JINJA token."""
    return _Lexer(text, jinja).run()


# -- the analysis ------------------------------------------------------------------------

_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "await",
        "async",
        "of",
        "true",
        "false",
        "null",
        "undefined",
    ]
)
_METHOD_PREFIX = frozenset(
    [
        "{",
        ",",
        ";",
        "}",
        "async",
        "static",
        "get",
        "set",
        "*",
        "public",
        "private",
        "protected",
        "readonly",
        "override",
    ]
)
# A line that starts with one of these continues the expression of the line before.
_CONTINUATION = frozenset(
    [
        ".",
        "?.",
        "?",
        ":",
        "+",
        "-",
        "*",
        "/",
        "%",
        "**",
        "&&",
        "||",
        "??",
        "&",
        "|",
        "^",
        "==",
        "===",
        "!=",
        "!==",
        "<",
        ">",
        "<=",
        ">=",
        "<<",
        ">>",
        ">>>",
        "=",
        "=>",
        "+=",
        "-=",
        "instanceof",
        "in",
    ]
)
_COMPARISONS = frozenset({"===", "==", "!==", "!="})
_STATE = re.compile(r"[A-Z][A-Z0-9_]*")
# Compared with an ALL-CAPS string, these hold HTTP or DOM values, never a task state.
_NOT_STATE_PROPERTIES = frozenset(
    [
        "statusText",
        "method",
        "type",
        "key",
        "code",
        "readyState",
        "responseType",
        "tagName",
        "nodeName",
    ]
)
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_AXIOS_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_JQUERY_METHODS = {"ajax": "GET", "get": "GET", "post": "POST", "getJSON": "GET"}
_GLOBALS = frozenset({"window", "self", "globalThis"})
_LOCATION_OWNERS = frozenset({"window", "document", "self", "top", "parent", "globalThis"})
_ORIGIN = re.compile(r"https?://[^/?#]*", re.IGNORECASE)
_ORIGIN_EXPRESSIONS = tuple(
    "{" + owner + "location.origin}" for owner in ("window.", "document.", "self.", "")
)
_MAX_PASSES = 6
_MAX_DEPTH = 8
_MAX_NESTING = 64  # enclosing functions looked through for a name
_MAX_TEXT = 160  # characters of an expression kept in a `{expression}` placeholder
_MAX_SCAN = 400  # tokens of a callback body searched for `.json()` / `.data`


@dataclass(frozen=True)
class _Value:
    """What a tracked expression holds: a fetch Response ("fetch"), an axios response
    ("axios") or response data ("data") at `path`; `promise` when it is still awaited."""

    kind: str
    path: tuple[str, ...] = ()
    promise: bool = False


@dataclass(frozen=True)
class _Binding:
    """`name` holds `value` (of `call`'s response) in tokens[start:end]; `owner` is the
    body start of the function it belongs to (-1: the file)."""

    name: str
    start: int
    end: int
    call: int
    value: _Value
    owner: int


@dataclass(frozen=True)
class _Function:
    start: int  # first token of the function (including `async`)
    name: str | None
    params_open: int  # index of the "(" of the parameter list, or -1
    param: int  # index of the single unparenthesised parameter, or -1
    body_start: int
    body_end: int  # exclusive
    block: bool
    is_async: bool


@dataclass
class _Call:
    url: str
    method: str
    start: int
    end: int  # exclusive
    value: _Value | None
    xhr: str | None = None
    chain_end: int = -1


class _Analysis:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.count = len(tokens)
        self.match, self.parent = self._pair()
        self.expression_ends: dict[int, int] = {}
        self.functions: list[_Function] = []
        self.by_start: dict[int, _Function] = {}
        self.by_body: dict[int, _Function] = {}
        self.definition_names: set[int] = set()
        self._find_functions()
        self.enclosing = self._enclosing_functions()
        self.declared: dict[tuple[str, int], list[_Function]] = {}
        for function in self.functions:
            if function.name:
                key = (function.name, self._block_scope(function.start)[0])
                self.declared.setdefault(key, []).append(function)
        self.declarations: dict[str, list[tuple[int, int, int]]] = {}
        self._find_declarations()
        self.calls: list[_Call] = []
        self.regions: dict[int, set[tuple[int, int]]] = {}
        self.fields: dict[int, set[str]] = {}
        self.states: dict[int, set[str]] = {}
        self.bindings: dict[tuple[str, int], list[_Binding]] = {}
        self.bound_names: set[str] = set()
        self.binding_set: set[_Binding] = set()
        self.returns: dict[int, set[tuple[_Value, int]]] = {}
        self.parameter_names: dict[int, frozenset[str]] = {}
        self.parameter_lists: dict[int, list[tuple[int, int]]] = {}

    # -- structure ----------------------------------------------------------------------

    def _pair(self) -> tuple[list[int], list[int]]:
        """Matching brackets (template heads match their tails) and the innermost open
        bracket around every token. An opener left open by a wrong closer is matched to
        that closer; one left open at the end is matched to the end."""
        tokens, count = self.tokens, self.count
        match, parent = [-1] * count, [-1] * count
        stack: list[int] = []
        wanted = {")": "(", "]": "[", "}": "{"}
        for index, token in enumerate(tokens):
            parent[index] = stack[-1] if stack else -1
            if token.kind == HEAD or token.punct("(", "[", "{"):
                stack.append(index)
                continue
            if token.kind in (MIDDLE, TAIL):
                want = HEAD
            elif token.punct(")", "]", "}"):
                want = wanted[token.value]
            else:
                continue
            depth = next(
                (
                    level
                    for level in range(len(stack) - 1, max(len(stack) - 9, -1), -1)
                    if (
                        tokens[stack[level]].kind == HEAD
                        if want == HEAD
                        else tokens[stack[level]].punct(want)
                    )
                ),
                None,
            )
            if depth is None:
                continue
            while len(stack) - 1 > depth:
                match[stack.pop()] = index
            parent[index] = stack[depth - 1] if depth > 0 else -1
            if token.kind == MIDDLE:
                parent[index] = stack[-1]
                continue
            opener = stack.pop()
            match[opener], match[index] = index, opener
        for opener in stack:
            match[opener] = count
        return match, parent

    def _skip(self, index: int) -> int:
        """The index after the bracket group opening at `index` (or after the token)."""
        end = self.match[index]
        if end < 0 or end <= index:
            return index + 1
        if end >= self.count:
            return self.count
        return end + 1 if self.match[end] == index else end

    def _is_opener(self, index: int) -> bool:
        token = self.tokens[index]
        return token.kind == HEAD or token.punct("(", "[", "{")

    def _split(self, opener: int) -> list[tuple[int, int]]:
        """The comma-separated entries inside the bracket group at `opener`."""
        end = min(self.match[opener], self.count) if self.match[opener] > opener else opener + 1
        entries: list[tuple[int, int]] = []
        start = opener + 1
        for index in self._top_level(start, end):
            if self.tokens[index].punct(","):
                entries.append((start, index))
                start = index + 1
        if start < end:
            entries.append((start, end))
        return entries

    def _expression_end(self, start: int) -> int:
        """Where the expression starting at `start` ends: a top-level `;` `,` or closer, or
        a line break the expression does not continue over."""
        known = self.expression_ends.get(start)
        if known is not None:
            return known
        # A scan from any index this scan passes ends where this one does: remember them
        # all, so nested arrow bodies (`a => b => c`) cost one scan, not one each.
        tokens, visited, end = self.tokens, [], self.count
        for index in self._top_level(start, self.count):
            token = tokens[index]
            if token.punct(";", ",", ")", "]", "}") or token.kind in (MIDDLE, TAIL):
                end = index
                break
            if (
                index > start
                and token.newline_before
                and not _continues(tokens[index - 1])
                and not _continues(token)
            ):
                end = index
                break
            visited.append(index)
        for index in visited:
            self.expression_ends[index] = end
        return end

    def _top_level(self, start: int, end: int) -> Iterable[int]:
        """The indices in [start, end) outside any bracket group that starts there."""
        index = start
        while index < end:
            yield index
            index = self._skip(index) if self._is_opener(index) else index + 1

    def _text(self, start: int, end: int) -> str:
        """The source text of tokens[start:end], whitespace and comments collapsed."""
        parts: list[str] = []
        length = 0
        for index in range(start, min(end, self.count)):
            token = self.tokens[index]
            if parts and token.start > self.tokens[index - 1].end:
                parts.append(" ")
            parts.append(self.source[token.start : token.end])
            length += token.end - token.start
            if length > _MAX_TEXT and index + 1 < end:
                parts.append(" ...")
                break
        return " ".join("".join(parts).split())

    # -- functions and declarations -------------------------------------------------------

    def _find_functions(self) -> None:
        tokens = self.tokens
        for index, token in enumerate(tokens):
            if token.name("function"):
                self._function_keyword(index)
            elif token.punct("=>"):
                self._arrow(index)
            elif (
                token.kind == NAME
                and token.value not in _KEYWORDS
                and 0 < index < self.count - 1
                and tokens[index + 1].punct("(")
                and not tokens[index - 1].name("function")
                and (token.newline_before or tokens[index - 1].value in _METHOD_PREFIX)
                and tokens[index - 1].kind in (PUNCT, NAME)
            ):
                self._method(index)

    def _add_function(self, function: _Function) -> None:
        self.functions.append(function)
        self.by_start.setdefault(function.start, function)
        self.by_body.setdefault(function.body_start, function)

    def _body_after(self, close: int) -> int:
        """The `{` of a body after the `)` at `close` (skipping a TypeScript return type)."""
        index = close + 1
        if index < self.count and self.tokens[index].punct("{"):
            return index
        if index < self.count and self.tokens[index].punct(":"):
            for probe in range(index + 1, min(index + 30, self.count)):
                token = self.tokens[probe]
                if token.punct("{"):
                    return probe
                if token.punct(";", "=>", "=", "}", ")"):
                    return -1
        return -1

    def _assigned_name(self, start: int) -> str | None:
        tokens = self.tokens
        if start >= 2 and tokens[start - 1].punct("=", ":") and tokens[start - 2].kind == NAME:
            if tokens[start - 1].value == ":" and not (
                start >= 3 and tokens[start - 3].punct("{", ",")
            ):
                return None
            return tokens[start - 2].value
        return None

    def _function_keyword(self, index: int) -> None:
        tokens, probe = self.tokens, index + 1
        if probe < self.count and tokens[probe].punct("*"):
            probe += 1
        name = None
        if probe < self.count and tokens[probe].kind == NAME:
            name = tokens[probe].value
            self.definition_names.add(probe)
            probe += 1
        if probe >= self.count or not tokens[probe].punct("("):
            return
        close = self.match[probe]
        if close <= probe or close >= self.count:
            return
        body = self._body_after(close)
        if body < 0:
            return
        is_async = index > 0 and tokens[index - 1].name("async")
        start = index - 1 if is_async else index
        self._add_function(
            _Function(
                start,
                name or self._assigned_name(start),
                probe,
                -1,
                body + 1,
                min(self.match[body], self.count),
                True,
                is_async,
            )
        )

    def _arrow(self, index: int) -> None:
        tokens = self.tokens
        if index == 0:
            return
        previous = tokens[index - 1]
        params_open = param = -1
        if previous.punct(")") and 0 <= self.match[index - 1] < index:
            params_open = self.match[index - 1]
        elif previous.kind == NAME and not (index >= 2 and tokens[index - 2].punct(":", ".")):
            param = index - 1
        else:  # `(x): Type => ...`
            for probe in range(index - 1, max(index - 20, 0), -1):
                if tokens[probe].punct(")") and tokens[probe + 1].punct(":"):
                    params_open = self.match[probe]
                    break
            if params_open < 0:
                return
        start = params_open if params_open >= 0 else param
        is_async = start > 0 and tokens[start - 1].name("async")
        if is_async:
            start -= 1
        if index + 1 < self.count and tokens[index + 1].punct("{"):
            body_start, body_end, block = index + 2, min(self.match[index + 1], self.count), True
        else:
            body_start, body_end, block = index + 1, self._expression_end(index + 1), False
        self._add_function(
            _Function(
                start,
                self._assigned_name(start),
                params_open,
                param,
                body_start,
                max(body_end, body_start),
                block,
                is_async,
            )
        )

    def _method(self, index: int) -> None:
        close = self.match[index + 1]
        if close <= index + 1 or close >= self.count:
            return
        body = self._body_after(close)
        if body < 0:
            return
        tokens = self.tokens
        is_async = tokens[index - 1].name("async")
        self.definition_names.add(index)
        self._add_function(
            _Function(
                index - 1 if is_async else index,
                tokens[index].value,
                index + 1,
                -1,
                body + 1,
                min(self.match[body], self.count),
                True,
                is_async,
            )
        )

    def _enclosing_functions(self) -> list[int]:
        """For every token, the index (in self.functions) of the innermost function whose
        body holds it, or -1."""
        order = sorted(range(len(self.functions)), key=lambda i: self.functions[i].body_start)
        enclosing = [-1] * self.count
        stack: list[int] = []
        position = 0
        for index in range(self.count):
            while stack and self.functions[stack[-1]].body_end <= index:
                stack.pop()
            while position < len(order) and self.functions[order[position]].body_start <= index:
                function = self.functions[order[position]]
                if function.body_end > index:
                    stack.append(order[position])
                position += 1
            enclosing[index] = stack[-1] if stack else -1
        return enclosing

    def _containing_functions(self, index: int) -> Iterable[_Function]:
        """The functions whose body holds tokens[index], innermost first."""
        if not 0 <= index < self.count:
            return
        number = self.enclosing[index]
        seen = 0
        while number >= 0 and seen < _MAX_NESTING:
            function = self.functions[number]
            yield function
            seen += 1
            outer = self.enclosing[function.start] if function.start < self.count else -1
            number = outer if outer != number else -1

    def _find_declarations(self) -> None:
        tokens = self.tokens
        for index, token in enumerate(tokens[:-2]):
            if not token.name("const", "let", "var") or tokens[index + 1].kind != NAME:
                continue
            equals = index + 2
            if tokens[equals].punct(":"):  # a TypeScript annotation
                equals = next(
                    (
                        probe
                        for probe in range(equals, min(equals + 30, self.count))
                        if tokens[probe].punct("=", ";")
                    ),
                    -1,
                )
            if equals < 0 or equals + 1 >= self.count or not tokens[equals].punct("="):
                continue
            end = self._expression_end(equals + 1)
            self.declarations.setdefault(tokens[index + 1].value, []).append(
                (index + 1, equals + 1, end)
            )

    def _declaration(self, name: str, use: int) -> tuple[int, int] | None:
        """The right-hand side of the nearest declaration of `name` before `use` (or of
        its only declaration, when it is declared later, e.g. hoisted into a function)."""
        found = self.declarations.get(name, [])
        earlier = [entry for entry in found if entry[0] < use]
        if earlier:
            return earlier[-1][1], earlier[-1][2]
        if len(found) == 1:
            return found[0][1], found[0][2]
        return None

    # -- URL and method text --------------------------------------------------------------

    def _strip(self, start: int, end: int) -> tuple[int, int]:
        """Drop enclosing parentheses and TypeScript `as Type` / `!` from an expression."""
        tokens = self.tokens
        for _ in range(_MAX_DEPTH):
            if start >= end:
                break
            if tokens[start].punct("(") and self.match[start] == end - 1:
                start, end = start + 1, end - 1
                continue
            cast = next(
                (
                    index
                    for index in self._top_level(start + 1, end)
                    if tokens[index].name("as") and not tokens[index - 1].punct(".", "?.")
                ),
                -1,
            )
            if cast > start:
                end = cast
                continue
            if end - start > 1 and tokens[end - 1].punct("!"):
                end -= 1
                continue
            break
        return start, end

    def _parts(self, start: int, end: int, depth: int = 0) -> list[tuple[str, bool]]:
        """The pieces of a string expression: (text, literal). Unknown parts are
        `{expression}`."""
        start, end = self._strip(start, end)
        if start >= end:
            return []
        if depth > _MAX_DEPTH:
            return [("{" + self._text(start, end) + "}", False)]
        operands: list[tuple[int, int]] = []
        operand_start = start
        for index in self._top_level(start, end):
            token = self.tokens[index]
            if token.punct("?", ":", "||", "&&", "??", "=", ","):
                return [("{" + self._text(start, end) + "}", False)]
            if token.punct("+") and index > operand_start:
                operands.append((operand_start, index))
                operand_start = index + 1
        operands.append((operand_start, end))
        if len(operands) == 1:
            return self._atom(start, end, depth)
        parts = [part for a, b in operands for part in self._atom(a, b, depth)]
        if not any(literal for _, literal in parts):
            return [("{" + self._text(start, end) + "}", False)]
        return parts

    def _atom(self, start: int, end: int, depth: int) -> list[tuple[str, bool]]:
        start, end = self._strip(start, end)
        if start >= end:
            return []
        tokens = self.tokens
        first = tokens[start]
        if end - start == 1:
            if first.kind in (STRING, NUMBER):
                return [(first.value, True)]
            if first.kind == JINJA:
                return [(first.value, False)]
            if first.kind == NAME and first.value not in _KEYWORDS:
                declared = self._declaration(first.value, start)
                if declared is not None and depth < _MAX_DEPTH:
                    resolved = self._parts(*declared, depth + 1)
                    if any(literal for _, literal in resolved):
                        return resolved
                return [("{" + first.value + "}", False)]
        if first.kind == HEAD and self._skip(start) == end:
            return self._template_parts(start, end, depth)
        return [("{" + self._text(start, end) + "}", False)]

    def _template_parts(self, start: int, end: int, depth: int) -> list[tuple[str, bool]]:
        tokens = self.tokens
        parts: list[tuple[str, bool]] = [(tokens[start].value, True)]
        piece = start + 1
        for index in self._top_level(start + 1, end):
            if tokens[index].kind in (MIDDLE, TAIL):
                parts.extend(self._parts(piece, index, depth + 1) or [("{}", False)])
                parts.append((tokens[index].value, True))
                piece = index + 1
        return parts

    def _string(self, start: int, end: int) -> str:
        return "".join(text for text, _ in self._parts(start, end))

    def _url(self, start: int, end: int) -> str:
        return _without_origin(self._string(start, end))

    def _method_text(self, entry: tuple[int, int] | None, default: str) -> str:
        if entry is None:
            return default
        parts = self._parts(*entry)
        text = "".join(text for text, _ in parts)
        return text.upper() if parts and all(literal for _, literal in parts) else text

    def _object(self, entry: tuple[int, int] | None, depth: int = 0) -> dict[str, tuple[int, int]]:
        """The properties of an object literal (or a name declared as one): key -> value
        range. A method `success(data) {...}` maps to its own range."""
        if entry is None:
            return {}
        start, end = self._strip(*entry)
        if start >= end:
            return {}
        tokens = self.tokens
        if end - start == 1 and tokens[start].kind == NAME and depth < 2:
            return self._object(self._declaration(tokens[start].value, start), depth + 1)
        if not tokens[start].punct("{") or self._skip(start) != end:
            return {}
        properties: dict[str, tuple[int, int]] = {}
        for a, b in self._split(start):
            key = tokens[a]
            if key.kind not in (NAME, STRING, NUMBER):
                continue
            if a + 1 < b and tokens[a + 1].punct(":"):
                properties.setdefault(key.value, (a + 2, min(b, self._expression_end(a + 2))))
            else:  # shorthand `url` or a method `success(data) {...}`
                properties.setdefault(key.value, (a, b))
        return properties

    # -- finding the calls ----------------------------------------------------------------

    def find_calls(self) -> None:
        tokens = self.tokens
        axios = {"axios": ""}  # name -> baseURL
        xhr: set[str] = set()
        for index in range(2, self.count - 2):
            if tokens[index].punct("=") and tokens[index - 1].kind == NAME:
                value = tokens[index + 1 : index + 5]
                if [t.value for t in value[:4]] == ["axios", ".", "create", "("]:
                    args = self._split(index + 4)
                    base = self._object(args[0] if args else None).get("baseURL")
                    axios[tokens[index - 1].value] = self._string(*base) if base else ""
                if [t.value for t in value[:2]] == ["new", "XMLHttpRequest"]:
                    xhr.add(self._receiver(index - 1)[1])
        for index, token in enumerate(tokens):
            if token.kind != NAME or index + 1 >= self.count:
                continue
            previous = tokens[index - 1] if index else None
            after_dot = previous is not None and previous.punct(".", "?.")
            if token.value == "fetch" and tokens[index + 1].punct("("):
                self._fetch(index, after_dot)
            elif token.value in axios and not after_dot:
                self._axios(index, axios[token.value])
            elif token.value in ("$", "jQuery") and not after_dot:
                self._jquery(index)
            elif token.value == "open" and after_dot and tokens[index + 1].punct("("):
                start, receiver = self._receiver(index - 2)
                if receiver in xhr:
                    self._xhr(start, index, receiver)
            elif token.value == "location":
                self._location(index, after_dot)

    def _receiver(self, last: int) -> tuple[int, str]:
        """The start and dotted text of a `a.b.c` chain ending at the name at `last`."""
        tokens, start = self.tokens, last
        while start >= 2 and tokens[start - 1].punct(".") and tokens[start - 2].kind == NAME:
            start -= 2
        return start, "".join(token.value for token in tokens[start : last + 1])

    def _add_call(
        self,
        start: int,
        end: int,
        url: str,
        method: str,
        value: _Value | None,
        xhr: str | None = None,
    ) -> int:
        self.calls.append(_Call(url, method, start, end, value, xhr))
        number = len(self.calls) - 1
        self.regions[number] = {(start, end)}
        self.fields[number] = set()
        self.states[number] = set()
        return number

    def _fetch(self, index: int, after_dot: bool) -> None:
        tokens, start = self.tokens, index
        if after_dot:
            if not (
                index >= 2
                and tokens[index - 2].name(*_GLOBALS)
                and not (index >= 3 and tokens[index - 3].punct(".", "?."))
            ):
                return
            start = index - 2
        elif index in self.definition_names or (index > 0 and tokens[index - 1].name("function")):
            return
        args = self._split(index + 1)
        if not args:
            return
        method = self._method_text(
            self._object(args[1] if len(args) > 1 else None).get("method"), "GET"
        )
        self._add_call(
            start, self._skip(index + 1), self._url(*args[0]), method, _Value("fetch", (), True)
        )

    def _type_arguments(self, index: int) -> int:
        """The index after TypeScript type arguments `<...>` starting at `index`, if a `(`
        follows them; else `index`."""
        tokens = self.tokens
        if index >= self.count or not tokens[index].punct("<"):
            return index
        depth = 0
        for probe in range(index, min(index + 30, self.count - 1)):
            token = tokens[probe]
            if token.punct("<"):
                depth += 1
            elif token.punct(">", ">>", ">>>"):
                depth -= len(token.value)
                if depth <= 0:
                    return probe + 1 if tokens[probe + 1].punct("(") else index
            elif token.punct(";", "{", "}", "=", ")"):
                break
        return index

    def _axios(self, index: int, base: str) -> None:
        tokens = self.tokens
        if tokens[index + 1].punct("("):
            opener, verb = index + 1, ""
        elif (
            index + 3 < self.count
            and tokens[index + 1].punct(".")
            and tokens[index + 2].name(*_AXIOS_METHODS)
        ):
            opener, verb = self._type_arguments(index + 3), tokens[index + 2].value
            if opener >= self.count or not tokens[opener].punct("("):
                return
        else:
            return
        args = self._split(opener)
        if not args:
            return
        if verb in ("", "request"):
            config = self._object(args[0])
            if config:
                url_entry, method_entry = config.get("url"), config.get("method")
            else:
                url_entry = args[0]
                method_entry = self._object(args[1] if len(args) > 1 else None).get("method")
            if url_entry is None:
                return
            url, method = self._string(*url_entry), self._method_text(method_entry, "GET")
        else:
            url, method = self._string(*args[0]), verb.upper()
        if base and not _ORIGIN.match(url):
            url = base.rstrip("/") + "/" + url.lstrip("/")
        self._add_call(
            index, self._skip(opener), _without_origin(url), method, _Value("axios", (), True)
        )

    def _jquery(self, index: int) -> None:
        tokens = self.tokens
        if not (
            index + 3 < self.count
            and tokens[index + 1].punct(".")
            and tokens[index + 2].name(*_JQUERY_METHODS)
            and tokens[index + 3].punct("(")
        ):
            return
        verb, opener = tokens[index + 2].value, index + 3
        args = self._split(opener)
        if not args:
            return
        settings = self._object(args[0])
        url_entry: tuple[int, int] | None = args[0]
        if settings:
            url_entry = settings.get("url")
        elif verb == "ajax":
            settings = self._object(args[1] if len(args) > 1 else None)
        if url_entry is None:
            return
        method = _JQUERY_METHODS[verb]
        if verb == "ajax":
            method = self._method_text(settings.get("method") or settings.get("type"), "GET")
        data = _Value("data")
        number = self._add_call(
            index, self._skip(opener), self._url(*url_entry), method, replace(data, promise=True)
        )
        if "success" in settings:
            self._bind_callback(settings["success"], data, number)
        if verb != "ajax" and not self._object(args[0]):
            for entry in args[1:]:
                if self._callables(*entry):
                    self._bind_callback(entry, data, number)
                    break

    def _xhr(self, start: int, index: int, receiver: str) -> None:
        args = self._split(index + 1)
        if len(args) < 2:
            return
        number = self._add_call(
            start,
            self._skip(index + 1),
            self._url(*args[1]),
            self._method_text(args[0], "GET"),
            None,
            receiver,
        )
        for function in self._containing_functions(index):
            if function.block:
                self.regions[number].add((function.body_start, function.body_end))
                return
        self.regions[number].add((0, self.count))

    def _location(self, index: int, after_dot: bool) -> None:
        tokens, start = self.tokens, index
        if after_dot:
            if not (
                index >= 2
                and tokens[index - 2].name(*_LOCATION_OWNERS)
                and not (index >= 3 and tokens[index - 3].punct(".", "?."))
            ):
                return
            start = index - 2
        elif index > 0 and tokens[index - 1].name("const", "let", "var", "function", "class"):
            return
        probe = index + 1
        if probe + 1 < self.count and tokens[probe].punct(".") and tokens[probe + 1].name("href"):
            probe += 2
        if probe + 1 < self.count and tokens[probe].punct("="):
            end = self._expression_end(probe + 1)
            if end > probe + 1:
                self._add_call(start, end, self._url(probe + 1, end), "GET", None)
        elif (
            probe == index + 1
            and probe + 2 < self.count
            and tokens[probe].punct(".")
            and tokens[probe + 1].name("assign", "replace")
            and tokens[probe + 2].punct("(")
        ):
            args = self._split(probe + 2)
            if args:
                self._add_call(start, self._skip(probe + 2), self._url(*args[0]), "GET", None)

    # -- following response values ----------------------------------------------------------

    def _add_binding(
        self, name: str, scope: tuple[int, int], owner: int, call: int, value: _Value
    ) -> None:
        binding = _Binding(name, scope[0], scope[1], call, value, owner)
        if binding in self.binding_set or name in _KEYWORDS:
            return
        self.binding_set.add(binding)
        self.bindings.setdefault((name, owner), []).append(binding)
        self.bound_names.add(name)
        self.regions[call].add(scope)

    def _lookup(self, name: str, index: int) -> list[_Binding]:
        """The bindings of `name` visible at `index`: those of the innermost function that
        has any, unless a parameter of the same name in between hides them."""
        if name not in self.bound_names:
            return []
        for function in self._containing_functions(index):
            found = self._visible(name, function.body_start, index)
            if found:
                return found
            if name in self._parameter_names(function):
                return []
        return self._visible(name, -1, index)

    def _visible(self, name: str, owner: int, index: int) -> list[_Binding]:
        found = [b for b in self.bindings.get((name, owner), ()) if b.start <= index < b.end]
        if not found:
            return []
        innermost = max(binding.start for binding in found)
        return [binding for binding in found if binding.start == innermost]

    def _resolve(self, name: str, index: int) -> list[_Function]:
        """The function of this file named `name` that code at `index` sees: declared in
        the innermost enclosing scope that declares one, the last such declaration (as
        in JavaScript) before `index` if any."""
        scopes = [function.body_start for function in self._containing_functions(index)]
        for scope in [*scopes, -1]:
            found = self.declared.get((name, scope))
            if found:
                earlier = [function for function in found if function.start < index]
                return [earlier[-1] if earlier else found[-1]]
        return []

    def _block_scope(self, index: int) -> tuple[int, int]:
        """The body of the innermost block-bodied function around `index`, or the file
        as (-1, count)."""
        for function in self._containing_functions(index):
            if function.block:
                return function.body_start, function.body_end
        return -1, self.count

    def _parameter_names(self, function: _Function) -> frozenset[str]:
        names = self.parameter_names.get(function.start)
        if names is None:
            names = frozenset(
                self.tokens[a].value
                for a, _ in self._parameters(function)
                if self.tokens[a].kind == NAME
            )
            self.parameter_names[function.start] = names
        return names

    def _parameters(self, function: _Function) -> list[tuple[int, int]]:
        found = self.parameter_lists.get(function.start)
        if found is None:
            if function.params_open >= 0:
                found = self._split(function.params_open)
            else:
                found = [(function.param, function.param + 1)] if function.param >= 0 else []
            self.parameter_lists[function.start] = found
        return found

    def _record(self, value: _Value | None, call: int) -> None:
        if value is not None and value.kind == "data" and not value.promise and value.path:
            self.fields[call].add(".".join(value.path))

    def _callables(self, start: int, end: int) -> list[_Function]:
        """The functions an argument denotes: an inline function, or a function of this
        file named as `f`, `this.f` or `f.bind(...)`."""
        if start >= end:
            return []
        inline = self.by_start.get(start)
        if inline is not None:
            return [inline]
        tokens = self.tokens
        if tokens[end - 1].punct(")"):
            opener = self.match[end - 1]
            if (
                start + 2 < opener < end
                and tokens[opener - 1].name("bind")
                and tokens[opener - 2].punct(".")
            ):
                end = opener - 2
        if end - start == 3 and tokens[start].name("this") and tokens[start + 1].punct("."):
            start += 2
        if end - start == 1 and tokens[start].kind == NAME:
            return self._resolve(tokens[start].value, start)
        return []

    def _bind_callback(self, entry: tuple[int, int], value: _Value, call: int) -> list[_Function]:
        functions = self._callables(*entry)
        for function in functions:
            parameters = self._parameters(function)
            if parameters:
                self._bind_pattern(parameters[0], value, function, call)
        return functions

    def _bind_pattern(
        self, entry: tuple[int, int], value: _Value, function: _Function, call: int
    ) -> None:
        token = self.tokens[entry[0]]
        scope = (function.body_start, function.body_end)
        if token.kind == NAME and token.value not in _KEYWORDS:
            self._add_binding(token.value, scope, function.body_start, call, value)
        elif token.punct("{"):
            self._destructure(value, entry[0], scope, function.body_start, call)

    def _destructure(
        self,
        value: _Value | None,
        opener: int,
        scope: tuple[int, int],
        owner: int,
        call: int,
        depth: int = 0,
    ) -> None:
        """Bind the names of an object pattern `{a, b: c, d: {e}}` read from `value`."""
        if value is None or value.promise or depth > _MAX_DEPTH:
            return
        tokens = self.tokens
        for a, b in self._split(opener):
            key = tokens[a]
            if key.kind not in (NAME, STRING):
                continue
            member = _member(value, key.value)
            if member is None:
                continue
            if a + 2 < b and tokens[a + 1].punct(":"):
                target = tokens[a + 2]
                if target.punct("{"):
                    self._destructure(member, a + 2, scope, owner, call, depth + 1)
                elif target.kind == NAME:
                    self._record(member, call)
                    self._add_binding(target.value, scope, owner, call, member)
            elif key.kind == NAME:
                self._record(member, call)
                self._add_binding(key.value, scope, owner, call, member)

    def _callback_result(self, functions: list[_Function], argument: _Value) -> _Value | None:
        """What a `.then` callback returns, as far as it matters: parsed data after
        `.json()`, or axios' `.data`."""
        tokens = self.tokens
        for function in functions:
            body = tokens[
                function.body_start : min(function.body_end, function.body_start + _MAX_SCAN)
            ]
            for offset, token in enumerate(body[:-1]):
                following = body[offset + 1]
                if argument.kind == "fetch" and token.punct(".") and following.name("json"):
                    return _Value("data")
                if argument.kind == "axios" and token.punct(".") and following.name("data"):
                    return _Value("data")
        return None

    def _method_call(self, value: _Value, name: str, opener: int, call: int) -> _Value | None:
        args = self._split(opener)
        if value.promise:
            if name in ("then", "done", "success"):
                settled = replace(value, promise=False)
                functions = self._bind_callback(args[0], settled, call) if args else []
                if name != "then":
                    return value
                result = self._callback_result(functions, settled)
                return None if result is None else replace(result, promise=True)
            if name in ("catch", "fail", "always", "finally", "error", "complete"):
                return value
            return None
        if value.kind == "fetch":
            if name == "json":
                return _Value("data", (), True)
            return value if name == "clone" else None
        return None

    def _postfix(self, value: _Value, end: int, call: int) -> tuple[_Value | None, int]:
        """Apply the member reads, calls and promise methods that follow an expression."""
        tokens = self.tokens
        while end < self.count:
            token = tokens[end]
            if token.punct("!") and not token.newline_before:  # TypeScript's non-null `x!`
                end += 1
                continue
            if token.punct(".", "?.") and end + 1 < self.count and tokens[end + 1].kind == NAME:
                name, after = tokens[end + 1].value, end + 2
                if after < self.count and tokens[after].punct("("):
                    result = self._method_call(value, name, after, call)
                    if result is None:
                        self._record(value, call)
                        return None, self._skip(after)
                    value, end = result, self._skip(after)
                    continue
                member = _member(value, name)
                if member is None:
                    return None, after
                value, end = member, after
                continue
            if token.punct("?.") and end + 1 < self.count and tokens[end + 1].punct("["):
                end += 1
                continue
            if token.punct("[") and not token.newline_before:
                inner = self._split(end)
                key = tokens[inner[0][0]] if len(inner) == 1 else None
                member = (
                    _member(value, key.value)
                    if key is not None and key.kind == STRING and inner[0][1] - inner[0][0] == 1
                    else None
                )
                if member is None:
                    self._record(value, call)
                    return None, self._skip(end)
                value, end = member, self._skip(end)
                continue
            break
        return value, end

    def _consume(self, value: _Value, start: int, end: int, call: int) -> int:
        """Follow a tracked value from tokens[start:end] outward through member reads,
        promise chains, `await`, parentheses, and into what it is assigned to, returned
        from or passed to. Returns the end of the first postfix chain."""
        tokens = self.tokens
        chain_end = -1
        for _ in range(_MAX_DEPTH):
            followed, end = self._postfix(value, end, call)
            chain_end = end if chain_end < 0 else chain_end
            if followed is None:
                return chain_end
            value = followed
            if start > 0 and tokens[start - 1].name("await"):
                start, value = start - 1, replace(value, promise=False)
                continue
            if (
                start > 0
                and end < self.count
                and tokens[start - 1].punct("(")
                and tokens[end].punct(")")
                and self.match[start - 1] == end
                and self._grouping(start - 1)
            ):
                start, end = start - 1, end + 1
                continue
            break
        self._record(value, call)
        self._context(value, start, end, call)
        return chain_end

    def _grouping(self, opener: int) -> bool:
        """Whether the `(` at `opener` groups an expression rather than calling one."""
        if opener == 0:
            return True
        previous = self.tokens[opener - 1]
        if previous.kind == NAME:
            return previous.value in _KEYWORDS and previous.value not in ("super", "import")
        return previous.kind in (PUNCT, HEAD, MIDDLE) and not previous.punct(")", "]")

    def _complete(self, end: int) -> bool:
        """Whether an expression ending before tokens[end] is the whole expression."""
        if end >= self.count:
            return True
        token = self.tokens[end]
        if token.punct(";", ",", ")", "]", "}") or token.kind in (MIDDLE, TAIL) or token.name("as"):
            return True
        return token.newline_before and not _continues(token)

    def _context(self, value: _Value, start: int, end: int, call: int) -> None:
        if start == 0 or not self._complete(end):
            return
        tokens = self.tokens
        previous = tokens[start - 1]
        if previous.punct("="):
            target = self._assignment_target(start - 1)
            owner, scope_end = self._block_scope(start)
            scope = (end, scope_end)
            if target is not None and tokens[target].kind == NAME:
                self._add_binding(tokens[target].value, scope, owner, call, value)
            elif target is not None:
                self._destructure(value, target, scope, owner, call)
            return
        arrow = self.by_body.get(start)
        if arrow is not None and not arrow.block and arrow.body_end == end:
            self.returns.setdefault(arrow.start, set()).add((value, call))
            return
        if previous.name("return"):
            function = next(iter(self._containing_functions(start)), None)
            if function is not None:
                self.returns.setdefault(function.start, set()).add((value, call))
            return
        if previous.punct("(", ","):
            opener = self.parent[start]
            if opener < 1 or not tokens[opener].punct("("):
                return
            entries = self._split(opener)
            position = next((n for n, entry in enumerate(entries) if entry == (start, end)), -1)
            if position < 0:
                return
            for callee in self._callees(opener - 1):
                parameters = self._parameters(callee)
                if position < len(parameters):
                    self._bind_pattern(parameters[position], value, callee, call)

    def _callees(self, index: int) -> list[_Function]:
        """The functions of this file a call `f(...)` / `this.f(...)` with its name at
        `index` may reach."""
        tokens = self.tokens
        token = tokens[index]
        if token.kind != NAME or token.value in _KEYWORDS or index in self.definition_names:
            return []
        if index > 0 and tokens[index - 1].punct(".", "?."):
            if not (index >= 2 and tokens[index - 2].name("this")):
                return []
        elif index > 0 and tokens[index - 1].name("function"):
            return []
        return self._resolve(token.value, index)

    def _assignment_target(self, equals: int) -> int | None:
        """The name (or the `{` of an object pattern) assigned at the `=` at `equals`."""
        tokens, index = self.tokens, equals - 1
        if index < 0:
            return None
        token = tokens[index]
        if (
            token.kind == NAME
            and token.value not in _KEYWORDS
            and not (index > 0 and tokens[index - 1].punct(".", "?.", ":"))
        ):
            return index
        if token.punct("}"):
            opener = self.match[index]
            if 0 <= opener < index and tokens[opener].punct("{"):
                return opener
            return None
        for probe in range(index, max(index - 16, 1), -1):  # `const x: Type = ...`
            if (
                tokens[probe].punct(":")
                and tokens[probe - 1].kind == NAME
                and probe >= 2
                and tokens[probe - 2].name("const", "let", "var")
            ):
                return probe - 1
            if tokens[probe].punct(";", "{", "}", "="):
                break
        return None

    def follow(self) -> None:
        """Follow every call's response until nothing new is learnt."""
        for _ in range(_MAX_PASSES):
            before = (
                len(self.binding_set),
                sum(map(len, self.returns.values())),
                sum(map(len, self.fields.values())),
            )
            for number, call in enumerate(self.calls):
                if call.value is not None:
                    end = self._consume(call.value, call.start, call.end, number)
                    call.chain_end = max(call.chain_end, end)
                    self.regions[number].add((call.start, call.chain_end))
            self._walk()
            after = (
                len(self.binding_set),
                sum(map(len, self.returns.values())),
                sum(map(len, self.fields.values())),
            )
            if after == before:
                break

    def _is_reference(self, index: int) -> bool:
        tokens = self.tokens
        if index > 0 and tokens[index - 1].punct(".", "?."):
            return False
        return not (
            index + 1 < self.count
            and tokens[index + 1].punct(":")
            and index > 0
            and tokens[index - 1].punct("{", ",")
            and self.parent[index] >= 0
            and tokens[self.parent[index]].punct("{")
        )

    def _walk(self) -> None:
        tokens = self.tokens
        returning = {
            function.name
            for function in self.functions
            if function.name and function.start in self.returns
        }
        xhr_calls = [number for number, call in enumerate(self.calls) if call.xhr]
        for index, token in enumerate(tokens):
            if token.kind != NAME:
                continue
            name = token.value
            if name in self.bound_names and self._is_reference(index):
                for binding in self._lookup(name, index):
                    self._consume(binding.value, index, index + 1, binding.call)
            if name in returning and index + 1 < self.count and tokens[index + 1].punct("("):
                start = index - 2 if index >= 2 and tokens[index - 2].name("this") else index
                for function in self._callees(index):
                    for value, call in sorted(self.returns.get(function.start, ()), key=repr):
                        settled = replace(value, promise=value.promise or function.is_async)
                        self._consume(settled, start, self._skip(index + 1), call)
            if xhr_calls:
                self._xhr_data(index, xhr_calls)

    def _xhr_data(self, index: int, xhr_calls: list[int]) -> None:
        """`JSON.parse(xhr.responseText)` and `xhr.response` inside an XHR's handling code."""
        tokens = self.tokens
        if tokens[index].value not in ("JSON", "response"):
            return
        inside = [n for n in xhr_calls if any(a <= index < b for a, b in self.regions[n])]
        if not inside:
            return
        if (
            tokens[index].value == "JSON"
            and index + 3 < self.count
            and tokens[index + 1].punct(".")
            and tokens[index + 2].name("parse")
            and tokens[index + 3].punct("(")
        ):
            argument = tokens[index + 4 : self._skip(index + 3)]
            if not any(token.name("responseText", "response") for token in argument):
                return
            names = {token.value for token in argument if token.kind == NAME}
            named = [n for n in inside if _last_name(self.calls[n].xhr) in names]
            self._consume(_Value("data"), index, self._skip(index + 3), (named or inside)[-1])
        elif (
            tokens[index].value == "response"
            and index >= 2
            and tokens[index - 1].punct(".")
            and tokens[index - 2].kind == NAME
            and not (index + 1 < self.count and tokens[index + 1].punct("(", "="))
        ):
            start, receiver = self._receiver(index - 2)
            if receiver != "this":
                inside = [n for n in inside if self.calls[n].xhr == receiver]
            if inside:
                self._consume(_Value("data"), start, index + 1, inside[-1])

    # -- states -----------------------------------------------------------------------------

    def find_states(self) -> None:
        tokens = self.tokens
        arrays = self._state_arrays()
        for index, token in enumerate(tokens):
            if (
                token.kind == STRING
                and _STATE.fullmatch(token.value)
                and token.value not in _HTTP_METHODS
            ):
                operand = self._compared_with(index)
                if operand is not None:
                    self._attribute(token.value, index, operand)
            elif self._tests_membership(index, arrays):
                operand = (index + 4, min(self.match[index + 3], self.count))
                for state in arrays[token.value]:
                    self._attribute(state, index, operand)

    def _tests_membership(self, index: int, arrays: dict[str, tuple[str, ...]]) -> bool:
        """`NAME.includes(` / `.indexOf(` / `.has(` on a named array of states."""
        tokens = self.tokens
        return (
            tokens[index].kind == NAME
            and tokens[index].value in arrays
            and index + 3 < self.count
            and tokens[index + 1].punct(".")
            and tokens[index + 2].name("includes", "indexOf", "has")
            and tokens[index + 3].punct("(")
            and self._is_reference(index)
        )

    def _state_arrays(self) -> dict[str, tuple[str, ...]]:
        """Names declared as an array (or `new Set([...])`) of state strings."""
        arrays: dict[str, tuple[str, ...]] = {}
        tokens = self.tokens
        for name, found in self.declarations.items():
            start, end = found[-1][1], found[-1][2]
            if end - start > 3 and tokens[start].name("new") and tokens[start + 1].name("Set"):
                opener = self._type_arguments(start + 2)  # `new Set<string>([...])`
                if tokens[opener].punct("(") and self._skip(opener) == end:
                    start, end = opener + 1, end - 1
            if start >= end or not tokens[start].punct("[") or self._skip(start) != end:
                continue
            entries = self._split(start)
            values = [
                tokens[a].value for a, b in entries if b - a == 1 and tokens[a].kind == STRING
            ]
            if entries and len(values) == len(entries) and all(_STATE.fullmatch(v) for v in values):
                arrays[name] = tuple(v for v in values if v not in _HTTP_METHODS)
        return arrays

    def _compared_with(self, index: int) -> tuple[int, int] | None:
        """The expression a state string at `index` is compared with, if it is compared."""
        tokens = self.tokens
        previous = tokens[index - 1] if index > 0 else None
        following = tokens[index + 1] if index + 1 < self.count else None
        if previous is not None and previous.kind == PUNCT and previous.value in _COMPARISONS:
            return self._operand_before(index - 1)
        if following is not None and following.kind == PUNCT and following.value in _COMPARISONS:
            return self._operand_after(index + 2)
        if previous is not None and previous.name("case"):
            block = self.parent[index]
            if block > 1 and tokens[block].punct("{") and tokens[block - 1].punct(")"):
                opener = self.match[block - 1]
                if 0 < opener < block and tokens[opener - 1].name("switch"):
                    return opener + 1, block - 1
            return None
        opener = self.parent[index]
        if opener < 0 or not tokens[opener].punct("["):
            return None
        before = tokens[opener - 1] if opener > 0 else None
        if before is not None and (
            before.kind in (NUMBER, STRING, REGEX, JINJA, TAIL)
            or before.punct(")", "]")
            or (before.kind == NAME and before.value not in _KEYWORDS)
        ):
            return None  # an index, not an array literal
        after = self._skip(opener)
        if (
            before is not None
            and before.punct("(")
            and opener >= 3
            and tokens[opener - 2].name("Set")
            and tokens[opener - 3].name("new")
            and after < self.count
            and tokens[after].punct(")")
        ):
            after += 1
        if (
            after + 2 < self.count
            and tokens[after].punct(".")
            and tokens[after + 1].name("includes", "indexOf", "has")
            and tokens[after + 2].punct("(")
        ):
            return after + 3, min(self.match[after + 2], self.count)
        return None

    def _operand_before(self, operator: int) -> tuple[int, int] | None:
        tokens, index, start = self.tokens, operator - 1, operator
        while index >= 0:
            token = tokens[index]
            if token.punct(")", "]") or token.kind == TAIL:
                opener = self.match[index]
                if not 0 <= opener < index:
                    break
                start, index = opener, opener - 1
                continue
            if (
                token.kind in (NUMBER, STRING, JINJA, REGEX)
                or token.name("this")
                or (token.kind == NAME and token.value not in _KEYWORDS)
            ):
                start, index = index, index - 1
                if index >= 0 and tokens[index].punct(".", "?."):
                    index -= 1
                    continue
                break
            if token.punct("!") and index + 1 < operator and tokens[index + 1].punct("."):
                index -= 1
                continue
            break
        return (start, operator) if start < operator else None

    def _operand_after(self, index: int) -> tuple[int, int] | None:
        tokens, end = self.tokens, index
        if end >= self.count:
            return None
        token = tokens[end]
        if self._is_opener(end):
            end = self._skip(end)
        elif token.kind in (NAME, NUMBER, STRING, JINJA) and (
            token.value not in _KEYWORDS or token.value == "this"
        ):
            end += 1
        else:
            return None
        while end < self.count:
            token = tokens[end]
            if token.punct(".", "?.") and end + 1 < self.count and tokens[end + 1].kind == NAME:
                end += 2
            elif token.punct("(", "["):
                end = self._skip(end)
            elif token.punct("!") and end + 1 < self.count and tokens[end + 1].punct("."):
                end += 1
            else:
                break
        return index, end

    def _peek(self, value: _Value | None, index: int) -> _Value | None:
        """The value of the member chain starting at the name at `index` (no calls)."""
        tokens, end = self.tokens, index + 1
        while value is not None and end + 1 < self.count:
            token, following = tokens[end], tokens[end + 1]
            if token.punct(".", "?.") and following.kind == NAME:
                if end + 2 < self.count and tokens[end + 2].punct("("):
                    break
                value, end = _member(value, following.value), end + 2
            elif token.punct("[") and following.kind == STRING and self.match[end] == end + 2:
                value, end = _member(value, following.value), end + 3
            else:
                break
        return value

    def _attribute(self, state: str, index: int, operand: tuple[int, int]) -> None:
        referenced = False
        owners: set[int] = set()
        for position in range(*operand):
            token = self.tokens[position]
            if (
                token.kind != NAME
                or token.value not in self.bound_names
                or not self._is_reference(position)
            ):
                continue
            for binding in self._lookup(token.value, position):
                referenced = True
                value = self._peek(binding.value, position)
                if value is not None and value.kind == "data" and not value.promise:
                    owners.add(binding.call)
        names = [t.value for t in self.tokens[operand[0] : operand[1]] if t.kind == NAME]
        if not referenced and not (names and names[-1] in _NOT_STATE_PROPERTIES):
            enclosing = [
                (b - a, -a, number)
                for number, ranges in self.regions.items()
                for a, b in ranges
                if a <= index < b
            ]
            if enclosing:
                owners.add(min(enclosing)[2])
        for owner in owners:
            self.states[owner].add(state)

    def facts(self) -> tuple[FrontendCallFacts, ...]:
        found = []
        for number, call in enumerate(self.calls):
            first, last = self.tokens[call.start], self.tokens[max(call.end - 1, call.start)]
            span = Span(first.line, first.column, last.end_line, last.end_column)
            found.append(
                FrontendCallFacts(
                    call.url,
                    call.method,
                    span,
                    tuple(sorted(self.states[number])),
                    tuple(sorted(self.fields[number])),
                )
            )
        return tuple(sorted(found, key=lambda fact: (fact.span, fact.url, fact.method)))


def _last_name(dotted: str | None) -> str:
    return (dotted or "").rsplit(".", 1)[-1]


def _continues(token: Token) -> bool:
    """Whether a line break next to `token` leaves the expression open (no ASI)."""
    return token.kind in (PUNCT, NAME) and token.value in _CONTINUATION


def _without_origin(url: str) -> str:
    """The URL without an `http(s)://host[:port]` or `{window.location.origin}` prefix."""
    origin = _ORIGIN.match(url)
    if origin:
        url = url[origin.end() :] or "/"
    for expression in _ORIGIN_EXPRESSIONS:
        if url.startswith(expression):
            return url[len(expression) :] or "/"
    return url


def _member(value: _Value, name: str) -> _Value | None:
    """The value of `value.name`, when it is still response data."""
    if value.promise:
        return None
    if value.kind == "data":
        return replace(value, path=(*value.path, name)) if len(value.path) < _MAX_DEPTH else None
    if value.kind == "axios" and name == "data":
        return _Value("data")
    return None


# A file none of this matches makes no request `find_calls` recognises (fetch(...),
# axios, new XMLHttpRequest, $.ajax/get/post/getJSON(...), location = / .href = /
# .assign(...) / .replace(...)); tokenizing it (a 300 KB bundle: a second) is skipped.
_MAY_CALL = re.compile(
    r"fetch\s*\(|axios|XMLHttpRequest|(?:\$|jQuery)\s*\.\s*(?:ajax|get|post|getJSON)\s*\("
    r"|location\s*(?:\.\s*href\s*)?=(?!=)|location\s*\.\s*(?:assign|replace)\s*\("
)


def extract_frontend(path: str, text: str) -> tuple[FrontendCallFacts, ...]:
    """The HTTP requests (and navigations) a frontend file makes, each with the task
    states it compares and the response fields it reads, sorted by position."""
    if not _MAY_CALL.search(text):
        return ()
    source, jinja = script_source(path, text)
    tokens = tokenize(source, jinja=jinja)
    if not tokens:
        return ()
    analysis = _Analysis(source, tokens)
    analysis.find_calls()
    if not analysis.calls:
        return ()
    analysis.follow()
    analysis.find_states()
    return analysis.facts()
