"""The labeled sample leak: every planted forgery and decoy is found with the right rules,
genuine files stay ``no_signal``, and a newsroom's own rule folder takes effect."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from corpus_fixtures.build import labels_path
from corpus_fixtures.planted import LABELS, LEAK_DATE
from leaktriage.api import extension_of, run_scan
from leaktriage.cli import main
from leaktriage.config import ScanConfig

EXPECTED_VERDICT = {"altered": "likely_altered", "decoy": "decoy_suspected", "genuine": "no_signal"}


@pytest.fixture(scope="module")
def scanned(sample_leak: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample leak scanned with its leak date; records by path below the dump's root."""
    out = tmp_path_factory.mktemp("sample_scan")
    run_scan(sample_leak, out, ScanConfig(leak_date=date.fromisoformat(LEAK_DATE), workers=1))
    records = {}
    for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records[record["path"].split("/", 1)[1]] = record
    return records


def test_labels_file_lies_beside_the_dump(sample_leak: Path) -> None:
    path = labels_path(sample_leak)
    assert path.parent == sample_leak.parent and path.name == "sample_leak.labels.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [(r["path"], r["label"]) for r in rows] == sorted(
        (entry.path, entry.label) for entry in LABELS
    )
    assert {r["label"] for r in rows} == {"altered", "decoy", "genuine"}
    assert sum(r["label"] == "altered" for r in rows) == 21


@pytest.mark.parametrize("entry", LABELS, ids=[entry.path for entry in LABELS])
def test_labeled_file_gets_its_verdict_and_rules(entry: Any, scanned: dict[str, Any]) -> None:
    record = scanned[entry.path]
    fired = {finding["rule_id"] for finding in record["findings"]}
    assert set(entry.rules) <= fired, f"{entry.path}: {sorted(set(entry.rules) - fired)} missing"
    assert record["verdict"] == EXPECTED_VERDICT[entry.label]
    for finding in record["findings"]:
        assert finding["evidence"], f"{finding['rule_id']} has no evidence"
        assert all(ev["field"] and ev["value"] for ev in finding["evidence"])


def test_readable_evidence_names_the_planted_values(scanned: dict[str, Any]) -> None:
    backdated = scanned["documents/campagne/note_deplacements_v2.docx"]
    finding = next(f for f in backdated["findings"] if f["rule_id"] == "modified-before-created")
    assert finding["message"] == (
        "Last saved 2017-03-06T16:20:00Z, before it was created 2017-03-10T08:12:00Z"
    )
    evidence = {(e["field"], e["value"]) for e in finding["evidence"]}
    assert ("doc.modified", "2017-03-06T16:20:00Z") in evidence
    assert ("doc.created", "2017-03-10T08:12:00Z") in evidence
    assert finding["technique"] == "T0089.003"
    russian = scanned["documents/ole2/budget_ru.xls"]
    handover = next(
        f for f in russian["findings"] if f["rule_id"] == "last-editor-script-differs-from-author"
    )
    assert handover["message"] == (
        "Written by Mathieu Vasseur (Latin letters), last saved by Георгий Петровский "
        "(another alphabet)"
    )
    canary = scanned["documents/presse/invitation.docx"]
    decoy = next(f for f in canary["findings"] if f["rule_id"] == "decoy-canarytoken-link")
    assert decoy["technique"] == "C00202"
    assert (
        "links.external",
        "http://canarytokens.com/about/tags/k3x9q2m7v1b8n4c6z0a5s2d7f/index.html",
    ) in {(e["field"], e["value"]) for e in decoy["evidence"]}


def test_no_generated_genuine_file_is_likely_altered(scanned: dict[str, Any]) -> None:
    genuine = [entry.path for entry in LABELS if entry.label == "genuine"]
    assert len(genuine) == 16
    assert [p for p in genuine if scanned[p]["verdict"] == "likely_altered"] == []


def test_messages_in_a_mailbox_have_no_extension(scanned: dict[str, Any]) -> None:
    assert extension_of("<20170504081500.1001@campagne-exemple.fr>") == ""
    assert extension_of("message:2") == ""
    assert extension_of("attachment:Budget prévisionnel.eml") == "eml"
    message = scanned["mail/mailbox.mbox!<20170504081500.1001@campagne-exemple.fr>"]
    assert message["extension"] == "" and message["extension_mismatch"] is False


