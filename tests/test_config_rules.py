"""The configuration rules (CA7xx) on facts built in the test, without parsing:
values that cannot be known are never judged, test configurations are left out."""

from __future__ import annotations

import pytest

from celery_audit.celery_names import setting_name
from celery_audit.model.facts import Span
from celery_audit.model.project import BeatEntry, Project, Setting
from celery_audit.rules import (
    broker_credentials_in_code,
    crontab_minute_wildcard,
    eager_in_config,
    pickle_serializer,
    result_expires_disabled,
)
from celery_audit.rules.config_values import UNKNOWN, value_of


def _setting(key: str, value: str, *, literal: bool = True, file: str = "shop/config.py",
             container: str = "Config.CELERY") -> Setting:  # fmt: skip
    return Setting(file, Span(3, 5), key, value, literal, container)


def _project(*settings: Setting, beat: tuple[BeatEntry, ...] = ()) -> Project:
    return Project(root=".", files=1, python_files=1, settings=settings, beat=beat)


@pytest.mark.parametrize(
    ("text", "literal", "expected"),
    [
        ("True", True, True),
        ("None", True, None),
        ("0", True, 0),
        ("pickle", True, "pickle"),
        ('["pickle", "json"]', False, ["pickle", "json"]),
        ("-1", False, -1),
        ('os.environ.get("SERIALIZER", "pickle")', False, UNKNOWN),
        ("24 * 3600", False, UNKNOWN),
    ],
)
def test_value_of(text: str, literal: bool, expected: object) -> None:
    assert value_of(text, literal) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("CELERY_TASK_RESULT_EXPIRES", "result_expires"),
        ("CELERYD_TASK_TIME_LIMIT", "task_time_limit"),
        ("CELERYD_TASK_SOFT_TIME_LIMIT", "task_soft_time_limit"),
        ("CELERYD_PREFETCH_MULTIPLIER", "worker_prefetch_multiplier"),
        ("CELERY_ALWAYS_EAGER", "task_always_eager"),
        ("always_eager", "task_always_eager"),
    ],
)
def test_old_setting_names(name: str, key: str) -> None:
    assert setting_name(name) == key


def test_pickle_serializer_judges_literals_and_lists_only() -> None:
    project = _project(
        _setting("task_serializer", "pickle"),
        _setting("accept_content", '["json", "application/x-python-serialize"]', literal=False),
        _setting("result_serializer", 'os.environ.get("S", "pickle")', literal=False),
        _setting("accept_content", '["json"]', literal=False),
    )
    found = list(pickle_serializer.check(project))
    assert [f.message.split("`")[1] for f in found] == ["task_serializer", "accept_content"]


def test_broker_credentials_are_masked_and_test_configs_left_out() -> None:
    project = _project(
        _setting("broker_url", "amqp://shop:hunter2@rabbit//;amqp://shop:hunter2@rabbit2//"),
        _setting("backend", "redis://cache:6379/1"),
        _setting("broker_url", 'os.environ.get("URL", "redis://:pw@x")', literal=False),
        _setting("broker_url", "redis://:pw@localhost", container="TestingConfig.CELERY"),
        _setting("result_backend", "redis://:pw@localhost", file="tests/conftest.py"),
    )
    found = list(broker_credentials_in_code.check(project))
    assert len(found) == 1
    assert "hunter2" not in found[0].message
    assert "amqp://shop:***@rabbit//, amqp://shop:***@rabbit2//" in found[0].message


@pytest.mark.parametrize(
    ("container", "file", "reported"),
    [
        ("Config.CELERY", "shop/config.py", True),
        ("ProductionConfig", "shop/config.py", True),
        ("TestimonialsConfig", "shop/config.py", True),
        ("TestingConfig.CELERY", "shop/config.py", False),
        ("IntegrationTestConfig", "shop/config.py", False),
        ("app.config", "shop/conftest.py", False),
        ("<module>", "shop/test_settings.py", False),
    ],
)
def test_eager_in_config_outside_test_configs(container: str, file: str, reported: bool) -> None:
    setting = _setting("task_always_eager", "True", container=container, file=file)
    assert bool(list(eager_in_config.check(_project(setting)))) is reported


@pytest.mark.parametrize(
    ("expires", "backend", "reported"),
    [
        ("None", "redis://cache:6379/1", True),
        ("0", "redis://cache:6379/1", True),
        ("3600", "redis://cache:6379/1", False),
        ("None", "rpc://", False),
        ("None", None, False),
    ],
)
def test_result_expires_needs_a_stored_backend(
    expires: str, backend: str | None, reported: bool
) -> None:
    settings = [_setting("result_expires", expires)]
    if backend is not None:
        settings.append(_setting("result_backend", backend))
    assert bool(list(result_expires_disabled.check(_project(*settings)))) is reported


def test_computed_result_expires_is_not_judged() -> None:
    project = _project(
        _setting("result_expires", 'int(os.environ["TTL"])', literal=False),
        _setting("result_backend", "redis://cache:6379/1"),
    )
    assert not list(result_expires_disabled.check(project))


@pytest.mark.parametrize(
    ("schedule", "unset"),
    [
        ("crontab(hour=2)", "minute"),
        ("crontab(0, day_of_week='mon')", "hour"),
        ("schedules.crontab(day_of_month=1)", "minute, hour"),
        ("crontab(minute=0, hour=2)", None),
        ("crontab(minute='*', hour='*/4')", None),
        ("crontab(hour='*')", None),
        ("crontab(**NIGHTLY)", None),
        ("timedelta(hours=2)", None),
        ("300.0", None),
    ],
)
def test_crontab_minute_wildcard(schedule: str, unset: str | None) -> None:
    entry = BeatEntry("shop/config.py", Span(4, 9), "job", "shop.job", schedule, "config", "shop")
    found = list(crontab_minute_wildcard.check(_project(beat=(entry,))))
    assert [f.message.split(" unset")[0].rsplit("leaves ", 1)[1] for f in found] == (
        [unset] if unset else []
    )
