"""docs/RULES.md is generated from the rule files and up to date; every bundled rule reads in
plain words, with an innocent explanation and references a reader can open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from leaktriage.cli import main
from leaktriage.fields import FIELDS
from leaktriage.rules import bundled_rules_dir, load_rules, run_tests
from leaktriage.rules.catalogue import catalogue, checks, entry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "RULES.md"

PLANTED = r"""id: planted-office-anachronism
title: Saved by an Office *newer* than its date
severity: medium
category: alteration
technique: T0089.003
grade: B
rationale: >
  The Office version that saved the file
  did not exist yet on its last-save date.
false_positives:
  - Templates copied from \\server\share keep old dates.
references:
  - ECMA-376 Part 1 §22.2
  - docs/RULES.md#planted-office-anachronism
match:
  all:
    - {field: doc.app_version, released_after: {table: office_versions, date_field: doc.modified}}
    - {field: doc.author, not_equals_field: doc.last_modified_by}
    - not: {field: file.mime, startswith: "image/"}
evidence: [doc.application, doc.modified]
message: "Saved by Office {doc.app_version} before it existed"
tests:
  - name: hit
    record:
      doc.app_version: "16.0000"
      doc.modified: "2013-01-01T00:00:00Z"
      doc.author: a
      doc.last_modified_by: b
    expect: match
  - name: miss
    record: {doc.app_version: "16.0000", doc.modified: "2019-01-01T00:00:00Z"}
    expect: no_match
"""

PLANTED_ENTRY = """\
## planted-office-anachronism

**Saved by an Office \\*newer\\* than its date**

Severity medium, grade B, category alteration; technique T0089.003 Alter Authentic Documents \
(formerly T0025 Leak altered documents).

What it means: The Office version that saved the file did not exist yet on its last-save date.

Weight in a verdict: +2.00 (not calibrated: genuine rate assumed 0.005 from its severity).

Innocent explanations:

- Templates copied from \\\\\\\\server\\\\share keep old dates.

What to check by hand:

- `doc.app_version`: Version of that application (Office AppVersion, 16.0000).
- `doc.modified`: Last-save time recorded inside the file, in UTC.
- `doc.author`: Author / creator name written when the document was first made.
- `doc.last_modified_by`: Account or licence name of whoever saved it last.
- `file.mime`: Type of the file as read from its content (MIME type), whatever its name says.
- `doc.application`: Application that saved the file (Office's AppName, PDF Creator).
- `rules/data/office_versions.yaml`: The look-up table the rule compares with.

References:

- ECMA-376 Part 1 §22.2
- docs/RULES.md#planted-office-anachronism
"""


def test_docs_rules_md_is_the_generated_catalogue() -> None:
    assert DOCS.read_text(encoding="utf-8") == catalogue(load_rules()), (
        "docs/RULES.md is out of date: python -m leaktriage.rules.catalogue > docs/RULES.md"
    )


def test_catalogue_entry_of_a_planted_rule(tmp_path: Path) -> None:
    (tmp_path / "planted-office-anachronism.yaml").write_text(PLANTED, encoding="utf-8")
    ruleset = load_rules([tmp_path])
    rule = ruleset.get("planted-office-anachronism")
    assert rule is not None
    assert run_tests(ruleset) == []
    assert entry(rule, ruleset.techniques) == PLANTED_ENTRY
    assert [name for name, _ in checks(rule)][-1] == "rules/data/office_versions.yaml"
    assert "| [planted-office-anachronism](#planted-office-anachronism) | medium |" in (
        catalogue(ruleset)
    )


def test_rules_explain_prints_meaning_innocent_explanations_checks_and_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "planted-office-anachronism.yaml").write_text(PLANTED, encoding="utf-8")
    assert main(["rules", "explain", "planted-office-anachronism", "--rules", str(tmp_path)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    path = tmp_path / "planted-office-anachronism.yaml"
    assert text == (
        "planted-office-anachronism: Saved by an Office *newer* than its date "
        "severity medium, grade B, category alteration "
        "technique T0089.003 Alter Authentic Documents (formerly T0025 Leak altered documents) "
        f"file {path} "
        "weight +2.00 in a verdict: not calibrated: genuine rate assumed 0.005 from its severity "
        "what it means The Office version that saved the file did not exist yet on its "
        "last-save date. "
        "innocent explanations - Templates copied from \\\\server\\share keep old dates. "
        "what to check by hand "
        "- doc.app_version: Version of that application (Office AppVersion, 16.0000). "
        "- doc.modified: Last-save time recorded inside the file, in UTC. "
        "- doc.author: Author / creator name written when the document was first made. "
        "- doc.last_modified_by: Account or licence name of whoever saved it last. "
        "- file.mime: Type of the file as read from its content (MIME type), whatever its name "
        "says. "
        "- doc.application: Application that saved the file (Office's AppName, PDF Creator). "
        "- rules/data/office_versions.yaml: The look-up table the rule compares with. "
        "references - ECMA-376 Part 1 §22.2 - docs/RULES.md#planted-office-anachronism"
    )


# --- what every bundled rule must say ------------------------------------------------------

RULE_FILES = sorted(
    path
    for path in bundled_rules_dir().rglob("*.yaml")
    if path.parent.name != "data"
    and path.name not in ("techniques.yaml", "producers.yaml", "calibration.yaml")
)
PROSE = ("title", "rationale", "false_positives", "message")
FIELD_NAME = re.compile(r"\b[a-z]+\.[a-z0-9_]+\b")


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_bundled_rule_reads_in_plain_words(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    innocent = data.get("false_positives")
    assert isinstance(innocent, list) and innocent, "needs at least one innocent explanation"
    assert all(isinstance(item, str) for item in innocent), "quote sentences with a colon"
    references = data.get("references")
    assert isinstance(references, list) and references
    for reference in references:
        assert isinstance(reference, str)
        assert not re.search(r"SIGNALS\.md|\.\./|PEERS\.md|STYLE\.md", reference), reference
    assert "signals" not in data, "signal ids are defined nowhere a reader can see"
    texts = [str(data["title"]), str(data["rationale"]), *innocent]
    texts.append(re.sub(r"\{[^}]*\}", "", str(data["message"])))
    for text in texts:
        assert not re.search(r"authentic|genuine", text, re.IGNORECASE), text
        assert not [n for n in FIELD_NAME.findall(text) if n in FIELDS], text
    assert not re.search(r"\}\s*s\b", str(data["message"])), "durations come in words"
