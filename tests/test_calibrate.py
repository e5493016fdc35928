"""``leaktriage rules calibrate``: base rates counted on the fit side of a reference folder,
written into the rule files, and the held-out side measured."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import docx
import yaml

from leaktriage.rules import bundled_rules_dir, load_rules
from leaktriage.rules.calibrate import calibrate, read_manifest, top_path

RULE = """id: planted-title-present
title: Document with a title
severity: medium
category: alteration
technique: T0089.003
grade: B
rationale: Planted for the calibration test.
false_positives:
  - Most documents have a title.
match:
  all:
    - {field: doc.title, exists: true}
message: Title {doc.title}
tests:
  - name: titled
    record:
      doc.title: Note
    expect: match
  - name: untitled
    record:
      doc.author: Claire Martin
    expect: no_match
"""


def _docx(path: Path, title: str | None) -> None:
    document = docx.Document()
    document.add_paragraph("Compte rendu de la réunion de l'équipe de Lyon.")
    document.core_properties.author = "Claire Martin"
    if title:
        document.core_properties.title = title
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def _reference(folder: Path) -> None:
    _docx(folder / "alpha" / "note_titre.docx", "Note de synthèse")
    _docx(folder / "alpha" / "note_sans_titre.docx", None)
    _docx(folder / "beta" / "compte_rendu.docx", "Compte rendu")
    _docx(folder / "beta" / "modele_casse.docx", "Modèle")
    rows = [
        ("alpha/note_titre.docx", "alpha", "yes", "fit"),
        ("alpha/note_sans_titre.docx", "alpha", "yes", "fit"),
        ("beta/compte_rendu.docx", "beta", "yes", "heldout"),
        ("beta/modele_casse.docx", "beta", "no", "-"),
    ]
    with (folder / "MANIFEST.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "source", "genuine", "split"])
        writer.writerows(rows)


def test_manifest_and_paths(tmp_path: Path) -> None:
    _reference(tmp_path / "ref")
    entries, digest = read_manifest(tmp_path / "ref")
    assert {p: (e.genuine, e.split) for p, e in entries.items()} == {
        "alpha/note_titre.docx": (True, "fit"),
        "alpha/note_sans_titre.docx": (True, "fit"),
        "beta/compte_rendu.docx": (True, "heldout"),
        "beta/modele_casse.docx": (False, "-"),
    }
    assert len(digest) == 64
    assert top_path("ref/alpha/x.zip!inner/y.docx") == "alpha/x.zip"


def test_calibrate_writes_base_rates_into_the_rule_and_measures_held_out(tmp_path: Path) -> None:
    _reference(tmp_path / "ref")
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(bundled_rules_dir() / "techniques.yaml", rules / "techniques.yaml")
    (rules / "planted-title-present.yaml").write_text(RULE, encoding="utf-8")
    result = calibrate(tmp_path / "ref", tmp_path / "scan", [rules], workers=1, bundled=False)
    assert dict(result.records) == {"fit": 2, "heldout": 1}
    written = yaml.safe_load((rules / "planted-title-present.yaml").read_text(encoding="utf-8"))
    digest = read_manifest(tmp_path / "ref")[1]
    assert written["base_rate"] == {
        "fires": 1,
        "of": 2,
        "measured": written["base_rate"]["measured"],
        "corpus": digest[:16],
        "families": {"word": {"fires": 1, "of": 2}},
    }
    calibration = yaml.safe_load((rules / "calibration.yaml").read_text(encoding="utf-8"))
    assert calibration["likely_altered_at"] == result.threshold
    rule = load_rules([rules], bundled=False).get("planted-title-present")
    assert rule is not None and rule.base_rate is not None
    assert rule.weight().weight() == (0.0, "fires on 1 of 2 genuine files")
    # Calibrating again replaces the block rather than adding a second one.
    calibrate(tmp_path / "ref", tmp_path / "scan", [rules], rescan=False, bundled=False)
    assert (rules / "planted-title-present.yaml").read_text(encoding="utf-8").count(
        "base_rate:"
    ) == 1


def test_each_family_with_enough_fit_files_gets_its_own_threshold() -> None:
    from leaktriage.rules.calibrate import FAMILY_THRESHOLD_FILES, THRESHOLDS, choose_thresholds

    n = FAMILY_THRESHOLD_FILES
    scores = (
        # PDFs: two of n reach 2.6 where 0.5 % allows one, so 2.0-2.5 let too many through
        [("fit", "pdf", 2.6)] * 2
        + [("fit", "pdf", 0.0)] * (n - 2)
        # photos: none reaches 2.0
        + [("fit", "image", 1.5)] * n
        # too few spreadsheets for a threshold of their own; held-out never counts
        + [("fit", "spreadsheet", 9.0)] * 3
        + [("heldout", "image", 9.0)] * n
    )
    overall, by_family = choose_thresholds(scores)
    assert by_family == {"pdf": 2.75, "image": 2.0}
    # over all 2n + 3 fit records, 0.5 % allows two; the three spreadsheets at 9.0 stay above
    # every threshold tried, so the overall one is the grid's last
    assert overall == THRESHOLDS[-1] == 5.0


def test_family_thresholds_load_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    import pytest

    from leaktriage.rules import RuleError

    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(bundled_rules_dir() / "techniques.yaml", rules / "techniques.yaml")
    (rules / "planted-title-present.yaml").write_text(RULE, encoding="utf-8")
    (rules / "calibration.yaml").write_text(
        "likely_altered_at: 2.25\nlikely_altered_at_by_family:\n  pdf: 3.5\n  image: 2\n",
        encoding="utf-8",
    )
    ruleset = load_rules([rules], bundled=False)
    assert (ruleset.likely_altered_at, ruleset.family_thresholds) == (
        2.25,
        {"pdf": 3.5, "image": 2.0},
    )
    weigher = ruleset.weigher()
    assert (weigher.threshold("pdf"), weigher.threshold("word")) == (3.5, 2.25)
    (rules / "calibration.yaml").write_text(
        "likely_altered_at: 2.25\nlikely_altered_at_by_family:\n  pdf: high\n", encoding="utf-8"
    )
    with pytest.raises(RuleError) as caught:
        load_rules([rules], bundled=False)
    assert (
        f"{rules / 'calibration.yaml'}: likely_altered_at_by_family: pdf must be a number"
        in str(caught.value)
    )
