"""ODF, RTF, HTML and text extractors: planted values, encodings, links, damaged files."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_fixtures import FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders import misc as fx
from corpus_fixtures.builders.archive import zip_bytes
from leaktriage import triage_file
from leaktriage.errors import CorruptFileError, EncryptedFileError, ExtractionError
from leaktriage.extractors import Extraction, Source, _encoding, for_mime, html, odf, rtf, text
from leaktriage.model import FileRecord, Status

DECLARED = {Status.OK, Status.PARTIAL, Status.ERROR, Status.ENCRYPTED}


def _record(data: bytes, name: str) -> FileRecord:
    return triage_file(data, name=name, workers=0)[0]


def _source(data: bytes, mime: str, name: str = "x") -> Source:
    return Source(name=name, mime=mime, size=len(data), data=data)


def test_fixtures_are_deterministic() -> None:
    for name, build in fx.FIXTURES.items():
        assert build() == build(), name


def test_mime_types_are_claimed() -> None:
    claims = {
        fx.ODT_MIME: "odf",
        "application/vnd.oasis.opendocument.spreadsheet": "odf",
        "application/vnd.oasis.opendocument.presentation": "odf",
        "application/vnd.oasis.opendocument.graphics": "odf",
        "text/rtf": "rtf",
        "text/html": "html",
        "application/xhtml+xml": "html",
        "text/plain": "text",
        "text/csv": "text",
        "application/json": "text",
        "application/xml": "text",
    }
    for mime, name in claims.items():
        extractor = for_mime(mime)
        assert extractor is not None and extractor.name == name, mime


# --- ODF ------------------------------------------------------------------------------------


def test_minutes_odt_meta_and_body() -> None:
    record = _record(fx.minutes_odt(), "minutes.odt")
    assert record.mime == fx.ODT_MIME
    assert record.status is Status.OK
    assert record.extractor == "odf@1"
    assert record.issues == ()
    f = record.fields
    assert f["doc.title"] == fx.MINUTES_TITLE
    assert f["doc.subject"] == "Déplacements"
    assert f["doc.comments"] == "Version validée par la direction"
    assert f["doc.keywords"] == "réunion; Lyon"
    assert f["doc.author"] == PEOPLE[0]
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[1]
    assert f["odf.printed_by"] == PEOPLE[2]
    assert f["doc.application"] == "LibreOffice"
    assert f["doc.app_version"] == "7.3.7.2"
    assert f["odf.platform"] == "Linux_X86_64"
    assert f["doc.created"] == datetime(2017, 3, 10, 8, 12, tzinfo=UTC)
    assert f["doc.created_tz_known"] is False
    assert "doc.created_offset" not in f
    assert f["doc.modified"] == datetime(2017, 3, 14, 9, 30, tzinfo=UTC)
    assert f["doc.modified_tz_known"] is False
    assert f["doc.printed"] == datetime(2017, 3, 13, 17, 2, tzinfo=UTC)
    assert f["doc.revision"] == 7
    assert f["doc.edit_time_s"] == 2 * 3600 + 15 * 60
    assert f["doc.page_count"] == 2
    assert f["doc.word_count"] == 312
    assert f["doc.char_count"] == 1874
    assert f["doc.languages"] == ("fr-FR", "ru-RU")
    assert f["odf.user_defined"] == (f"Service={ORGANISATION} / communication", "Relu=true")
    assert f["odf.annotation_authors"] == (FOREIGN_PEOPLE[0],)
    assert f["odf.change_authors"] == (PEOPLE[3],)
    assert f["links.external"] == (fx.MINUTES_IMAGE, fx.MINUTES_LINK)
    sample = f["text.sample"]
    assert isinstance(sample, str)
    assert sample.startswith(
        f"{fx.MINUTES_TITLE}\n{fx.MINUTES_TEXT}\nVoir  l'agenda\tet le plan.\n"
    )
    # Comments and deleted text are not body text; the header (styles.xml) comes last.
    assert "Проверить" not in sample and "supprimé" not in sample
    assert sample.endswith("Sommaire\nDocument interne")
    assert f["meta.scripts"] == ("Cyrillic", "Latin")
    assert f["meta.foreign_strings"] == (
        "doc.last_modified_by:Cyrillic",
        "odf.annotation_authors:Cyrillic",
    )
    assert record.raw["meta.xml:meta:generator"] == fx.LO_LINUX
    assert record.raw["meta.xml:dc:date"] == "2017-03-14T09:30:00.123000000"
    assert record.raw["meta.xml:meta:user-defined/Relu"] == "true"


def test_tableau_ods_zoned_dates_and_cells() -> None:
    record = _record(fx.tableau_ods(), "tableau.ods")
    assert record.mime == fx.ODS_MIME
    assert record.status is Status.OK
    f = record.fields
    assert f["doc.title"] == "Tableau des dépenses"
    assert f["doc.author"] == f["doc.last_modified_by"] == PEOPLE[3]
    assert (f["doc.application"], f["doc.app_version"]) == ("LibreOffice", "6.4.7.2")
    assert f["odf.platform"] == "Windows_X86_64"
    assert f["doc.created"] == datetime(2017, 2, 20, 15, 45, 10, tzinfo=UTC)
    assert f["doc.created_offset"] == "+01:00"
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == datetime(2017, 3, 1, 11, 5, tzinfo=UTC)
    assert f["doc.modified_offset"] == "+00:00"
    assert f["doc.revision"] == 12
    assert f["doc.edit_time_s"] == 86400 + 30 * 60 + 5
    assert f["text.sample"] == "Poste\nMontant\nSalles\n12500\nTransport\n8300"
    assert "doc.page_count" not in f


@pytest.mark.parametrize(
    ("generator", "expected"),
    [
        (fx.LO_LINUX, ("LibreOffice", "7.3.7.2", "Linux_X86_64")),
        (
            "OpenOffice.org/3.1$Unix OpenOffice.org_project/310m19$Build-9420",
            ("OpenOffice.org", "3.1", "Unix"),
        ),
        ("MicrosoftOffice/16.0 MicrosoftExcel/16.0.4266.1001", ("MicrosoftOffice", "16.0", None)),
        ("Riched20 10.0.19041", ("Riched20", "10.0.19041", None)),
        ("Google Docs", ("Google Docs", None, None)),
    ],
)
def test_split_generator(generator: str, expected: tuple[str, str | None, str | None]) -> None:
    assert odf.split_generator(generator) == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("PT2H15M", 8100),
        ("PT12H47M36S", 46056),
        ("P1DT0H30M5S", 88205),
        ("PT0S", 0),
        ("PT1.5S", 1),
        ("P", None),
        ("2 hours", None),
    ],
)
def test_duration_seconds(value: str, seconds: int | None) -> None:
    assert odf.duration_seconds(value) == seconds


def test_odf_entity_bomb_is_refused_and_body_kept() -> None:
    record = _record(fx.minutes_bomb_odt(), "minutes_bomb.odt")
    assert record.status is Status.PARTIAL
    assert [i.code for i in record.issues] == ["xml_unsafe"]
    assert "doc.title" not in record.fields
    assert record.fields["odf.annotation_authors"] == (FOREIGN_PEOPLE[0],)


def test_odf_bitflip_keeps_meta() -> None:
    record = _record(fx.minutes_bitflip_odt(), "minutes_bitflip.odt")
    assert record.status is Status.PARTIAL
    assert [i.code for i in record.issues] == ["corrupt"]
    assert "content.xml" in record.issues[0].message
    assert record.fields["doc.last_modified_by"] == FOREIGN_PEOPLE[1]


def test_odf_truncated_is_corrupt() -> None:
    data = fx.minutes_truncated_odt()
    with pytest.raises(CorruptFileError):
        odf.extract(_source(data, fx.ODT_MIME))
    record = _record(data, "minutes_truncated.odt")  # sniffed as a plain zip: no exception
    assert record.status in DECLARED


def test_odf_encrypted_keeps_clear_meta() -> None:
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
        "</manifest:file-entry></manifest:manifest>"
    )
    data = zip_bytes(
        [
            ("mimetype", fx.ODT_MIME.encode()),
            ("meta.xml", fx.minutes_meta().encode()),
            ("content.xml", b"\x8b\x01 not xml, ciphertext"),
            ("META-INF/manifest.xml", manifest.encode()),
        ]
    )
    with pytest.raises(EncryptedFileError) as caught:
        odf.extract(_source(data, fx.ODT_MIME))
    partial = caught.value.partial
    assert isinstance(partial, Extraction)
    assert partial.fields["doc.encrypted"] is True
    assert partial.fields["doc.author"] == PEOPLE[0]
    assert "text.sample" not in partial.fields


def test_odf_zip_bomb_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(odf, "BODY_BYTES", 1 << 20)
    paragraph = b"<text:p>" + b"a" * 1000 + b"</text:p>"
    content = (
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        + paragraph * 4000
        + b"</office:text></office:body></office:document-content>"
    )
    data = zip_bytes([("mimetype", fx.ODT_MIME.encode()), ("content.xml", content)])
    assert len(data) < 100_000
    out = odf.extract(_source(data, fx.ODT_MIME))
    assert [i.code for i in out.issues] == ["limit.part_size"]
    assert out.fields["text.sample"] == (("a" * 1000 + "\n") * 9)[:8192]


def test_flat_odf_goes_through_text_to_odf() -> None:
    flat = fx.minutes_meta().replace("office:document-meta", "office:document").encode()
    record = _record(flat, "minutes.fodt")
    assert record.mime == "application/xml"
    assert record.extractor == "text@1"
    assert record.fields["doc.author"] == PEOPLE[0]
    assert record.fields["doc.revision"] == 7


# --- RTF ------------------------------------------------------------------------------------


def test_lettre_rtf_info_group() -> None:
    record = _record(fx.lettre_rtf(), "lettre.rtf")
    assert record.mime == "text/rtf"
    assert record.status is Status.OK
    assert record.extractor == "rtf@1"
    f = record.fields
    assert f["doc.title"] == fx.LETTER_TITLE
    assert f["doc.subject"] == "Campagne 2017"
    assert f["doc.author"] == PEOPLE[1]
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[0]
    assert f["doc.keywords"] == "adhésion"
    assert f["doc.comments"] == "Modèle validé"
    assert f["doc.company"] == ORGANISATION
    assert f["doc.created"] == datetime(2017, 3, 13, 18, 5, tzinfo=UTC)
    assert f["doc.created_tz_known"] is False
    assert f["doc.modified"] == datetime(2017, 3, 14, 9, 30, 15, tzinfo=UTC)
    assert f["doc.modified_tz_known"] is False
    assert f["doc.printed"] == datetime(2017, 3, 14, 9, 45, tzinfo=UTC)
    assert f["doc.revision"] == 4
    assert f["doc.edit_time_s"] == 37 * 60
    assert (f["doc.page_count"], f["doc.word_count"], f["doc.char_count"]) == (1, 120, 700)
    assert f["rtf.internal_version"] == 57443
    assert f["doc.codepage"] == 1251
    assert f["doc.languages"] == ("fr-FR", "ru-RU")
    assert f["doc.application"] == "Microsoft Word"
    assert f["doc.app_version"] == "15.0"
    assert f["doc.template"] == (
        "C:\\Users\\georgi\\AppData\\Roaming\\Microsoft\\Templates\\Normal.dotm"
    )
    assert f["rtf.user_properties"] == ("Dossier=Adhésions", "Confidentiel=1")
    assert f["links.external"] == (fx.LETTER_UNC, fx.LETTER_PIXEL, fx.LETTER_LINK)
    assert f["rtf.field_codes"] == (
        f'INCLUDEPICTURE  "{fx.LETTER_PIXEL}" \\* MERGEFORMATINET \\d',
        'INCLUDETEXT "' + fx.LETTER_UNC.replace("\\", "\\\\") + '"',
    )
    assert f["text.sample"] == (
        f"{fx.LETTER_TEXT}\nInscrivez-vous sur notre site.\nEn-tête\nС уважением"
    )
    assert f["meta.foreign_strings"] == ("doc.last_modified_by:Cyrillic",)
    assert record.raw["info/operator"] == FOREIGN_PEOPLE[0]
    assert record.raw["info/creatim"] == "\\yr2017\\mo3\\dy13\\hr18\\min5"
    assert record.raw["rtf/ansicpg"] == "1251"


def test_rtf_unicode_escapes_and_surrogates() -> None:
    data = (
        b"{\\rtf1\\ansi\\ansicpg1252\\uc1{\\info{\\title Caf\\'e9 \\u-10179\\'3f\\u-8704\\'3f"
        b" \\uc2\\u1046\\'3f\\'3f}}\\pard Body\\par}"
    )
    out = rtf.extract(_source(data, "text/rtf"))
    assert out.fields["doc.title"] == "Café \U0001f600 Ж"
    assert out.fields["text.sample"] == "Body"
    assert out.issues == []


def test_rtf_mac_charsets_decode_in_mac_code_pages() -> None:
    roman = (
        b"{\\rtf1\\mac{\\info{\\title Proc\\'8fs-verbal \\'d0 \\'d2ok\\'d3}}"
        b"\\pard R\\'8esum\\'8e\\par}"
    )
    out = rtf.extract(_source(roman, "text/rtf"))
    assert out.fields["doc.title"] == "Procès-verbal – “ok”"
    assert out.fields["text.sample"] == "Résumé"
    japanese = b"{\\rtf1\\mac\\ansicpg10001{\\info{\\title \\'89\\'ef\\'8b\\'63 \\'fd}}}"
    out = rtf.extract(_source(japanese, "text/rtf"))
    assert out.fields["doc.codepage"] == 10001
    assert out.fields["doc.title"] == "会議 ©"


def test_rtf_hex_in_font_charset_and_bin_data() -> None:
    data = (
        b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}{\\f1\\fcharset204 Arial Cyr;}}"
        b"\\f0 caf\\'e9 {\\f1 \\'c4\\'e0}{\\*\\blob \\bin4 }}}}}{\\pict\\bin3 {{{} tail\\par}"
    )
    out = rtf.extract(_source(data, "text/rtf"))
    assert out.fields["text.sample"] == "café Да tail"


def test_rtf_truncated_is_partial() -> None:
    record = _record(fx.lettre_truncated_rtf(), "lettre_truncated.rtf")
    assert record.status is Status.PARTIAL
    assert [i.code for i in record.issues] == ["truncated"]
    assert record.fields["doc.last_modified_by"] == FOREIGN_PEOPLE[0]
    assert record.fields["links.external"] == (fx.LETTER_LINK,)


def test_rtf_nested_bomb_is_bounded() -> None:
    record = _record(fx.nested_bomb_rtf(), "nested_bomb.rtf")
    assert record.status is Status.PARTIAL
    assert [i.code for i in record.issues] == ["limit.depth"]


def test_rtf_wrong_format() -> None:
    with pytest.raises(ExtractionError):
        rtf.extract(_source(b"not rtf at all", "text/rtf"))


@pytest.mark.parametrize(("lcid", "tag"), [(1049, "ru-RU"), (1036, "fr-FR"), (9999, "lcid:9999")])
def test_lcid_tags(lcid: int, tag: str) -> None:
    assert rtf.lcid_tag(lcid) == tag


# --- HTML -----------------------------------------------------------------------------------


def test_newsletter_html_meta_pixel_and_links() -> None:
    record = _record(fx.newsletter_html(), "newsletter.html")
    assert record.mime == "text/html"
    assert record.status is Status.OK
    assert record.extractor == "html@1"
    f = record.fields
    assert f["doc.title"] == fx.NEWS_TITLE
    assert f["doc.application"] == "CampagneMailer 3.2"
    assert f["doc.author"] == PEOPLE[4]
    assert f["doc.comments"] == "Lettre mensuelle aux sympathisants"
    assert f["doc.keywords"] == "campagne, tournée, agenda"
    assert f["doc.languages"] == ("fr",)
    assert f["doc.codepage"] == 65001
    assert f["html.tracking_pixels"] == (fx.PIXEL,)
    assert f["html.remote_images"] == (fx.PIXEL,)
    assert f["links.external"] == (
        fx.PIXEL,
        "https://cdn.mailer.example/css/news.css",
        "https://cdn.mailer.example/img/bandeau.jpg",
        "https://en-avant-ensemble.example/agenda",
        "https://forms.mailer.example/reponse",
        "https://stats.mailer.example/t.js",
    )
    assert f["text.sample"] == (f"{fx.NEWS_TITLE}\n{fx.NEWS_TEXT}\nAgenda —\nse désinscrire")
    assert record.raw["meta/generator"] == "CampagneMailer 3.2"


def test_word_html_office_properties_in_cp1251() -> None:
    record = _record(fx.communique_htm(), "communique.htm")
    assert record.status is Status.OK
    f = record.fields
    assert f["doc.title"] == "Communiqué de presse"
    assert f["doc.application"] == "Microsoft Word 15"
    assert f["doc.app_version"] == "15.00"
    assert f["doc.author"] == PEOPLE[2]
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[1]
    assert f["doc.company"] == ORGANISATION
    assert f["doc.revision"] == 3
    assert f["doc.edit_time_s"] == 42 * 60
    assert f["doc.created"] == datetime(2017, 3, 12, 20, 15, tzinfo=UTC)
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == datetime(2017, 3, 14, 8, 2, tzinfo=UTC)
    assert (f["doc.page_count"], f["doc.word_count"], f["doc.char_count"]) == (1, 85, 485)
    assert f["doc.codepage"] == 1251
    assert f["doc.languages"] == ("fr", "ru")
    assert f["html.tracking_pixels"] == ("file://fs01.corp.example/images/blank.gif",)
    assert f["text.sample"] == "Le mouvement annonce une réunion publique.\n1.Contact presse."
    assert record.raw["o:DocumentProperties/LastAuthor"] == FOREIGN_PEOPLE[1]


def test_html_unclosed_head_and_hostile_markup() -> None:
    page = (
        b"<html><head><title>T</title><body><p>Visible<script>hidden()</script>"
        b"<![bogus[ x ]]><img src=//cdn.example/x.gif style='width:1px;height:1px'>"
        b"<a href='\\\\host\\share\\doc.docx'>unc</a>"
    )
    out = html.extract(_source(page, "text/html"))
    assert out.fields["doc.title"] == "T"
    assert out.fields["html.tracking_pixels"] == ("//cdn.example/x.gif",)
    assert out.fields["links.external"] == ("//cdn.example/x.gif", "\\\\host\\share\\doc.docx")
    assert str(out.fields["text.sample"]).startswith("Visible")


def test_html_links_past_the_parse_limit_are_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "PARSE_CHARS", 200)
    page = b"<title>Long</title><p>" + b"x " * 500 + b'<img src="https://late.example/p.gif">'
    out = html.extract(_source(page, "text/html"))
    assert out.fields["doc.title"] == "Long"
    assert out.fields["links.external"] == ("https://late.example/p.gif",)
    assert "html.remote_images" not in out.fields
    assert out.issues == []


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codepage"),
    [("notes.txt", 65001), ("notes_cp1252.txt", 1252), ("notes_utf16.txt", 1200)],
)
def test_notes_in_three_encodings(name: str, codepage: int) -> None:
    record = _record(fx.FIXTURES[name](), name)
    assert record.status is Status.OK
    assert record.extractor == "text@1"
    assert record.fields["doc.codepage"] == codepage
    assert record.fields["text.sample"] == fx.NOTES_TEXT.strip()
    assert record.fields["links.external"] == (fx.NOTES_UNC, fx.NOTES_URL)
    assert record.fields["text.language"] == "fr"


def test_russian_notes_in_cp1251() -> None:
    record = _record(fx.notes_ru_txt(), "notes_ru.txt")
    assert record.fields["doc.codepage"] == 1251
    assert record.fields["text.sample"] == fx.NOTES_RU.strip()
    assert record.fields["text.language"] == "ru"
    assert "links.external" not in record.fields


@pytest.mark.parametrize(
    ("data", "codec"),
    [
        ("Привет, как дела? Всё хорошо.".encode("koi8-r"), "koi8-r"),
        ("Привет, как дела? Всё хорошо.".encode("cp1251"), "cp1251"),
        ("Привет, как дела? Всё хорошо.".encode("iso8859-5"), "iso8859-5"),
        ("<p class='x'>Бюджет кампании</p>".encode("cp1251") * 3, "cp1251"),
        ("日本語のテキストです。".encode("euc-jp"), "cp1252"),
        ("Élysée, réunion à Paris.".encode("cp1252"), "cp1252"),
        ("Hello".encode("utf-16-be"), "utf-16-be"),
        ("café".encode()[:-1], "cp1252"),
        (b"a" * (_encoding.PROBE_BYTES - 1) + "é".encode(), "utf-8"),
    ],
)
def test_guess_encoding(data: bytes, codec: str) -> None:
    assert _encoding.guess_encoding(data)[0] == codec


def test_ascii_text_has_no_codepage_and_xml_namespaces_are_not_links() -> None:
    xml = (
        b'<?xml version="1.0"?><root xmlns="http://www.example.org/ns" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:schemaLocation="http://www.example.org/ns http://www.example.org/ns.xsd">'
        b"<link>https://files.example/report.pdf</link></root>"
    )
    out = text.extract(_source(xml, "application/xml"))
    assert out.fields["links.external"] == ("https://files.example/report.pdf",)
    assert "doc.codepage" not in out.fields


# --- hostile input: only declared outcomes ---------------------------------------------------

_SEEDS = {
    "minutes.odt": fx.minutes_odt(),
    "lettre.rtf": fx.lettre_rtf(),
    "newsletter.html": fx.newsletter_html(),
    "communique.htm": fx.communique_htm(),
    "notes.txt": fx.notes_txt(),
}
_MIMES = {
    "minutes.odt": fx.ODT_MIME,
    "lettre.rtf": "text/rtf",
    "newsletter.html": "text/html",
    "communique.htm": "text/html",
    "notes.txt": "text/plain",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(_SEEDS)),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=6),
)
def test_damaged_files_give_declared_outcomes(
    name: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(_SEEDS[name][: max(1, int(len(_SEEDS[name]) * cut))])
    for where, mask in flips:
        data[min(len(data) - 1, int(len(data) * where))] ^= mask
    extractor = for_mime(_MIMES[name])
    assert extractor is not None
    try:
        out = extractor.function(_source(bytes(data), _MIMES[name], name))
    except ExtractionError:
        return
    assert out.status in DECLARED
    for value in out.fields.values():
        assert value is not None


def test_zip_member_names_are_odf_standard() -> None:
    with zipfile.ZipFile(io.BytesIO(fx.minutes_odt())) as archive:
        first = archive.infolist()[0]
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
