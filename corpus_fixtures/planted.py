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
from corpus_fixtures.builders import image, ooxml, pdf
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
    "mail/virement.eml": mail_after_leak_eml,
    "mail/re_affiches.eml": mail_backdated_client_eml,
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
    # Fixtures the sample leak already holds.
    Planted("documents/ooxml/memo.docx", "genuine"),
    Planted("documents/ooxml/slides.pptx", "genuine"),
    Planted("documents/pdf/report.pdf", "genuine"),
    Planted("documents/pdf/scan_ocr.pdf", "genuine"),
    Planted("documents/misc/tableau.ods", "genuine"),
    Planted("documents/misc/notes.txt", "genuine"),
    Planted("documents/ole2/diaporama.ppt", "genuine"),
    Planted("photos/photo_camera.jpg", "genuine"),
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
