"""The labeled part of the sample leak: genuine documents and planted forgeries and decoys.

Each forgery is what a forger would really leave behind: one edit, saved with the wrong
tool, on the wrong machine or at the wrong time, so it usually trips more than one rule.
Between them they cover every single-file signal of the rule packs (docs/RULES.md lists
the rules). ``LABELS`` says, for every planted file and for the fixtures the sample leak already
holds, what the file is (``genuine``, ``altered``, ``decoy``) and which rules must fire, in
the ``path,label,rules`` form ``leaktriage eval`` reads. Everything is derived from the
genuine fixtures with fixed values, so the bytes are the same on every build.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from corpus_fixtures import EPOCH, ORGANISATION, PEOPLE
from corpus_fixtures.builders import email as mail
from corpus_fixtures.builders import image, image_tables, misc, ooxml, pdf, pdf_signed
from corpus_fixtures.builders.archive import zip_bytes


@dataclass(frozen=True, slots=True)
class Planted:
    """One labeled file of the sample leak."""

    path: str
    """Where it lies in the dump (relative to the dump's root; ``!`` enters an archive)."""
    label: str
    """``genuine``, ``altered`` or ``decoy``."""
    rules: tuple[str, ...] = ()
    """Rules that must fire on it."""
    what: str = ""
    """What was planted, for people reading the labels."""


# --- OOXML: the memo, re-saved the ways forgers do -----------------------------------------


def _memo_variant(
    *,
    core: bytes | None = None,
    app: bytes | None = None,
    document: bytes | None = None,
    settings: bytes | None = None,
    styles: bytes | None = None,
    rels: bytes | None = None,
    date_time: tuple[int, int, int, int, int, int] = ooxml.OFFICE_DOS_TIME,
    create_system: int = 0,
) -> bytes:
    """memo.docx with some parts replaced (Office's part order and zip layer unless given)."""
    replace = {
        "docProps/core.xml": core,
        "docProps/app.xml": app,
        "word/document.xml": document,
        "word/settings.xml": settings,
        "word/styles.xml": styles,
        "word/_rels/document.xml.rels": rels,
    }
    parts = [(name, replace.get(name) or data) for name, data in ooxml.memo_parts()]
    return zip_bytes(parts, date_time=date_time, create_system=create_system)


def _memo_core(
    *,
    author: str = PEOPLE[0],
    last_by: str = PEOPLE[1],
    created: datetime = ooxml.CREATED,
    modified: datetime = EPOCH,
    printed: datetime = ooxml.PRINTED,
    revision: int = 4,
    language: str = "fr-FR",
) -> bytes:
    extra = (
        "<cp:keywords>campagne; agenda</cp:keywords>"
        "<dc:description>Version de travail</dc:description>"
        "<dc:subject>Déplacements d'avril</dc:subject>"
        f"<cp:category>Note</cp:category><cp:revision>{revision}</cp:revision>"
        f"<cp:lastPrinted>{ooxml._iso(printed)}</cp:lastPrinted>"
        f"<dc:language>{language}</dc:language>"
    )
    return ooxml._core(ooxml.MEMO_TITLE, author, last_by, created, modified, extra)


def _memo_app(app_version: str = "16.0000", total_minutes: int = 47) -> bytes:
    app = ooxml._word_app("Normal.dotm", total_minutes, 112, 640, ooxml.MEMO_TITLE)
    return app.replace(
        b"<AppVersion>16.0000</AppVersion>", f"<AppVersion>{app_version}</AppVersion>".encode()
    )


def memo_backdated_docx() -> bytes:
    """Dates typed in by hand: last saved (and printed) before it was created, then zipped
    again by a non-Office tool with the local time of the edit."""
    core = _memo_core(
        created=datetime.fromisoformat("2017-03-10T08:12:00+00:00"),
        modified=datetime.fromisoformat("2017-03-06T16:20:00+00:00"),
        printed=datetime.fromisoformat("2017-03-02T11:00:00+00:00"),
    )
    return _memo_variant(core=core, date_time=(2017, 4, 21, 23, 48, 10), create_system=3)


def memo_anachronism_docx() -> bytes:
    """Claims 2012 dates, but AppVersion 16.0 (Office 2016) saved it, and it was edited for
    longer than the time between its creation and last save."""
    core = _memo_core(
        created=datetime.fromisoformat("2012-05-02T08:00:00+00:00"),
        modified=datetime.fromisoformat("2012-05-09T17:30:00+00:00"),
        printed=datetime.fromisoformat("2012-05-09T17:00:00+00:00"),
    )
    return _memo_variant(core=core, app=_memo_app("16.0000", total_minutes=14_400))


PROGRAMME_TEXT = (
    "Programme des déplacements régionaux de la campagne pour le mois de mai.",
    "Les équipes de Lyon, de Marseille et de Bordeaux organisent chacune une réunion "
    "publique, suivie d'une rencontre avec les élus locaux et les associations.",
    "Chaque responsable régional confirme la salle, la sécurité et l'accueil de la presse "
    "au plus tard dix jours avant la date, et transmet le budget détaillé au trésorier.",
)
PROGRAMME_RSIDS = tuple(f"00{n:02X}{(n * 37) % 256:02X}{(n * 91) % 256:02X}" for n in range(1, 15))
"""Fourteen Word editing sessions, for a document whose revision counter says 1."""


def programme_after_leak_docx() -> bytes:
    """Saved the day after the leak, with a revision counter of 1 despite fourteen editing
    sessions, and German proofing and declared language on French text."""
    paragraphs = [
        ooxml._paragraph(ooxml._run(text, "de-DE", rsid), rsid=rsid)
        for text, rsid in zip(PROGRAMME_TEXT, PROGRAMME_RSIDS, strict=False)
    ]
    core = _memo_core(
        created=datetime.fromisoformat("2017-04-28T10:00:00+00:00"),
        modified=datetime.fromisoformat("2017-05-06T06:42:00+00:00"),
        printed=datetime.fromisoformat("2017-04-28T11:00:00+00:00"),
        revision=1,
        language="de-DE",
    )
    settings = ooxml._settings(PROGRAMME_RSIDS[0], PROGRAMME_RSIDS, ooxml.MEMO_DOC_ID).replace(
        b'w:themeFontLang w:val="fr-FR"', b'w:themeFontLang w:val="de-DE"'
    )
    return _memo_variant(
        core=core,
        document=ooxml._document(paragraphs),
        settings=settings,
        styles=ooxml._styles("de-DE"),
    )


def agenda_future_docx() -> bytes:
    """Last-save date in 2031: typed in, or the clock of the forger's machine was wrong."""
    core = _memo_core(modified=datetime.fromisoformat("2031-01-07T10:00:00+00:00"))
    return _memo_variant(core=core)


def _memo_with_external_image(url: str) -> bytes:
    rels = ooxml._rels(
        [
            ("rId1", ooxml.REL + "styles", "styles.xml", False),
            ("rId2", ooxml.REL + "settings", "settings.xml", False),
            ("rId9", ooxml.REL + "image", url, True),
        ]
    )
    return _memo_variant(rels=rels)


CANARY_URL = "http://canarytokens.com/about/tags/k3x9q2m7v1b8n4c6z0a5s2d7f/index.html"
"""The shape of a Canarytokens web-bug URL (never fetched: leaktriage never opens links)."""
READ_TRACKER_URL = "https://t.yesware.com/t/7d1f0c3a/open.gif"


def invitation_canary_docx() -> bytes:
    """A decoy: the memo with an external picture pointing at a Canarytokens callback."""
    return _memo_with_external_image(CANARY_URL)


def dossier_presse_docx() -> bytes:
    """A decoy: the memo with an external picture on a read-tracking service."""
    return _memo_with_external_image(READ_TRACKER_URL)


# --- PDF -------------------------------------------------------------------------------------


def _pdf_page(lines: list[str], info: dict[str, str], doc_id: tuple[str, str]) -> Any:
    doc = pdf._new_doc()
    pdf._text_page(doc, lines)
    pdf._set_info(doc, info)
    pdf._set_id(doc, *doc_id)
    return doc


DEVIS_ID = "3C5E7A9B1D3F5A7C9E1B3D5F7A9C1E3B"


def devis_updated_pdf() -> bytes:
    """A quote saved once more by a producer released years after its stated last save; the
    update kept the file identifier and added a Launch action."""
    doc = _pdf_page(
        ["Devis n° 2013-114", "Location de salle : 2 400 euros", ORGANISATION],
        {
            "Title": "Devis 2013-114",
            "Author": PEOPLE[3],
            "Creator": "Writer",
            "Producer": "LibreOffice 4.0",
            "CreationDate": "D:20130204100000+01'00'",
            "ModDate": "D:20130204100000+01'00'",
        },
        (DEVIS_ID, DEVIS_ID),
    )
    with tempfile.TemporaryDirectory(prefix="leaktriage-fixture-") as folder:
        path = Path(folder) / "devis.pdf"
        doc.save(path, garbage=1, deflate=True, no_new_id=True)
        doc.close()
        doc = pdf.pymupdf.open(path)
        pdf._set_info(
            doc, {"ModDate": "D:20130211093000+01'00'", "Producer": "Adobe PDF Library 15.0"}
        )
        action = doc.get_new_xref()
        doc.update_object(action, "<</Type/Action/S/Launch/F(facture.exe)>>")
        doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{action} 0 R")
        doc.save(path, incremental=True, encryption=pdf.pymupdf.PDF_ENCRYPT_KEEP, no_new_id=True)
        doc.close()
        return path.read_bytes()


def _xmp(title: str, created: str, modified: str, producer: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" '
        f'xmp:CreatorTool="Microsoft® Word 2016" pdf:Producer="{producer}">'
        f"<dc:creator><rdf:Seq><rdf:li>{PEOPLE[4]}</rdf:li></rdf:Seq></dc:creator>"
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>'
        f"<xmp:CreateDate>{created}</xmp:CreateDate><xmp:ModifyDate>{modified}</xmp:ModifyDate>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def communique_xmp_reversed_pdf() -> bytes:
    """XMP says it was modified before it was created, under another title than Info's."""
    doc = _pdf_page(
        ["Communiqué de presse", "Le meeting de Lyon est maintenu samedi."],
        {
            "Title": "Communiqué de presse",
            "Author": PEOPLE[4],
            "Creator": "Microsoft® Word 2016",
            "Producer": "Microsoft® Word 2016",
            "CreationDate": "D:20170420100000+02'00'",
            "ModDate": "D:20170420101500+02'00'",
        },
        ("6A8C0E2B4D6F8A0C2E4B6D8F0A2C4E6B", "6A8C0E2B4D6F8A0C2E4B6D8F0A2C4E6B"),
    )
    doc.set_xml_metadata(
        _xmp(
            "Communiqué annulé",
            "2017-04-20T10:00:00+02:00",
            "2017-04-02T09:00:00+02:00",
            "Microsoft® Word 2016",
        )
    )
    return pdf._finish(doc)


def tract_after_leak_pdf() -> bytes:
    """Info dates in April, but the XMP packet was rewritten the night after the leak."""
    doc = _pdf_page(
        ["Tract - réunion publique de Lille", "Jeudi 20 avril, 19 heures."],
        {
            "Title": "Tract Lille",
            "Author": PEOPLE[4],
            "Creator": "Microsoft® Word 2016",
            "Producer": "Microsoft® Word 2016",
            "CreationDate": "D:20170412080000+02'00'",
            "ModDate": "D:20170412083000+02'00'",
        },
        ("8E0A2C4E6B8D0F2A4C6E8B0D2F4A6C8E", "8E0A2C4E6B8D0F2A4C6E8B0D2F4A6C8E"),
    )
    doc.set_xml_metadata(
        _xmp(
            "Tract Lille",
            "2017-04-12T08:00:00+02:00",
            "2017-05-06T09:10:00+02:00",
            "Microsoft® Word 2016",
        )
    )
    return pdf._finish(doc)


# --- images ----------------------------------------------------------------------------------


def _exif_with(taken: str) -> list[image.Entry]:
    return [
        (tag, kind, taken if tag in (0x9003, 0x9004) else value)
        for tag, kind, value in image._camera_exif()
    ]


def photo_dates_reversed_jpg() -> bytes:
    """EXIF DateTimeOriginal hand-edited to after DateTime; Photoshop wrote the file."""
    scene = image.scene()
    tiff = image.tiff_block(
        image._camera_ifd0(image.EDITOR, "2017:03:12 11:30:00"),
        _exif_with(image.TAKEN),
        image._gps(),
        image.thumbnail_of(scene),
    )
    return image.jpeg_with_segments(scene, [image.exif_segment(tiff)], keep_jfif=False)


def photo_after_leak_jpg() -> bytes:
    """A camera photo dated two days after the leak."""
    scene = image.scene()
    tiff = image.tiff_block(
        image._camera_ifd0(image.CAMERA_SOFTWARE, "2017:05:07 15:20:00"),
        _exif_with("2017:05:07 15:20:00"),
        None,
        image.thumbnail_of(scene),
    )
    return image.jpeg_with_segments(scene, [image.exif_segment(tiff)], keep_jfif=False)


def photo_retouched_jpg() -> bytes:
    """Retouched in GIMP, which kept the camera's thumbnail of the original picture."""
    tiff = image.tiff_block(
        image._camera_ifd0("GIMP 2.8.20", image.TAKEN),
        image._camera_exif(),
        image._gps(),
        image.thumbnail_of(image.scene()),
    )
    return image.jpeg_with_segments(
        image.scene(edited=True), [image.exif_segment(tiff)], keep_jfif=False
    )


# --- e-mail ----------------------------------------------------------------------------------


def _mail(headers: list[tuple[str, str]], body: str) -> bytes:
    message = mail._message(headers)
    message.set_content(body)
    return message.as_bytes()


def mail_after_leak_eml() -> bytes:
    """A message dated the day after the leak, relayed the same day."""
    return _mail(
        [
            (
                "Received",
                "from relay.hebergeur-exemple.net by mx1.campagne-exemple.fr; "
                "Sat, 06 May 2017 10:02:11 +0200",
            ),
            ("From", mail.address(PEOPLE[1])),
            ("To", mail.address(PEOPLE[0])),
            ("Subject", "Virement urgent"),
            ("Date", "Sat, 06 May 2017 10:01:40 +0200"),
            ("Message-ID", f"<20170506080140.4410@{mail.DOMAIN}>"),
            ("X-Mailer", "Microsoft Outlook 16.0"),
        ],
        "Merci de faire le virement aujourd'hui, je t'expliquerai.\n",
    )


def mail_backdated_client_eml() -> bytes:
    """Date header rewritten to March, two days after the relay stamped it, by a client
    version released a year later."""
    return _mail(
        [
            (
                "Received",
                "from relay.hebergeur-exemple.net by mx1.campagne-exemple.fr; "
                "Fri, 17 Mar 2017 08:00:05 +0100",
            ),
            ("From", mail.address(PEOPLE[2])),
            ("To", mail.address(PEOPLE[3])),
            ("Subject", "Re: affiches"),
            ("Date", "Sun, 19 Mar 2017 09:30:00 +0100"),
            ("Message-ID", f"<20170319083000.2290@{mail.DOMAIN}>"),
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Thunderbird/60.2.1",
            ),
        ],
        "Les affiches sont validées.\n",
    )


# --- Beacons: one planted file per way of calling home ----------------------------------------
#
# Every address below is invented (reserved .example names, Canarytokens' shape with a made-up
# token) and none is ever fetched: leaktriage reads them as text. Whoever planted them removed
# the personal information (Word's document inspector, LibreOffice's "remove personal
# information on saving", a PDF with no author): no author, last editor, company or template
# is left, only the application, so the files have no authoring fingerprint. That is also
# what keeps the sample leak under the corpus stage's 50 fingerprinted files
# (fingerprints.MIN_POPULATION), below which no value is called rare.

WEB_BUG_URL = "http://stats.revue-presse.example/img/entete.gif?d=0412&u=jm"
"""The footer picture of ``revue_de_presse.docx``, linked (a:blip r:link), not embedded."""
REMOTE_TEMPLATE_URL = "http://modeles.atelier-graphique.example/gabarits/lettre_militants.dotm"
EXTERNAL_BOOK_URL = (
    "https://partage.tresorerie-campagne.example/d/q7w2e9r4t1y8u3i6o0p5a2s7d/budget_reel.xlsx"
)
"""An external workbook on a self-hosted canary server (a 25-character token in its path)."""
OPEN_URI_URL = "http://accreditations.presse-meeting.example/ouvert?id=4471"
PAGE_SCRIPT_URL = "https://compteur.meeting-lyon.example/p?doc=programme&page=1"
LAUNCH_SHARE = "\\\\impressions.prestataire-affiches.example\\factures\\facture_0417.pdf"
"""What the /Launch action of ``facture_0417.pdf`` opens: a file on a Windows share."""
MAIL_PIXEL_URL = "http://canarytokens.com/images/tags/m4q8z1x7c3v9b2n6k0l5j8h1g/submit.aspx"
ODT_IMAGE_URL = "http://k7m2x9q4w1e8r3t6y0u5i2o7p.alertes-lecture.example/affiche.png"
"""A linked picture on a canary host whose first label is a 25-character token."""
BEACON_CREATED = datetime.fromisoformat("2017-04-11T08:40:00+00:00")
BEACON_MODIFIED = datetime.fromisoformat("2017-04-12T16:05:00+00:00")

_PICTURE_FOOTER = (
    f'<w:ftr xmlns:w="{ooxml.W_NS}" xmlns:r="{ooxml.R_NS}" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    f'xmlns:a="{ooxml.A_NS}" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="9525" cy="9525"/>'
    '<wp:docPr id="1" name="Image 1"/><a:graphic>'
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="entete.gif"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:link="rId1"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
    '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="9525" cy="9525"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
    "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p></w:ftr>"
)


def _scrubbed_app(application: str, words: int, title: str) -> bytes:
    """app.xml after the document inspector: the application, no company or template."""
    return ooxml._app(
        f"<TotalTime>26</TotalTime><Pages>1</Pages><Words>{words}</Words>"
        f"<Application>{application}</Application><DocSecurity>0</DocSecurity>"
        "<ScaleCrop>false</ScaleCrop>",
        [("Titre", 1)],
        [title],
        "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
        "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0000</AppVersion>",
    )


def _word_docx(
    title: str,
    lines: tuple[str, ...],
    rsid: str,
    doc_id: str,
    *,
    document_rels: tuple[tuple[str, str, str, bool], ...] = (),
    extra_parts: tuple[tuple[str, bytes], ...] = (),
    settings_extra: str = "",
    section_extra: str = "",
    app: bool = True,
) -> bytes:
    """A Word 2016 document of its own (not a copy of the memo) with extra relationships;
    without ``app``, no docProps/app.xml (a kit rewrote the package and dropped it)."""
    paragraphs = "".join(
        ooxml._paragraph(ooxml._run(line, "fr-FR", rsid), rsid=rsid) for line in lines
    )
    document = ooxml._xml(
        f"<w:document {ooxml.WORD_NAMESPACES}><w:body>{paragraphs}"
        f'<w:sectPr>{section_extra}<w:pgSz w:w="11906" w:h="16838"/></w:sectPr>'
        "</w:body></w:document>"
    )
    extra_names = tuple(
        name.removeprefix("word/").removesuffix(".xml")
        for name, _ in extra_parts
        if name.startswith("word/") and name.endswith(".xml") and "/_rels/" not in name
    )
    words = sum(len(line.split()) for line in lines)
    parts = [
        ("[Content_Types].xml", ooxml._word_content_types(extra_names)),
        ("_rels/.rels", ooxml._package_rels("word/document.xml")),
        ("word/document.xml", document),
        (
            "word/_rels/document.xml.rels",
            ooxml._rels(
                [
                    ("rId1", ooxml.REL + "styles", "styles.xml", False),
                    ("rId2", ooxml.REL + "settings", "settings.xml", False),
                    *document_rels,
                ]
            ),
        ),
        *extra_parts,
        ("word/settings.xml", ooxml._settings(rsid, (rsid,), doc_id, settings_extra)),
        ("word/styles.xml", ooxml._styles("fr-FR")),
        ("docProps/core.xml", ooxml._core(title, "", "", BEACON_CREATED, BEACON_MODIFIED)),
    ]
    if app:
        parts.append(("docProps/app.xml", _scrubbed_app("Microsoft Office Word", words, title)))
    return zip_bytes(parts, date_time=ooxml.OFFICE_DOS_TIME, create_system=0)


def revue_de_presse_docx() -> bytes:
    """A decoy: a press review whose footer shows a picture linked from a web server
    (a:blip r:link to a TargetMode=External image), fetched each time the file opens."""
    footer_rels = ooxml._rels([("rId1", ooxml.REL + "image", WEB_BUG_URL, True)])
    return _word_docx(
        "Revue de presse du 12 avril",
        (
            "Revue de presse du 12 avril : le meeting de Lyon en une de la presse régionale.",
            "Les articles sont classés par titre, avec le nom du journaliste.",
        ),
        "00B7C2D4",
        "{2A7C9E1B-4D6F-4A8C-9E0B-2D4F6A8C0E1B}",
        document_rels=(("rId3", ooxml.REL + "footer", "footer1.xml", False),),
        extra_parts=(
            ("word/footer1.xml", ooxml._xml(_PICTURE_FOOTER)),
            ("word/_rels/footer1.xml.rels", footer_rels),
        ),
        section_extra='<w:footerReference w:type="default" r:id="rId3"/>',
    )


def lettre_militants_docx() -> bytes:
    """A decoy: a letter whose attached template is fetched from a web server on opening,
    repackaged by a template-injection kit that dropped docProps/app.xml."""
    template_rels = ooxml._rels(
        [("rId1", ooxml.REL + "attachedTemplate", REMOTE_TEMPLATE_URL, True)]
    )
    return _word_docx(
        "Lettre aux militants",
        (
            "Chers militants, la dernière semaine de campagne commence.",
            "Retrouvez ci-dessous les rendez-vous de votre circonscription.",
        ),
        "00C3D5E7",
        "{5B8D0F2A-6C9E-4B1D-8F3A-5C7E9B1D3F5A}",
        extra_parts=(("word/_rels/settings.xml.rels", template_rels),),
        settings_extra='<w:attachedTemplate r:id="rId1"/>',
        app=False,
    )


def budget_meetings_xlsx() -> bytes:
    """A decoy: a workbook whose figures come from an external workbook on a canary server
    (an externalLink part with a TargetMode=External externalLinkPath)."""
    sml = ooxml.CT_PREFIX + "spreadsheetml."
    sheet_name = "Meetings"
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Meeting</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Coût</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Lyon</t></is></c>'
        '<c r="B2"><f>[1]Budget!B2</f><v>48500</v></c></row>'
    )
    workbook = ooxml._xml(
        f'<workbook xmlns="{ooxml.SML_NS}" xmlns:r="{ooxml.R_NS}">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="18129"/>'
        f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets>'
        '<externalReferences><externalReference r:id="rId2"/></externalReferences>'
        "</workbook>"
    )
    external = ooxml._xml(
        f'<externalLink xmlns="{ooxml.SML_NS}" xmlns:r="{ooxml.R_NS}">'
        '<externalBook r:id="rId1"><sheetNames><sheetName val="Budget"/></sheetNames>'
        '<sheetDataSet><sheetData sheetId="0"><row r="2"><cell r="B2"><v>48500</v></cell>'
        "</row></sheetData></sheetDataSet></externalBook></externalLink>"
    )
    parts = [
        (
            "[Content_Types].xml",
            ooxml._content_types(
                [
                    ("/xl/workbook.xml", sml + "sheet.main+xml"),
                    ("/xl/worksheets/sheet1.xml", sml + "worksheet+xml"),
                    ("/xl/externalLinks/externalLink1.xml", sml + "externalLink+xml"),
                    (
                        "/docProps/core.xml",
                        "application/vnd.openxmlformats-package.core-properties+xml",
                    ),
                    ("/docProps/app.xml", ooxml.CT_PREFIX + "extended-properties+xml"),
                ]
            ),
        ),
        ("_rels/.rels", ooxml._package_rels("xl/workbook.xml")),
        (
            "xl/_rels/workbook.xml.rels",
            ooxml._rels(
                [
                    ("rId1", ooxml.REL + "worksheet", "worksheets/sheet1.xml", False),
                    ("rId2", ooxml.REL + "externalLink", "externalLinks/externalLink1.xml", False),
                ]
            ),
        ),
        ("xl/workbook.xml", workbook),
        ("xl/worksheets/sheet1.xml", ooxml._sheet(rows)),
        ("xl/externalLinks/externalLink1.xml", external),
        (
            "xl/externalLinks/_rels/externalLink1.xml.rels",
            ooxml._rels([("rId1", ooxml.REL + "externalLinkPath", EXTERNAL_BOOK_URL, True)]),
        ),
        (
            "docProps/core.xml",
            ooxml._core("Budget des meetings", "", "", BEACON_CREATED, BEACON_MODIFIED),
        ),
        (
            "docProps/app.xml",
            ooxml._app(
                "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>"
                "<ScaleCrop>false</ScaleCrop>",
                [("Feuilles de calcul", 1)],
                (sheet_name,),
                "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
                "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0300</AppVersion>",
            ),
        ),
    ]
    return zip_bytes(parts, date_time=ooxml.OFFICE_DOS_TIME, create_system=0)


