"""Inline suppressions: each comment form and where it counts, comment syntax per file
type, a bare `# noqa` not honoured, and CA002 for suppressions that suppress nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from celery_audit.cli import main
from celery_audit.extract import extract_bytes
from celery_audit.extract.comments import comments
from celery_audit.model.facts import Directive, FileKind, SourceFile, Span
from celery_audit.model.findings import Finding, Severity
from celery_audit.rules import BY_CODE
from celery_audit.settings import Settings
from celery_audit.suppress import apply, suppression_facts

CA002_WIRED = "CA002" in BY_CODE
needs_ca002 = pytest.mark.skipif(
    not CA002_WIRED, reason="CA002 is not in the rule table (celery_audit/rules/__init__.py) yet"
)
CODES = {"CA101", "CA102", "CA201", "CA301", "CA002"}
SEED = {
    ("resources.py", 21, "CA101"),
    ("resources.py", 21, "CA102"),
    ("workers.py", 65, "CA201"),
    ("workers.py", 97, "CA301"),
}
DECORATOR, DEF, BODY = 64, 65, 66  # of send_daily_reminders in the seed app's workers.py


def scan(path: Path, *args: str) -> set[tuple[str, int, str]]:
    result = CliRunner().invoke(
        main, ["scan", str(path), "--format", "json", "--fail-on", "never", *args]
    )
    assert result.exit_code == 0, result.output
    return {
        (f["file"], f["line"], f["code"])
        for f in json.loads(result.stdout)["findings"]
        if f["code"] in CODES
    }


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    copy = tmp_path / "seed_app"
    shutil.copytree(FIXTURES / "seed_app", copy)
    return copy


def comment_on(path: Path, line: int, comment: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = lines[line - 1].rstrip("\n")
    code = text.split("  # expect:")[0].split("  # noqa")[0]
    lines[line - 1] = f"{code}  {comment}\n"
    path.write_text("".join(lines), encoding="utf-8")


# -- Python: each form, and where it counts -------------------------------------------


@pytest.mark.parametrize(
    ("line", "comment"),
    [
        (DEF, "# celery-audit: ignore[CA201]"),  # the finding's own line
        (DEF, "# noqa: CA201"),
        (DEF, "# NOQA:CA201"),
        (DEF, "# noqa: F401, CA201"),  # other tools' codes beside ours
        (DEF, "# celery-audit: ignore[CA101, CA201]"),
        (DEF, "# type: ignore  # celery-audit: ignore[ca201]"),
        (DECORATOR, "# celery-audit: ignore[CA201]"),  # the enclosing function's decorator
        (DECORATOR, "# noqa: CA201"),
        (1, "# celery-audit: ignore-file[CA201]"),  # anywhere in the file
        (105, "# celery-audit: ignore-file[CA102, CA201]"),  # the last line
    ],
)
def test_python_suppression_forms(seed: Path, line: int, comment: str) -> None:
    comment_on(seed / "workers.py", line, comment)
    assert {f for f in scan(seed) if f[2] != "CA002"} == SEED - {("workers.py", 65, "CA201")}


@pytest.mark.parametrize(
    ("line", "comment"),
    [
        (DEF, "# noqa"),  # bare: belongs to flake8/ruff
        (DEF, "# noqa: F401"),  # other tools' codes only
        (DEF, "# noqa: CA301"),  # another code
        (DEF, "# celery-audit: ignore"),  # names no code
        (DEF, "# celery-audit: ignore[CA2]"),  # a prefix is not a code
        (BODY, "# celery-audit: ignore[CA201]"),  # a line inside the body, not the finding's
        (DECORATOR - 2, "# celery-audit: ignore[CA201]"),  # the line above the decorator
    ],
)
def test_comments_that_do_not_suppress(seed: Path, line: int, comment: str) -> None:
    comment_on(seed / "workers.py", line, comment)
    assert {f for f in scan(seed) if f[2] != "CA002"} == SEED


def test_noqa_inside_a_string_is_not_a_comment(seed: Path) -> None:
    workers = seed / "workers.py"
    text = workers.read_text(encoding="utf-8")
    workers.write_text(
        text.replace(
            "def send_daily_reminders():  # expect: CA201",
            'def send_daily_reminders(tag="# noqa: CA201 celery-audit: ignore-file[CA201]"):',
        ),
        encoding="utf-8",
    )
    assert {f for f in scan(seed) if f[2] != "CA002"} == SEED


def test_a_view_def_line_suppresses_findings_in_its_body(seed: Path) -> None:
    comment_on(seed / "resources.py", 11, "# celery-audit: ignore[CA102]")  # def post(self):
    assert {f for f in scan(seed) if f[2] != "CA002"} == SEED - {("resources.py", 21, "CA102")}


# -- comment syntax by file type --------------------------------------------------------


def directives(path: str, kind: FileKind, text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    return [(d.line, d.form, d.codes) for d in comments(path, kind, text)]


def test_python_comments_come_from_tokenize() -> None:
    text = (
        'x = "# noqa: CA101"  # noqa: CA102\n'
        "y = '''\n# celery-audit: ignore-file[CA201]\n'''\n"
        "z = 1  # noqa\n"
        "# celery-audit: ignore-file[CA301,  CA104, XY1]\n"
        "w = 2  # celery-audit: ignore[]\n"
        "v = f(  # noqa: CA201 (the file is broken below; comments up to there count)\n"
        "    [\n"
    )
    assert directives("m.py", FileKind.PYTHON, text) == [
        (1, "noqa", ("CA102",)),
        (6, "ignore-file", ("CA301", "CA104")),
        (7, "ignore", ()),
        (8, "noqa", ("CA201",)),
    ]


@pytest.mark.parametrize(
    ("path", "kind", "text", "expected"),
    [
        ("Procfile", FileKind.SCRIPT,
         "worker: celery -A app worker  # celery-audit: ignore[CA501]\nweb: gunicorn app#noqa: CA505\n",
         [(1, "ignore", ("CA501",))]),
        ("docker-compose.yml", FileKind.SCRIPT,
         "services:\n  beat:\n    command: celery -A app beat # noqa: CA503\n# celery-audit: ignore-file[CA504]\n",
         [(3, "noqa", ("CA503",)), (4, "ignore-file", ("CA504",))]),
        ("bin/start.sh", FileKind.SCRIPT, "celery -A app worker -Q mail  # noqa: CA504\n",
         [(1, "noqa", ("CA504",))]),
        ("Dockerfile", FileKind.SCRIPT, 'CMD ["celery", "-A", "app", "worker"]  # noqa: CA501\n',
         [(1, "noqa", ("CA501",))]),
        ("Makefile", FileKind.SCRIPT, "worker:\n\tcelery -A app worker  # noqa: CA501\n",
         [(2, "noqa", ("CA501",))]),
        ("deploy/supervisord.conf", FileKind.SCRIPT,
         "[program:worker]\ncommand=celery -A app worker ; celery-audit: ignore[CA501]\n",
         [(2, "ignore", ("CA501",))]),
        ("deploy/worker.service", FileKind.SCRIPT,
         "# celery-audit: ignore-file[CA501]\nExecStart=celery -A app worker\n",
         [(1, "ignore-file", ("CA501",))]),
        ("static/poll.js", FileKind.FRONTEND,
         "const url = 'http://x/api // noqa: CA602';  // noqa: CA601\n"
         "/* celery-audit: ignore-file[CA602] */\n"
         "const s = `multi\n// noqa: CA101\n`; /*\n celery-audit: ignore[CA601]\n*/\n",
         [(1, "noqa", ("CA601",)), (2, "ignore-file", ("CA602",)), (6, "ignore", ("CA601",))]),
        ("src/status.ts", FileKind.FRONTEND, "poll(id); // celery-audit: ignore[CA601]\n",
         [(1, "ignore", ("CA601",))]),
        ("templates/export.html", FileKind.FRONTEND,
         "<div>\n<!-- celery-audit: ignore[CA601] -->\n{# noqa: CA602 #}\n<p>noqa: CA101</p>\n",
         [(2, "ignore", ("CA601",)), (3, "noqa", ("CA602",))]),
        ("Progress.vue", FileKind.FRONTEND,
         "<template><!-- noqa: CA601 --></template>\n<script>\nfetch(u) // noqa: CA602\n</script>\n",
         [(1, "noqa", ("CA601",)), (3, "noqa", ("CA602",))]),
    ],
)  # fmt: skip
def test_comment_syntax_of_other_files(
    path: str, kind: FileKind, text: str, expected: list[tuple[int, str, tuple[str, ...]]]
) -> None:
    assert directives(path, kind, text) == expected


def finding(code: str, file: str, line: int) -> Finding:
    return Finding(code, "x", Severity.WARNING, "m", file, Span(line, 1))


def test_findings_in_non_python_files_are_suppressed_by_their_comments() -> None:
    files = {
        "Procfile": "web: gunicorn app:app\nworker: celery -A app worker  # noqa: CA501\n",
        "docker-compose.yml": "# celery-audit: ignore-file[CA504]\nservices: {}\n",
        "static/poll.js": "poll(id);\nfetch(u);  /* celery-audit: ignore[CA601] */\n",
        "templates/x.html": "<p>\n{# noqa: CA602 #}\n",
    }
    facts = []
    for name, text in files.items():
        kind = FileKind.FRONTEND if name.endswith((".js", ".html")) else FileKind.SCRIPT
        facts.append(extract_bytes(SourceFile(name, kind), text.encode()))
    found = [
        finding("CA501", "Procfile", 1),
        finding("CA501", "Procfile", 2),
        finding("CA504", "docker-compose.yml", 2),
        finding("CA601", "static/poll.js", 1),
        finding("CA601", "static/poll.js", 2),
        finding("CA602", "templates/x.html", 1),
        finding("CA602", "templates/x.html", 2),
    ]
    directives, functions = suppression_facts(facts)
    kept = apply(found, directives=directives, functions=functions, settings=Settings(), ran=())
    assert [(f.file, f.span.line, f.code) for f in kept.findings] == [
        ("Procfile", 1, "CA501"),
        ("static/poll.js", 1, "CA601"),
        ("templates/x.html", 1, "CA602"),
    ]


def test_directive_text() -> None:
    assert [
        Directive(1, 1, "ignore", ("CA201", "CA101")).text,
        Directive(1, 1, "ignore-file", ("CA201",)).text,
        Directive(1, 1, "noqa", ("CA201",)).text,
        Directive(1, 1, "ignore", ()).text,
    ] == [
        "celery-audit: ignore[CA201, CA101]",
        "celery-audit: ignore-file[CA201]",
        "noqa: CA201",
        "celery-audit: ignore",
    ]


# -- CA002 ----------------------------------------------------------------------------


@needs_ca002
def test_unused_suppressions_are_reported_exactly(seed: Path) -> None:
    workers = seed / "workers.py"
    comment_on(workers, DECORATOR, "# celery-audit: ignore[CA201, CA101]")  # CA101: unused
    comment_on(workers, 82, "# noqa: CA201")  # cleanup_expired_exports has a context
    comment_on(workers, 83, "# noqa")  # bare: not ours, never reported
    comment_on(workers, 84, "# noqa: F401")  # other tools' only
    comment_on(workers, 85, "# noqa: CA999")  # no such rule
    comment_on(workers, 86, "# celery-audit: ignore")  # names no code
    comment_on(workers, 87, "# celery-audit: ignore[CA301]  # noqa: CA002")  # suppressed CA002
    comment_on(workers, 1, "# celery-audit: ignore-file[CA301]")  # used by the beat schedule
    comment_on(seed / "resources.py", 21, "# noqa: CA102, CA105")  # CA105: unused
    result = CliRunner().invoke(main, ["scan", str(seed), "--format", "json", "--fail-on", "never"])
    unused = [
        (f["file"], f["line"], f["column"], f["severity"], f["message"])
        for f in json.loads(result.stdout)["findings"]
        if f["code"] == "CA002"
    ]

    def column(file: str, line: int) -> int:  # of the directive, after "# "
        text = (seed / file).read_text(encoding="utf-8").splitlines()[line - 1]
        return text.index("# ") + 3

    assert unused == [
        ("resources.py", 21, column("resources.py", 21), "info",
         "`noqa: CA102, CA105`: no CA105 finding here to suppress"),
        ("workers.py", DECORATOR, column("workers.py", DECORATOR), "info",
         "`celery-audit: ignore[CA201, CA101]`: no CA101 finding here to suppress"),
        ("workers.py", 82, column("workers.py", 82), "info",
         "`noqa: CA201`: no CA201 finding here to suppress"),
        ("workers.py", 86, column("workers.py", 86), "info",
         "`celery-audit: ignore` names no rule code, so it suppresses nothing"),
    ]  # fmt: skip
    assert scan(seed) - {f for f in scan(seed) if f[2] == "CA002"} == {
        ("resources.py", 21, "CA101"),
    }


@needs_ca002
def test_unused_suppression_only_for_codes_that_ran(seed: Path) -> None:
    comment_on(seed / "workers.py", BODY, "# noqa: CA201")
    assert ("workers.py", BODY, "CA002") in scan(seed)
    assert scan(seed, "--ignore", "CA201") == SEED - {("workers.py", 65, "CA201")}
    assert scan(seed, "--select", "CA3") == {("workers.py", 97, "CA301")}
    assert scan(seed, "--ignore", "CA002") == SEED
    (seed / "pyproject.toml").write_text(
        '[tool.celery-audit]\nper-file-ignores = { "workers.py" = ["CA201"] }\n'
    )
    assert scan(seed) == SEED - {("workers.py", 65, "CA201")}

    # CA002's severity can be raised like any rule's, to keep suppressions tidy in CI.
    comment_on(seed / "workers.py", BODY, "# noqa: CA301")
    (seed / "pyproject.toml").unlink()
    assert CliRunner().invoke(main, ["scan", str(seed), "--select", "CA002,CA301"]).exit_code == 0
    (seed / "pyproject.toml").write_text('[tool.celery-audit]\nseverity = { CA002 = "error" }\n')
    result = CliRunner().invoke(main, ["scan", str(seed), "--select", "CA002,CA301"])
    assert result.exit_code == 1


@needs_ca002
def test_the_same_comment_in_two_files_is_two_suppressions() -> None:
    facts = [
        extract_bytes(SourceFile(name, FileKind.PYTHON), b"x = 1  # noqa: CA201\n")
        for name in ("a.py", "b.py")
    ]
    directives, functions = suppression_facts(facts)
    kept = apply(
        [finding("CA201", "a.py", 1)],
        directives=directives,
        functions=functions,
        settings=Settings(),
        ran={"CA201"},
    )
    assert [(f.file, f.span.line, f.span.column, f.code) for f in kept.findings] == [
        ("b.py", 1, 10, "CA002")
    ]


def codes_at(path: Path, *codes: str) -> list[tuple[str, int, str]]:
    result = CliRunner().invoke(main, ["scan", str(path), "--format", "json", "--fail-on", "never"])
    return [(f["file"], f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]
            if f["code"] in codes]  # fmt: skip


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_service_script_findings_are_suppressed_end_to_end(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "ca501_worker_target_unresolved" / "stale_attribute", app)
    assert codes_at(app, "CA501") == [("Procfile", 3, "CA501"), ("Procfile", 4, "CA501")]
    replace_in(app / "Procfile", "worker --loglevel=info  # expect: CA501",
               "worker --loglevel=info  # noqa: CA501")  # fmt: skip
    assert codes_at(app, "CA501") == [("Procfile", 4, "CA501")]
    (app / "Procfile").write_text("# celery-audit: ignore-file[CA501]\n" + (app / "Procfile").read_text())  # fmt: skip
    assert codes_at(app, "CA501") == []

    compose = tmp_path / "compose"
    shutil.copytree(FIXTURES / "ca505_worker_target_is_flask_app" / "worker_module", compose)
    assert codes_at(compose, "CA505") == [
        ("docker-compose.yml", 26, "CA505"),
        ("docker-compose.yml", 30, "CA505"),
    ]
    replace_in(compose / "docker-compose.yml", "beat --loglevel=info  # expect: CA505",
               "beat --loglevel=info  # celery-audit: ignore[CA505]")  # fmt: skip
    assert codes_at(compose, "CA505") == [("docker-compose.yml", 26, "CA505")]


def test_frontend_findings_are_suppressed_end_to_end(seed: Path) -> None:
    script = seed / "static" / "js" / "export.js"
    assert codes_at(seed, "CA601") == [("static/js/export.js", 16, "CA601")]
    replace_in(script, "// expect: CA601", "// noqa")  # bare: not honoured
    assert codes_at(seed, "CA601") == [("static/js/export.js", 16, "CA601")]
    replace_in(script, "// noqa", "/* celery-audit: ignore[CA601] */")
    assert codes_at(seed, "CA601") == []
