"""Property: no input makes extraction or linking raise.

Sources are generated (hypothesmith, when installed: programs from Python's grammar
and from libcst's node types), mutated from the fixtures (byte flips, deletions,
truncations, swapped lines, Celery/Flask vocabulary inserted so that the deep pass
runs), or plain random bytes and text. Every one must come out of
`extract_bytes` as facts or as a parse problem, pickle unchanged (facts cross
process boundaries and are cached), and link into a project beside a small valid app.
"""

from __future__ import annotations

import ast
import pickle
import warnings

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from celery_audit.extract import extract_bytes
from celery_audit.link import link
from celery_audit.model.facts import FileFacts, FileKind, SourceFile

try:
    import hypothesmith
except ImportError:  # optional: the mutated and random sources still run
    hypothesmith = None

# hypothesmith compiles what it generates; odd programs warn, which is not ours.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

SETTINGS = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# Every fixture's Python file, broken ones included, as the material to mutate.
SEEDS = sorted(
    path.read_bytes()
    for path in FIXTURES.rglob("*.py")
    if path.is_file() and path.stat().st_size < 20_000
)

# Whole statements, valid wherever a statement may stand: spliced into valid programs
# at a statement's indentation, they make programs that the deep pass reads in full.
STATEMENTS = (
    "celery = Celery(__name__, include=['tasks'], task_cls='pkg.ext:ContextTask')\n",
    "result = export.delay(1, key='k')\n",
    "export.apply_async(args=(1,), queue='reports', countdown=5)\n",
    "celery.send_task('pkg.ext.export', args=[1])\n",
    "chain(export.s(1), export.si(2), group(export.s(3)))()\n",
    "state = AsyncResult(task_id).state\n",
    "celery.conf.beat_schedule = {'k': {'task': 'pkg.ext.export', 'schedule': 5.0}}\n",
    "celery.conf.update(task_serializer='json', beat_schedule={'b': {'task': 't'}})\n",
    "app.config['CELERY'] = dict(broker_url='redis://', beat_schedule={})\n",
    "celery.Task = ContextTask\n",
    "sender.add_periodic_task(10.0, export.s(1), name='p')\n",
    "from celery import shared_task as st, Celery\n",
    "from .ext import celery, export\n",
    "from . import *\n",
    "from flask import current_app, request, g, Flask\n",
    "import celery.app.base as base\n",
    "task = tasks.export\n",
    "with app.app_context():\n    export.delay(current_app.name)\n",
    "with create_app().app_context():\n    db.session.commit()\n",
    "@celery.task(bind=True, name='x.y')\ndef job(self, n):\n"
    "    self.update_state(state='PROGRESS', meta={'n': n})\n"
    "    return current_app.config[n]\n",
    "@shared_task\n@wrapper\ndef plain():\n    return db.session.query(Model).all()\n",
    "@app.route('/status/<task_id>', methods=['GET'])\ndef status(task_id):\n"
    "    result = export.AsyncResult(task_id)\n"
    "    return jsonify({'state': result.state, 'id': result.id})\n",
    "class ContextTask(celery.Task):\n    def __call__(self, *args, **kwargs):\n"
    "        with app.app_context():\n            return self.run(*args, **kwargs)\n",
    "class Config:\n    CELERY_BROKER_URL = 'redis://'\n    CELERYBEAT_SCHEDULE = {}\n",
    "def wrapper(f):\n    def inner(*a, **k):\n        return f(*a, **k)\n    return inner\n",
    "if TYPE_CHECKING:\n    from .ext import app\n",
)

# Whole lines that pull a file into the deep pass, and fragments that break it.
VOCABULARY_LINES = (
    "@celery.task\n",
    "@shared_task(bind=True, name='x.y')\n",
    "@app.task(base=ContextTask)\n",
    "@app.route('/status/<task_id>')\n",
    "with app.app_context():\n",
    "celery = Celery(__name__, include=['tasks'])\n",
    "celery.conf.beat_schedule = {'k': {'task': 't', 'schedule': 5}}\n",
    "celery.conf.update(beat_schedule={'k': {'task': 't'}})\n",
    "class ContextTask(celery.Task):\n",
    "    def __call__(self, *args):\n",
    "result = export.delay(1)\n",
    "return {'task_id': result.id}\n",
    "AsyncResult(task_id).state\n",
    "self.update_state(state='PROGRESS')\n",
    "from celery import shared_task as st\n",
    "from . import tasks\n",
    "from .. import *\n",
    "import celery.app.base as base\n",
    "task = tasks.export\n",
    "app.config['CELERY'] = dict(beat_schedule={})\n",
    "sender.add_periodic_task(10.0, ping.s(), name='p')\n",
    "def wrapper(*a, **k):\n",
    "    return wrapper\n",
    "if TYPE_CHECKING:\n",
    "if __name__ == '__main__':\n",
    "# -*- coding: latin-1 -*-\n",
)
FRAGMENTS = (
    ".delay(",
    ".apply_async(",
    ".s(",
    "send_task('",
    "current_app",
    "db.session",
    "    ",
    "\t",
    "\n",
    "\r",
    "\x0c",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "'",
    '"',
    '"""',
    "\\",
    "@",
    "lambda: ",
    ":=",
    "async ",
    "await ",
    "yield ",
    "\x00",
    "\ufeff",
)