def _beacon_pdf(lines: list[str], title: str, doc_id: str) -> Any:
    return _pdf_page(
        lines,
        {
            "Title": title,
            "Producer": "Microsoft® Word 2016",
            "CreationDate": "D:20170411104000+02'00'",
            "ModDate": "D:20170411104000+02'00'",
        },
        (doc_id, doc_id),
    )


def accreditation_open_uri_pdf() -> bytes:
    """A decoy: an accreditation form whose /OpenAction is a /URI action: the viewer opens
    that address as soon as the file is opened."""
    doc = _beacon_pdf(
        ["Demande d'accréditation presse", "Meeting de Lyon, samedi 22 avril."],
        "Accréditation presse",
        "4D6F8A0C2E4B6D8F0A2C4E6B8D0F2A4C",
    )
    doc.xref_set_key(
        doc.pdf_catalog(), "OpenAction", f"<</S/URI/URI{pdf.pdf_string(OPEN_URI_URL)}>>"
    )
    return pdf._finish(doc)


def programme_page_script_pdf() -> bytes:
    """A decoy: a programme whose first page runs JavaScript when it is shown (page /AA /O),
    and the script sends the viewer to a counting address."""
    doc = _beacon_pdf(
        ["Programme du meeting de Lyon", "14 h : accueil ; 15 h : discours."],
        "Programme du meeting",
        "5E7A9C1B3D5F7A9C1E3B5D7F9A1C3E5B",
    )
    script = f'app.launchURL("{PAGE_SCRIPT_URL}", false);'
    doc.xref_set_key(doc[0].xref, "AA", f"<</O<</S/JavaScript/JS{pdf.pdf_string(script)}>>>>")
    return pdf._finish(doc)


