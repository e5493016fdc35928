"""OOXML fixtures (docx, xlsx, pptx) from hand-written XML parts, zipped with fixed DOS times.

Office writes every zip entry with the DOS time 1980-01-01 00:00 and ``[Content_Types].xml``
first; the genuine-looking fixtures do the same. ``budget_ru.xlsx`` carries a real local time
on its entries, the trace of a repack by another tool (three hours ahead of its UTC
``modified``: a Moscow-time machine). Everything planted here is asserted by
``tests/extractors/test_ooxml.py``.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from corpus_fixtures import EPOCH, FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders.archive import zip_bytes

OFFICE_DOS_TIME = (1980, 1, 1, 0, 0, 0)
"""The fixed time Office stamps on every entry of a package it saves."""
REPACK_DOS_TIME = (2017, 3, 14, 12, 41, 6)
"""Local wall-clock time of a repacking tool on a UTC+3 machine (modified is 09:41:06Z)."""

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
CT_PREFIX = "application/vnd.openxmlformats-officedocument."

Part = tuple[str, bytes]


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


CREATED = EPOCH - timedelta(days=4, hours=1, minutes=18)
"""2017-03-10T08:12:00Z."""
PRINTED = EPOCH - timedelta(hours=16, minutes=28)
"""2017-03-13T17:02:00Z."""
RU_MODIFIED = EPOCH + timedelta(minutes=11, seconds=6)
"""2017-03-14T09:41:06Z: the last save of the Russian-side files."""


def _xml(body: str) -> bytes:
    return (DECL + body).encode("utf-8")


def _content_types(overrides: Iterable[tuple[str, str]], extra_defaults: str = "") -> bytes:
    items = "".join(
        f'<Override PartName="{name}" ContentType="{ctype}"/>' for name, ctype in overrides
    )
    return _xml(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{extra_defaults}{items}</Types>"
    )


def _rels(items: Iterable[tuple[str, str, str, bool]]) -> bytes:
    """A relationships part from ``(id, type, target, external)``."""
    body = "".join(
        f'<Relationship Id="{rid}" Type="{rtype}" Target={quoteattr(target)}'
        + (' TargetMode="External"' if external else "")
        + "/>"
        for rid, rtype, target, external in items
    )
    return _xml(
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{body}</Relationships>"
    )


def _package_rels(main: str, thumbnail: str | None = None, custom: bool = False) -> bytes:
    items = [
        ("rId3", REL + "extended-properties", "docProps/app.xml", False),
        ("rId2", PKG_REL + "core-properties", "docProps/core.xml", False),
        ("rId1", REL + "officeDocument", main, False),
    ]
    if thumbnail:
        items.append(("rId4", PKG_REL + "thumbnail", thumbnail, False))
    if custom:
        items.append(("rId5", REL + "custom-properties", "docProps/custom.xml", False))
    return _rels(items)


def _core(
    title: str,
    author: str,
    last_by: str,
    created: datetime,
    modified: datetime,
    extra: str = "",
) -> bytes:
    return _xml(
        "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title>"
        f"<dc:creator>{escape(author)}</dc:creator>"
        f"<cp:lastModifiedBy>{escape(last_by)}</cp:lastModifiedBy>"
        f"{extra}"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_iso(created)}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_iso(modified)}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _vector(items: Iterable[tuple[str, str]]) -> str:
    """A vt:vector of variants or strings from ``(vt type, value)`` pairs."""
    values = list(items)
    if all(kind == "lpstr" for kind, _ in values):
        inner = "".join(f"<vt:lpstr>{escape(v)}</vt:lpstr>" for _, v in values)
        return f'<vt:vector size="{len(values)}" baseType="lpstr">{inner}</vt:vector>'
    inner = "".join(f"<vt:variant><vt:{k}>{escape(v)}</vt:{k}></vt:variant>" for k, v in values)
    return f'<vt:vector size="{len(values)}" baseType="variant">{inner}</vt:vector>'


def _app(
    elements: str, heading_pairs: Iterable[tuple[str, int]], titles: Iterable[str], tail: str
) -> bytes:
    pairs = [
        item for label, count in heading_pairs for item in (("lpstr", label), ("i4", str(count)))
    ]
    return _xml(
        "<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{elements}<HeadingPairs>{_vector(pairs)}</HeadingPairs>"
        f"<TitlesOfParts>{_vector(('lpstr', t) for t in titles)}</TitlesOfParts>"
        f"{tail}</Properties>"
    )


def _custom(properties: Iterable[tuple[str, str]]) -> bytes:
    body = "".join(
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" '
        f"pid={quoteattr(str(pid))} name={quoteattr(name)}><vt:lpwstr>{escape(value)}</vt:lpwstr>"
        "</property>"
        for pid, (name, value) in enumerate(properties, start=2)
    )
    return _xml(
        "<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{body}</Properties>"
    )


# --- Word ---------------------------------------------------------------------------------------

WORD_NAMESPACES = (
    f'xmlns:w="{W_NS}" xmlns:r="{R_NS}" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml"'
)
MEMO_RSIDS = ("0019E4A2", "003B71C5", "00A1B2C3", "00C4D9F0", "00F2A611")
MEMO_RSID_ROOT = "00A1B2C3"
MEMO_DOC_ID = "{6F1C2A9E-3B4D-4E5F-8A7B-1C2D3E4F5A6B}"
REMOTE_TEMPLATE = "http://templates.example-cdn.net/t/normal.dotm"
UNC_PICTURE = "\\\\fileserver01\\share\\logo.png"
"""The UNC path as Windows writes it: ``\\\\fileserver01\\share\\logo.png``."""
INCLUDEPICTURE_CODE = (
    'INCLUDEPICTURE "' + UNC_PICTURE.replace("\\", "\\\\") + '" \\* MERGEFORMATINET \\d'
)
"""The field code as Word stores it, with every backslash of the path doubled."""
AGENDA_URL = "https://en-avant-ensemble.example/agenda"
MEMO_PARAGRAPHS = (
    "Objet : calendrier des déplacements du mois d'avril.",
    "Les réunions publiques de Lyon et de Marseille sont confirmées.",
    "Merci de transmettre vos disponibilités avant vendredi.",
)


def _run(text: str, lang: str | None = None, rsid: str = "00A1B2C3") -> str:
    props = f'<w:rPr><w:lang w:val="{lang}"/></w:rPr>' if lang else ""
    return f'<w:r w:rsidR="{rsid}">{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _paragraph(*runs: str, rsid: str = "00A1B2C3") -> str:
    return f'<w:p w:rsidR="{rsid}" w:rsidRDefault="{rsid}">{"".join(runs)}</w:p>'


def _document(paragraphs: Iterable[str]) -> bytes:
    return _xml(
        f"<w:document {WORD_NAMESPACES}><w:body>{''.join(paragraphs)}"
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    )


def _styles(lang: str) -> bytes:
    return _xml(
        f"<w:styles {WORD_NAMESPACES}><w:docDefaults><w:rPrDefault><w:rPr>"
        f'<w:lang w:val="{lang}" w:eastAsia="en-US" w:bidi="ar-SA"/>'
        "</w:rPr></w:rPrDefault></w:docDefaults>"
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal">'
        '<w:name w:val="Normal"/></w:style></w:styles>'
    )


def _settings(rsid_root: str, rsids: Iterable[str], doc_id: str, extra: str = "") -> bytes:
    items = "".join(f'<w:rsid w:val="{value}"/>' for value in rsids)
    return _xml(
        f'<w:settings {WORD_NAMESPACES}><w:zoom w:percent="100"/>{extra}'
        '<w:defaultTabStop w:val="708"/>'
        f'<w:rsids><w:rsidRoot w:val="{rsid_root}"/>{items}</w:rsids>'
        '<w:themeFontLang w:val="fr-FR"/>'
        f'<w14:docId w14:val="5E0C1A77"/><w15:docId w15:val="{doc_id}"/></w:settings>'
    )


def _word_content_types(extra: Iterable[str] = (), custom: bool = False) -> bytes:
    wml = CT_PREFIX + "wordprocessingml."
    overrides = [
        ("/word/document.xml", wml + "document.main+xml"),
        ("/word/styles.xml", wml + "styles+xml"),
        ("/word/settings.xml", wml + "settings+xml"),
    ]
    overrides += [(f"/word/{name}.xml", f"{wml}{name}+xml") for name in extra]
    overrides += [
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/docProps/app.xml", CT_PREFIX + "extended-properties+xml"),
    ]
    if custom:
        overrides.append(("/docProps/custom.xml", CT_PREFIX + "custom-properties+xml"))
    return _content_types(overrides)


def _word_app(template: str, total_time: int, words: int, characters: int, title: str) -> bytes:
    return _app(
        f"<Template>{template}</Template><TotalTime>{total_time}</TotalTime><Pages>1</Pages>"
        f"<Words>{words}</Words><Characters>{characters}</Characters>"
        "<Application>Microsoft Office Word</Application><DocSecurity>0</DocSecurity>"
        "<Lines>3</Lines><Paragraphs>1</Paragraphs><ScaleCrop>false</ScaleCrop>",
        [("Titre", 1)],
        [title],
        f"<Company>{escape(ORGANISATION)}</Company><LinksUpToDate>false</LinksUpToDate>"
        "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
        "<AppVersion>16.0000</AppVersion>",
    )


MEMO_TITLE = "Note interne : calendrier des déplacements"


def memo_parts() -> list[Part]:
    """The parts of ``memo.docx``, in the order Word writes them."""
    paragraphs = [
        _paragraph(_run(text, "fr-FR", rsid), rsid=rsid)
        for text, rsid in zip(MEMO_PARAGRAPHS, ("00A1B2C3", "003B71C5", "00F2A611"), strict=True)
    ]
    core_extra = (
        f"<cp:keywords>campagne; agenda</cp:keywords>"
        f"<dc:description>Version de travail</dc:description>"
        f"<dc:subject>Déplacements d'avril</dc:subject>"
        f"<cp:category>Note</cp:category><cp:revision>4</cp:revision>"
        f"<cp:lastPrinted>{_iso(PRINTED)}</cp:lastPrinted>"
        "<dc:language>fr-FR</dc:language>"
    )
    return [
        ("[Content_Types].xml", _word_content_types(custom=True)),
        ("_rels/.rels", _package_rels("word/document.xml", custom=True)),
        ("word/document.xml", _document(paragraphs)),
        (
            "word/_rels/document.xml.rels",
            _rels(
                [
                    ("rId1", REL + "styles", "styles.xml", False),
                    ("rId2", REL + "settings", "settings.xml", False),
                ]
            ),
        ),
        ("word/settings.xml", _settings(MEMO_RSID_ROOT, MEMO_RSIDS, MEMO_DOC_ID)),
        ("word/styles.xml", _styles("fr-FR")),
        ("docProps/core.xml", _core(MEMO_TITLE, PEOPLE[0], PEOPLE[1], CREATED, EPOCH, core_extra)),
        ("docProps/app.xml", _word_app("Normal.dotm", 47, 112, 640, MEMO_TITLE)),
        (
            "docProps/custom.xml",
            _custom([("Dossier", "Agenda 2017"), ("Confidentialité", "Interne")]),
        ),
    ]


def memo_docx() -> bytes:
    """A genuine-looking French memo saved by Word 2016 on the campaign's machines."""
    return zip_bytes(memo_parts(), date_time=OFFICE_DOS_TIME, create_system=0)