PATHS = ("pkg/tasks.py", "pkg/__init__.py", "tasks.py", "pkg/sub/__init__.py", "ext.py")


def _app_facts() -> FileFacts:
    """A valid app the generated module is linked beside, so names resolve across files."""
    source = (
        b"from celery import Celery, shared_task\n"
        b"from flask import Flask, current_app\n"
        b"app = Flask(__name__)\n"
        b"celery = Celery(__name__)\n"
        b"@celery.task\n"
        b"def export(x):\n"
        b"    return current_app.config[x]\n"
    )
    facts = extract_bytes(SourceFile("pkg/ext.py", FileKind.PYTHON), source)
    assert facts.problems == () and facts.python is not None and facts.python.deep
    return facts


APP = _app_facts()


def _parses(source: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return False
    return True


def _insert_lines(source: str, lines: list[tuple[int, str]]) -> str:
    """`source` with each line inserted before the line at index % (number of lines)."""
    result = source.splitlines(keepends=True) or [""]
    for index, line in lines:
        result.insert(index % (len(result) + 1), line)
    return "".join(result)


VALID_SEEDS = [seed for seed in SEEDS if _parses(seed)]


@st.composite
def spliced(draw: st.DrawFn) -> bytes:
    """A valid fixture file with whole statements inserted at statements' indentation:
    mostly still valid, so the deep pass reads it."""
    lines = draw(st.sampled_from(VALID_SEEDS)).decode("utf-8").splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines)))
        following = lines[at] if at < len(lines) else ""
        indent = following[: len(following) - len(following.lstrip(" "))]
        statement = draw(st.sampled_from(STATEMENTS))
        lines[at:at] = [indent + line for line in statement.splitlines(keepends=True)]
    return "".join(lines).encode("utf-8")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A fixture file put through a few random edits."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(
            st.sampled_from(("line", "fragment", "byte", "delete", "truncate", "dup", "swap"))
        )
        at = draw(st.integers(0, len(data)))
        if op == "line":
            start = data.rfind(b"\n", 0, at) + 1
            indent = draw(st.sampled_from(("", "    ", "        ")))
            data[start:start] = (indent + draw(st.sampled_from(VOCABULARY_LINES))).encode()
        elif op == "fragment":
            data[at:at] = draw(st.sampled_from(FRAGMENTS)).encode()
        elif op == "byte" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[at:]
        elif op == "dup":
            end = min(len(data), at + draw(st.integers(1, 400)))
            data[end:end] = data[at:end]
        elif op == "swap":
            lines = bytes(data).splitlines(keepends=True)
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"".join(lines))
    return bytes(data)


def _with_vocabulary(programs: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Generated programs, some with Celery/Flask lines inserted (deep pass forced)."""
    lines = st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(VOCABULARY_LINES)), max_size=4)
    return st.builds(_insert_lines, programs, lines).map(
        lambda text: text.encode("utf-8", errors="surrogatepass")
    )


SOURCES: list[st.SearchStrategy[bytes]] = [
    spliced(),
    mutated(),
    st.binary(max_size=2000),
    _with_vocabulary(st.text(max_size=400)),
]


def _check(path: str, data: bytes) -> None:
    source = SourceFile(path, FileKind.PYTHON)
    facts = extract_bytes(source, data)
    # Shown by --hypothesis-show-statistics: how many examples reach the deep pass.
    if facts.problems:
        event(f"problem: {facts.problems[0].message.split(':')[0]}")
    else:
        event("deep pass" if facts.python is not None and facts.python.deep else "table only")
    assert facts.source == source
    assert facts.python is not None or facts.problems
    assert pickle.loads(pickle.dumps(facts)) == facts
    assert extract_bytes(source, data) == facts  # deterministic: safe to cache
    project = link("root", [APP, facts], root_packages=())
    assert {p.file for p in project.problems} == ({path} if facts.problems else set())


@SETTINGS
@given(path=st.sampled_from(PATHS), data=st.one_of(SOURCES))
def test_no_source_makes_extraction_or_linking_raise(path: str, data: bytes) -> None:
    _check(path, data)


# hypothesmith builds programs slowly (and discards many that nest too deep), so its
# strategies get fewer examples of their own.
needs_hypothesmith = pytest.mark.skipif(hypothesmith is None, reason="needs hypothesmith")


@needs_hypothesmith
@settings(SETTINGS, max_examples=200)
@given(
    path=st.sampled_from(PATHS),
    data=_with_vocabulary(hypothesmith.from_grammar()) if hypothesmith else st.nothing(),
)
def test_programs_from_the_python_grammar(path: str, data: bytes) -> None:
    _check(path, data)


@needs_hypothesmith
@settings(SETTINGS, max_examples=30)
@given(
    path=st.sampled_from(PATHS),
    data=_with_vocabulary(hypothesmith.from_node()) if hypothesmith else st.nothing(),
)
def test_programs_built_from_libcst_nodes(path: str, data: bytes) -> None:
    _check(path, data)
