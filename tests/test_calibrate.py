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