NEWSROOM_RULE = """\
id: newsroom-known-intermediary
title: Last saved by an account our sources say handled the stolen files
severity: high
category: alteration
technique: T0089.003
grade: B
rationale: >
  Our reporting identified this account as the one that re-saved documents before the dump.
match:
  all:
    - {field: doc.last_modified_by, equals: Анна Соколова}
evidence: [doc.author]
message: "Re-saved by {doc.last_modified_by}"
tests:
  - name: the account
    record: {doc.last_modified_by: Анна Соколова}
    expect: match
  - name: someone else
    record: {doc.last_modified_by: Julien Marchetti}
    expect: no_match
"""


def test_newsroom_rule_folder_takes_effect(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir = tmp_path / "newsroom_rules" / "ours"
    rules_dir.mkdir(parents=True)
    (rules_dir / "newsroom-known-intermediary.yaml").write_text(NEWSROOM_RULE, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["scan", str(sample_leak), "--out", str(out), "--rules", str(rules_dir.parent)]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert "newsroom-known-intermediary" in summary
    hits = {}
    for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if any(f["rule_id"] == "newsroom-known-intermediary" for f in record["findings"]):
            hits[record["path"].split("/", 1)[1]] = record["verdict"]
    # Every file whose last editor is that account, loose or nested, and nothing else.
    assert hits["documents/ooxml/budget_ru.xlsx"] == "likely_altered"
    assert hits["documents/ole2/note_ru.doc"] == "likely_altered"
    assert hits["documents/misc/minutes.odt"] == "likely_altered"
    assert all("Анна Соколова" in _last_editor(out, path) for path in hits)
    assert main(["rules", "test", str(rules_dir.parent)]) == 0
    assert "0 failed" in capsys.readouterr().out


def _last_editor(out: Path, relative: str) -> str:
    for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["path"].split("/", 1)[1] == relative:
            return str(record["fields"].get("doc.last_modified_by", ""))
    raise AssertionError(relative)


def test_malformed_newsroom_rule_fails_with_path_and_line(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir = tmp_path / "broken"
    rules_dir.mkdir()
    broken = NEWSROOM_RULE.replace("equals: Анна Соколова}", "equalz: Анна Соколова}", 1)
    (rules_dir / "newsroom-known-intermediary.yaml").write_text(broken, encoding="utf-8")
    code = main(["scan", str(sample_leak), "--out", str(tmp_path / "o"), "--rules", str(rules_dir)])
    assert code == 4
    error = capsys.readouterr().err
    assert f"{rules_dir}/newsroom-known-intermediary.yaml:11: a leaf needs exactly one" in error
    assert "equalz" in error
    assert not (tmp_path / "o" / "files.jsonl").exists()


def test_rule_list_and_explain_show_the_new_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "explain", "last-editor-script-differs-from-author"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "T0089.003 Alter Authentic Documents (formerly T0025 Leak altered documents)" in text
    assert "MacronLeaks" in text


def test_rescan_after_a_removal_keeps_the_gone_record_out_of_the_analysis(
    sample_leak: Path, tmp_path: Path
) -> None:
    import shutil

    from leaktriage.report.data import load_report_data
    from leaktriage.store import Store

    leak = tmp_path / "leak"
    shutil.copytree(sample_leak, leak)
    out = tmp_path / "out"
    config = ScanConfig(leak_date=date.fromisoformat(LEAK_DATE), workers=1)
    run_scan(leak, out, config)

    def modified_points() -> int:
        store = Store.open_existing(out)
        try:
            return len(list(load_report_data(store).timeline["modified"]))
        finally:
            store.close()

    before = modified_points()
    (leak / "documents" / "ooxml" / "budget_ru.xlsx").unlink()
    summary = run_scan(leak, out, config)
    assert modified_points() == before - 1  # the removed workbook's doc.modified is gone too
    assert summary.gone == 1
    states = {}
    for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        states[record["path"].split("/", 1)[1]] = record["scan_state"]
    assert states["documents/ooxml/budget_ru.xlsx"] == "gone"
    assert states["documents/ole2/budget_ru.xls"] == "reused"
    store = Store.open_existing(out)
    try:
        shown = {f["path"] for f in load_report_data(store).files}
    finally:
        store.close()
    assert "leak/documents/ooxml/budget_ru.xlsx" not in shown
    assert "leak/documents/ole2/budget_ru.xls" in shown
