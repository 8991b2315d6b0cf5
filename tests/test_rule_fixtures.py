"""Every rule against its fixtures: the findings must equal the `# expect:` comments
exactly, so a new false positive fails as surely as a miss."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, expected_findings, reported, scan_json

from celery_audit.rules import RULES

CODES = {rule.code for rule in RULES}
# Fixtures that exist for other parts of the tool (extractor tests) carry no
# expectations for these rules and are still held to "no unexpected finding".
SCANNED = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

# code -> (fixture that must trigger it, near-miss fixture that must not)
TRIGGER_AND_NEAR_MISS = {
    "CA001": ("parse_error", "seed_app"),
    "CA101": ("ca101_app_bound_call", "ca101_near_miss"),
    "CA102": ("ca102_task_id_exposed", "ca102_near_miss"),
    "CA201": ("ca201_missing_context", "ca201_near_miss"),
    "CA301": ("ca301_beat_location", "ca301_near_miss"),
    "CA401": ("ca401_circular_import", "ca401_near_miss"),
}


@pytest.mark.parametrize("fixture", SCANNED)
def test_findings_equal_expectations(fixture: str) -> None:
    path = FIXTURES / fixture
    assert reported(scan_json(path), CODES) == expected_findings(path, CODES)


def test_every_rule_has_a_trigger_and_a_near_miss() -> None:
    assert set(TRIGGER_AND_NEAR_MISS) == CODES
    for code, (trigger, near_miss) in TRIGGER_AND_NEAR_MISS.items():
        assert expected_findings(FIXTURES / trigger, {code}), f"{trigger} never triggers {code}"
        assert not expected_findings(FIXTURES / near_miss, {code}), f"{near_miss} expects {code}"
        assert not reported(scan_json(FIXTURES / near_miss), {code})