def facture_launch_pdf() -> bytes:
    """A decoy: an invoice whose /OpenAction launches a file on a Windows share."""
    doc = _beacon_pdf(
        ["Facture n° 0417", "Impression de 5 000 affiches : 3 200 euros."],
        "Facture 0417",
        "6F8B0D2A4C6E8A0B2D4F6A8C0E2B4D6F",
    )
    spec = f"<</Type/Filespec/F{pdf.pdf_string(LAUNCH_SHARE)}>>"
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"<</S/Launch/F{spec}/NewWindow true>>")
    return pdf._finish(doc)


def invitation_pixel_eml() -> bytes:
    """A decoy: an HTML invitation carrying a 1x1 picture from Canarytokens (a web bug)."""
    message = mail._message(
        [
            ("From", mail.address(PEOPLE[3])),
            ("To", mail.address(PEOPLE[1])),
            ("Subject", "Invitation : soirée des bénévoles"),
            ("Date", "Wed, 12 Apr 2017 18:20:00 +0200"),
            ("Message-ID", f"<20170412162000.7731@{mail.DOMAIN}>"),
        ]
    )
    message.set_content(
        "<html><body><p>Bonjour,</p><p>Vous êtes invité à la soirée des bénévoles, "
        "vendredi 14 avril à 19 heures.</p>"
        f'<img src="{MAIL_PIXEL_URL}" width="1" height="1" alt="">'
        "</body></html>\n",
        subtype="html",
    )
    return message.as_bytes()


