"""The rule catalogue, ``docs/RULES.md``, written from the rule files themselves:

    python -m leaktriage.rules.catalogue > docs/RULES.md

Per rule: title, severity, grade, category, technique, what it means, the innocent
explanations, what to check by hand (the facts the rule reads, with their catalogue meaning,
and the look-up tables it compares with) and the references. ``rules explain`` prints the same
check list; a test fails when ``docs/RULES.md`` is older than the rules.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from leaktriage.fields import FIELDS
from leaktriage.rules.engine import Condition, Leaf, Rule, RuleSet

HEADER = """\
# Rules

What each bundled rule looks for, in words a reader can check. This file is generated from
`rules/**/*.yaml`; do not edit it by hand, change the rule files and run
`python -m leaktriage.rules.catalogue > docs/RULES.md` (a test fails when it is out of date).
`leaktriage rules explain RULE_ID` prints one entry.

- **Severity** (info, low, medium, high): how much a finding weighs in the file's verdict.
- **Grade**: A a structural or cryptographic proof, B a strong inconsistency, C an anomaly
  worth a look.
- **Category**: alteration (the file was changed), provenance (where it was made or handled),
  integrity (the file is not what it says, or carries active content), decoy (a trap planted
  to catch whoever opens it), verification (evidence in the file's favour).
- **Technique**: the DISARM technique (or counter) the finding points to.
- **What to check by hand**: the facts the rule reads, under their names in the catalogue
  (`leaktriage fields`), to look up in the record (`leaktriage show`) or with another tool.
"""

PSEUDO_MEANINGS = {
    "file.mime": "Type of the file as read from its content (MIME type), whatever its name says.",
    "file.extension": "Extension of the file name (pdf, docx...).",
    "file.extension_mismatch": "True when the name's extension does not fit the content's type.",
    "file.status": "How reading the file went: ok, error, skipped, encrypted, unsupported.",
    "file.name": "Name of the file (or of the member inside its archive).",
    "file.depth": "How deep the file sits inside archives or attachments (0 = on disk).",
    "file.mtime": "Modification time the file system or the archive gave the file, in UTC.",
    "file.sha256": "SHA-256 fingerprint of the file's bytes.",
    "file.md5": "MD5 fingerprint of the file's bytes.",
}
"""Meanings of the record's own ``file.*`` attributes, which the catalogue does not hold."""

_FIELD_ARGS = {
    "equals_field",
    "not_equals_field",
    "before_field",
    "after_field",
    "language_differs_from_field",
    "domain_differs_from_field",
}
_TABLE_ARGS = {"in_table", "host_in_table"}
_MARKDOWN = re.compile(r"([\\`*<])")


def _leaves(condition: Condition) -> Iterator[Leaf]:
    if isinstance(condition, Leaf):
        yield condition
        return
    for child in condition.children:
        yield from _leaves(child)


def _read(leaf: Leaf) -> list[str]:
    """The fields one leaf reads: its own, and any other field its operator compares with."""
    names = [leaf.field]
    if leaf.op in _FIELD_ARGS:
        names.append(str(leaf.arg))
    elif leaf.op == "differs_by_more_than":
        names.append(str(leaf.arg["field"]))
    elif leaf.op == "released_after":
        names.append(str(leaf.arg["date_field"]))
    elif leaf.op == "exceeds_span_seconds":
        names.extend((str(leaf.arg["start"]), str(leaf.arg["end"])))
    return names


def meaning(name: str) -> str:
    """What a fact means, from the catalogue (or the record's own attributes)."""
    spec = FIELDS.get(name)
    return spec.meaning if spec is not None else PSEUDO_MEANINGS.get(name, "")


def checks(rule: Rule) -> list[tuple[str, str]]:
    """What to check by hand: every fact the rule reads or shows as evidence, in order, with
    its meaning; then each look-up table it compares with."""
    leaves = list(_leaves(rule.match))
    names = [name for leaf in leaves for name in _read(leaf)] + list(rule.evidence)
    found = [(name, meaning(name)) for name in dict.fromkeys(names)]
    tables = [
        str(leaf.arg if leaf.op in _TABLE_ARGS else leaf.arg["table"])
        for leaf in leaves
        if leaf.op in _TABLE_ARGS or leaf.op == "released_after"
    ]
    note = "The look-up table the rule compares with."
    found.extend((f"rules/data/{table}.yaml", note) for table in dict.fromkeys(tables))
    return found


def _text(value: str) -> str:
    return _MARKDOWN.sub(r"\\\1", " ".join(value.split()))


def _cell(value: str) -> str:
    return _text(value).replace("|", "\\|")


def technique_name(rule: Rule, techniques: Mapping[str, Mapping[str, Any]]) -> str:
    """The rule's technique id with its name (and former id)."""
    technique = techniques.get(rule.technique, {})
    name = f" {technique['name']}" if technique.get("name") else ""
    formerly = f" (formerly {technique['formerly']})" if technique.get("formerly") else ""
    return f"{rule.technique}{name}{formerly}"


def entry(rule: Rule, techniques: Mapping[str, Mapping[str, Any]]) -> str:
    """One rule's section of the catalogue, in Markdown."""
    lines = [
        f"## {rule.id}",
        "",
        f"**{_text(rule.title)}**",
        "",
        f"Severity {rule.severity.name.lower()}, grade {rule.grade}, category {rule.category}; "
        f"technique {_text(technique_name(rule, techniques))}.",
        "",
        f"What it means: {_text(rule.rationale)}",
        "",
        f"Weight in a verdict: {_weight(rule)}.",
        "",
        "Innocent explanations:",
        "",
        *(f"- {_text(item)}" for item in rule.false_positives),
        "",
        "What to check by hand:",
        "",
        *(f"- `{name}`: {_text(text)}" for name, text in checks(rule)),
    ]
    if rule.references:
        lines += ["", "References:", "", *(f"- {_text(ref)}" for ref in rule.references)]
    return "\n".join(lines) + "\n"


def _weight(rule: Rule) -> str:
    weight, basis = rule.weight().weight()
    group = f"; counts once with the other rules of group `{rule.group}`" if rule.group else ""
    return f"{weight:+.2f} ({_text(basis)}){group}"


def catalogue(ruleset: RuleSet) -> str:
    """The whole catalogue: header, an index, then one section per rule, sorted by id."""
    index = ["| rule | severity | title |", "| --- | --- | --- |"]
    index += [
        f"| [{r.id}](#{r.id}) | {r.severity.name.lower()} | {_cell(r.title)} |"
        for r in ruleset.rules
    ]
    sections = [entry(rule, ruleset.techniques) for rule in ruleset.rules]
    return "\n".join([HEADER, f"{len(ruleset.rules)} rules.", "", *index, "", *sections])


def main() -> int:
    """Print the catalogue of the bundled rules."""
    from leaktriage.rules.loader import load_rules

    sys.stdout.write(catalogue(load_rules()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
