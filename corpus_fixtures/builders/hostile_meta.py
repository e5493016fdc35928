"""Files whose metadata is an attack on whoever reads the report: script tags, attribute
break-outs, ``javascript:`` URLs, a ``</script>`` that would close the report's data block,
and 10,000-character values, in author, title, file name and email subject.

Each payload, if a report ever ran it, sets ``window.__pwned`` and calls ``alert``; the
report's browser test asserts neither happened and that the text shows as text.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from corpus_fixtures import EPOCH, PEOPLE
from corpus_fixtures.builders import ooxml, pdf
from corpus_fixtures.builders.archive import zip_bytes
from corpus_fixtures.builders.email import DOMAIN, _message, address

SCRIPT = '<script>window.__pwned="script";alert("script")</script>'
"""A script element in a title."""
IMG = "\"><img src=x onerror=\"window.__pwned='img';alert('img')\">"
"""An attribute break-out with an image whose error handler runs script."""
JS_URL = 'javascript:window.__pwned="url";alert("url")'
"""A ``javascript:`` URL where a report might make a link."""
CLOSE = '</script><script>window.__pwned="close"</script><!--'
"""Closes the report's JSON block and opens a comment, if the JSON were not escaped."""
LONG = "Rapport-" + "tres-long-" * 999 + "FIN"
"""A 10,001-character value (tables and panels must not break on it)."""
MARKER_AUTHOR = "Auteur " + IMG
"""The docx's author."""
EMAIL_SUBJECT = "Réunion " + SCRIPT + " " + CLOSE
ATTACHMENT_NAME = "<img src=x onerror=window.__pwned=7>.txt"
"""An attachment and a disk file named with markup (no slash, so it stays one name)."""
DISK_NAME = '"><img src=x onerror=window.__pwned=8>.txt'


def hostile_docx() -> bytes:
    """The campaign memo with a script title, an image-tag author, a ``javascript:`` last
    editor and a 10,000-character comment."""
    parts = ooxml.memo_parts()
    core = ooxml._core(
        SCRIPT,
        MARKER_AUTHOR,
        JS_URL,
        ooxml.CREATED,
        EPOCH,
        f"<dc:description>{LONG}</dc:description>",
    )
    return zip_bytes(
        [(name, core if name == "docProps/core.xml" else data) for name, data in parts],
        date_time=ooxml.OFFICE_DOS_TIME,
        create_system=0,
    )


def hostile_pdf() -> bytes:
    """A PDF whose Info title closes a script block, author is an image tag, creator a
    ``javascript:`` URL and subject 10,000 characters long."""
    doc = pdf._new_doc()
    pdf._text_page(doc, ["Compte rendu de la reunion."])
    pdf._set_info(
        doc,
        {
            "Title": CLOSE,
            "Author": IMG,
            "Creator": JS_URL,
            "Producer": SCRIPT,
            "Subject": LONG,
            "CreationDate": "D:20170310081200Z",
            "ModDate": "D:20170314093000Z",
        },
    )
    pdf._set_id(doc, "7B1D3F5A7C9E1B3D5F7A9C1E3B5D7F9A", "7B1D3F5A7C9E1B3D5F7A9C1E3B5D7F9A")
    return pdf._finish(doc)


def hostile_eml() -> bytes:
    """A message with a script subject, an image-tag sender name, a markup attachment name
    and a 10,000-character X-Mailer."""
    message: EmailMessage = _message(
        [
            ("From", f"{IMG} <{PEOPLE[2].lower().replace(' ', '.')}@{DOMAIN}>"),
            ("To", address(PEOPLE[0])),
            ("Subject", EMAIL_SUBJECT),
            ("Date", "Thu, 04 May 2017 09:15:00 +0200"),
            ("Message-ID", f"<20170504071500.6610@{DOMAIN}>"),
            ("X-Mailer", LONG),
        ]
    )
    message.set_content(f"Lien : {JS_URL}\n{SCRIPT}\n")
    message.add_attachment(
        f"{SCRIPT}\n".encode(),
        maintype="text",
        subtype="plain",
        filename=ATTACHMENT_NAME,
    )
    message.set_boundary("=_hostile_0001")
    return message.as_bytes()


def hostile_names_zip() -> bytes:
    """An archive whose member names are markup and a ``javascript:`` URL."""
    return zip_bytes(
        [
            (f"{IMG}.txt", b"Notes.\n"),
            ("javascript:window.__pwned=9.txt", b"Notes.\n"),
            (f"{LONG[:200]}.txt", b"Notes.\n"),
        ]
    )


def hostile_disk_name() -> bytes:
    """A plain text file; its danger is its name on disk."""
    return b"Liste des salles.\n"


FIXTURES: dict[str, Callable[[], bytes]] = {
    "hostile_meta.docx": hostile_docx,
    "hostile_meta.pdf": hostile_pdf,
    "hostile_meta.eml": hostile_eml,
    "hostile_names.zip": hostile_names_zip,
    DISK_NAME: hostile_disk_name,
}