def _complex_field(code_pieces: Iterable[str], result: str) -> str:
    instr = "".join(
        f'<w:r><w:instrText xml:space="preserve">{escape(piece)}</w:instrText></w:r>'
        for piece in code_pieces
    )
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'{instr}<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        f"<w:r><w:t>{escape(result)}</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


REMOTE_TITLE = "Note interne : calendrier (révisé)"
PEOPLE_AD_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def memo_remote_template_docx() -> bytes:
    """The memo re-saved on a Russian-language machine: a remote template, a UNC picture
    field, ru-RU proofing language, a tracked change and a comment."""
    half = len(INCLUDEPICTURE_CODE) // 2
    body = [
        _paragraph(_run(MEMO_PARAGRAPHS[0], "fr-FR")),
        _paragraph(
            _run("Les réunions publiques de Lyon et de Marseille sont ", "fr-FR"),
            f'<w:del w:id="1" w:author="{FOREIGN_PEOPLE[1]}" w:date="2017-03-14T12:38:00Z">'
            '<w:r><w:delText xml:space="preserve">confirmées</w:delText></w:r></w:del>'
            f'<w:ins w:id="2" w:author="{FOREIGN_PEOPLE[1]}" w:date="2017-03-14T12:38:00Z">'
            + _run("annulées", "ru-RU", "00D0E1F2")
            + "</w:ins>"
            + _run(".", "fr-FR"),
        ),
        _paragraph(
            '<w:commentRangeStart w:id="0"/>',
            _run("Merci de transmettre vos disponibilités avant vendredi.", "fr-FR"),
            '<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>',
        ),
        _paragraph(
            _complex_field([" " + INCLUDEPICTURE_CODE[:half], INCLUDEPICTURE_CODE[half:] + " "], "")
        ),
        _paragraph(
            f'<w:fldSimple w:instr=" HYPERLINK &quot;{AGENDA_URL}&quot; ">'
            + _run("Agenda en ligne")
            + "</w:fldSimple>"
        ),
    ]
    comments = _xml(
        f"<w:comments {WORD_NAMESPACES}>"
        f'<w:comment w:id="0" w:author="{PEOPLE[3]}" w:date="2017-03-13T16:20:00Z" w:initials="MV">'
        + _paragraph(_run("À vérifier avec la préfecture."))
        + "</w:comment></w:comments>"
    )
    people = _xml(
        f"<w15:people {WORD_NAMESPACES}>"
        f'<w15:person w15:author="{FOREIGN_PEOPLE[1]}">'
        f'<w15:presenceInfo w15:providerId="None" w15:userId="{FOREIGN_PEOPLE[1]}"/></w15:person>'
        f'<w15:person w15:author="{PEOPLE[3]}">'
        f'<w15:presenceInfo w15:providerId="AD" w15:userId="{PEOPLE_AD_SID}"/></w15:person>'
        "</w15:people>"
    )
    parts = [
        ("[Content_Types].xml", _word_content_types(["comments", "people"])),
        ("_rels/.rels", _package_rels("word/document.xml")),
        ("word/document.xml", _document(body)),
        (
            "word/_rels/document.xml.rels",
            _rels(
                [
                    ("rId1", REL + "styles", "styles.xml", False),
                    ("rId2", REL + "settings", "settings.xml", False),
                    ("rId3", REL + "comments", "comments.xml", False),
                    (
                        "rId4",
                        "http://schemas.microsoft.com/office/2011/relationships/people",
                        "people.xml",
                        False,
                    ),
                ]
            ),
        ),
        (
            "word/settings.xml",
            _settings(
                MEMO_RSID_ROOT,
                (*MEMO_RSIDS, "00D0E1F2"),
                MEMO_DOC_ID,
                '<w:attachedTemplate r:id="rId1"/>',
            ),
        ),
        (
            "word/_rels/settings.xml.rels",
            _rels([("rId1", REL + "attachedTemplate", REMOTE_TEMPLATE, True)]),
        ),
        ("word/styles.xml", _styles("fr-FR")),
        ("word/comments.xml", comments),
        ("word/people.xml", people),
        (
            "docProps/core.xml",
            _core(
                REMOTE_TITLE,
                PEOPLE[0],
                FOREIGN_PEOPLE[0],
                CREATED,
                RU_MODIFIED,
                "<cp:revision>5</cp:revision>",
            ),
        ),
        ("docProps/app.xml", _word_app("normal.dotm", 52, 118, 671, REMOTE_TITLE)),
    ]
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>\n"
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:creator>&lol9;</dc:creator></cp:coreProperties>"
)
"""A core.xml whose creator expands to a billion "lol"s if entities are honoured."""