def affiche_linked_image_odt() -> bytes:
    """A decoy: a LibreOffice poster text whose picture is linked from a canary host."""
    meta = misc._meta_xml(
        misc._el("meta:generator", misc.LO_WINDOWS)
        + misc._el("dc:title", "Affiche du meeting de Lille")
        + misc._el("meta:creation-date", "2017-04-10T09:00:00")
        + misc._el("dc:date", "2017-04-11T17:45:00")
        + misc._el("dc:language", "fr-FR")
        + misc._el("meta:editing-cycles", "3")
        + misc._el("meta:editing-duration", "PT35M")
    )
    content = (
        f"{misc._DECL}<office:document-content {misc._ODF_NS}>"
        "<office:body><office:text>"
        + misc._el("text:h", "Meeting de Lille")
        + misc._el("text:p", "Jeudi 20 avril, 19 heures, salle du Nouveau Siècle.")
        + '<text:p><draw:frame draw:name="affiche" svg:width="10cm" svg:height="14cm">'
        f'<draw:image xlink:href="{ODT_IMAGE_URL}" xlink:type="simple" xlink:show="embed" '
        'xlink:actuate="onLoad"/></draw:frame></text:p>'
        "</office:text></office:body></office:document-content>"
    )
    return misc._odf_zip(
        misc.ODT_MIME,
        [
            ("content.xml", content),
            ("styles.xml", misc._styles("fr", "FR", "Affiche")),
            ("meta.xml", meta),
        ],
    )


