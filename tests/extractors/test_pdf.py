"""PDF extractor: planted Info/XMP values, save history, /ID, active content, encryption."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leaktriage
from corpus_fixtures import FOREIGN_PEOPLE, PEOPLE
from corpus_fixtures.builders import pdf as fx
from leaktriage.errors import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionError,
    WrongFormatError,
)
from leaktriage.extractors import Extraction, Source
from leaktriage.extractors._pdf_common import (
    decode_text,
    pymupdf,  # PyMuPDF typed as Any (its functions carry no annotations)
    read_string,
)
from leaktriage.extractors._pdf_revisions import _scan_history
from leaktriage.extractors.pdf import extract
from leaktriage.model import FileRecord, Status


def run(name: str) -> list[FileRecord]:
    return leaktriage.triage_file(fx.FIXTURES[name](), name=name, workers=0)


def direct(data: bytes) -> Extraction:
    return extract(Source(name="x.pdf", mime="application/pdf", size=len(data), data=data))


def test_fixtures_are_reproducible() -> None:
    for build in fx.FIXTURES.values():
        assert build() == build()


def test_report_info_dates_language_fonts() -> None:
    record = run("report.pdf")[0]
    f = record.fields
    assert record.status is Status.OK
    assert record.mime == "application/pdf"
    assert record.extractor == "pdf@1"
    assert f["doc.title"] == "Rapport mensuel — mars 2017"  # em dash: PDFDocEncoding 0x84
    assert f["doc.author"] == PEOPLE[0]
    assert f["doc.subject"] == "Campagne 2017"
    assert f["doc.keywords"] == "rapport; campagne"
    assert f["doc.application"] == f["pdf.creator"] == "Microsoft® Word 2016"
    assert f["doc.producer"] == "Microsoft® Word 2016"
    assert f["doc.created"] == datetime(2017, 3, 14, 8, 30, tzinfo=UTC)
    assert f["doc.created_offset"] == "+01:00"
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == datetime(2017, 3, 15, 17, 12, tzinfo=UTC)
    assert f["doc.modified_offset"] == "+01:00"
    assert f["doc.page_count"] == 2
    assert f["doc.languages"] == ("fr-FR",)
    assert f["pdf.version"] == "1.7"
    assert f["pdf.info"] == (
        "Title",
        "Author",
        "Subject",
        "Keywords",
        "Creator",
        "Producer",
        "CreationDate",
        "ModDate",
    )
    assert f["pdf.id_original"] == f["pdf.id_current"] == fx.REPORT_ID
    assert f["pdf.id_equal"] is True
    assert f["pdf.revision_count"] == 1
    assert f["pdf.incremental_updates"] == 0
    assert f["pdf.linearized"] is False
    fonts = f["pdf.fonts"]
    assert isinstance(fonts, tuple)
    assert fonts[0] == "Helvetica"
    assert len(fonts) == 2
    assert fonts[1].endswith("+Droid Sans Fallback Regular")
    assert fonts[1][:6].isupper() and fonts[1][6] == "+"
    assert f["pdf.fonts_not_embedded"] == ("Helvetica",)
    assert f["links.external"] == ("https://campagne-exemple.fr/rapport",)
    sample = f["text.sample"]
    assert isinstance(sample, str)
    assert sample.startswith("En Avant Ensemble - Rapport mensuel de la campagne\n")
    assert "Annexe : calendrier des réunions régionales." in sample
    assert f["text.language"] == "fr"
    assert record.raw["Info/CreationDate"] == "D:20170314093000+01'00'"
    assert record.raw["Info/Title"] == "Rapport mensuel — mars 2017"
    assert "pdf.xmp_present" not in f
    assert "pdf.revision_diff" not in f


def test_text_sample_is_capped() -> None:
    record = leaktriage.triage_file(
        fx.report_pdf(), name="report.pdf", workers=0, text_sample_bytes=40
    )[0]
    assert record.fields["text.sample"] == "En Avant Ensemble - Rapport mensuel de l"


def test_budget_two_incremental_updates_and_changed_figure() -> None:
    record = run("budget_two_updates.pdf")[0]
    f = record.fields
    assert record.status is Status.OK
    assert f["pdf.incremental_updates"] == 2
    assert f["pdf.revision_count"] == 3
    assert f["pdf.revision_text_changed"] is True
    assert f["pdf.revision_diff"] == (f"-{fx.BUDGET_BEFORE} | +{fx.BUDGET_AFTER}",)
    revisions = f["pdf.revisions"]
    assert isinstance(revisions, tuple)
    assert [line.split("|", 1)[0] for line in revisions] == ["1", "2", "3"]
    assert [line.split("|")[2:] for line in revisions] == [
        ["D:20170301100000+01'00'", "LibreOffice 5.2"],
        ["D:20170302091500+01'00'", "LibreOffice 5.2"],
        ["D:20170410223000+03'00'", "iLovePDF"],
    ]
    assert int(revisions[-1].split("|")[1]) == len(fx.budget_two_updates_pdf())
    assert f["pdf.id_original"] == fx.BUDGET_ID
    assert f["pdf.id_current"] == fx.BUDGET_UPDATES[-1][0]
    assert f["pdf.id_equal"] is False
    assert f["doc.producer"] == "iLovePDF"
    assert f["doc.modified"] == datetime(2017, 4, 10, 19, 30, tzinfo=UTC)
    assert f["doc.modified_offset"] == "+03:00"
    assert f["doc.created"] == datetime(2017, 3, 1, 9, 0, tzinfo=UTC)
    assert f["text.sample"] == (
        f"Budget prévisionnel 2017\n{fx.BUDGET_AFTER}\nValidé par le trésorier."
    )


def test_each_earlier_revision_reopens() -> None:
    data = fx.budget_two_updates_pdf()
    history = _scan_history(data)
    assert history.updates == 2
    first = history.revision_ends[0]
    with pymupdf.open(stream=data[:first], filetype="pdf") as old:
        assert fx.BUDGET_BEFORE in old[0].get_text()


def _linearized_layout(updated: bool) -> bytes:
    """The byte layout of a linearized file: first-page xref first, main xref at the end."""
    head = b"%PDF-1.6\n"
    lin = b"1 0 obj\n<</Linearized 1/L LLLLLL/O 3/E 100/N 1/T 200>>\nendobj\n"
    first_xref_at = len(head) + len(lin)
    first = (
        b"xref\n1 2\n0000000009 00000 n \n0000000000 00000 n \ntrailer\n<</Size 4/Prev MMMMMM>>\n"
    )
    first += b"startxref\n0\n%%EOF\n"
    body = b"2 0 obj\n<</Type/Catalog>>\nendobj\n"
    prefix = head + lin + first + body
    main_at = len(prefix)
    main = b"xref\n0 1\n0000000000 65535 f \ntrailer\n<</Size 4>>\n"
    main += b"startxref\n%d\n%%%%EOF\n" % first_xref_at
    data = (prefix + main).replace(b"MMMMMM", b"%06d" % main_at)
    data = data.replace(b"LLLLLL", b"%06d" % len(data))
    if updated:
        update_at = len(data) + len(b"4 0 obj\n<<>>\nendobj\n")
        data += b"4 0 obj\n<<>>\nendobj\n"
        data += b"xref\n4 1\n0000000000 00000 n \ntrailer\n<</Size 5/Prev %d>>\n" % first_xref_at
        data += b"startxref\n%d\n%%%%EOF\n" % update_at
    return data


def test_linearized_file_is_one_save_until_updated() -> None:
    single = _scan_history(_linearized_layout(updated=False))
    assert single.linearized is True
    assert single.updates == 0
    assert len(single.revision_ends) == 1
    updated_data = _linearized_layout(updated=True)
    updated = _scan_history(updated_data)
    assert updated.updates == 1
    assert updated.revision_ends == [
        len(_linearized_layout(updated=False)),
        len(updated_data),
    ]


def test_xmp_beside_info() -> None:
    record = run("xmp_mismatch.pdf")[0]
    f = record.fields
    assert record.status is Status.OK
    assert f["doc.author"] == PEOPLE[2]
    assert f["pdf.xmp_author"] == FOREIGN_PEOPLE[0]
    assert f["doc.producer"] == "Microsoft® Word 2016"
    assert f["pdf.xmp_producer"] == "Adobe PDF Library 15.0"
    assert f["pdf.xmp_creator_tool"] == "Microsoft® Word 2016"
    assert f["pdf.xmp_title"] == "Note interne"
    assert f["pdf.xmp_present"] is True
    assert f["pdf.xmp_created"] == datetime(2017, 3, 20, 9, 0, tzinfo=UTC)
    assert f["pdf.xmp_modified"] == datetime(2017, 4, 28, 20, 15, tzinfo=UTC)
    assert f["pdf.xmp_metadata_date"] == datetime(2017, 4, 28, 20, 15, tzinfo=UTC)
    assert f["doc.modified"] == datetime(2017, 3, 20, 9, 5, tzinfo=UTC)
    assert f["pdf.xmp_document_id"] == "uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert f["pdf.xmp_original_document_id"] == "uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert f["pdf.xmp_instance_id"] == "uuid:7d1c0b9a-2e3f-4a5b-8c6d-9e0f1a2b3c4d"
    assert f["pdf.xmp_history"] == (
        "created|2017-03-20T10:00:00+01:00|Microsoft® Word 2016",
        "saved|2017-04-28T23:15:00+03:00|Adobe Acrobat Pro DC 15.0",
    )
    assert f["pdf.id_original"] == "9C2E4A6B8D0F1E3C5A7B9D1F3E5C7A9B"
    assert f["pdf.id_current"] == "1F3E5C7A9B2D4F6E8A0C2E4A6C8E0A2C"
    assert f["pdf.id_equal"] is False
    assert record.raw["XMP/dc:creator"] == FOREIGN_PEOPLE[0]
    assert record.raw["Info/Author"] == PEOPLE[2]
    assert f["meta.scripts"] == ("Cyrillic", "Latin")


def test_beacon_links_javascript_form_and_attachment() -> None:
    record, *children = run("beacon.pdf")
    f = record.fields
    assert record.status is Status.OK
    assert f["links.external"] == (fx.BEACON_URL, fx.BEACON_JS_URL)
    assert f["pdf.has_javascript"] is True
    assert f["pdf.has_open_action"] is True
    assert f["pdf.has_launch"] is False
    assert f["pdf.annotation_count"] == 3
    assert f["pdf.form_fields"] == 2
    assert f["pdf.signature_count"] == 1
    assert f["pdf.embedded_files"] == ("confirmation.txt",)
    assert [child.name for child in children] == ["attachment:confirmation.txt"]
    assert children[0].parent_id == record.record_id
    assert children[0].size == len(b"Merci de confirmer votre presence.\n")


def test_attachment_bomb_is_listed_not_inflated() -> None:
    doc = pymupdf.open()
    doc.new_page()
    doc.embfile_add("zeros.bin", bytes(65 * 1024 * 1024))
    doc.embfile_add("small.txt", b"ok\n")
    data = doc.tobytes(deflate=True)
    assert len(data) < 1024 * 1024
    result = direct(data)
    assert result.fields["pdf.embedded_files"] == ("zeros.bin", "small.txt")
    assert [(child.name, child.data) for child in result.children] == [
        ("attachment:small.txt", b"ok\n")
    ]
    assert [issue.code for issue in result.issues] == ["limit.size"]


def test_plain_document_has_no_active_content() -> None:
    f = run("report.pdf")[0].fields
    assert f["pdf.has_javascript"] is False
    assert f["pdf.has_open_action"] is False
    assert f["pdf.has_launch"] is False
    assert f["pdf.annotation_count"] == 0
    assert f["pdf.form_fields"] == 0
    assert f["pdf.signature_count"] == 0


def test_scanned_page_with_text_layer() -> None:
    f = run("scan_ocr.pdf")[0].fields
    assert f["pdf.image_pages_with_text"] == ("1",)
    assert f["text.sample"] == "Facture 2017-031 : 48 500 euros\nBordereau de transmission."


def test_hostile_xmp_is_refused_and_info_kept() -> None:
    record = run("hostile_xmp.pdf")[0]
    assert record.status is Status.PARTIAL
    assert [issue.code for issue in record.issues] == ["xml_unsafe"]
    assert record.fields["doc.author"] == PEOPLE[1]
    assert record.fields["pdf.xmp_present"] is True
    assert "pdf.xmp_author" not in record.fields


def test_user_password_is_encrypted_with_structure_kept() -> None:
    record = run("encrypted.pdf")[0]
    f = record.fields
    assert record.status is Status.ENCRYPTED
    assert [issue.code for issue in record.issues] == ["encrypted"]
    assert f["doc.encrypted"] is True
    assert f["pdf.encryption"] == "Standard V2 R3 128-bit RC4"
    assert f["pdf.version"] == "1.6"
    assert f["pdf.id_original"] == fx.ENCRYPTED_ID.hex().upper()
    assert "doc.author" not in f
    with pytest.raises(EncryptedFileError) as caught:
        direct(fx.encrypted_pdf())
    assert isinstance(caught.value.partial, Extraction)


def test_encrypted_fixture_opens_with_its_password() -> None:
    with pymupdf.open(stream=fx.encrypted_pdf(), filetype="pdf") as doc:
        assert doc.needs_pass
        assert doc.authenticate(fx.USER_PASSWORD)
        assert doc.metadata["author"] == PEOPLE[0]
        assert "Compte rendu confidentiel" in doc[0].get_text()


def test_owner_password_only_is_read_normally() -> None:
    record = run("owner_locked.pdf")[0]
    f = record.fields
    assert record.status is Status.OK
    assert f["doc.encrypted"] is True
    assert f["pdf.encryption"] == "Standard V2 R3 128-bit RC4"
    assert f["doc.author"] == PEOPLE[0]
    assert f["doc.title"] == "Compte rendu confidentiel"
    assert f["doc.producer"] == "Acrobat Distiller 11.0"
    assert f["doc.created"] == datetime(2017, 4, 12, 6, 0, tzinfo=UTC)
    assert f["text.sample"] == "Compte rendu confidentiel du bureau politique."
    assert str(fx.RESTRICTED_PERMISSIONS) in record.raw["Trailer/Encrypt"]


def test_truncated_file_is_partial_with_metadata() -> None:
    record = run("truncated.pdf")[0]
    assert record.status is Status.PARTIAL
    assert record.issues[0].code == "corrupt"
    assert record.issues[0].message.startswith("file truncated (no final %%EOF)")
    assert "cannot find startxref" in record.issues[0].message
    assert record.fields["doc.author"] == PEOPLE[0]


def test_broken_xref_with_complete_body_stays_ok_with_an_issue() -> None:
    data = re.sub(rb"startxref\s+\d+", b"startxref\n987654321", fx.report_pdf())
    record = leaktriage.triage_file(data, name="broken_xref.pdf", workers=0)[0]
    assert record.status is Status.OK
    assert [issue.code for issue in record.issues] == ["corrupt"]
    assert record.issues[0].message.startswith("cross-reference table damaged")
    assert record.fields["doc.author"] == PEOPLE[0]
    assert "pdf.revision_count" not in record.fields


def test_not_a_pdf_and_unreadable_pdf() -> None:
    with pytest.raises(WrongFormatError):
        direct(b"GIF89a" + b"\x00" * 100)
    with pytest.raises(CorruptFileError) as caught:
        direct(b"%PDF-1.4\n" + b"\xff" * 10)
    partial = caught.value.partial
    assert isinstance(partial, Extraction)
    assert partial.fields["pdf.version"] == "1.4"


def test_string_decoding() -> None:
    assert decode_text(b"\xfe\xff\x04\x10\x04\x3d\x04\x3d\x04\x30") == "Анна"
    assert decode_text(b"\x92 \x80 \xa0") == "™ • €"
    assert decode_text(b"\x00r\x00l\x00e\x002\x00\x00") == "rle2"
    assert decode_text("Пётр".encode()) == "Пётр"
    assert decode_text(b"caf\xe9") == "café"
    assert read_string(r"(a\(b\)\101\\)", 0) == (b"a(b)A\\", 14)
    assert read_string("<4142 43>", 0) == (b"ABC", 9)
    assert read_string("<< /A 1 >>", 0) is None


_DECLARED = (Status.OK, Status.PARTIAL)


@cache
def _budget() -> bytes:
    return fx.budget_two_updates_pdf()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=2090),
    flips=st.lists(st.tuples(st.integers(0, 2090), st.integers(1, 255)), max_size=4),
)
def test_damaged_budget_only_declared_outcomes(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_budget())
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    damaged = bytes(data[: len(data) - cut])
    try:
        result = direct(damaged)
    except ExtractionError as exc:
        assert isinstance(exc, CorruptFileError | WrongFormatError | EncryptedFileError)
        return
    assert result.status in _DECLARED
    for value in result.fields.values():
        assert not isinstance(value, datetime) or value.tzinfo is UTC


def _saved_twice(folder: Path, change_text: bool) -> bytes:
    """A one-page PDF saved, then updated incrementally: new Info only, or new page text."""
    path = folder / ("edited.pdf" if change_text else "info.pdf")
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Budget des salles : 48 500 euros")
    doc.save(str(path))
    doc.close()
    doc = pymupdf.open(str(path))
    doc.set_metadata({"producer": "Relecture 2.0", "modDate": "D:20170402100000Z"})
    if change_text:
        doc[0].insert_text((72, 144), "Solde reporté : 4 850 euros")
    doc.saveIncr()
    doc.close()
    return path.read_bytes()


def test_an_update_that_rewrites_no_page_object_leaves_the_text_unread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from leaktriage.extractors import _pdf_revisions as pdf

    reads: list[int] = []
    real = pdf._document_text

    def counting(doc: Any, known: dict[int, str] | None = None) -> str:
        reads.append(doc.page_count)
        return real(doc, known)

    monkeypatch.setattr(pdf, "_document_text", counting)
    info_only = direct(_saved_twice(tmp_path, change_text=False))
    assert info_only.fields["pdf.revision_count"] == 2
    assert info_only.fields["pdf.revision_text_changed"] is False
    assert [line.split("|")[3] for line in info_only.fields["pdf.revisions"]] == [
        "",
        "Relecture 2.0",
    ]
    assert reads == []  # the earlier revision has the final text: neither is read
    reads.clear()
    edited = direct(_saved_twice(tmp_path, change_text=True))
    assert edited.fields["pdf.revision_text_changed"] is True
    assert edited.fields["pdf.revision_diff"] == ("+Solde reporté : 4 850 euros",)
    assert len(reads) == 2


def test_a_complaint_mupdf_made_on_the_previous_file_is_said_again() -> None:
    # MuPDF folds a warning equal to the last one it made into "... repeated N times", across
    # files: after a file whose earlier revision ends on a warning, the next file that made
    # the same one lost its issue (which copy of a leak had it changed from run to run).
    first = fx.damaged_stream_pdf("Premier")
    second = fx.damaged_stream_pdf("Seconde")
    for name, data in (("premier.pdf", first), ("seconde.pdf", second), ("again.pdf", second)):
        record = leaktriage.triage_file(data, name=name, workers=0)[0]
        assert record.fields["pdf.revision_count"] == 2
        assert [(i.stage, i.code, i.message) for i in record.issues] == [
            ("extract", "corrupt", "MuPDF: premature end of data in flate filter")
        ]