def bomb_core_docx() -> bytes:
    """The memo with a billion-laughs core.xml: must be refused, the rest still read."""
    parts = [
        (name, BILLION_LAUGHS.encode("ascii") if name == "docProps/core.xml" else data)
        for name, data in memo_parts()
    ]
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


def memo_bitflip_docx() -> bytes:
    """The memo with bytes of word/document.xml's compressed data inverted at fixed offsets:
    the document part fails its CRC or inflate, the properties stay readable."""
    data = bytearray(memo_docx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 40, start + 48):
        data[offset] ^= 0xFF
    return bytes(data)


def memo_truncated_docx() -> bytes:
    """The first 60% of the memo: the zip's central directory is gone."""
    data = memo_docx()
    return data[: len(data) * 3 // 5]


# --- Excel --------------------------------------------------------------------------------------

SML_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
ABS_PATH = "C:\\Users\\asokolova\\Documents\\"
"""x15ac:absPath of the invented Russian-side user (Windows writes a trailing backslash)."""
BUDGET_SHEETS = ("Budget", "Dépenses")
SHARED_STRINGS = ("Poste", "Montant", "Déplacements", "Location de salles", "Total")
INLINE_STRING = "Réserve imprévus"


def _sheet(rows: str) -> bytes:
    return _xml(
        f'<worksheet xmlns="{SML_NS}" xmlns:r="{R_NS}"><sheetData>{rows}</sheetData></worksheet>'
    )


def budget_ru_xlsx() -> bytes:
    """A French budget last saved by a Russian Excel (Листы) and repacked by another tool."""
    sml = CT_PREFIX + "spreadsheetml."
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in SHARED_STRINGS)
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>48500</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>21000</v></c></row>'
        '<row r="4"><c r="A4" t="s"><v>4</v></c><c r="B4"><f>SUM(B2:B3)</f><v>69500</v></c></row>'
    )
    inline = (
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{escape(INLINE_STRING)}</t></is></c>'
        '<c r="B1"><v>5000</v></c></row>'
    )
    workbook = _xml(
        f'<workbook xmlns="{SML_NS}" xmlns:r="{R_NS}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac" '
        'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
        'mc:Ignorable="x15ac xr">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="18129"/>'
        '<workbookPr defaultThemeVersion="164011"/>'
        '<mc:AlternateContent><mc:Choice Requires="x15">'
        f"<x15ac:absPath url={quoteattr(ABS_PATH)}/></mc:Choice></mc:AlternateContent>"
        '<xr:revisionPtr revIDLastSave="0" documentId="8_{1D3C9A52-7E4B-4C1F-9F0E-2B6A5D8C4E31}"/>'
        '<bookViews><workbookView xWindow="0" yWindow="0" windowWidth="28800" '
        'windowHeight="12300"/></bookViews><sheets>'
        f'<sheet name="{BUDGET_SHEETS[0]}" sheetId="1" r:id="rId1"/>'
        f'<sheet name="{BUDGET_SHEETS[1]}" sheetId="2" r:id="rId2"/>'
        "</sheets></workbook>"
    )
    parts = [
        (
            "[Content_Types].xml",
            _content_types(
                [
                    ("/xl/workbook.xml", sml + "sheet.main+xml"),
                    ("/xl/worksheets/sheet1.xml", sml + "worksheet+xml"),
                    ("/xl/worksheets/sheet2.xml", sml + "worksheet+xml"),
                    ("/xl/sharedStrings.xml", sml + "sharedStrings+xml"),
                    (
                        "/docProps/core.xml",
                        "application/vnd.openxmlformats-package.core-properties+xml",
                    ),
                    ("/docProps/app.xml", CT_PREFIX + "extended-properties+xml"),
                ]
            ),
        ),
        ("_rels/.rels", _package_rels("xl/workbook.xml")),
        (
            "xl/_rels/workbook.xml.rels",
            _rels(
                [
                    ("rId1", REL + "worksheet", "worksheets/sheet1.xml", False),
                    ("rId2", REL + "worksheet", "worksheets/sheet2.xml", False),
                    ("rId3", REL + "sharedStrings", "sharedStrings.xml", False),
                ]
            ),
        ),
        ("xl/workbook.xml", workbook),
        ("xl/worksheets/sheet1.xml", _sheet(rows)),
        ("xl/worksheets/sheet2.xml", _sheet(inline)),
        (
            "xl/sharedStrings.xml",
            _xml(
                f'<sst xmlns="{SML_NS}" count="{len(SHARED_STRINGS)}" '
                f'uniqueCount="{len(SHARED_STRINGS)}">{shared}</sst>'
            ),
        ),
        (
            "docProps/core.xml",
            _core("Budget prévisionnel", PEOPLE[4], FOREIGN_PEOPLE[1], CREATED, RU_MODIFIED),
        ),
        (
            "docProps/app.xml",
            _app(
                "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>"
                "<ScaleCrop>false</ScaleCrop>",
                [("Листы", 2)],
                BUDGET_SHEETS,
                f"<Company>{escape(ORGANISATION)}</Company><LinksUpToDate>false</LinksUpToDate>"
                "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
                "<AppVersion>16.0300</AppVersion>",
            ),
        ),
    ]
    return zip_bytes(parts, date_time=REPACK_DOS_TIME)