# --- the labeled set -------------------------------------------------------------------------

Builder = Callable[[], bytes]

PLANTED_FILES: dict[str, Builder] = {
    "documents/campagne/note_deplacements_v2.docx": memo_backdated_docx,
    "documents/campagne/note_2012.docx": memo_anachronism_docx,
    "documents/campagne/programme_mai.docx": programme_after_leak_docx,
    "documents/campagne/agenda_2031.docx": agenda_future_docx,
    "documents/presse/invitation.docx": invitation_canary_docx,
    "documents/presse/dossier_presse.docx": dossier_presse_docx,
    "documents/finances/devis_2013-114.pdf": devis_updated_pdf,
    "documents/presse/communique_lyon.pdf": communique_xmp_reversed_pdf,
    "documents/presse/tract_lille.pdf": tract_after_leak_pdf,
    "documents/finances/releve.jpg": pdf.xmp_mismatch_pdf,
    "photos/meeting_lyon.jpg": photo_dates_reversed_jpg,
    "photos/rassemblement.jpg": photo_after_leak_jpg,
    "photos/meeting_retouche.jpg": photo_retouched_jpg,
    "photos/meeting_export_web.jpg": image_tables.photo_resaved_pillow,
    "photos/meeting_photoshop.jpg": image_tables.photo_resaved_photoshop,
    "mail/virement.eml": mail_after_leak_eml,
    "mail/re_affiches.eml": mail_backdated_client_eml,
    "documents/presse/revue_de_presse.docx": revue_de_presse_docx,
    "documents/campagne/lettre_militants.docx": lettre_militants_docx,
    "documents/finances/budget_meetings.xlsx": budget_meetings_xlsx,
    "documents/presse/accreditation.pdf": accreditation_open_uri_pdf,
    "documents/presse/programme_meeting.pdf": programme_page_script_pdf,
    "documents/finances/facture_0417.pdf": facture_launch_pdf,
    "mail/invitation_benevoles.eml": invitation_pixel_eml,
    "documents/campagne/affiche_lille.odt": affiche_linked_image_odt,
    "documents/finances/devis_2017-118_signe.pdf": pdf_signed.signed_then_changed_pdf,
    "documents/campagne/convention_salle_lille.pdf": pdf_signed.signed_form_filled_pdf,
    "documents/finances/attestation_livraison.pdf": pdf_signed.signed_expired_cert_pdf,
}
"""Files the labeled set adds to the sample leak, by their place in it."""

