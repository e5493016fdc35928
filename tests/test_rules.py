"""Every bundled rule's embedded test cases, one pytest case each (as `leaktriage rules test`)."""

from __future__ import annotations

from typing import Any

import pytest

from leaktriage.rules import Rule, load_rules, run_case

RULESET = load_rules()
CASES = [
    pytest.param(rule, case, id=f"{rule.id}::{case.get('name', index)}")
    for rule in RULESET.rules
    for index, case in enumerate(rule.tests)
]


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_rule_case(rule: Rule, case: dict[str, Any]) -> None:
    assert run_case(rule, case, RULESET.tables) is None


def test_bundled_rules_cover_the_mission() -> None:
    assert len(RULESET.rules) >= 35
    techniques = {rule.technique for rule in RULESET.rules}
    assert {"T0089.003", "C00202"} <= techniques
    assert all(rule.rationale and rule.tests for rule in RULESET.rules)
