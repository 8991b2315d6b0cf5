"""extract_scripts: the celery commands each kind of service script starts.

Each fixture's facts are asserted as an exact tuple, so a new false positive fails as
surely as a miss.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celery_audit.extract.errors import SourceError
from celery_audit.extract.scripts import extract_scripts
from celery_audit.model.facts import Keyword, Span, WorkerCommandFacts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
APP = "shop.celery_app:celery"


def fact(
    line: int,
    column: int,
    command: str,
    app_target: str | None,
    subcommand: str,
    *,
    queues: tuple[str, ...] = (),
    beat: bool = False,
    include: tuple[str, ...] = (),
    workdir: str | None = None,
) -> WorkerCommandFacts:
    return WorkerCommandFacts(
        command=command,
        span=Span(line, column),
        app_target=app_target,
        subcommand=subcommand,
        queues=queues,
        beat=beat,
        include=include,
        workdir=workdir,
    )


def extract_fixture(fixture: str, path: str) -> tuple[WorkerCommandFacts, ...]:
    """Facts of one fixture file, read with its path relative to the fixture root."""
    text = (FIXTURES / fixture / path).read_text(encoding="utf-8")
    return extract_scripts(path, text)


# -- one fixture per format ----------------------------------------------------------------


def test_procfile() -> None:
    assert extract_fixture("scripts_procfile", "Procfile") == (
        fact(
            4,
            9,
            f"celery -A {APP} worker --loglevel=info -Q default,emails",
            APP,
            "worker",
            queues=("default", "emails"),
        ),
        fact(5, 7, f"celery --app={APP} beat --loglevel=info", APP, "beat"),
    )


def test_honcho_procfile_with_watchmedo_and_flower() -> None:
    assert extract_fixture("scripts_honcho", "Procfile.dev") == (
        fact(2, 83, f"celery -A {APP} worker -B -l debug", APP, "worker", beat=True),
        fact(3, 9, f"celery -A {APP} flower --port=5555", APP, "flower"),
    )


def test_shell_script() -> None:
    # `export CELERY_APP` applies to both later commands; `cd "$(dirname "$0")/.."` is
    # the script's folder's parent; `cd /srv/shop && exec celery` sets the folder again.
    assert extract_fixture("scripts_shell", "bin/start-worker.sh") == (
        fact(13, 10, 'celery beat --loglevel="$LOGLEVEL"', APP, "beat", workdir=".."),
        fact(
            16,
            22,
            'celery worker --queues="$QUEUES" --include=shop.tasks.reports --loglevel="$LOGLEVEL"',
            APP,
            "worker",
            queues=("default", "emails"),
            include=("shop.tasks.reports",),
            workdir="/srv/shop",
        ),
    )


def test_compose() -> None:
    # Facts point at the `command:` key; `<<: *app` brings working_dir; the reports
    # service runs entrypoint + command with CELERY_APP from its environment list.
    assert extract_fixture("scripts_compose", "docker-compose.yml") == (
        fact(
            22,
            5,
            f"celery -A {APP} worker -Q default,emails --loglevel=info",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="/srv/shop",
        ),
        fact(27, 5, f"celery -A {APP} beat -l info", APP, "beat", workdir="/srv/shop"),
        fact(
            36,
            5,
            "celery worker -Q reports -I shop.tasks.reports",
            APP,
            "worker",
            queues=("reports",),
            include=("shop.tasks.reports",),
            workdir="/srv/shop",
        ),
        fact(
            40,
            5,
            f"celery -A {APP} worker -B -l debug",
            APP,
            "worker",
            beat=True,
            workdir="/srv/shop/shop",
        ),
    )


def test_dockerfile() -> None:
    # worker: shell-form CMD across continuations (with a comment line inside), ENV
    # CELERY_APP, WORKDIR $APP_HOME; beat: exec ENTRYPOINT + CMD, pointing at "celery".
    assert extract_fixture("scripts_dockerfile", "Dockerfile") == (
        fact(
            16,
            5,
            "celery worker --queues=default,emails --loglevel=info",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="/srv/shop",
        ),
        fact(22, 27, f"celery -A {APP} beat --loglevel=info", APP, "beat", workdir="/srv/shop"),
    )


def test_makefile() -> None:
    assert extract_fixture("scripts_makefile", "Makefile") == (
        fact(
            11,
            17,
            f"celery -A {APP} worker -Q default,emails --loglevel=info",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="backend",
        ),
        fact(14, 3, f"celery -A {APP} beat --loglevel=info", APP, "beat"),
        fact(17, 10, f"celery -A {APP} purge -f", APP, "purge"),
    )


def test_supervisord() -> None:
    assert extract_fixture("scripts_supervisor", "supervisord.conf") == (
        fact(
            9,
            9,
            f"/srv/shop/venv/bin/celery -A {APP} worker -Q default -Q emails --loglevel=INFO",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="/srv/shop",
        ),
        fact(
            16,
            9,
            "/srv/shop/venv/bin/celery beat --loglevel=INFO",
            APP,
            "beat",
            workdir="/srv/shop",
        ),
    )


def test_systemd_service() -> None:
    assert extract_fixture("scripts_systemd", "celery-worker.service") == (
        fact(
            12,
            11,
            "/srv/shop/venv/bin/celery worker -Q ${QUEUES} --loglevel=INFO",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="/srv/shop",
        ),
    )


def test_systemd_service_from_the_celery_docs() -> None:
    # Everything comes from an EnvironmentFile we never read: unresolved, kept as written.
    command = (
        "${CELERY_BIN} -A $CELERY_APP multi start $CELERYD_NODES "
        "--pidfile=${CELERYD_PID_FILE} --logfile=${CELERYD_LOG_FILE} "
        '--loglevel="${CELERYD_LOG_LEVEL}" $CELERYD_OPTS'
    )
    assert extract_fixture("scripts_systemd", "celery.service") == (
        fact(11, 23, command, "$CELERY_APP", "multi", workdir="/opt/celery"),
    )


def test_package_json() -> None:
    assert extract_fixture("scripts_packagejson", "package.json") == (
        fact(
            8,
            5,
            f"celery -A {APP} worker -B --loglevel=info",
            APP,
            "worker",
            beat=True,
            workdir="..",
        ),
        fact(9, 5, f"python -m celery -A {APP} flower", APP, "flower"),
    )


def test_kubernetes_command_and_args() -> None:
    assert extract_fixture("scripts_k8s", "worker-deployment.yaml") == (
        fact(
            16,
            11,
            f"celery -A {APP} worker --queues=default,emails",
            APP,
            "worker",
            queues=("default", "emails"),
            workdir="/srv/shop",
        ),
        fact(33, 11, f"celery -A {APP} beat --loglevel=info", APP, "beat"),
    )


def test_github_actions_run_step() -> None:
    assert extract_fixture("scripts_ci", ".github/workflows/test.yml") == (
        fact(
            19,
            11,
            "celery worker --loglevel=info --detach",
            APP,
            "worker",
            workdir="backend",
        ),
    )


def test_gitlab_ci_script() -> None:
    assert extract_fixture("scripts_ci", ".gitlab-ci.yml") == (
        fact(
            11,
            7,
            'celery -A "$APP" worker -Q default --detach',
            APP,
            "worker",
            queues=("default",),
        ),
    )


def test_uwsgi_attach_daemons() -> None:
    assert extract_fixture("scripts_uwsgi", "uwsgi.ini") == (
        fact(
            6,
            17,
            f"celery -A {APP} worker -Q default",
            APP,
            "worker",
            queues=("default",),
            workdir="/srv/shop",
        ),
        fact(
            7,
            43,
            f"celery -A {APP} beat --pidfile=/tmp/celerybeat.pid",
            APP,
            "beat",
            workdir="/srv/shop",
        ),
    )


def test_upstart_job() -> None:
    assert extract_fixture("scripts_upstart", "celery.conf") == (
        fact(
            8,
            6,
            "/srv/shop/venv/bin/celery worker --loglevel=info -Q default",
            APP,
            "worker",
            queues=("default",),
            workdir="/srv/shop",
        ),
    )


# -- command forms -------------------------------------------------------------------------

# Each line is read as a one-line shell script: (line, the exact facts expected).
FORMS: list[tuple[str, tuple[WorkerCommandFacts, ...]]] = [
    ("celery -A proj worker", (fact(1, 1, "celery -A proj worker", "proj", "worker"),)),
    ("celery --app proj worker", (fact(1, 1, "celery --app proj worker", "proj", "worker"),)),
    ("celery --app=proj worker", (fact(1, 1, "celery --app=proj worker", "proj", "worker"),)),
    ("celery -Aproj worker", (fact(1, 1, "celery -Aproj worker", "proj", "worker"),)),
    ("celery worker -A proj", (fact(1, 1, "celery worker -A proj", "proj", "worker"),)),
    (
        'celery -A "app:create_app()" worker',
        (fact(1, 1, 'celery -A "app:create_app()" worker', "app:create_app()", "worker"),),
    ),
    (
        "python -m celery -A proj worker",
        (fact(1, 1, "python -m celery -A proj worker", "proj", "worker"),),
    ),
    (
        "python3 -u -m celery --app proj worker -Ofair -c 4",
        (fact(1, 1, "python3 -u -m celery --app proj worker -Ofair -c 4", "proj", "worker"),),
    ),
    (
        "/venv/bin/celery -A proj worker",
        (fact(1, 1, "/venv/bin/celery -A proj worker", "proj", "worker"),),
    ),
    (
        "celery -A proj worker -B",
        (fact(1, 1, "celery -A proj worker -B", "proj", "worker", beat=True),),
    ),
    (
        "celery -A proj worker --beat",
        (fact(1, 1, "celery -A proj worker --beat", "proj", "worker", beat=True),),
    ),
    (
        "celery -A proj worker -BE",
        (fact(1, 1, "celery -A proj worker -BE", "proj", "worker", beat=True),),
    ),
    (
        "celery -A proj worker -Q a,b",
        (fact(1, 1, "celery -A proj worker -Q a,b", "proj", "worker", queues=("a", "b")),),
    ),
    (
        "celery -A proj worker --queues=a,b",
        (fact(1, 1, "celery -A proj worker --queues=a,b", "proj", "worker", queues=("a", "b")),),
    ),
    (
        "celery -A proj worker -Q a -Q b",
        (fact(1, 1, "celery -A proj worker -Q a -Q b", "proj", "worker", queues=("a", "b")),),
    ),
    (
        "celery -A proj worker -I proj.x,proj.y",
        (
            fact(
                1,
                1,
                "celery -A proj worker -I proj.x,proj.y",
                "proj",
                "worker",
                include=("proj.x", "proj.y"),
            ),
        ),
    ),
    (
        "celery -A proj worker --include=proj.x",
        (
            fact(
                1,
                1,
                "celery -A proj worker --include=proj.x",
                "proj",
                "worker",
                include=("proj.x",),
            ),
        ),
    ),
    (
        "celery multi start w1 -A proj -Q q",
        (fact(1, 1, "celery multi start w1 -A proj -Q q", "proj", "multi", queues=("q",)),),
    ),
    (
        "celery -A proj multi start w1 w2 -Q:w1 a -Q:w2 b",
        (
            fact(
                1,
                1,
                "celery -A proj multi start w1 w2 -Q:w1 a -Q:w2 b",
                "proj",
                "multi",
                queues=("a", "b"),
            ),
        ),
    ),
    ("celery -A proj beat", (fact(1, 1, "celery -A proj beat", "proj", "beat"),)),
    ("celery -A proj flower", (fact(1, 1, "celery -A proj flower", "proj", "flower"),)),
    ("celery -A proj", (fact(1, 1, "celery -A proj", "proj", ""),)),
    ("celeryd -B", (fact(1, 1, "celeryd -B", None, "worker", beat=True),)),
    (
        "watchmedo auto-restart -d . -p '*.py' -R -- celery -A proj worker",
        (fact(1, 45, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "watchmedo auto-restart --directory=. --recursive celery -- -A proj worker",
        (fact(1, 50, "celery -A proj worker", "proj", "worker"),),
    ),
    ('sh -c "celery -A proj worker"', (fact(1, 8, "celery -A proj worker", "proj", "worker"),)),
    (
        "bash -ec 'cd src && celery -A proj worker'",
        (fact(1, 21, "celery -A proj worker", "proj", "worker", workdir="src"),),
    ),
    (
        "su -c 'celery -A proj worker' celery",
        (fact(1, 8, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "su celery -c 'celery -A proj worker'",
        (fact(1, 15, "celery -A proj worker", "proj", "worker"),),
    ),
    ("gosu app celery -A proj worker", (fact(1, 10, "celery -A proj worker", "proj", "worker"),)),
    ("exec celery -A proj worker", (fact(1, 6, "celery -A proj worker", "proj", "worker"),)),
    (
        "nohup celery -A proj worker > worker.log 2>&1 &",
        (fact(1, 7, "celery -A proj worker", "proj", "worker"),),
    ),
    ("env FOO=1 celery -A proj worker", (fact(1, 11, "celery -A proj worker", "proj", "worker"),)),
    (
        "env -C /srv CELERY_APP=proj celery worker",
        (fact(1, 29, "celery worker", "proj", "worker", workdir="/srv"),),
    ),
    (
        "CELERY_APP=proj.celery celery worker",
        (fact(1, 24, "celery worker", "proj.celery", "worker"),),
    ),
    ("APP=proj.celery celery worker", (fact(1, 17, "celery worker", "proj.celery", "worker"),)),
    (
        "celery --workdir /srv -A proj worker",
        (fact(1, 1, "celery --workdir /srv -A proj worker", "proj", "worker", workdir="/srv"),),
    ),
    (
        "cd /srv/app && celery -A proj worker",
        (fact(1, 16, "celery -A proj worker", "proj", "worker", workdir="/srv/app"),),
    ),
    (
        "wait-for-it redis:6379 -- celery -A proj worker",
        (fact(1, 27, "celery -A proj worker", "proj", "worker"),),
    ),
    ("poetry run celery -A proj worker", (fact(1, 12, "celery -A proj worker", "proj", "worker"),)),
    (
        "sudo -u app -E celery -A proj worker",
        (fact(1, 16, "celery -A proj worker", "proj", "worker"),),
    ),
    ("timeout 60 celery -A proj worker", (fact(1, 12, "celery -A proj worker", "proj", "worker"),)),
    (
        "dumb-init -- celery -A proj worker",
        (fact(1, 14, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "newrelic-admin run-program celery -A proj worker",
        (fact(1, 28, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "/docker-entrypoint.sh celery -A proj worker",
        (fact(1, 23, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "celery -A proj worker & celery -A proj beat",
        (
            fact(1, 1, "celery -A proj worker", "proj", "worker"),
            fact(1, 25, "celery -A proj beat", "proj", "beat"),
        ),
    ),
    (
        "celery -A proj worker; celery -A proj beat",
        (
            fact(1, 1, "celery -A proj worker", "proj", "worker"),
            fact(1, 24, "celery -A proj beat", "proj", "beat"),
        ),
    ),
    (
        "celery -A proj worker && celery -A proj beat",
        (
            fact(1, 1, "celery -A proj worker", "proj", "worker"),
            fact(1, 26, "celery -A proj beat", "proj", "beat"),
        ),
    ),
    (
        "celery -A proj worker | tee worker.log",
        (fact(1, 1, "celery -A proj worker", "proj", "worker"),),
    ),
    (
        "celery -A ${UNKNOWN} worker",
        (fact(1, 1, "celery -A ${UNKNOWN} worker", "${UNKNOWN}", "worker"),),
    ),
    ("celery -A $UNKNOWN worker", (fact(1, 1, "celery -A $UNKNOWN worker", "$UNKNOWN", "worker"),)),
    (
        "celery -A ${APP_MODULE:-proj.celery} worker",
        (fact(1, 1, "celery -A ${APP_MODULE:-proj.celery} worker", "proj.celery", "worker"),),
    ),
    (
        "celery -A 'unbalanced worker",
        (fact(1, 1, "celery -A 'unbalanced worker", "unbalanced worker", ""),),
    ),
    ("pip install celery", ()),
    ("echo celery -A proj worker", ()),
    ("command -v celery", ()),
    ("# celery -A proj worker", ()),
    ("gunicorn app:app", ()),
]


@pytest.mark.parametrize(("line", "expected"), FORMS, ids=[line for line, _ in FORMS])
def test_command_form(line: str, expected: tuple[WorkerCommandFacts, ...]) -> None:
    assert extract_scripts("bin/run.sh", line) == expected


# -- shell state across lines ----------------------------------------------------------------


def test_variables_and_exports_apply_to_later_commands() -> None:
    script = (
        "APP_MODULE=proj.celery\n"
        "CELERY_APP=not.exported\n"
        "celery -A $APP_MODULE worker\n"  # a shell variable expands
        "celery worker\n"  # an unexported variable is not celery's environment
        "export CELERY_APP\n"
        "celery beat\n"
    )
    assert extract_scripts("run.sh", script) == (
        fact(3, 1, "celery -A $APP_MODULE worker", "proj.celery", "worker"),
        fact(4, 1, "celery worker", None, "worker"),
        fact(6, 1, "celery beat", "not.exported", "beat"),
    )


def test_unknown_values_stay_as_written() -> None:
    script = 'export CELERY_APP="$(cat app.txt)"\nAPP_MODULE=$(cat app.txt)\n' + (
        "celery worker\ncelery -A $APP_MODULE beat\n"
    )
    assert extract_scripts("run.sh", script) == (
        fact(3, 1, "celery worker", "$CELERY_APP", "worker"),
        fact(4, 1, "celery -A $APP_MODULE beat", "$APP_MODULE", "beat"),
    )


def test_an_unquoted_variable_splits_into_words() -> None:
    script = 'CELERY_CMD="celery -A proj worker"\nexec $CELERY_CMD -Q a\n'
    assert extract_scripts("run.sh", script) == (
        fact(2, 6, "$CELERY_CMD -Q a", "proj", "worker", queues=("a",)),
    )


def test_continuations_case_arms_and_heredocs() -> None:
    script = (
        'case "$1" in\n'
        "  worker) exec celery -A proj worker \\\n"
        "      -Q default ;;\n"
        "  beat) exec celery -A proj beat ;;\n"
        "esac\n"
        "cat > /etc/supervisor/conf.d/x.conf <<EOF\n"
        "celery -A heredoc.body worker\n"
        "EOF\n"
    )
    assert extract_scripts("docker/entrypoint.sh", script) == (
        fact(2, 16, "celery -A proj worker -Q default", "proj", "worker", queues=("default",)),
        fact(4, 14, "celery -A proj beat", "proj", "beat"),
    )


def test_cd_in_a_subshell_string_stays_inside() -> None:
    script = "sh -c 'cd src && celery -A proj worker'\ncelery -A proj beat\n"
    assert extract_scripts("run.sh", script) == (
        fact(1, 18, "celery -A proj worker", "proj", "worker", workdir="src"),
        fact(2, 1, "celery -A proj beat", "proj", "beat"),
    )


# -- format details ------------------------------------------------------------------------


def test_procfile_web_process_yields_nothing() -> None:
    assert extract_scripts("Procfile", "web: gunicorn app:app\n") == ()


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("Procfile", "# worker: celery -A x worker\n"),
        ("run.sh", "# celery -A x worker\n"),
        ("run.sh", "echo ok  # celery -A x worker\n"),
        ("Makefile", "# celery -A x worker\nworker:\n\t# celery -A x worker\n"),
        ("Dockerfile", "FROM python\n# CMD celery -A x worker\n"),
        (
            "docker-compose.yml",
            "services:\n  w:\n    image: x\n    # command: celery -A x worker\n",
        ),
        ("supervisord.conf", "[program:w]\n;command=celery -A x worker\ncommand=sleep 1\n"),
        ("w.service", "[Service]\n#ExecStart=/bin/celery -A x worker\nExecStart=/bin/true\n"),
    ],
)
def test_comment_lines_yield_nothing(path: str, text: str) -> None:
    assert extract_scripts(path, text) == ()


BROKEN_YAML = "services:\n  worker:\n    command: [celery, -A\n  x: : y\n"


@pytest.mark.parametrize("path", [".github/workflows/ci.yml", "k8s/w.yaml"])
def test_invalid_yaml_yields_nothing(path: str) -> None:
    # Other YAML is often a template (Helm) before rendering: no facts, no finding.
    assert extract_scripts(path, BROKEN_YAML) == ()


@pytest.mark.parametrize("path", ["docker-compose.yml", "compose.yaml"])
def test_invalid_compose_yaml_is_a_source_error(path: str) -> None:
    with pytest.raises(SourceError) as raised:
        extract_scripts(path, BROKEN_YAML)
    assert (raised.value.message, raised.value.span.line) == (
        "invalid YAML: expected ',' or ']', but got ':'",
        4,
    )


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("run.sh", "celery -A \"proj worker\nexec celery -A 'proj beat\n"),
        ("Procfile", "worker: celery -A 'proj worker\n"),
        ("Dockerfile", 'FROM x\nCMD ["celery", "-A", "proj\nCMD celery -A "proj\n'),
        ("docker-compose.yml", "services:\n  w:\n    command: celery -A 'proj worker\n"),
        ("Makefile", "w:\n\tcelery -A $(APP worker '\n"),
        ("w.service", "[Service]\nExecStart=/bin/celery -A 'proj worker\n"),
        ("supervisord.conf", '[program:w]\ncommand=celery -A "proj worker\n'),
        ("package.json", '{"scripts": {"w": "celery -A \\"proj worker"}}'),
    ],
)
def test_unbalanced_quotes_do_not_raise(path: str, text: str) -> None:
    facts = extract_scripts(path, text)
    assert all("celery" in f.command for f in facts)


def test_invalid_package_json_yields_nothing() -> None:
    assert extract_scripts("package.json", '{"scripts": {"w": "celery -A x worker",}') == ()


def test_compose_version_1_layout_and_interpolation() -> None:
    text = (
        "worker:\n"
        "  image: shop\n"
        "  environment:\n"
        "    - CELERY_APP\n"  # from the host: set, value unknown
        "  command: celery worker -Q ${QUEUES:-default}\n"
        "beat:\n"
        "  image: shop\n"
        "  command: sh -c 'celery -A $$APP_MODULE beat'\n"
        "  environment:\n"
        "    APP_MODULE: shop.celery_app\n"
    )
    assert extract_scripts("deploy/docker-compose.prod.yml", text) == (
        fact(5, 3, "celery worker -Q default", "$CELERY_APP", "worker", queues=("default",)),
        fact(8, 3, "celery -A $APP_MODULE beat", "shop.celery_app", "beat"),
    )


def test_yaml_without_services_is_not_compose() -> None:
    # An unrelated config with a top-level mapping named like a service: not compose.
    text = "worker:\n  command: [celery, -A, proj, worker]\n  image: x\n"
    assert extract_scripts("config/settings.yml", text) == (
        fact(2, 3, "celery -A proj worker", "proj", "worker"),  # read as a container
    )
    assert extract_scripts("config/settings.yml", "worker:\n  concurrency: 4\n") == ()


def test_dockerfile_stages_entrypoints_and_inheritance() -> None:
    text = (
        "FROM python:3.12 AS base\n"
        "WORKDIR /srv\n"
        'ENTRYPOINT ["/docker-entrypoint.sh"]\n'
        "CMD celery -A proj worker -Q default\n"
        "\n"
        "FROM base AS dev\n"  # inherits ENTRYPOINT and CMD: no second fact
        "WORKDIR app\n"
        "\n"
        "FROM base AS beat\n"
        "ENTRYPOINT exec celery -A proj beat\n"  # shell form: CMD is ignored
    )
    assert extract_scripts("docker/Dockerfile.worker", text) == (
        fact(
            4,
            5,
            "celery -A proj worker -Q default",
            "proj",
            "worker",
            queues=("default",),
            workdir="/srv",
        ),
        fact(10, 17, "celery -A proj beat", "proj", "beat", workdir="/srv"),
    )


def test_dockerfile_exec_form_is_not_expanded() -> None:
    text = 'FROM x\nENV APP_MODULE=proj\nCMD ["celery", "-A", "$APP_MODULE", "worker"]\n'
    assert extract_scripts("worker.dockerfile", text) == (
        fact(3, 6, "celery -A $APP_MODULE worker", "$APP_MODULE", "worker"),
    )


def test_makefile_variables_and_shell_variables() -> None:
    text = (
        "PROJECT = shop\n"
        "APP = $(PROJECT).celery_app\n"
        "export QUEUES := default\n"
        "worker:\n"
        "\t@-celery -A $(APP) worker -Q $$QUEUES\n"
        "\tcd src; celery -A $(UNKNOWN) beat\n"
    )
    assert extract_scripts("Makefile", text) == (
        fact(
            5,
            4,
            "celery -A shop.celery_app worker -Q $QUEUES",
            "shop.celery_app",
            "worker",
            queues=("default",),
        ),
        fact(6, 10, "celery -A $(UNKNOWN) beat", "$(UNKNOWN)", "beat", workdir="src"),
    )


def test_systemd_prefixes_and_environment() -> None:
    text = (
        "[Service]\n"
        "Environment=CELERY_APP=proj.celery\n"
        "WorkingDirectory=-/srv/app\n"
        "ExecStart=-@/usr/bin/celery celery worker -B\n"
    )
    assert extract_scripts("celery.service", text) == (
        fact(
            4,
            13,
            "/usr/bin/celery worker -B",
            "proj.celery",
            "worker",
            beat=True,
            workdir="/srv/app",
        ),
    )


def test_non_ini_conf_is_read_as_upstart_and_others_yield_nothing() -> None:
    assert extract_scripts("nginx.conf", "server {\n  listen 80;\n}\n") == ()
    assert extract_scripts("setup.ini", "[metadata]\nname = shop\n") == ()


@pytest.mark.parametrize(
    "path",
    [
        "Procfile",
        "run.sh",
        "Dockerfile",
        "Makefile",
        "package.json",
        "docker-compose.yml",
        "ci.yml",
        "w.service",
        "supervisord.conf",
        "uwsgi.ini",
    ],
)
@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("celry -AQ\\\n\t\"'$(){}[]:=;&|<>#@,")), max_size=80)
)
def test_no_input_raises(path: str, text: str) -> None:
    """Nothing escapes but SourceError, which a compose file that is not YAML raises
    on purpose (it becomes CA001)."""
    try:
        facts = extract_scripts(path, text)
    except SourceError:
        assert path.startswith(("docker-compose", "compose"))
        return
    assert isinstance(facts, tuple)


def test_setting_options_are_kept_under_their_setting_names() -> None:
    script = (
        "celery -A proj worker --prefetch-multiplier=1 --time-limit 300 --soft-time-limit=$SOFT\n"
        "celery multi start w1 -A proj --prefetch-multiplier:w1 4\n"
    )
    found = extract_scripts("run.sh", script)
    assert [c.settings for c in found] == [
        (
            Keyword("worker_prefetch_multiplier", "1", True),
            Keyword("task_time_limit", "300", True),
            Keyword("task_soft_time_limit", "$SOFT", False),
        ),
        (Keyword("worker_prefetch_multiplier", "4", True),),
    ]


def test_files_without_the_word_celery_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A YAML file of data (a 1.3 MB vocabulary took 7.7 s to parse) or a script that
    starts something else cannot hold a celery command: it is not parsed. A compose
    file always is: one that does not parse is a finding."""
    import celery_audit.extract.scripts as scripts

    parsed: list[str] = []
    for reader in ("_read_yaml", "_read_shell"):
        original = getattr(scripts, reader)

        def spy(*args, _original=original, _reader=reader):  # type: ignore[no-untyped-def]
            parsed.append(_reader)
            return _original(*args)

        monkeypatch.setattr(scripts, reader, spy)
    vocabulary = "".join(f"- id: lang{i}\n  title: {{en: Language {i}}}\n" for i in range(2000))
    assert extract_scripts("fixtures/data/languages.yaml", vocabulary) == ()
    assert extract_scripts("bin/serve.sh", "exec gunicorn app:app\n") == ()
    assert parsed == []
    found = extract_scripts("deploy/worker.yaml", "command: celery -A shop.celery_app worker\n")
    assert [c.app_target for c in found] == ["shop.celery_app"] and parsed == ["_read_yaml"]
    with pytest.raises(SourceError):
        extract_scripts("docker-compose.yml", "services:\n  web: [unclosed\n")