LEAK_DATE = "2017-05-05"
"""When the invented dump went public (the README's sample scan passes it as --leak-date)."""

LABELS: tuple[Planted, ...] = (
    # Planted forgeries.
    Planted(
        "documents/campagne/note_deplacements_v2.docx",
        "altered",
        (
            "modified-before-created",
            "printed-before-created",
            "ooxml-zip-repacked",
            "ooxml-zip-time-far-from-modified",
        ),
        "dates typed in; re-zipped by another tool",
    ),
    Planted(
        "documents/campagne/note_2012.docx",
        "altered",
        ("office-version-newer-than-save", "edit-time-exceeds-span"),
        "2012 dates, Office 2016 AppVersion, 10 days of editing in 7",
    ),
    Planted(
        "documents/campagne/programme_mai.docx",
        "altered",
        (
            "doc-time-after-leak-date",
            "ooxml-revision-below-rsids",
            "declared-language-differs-from-text",
        ),
        "saved after the leak; revision 1 with 14 rsids; de-DE on French text",
    ),
    Planted(
        "documents/campagne/agenda_2031.docx",
        "altered",
        ("timestamp-in-future", "doc-time-after-leak-date"),
        "last saved in 2031",
    ),
    Planted(
        "documents/finances/devis_2013-114.pdf",
        "altered",
        (
            "pdf-incremental-update-once",
            "pdf-id-unchanged-after-update",
            "pdf-producer-newer-than-last-save",
            "pdf-launch-action",
        ),
        "updated by a 2015 producer with 2013 dates, /ID kept, Launch action added",
    ),
    Planted(
        "documents/presse/communique_lyon.pdf",
        "altered",
        ("xmp-modified-before-created", "pdf-info-xmp-title-mismatch"),
        "XMP modified before created, another title",
    ),
    Planted(
        "documents/presse/tract_lille.pdf",
        "altered",
        ("pdf-xmp-time-after-leak-date", "pdf-info-xmp-moddate-mismatch"),
        "XMP rewritten after the leak",
    ),
    Planted(
        "documents/finances/releve.jpg",
        "altered",
        (
            "extension-content-mismatch",
            "pdf-info-xmp-author-mismatch",
            "pdf-info-xmp-producer-mismatch",
        ),
        "a partially rewritten PDF renamed .jpg",
    ),
    Planted(
        "photos/meeting_lyon.jpg",
        "altered",
        ("image-original-after-modified", "image-editor-on-camera-original"),
        "DateTimeOriginal after DateTime; Photoshop",
    ),
    Planted(
        "photos/rassemblement.jpg",
        "altered",
        ("image-time-after-leak-date",),
        "taken after the leak",
    ),
    Planted(
        "photos/meeting_retouche.jpg",
        "altered",
        ("image-thumbnail-mismatch", "image-editor-on-camera-original"),
        "retouched in GIMP, old thumbnail kept",
    ),
    Planted(
        "mail/virement.eml", "altered", ("email-time-after-leak-date",), "dated after the leak"
    ),
    Planted(
        "mail/re_affiches.eml",
        "altered",
        ("email-date-after-first-hop", "mail-client-newer-than-date"),
        "Date rewritten, client from 2018",
    ),
    # Planted decoys.
    Planted(
        "documents/presse/invitation.docx",
        "decoy",
        ("decoy-canarytoken-link", "decoy-token-shaped-url"),
        "Canarytokens web bug",
    ),
    Planted(
        "documents/presse/dossier_presse.docx",
        "decoy",
        ("decoy-beacon-host",),
        "read-tracker picture",
    ),
    Planted(
        "documents/presse/revue_de_presse.docx",
        "decoy",
        ("decoy-linked-image-web-bug", "decoy-fetch-on-open"),
        "footer picture linked from a web server (a:blip r:link, TargetMode External)",
    ),
    Planted(
        "documents/campagne/lettre_militants.docx",
        "decoy",
        ("decoy-remote-template", "decoy-fetch-on-open"),
        "attached template fetched from a web server",
    ),
    Planted(
        "documents/finances/budget_meetings.xlsx",
        "decoy",
        ("decoy-token-shaped-url", "decoy-fetch-on-open"),
        "external workbook link to a canary-token path",
    ),
    Planted(
        "documents/presse/accreditation.pdf",
        "decoy",
        ("decoy-pdf-contacts-host-on-open", "pdf-active-content"),
        "/OpenAction /URI beacon",
    ),
    Planted(
        "documents/presse/programme_meeting.pdf",
        "decoy",
        ("decoy-pdf-contacts-host-on-open", "pdf-active-content"),
        "page /AA /O JavaScript calling app.launchURL",
    ),
    Planted(
        "documents/finances/facture_0417.pdf",
        "decoy",
        (
            "decoy-pdf-contacts-host-on-open",
            "decoy-unc-path",
            "pdf-launch-action",
            "decoy-fetch-on-open",
        ),
        "/OpenAction /Launch of a file on a Windows share",
    ),
    Planted(
        "mail/invitation_benevoles.eml",
        "decoy",
        ("decoy-canarytoken-link", "decoy-page-loads-remote-content"),
        "HTML mail with a 1x1 Canarytokens picture",
    ),
    Planted(
        "documents/campagne/affiche_lille.odt",
        "decoy",
        ("decoy-token-shaped-url", "decoy-fetch-on-open"),
        "picture linked from a canary host (draw:image xlink:href)",
    ),
    Planted(
        "documents/finances/devis_2017-118_signe.pdf",
        "altered",
        ("pdf-signed-then-changed", "pdf-form-revision-text-changed"),
        "signed quote whose amount was changed in the page content after signing",
    ),
    # Signed files that stay genuine (their signature verifies as of the signing time).
    Planted(
        "documents/campagne/convention_salle_lille.pdf",
        "genuine",
        (),
        "signed agreement whose form field was filled in afterwards, as its /DocMDP allows",
    ),
    Planted(
        "documents/finances/attestation_livraison.pdf",
        "genuine",
        ("pdf-signature-verified",),
        "signed in 2017 with a certificate that expired in 2018",
    ),
    # Fixtures the sample leak already holds.
    Planted("documents/ooxml/memo.docx", "genuine"),
    Planted("documents/ooxml/slides.pptx", "genuine"),
    Planted("documents/pdf/report.pdf", "genuine"),
    Planted("documents/pdf/scan_ocr.pdf", "genuine"),
    Planted("documents/misc/tableau.ods", "genuine"),
    Planted("documents/misc/notes.txt", "genuine"),
    Planted("documents/ole2/diaporama.ppt", "genuine"),
    Planted("photos/photo_camera.jpg", "genuine"),
    Planted("photos/photo_camera_tables.jpg", "genuine"),
    # Re-saves of photo_camera_tables.jpg that keep its EXIF: leads (low findings), not
    # proof; a web export changes nothing the picture shows, so the verdict stays no_signal.
    Planted(
        "photos/meeting_export_web.jpg",
        "genuine",
        ("image-camera-tables-replaced",),
        "the camera photo re-saved by Pillow at quality 85 (IJG tables, JFIF first)",
    ),
    Planted(
        "photos/meeting_photoshop.jpg",
        "genuine",
        ("image-camera-tables-replaced", "image-editor-on-camera-original"),
        "the camera photo saved again from Photoshop (its tables, APP13 and APP14 Adobe)",
    ),
    Planted("photos/diagram.png", "genuine"),
    Planted("photos/scan.tiff", "genuine"),
    Planted("mail/meeting.eml", "genuine"),
    Planted(
        "documents/ooxml/budget_ru.xlsx",
        "altered",
        (
            "last-editor-script-differs-from-author",
            "ooxml-office-ui-cyrillic",
            "ooxml-zip-repacked",
        ),
        "re-saved by a Russian-language Excel, repacked",
    ),
    Planted(
        "documents/ole2/budget_ru.xls",
        "altered",
        ("last-editor-script-differs-from-author", "ole-office-ui-cyrillic", "codepage-cyrillic"),
        "re-saved by a Russian-language Excel",
    ),
    Planted(
        "documents/ole2/note_ru.doc",
        "altered",
        (
            "last-editor-script-differs-from-author",
            "word-install-language-cyrillic",
            "codepage-cyrillic",
            "macros-present",
        ),
        "re-saved by a Russian Word, macro added",
    ),
    Planted(
        "documents/ole2/rapport.doc",
        "altered",
        ("ole-directory-time-after-saved", "container-time-after-leak-date"),
        "compound file rewritten after the leak",
    ),
    Planted(
        "documents/misc/minutes.odt",
        "altered",
        ("last-editor-script-differs-from-author", "proofing-language-cyrillic"),
        "last saved by a Cyrillic-script account",
    ),
    Planted(
        "documents/pdf/budget_two_updates.pdf",
        "altered",
        ("pdf-revision-text-changed", "pdf-incremental-updates-several"),
        "a figure raised tenfold in an update",
    ),
    Planted(
        "documents/pdf/xmp_mismatch.pdf",
        "altered",
        (
            "pdf-info-xmp-author-mismatch",
            "pdf-info-xmp-producer-mismatch",
            "pdf-info-xmp-moddate-mismatch",
        ),
        "XMP rewritten by another author",
    ),
    Planted(
        "documents/ooxml/memo_remote_template.docx",
        "decoy",
        ("decoy-remote-template", "decoy-unc-path", "decoy-fetching-field-code"),
        "remote template and UNC picture",
    ),
    Planted(
        "documents/misc/lettre.rtf",
        "decoy",
        ("decoy-fetching-field-code", "decoy-unc-path"),
        "INCLUDEPICTURE web bug",
    ),
    Planted(
        "documents/pdf/beacon.pdf",
        "decoy",
        ("decoy-pdf-script-with-links",),
        "JavaScript beacon on open",
    ),
)
"""Expected label and rules of every labeled file, by path relative to the dump's root."""


def labels_csv() -> str:
    """``LABELS`` as the CSV ``leaktriage eval`` reads: ``path,label,rules``."""
    lines = ["path,label,rules"]
    lines += [
        f"{e.path},{e.label},{';'.join(e.rules)}" for e in sorted(LABELS, key=lambda e: e.path)
    ]
    return "\n".join(lines) + "\n"
