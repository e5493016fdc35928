"""Plain text, CSV, JSON, XML, logs and source code: the body sample, its encoding, its links.

A leaked ``.txt`` has no metadata of its own, but two things in it still matter: the links it
points to (a UNC path or a tracking URL pasted into notes) and the encoding it was saved in.
A French campaign's notes saved as Windows-1251 were typed on a machine set up for Cyrillic.
Only the first :data:`READ_BYTES` are read. A flat (single XML file) OpenDocument arrives here
as ``application/xml`` and is handed to the ODF reader.
"""

from __future__ import annotations

import logging
import re

from leaktriage import detect
from leaktriage.extractors import Extraction, Source, _links, html, odf, register
from leaktriage.extractors._codepage import codepage_of
from leaktriage.extractors._encoding import PROBE_BYTES, decode

log = logging.getLogger(__name__)

READ_BYTES = 8 << 20
"""Bytes of the file read: the sample needs a few kB, the link search gets the rest."""

_XMLNS = re.compile(
    r"""\b(?:xmlns(?::[\w.-]+)?|[\w.-]+:schemaLocation|[\w.-]+:noNamespaceSchemaLocation)"""
    r"""\s*=\s*(?:"[^"]*"|'[^']*')"""
)


def external_links(text: str, xml: bool = False) -> list[str]:
    """Links in plain text; for XML, namespace names and schema locations are left out."""
    if xml:
        text = _XMLNS.sub(" ", text)
    return _links.find_links(text)


@register(
    name="text",
    version=1,
    mime_types={
        "text/plain",
        "text/csv",
        "text/tab-separated-values",
        "text/markdown",
        "text/x-log",
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "text/calendar",
        "text/vcard",
        "text/troff",
        "text/x-Algol68",
        "text/x-asm",
        "text/x-c",
        "text/x-c++",
        "text/x-diff",
        "text/x-java",
        "text/x-msdos-batch",
        "text/x-ms-regedit",
        "text/x-perl",
        "text/x-php",
        "text/x-po",
        "text/x-ruby",
        "text/x-script.python",
        "text/x-shellscript",
        "text/x-tex",
        "application/javascript",
    },
)
def extract(source: Source) -> Extraction:
    """Read the start of a text file: sample, encoding (as a code page) and links.

    Libmagic's "text/x-Algol68" and "text/x-c" are claimed too: it gives them to ordinary
    prose often enough. A flat OpenDocument XML file is read by the ODF extractor instead,
    and an XHTML page that starts with an XML declaration by the HTML extractor.
    """
    with source.open() as handle:
        data = handle.read(READ_BYTES)
    if source.mime == "application/xml" and detect.is_flat_odf(data):
        return odf.extract_flat(source)
    if source.mime == "application/xml" and detect.is_xhtml(data):
        return html.extract(source)
    out = Extraction()
    text, codec = decode(data)
    out.raw["text:encoding"] = codec
    if not data[:PROBE_BYTES].isascii() or codec.startswith(("utf-16", "utf-32")):
        out.put("doc.codepage", codepage_of(codec))
    out.put("text.sample", text[: source.text_sample_bytes])
    is_xml = source.mime == "application/xml"
    _links.Contacts().put(out, external_links(text, xml=is_xml))
    if source.size > READ_BYTES:
        out.raw["text:bytes_read"] = str(READ_BYTES)
    log.debug("text %s: %s, %d chars", source.name, codec, len(text))
    return out
