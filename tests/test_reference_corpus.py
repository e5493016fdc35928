"""The reference corpus's split and producer families, offline (corpus_fixtures.reference)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

from corpus_fixtures.real import (
    MANIFEST,
    Entry,
    Source,
    _gunzipped,
    _Member,
    assign_splits,
    split_key,
    write_manifest,
)
from corpus_fixtures.reference import (
    camera_family,
    families,
    format_stats,
    mail_service,
    product_family,
    reference_stats,
)


def _entry(source: str, member: str, *, genuine: bool = True, kind: str = "pdf") -> Entry:
    return Entry(
        path=f"{source}/{member}",
        sha256=f"{source}/{member}",
        size=1,
        source=source,
        kind="pypi",
        version="1",
        origin="https://example.invalid",
        member=member,
        licence="MIT",
        crafted=not genuine,
        genuine=genuine,
        category=kind,
    )


def _corpus() -> list[Entry]:
    entries = []
    for index in range(12):
        kind = ("pdf", "office", "image", "mail")[index % 4]
        entries.extend(
            _entry(f"s{index:02d}", f"f{number}.x", kind=kind) for number in range(5 + index)
        )
    entries.append(_entry("crafted-only", "bad.pdf", genuine=False))
    return entries


def test_split_puts_whole_sources_on_one_side_near_a_third_per_category() -> None:
    entries = _corpus()
    sides = assign_splits(entries)
    assert sides["crafted-only"] == "-"
    assert {side for name, side in sides.items() if name != "crafted-only"} == {"fit", "heldout"}
    for kind in ("pdf", "office", "image", "mail"):
        members = [entry for entry in entries if entry.category == kind and entry.genuine]
        held = sum(sides[entry.source] == "heldout" for entry in members)
        assert 0.15 <= held / len(members) <= 0.55, (kind, held, len(members))
    # Deterministic, and independent of the order the entries come in.
    assert assign_splits(list(reversed(entries))) == sides
    assert split_key("pypdf") == split_key("pypdf") != split_key("pikepdf")


def test_product_families_drop_versions_and_placeholders() -> None:
    assert product_family("Microsoft® Word 2016") == "Microsoft Word"
    assert product_family("Microsoft Macintosh Word") == "Microsoft Word"
    assert product_family("pdfTeX-1.40.24") == "pdfTeX"
    assert product_family("GPL Ghostscript 9.14") == "Ghostscript"
    assert product_family("Mac OS X 10.10.4 Quartz PDFContext") == "macOS Quartz"
    assert product_family("Skia/PDF m116") == "Skia (Chrome)"
    assert product_family("LibreOffice 6.4") == "LibreOffice"
    assert product_family("Pixelmator 3.6") == "Pixelmator"
    assert product_family("Mutt/1.5.24 (2015-08-30)") == "Mutt"
    for placeholder in ("none", "UnknownApplication", "1.00", "", "Version 2"):
        assert product_family(placeholder) is None, placeholder
    assert camera_family("NIKON CORPORATION") == "Nikon camera"
    assert camera_family("CASIO COMPUTER CO.,LTD") == "Casio camera"
    assert camera_family("Make") is None
    assert mail_service("<CABop5e@mail.gmail.com>") == "Gmail"
    assert mail_service("<20030712.46341@football.example.com>") is None
    assert families(
        {"doc.application": "Writer", "doc.producer": "LibreOffice 7.4", "image.make": "Canon"}
    ) == {"OpenOffice.org", "LibreOffice", "Canon camera"}


def test_reference_stats_count_genuine_files_sides_and_families(tmp_path: Path) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    entries = [
        _entry("a", "one.pdf"),
        _entry("a", "two.pdf"),
        _entry("b", "three.docx"),
        _entry("b", "bad.docx", genuine=False),
    ]
    sides = {"a": "fit", "b": "heldout"}
    entries = [
        dataclasses.replace(entry, split=sides[entry.source]) if entry.genuine else entry
        for entry in entries
    ]
    write_manifest(folder / MANIFEST, entries)
    records = tmp_path / "files.jsonl"
    lines = [
        {"path": "real/a/one.pdf", "parent_id": None, "fields": {"doc.producer": "pdfTeX-1.40"}},
        {"path": "real/a/two.pdf", "parent_id": None, "fields": {}},
        {"path": "real/b/three.docx", "parent_id": None, "fields": {"doc.application": "Word"}},
        {"path": "real/b/bad.docx", "parent_id": None, "fields": {"doc.application": "Excel"}},
        {"path": "real/a/one.pdf!x", "parent_id": "1", "fields": {"doc.application": "GIMP"}},
    ]
    records.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    stats = reference_stats(folder, records)
    assert stats.total == 3 and stats.heldout() == 1 and stats.scanned == 3
    assert dict(stats.families) == {"pdfTeX": 1, "Microsoft Word": 1}
    assert stats.with_producer == 2
    assert stats.max_share() == ("a", 2 / 3)
    text = "\n".join(format_stats(stats))
    assert "genuine: 3" in text and "producer families: 2" in text


def test_gunzip_takes_a_packager_gzipped_manual_under_its_own_name() -> None:
    source = Source(
        name="deb-x",
        kind="deb",
        package="x",
        version="1",
        url="https://example.invalid",
        sha256="0" * 64,
        licence="MIT",
        include=("usr/share/doc/**",),
        gunzip=("**/*.pdf.gz",),
    )
    assert source.wants("usr/share/doc/x/manual.pdf.gz")
    member = _Member("usr/share/doc/x/manual.pdf.gz", 7, gzip.compress(b"%PDF-1.4", mtime=0))
    assert _gunzipped(source, member) == _Member("usr/share/doc/x/manual.pdf", 7, b"%PDF-1.4")
    other = _Member("usr/share/doc/x/data.tar.gz", 7, b"tar")
    assert _gunzipped(source, other) is other
