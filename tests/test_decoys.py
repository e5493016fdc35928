"""A newsroom's decoy list: every match is a decoy finding with the field and value behind it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import leaktriage
from corpus_fixtures.builders import ooxml
from leaktriage.rules import DecoyList, RuleError


def test_decoy_list_marks_the_planted_file(tmp_path: Path) -> None:
    data = ooxml.memo_docx()
    record = leaktriage.triage_file(data, name="memo.docx", workers=0)[0]
    author = record.fields["doc.author"]
    rsid = record.fields["ooxml.rsid_root"]
    decoys = tmp_path / "decoys.txt"
    decoys.write_text(
        "# planted by the campaign\n"
        f"sha256:{hashlib.sha256(data).hexdigest()}\n"
        f"author:{str(author).upper()}\n"
        f"rsid:{rsid}\n"
        "string:nothing like this is in the memo\n",
        encoding="utf-8",
    )
    marked = leaktriage.triage_file(data, name="memo.docx", workers=0, decoys=str(decoys))[0]
    hits = [f for f in marked.findings if f.rule_id == "decoy-list-match"]
    assert [(f.evidence[0].field, f.evidence[0].value) for f in hits] == [
        ("file.sha256", hashlib.sha256(data).hexdigest()),
        ("doc.author", author),
        ("ooxml.rsid_root", rsid),
    ]
    assert all(f.technique == "C00202" and f.grade == "A" for f in hits)
    assert marked.verdict == "decoy_suspected"


def test_malformed_decoy_list(tmp_path: Path) -> None:
    bad = tmp_path / "d.txt"
    bad.write_text("sha256:abc\nnonsense line\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        DecoyList.load(bad)
    assert caught.value.errors == [
        f"{bad}:2: expected kind:value with kind one of sha256, md5, author, rsid, docid, string"
    ]
