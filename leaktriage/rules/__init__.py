"""Rules: YAML rule files -> findings with evidence, and the verdict of a file.

One module per concern: ``loader`` (YAML, validation, errors with file:line), ``engine``
(operators, ``Rule``, ``RuleSet``), ``verdict`` (how findings combine into a verdict),
``decoys`` (newsroom decoy lists), ``testing`` (the rule files' embedded cases). This module
re-exports what callers use.
"""

from leaktriage.rules.decoys import DECOY_RULE_ID, DecoyList
from leaktriage.rules.engine import (
    CATEGORIES,
    SEVERITIES,
    Context,
    Rule,
    RuleError,
    RuleSet,
    Table,
    evaluate,
    needed_fields,
    record_facts,
    render_message,
)
from leaktriage.rules.loader import bundled_rules_dir, load_rules
from leaktriage.rules.testing import TEST_NOW, run_case, run_tests
from leaktriage.rules.verdict import verdict

__all__ = [
    "CATEGORIES",
    "DECOY_RULE_ID",
    "SEVERITIES",
    "TEST_NOW",
    "Context",
    "DecoyList",
    "Rule",
    "RuleError",
    "RuleSet",
    "Table",
    "bundled_rules_dir",
    "evaluate",
    "load_rules",
    "needed_fields",
    "record_facts",
    "render_message",
    "run_case",
    "run_tests",
    "verdict",
]
