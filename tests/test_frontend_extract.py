"""Frontend extraction: exact calls, URLs, methods, spans, states and fields."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celery_audit.extract.frontend import (
    HEAD,
    JINJA,
    MIDDLE,
    NAME,
    NUMBER,
    PUNCT,
    REGEX,
    STRING,
    TAIL,
    extract_frontend,
    script_source,
    tokenize,
)
from celery_audit.model.facts import FrontendCallFacts, Span

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOOKALIKES = FIXTURES / "frontend_lookalikes"


def call(
    url: str,
    method: str,
    span: tuple[int, int, int, int],
    states: tuple[str, ...] = (),
    fields: tuple[str, ...] = (),
) -> FrontendCallFacts:
    return FrontendCallFacts(url, method, Span(*span), states, fields)


def extract_fixture(relative: str, root: Path = LOOKALIKES) -> tuple[FrontendCallFacts, ...]:
    return extract_frontend(relative, (root / relative).read_text(encoding="utf-8"))


def kinds(text: str, *, jinja: bool = False) -> list[tuple[str, str]]:
    return [(token.kind, token.value) for token in tokenize(text, jinja=jinja)]


# -- the tokenizer ------------------------------------------------------------------------


def test_tokenizer_drops_comments_and_cooks_strings() -> None:
    text = "a // fetch('/x')\n/* axios.get('/y') */ b = 'it\\'s' + \"q\\\"\\n\" + 0x1F;"
    assert kinds(text) == [
        (NAME, "a"),
        (NAME, "b"),
        (PUNCT, "="),
        (STRING, "it's"),
        (PUNCT, "+"),
        (STRING, 'q"\n'),
        (PUNCT, "+"),
        (NUMBER, "0x1F"),
        (PUNCT, ";"),
    ]


def test_tokenizer_tells_regex_from_division() -> None:
    text = "x = a / b / 2; y = /[\"'\\/]+/g.test(s); if (ok) return /\\d+/;"
    assert kinds(text) == [
        (NAME, "x"),
        (PUNCT, "="),
        (NAME, "a"),
        (PUNCT, "/"),
        (NAME, "b"),
        (PUNCT, "/"),
        (NUMBER, "2"),
        (PUNCT, ";"),
        (NAME, "y"),
        (PUNCT, "="),
        (REGEX, "/[\"'\\/]+/g"),
        (PUNCT, "."),
        (NAME, "test"),
        (PUNCT, "("),
        (NAME, "s"),
        (PUNCT, ")"),
        (PUNCT, ";"),
        (NAME, "if"),
        (PUNCT, "("),
        (NAME, "ok"),
        (PUNCT, ")"),
        (NAME, "return"),
        (REGEX, "/\\d+/"),
        (PUNCT, ";"),
    ]


def test_tokenizer_nests_templates_and_tracks_positions() -> None:
    text = "u = `/a/${id}/${ `n${x}` }`;\nv?.w !== 1"
    assert kinds(text) == [
        (NAME, "u"),
        (PUNCT, "="),
        (HEAD, "/a/"),
        (NAME, "id"),
        (MIDDLE, "/"),
        (HEAD, "n"),
        (NAME, "x"),
        (TAIL, ""),
        (TAIL, ""),
        (PUNCT, ";"),
        (NAME, "v"),
        (PUNCT, "?."),
        (NAME, "w"),
        (PUNCT, "!=="),
        (NUMBER, "1"),
    ]
    last = tokenize(text)[-1]
    assert (last.line, last.column, last.end_line, last.end_column) == (2, 10, 2, 11)
    assert tokenize(text)[-5].newline_before


def test_tokenizer_reads_jinja_as_opaque() -> None:
    text = (
        '{# fetch(\'/x\') #}const u = "{{ url_for("s") }}";{% if a %}f({{ b|tojson }}){% endif %}'
    )
    assert kinds(text, jinja=True) == [
        (NAME, "const"),
        (NAME, "u"),
        (PUNCT, "="),
        (STRING, '{{ url_for("s") }}'),
        (PUNCT, ";"),
        (NAME, "f"),
        (PUNCT, "("),
        (JINJA, "{{ b|tojson }}"),
        (PUNCT, ")"),
    ]


def test_script_source_keeps_lines_and_columns() -> None:
    html = '<p>x</p>\n<script type="text/template">fetch("/t")</script>\n<script>  go()</script>'
    source, jinja = script_source("page.html", html)
    assert jinja
    assert [len(line) for line in source.splitlines()] == [len(line) for line in html.splitlines()]
    assert source.split() == ["go()"]
    assert source.index("go()") == html.index("go()")
    assert script_source("app.js.j2", "go()") == ("go()", True)
    assert script_source("App.vue", "<script>go()</script>")[1] is False


# -- calls --------------------------------------------------------------------------------

FETCH_AND_POLL = """\
const POLL_MS = 1000;

