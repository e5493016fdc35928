"""OOXML extractor: planted properties, zip layer, editing traces, hostile and damaged packages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_fixtures import EPOCH, FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders import ooxml as fx
from corpus_fixtures.builders.archive import zip_bytes
from leaktriage import triage_file
from leaktriage.detect import OOXML_WORD
from leaktriage.errors import CorruptFileError, WrongFormatError
from leaktriage.extractors import Source, ooxml
from leaktriage.model import FileRecord, Status

OFFICE_TIME = datetime(1980, 1, 1, tzinfo=UTC)
CREATED = datetime(2017, 3, 10, 8, 12, tzinfo=UTC)
RU_MODIFIED = datetime(2017, 3, 14, 9, 41, 6, tzinfo=UTC)


def _record(data: bytes, name: str, **options: object) -> FileRecord:
    records = triage_file(data, name=name, workers=0, **options)
    return records[0]


def _extract(data: bytes, mime: str = OOXML_WORD) -> ooxml.Extraction:
    return ooxml.extract(Source(name="x.docx", mime=mime, size=len(data), data=data))


def test_fixtures_are_deterministic() -> None:
    for name, build in fx.FIXTURES.items():
        assert build() == build(), name


def test_memo_properties_and_word_traces() -> None:
    record = _record(fx.memo_docx(), "memo.docx")
    assert record.status is Status.OK
    assert record.extractor == "ooxml@1"
    assert record.issues == ()
    f = record.fields
    assert f["ooxml.kind"] == "docx"
    assert f["doc.title"] == fx.MEMO_TITLE
    assert f["doc.subject"] == "Déplacements d'avril"
    assert f["doc.author"] == PEOPLE[0]
    assert f["doc.last_modified_by"] == PEOPLE[1]
    assert f["doc.keywords"] == "campagne; agenda"
    assert f["doc.comments"] == "Version de travail"
    assert f["doc.category"] == "Note"
    assert f["doc.revision"] == 4
    assert f["doc.created"] == CREATED
    assert f["doc.created_offset"] == "+00:00"
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == EPOCH
    assert f["doc.printed"] == datetime(2017, 3, 13, 17, 2, tzinfo=UTC)
    assert f["doc.application"] == "Microsoft Office Word"
    assert f["doc.app_version"] == "16.0000"
    assert f["doc.company"] == ORGANISATION
    assert f["doc.template"] == "Normal.dotm"
    assert f["doc.edit_time_s"] == 47 * 60
    assert (f["doc.page_count"], f["doc.word_count"], f["doc.char_count"]) == (1, 112, 640)
    assert f["ooxml.heading_pairs"] == ("Titre",)
    assert f["ooxml.titles_of_parts"] == (fx.MEMO_TITLE,)
    assert f["ooxml.custom_properties"] == ("Dossier=Agenda 2017", "Confidentialité=Interne")
    assert f["ooxml.rsid_root"] == fx.MEMO_RSID_ROOT
    assert f["ooxml.rsids"] == tuple(sorted(fx.MEMO_RSIDS))
    assert f["ooxml.rsid_count"] == 5
    assert f["ooxml.doc_id"] == fx.MEMO_DOC_ID
    assert f["ooxml.languages"] == ("ar-SA", "en-US", "fr-FR")
    assert f["doc.languages"] == ("fr-FR",)
    assert f["ooxml.has_tracked_changes"] is False
    assert f["ooxml.has_comments"] is False
    assert f["ooxml.has_thumbnail"] is False
    assert f["doc.has_macros"] is False
    assert f["text.sample"] == "\n".join(fx.MEMO_PARAGRAPHS)
    assert f["text.language"] == "fr"
    assert "links.external" not in f
    assert "ooxml.attached_template" not in f


def test_memo_zip_layer_is_office_like() -> None:
    f = _record(fx.memo_docx(), "memo.docx").fields
    assert f["ooxml.zip_mtime_min"] == OFFICE_TIME
    assert f["ooxml.zip_mtime_max"] == OFFICE_TIME
    assert f["ooxml.zip_order"] == tuple(name for name, _ in fx.memo_parts())
    assert f["ooxml.zip_order"][0] == "[Content_Types].xml"
    assert f["ooxml.zip_compression"] == ("deflated",)
    assert f["ooxml.zip_create_systems"] == ("0",)


def test_memo_raw_values_name_their_source() -> None:
    raw = _record(fx.memo_docx(), "memo.docx").raw
    assert raw["docProps/core.xml:dc:creator"] == PEOPLE[0]
    assert raw["docProps/core.xml:cp:lastModifiedBy"] == PEOPLE[1]
    assert raw["docProps/core.xml:dcterms:created"] == "2017-03-10T08:12:00Z"
    assert raw["docProps/app.xml:AppVersion"] == "16.0000"
    assert raw["docProps/app.xml:HeadingPairs"] == "Titre; 1"
    assert raw["docProps/custom.xml:Dossier"] == "Agenda 2017"
    assert raw["word/settings.xml:w:rsidRoot"] == fx.MEMO_RSID_ROOT
    assert raw["word/settings.xml:w14:docId"] == "5E0C1A77"
    assert raw["word/settings.xml:w15:docId"] == fx.MEMO_DOC_ID


def test_remote_template_unc_field_tracked_change_comment() -> None:
    record = _record(fx.memo_remote_template_docx(), "memo_remote_template.docx")
    assert record.status is Status.OK
    f = record.fields
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[0]
    assert f["doc.modified"] == RU_MODIFIED
    assert f["ooxml.attached_template"] == fx.REMOTE_TEMPLATE
    assert f["doc.template"] == fx.REMOTE_TEMPLATE
    assert f["ooxml.external_targets"] == (fx.REMOTE_TEMPLATE,)
    assert fx.UNC_PICTURE == r"\\fileserver01\share\logo.png"
    assert f["ooxml.field_codes"] == (
        fx.INCLUDEPICTURE_CODE,
        f'HYPERLINK "{fx.AGENDA_URL}"',
    )
    assert f["links.external"] == tuple(sorted((fx.UNC_PICTURE, fx.REMOTE_TEMPLATE, fx.AGENDA_URL)))
    assert f["ooxml.languages"] == ("ar-SA", "en-US", "fr-FR", "ru-RU")
    assert f["doc.languages"] == ("fr-FR", "ru-RU")
    assert f["ooxml.has_tracked_changes"] is True
    assert f["ooxml.revision_authors"] == (FOREIGN_PEOPLE[1],)
    assert f["ooxml.has_comments"] is True
    assert f["ooxml.comment_authors"] == (PEOPLE[3],)
    assert f["ooxml.people"] == (
        f"{FOREIGN_PEOPLE[1]}|None|{FOREIGN_PEOPLE[1]}",
        f"{PEOPLE[3]}|AD|{fx.PEOPLE_AD_SID}",
    )
    assert f["ooxml.rsid_count"] == 6
    assert f["ooxml.rsids"] == tuple(sorted((*fx.MEMO_RSIDS, "00D0E1F2")))
    assert f["text.sample"] == (
        "Objet : calendrier des déplacements du mois d'avril.\n"
        "Les réunions publiques de Lyon et de Marseille sont annulées.\n"
        "Merci de transmettre vos disponibilités avant vendredi.\n"
        "Agenda en ligne"
    )
    assert f["meta.scripts"] == ("Cyrillic", "Latin")
    assert record.raw["word/_rels/settings.xml.rels:rId1"] == (
        f"attachedTemplate: {fx.REMOTE_TEMPLATE}"
    )


def test_budget_russian_excel_repacked() -> None:
    record = _record(fx.budget_ru_xlsx(), "budget_ru.xlsx")
    assert record.status is Status.OK
    f = record.fields
    assert f["ooxml.kind"] == "xlsx"
    assert f["doc.author"] == PEOPLE[4]
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[1]
    assert f["doc.application"] == "Microsoft Excel"
    assert f["doc.app_version"] == "16.0300"
    assert f["ooxml.heading_pairs"] == ("Листы",)
    assert f["ooxml.titles_of_parts"] == fx.BUDGET_SHEETS
    assert f["ooxml.abs_path"] == (r"C:\Users\asokolova\Documents" + "\\",)
    # Real local times on the entries: repacked three hours ahead of the UTC save time.
    repack = datetime(2017, 3, 14, 12, 41, 6, tzinfo=UTC)
    assert f["ooxml.zip_mtime_min"] == repack
    assert f["ooxml.zip_mtime_max"] == repack
    assert f["doc.modified"] == RU_MODIFIED
    # Cells in workbook, row and column order: shared strings resolved, figures as written.
    assert f["text.sample"] == (
        "Poste\tMontant\nDéplacements\t48500\nLocation de salles\t21000\nTotal\t69500\n"
        f"{fx.INLINE_STRING}\t5000"
    )
    assert f["ooxml.has_comments"] is False
    assert "ooxml.has_tracked_changes" not in f
    assert f["meta.foreign_strings"] == (
        "doc.last_modified_by:Cyrillic",
        "ooxml.heading_pairs:Cyrillic",
    )
    assert record.raw["xl/workbook.xml:fileVersion/rupBuild"] == "18129"
    assert record.raw["xl/workbook.xml:fileVersion/appName"] == "xl"
    assert record.raw["xl/workbook.xml:x15ac:absPath"] == fx.ABS_PATH
    assert record.raw["xl/workbook.xml:revisionPtr/documentId"] == (
        "8_{1D3C9A52-7E4B-4C1F-9F0E-2B6A5D8C4E31}"
    )


def test_slides() -> None:
    record = _record(fx.slides_pptx(), "slides.pptx")
    assert record.status is Status.OK
    f = record.fields
    assert f["ooxml.kind"] == "pptx"
    assert f["doc.title"] == "Stratégie numérique"
    assert f["doc.author"] == PEOPLE[3]
    assert f["doc.revision"] == 12
    assert f["doc.page_count"] == 2
    assert f["doc.edit_time_s"] == 95 * 60
    assert f["ooxml.heading_pairs"] == ("Polices utilisées", "Thème", "Titres des diapositives")
    assert f["ooxml.titles_of_parts"] == (
        "Calibri",
        "Thème Office",
        "Stratégie numérique",
        "Calendrier",
    )
    assert f["ooxml.has_thumbnail"] is True
    assert f["ooxml.has_comments"] is True
    assert f["ooxml.comment_authors"] == (PEOPLE[0],)
    assert f["ooxml.external_targets"] == (fx.PROGRAMME_URL,)
    assert f["links.external"] == (fx.PROGRAMME_URL,)
    assert f["ooxml.abs_path"] == (fx.SLIDE_IMAGE_PATH,)
    assert f["ooxml.languages"] == ("en-US", "fr-FR")
    assert f["doc.languages"] == ("fr-FR",)
    assert f["text.sample"] == "\n".join(line for slide in fx.SLIDES for line in slide)


def test_text_sample_is_cut_to_the_configured_size() -> None:
    f = _record(fx.memo_docx(), "memo.docx", text_sample_bytes=20).fields
    assert f["text.sample"] == fx.MEMO_PARAGRAPHS[0][:20]
    assert f["text.chars"] == len("\n".join(fx.MEMO_PARAGRAPHS))


def test_billion_laughs_core_is_refused_rest_is_read() -> None:
    record = _record(fx.bomb_core_docx(), "bomb_core.docx")
    assert record.status is Status.PARTIAL
    assert [issue.code for issue in record.issues] == ["xml_unsafe"]
    assert "docProps/core.xml" in record.issues[0].message
    assert "doc.author" not in record.fields
    assert record.fields["doc.application"] == "Microsoft Office Word"
    assert record.fields["ooxml.rsid_root"] == fx.MEMO_RSID_ROOT
    assert record.fields["text.sample"] == "\n".join(fx.MEMO_PARAGRAPHS)


def test_bit_flipped_document_part_keeps_properties() -> None:
    record = _record(fx.memo_bitflip_docx(), "memo_bitflip.docx")
    assert record.status is Status.PARTIAL
    assert [issue.code for issue in record.issues] == ["corrupt"]
    assert record.issues[0].message.startswith("word/document.xml: unreadable")
    assert record.fields["doc.author"] == PEOPLE[0]
    assert record.fields["ooxml.rsid_count"] == 5
    assert "text.sample" not in record.fields


def test_truncated_package() -> None:
    data = fx.memo_truncated_docx()
    with pytest.raises(CorruptFileError, match="zip unreadable"):
        _extract(data)
    record = _record(data, "memo_truncated.docx")
    assert record.status is Status.ERROR
    assert record.issues and record.issues[0].code == "corrupt"


def test_zip_without_content_types_is_not_mine() -> None:
    with pytest.raises(WrongFormatError):
        _extract(zip_bytes([("word/document.xml", b"<x/>")]))


def test_macro_enabled_kind_and_vba() -> None:
    docx = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    docm = b"application/vnd.ms-word.document.macroEnabled.main+xml"
    parts = [(name, data.replace(docx, docm)) for name, data in fx.memo_parts()]
    data = zip_bytes(
        [*parts, ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")], date_time=fx.OFFICE_DOS_TIME
    )
    record = _record(data, "memo.docm")
    assert record.mime == "application/vnd.ms-word.document.macroEnabled.12"
    assert record.fields["ooxml.kind"] == "docm"
    assert record.fields["doc.has_macros"] is True


def test_part_and_total_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ooxml, "META_PART_BYTES", 600)
    extraction = _extract(fx.memo_docx())
    assert extraction.status is Status.PARTIAL
    limited = {i.message.split(":")[0] for i in extraction.issues if i.code == "limit.part_size"}
    assert "docProps/core.xml" in limited
    assert extraction.fields["text.sample"] == "\n".join(fx.MEMO_PARAGRAPHS)
    monkeypatch.setattr(ooxml, "META_PART_BYTES", 8 << 20)
    monkeypatch.setattr(ooxml, "TOTAL_BYTES", 1500)
    extraction = _extract(fx.memo_docx())
    assert "limit.total_bytes" in {issue.code for issue in extraction.issues}


def test_member_inflating_beyond_its_header_is_cut() -> None:
    # The central directory claims 100 bytes for document.xml: zipfile stops there and the
    # CRC check fails, so the part is reported, never read past its declared size.
    data = bytearray(fx.memo_docx())
    central = data.index(b"PK\x01\x02")  # the first central-directory entry
    while data[central + 46 : central + 63] != b"word/document.xml":
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    extraction = _extract(bytes(data))
    assert extraction.status is Status.PARTIAL
    assert [i.code for i in extraction.issues] == ["corrupt"]
    assert extraction.issues[0].message.startswith("word/document.xml: unreadable (BadZipFile")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\\\\server\\share\\a.png", r"\\server\share\a.png"),
        (r"\\server\share\a.png", r"\\server\share\a.png"),
        ("http://example.org/a.png", "http://example.org/a.png"),
    ],
)
def test_field_argument_unescaping(text: str, expected: str) -> None:
    assert ooxml._unescape_field(text) == expected


_SEED = fx.memo_remote_template_docx()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=len(_SEED)),
    flips=st.lists(
        st.tuples(st.integers(0, len(_SEED) - 1), st.integers(1, 255)), min_size=0, max_size=4
    ),
)
def test_damaged_packages_give_declared_outcomes(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SEED)
    for offset, mask in flips:
        data[offset] ^= mask
    try:
        extraction = _extract(bytes(data[:cut]) if cut < len(_SEED) else bytes(data))
    except (CorruptFileError, WrongFormatError):
        return
    assert extraction.status in (Status.OK, Status.PARTIAL)


def test_workbook_text_has_every_figure_in_sheet_row_and_column_order() -> None:
    """A changed figure is the commonest forgery in a financial leak: the text must show it."""
    when = datetime(2017, 3, 1, 9, 0, tzinfo=UTC)
    data = fx.workbook_xlsx(
        [
            ("Recettes", [("Poste", "Montant"), ("Dons", 125000), ("Cotisations", 4380.5)]),
            ("Dépenses", [("Poste", "Montant"), ("Salles", 48500)]),
        ],
        title="Budget",
        author=PEOPLE[0],
        last_by=PEOPLE[1],
        created=when,
        modified=when,
        reverse_parts=True,  # the first sheet is stored as sheet2.xml
    )
    record = _record(data, "budget.xlsx")
    assert record.fields["text.sample"] == (
        "Poste\tMontant\nDons\t125000\nCotisations\t4380.5\nPoste\tMontant\nSalles\t48500"
    )
    assert record.fields["text.chars"] == len(record.fields["text.sample"])


def test_office_xml_signature_is_recorded_with_its_signer_and_time_not_verified() -> None:
    result = _extract(fx.signed_memo_docx())
    assert result.fields["ooxml.xml_signature_count"] == 1
    assert result.fields["ooxml.xml_signature_signers"] == (
        "CN=Camille Martin,O=En Avant Ensemble (test),C=FR",
    )
    assert result.fields["ooxml.xml_signature_issuers"] == (
        "CN=Test Root CA,O=Exemple Confiance (test),C=FR",
    )
    assert result.fields["ooxml.xml_signature_times"] == (fx.SIGNATURE_TIME,)
    assert result.fields["ooxml.xml_signature_comments"] == (fx.SIGNATURE_COMMENT,)
    assert result.issues == []
    # No certificate to decode: the names the signature states; a part that is not a
    # signature is counted but says nothing.
    stated = [
        *fx.memo_parts(),
        ("_xmlsignatures/sig1.xml", _STATED_SIGNATURE),
        ("_xmlsignatures/sig2.xml", b"<other/>"),
    ]
    result = _extract(zip_bytes(stated))
    assert result.fields["ooxml.xml_signature_count"] == 2
    assert result.fields["ooxml.xml_signature_signers"] == ("CN=Julien Marchetti",)
    assert result.fields["ooxml.xml_signature_issuers"] == ("-",)
    assert result.fields["ooxml.xml_signature_times"] == ("2017-04-02T08:00:00Z",)
    assert "ooxml.xml_signature_comments" not in result.fields
    assert "ooxml.xml_signature_count" not in _extract(fx.memo_docx()).fields


_STATED_SIGNATURE = (
    b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><KeyInfo><X509Data>'
    b"<X509SubjectName>CN=Julien Marchetti</X509SubjectName>"
    b"<X509Certificate>bm90IGEgY2VydGlmaWNhdGU=</X509Certificate></X509Data></KeyInfo>"
    b'<Object><SignatureProperties><SignatureProperty><mdssi:SignatureTime xmlns:mdssi="'
    b'http://schemas.openxmlformats.org/package/2006/digital-signature"><mdssi:Value>'
    b"2017-04-02T08:00:00Z</mdssi:Value></mdssi:SignatureTime></SignatureProperty>"
    b"</SignatureProperties></Object></Signature>"
)
