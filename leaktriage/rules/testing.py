"""The embedded test cases of every rule file (``tests:``), run by ``leaktriage rules test``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from leaktriage.fields import FIELDS
from leaktriage.model import FieldValue
from leaktriage.rules.engine import PSEUDO_FIELDS, Context, Rule, RuleSet, Table, as_time

# --- embedded tests -------------------------------------------------------------------------


def _coerce(name: str, value: Any) -> FieldValue:
    kind = FIELDS[name].type if name in FIELDS else PSEUDO_FIELDS[name]
    if kind == "datetime":
        parsed = as_time(value)
        if parsed is None:
            raise ValueError(f"{name}: {value!r} is not an ISO 8601 datetime")
        return parsed
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return tuple(str(v) for v in items)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)


TEST_NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""The scan time embedded test cases run at, so ``$now`` cases are reproducible."""


def run_case(rule: Rule, case: Mapping[str, Any], tables: Mapping[str, Table]) -> str | None:
    """Run one embedded test case; None when it passes, else what went wrong."""
    try:
        facts = {str(k): _coerce(str(k), v) for k, v in case["record"].items()}
        leak = case.get("leak_date")
        leak_date = (
            leak if isinstance(leak, date) else (date.fromisoformat(str(leak)) if leak else None)
        )
    except (ValueError, TypeError) as exc:
        return str(exc)
    finding = rule.apply("test", facts, Context(leak_date, TEST_NOW, tables))
    expected = case.get("expect")
    if (finding is not None) != (expected == "match"):
        return f"expected {expected}, got {'match' if finding else 'no_match'}"
    wanted = case.get("evidence")
    if finding is not None and wanted:
        shown = {e.field for e in finding.evidence}
        missing = [w for w in wanted if w not in shown]
        if missing:
            return f"evidence lacks {missing}"
    return None


def run_tests(ruleset: RuleSet) -> list[str]:
    """Run every rule's embedded cases; returns one line per failure (empty = all pass)."""
    failures = []
    for rule in ruleset.rules:
        for index, case in enumerate(rule.tests):
            problem = run_case(rule, case, ruleset.tables)
            if problem:
                name = case.get("name", f"case {index + 1}")
                failures.append(f"{rule.path}: {rule.id}::{name}: {problem}")
    return failures