function startExport(form) {
  return fetch("/api/exports", { method: "post", body: new FormData(form) })
    .then((response) => response.json())
    .then((data) => pollExport(data.task_id));
}

function pollExport(taskId) {
  fetch(`/api/exports/${taskId}/status`)
    .then(function (response) { return response.json(); })
    .then(function (data) {
      if (data.state === "PROGRESS") {
        showProgress(data.meta.percent);
      } else if ("SUCCESS" == data.state) {
        showLink(data.result.url);
      } else if (data.state !== 'FAILURE') {
        setTimeout(() => pollExport(taskId), POLL_MS);
      }
    });
}
"""


def test_fetch_post_and_polling() -> None:
    assert extract_frontend("static/js/export.js", FETCH_AND_POLL) == (
        call("/api/exports", "POST", (4, 10, 4, 77), (), ("task_id",)),
        call(
            "/api/exports/{taskId}/status",
            "GET",
            (10, 3, 10, 41),
            ("FAILURE", "PROGRESS", "SUCCESS"),
            ("meta.percent", "result.url", "state"),
        ),
    )


AXIOS = """\
import axios from "axios";

const client = axios.create({ baseURL: "http://localhost:5000/api/" });

export async function start(format) {
  const res = await axios.post("/api/exports", { format });
  return res.data.task_id;
}

export function watch(taskId) {
  axios.get(`/api/exports/${taskId}/status`).then((res) => {
    if (res.data.state === "SUCCESS") render(res.data.result);
  });
}

export async function state(taskId) {
  return (await axios.get(`/api/exports/${taskId}`)).data.state;
}

export function cancel(taskId) {
  return axios({ url: "/api/exports/" + taskId, method: "delete" });
}

