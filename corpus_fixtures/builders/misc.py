"""The cheap-but-common formats: OpenDocument, RTF, HTML and plain text fixtures.

``minutes.odt`` is a campaign memo first written by a staff member and last saved by an
account with a Cyrillic name on a Linux LibreOffice; ``tableau.ods`` a spreadsheet saved on
Windows with a zoned creation time; ``lettre.rtf`` a letter from a Russian-configured Word
(code page 1251, language 1049) whose last editor is written in cp1251 escapes, with a
hyperlink and a remote picture field; ``newsletter.html`` a mailing with a tracking pixel;
``communique.htm`` a Word "Save as Web Page" export in windows-1251 with Word's hidden
document properties; the ``notes*.txt`` files the same French notes in three encodings (and
one in Russian). Hostile and damaged variants follow. Every planted value is asserted by
``tests/extractors/test_misc.py``.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

from corpus_fixtures import FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders.archive import DOS_TIME

LO_LINUX = "LibreOffice/7.3.7.2$Linux_X86_64 LibreOffice_project/30$Build-2"
LO_WINDOWS = (
    "LibreOffice/6.4.7.2$Windows_X86_64 "
    "LibreOffice_project/639b8ac485750d5696d7590a72ef1b496725cfb5"
)
ODT_MIME = "application/vnd.oasis.opendocument.text"
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"

MINUTES_TITLE = "Compte rendu de la réunion du 13 mars"
MINUTES_LINK = "https://intranet.en-avant-ensemble.example/agenda?semaine=11"
MINUTES_IMAGE = "http://images.tracker.example/logo.png?doc=minutes"
MINUTES_TEXT = (
    "Ordre du jour : préparation du déplacement à Lyon et calendrier des réunions publiques."
)
LETTER_TITLE = "Lettre aux adhérents"
LETTER_LINK = "https://en-avant-ensemble.example/adhesion"
LETTER_PIXEL = "http://pixel.tracker.example/rtf.gif?id=7"
LETTER_UNC = "\\\\fs01.corp.example\\modeles\\entete.docx"
LETTER_TEXT = "Chers adhérents, la campagne entre dans sa dernière ligne droite."
PIXEL = "http://pixel.tracker.example/open?id=42"
NEWS_TITLE = "Lettre d'information — mars 2017"
NEWS_TEXT = "Retrouvez toutes les dates de la tournée sur notre site."
NOTES_URL = "https://docs.en-avant-ensemble.example/partage/plan.pdf"
NOTES_UNC = "\\\\srv-campagne\\partage\\budget_2017.xlsx"
NOTES_TEXT = (
    "Notes de la réunion du 14 mars.\n"
    "Le déplacement à Lyon est confirmé ; le budget prévisionnel est à revoir.\n"
    f"Document de référence : {NOTES_URL}\n"
    f"Tableau partagé : {NOTES_UNC}\n"
)
NOTES_RU = "Заметки о встрече 14 марта. Бюджет кампании нужно пересмотреть до пятницы.\n"

_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'office:version="1.3"'
)
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _odf_zip(mime: str, parts: list[tuple[str, str]]) -> bytes:
    """An OpenDocument package: ``mimetype`` stored first, then the XML parts deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("mimetype", date_time=DOS_TIME)
        info.compress_type = zipfile.ZIP_STORED
        archive.writestr(info, mime.encode("ascii"))
        manifest = (
            f"{_DECL}<manifest:manifest {_ODF_NS}>"
            f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
            + "".join(
                f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
                for name, _ in parts
            )
            + "</manifest:manifest>"
        )
        for name, body in [*parts, ("META-INF/manifest.xml", manifest)]:
            info = zipfile.ZipInfo(name, date_time=DOS_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, body.encode("utf-8"))
    return buffer.getvalue()


def _meta_xml(items: str) -> str:
    return (
        f"{_DECL}<office:document-meta {_ODF_NS}><office:meta>{items}</office:meta>"
        "</office:document-meta>"
    )


