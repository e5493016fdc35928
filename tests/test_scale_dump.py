"""The scale benchmark's dump builder (benchmarks/scale_dump.py) on a tiny planted real folder:
what it writes, that variants keep the text and change the bytes, that its PDF updates are
valid, and that it is deterministic. No timing."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import zipfile
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pymupdf
import pytest
from docx import Document
from openpyxl import Workbook
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import scale_dump

ITEMS = 300
FAMILY_SIZE = (5, 8)
SEED = 21
"""Smaller families than the benchmark's 5-40, and a seed whose 300 items hold a family of
each planted document (PDF with a table and with a stream xref, DOCX, XLSX) and a mailbox."""


def _pdf(path: Path, text: str, xref_stream: bool) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), text)
    doc.set_metadata(
        {"title": "Note", "author": "Camille", "creationDate": "D:20160301100000+01'00'"}
    )
    doc.save(path, use_objstms=1 if xref_stream else 0, no_new_id=False)
    doc.close()


def _plant(real: Path) -> None:
    """A few real-looking files and their MANIFEST.csv, as corpus_fixtures real writes it."""
    (real / "docs").mkdir(parents=True)
    (real / "photos").mkdir()
    (real / "mail").mkdir()
    document = Document()
    document.add_paragraph("Budget prévisionnel 2017 : 12500 euros pour la campagne.")
    document.add_paragraph("Réunion du comité le 14 mars.")
    document.core_properties.author = "Camille Durand"
    document.save(real / "docs" / "budget.docx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["poste", "montant"])
    sheet.append(["affiches", 1200])
    sheet.append(["salles", 3400])
    book.save(real / "docs" / "depenses.xlsx")
    _pdf(real / "docs" / "table.pdf", "Compte rendu 2016", xref_stream=False)
    _pdf(real / "docs" / "stream.pdf", "Relevé de décisions", xref_stream=True)
    (real / "docs" / "notes.txt").write_text("Appeler le trésorier avant 18 heures.\n")
    (real / "docs" / "dons.csv").write_text("nom,montant\nDupont,150\nMartin,300\n")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    (real / "photos" / "photo.jpg").write_bytes(buffer.getvalue())
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["To"] = "b@example.org"
    message["Subject"] = "note"
    message.set_content("Bonjour")
    message.add_attachment(b"hello", maintype="text", subtype="plain", filename="a.txt")
    (real / "mail" / "note.eml").write_bytes(message.as_bytes())
    rows = []
    for path in sorted(p for p in real.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rows.append(
            {
                "path": path.relative_to(real).as_posix(),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "origin": "planted by the test",
                "crafted": "",
                "genuine": "yes",
            }
        )
    with (real / "MANIFEST.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, scale_dump.Summary]:
    root = tmp_path_factory.mktemp("scale")
    real = root / "real"
    _plant(real)
    summary = scale_dump.build(root / "dump", ITEMS, real, seed=SEED, family_size=FAMILY_SIZE)
    return real, root / "dump", summary


def _manifest(dump: Path) -> list[dict[str, str]]:
    with (dump / scale_dump.MANIFEST_NAME).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_kinds_written(built: tuple[Path, Path, scale_dump.Summary]) -> None:
    _, dump, summary = built
    rows = _manifest(dump)
    on_disk = {
        p.relative_to(dump).as_posix()
        for p in dump.rglob("*")
        if p.is_file() and p.name not in (scale_dump.MANIFEST_NAME, scale_dump.BUILD_NAME)
    }
    assert {row["path"] for row in rows} == on_disk
    kinds = Counter(row["kind"] for row in rows)
    assert kinds == summary.kinds
    assert dict(kinds) == {
        "original": 6,
        "variant": 56,
        "altered": 5,
        "duplicate": 23,
        "mail": 13,
        "mbox": 1,
        "archive": 5,
    }
    assert summary.items == 1 + sum(int(row["items"]) for row in rows)
    assert abs(summary.items - ITEMS) <= 0.1 * ITEMS
    for row in rows:
        data = (dump / row["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        if row["kind"] == "archive":
            with zipfile.ZipFile(dump / row["path"]) as archive:
                assert archive.testzip() is None
                assert archive.namelist() == row["contains"].split(";")


def test_ooxml_variants_same_text_other_bytes(
    built: tuple[Path, Path, scale_dump.Summary],
) -> None:
    real, dump, _ = built
    original = (real / "docs" / "budget.docx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        core = archive.read("docProps/core.xml")
    rows = [r for r in _manifest(dump) if r["source"] == "docs/budget.docx"]
    variants = [r for r in rows if r["kind"] == "variant"]
    altered = [r for r in rows if r["kind"] == "altered"]
    assert len(variants) >= 4
    assert altered
    assert len({r["sha256"] for r in variants}) == len(variants)
    created = re.search(rb"<dcterms:created[^>]*>[^<]*<", core)
    assert created is not None
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        names = archive.namelist()
        others = {n: archive.read(n) for n in names if n != "docProps/core.xml"}
    for row in variants + altered:
        with zipfile.ZipFile(dump / row["path"]) as archive:
            assert archive.namelist() == names
            new_core = archive.read("docProps/core.xml")
            assert new_core != core
            assert created.group() in new_core  # same lineage
            kept = {n: archive.read(n) for n in names if n != "docProps/core.xml"}
        if row["kind"] == "variant":  # the same text (and every other part) byte for byte
            assert kept == others
        else:  # one passage of the text changed, nothing else
            changed = {n for n in names if n != "docProps/core.xml" and kept[n] != others[n]}
            assert changed == {"word/document.xml"}


def test_pdf_incremental_updates_parse(built: tuple[Path, Path, scale_dump.Summary]) -> None:
    real, dump, _ = built
    for name in ("table.pdf", "stream.pdf"):
        original = (real / "docs" / name).read_bytes()
        rows = [
            r for r in _manifest(dump) if r["source"] == f"docs/{name}" and r["kind"] == "variant"
        ]
        assert rows, name
        for row in rows[:3]:
            data = (dump / row["path"]).read_bytes()
            assert data.startswith(original)
            assert b"/Prev" in data[len(original) :]
            doc = pymupdf.open(dump / row["path"])
            try:
                assert not doc.is_repaired
                assert doc.metadata["producer"] in scale_dump.PRODUCERS
                assert doc.metadata["modDate"].startswith("D:20")
                assert doc.metadata["modDate"] != "D:20160301100000+01'00'"
                assert doc.metadata["title"] == "Note"
                assert doc[0].get_text().strip() in ("Compte rendu 2016", "Relevé de décisions")
            finally:
                doc.close()
    table = scale_dump.read_pdf_tail((real / "docs" / "table.pdf").read_bytes())
    stream = scale_dump.read_pdf_tail((real / "docs" / "stream.pdf").read_bytes())
    assert table is not None and not table.stream_xref
    assert stream is not None and stream.stream_xref


def test_deterministic(built: tuple[Path, Path, scale_dump.Summary], tmp_path: Path) -> None:
    real, dump, _ = built
    scale_dump.build(tmp_path / "again", ITEMS, real, seed=SEED, family_size=FAMILY_SIZE)
    first = [(r["path"], r["sha256"]) for r in _manifest(dump)]
    second = [(r["path"], r["sha256"]) for r in _manifest(tmp_path / "again")]
    assert first == second
    assert (dump / scale_dump.MANIFEST_NAME).read_bytes() == (
        tmp_path / "again" / scale_dump.MANIFEST_NAME
    ).read_bytes()