Cell = str | int | float
"""A worksheet cell: a string (stored as a shared string) or a figure (stored in ``<v>``)."""


def workbook_xlsx(
    sheets: Iterable[tuple[str, Iterable[Iterable[Cell]]]],
    *,
    title: str,
    author: str,
    last_by: str,
    created: datetime,
    modified: datetime,
    sheet_label: str = "Feuilles de calcul",
    app_version: str = "16.0300",
    reverse_parts: bool = False,
    dos_time: tuple[int, int, int, int, int, int] = OFFICE_DOS_TIME,
    create_system: int = 0,
) -> bytes:
    """An Excel workbook with figures in its cells, saved by an Excel whose interface names
    its sheets ``sheet_label`` (Feuilles de calcul: French; Листы: Russian).

    ``reverse_parts`` stores the first listed sheet as the last part (the reading order is the
    workbook's, not the part names').
    """
    sml = CT_PREFIX + "spreadsheetml."
    listed = list(sheets)
    strings: dict[str, int] = {}
    parts_xml = []
    for _name, rows in listed:
        body = []
        for r, row in enumerate(rows, 1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{chr(ord('A') + c)}{r}"
                if isinstance(value, str):
                    index = strings.setdefault(value, len(strings))
                    cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            body.append(f'<row r="{r}">{"".join(cells)}</row>')
        parts_xml.append(_sheet("".join(body)))
    count = len(listed)
    numbers = list(range(count, 0, -1)) if reverse_parts else list(range(1, count + 1))
    sheet_refs = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _rows) in enumerate(listed, 1)
    )
    workbook = _xml(
        f'<workbook xmlns="{SML_NS}" xmlns:r="{R_NS}">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="18129"/>'
        f"<sheets>{sheet_refs}</sheets></workbook>"
    )
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts = [
        (
            "[Content_Types].xml",
            _content_types(
                [
                    ("/xl/workbook.xml", sml + "sheet.main+xml"),
                    *((f"/xl/worksheets/sheet{n}.xml", sml + "worksheet+xml") for n in numbers),
                    ("/xl/sharedStrings.xml", sml + "sharedStrings+xml"),
                    (
                        "/docProps/core.xml",
                        "application/vnd.openxmlformats-package.core-properties+xml",
                    ),
                    ("/docProps/app.xml", CT_PREFIX + "extended-properties+xml"),
                ]
            ),
        ),
        ("_rels/.rels", _package_rels("xl/workbook.xml")),
        (
            "xl/_rels/workbook.xml.rels",
            _rels(
                [
                    *(
                        (f"rId{i}", REL + "worksheet", f"worksheets/sheet{n}.xml", False)
                        for i, n in enumerate(numbers, 1)
                    ),
                    (f"rId{count + 1}", REL + "sharedStrings", "sharedStrings.xml", False),
                ]
            ),
        ),
        ("xl/workbook.xml", workbook),
        *sorted(
            (f"xl/worksheets/sheet{n}.xml", xml) for n, xml in zip(numbers, parts_xml, strict=True)
        ),
        (
            "xl/sharedStrings.xml",
            _xml(
                f'<sst xmlns="{SML_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">'
                f"{shared}</sst>"
            ),
        ),
        ("docProps/core.xml", _core(title, author, last_by, created, modified)),
        (
            "docProps/app.xml",
            _app(
                "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>"
                "<ScaleCrop>false</ScaleCrop>",
                [(sheet_label, count)],
                [name for name, _rows in listed],
                f"<Company>{escape(ORGANISATION)}</Company><LinksUpToDate>false</LinksUpToDate>"
                "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
                f"<AppVersion>{app_version}</AppVersion>",
            ),
        ),
    ]
    return zip_bytes(parts, date_time=dos_time, create_system=create_system)


