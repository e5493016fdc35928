"""Plain text, CSV, JSON, XML, logs and source code: the body sample, its encoding, its links.

A leaked ``.txt`` has no metadata of its own, but two things in it still matter: the links it
points to (a UNC path or a tracking URL pasted into notes) and the encoding it was saved in.
A French campaign's notes saved as Windows-1251 were typed on a machine set up for Cyrillic.
Only the first :data:`READ_BYTES` are read. A flat (single XML file) OpenDocument arrives here
as ``application/xml`` and is handed to the ODF reader.
"""

from __future__ import annotations

import codecs
import logging
import re

from leaktriage.extractors import Extraction, Source, _links, register

log = logging.getLogger(__name__)

READ_BYTES = 8 << 20
"""Bytes of the file read: the sample needs a few kB, the link search gets the rest."""
PROBE_BYTES = 64 << 10
"""Bytes looked at to guess an encoding."""

CODEPAGES: dict[str, int] = {
    "utf-8": 65001,
    "utf-16-le": 1200,
    "utf-16-be": 1201,
    "utf-32-le": 12000,
    "utf-32-be": 12001,
    "cp1250": 1250,
    "cp1251": 1251,
    "cp1252": 1252,
    "cp1253": 1253,
    "cp1254": 1254,
    "cp1255": 1255,
    "cp1256": 1256,
    "cp1257": 1257,
    "cp1258": 1258,
    "cp866": 866,
    "cp874": 874,
    "cp932": 932,
    "cp936": 936,
    "gbk": 936,
    "gb2312": 936,
    "cp949": 949,
    "euc_kr": 949,
    "cp950": 950,
    "big5": 950,
    "shift_jis": 932,
    "koi8-r": 20866,
    "koi8-u": 21866,
    "latin-1": 28591,
    "iso8859-1": 28591,
    "iso8859-2": 28592,
    "iso8859-5": 28595,
    "iso8859-15": 28605,
    "mac-roman": 10000,
    "mac-cyrillic": 10007,
}
"""Python codec names (as ``codecs.lookup(...).name`` spells them) -> Windows code page ids."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XMLNS = re.compile(
    r"""\b(?:xmlns(?::[\w.-]+)?|[\w.-]+:schemaLocation|[\w.-]+:noNamespaceSchemaLocation)"""
    r"""\s*=\s*(?:"[^"]*"|'[^']*')"""
)
_HIGH_WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
"""A word holding at least one byte over 0x80."""
_ASCII_LETTER = re.compile(rb"[A-Za-z]")
_BLOCKS = tuple(bytes(range(start, start + 16)) for start in (0xC0, 0xD0, 0xE0, 0xF0))
_MIDDLE = bytes(range(0x80, 0xC0))
_XHTML = re.compile(rb"<html[\s>]|<!DOCTYPE\s+html", re.IGNORECASE)
"""An XHTML page that libmagic calls XML (it starts with ``<?xml``) is read as HTML."""
_ODF_FLAT = b"urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _count(data: bytes, members: bytes) -> int:
    """How many bytes of ``data`` are among ``members`` (bytes.translate runs in C)."""
    return len(data) - len(data.translate(None, members))


def codepage_of(codec: str) -> int | None:
    """Windows code page id of a Python codec name (``cp1251`` -> 1251); None when unknown."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return None
    return CODEPAGES.get(name)


def bom_codec(data: bytes) -> tuple[str, int] | None:
    """(codec, length of the mark) when ``data`` starts with a Unicode byte-order mark."""
    for mark, codec in _BOMS:
        if data.startswith(mark):
            return codec, len(mark)
    return None


def guess_encoding(data: bytes) -> tuple[str, int]:
    """(codec, length of its byte-order mark) for bytes of unknown encoding.

    The rules, in order: a byte-order mark; UTF-16 without one (NUL on every other byte);
    strict UTF-8 (a sequence cut at the end of the probe is allowed); otherwise a single-byte
    code page, Windows-1252 unless the words say Cyrillic. A French or German word holds a
    few accented bytes among ASCII letters ("r\xe9union"); a Russian word in Windows-1251 or
    KOI8-R is made of bytes over 0x80 only. When most words that contain such bytes have no
    ASCII letter, the text is Cyrillic (markup around it does not count, as it would in a
    plain letter ratio). Russian is mostly lower case, which Windows-1251 puts at 0xE0-0xFF,
    KOI8-R at 0xC0-0xDF and ISO 8859-5 at 0xD0-0xEF: the busiest range names the code page
    (ties go to Windows-1251, by far the most common). Double-byte CJK text is
    also made of high bytes, but half of them are 0x80-0xBF, where Cyrillic code pages keep
    only rare letters: it is not guessed. Greek or Hebrew single-byte text without a declared
    charset would be read as Cyrillic; a declared charset (HTML, RTF) always wins over this.
    """
    found = bom_codec(data)
    if found:
        return found
    probe = data[:PROBE_BYTES]
    if len(probe) >= 4:
        even_nul = probe[0::2].count(0)
        odd_nul = probe[1::2].count(0)
        half = len(probe) // 2
        if odd_nul > half * 0.4 and even_nul < half * 0.05:
            return "utf-16-le", 0
        if even_nul > half * 0.4 and odd_nul < half * 0.05:
            return "utf-16-be", 0
    try:
        codecs.getincrementaldecoder("utf-8")().decode(probe, final=len(probe) == len(data))
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", 0
    words = _HIGH_WORD.findall(probe)
    pure = b"".join(word for word in words if not _ASCII_LETTER.search(word))
    cyrillic = pure and sum(map(len, words)) < 2 * len(pure)
    if cyrillic and _count(pure, _MIDDLE) < 0.25 * len(pure):
        c, d, e, f = (_count(pure, block) for block in _BLOCKS)
        scores = {"cp1251": e + f, "koi8-r": c + d, "iso8859-5": d + e}
        return max(scores, key=lambda codec: scores[codec]), 0
    return "cp1252", 0


def decode(data: bytes, codec: str | None = None) -> tuple[str, str]:
    """(text, codec used): ``codec`` when given and known, else :func:`guess_encoding`'s."""
    skip = 0
    if codec:
        try:
            codec = codecs.lookup(codec).name
        except LookupError:
            codec = None
    if not codec:
        codec, skip = guess_encoding(data)
    text = data[skip:].decode(codec, errors="replace")
    return text.replace("\x00", ""), codec


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
    if source.mime == "application/xml" and _ODF_FLAT in data[:4096]:
        from leaktriage.extractors import odf

        return odf.extract_flat(source)
    if source.mime == "application/xml" and _XHTML.search(data[:4096]):
        from leaktriage.extractors import html

        return html.extract(source)
    out = Extraction()
    text, codec = decode(data)
    out.raw["text:encoding"] = codec
    if not data[:PROBE_BYTES].isascii() or codec.startswith(("utf-16", "utf-32")):
        out.put("doc.codepage", codepage_of(codec))
    out.put("text.sample", text[: source.text_sample_bytes])
    is_xml = source.mime == "application/xml"
    out.put("links.external", _links.merge(external_links(text, xml=is_xml)))
    if source.size > READ_BYTES:
        out.raw["text:bytes_read"] = str(READ_BYTES)
    log.debug("text %s: %s, %d chars", source.name, codec, len(text))
    return out
