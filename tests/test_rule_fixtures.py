"""Every rule against its fixtures: the findings must equal the `# expect:` comments
exactly, so a new false positive fails as surely as a miss.

Rules that are on by default are held to that in every fixture. A rule that is off by
default runs only when selected by its code, so it is held to it, selected, in its own
trigger and near-miss fixtures and in any fixture that expects it."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, expected_findings, reported, scan_json

from celery_audit.rules import RULES

CODES = {rule.code for rule in RULES}
DEFAULT_CODES = {rule.code for rule in RULES if rule.default_enabled}
OPT_IN_CODES = sorted(CODES - DEFAULT_CODES)
# Fixtures that exist for other parts of the tool (extractor tests) carry no
# expectations for these rules and are still held to "no unexpected finding".
SCANNED = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

# code -> (fixture that must trigger it, near-miss fixture that must not)
TRIGGER_AND_NEAR_MISS = {
    "CA001": ("parse_error", "seed_app"),
    "CA002": ("suppress_unused", "suppress_near_miss"),
    "CA101": ("ca101_app_bound_call", "ca101_near_miss"),
    "CA102": ("ca102_task_id_exposed", "ca102_near_miss"),
    "CA103": ("ca103_unknown_task_name", "ca103_near_miss"),
    "CA104": ("ca104_implicit_name", "ca104_near_miss"),
    "CA105": ("ca105_name_collision", "ca105_near_miss"),
    "CA106": ("ca106_unserializable_arg", "ca106_near_miss"),
    "CA107": ("ca107_dispatch_on_non_task", "ca107_near_miss"),
    "CA108": ("ca108_dispatch_before_commit", "ca108_near_miss"),
    "CA109": ("ca109_result_never_stored", "ca109_near_miss"),
    "CA110": ("ca110_shared_task_default_app", "ca110_near_miss"),
    "CA201": ("ca201_missing_context", "ca201_near_miss"),
    "CA202": ("ca202_request_in_task", "ca202_near_miss"),
    "CA203": ("ca203_double_context", "ca203_near_miss"),
    "CA204": ("ca204_worker_imports_app", "ca204_near_miss"),
    "CA205": ("ca205_wrapper_renames", "ca205_near_miss"),
    "CA206": ("ca206_decorator_order", "ca206_near_miss"),
    "CA301": ("ca301_beat_location", "ca301_near_miss"),
    "CA302": ("ca302_beat_split", "ca302_near_miss"),
    "CA303": ("ca303_multiple_apps", "ca303_near_miss"),
    "CA401": ("ca401_circular_import", "ca401_near_miss"),
    "CA501": ("ca501_worker_target_unresolved", "ca501_near_miss"),
    "CA502": ("ca502_tasks_not_discovered", "ca502_near_miss"),
    "CA503": ("ca503_beat_not_started", "ca503_near_miss"),
    "CA504": ("ca504_queue_not_consumed", "ca504_near_miss"),
    "CA505": ("ca505_worker_target_is_flask_app", "ca505_near_miss"),
    "CA601": ("ca601_frontend_status_contract", "ca102_near_miss"),
    "CA602": ("ca602_frontend_contract_broken", "ca602_near_miss"),
    "CA701": ("ca701_pickle_serializer", "ca701_near_miss"),
    "CA702": ("ca702_broker_credentials_in_code", "ca702_near_miss"),
    "CA703": ("ca703_no_time_limit", "ca703_near_miss"),
    "CA704": ("ca704_soft_limit_not_below_hard", "ca704_near_miss"),
    "CA705": ("ca705_late_ack_prefetch", "ca705_near_miss"),
    "CA706": ("ca706_unbounded_retry", "ca706_near_miss"),
    "CA707": ("ca707_visibility_timeout_too_short", "ca707_near_miss"),
    "CA708": ("ca708_route_to_unknown_task", "ca708_near_miss"),
    "CA709": ("ca709_queue_not_declared", "ca709_near_miss"),
    "CA710": ("ca710_beat_period_below_limit", "ca710_near_miss"),
    "CA711": ("ca711_eager_in_config", "ca711_near_miss"),
    "CA712": ("ca712_beat_entry_without_expires", "ca712_near_miss"),
    "CA713": ("ca713_result_expires_disabled", "ca713_near_miss"),
    "CA714": ("ca714_implicit_task_name", "ca714_near_miss"),
    "CA715": ("ca715_crontab_minute_wildcard", "ca715_near_miss"),
}


@pytest.mark.parametrize("fixture", SCANNED)
def test_findings_equal_expectations(fixture: str) -> None:
    path = FIXTURES / fixture
    assert reported(scan_json(path), DEFAULT_CODES) == expected_findings(path, DEFAULT_CODES)


def _opt_in_cases() -> list[tuple[str, str]]:
    cases = set()
    for code in OPT_IN_CODES:
        cases.update((code, fixture) for fixture in TRIGGER_AND_NEAR_MISS[code])
        cases.update((code, f) for f in SCANNED if expected_findings(FIXTURES / f, {code}))
    return sorted(cases)


@pytest.mark.parametrize(("code", "fixture"), _opt_in_cases())
def test_opt_in_rule_selected_by_code(code: str, fixture: str) -> None:
    path = FIXTURES / fixture
    assert reported(scan_json(path, "--select", code), {code}) == expected_findings(path, {code})


def test_opt_in_rules_do_not_run_unless_selected_by_code() -> None:
    trigger = FIXTURES / TRIGGER_AND_NEAR_MISS["CA714"][0]
    assert not reported(scan_json(trigger), set(OPT_IN_CODES))
    assert not reported(scan_json(trigger, "--select", "CA7"), set(OPT_IN_CODES))
    assert reported(scan_json(trigger, "--select", "CA714,CA7"), {"CA714"})


def test_every_rule_has_a_trigger_and_a_near_miss() -> None:
    assert set(TRIGGER_AND_NEAR_MISS) == CODES
    for code, (trigger, near_miss) in TRIGGER_AND_NEAR_MISS.items():
        assert expected_findings(FIXTURES / trigger, {code}), f"{trigger} never triggers {code}"
        assert not expected_findings(FIXTURES / near_miss, {code}), f"{near_miss} expects {code}"
        assert not reported(scan_json(FIXTURES / near_miss, "--select", code), {code})