def letter_docx(
    paragraphs: Iterable[str],
    *,
    title: str,
    author: str,
    last_by: str,
    created: datetime,
    modified: datetime,
    rsid_root: str,
    rsids: Iterable[str],
    doc_id: str,
    template: str = "Normal.dotm",
    lang: str = "fr-FR",
) -> bytes:
    """A Word 2016 document with its lineage given: creation time, rsid root and session ids,
    w15:docId and the template it was made from (a new document from one template gets its
    own creation time, rsid root and docId; a copy keeps them)."""
    texts = list(paragraphs)
    sessions = tuple(rsids)
    body = [_paragraph(_run(text, lang, sessions[0]), rsid=sessions[0]) for text in texts]
    parts = [
        ("[Content_Types].xml", _word_content_types()),
        ("_rels/.rels", _package_rels("word/document.xml")),
        ("word/document.xml", _document(body)),
        (
            "word/_rels/document.xml.rels",
            _rels(
                [
                    ("rId1", REL + "styles", "styles.xml", False),
                    ("rId2", REL + "settings", "settings.xml", False),
                ]
            ),
        ),
        ("word/settings.xml", _settings(rsid_root, sessions, doc_id)),
        ("word/styles.xml", _styles(lang)),
        ("docProps/core.xml", _core(title, author, last_by, created, modified)),
        (
            "docProps/app.xml",
            _word_app(
                template,
                12,
                sum(len(t.split()) for t in texts),
                sum(len(t) for t in texts),
                title,
            ),
        ),
    ]
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