def _el(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def minutes_meta() -> str:
    """meta.xml of ``minutes.odt``."""
    return _meta_xml(
        _el("meta:generator", LO_LINUX)
        + _el("dc:title", MINUTES_TITLE)
        + _el("dc:subject", "Déplacements")
        + _el("dc:description", "Version validée par la direction")
        + _el("meta:keyword", "réunion")
        + _el("meta:keyword", "Lyon")
        + _el("meta:initial-creator", PEOPLE[0])
        + _el("meta:creation-date", "2017-03-10T08:12:00")
        + _el("dc:creator", FOREIGN_PEOPLE[1])
        + _el("dc:date", "2017-03-14T09:30:00.123000000")
        + _el("meta:printed-by", PEOPLE[2])
        + _el("meta:print-date", "2017-03-13T17:02:00")
        + _el("dc:language", "fr-FR")
        + _el("meta:editing-cycles", "7")
        + _el("meta:editing-duration", "PT2H15M")
        + '<meta:document-statistic meta:table-count="0" meta:image-count="1" '
        'meta:object-count="0" meta:page-count="2" meta:paragraph-count="4" '
        'meta:word-count="312" meta:character-count="1874"/>'
        + f'<meta:user-defined meta:name="Service">{escape(ORGANISATION)} / communication'
        "</meta:user-defined>"
        + '<meta:user-defined meta:name="Relu" meta:value-type="boolean">true</meta:user-defined>'
    )


def minutes_content() -> str:
    """content.xml of ``minutes.odt``: text, a link, a remote image, a comment, a change."""
    return (
        f"{_DECL}<office:document-content {_ODF_NS}>"
        "<office:automatic-styles>"
        '<style:style style:name="T1" style:family="text">'
        '<style:text-properties fo:language="ru" fo:country="RU"/></style:style>'
        "</office:automatic-styles>"
        "<office:body><office:text>"
        "<text:tracked-changes>"
        '<text:changed-region text:id="ct1"><text:deletion><office:change-info>'
        + _el("dc:creator", PEOPLE[3])
        + "<dc:date>2017-03-13T16:40:00</dc:date></office:change-info>"
        "<text:p>Texte supprimé</text:p></text:deletion></text:changed-region>"
        "</text:tracked-changes>"
        + _el("text:h", MINUTES_TITLE)
        + "<text:p>"
        + escape(MINUTES_TEXT)
        + "<office:annotation>"
        + _el("dc:creator", FOREIGN_PEOPLE[0])
        + "<dc:date>2017-03-14T09:12:00</dc:date><text:p>Проверить даты</text:p>"
        "</office:annotation>"
        "</text:p>"
        '<text:p>Voir<text:s text:c="2"/><text:a xlink:type="simple" '
        f"xlink:href={quoteattr(MINUTES_LINK)}>l'agenda</text:a>"
        "<text:tab/>et le plan.<text:line-break/>Fin.</text:p>"
        '<text:p><draw:frame draw:name="logo" svg:width="2cm" svg:height="1cm">'
        f'<draw:image xlink:href={quoteattr(MINUTES_IMAGE)} xlink:type="simple" '
        'xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>'
        '<text:p><text:a xlink:href="#Sommaire">Sommaire</text:a></text:p>'
        "</office:text></office:body></office:document-content>"
    )


def _styles(language: str, country: str, header: str) -> str:
    return (
        f"{_DECL}<office:document-styles {_ODF_NS}><office:styles>"
        '<style:default-style style:family="paragraph">'
        f'<style:text-properties fo:language="{language}" fo:country="{country}" '
        'style:language-asian="zh" style:country-asian="CN"/></style:default-style>'
        "</office:styles><office:master-styles>"
        '<style:master-page style:name="Standard"><style:header>'
        + _el("text:p", header)
        + "</style:header></style:master-page></office:master-styles></office:document-styles>"
    )


def minutes_odt() -> bytes:
    """A LibreOffice (Linux) memo begun by campaign staff, last saved by a Cyrillic account."""
    return _odf_zip(
        ODT_MIME,
        [
            ("content.xml", minutes_content()),
            ("styles.xml", _styles("fr", "FR", "Document interne")),
            ("meta.xml", minutes_meta()),
        ],
    )


def tableau_ods() -> bytes:
    """A LibreOffice (Windows) spreadsheet whose creation time carries a +01:00 offset."""
    meta = _meta_xml(
        _el("meta:generator", LO_WINDOWS)
        + _el("dc:title", "Tableau des dépenses")
        + _el("meta:initial-creator", PEOPLE[3])
        + _el("meta:creation-date", "2017-02-20T16:45:10+01:00")
        + _el("dc:creator", PEOPLE[3])
        + _el("dc:date", "2017-03-01T11:05:00Z")
        + _el("meta:editing-cycles", "12")
        + _el("meta:editing-duration", "P1DT0H30M5S")
        + '<meta:document-statistic meta:table-count="1" meta:cell-count="6" '
        'meta:object-count="0"/>'
    )
    rows = [("Poste", "Montant"), ("Salles", "12500"), ("Transport", "8300")]
    cells = "".join(
        "<table:table-row>"
        + "".join(
            '<table:table-cell office:value-type="string">'
            + _el("text:p", cell)
            + "</table:table-cell>"
            for cell in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        f"{_DECL}<office:document-content {_ODF_NS}><office:body><office:spreadsheet>"
        f'<table:table table:name="Budget">{cells}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    return _odf_zip(
        ODS_MIME,
        [("content.xml", content), ("styles.xml", _styles("fr", "FR", "")), ("meta.xml", meta)],
    )


def minutes_bomb_odt() -> bytes:
    """``minutes.odt`` whose meta.xml declares an entity (a billion-laughs seed)."""
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        f"<office:document-meta {_ODF_NS}><office:meta><dc:title>&lol2;</dc:title>"
        "</office:meta></office:document-meta>"
    )
    return _odf_zip(ODT_MIME, [("content.xml", minutes_content()), ("meta.xml", bomb)])


def minutes_truncated_odt() -> bytes:
    """``minutes.odt`` cut to 60% of its length (the central directory is gone)."""
    data = minutes_odt()
    return data[: len(data) * 6 // 10]


def minutes_bitflip_odt() -> bytes:
    """``minutes.odt`` with bytes flipped inside the deflated content.xml."""
    data = bytearray(minutes_odt())
    start = data.index(b"content.xml") + 40
    for offset in range(start, start + 24, 3):
        data[offset] ^= 0x5A
    return bytes(data)


def rtf_escape(text: str, codepage: str = "cp1252") -> str:
    """RTF text as Word writes it: ASCII as is, code-page letters as ``\\'xx``, the rest as
    ``\\uN\\'3f`` (a Unicode escape with a ``?`` fallback for old readers)."""
    out: list[str] = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif ord(char) < 0x80:
            out.append(char)
        else:
            try:
                encoded = char.encode(codepage)
            except UnicodeEncodeError:
                code = ord(char)
                out.append(f"\\u{code - 65536 if code > 32767 else code}\\'3f")
            else:
                out.append("".join(f"\\'{byte:02x}" for byte in encoded))
    return "".join(out)


def lettre_rtf() -> bytes:
    """A letter saved by a Russian-configured Word: cp1251, Cyrillic operator, two fields."""
    cyr = "cp1251"
    info = (
        "{\\info"
        f"{{\\title {rtf_escape(LETTER_TITLE, cyr)}}}"
        f"{{\\subject {rtf_escape('Campagne 2017', cyr)}}}"
        f"{{\\author {rtf_escape(PEOPLE[1], cyr)}}}"
        f"{{\\operator {rtf_escape(FOREIGN_PEOPLE[0], cyr)}}}"
        f"{{\\keywords adh{rtf_escape('é', cyr)}sion}}"
        f"{{\\doccomm {rtf_escape('Modèle validé', cyr)}}}"
        "{\\creatim\\yr2017\\mo3\\dy13\\hr18\\min5}"
        "{\\revtim\\yr2017\\mo3\\dy14\\hr9\\min30\\sec15}"
        "{\\printim\\yr2017\\mo3\\dy14\\hr9\\min45}"
        "{\\version4}{\\edmins37}{\\nofpages1}{\\nofwords120}{\\nofchars700}"
        f"{{\\*\\company {rtf_escape(ORGANISATION, cyr)}}}"
        "{\\nofcharsws815}{\\vern57443}"
        "}"
    )
    userprops = (
        "{\\*\\userprops {\\propname Dossier}\\proptype30"
        f"{{\\staticval {rtf_escape('Adhésions', cyr)}}}"
        "{\\propname Confidentiel}\\proptype11{\\staticval 1}}"
    )
    hyperlink = (
        "{\\field{\\*\\fldinst {\\rtlch\\fcs1 \\ltrch\\fcs0  HYPERLINK "
        f'"{LETTER_LINK}" }}}}{{\\fldrslt {{\\ul\\cf2 notre site}}}}}}'
    )
    picture = (
        "{\\field\\flddirty{\\*\\fldinst { INCLUDEPICTURE  "
        f'"{LETTER_PIXEL}" \\\\* MERGEFORMATINET \\\\d }}}}'
        "{\\fldrslt {\\pict\\wmetafile8\\picw26\\pich26 0100090000}}}"
    )
    unc = LETTER_UNC.replace("\\", "\\\\\\\\")
    include = (
        f'{{\\field{{\\*\\fldinst {{ INCLUDETEXT "{unc}" }}}}{{\\fldrslt {{En-t\\u234\\\'3fte}}}}}}'
    )
    body = (
        "\\pard\\plain \\ltrpar\\lang1036\\langfe1049\\f1\\fs24 "
        f"{rtf_escape(LETTER_TEXT, cyr)}\\par "
        f"Inscrivez-vous sur {hyperlink}.\\par "
        f"{picture}{include}\\par "
        f"{{\\f0\\lang1049 {rtf_escape('С уважением', cyr)}}}\\par "
        "}"
    )
    header = (
        "{\\rtf1\\adeflang1025\\ansi\\ansicpg1251\\uc1\\adeff0\\deff0\\stshfdbch0"
        "\\deflang1049\\deflangfe1049"
        "{\\fonttbl{\\f0\\froman\\fcharset204\\fprq2 Times New Roman;}"
        "{\\f1\\fswiss\\fcharset0\\fprq2 Arial;}}"
        "{\\colortbl;\\red0\\green0\\blue0;\\red5\\green99\\blue193;}"
        "{\\stylesheet{\\ql \\lang1049 \\snext0 Normal;}}"
        "{\\*\\rsidtbl \\rsid2236\\rsid4471}"
        "{\\*\\generator Microsoft Word 15.0;}"
        "{\\*\\template C:\\\\Users\\\\georgi\\\\AppData\\\\Roaming\\\\Microsoft\\\\Templates"
        "\\\\Normal.dotm}"
    )
    return (header + info + userprops + "\n" + body).encode("ascii")


def lettre_truncated_rtf() -> bytes:
    """``lettre.rtf`` cut in the middle of its body."""
    data = lettre_rtf()
    return data[: data.index(b"INCLUDEPICTURE")]


def nested_bomb_rtf() -> bytes:
    """An RTF bomb: 200 000 nested groups around one word, then the closing braces."""
    depth = 200_000
    return b"{\\rtf1\\ansi " + b"{" * depth + b"profond" + b"}" * depth + b"}"


def newsletter_html() -> bytes:
    """A campaign mailing in HTML: generator, author, French, and a 1x1 tracking pixel."""
    page = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{escape(NEWS_TITLE)}</title>
<meta name="generator" content="CampagneMailer 3.2">
<meta name="author" content="{escape(PEOPLE[4])}">
<meta name="description" content="Lettre mensuelle aux sympathisants">
<meta name="keywords" content="campagne, tournée, agenda">
<link rel="stylesheet" href="https://cdn.mailer.example/css/news.css">
<style>.bandeau {{ background-image: url('https://cdn.mailer.example/img/bandeau.jpg'); }}</style>
<script src="https://stats.mailer.example/t.js"></script>
</head>
<body>
<h1>{escape(NEWS_TITLE)}</h1>
<p>{escape(NEWS_TEXT)}</p>
<p><a href="https://en-avant-ensemble.example/agenda">Agenda</a> —
<a href="/desinscription">se désinscrire</a></p>
<form action="https://forms.mailer.example/reponse" method="post"><input type="submit"></form>
<img src="images/logo.png" alt="logo">
<img src="{PIXEL}" width="1" height="1" alt="">
<script>var hidden = "pas du texte";</script>
</body>
</html>
"""
    return page.encode("utf-8")


def communique_htm() -> bytes:
    """A Word "Save as Web Page" export in windows-1251 with Word's document properties."""
    page = f"""<html xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=Content-Type content="text/html; charset=windows-1251">
<meta name=ProgId content=Word.Document>
<meta name=Generator content="Microsoft Word 15">
<meta name=Originator content="Microsoft Word 15">
<title>Communiqué de presse</title>
<!--[if gte mso 9]><xml>
 <o:DocumentProperties>
  <o:Author>{PEOPLE[2]}</o:Author>
  <o:LastAuthor>{FOREIGN_PEOPLE[1]}</o:LastAuthor>
  <o:Revision>3</o:Revision>
  <o:TotalTime>42</o:TotalTime>
  <o:Created>2017-03-12T20:15:00Z</o:Created>
  <o:LastSaved>2017-03-14T08:02:00Z</o:LastSaved>
  <o:Pages>1</o:Pages>
  <o:Words>85</o:Words>
  <o:Characters>485</o:Characters>
  <o:Company>{ORGANISATION}</o:Company>
  <o:Lines>4</o:Lines>
  <o:Paragraphs>1</o:Paragraphs>
  <o:CharactersWithSpaces>569</o:CharactersWithSpaces>
  <o:Version>15.00</o:Version>
 </o:DocumentProperties>
</xml><![endif]-->
</head>
<body lang=RU style='tab-interval:35.4pt'>
<div class=WordSection1>
<p class=MsoNormal><span lang=FR>Le mouvement annonce une réunion publique.</span></p>
<p class=MsoNormal><![if !supportLists]>1.<![endif]>Contact presse.</p>
<p class=MsoNormal><img width=1 height=1 src="file://fs01.corp.example/images/blank.gif"></p>
</div>
</body>
</html>
"""
    # Word writes the letters windows-1251 lacks (é) as numeric character references.
    return page.encode("cp1251", errors="xmlcharrefreplace")


def notes_txt() -> bytes:
    """French meeting notes in UTF-8 with a URL and a UNC path."""
    return NOTES_TEXT.encode("utf-8")


def notes_cp1252_txt() -> bytes:
    """The same notes saved as Windows-1252 (a French Windows Notepad)."""
    return NOTES_TEXT.encode("cp1252")


def notes_ru_txt() -> bytes:
    """Russian notes saved as Windows-1251 (a Russian Windows Notepad)."""
    return NOTES_RU.encode("cp1251")


def notes_utf16_txt() -> bytes:
    """The French notes as UTF-16 with a byte-order mark (Notepad's "Unicode")."""
    return codecs.BOM_UTF16_LE + NOTES_TEXT.encode("utf-16-le")


FIXTURES: dict[str, Callable[[], bytes]] = {
    "minutes.odt": minutes_odt,
    "tableau.ods": tableau_ods,
    "minutes_bomb.odt": minutes_bomb_odt,
    "minutes_truncated.odt": minutes_truncated_odt,
    "minutes_bitflip.odt": minutes_bitflip_odt,
    "lettre.rtf": lettre_rtf,
    "lettre_truncated.rtf": lettre_truncated_rtf,
    "nested_bomb.rtf": nested_bomb_rtf,
    "newsletter.html": newsletter_html,
    "communique.htm": communique_htm,
    "notes.txt": notes_txt,
    "notes_cp1252.txt": notes_cp1252_txt,
    "notes_ru.txt": notes_ru_txt,
    "notes_utf16.txt": notes_utf16_txt,
}
"""ODF, RTF, HTML and text fixtures: genuine-looking, Russian-handled, hostile and damaged."""
