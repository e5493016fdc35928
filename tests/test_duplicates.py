"""Identical bytes are parsed once per scan; every copy keeps its own record."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

import pytest

from corpus_fixtures import PEOPLE
from corpus_fixtures.builders.ooxml import letter_docx
from leaktriage.api import run_scan
from leaktriage.config import ScanConfig
from leaktriage.extractors import Extraction, Source
from leaktriage.model import Status
from leaktriage.pipeline import items
from leaktriage.pipeline.duplicates import Analysed
from leaktriage.pipeline.extract import Outcome

DOCX = letter_docx(
    ["Note interne sur le budget des salles du deuxième trimestre."],
    title="Budget des salles",
    author=PEOPLE[0],
    last_by=PEOPLE[1],
    created=datetime(2017, 3, 1, 9, 0, tzinfo=UTC),
    modified=datetime(2017, 3, 2, 17, 30, tzinfo=UTC),
    rsid_root="00D1E2F3",
    rsids=("00D1E2F3",),
    doc_id="{9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D}",
)


def _mail(attachment: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "Julien Marchetti <julien.marchetti@campagne-exemple.fr>"
    message["To"] = "Camille Durand-Lefort <camille.durand-lefort@campagne-exemple.fr>"
    message["Subject"] = "TR: budget salles"
    message["Date"] = "Fri, 03 Mar 2017 10:00:00 +0100"
    message["Message-ID"] = "<20170303090000.3001@campagne-exemple.fr>"
    message.set_content("Ci-joint la note.\n")
    message.add_attachment(
        attachment,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="budget_salles.docx",
    )
    return message.as_bytes()


def test_a_repeated_file_is_parsed_once_and_each_copy_keeps_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = items.extract_item

    def counting(source: Source) -> Outcome:
        parsed.append(source.name)
        return real(source)

    monkeypatch.setattr(items, "extract_item", counting)
    dump = tmp_path / "dump"
    (dump / "a").mkdir(parents=True)
    (dump / "b").mkdir()
    (dump / "a" / "budget.docx").write_bytes(DOCX)
    (dump / "b" / "budget copie.docx").write_bytes(DOCX)
    (dump / "b" / "tr_budget.eml").write_bytes(_mail(DOCX))
    packed = BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("notes/budget.docx", DOCX)
    (dump / "notes.zip").write_bytes(packed.getvalue())
    run_scan(dump, tmp_path / "out", ScanConfig(workers=0))
    records = {
        r["path"]: r
        for r in map(json.loads, (tmp_path / "out" / "files.jsonl").read_text().splitlines())
    }
    sha = records["dump/a/budget.docx"]["sha256"]
    copies = sorted(p for p, r in records.items() if r["sha256"] == sha)
    assert copies == [
        "dump/a/budget.docx",
        "dump/b/budget copie.docx",
        "dump/b/tr_budget.eml!attachment:budget_salles.docx",
        "dump/notes.zip!notes/budget.docx",
    ]
    # One parse for the four copies (the mail is parsed: its attachment is listed from it).
    assert len(parsed) == 2 and "tr_budget.eml" in parsed
    assert parsed[0].endswith("budget.docx") or parsed[1].endswith("budget.docx")
    first = records["dump/a/budget.docx"]
    assert len({records[p]["record_id"] for p in copies}) == 4
    for path in copies:
        record = records[path]
        assert record["fields"] == first["fields"]
        assert record["fields"]["doc.title"] == "Budget des salles"
        assert record["status"] == "ok" and record["verdict"] == first["verdict"]


def test_the_table_stays_bounded_and_keeps_only_what_can_stand_for_a_copy() -> None:
    table = Analysed(max_entries=2)
    leaf = Extraction(fields={"doc.title": "Note"})
    table.keep("s1", "pdf", (leaf, "pdf@1", Status.OK, "application/pdf"))
    table.keep("s2", "pdf", (leaf, "pdf@1", Status.OK, "application/pdf"))
    table.keep("s3", "pdf", (leaf, "pdf@1", Status.OK, "application/pdf"))
    assert table.get("s1", "pdf") is None
    # The extension is part of the key: it is the one thing besides the bytes a parser sees.
    assert table.get("s3", "txt") is None
    found = table.get("s3", "pdf")
    assert found is not None and found[0].fields == {"doc.title": "Note"}
    assert found[0] is not leaf and found[1:] == ("pdf@1", Status.OK, "application/pdf")
    # A failed parse or an item holding others is parsed again each time.
    table.keep("s4", "pdf", (leaf, None, Status.ERROR, ""))
    holder = Extraction(fields={"email.subject": "TR"}, unlisted=[("limit.attachments", 1, 2)])
    table.keep("s5", "eml", (holder, "eml@1", Status.OK, "message/rfc822"))
    assert table.get("s4", "pdf") is None and table.get("s5", "eml") is None
    assert table.hits == 1


def test_the_table_keeps_outcomes_compressed_within_its_byte_budget() -> None:
    sample = "Compte rendu de la reunion du comite de campagne. " * 160  # 8,000 characters
    leaf = Extraction(fields={"doc.title": "Compte rendu", "text.sample": sample})
    outcome = (leaf, "pdf@1", Status.OK, "application/pdf")
    probe = Analysed()
    probe.keep("s0", "pdf", outcome)
    size = probe._bytes
    assert 0 < size < 1_000  # 8,000 repetitive characters, compressed
    table = Analysed(max_bytes=size * 2)
    for key in ("s1", "s2", "s3"):
        table.keep(key, "pdf", outcome)
    assert table.get("s1", "pdf") is None  # the oldest went past the budget
    first, second = table.get("s2", "pdf"), table.get("s2", "pdf")
    assert first is not None and second is not None
    assert first[0].fields == {"doc.title": "Compte rendu", "text.sample": sample}
    assert first[0] is not second[0] and first[0].fields is not second[0].fields


class _LosingPool:
    """A pool that takes every job and never answers: a bug the pipeline must survive."""

    busy = 0

    def submit(self, job_id: int, source: Source) -> None:
        self.taken = getattr(self, "taken", 0) + 1

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        return []


def test_an_item_the_pool_loses_ends_as_an_error_not_a_wait(tmp_path: Path) -> None:
    from leaktriage.pipeline.items import Pipeline

    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "budget.docx").write_bytes(DOCX)
    pool = _LosingPool()
    pipeline = Pipeline(ScanConfig(workers=0), tmp_path, pool=pool)  # type: ignore[arg-type]
    records = list(pipeline.records(dump))
    assert [(r.path, r.status) for r in records] == [("dump/budget.docx", Status.ERROR)]
    assert [(i.code, i.message) for i in records[0].issues] == [
        ("internal", "the worker pool lost this item")
    ]
    assert pool.taken == 1