# --- PowerPoint ---------------------------------------------------------------------------------

P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
SLIDES = (
    ("Stratégie numérique", "Mobiliser les comités locaux"),
    ("Calendrier", "Trois meetings avant le premier tour"),
)
PROGRAMME_URL = "https://en-avant-ensemble.example/programme"
SLIDE_IMAGE_PATH = "C:\\Users\\mvasseur\\Pictures\\affiche_meeting.jpg"
"""Original path of a picture, as PowerPoint keeps it in the picture's description."""


def _slide(title: str, body: str, extra: str = "") -> bytes:
    def shape(shape_id: int, name: str, text: str) -> str:
        return (
            f'<p:sp><p:nvSpPr><p:cNvPr id="{shape_id}" name="{name}"/><p:cNvSpPr/><p:nvPr/>'
            "</p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r>"
            f'<a:rPr lang="fr-FR" altLang="en-US" dirty="0"/><a:t>{escape(text)}</a:t>'
            "</a:r></a:p></p:txBody></p:sp>"
        )

    return _xml(
        f'<p:sld xmlns:a="{A_NS}" xmlns:r="{R_NS}" xmlns:p="{P_NS}"><p:cSld><p:spTree>'
        '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
        f"<p:grpSpPr/>{shape(2, 'Titre 1', title)}{shape(3, 'Contenu 2', body)}{extra}"
        "</p:spTree></p:cSld></p:sld>"
    )