axios("/api/health");
client.patch("exports/defaults", { format: "csv" });
"""


def test_axios_forms() -> None:
    assert extract_frontend("src/api.js", AXIOS) == (
        call("/api/exports", "POST", (6, 21, 6, 59), (), ("task_id",)),
        call(
            "/api/exports/{taskId}/status",
            "GET",
            (11, 3, 11, 45),
            ("SUCCESS",),
            ("result", "state"),
        ),
        call("/api/exports/{taskId}", "GET", (17, 17, 17, 52), (), ("state",)),
        call("/api/exports/{taskId}", "DELETE", (21, 10, 21, 68)),
        call("/api/health", "GET", (24, 1, 24, 21)),
        call("/api/exports/defaults", "PATCH", (25, 1, 25, 52)),
    )


JQUERY = """\
$(function () {
  $.ajax({
    url: "/api/exports",
    type: "POST",
    data: { format: "csv" },
    success: function (data) {
      $("#task-id").text(data.task_id);
    },
  });
  $.ajax("/api/exports/" + taskId, { method: "get" });
  $.getJSON("/api/exports/" + taskId + "/status", function (data) {
    if (data.state === "SUCCESS") $("#download").attr("href", data.result.url);
  });
  $.get(statusUrl).done((data) => {
    if (["FAILURE", "REVOKED"].includes(data.state)) alert(data.error);
  });
  jQuery.post("/api/exports/" + taskId + "/cancel");
});
"""


def test_jquery_forms() -> None:
    assert extract_frontend("static/js/legacy.js", JQUERY) == (
        call("/api/exports", "POST", (2, 3, 9, 5), (), ("task_id",)),
        call("/api/exports/{taskId}", "GET", (10, 3, 10, 54)),
        call(
            "/api/exports/{taskId}/status",
            "GET",
            (11, 3, 13, 5),
            ("SUCCESS",),
            ("result.url", "state"),
        ),
        call("{statusUrl}", "GET", (14, 3, 14, 19), ("FAILURE", "REVOKED"), ("error", "state")),
        call("/api/exports/{taskId}/cancel", "POST", (17, 3, 17, 52)),
    )


XHR = """\
function checkStatus(taskId) {
  var xhr = new XMLHttpRequest();
  xhr.onreadystatechange = function () {
    if (xhr.readyState === 4 && xhr.status === 200) {
      var data = JSON.parse(xhr.responseText);
      if (data.state === "SUCCESS" && xhr.statusText === "OK") {
        document.getElementById("rows").textContent = data.result.rows;
      }
    }
  };
  xhr.open("get", "/api/exports/" + taskId + "/status", true);
  xhr.send();
}
"""


def test_xhr() -> None:
    assert extract_frontend("static/js/xhr.js", XHR) == (
        call(
            "/api/exports/{taskId}/status",
            "GET",
            (11, 3, 11, 62),
            ("SUCCESS",),
            ("result.rows", "state"),
        ),
    )


LOCATION = """\
function follow(taskId) {
  window.location = "/exports/" + taskId + "/wait";
}
function go(statusUrl) {
  location.href = statusUrl;
}
document.location.assign(`/exports/${exportId}`);
location.reload();
const here = window.location.href;
if (location.href === here) console.log(here);
"""


def test_location_following() -> None:
    assert extract_frontend("static/js/redirect.js", LOCATION) == (
        call("/exports/{taskId}/wait", "GET", (2, 3, 2, 51)),
        call("{statusUrl}", "GET", (5, 3, 5, 28)),
        call("/exports/{exportId}", "GET", (7, 1, 7, 49)),
    )


DESTRUCTURING = """\
async function show(id) {
  const response = await fetch(`/api/exports/${id}/status`);
  const { state, result, meta: { percent } } = await response.json();
  if (state === "PROGRESS") bar.value = percent;
  return result;
}
"""


def test_destructuring() -> None:
    assert extract_frontend("static/js/show.js", DESTRUCTURING) == (
        call(
            "/api/exports/{id}/status",
            "GET",
            (2, 26, 2, 60),
            ("PROGRESS",),
            ("meta.percent", "result", "state"),
        ),
    )


# -- files with markup ----------------------------------------------------------------------


def test_vue_single_file_component() -> None:
    assert extract_fixture("frontend/ExportProgress.vue") == (
        call(
            "/api/exports/{this.taskId}/status",
            "GET",
            (29, 30, 29, 71),
            ("FAILURE", "SUCCESS"),
            ("meta", "meta.percent", "result", "result.filename", "result.url", "state"),
        ),
        call("/api/exports/{this.taskId}", "DELETE", (42, 7, 42, 44)),
    )


def test_jinja_template_with_script() -> None:
    assert extract_fixture("templates/exports/status.html") == (
        call(
            "{{ url_for('api.export_status', task_id=export.task_id) }}",
            "GET",
            (15, 5, 15, 21),
            ("PROGRESS", "SUCCESS"),
            ("meta.percent", "state"),
        ),
        call("{{ url_for('exports.cancel', task_id=export.task_id) }}", "GET", (28, 5, 28, 80)),
    )


def test_lookalikes_report_only_real_calls_and_states() -> None:
    assert extract_fixture("static/js/noise.js") == (
        call(
            "/api/exports/{taskId}/status",
            "GET",
            (44, 3, 44, 93),
            ("FAILURE", "PENDING", "PROGRESS", "REVOKED", "SUCCESS"),
            ("meta.percent", "result.download_url", "state"),
        ),
        call("{data.result.download_url}", "GET", (50, 11, 50, 58)),
        call("/api/exports", "POST", (61, 26, 64, 5), (), ("task_id",)),
    )


def test_seed_app_export_script() -> None:
    assert extract_fixture("static/js/export.js", FIXTURES / "seed_app") == (
        call(
            "/api/exports/{taskId}",
            "GET",
            (16, 7, 16, 38),
            ("FAILURE", "PROGRESS", "SUCCESS"),
            ("progress", "result", "result.error", "result.filename", "state"),
        ),
        call("/api/exports", "POST", (45, 5, 52, 7), (), ("task_id",)),
    )


# -- URLs, states and fields in detail -------------------------------------------------------

URLS = """\
const API = "https://example.com:8443/api";
const BASE = `${API}/exports`;
let method = "put";
fetch(BASE + "/" + task.id + "/status");
fetch(`${window.location.origin}/api/exports/${ encodeURIComponent( id ) }`, { method });
fetch(statusUrlFor(id), { method: opts.method });
fetch(`${API}`);
const options = { method: "DELETE" };
fetch("/api/exports/" + id, options);
"""


def test_url_forms() -> None:
    assert extract_frontend("u.js", URLS) == (
        call("/api/exports/{task.id}/status", "GET", (4, 1, 4, 40)),
        call("/api/exports/{encodeURIComponent( id )}", "PUT", (5, 1, 5, 89)),
        call("{statusUrlFor(id)}", "{opts.method}", (6, 1, 6, 49)),
        call("/api", "GET", (7, 1, 7, 16)),
        call("/api/exports/{id}", "DELETE", (9, 1, 9, 37)),
    )


STATES = """\
const DONE = new Set(["SUCCESS", "FAILURE"]);
const LABELS = { STARTED: "Running", "RETRY": "Retrying" };
fetch("/api/s").then((r) => r.json()).then((s) => {
  console.log("REVOKED", LABELS[s.state]);
  switch (s.state) {
    case "STARTED":
      break;
    case 'RETRY':
      break;
  }
  if (DONE.has(s.state) || s.state != "CUSTOM_STATE_2") return;
  if (s.method === "POST" || this.state === "PENDING") return;
});
if (somethingElse === "IGNORED") fetch("/api/t");
"""


def test_state_forms() -> None:
    assert extract_frontend("s.js", STATES) == (
        call(
            "/api/s",
            "GET",
            (3, 1, 3, 16),
            ("CUSTOM_STATE_2", "FAILURE", "PENDING", "RETRY", "STARTED", "SUCCESS"),
            ("method", "state"),
        ),
        call("/api/t", "GET", (14, 34, 14, 49)),
    )


FIELDS = """\
async function detail(id) {
  const resp = await fetch("/api/exports/" + id);
  if (resp.statusText === "OK") log(resp.status);
  const data = await resp.json();
  render(data["meta"]["rows"], data?.result?.size.toFixed(1));
  data.items.forEach((item) => log(item));
}
function render(rows, size) {
  log(rows.length);
}
fetch("/api/ignored").then(() => location.reload());
"""


def test_field_forms() -> None:
    assert extract_frontend("f.js", FIELDS) == (
        call(
            "/api/exports/{id}",
            "GET",
            (2, 22, 2, 49),
            (),
            ("items", "meta.rows", "meta.rows.length", "result.size"),
        ),
        call("/api/ignored", "GET", (11, 1, 11, 22)),
    )


TYPESCRIPT = """\
const DONE = new Set<string>(["SUCCESS", "FAILURE"]);