def _thumbnail() -> bytes:
    """A tiny JPEG standing for the first-slide preview PowerPoint stores."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 9), (31, 73, 125)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def slides_pptx() -> bytes:
    """A two-slide French deck with a thumbnail, a comment and an external hyperlink."""
    pml = CT_PREFIX + "presentationml."
    picture = (
        '<p:pic><p:nvPicPr><p:cNvPr id="4" name="Image 3" '
        f"descr={quoteattr(SLIDE_IMAGE_PATH)}>"
        f'<a:hlinkClick r:id="rId2"/></p:cNvPr><p:cNvPicPr/><p:nvPr/></p:nvPicPr>'
        "<p:blipFill/><p:spPr/></p:pic>"
    )
    presentation = _xml(
        f'<p:presentation xmlns:a="{A_NS}" xmlns:r="{R_NS}" xmlns:p="{P_NS}" saveSubsetFonts="1">'
        '<p:sldIdLst><p:sldId id="256" r:id="rId2"/><p:sldId id="257" r:id="rId3"/></p:sldIdLst>'
        '<p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>'
        "</p:presentation>"
    )
    comment_authors = _xml(
        f'<p:cmAuthorLst xmlns:a="{A_NS}" xmlns:r="{R_NS}" xmlns:p="{P_NS}">'
        f'<p:cmAuthor id="1" name="{PEOPLE[0]}" initials="CD" lastIdx="1" clrIdx="0"/>'
        "</p:cmAuthorLst>"
    )
    comments = _xml(
        f'<p:cmLst xmlns:a="{A_NS}" xmlns:r="{R_NS}" xmlns:p="{P_NS}">'
        '<p:cm authorId="1" dt="2017-03-13T18:05:11.000" idx="1"><p:pos x="10" y="10"/>'
        "<p:text>Ajouter Toulouse ?</p:text></p:cm></p:cmLst>"
    )
    parts = [
        (
            "[Content_Types].xml",
            _content_types(
                [
                    ("/ppt/presentation.xml", pml + "presentation.main+xml"),
                    ("/ppt/slides/slide1.xml", pml + "slide+xml"),
                    ("/ppt/slides/slide2.xml", pml + "slide+xml"),
                    ("/ppt/commentAuthors.xml", pml + "commentAuthors+xml"),
                    ("/ppt/comments/comment1.xml", pml + "comments+xml"),
                    (
                        "/docProps/core.xml",
                        "application/vnd.openxmlformats-package.core-properties+xml",
                    ),
                    ("/docProps/app.xml", CT_PREFIX + "extended-properties+xml"),
                ],
                '<Default Extension="jpeg" ContentType="image/jpeg"/>',
            ),
        ),
        ("_rels/.rels", _package_rels("ppt/presentation.xml", thumbnail="docProps/thumbnail.jpeg")),
        ("ppt/presentation.xml", presentation),
        (
            "ppt/_rels/presentation.xml.rels",
            _rels(
                [
                    ("rId2", REL + "slide", "slides/slide1.xml", False),
                    ("rId3", REL + "slide", "slides/slide2.xml", False),
                    ("rId4", REL + "commentAuthors", "commentAuthors.xml", False),
                ]
            ),
        ),
        ("ppt/slides/slide1.xml", _slide(*SLIDES[0])),
        (
            "ppt/slides/_rels/slide1.xml.rels",
            _rels([("rId1", REL + "comments", "../comments/comment1.xml", False)]),
        ),
        ("ppt/slides/slide2.xml", _slide(*SLIDES[1], extra=picture)),
        (
            "ppt/slides/_rels/slide2.xml.rels",
            _rels([("rId2", REL + "hyperlink", PROGRAMME_URL, True)]),
        ),
        ("ppt/commentAuthors.xml", comment_authors),
        ("ppt/comments/comment1.xml", comments),
        (
            "docProps/core.xml",
            _core(
                SLIDES[0][0], PEOPLE[3], PEOPLE[3], CREATED, EPOCH, "<cp:revision>12</cp:revision>"
            ),
        ),
        (
            "docProps/app.xml",
            _app(
                "<TotalTime>95</TotalTime><Words>14</Words>"
                "<Application>Microsoft Office PowerPoint</Application>"
                "<PresentationFormat>Grand écran</PresentationFormat><Paragraphs>4</Paragraphs>"
                "<Slides>2</Slides><Notes>0</Notes><HiddenSlides>0</HiddenSlides>",
                [("Polices utilisées", 1), ("Thème", 1), ("Titres des diapositives", 2)],
                ["Calibri", "Thème Office", SLIDES[0][0], SLIDES[1][0]],
                f"<Company>{escape(ORGANISATION)}</Company><AppVersion>16.0000</AppVersion>",
            ),
        ),
        ("docProps/thumbnail.jpeg", _thumbnail()),
    ]
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


SIGNATURE_TIME = "2017-03-15T10:02:00Z"
SIGNATURE_COMMENT = "Validé pour diffusion interne"


def _signature_xml(cert_der: bytes) -> bytes:
    """An Office XAdES signature part as Word 2016 writes one (digests and value planted:
    the extractor records a signature, it does not verify it)."""
    cert = base64.b64encode(cert_der).decode("ascii")
    return _xml(
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="idPackageSignature">'
        "<SignedInfo><CanonicalizationMethod "
        'Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        '<Reference Type="http://www.w3.org/2000/09/xmldsig#Object" URI="#idPackageObject">'
        '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</DigestValue></Reference>"
        "</SignedInfo><SignatureValue>AAAA</SignatureValue>"
        f"<KeyInfo><X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo>"
        '<Object Id="idPackageObject"><SignatureProperties>'
        '<SignatureProperty Id="idSignatureTime" Target="#idPackageSignature">'
        '<mdssi:SignatureTime xmlns:mdssi="http://schemas.openxmlformats.org/package/2006/'
        'digital-signature"><mdssi:Format>YYYY-MM-DDThh:mm:ssTZD</mdssi:Format>'
        f"<mdssi:Value>{SIGNATURE_TIME}</mdssi:Value></mdssi:SignatureTime>"
        "</SignatureProperty></SignatureProperties></Object>"
        '<Object Id="idOfficeObject"><SignatureProperties>'
        '<SignatureProperty Id="idOfficeV1Details" Target="#idPackageSignature">'
        '<SignatureInfoV1 xmlns="http://schemas.microsoft.com/office/2006/digsig">'
        f"<SignatureComments>{SIGNATURE_COMMENT}</SignatureComments>"
        "</SignatureInfoV1></SignatureProperty></SignatureProperties></Object>"
        '<Object><xd:QualifyingProperties xmlns:xd="http://uri.etsi.org/01903/v1.3.2#" '
        'Target="#idPackageSignature"><xd:SignedProperties Id="idSignedProperties">'
        f"<xd:SignedSignatureProperties><xd:SigningTime>{SIGNATURE_TIME}</xd:SigningTime>"
        "</xd:SignedSignatureProperties></xd:SignedProperties></xd:QualifyingProperties>"
        "</Object></Signature>"
    )


def signed_memo_docx() -> bytes:
    """``memo.docx`` signed in Word by the test CA's signer (``corpus_fixtures.signing_keys``):
    the package's origin part, its relationship and one XAdES signature part."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from corpus_fixtures.signing_keys import SIGNER_CERT

    cert = x509.load_pem_x509_certificate(SIGNER_CERT.encode("ascii"))
    sig_rel = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/"
    parts = memo_parts()
    parts.extend(
        [
            ("_xmlsignatures/origin.sigs", b""),
            (
                "_xmlsignatures/_rels/origin.sigs.rels",
                _rels([("rId1", sig_rel + "signature", "sig1.xml", False)]),
            ),
            ("_xmlsignatures/sig1.xml", _signature_xml(cert.public_bytes(Encoding.DER))),
        ]
    )
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


FIXTURES: dict[str, Callable[[], bytes]] = {
    "memo.docx": memo_docx,
    "memo_remote_template.docx": memo_remote_template_docx,
    "budget_ru.xlsx": budget_ru_xlsx,
    "slides.pptx": slides_pptx,
    "bomb_core.docx": bomb_core_docx,
    "memo_bitflip.docx": memo_bitflip_docx,
    "memo_truncated.docx": memo_truncated_docx,
}
"""OOXML fixtures: genuine-looking, Russian-handled, repacked, hostile and damaged packages."""