async function getStatus(id: string): Promise<ExportStatus> {
  const resp = await fetch(`/api/exports/${id}`);
  if (resp.statusText === "OK") console.debug(resp.status);
  return (await resp.json()) as ExportStatus;
}

export async function waitFor(id: string): Promise<string | undefined> {
  const status: ExportStatus = await getStatus(id);
  const { percent } = status.meta!;
  if (DONE.has(status.state)) return status.result?.url;
  const { data } = await axios.get<Progress>(`/api/progress/${id}`);
  return data.eta;
}
"""


def test_typescript_forms() -> None:
    assert extract_frontend("src/exports.ts", TYPESCRIPT) == (
        call(
            "/api/exports/{id}",
            "GET",
            (4, 22, 4, 49),
            ("FAILURE", "SUCCESS"),
            ("meta", "meta.percent", "result.url", "state"),
        ),
        call("/api/progress/{id}", "GET", (13, 26, 13, 68), (), ("eta",)),
    )


# -- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'fetch("/api/a", {method: "POST"\nconst x = `unterminated ${ foo(`inner ${ bar',
        "fetch('/api/b' /* never closed",
        "fetch(/unterminated regex\n)",
        "}}}])) fetch('/api/c') (((",
        "\x00\x01\ufffd\ud7ff" * 50 + "fetch('/api/d')",
        "x".join("{[(`${") * 10,
    ],
)
def test_bad_input_never_raises(text: str) -> None:
    for path in ("a.js", "a.html", "a.vue", "a.ts"):
        assert isinstance(extract_frontend(path, text), tuple)


def test_unterminated_input_keeps_what_was_found() -> None:
    text = 'fetch("/api/a", {method: "POST"\nconst x = `unterminated ${ foo(`inner ${ bar'
    assert extract_frontend("a.js", text) == (call("/api/a", "POST", (1, 1, 2, 45)),)


JS_ALPHABET = [
    "fetch(",
    "axios.get(",
    "$.ajax({url:",
    ".then(",
    "r => r.json()",
    "data.state",
    "===",
    '"SUCCESS"',
    "'",
    '"',
    "`",
    "${",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "/",
    "*",
    "//",
    "/*",
    "*/",
    "\n",
    " ",
    "case ",
    "switch",
    ":",
    ",",
    ";",
    "=",
    "const x",
    "{{",
    "}}",
    "{%",
    "{#",
    "#}",
    "<script>",
    "</script>",
    "<!--",
    "\\",
    "location.href",
    "new XMLHttpRequest()",
    "x.open(",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(JS_ALPHABET), max_size=80), st.sampled_from(["a.js", "a.html"]))
def test_arbitrary_token_soup_never_raises(pieces: list[str], path: str) -> None:
    assert isinstance(extract_frontend(path, "".join(pieces)), tuple)


@pytest.mark.slow
def test_large_minified_bundle_is_fast() -> None:
    noise = (LOOKALIKES / "static/js/noise.js").read_text(encoding="utf-8")
    body = " ".join(
        line for line in noise.splitlines() if not line.lstrip().startswith(("//", "/*", "*"))
    )
    body = body.replace(' // "SUCCESS" === state would be wrong here', "")
    bundle = ";".join(f"function f{n}(){{{body}}}" for n in range(200))
    started = time.perf_counter()
    found = extract_frontend("dist/app.min.js", bundle)
    assert time.perf_counter() - started < 20
    assert len(found) == 600
    summary = {(fact.url, fact.method, fact.states, fact.fields) for fact in found}
    expected = extract_fixture("static/js/noise.js")
    assert summary == {(fact.url, fact.method, fact.states, fact.fields) for fact in expected}
    for text in ("(" * 20000, "a => " * 20000, "fetch(" * 5000, "`${" * 20000):
        started = time.perf_counter()
        extract_frontend("p.js", text)
        assert time.perf_counter() - started < 10
