"""Content sniffing: the type of an item from its bytes. The only module that knows magic bytes.

libmagic gives the broad type; a few refinements follow where it is vague and leaktriage
needs precision: zip containers are told apart by their members ([Content_Types].xml for
OOXML, ``mimetype`` for ODF), compound files by their streams (WordDocument, Workbook,
``__substg1.0_`` for Outlook .msg), and RFC 822 mail and mbox by their header lines.
"""

from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import BinaryIO

import magic

ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
)
"""What zipfile raises on a damaged member (bad headers, bad deflate/lzma/bzip2 data) or on
one it cannot read (``NotImplementedError``: a compression method or zip version it does not
support, such as "zip file version 24.6")."""

Opener = Callable[[], BinaryIO]
"""Gives a fresh seekable binary handle over the whole content of an item."""

SNIFF_BYTES = 1 << 20
"""How much of the start of an item sniffing is given."""
MAGIC_BYTES = 1 << 16
"""How much of it libmagic looks at: every signature it needs sits in the first 64 KiB
(ISO 9660's at 32 KiB), and its text analysis costs time in proportion to what it gets."""

PST = "application/vnd.ms-outlook-pst"
"""Outlook personal folders (.pst/.ost), read by the email extractor when libpff is installed."""

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x1f\x8b\x08", "application/gzip"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (257, b"ustar", "application/x-tar"),
    (0, b"!BDN", PST),
)
"""Unambiguous signatures of common leak types, checked before asking libmagic."""

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip's first bytes: a local file header (which names the first member), or the end of
an empty archive's directory."""
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""A compound (OLE) file's first bytes: legacy Office documents and Outlook messages."""

ARCHIVE_MIMES = frozenset(
    {
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar",
        "application/zstd",
        "application/x-lzma",
        "application/x-compress",
        "application/x-cpio",
        "application/x-iso9660-image",
    }
)
"""Types the walker opens as containers (archives are the walker's job, not an extractor's)."""

OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    "application/vnd.ms-word.document.macroEnabled.main+xml": (
        "application/vnd.ms-word.document.macroEnabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
    ),
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": (
        "application/vnd.ms-word.template.macroEnabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": (
        "application/vnd.ms-excel.sheet.macroEnabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": (
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow"
    ),
}

OOXML_WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OOXML_MIMES = frozenset(OOXML_MAIN.values())
OLE_GENERIC = "application/x-ole-storage"
OLE_MIMES = frozenset(
    {
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-outlook",
        "application/x-ole-storage",
        "application/x-ooxml-encrypted",
    }
)
ODF_PREFIX = "application/vnd.oasis.opendocument."

# Extensions each content type may legitimately carry; a name outside its list is a mismatch.
EXTENSIONS: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({"pdf", "ai"}),
    "application/msword": frozenset({"doc", "dot", "wiz"}),
    "application/vnd.ms-excel": frozenset({"xls", "xlt", "xla"}),
    "application/vnd.ms-powerpoint": frozenset({"ppt", "pps", "pot"}),
    "application/vnd.ms-outlook": frozenset({"msg", "oft"}),
    PST: frozenset({"pst", "ost"}),
    "application/x-ooxml-encrypted": frozenset({"docx", "xlsx", "pptx", "docm", "xlsm", "pptm"}),
    OOXML_WORD: frozenset({"docx"}),
    "application/vnd.ms-word.document.macroEnabled.12": frozenset({"docm"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template": frozenset({"dotx"}),
    "application/vnd.ms-word.template.macroEnabled.12": frozenset({"dotm"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({"xlsx"}),
    "application/vnd.ms-excel.sheet.macroEnabled.12": frozenset({"xlsm"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template": frozenset({"xltx"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": frozenset(
        {"pptx"}
    ),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12": frozenset({"pptm"}),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow": frozenset({"ppsx"}),
    "application/vnd.oasis.opendocument.text": frozenset({"odt"}),
    "application/vnd.oasis.opendocument.spreadsheet": frozenset({"ods"}),
    "application/vnd.oasis.opendocument.presentation": frozenset({"odp"}),
    "application/vnd.oasis.opendocument.graphics": frozenset({"odg"}),
    "application/vnd.oasis.opendocument.text-template": frozenset({"ott"}),
    "application/vnd.oasis.opendocument.spreadsheet-template": frozenset({"ots"}),
    "application/vnd.oasis.opendocument.presentation-template": frozenset({"otp"}),
    "application/vnd.oasis.opendocument.graphics-template": frozenset({"otg"}),
    "application/xhtml+xml": frozenset({"xhtml", "xht", "html", "htm"}),
    "image/jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "image/png": frozenset({"png"}),
    "image/gif": frozenset({"gif"}),
    "image/tiff": frozenset({"tif", "tiff", "dng", "nef", "cr2", "arw"}),
    "image/heic": frozenset({"heic", "heif"}),
    "image/webp": frozenset({"webp"}),
    "image/avif": frozenset({"avif"}),
    "application/zip": frozenset({"zip", "jar", "apk", "xpi", "kmz", "epub"}),
    "application/x-tar": frozenset({"tar"}),
    "application/gzip": frozenset({"gz", "tgz", "gzip"}),
    "application/x-bzip2": frozenset({"bz2", "tbz", "tbz2"}),
    "application/x-xz": frozenset({"xz", "txz"}),
    "application/x-7z-compressed": frozenset({"7z"}),
    "application/vnd.rar": frozenset({"rar"}),
    "application/x-rar": frozenset({"rar"}),
    "message/rfc822": frozenset({"eml", "msg", "mht", "mhtml", "txt", "mail"}),
    "application/mbox": frozenset({"mbox", "mbx", "mail", "txt"}),
    "text/rtf": frozenset({"rtf", "doc"}),
    "text/html": frozenset({"html", "htm", "xhtml", "mht"}),
}

_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,60}:[ \t]?\S", re.MULTILINE)
_MAIL_HEADERS = (
    b"from:",
    b"to:",
    b"subject:",
    b"date:",
    b"message-id:",
    b"received:",
    b"mime-version:",
    b"return-path:",
    b"delivered-to:",
)

XML_DIALECT_BYTES = 4096
"""How much of an ``application/xml`` item :func:`is_flat_odf` and :func:`is_xhtml` look at."""
_ODF_FLAT = b"urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_XHTML = re.compile(rb"<html[\s>]|<!DOCTYPE\s+html", re.IGNORECASE)

# libmagic answers that are the same type under another name.
_ALIASES = {
    "application/x-gzip": "application/gzip",
    "application/x-zip-compressed": "application/zip",
    "application/x-rar-compressed": "application/vnd.rar",
    "text/xml": "application/xml",
    "application/rtf": "text/rtf",
    "image/x-ms-bmp": "image/bmp",
    "application/CDFV2": OLE_GENERIC,
    "application/x-msi": OLE_GENERIC,
    "application/vnd.ms-office": OLE_GENERIC,
    "application/encrypted": OLE_GENERIC,
    "application/CDFV2-unknown": OLE_GENERIC,
    "application/CDFV2-corrupt": OLE_GENERIC,
}


@lru_cache(maxsize=1)
def _magic() -> magic.Magic:
    # One libmagic handle per process; creating it loads the signature database.
    return magic.Magic(mime=True)


MAGIC_CACHE_BYTES = 8192
"""Buffers up to this size have libmagic's answer remembered (see :func:`_magic_mime`)."""


@lru_cache(maxsize=2048)
def _magic_small(head: bytes) -> str:
    return str(_magic().from_buffer(head))


def _magic_mime(head: bytes) -> str:
    """libmagic's MIME type of ``head``, remembered for small buffers.

    libmagic's answer depends on the bytes alone, and a call costs about 0.4 ms whatever
    the size, most of it walking its signature database: a leak repeats its small texts (a
    signature, a disclaimer, a one-line note in a thousand mails), so one answer per
    distinct buffer is the same answer for a fraction of the time. An error is not cached.
    """
    if len(head) <= MAGIC_CACHE_BYTES:
        return _magic_small(bytes(head))
    return str(_magic().from_buffer(head))


def sniff(head: bytes, opener: Opener | None = None) -> str:
    """Return the MIME type of an item from its first bytes (``SNIFF_BYTES`` are enough).

    Args:
        head: the start of the content.
        opener: a callable giving a seekable binary file over the whole content, used only to
            read a zip's member list (OOXML and ODF are zips) or a compound file's directory.
    """
    known = sniff_fast(head, opener)
    if known is not None:
        return known
    try:
        mime = _magic_mime(head[:MAGIC_BYTES])
    except magic.MagicException:
        mime = "application/octet-stream"
    mime = _ALIASES.get(mime, mime)
    if mime == "application/pdf" and not _junk_before_pdf(head):
        # libmagic finds "%PDF-" anywhere in the first KB: a note that mentions it is text.
        mime = "application/octet-stream" if b"\x00" in head[:1024] else "text/plain"
    if mime == "application/zip":
        return _refine_zip(opener)
    if mime == OLE_GENERIC or mime in OLE_MIMES:
        return _refine_ole(opener) if opener else mime
    if mime.startswith("text/") or mime == "application/octet-stream":
        return _refine_text(head, mime)
    return mime


_PDF_OBJECT = re.compile(rb"\d{1,10}\s+\d{1,5}\s+obj\b")


def _junk_before_pdf(head: bytes) -> bool:
    """A PDF behind up to 1 KB of junk (readers accept it: a mail gateway's banner, a
    MacBinary header), told from a note that merely mentions "%PDF-" by an object header
    following it. Checked after every signature: a tar whose first member is a PDF is a
    tar (its member's header sits at byte 512)."""
    at = head.find(b"%PDF-", 0, 1024)
    return at > 0 and not head.startswith(b"PK") and bool(_PDF_OBJECT.search(head, at, at + 2048))


def sniff_fast(head: bytes, opener: Opener | None = None) -> str | None:
    """The type from unambiguous signatures alone, or None when libmagic must be asked.

    Archives and the document types leaks are made of are recognised here, so the walker
    can decide what to open without the cost of libmagic, which then runs in the workers.
    """
    if not head:
        return "application/x-empty"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(ZIP_MAGIC):
        return _refine_zip(opener)
    if head.startswith(OLE_MAGIC):
        return _refine_ole(opener)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"{\\rtf"):
        return "text/rtf"
    for offset, signature, known in _SIGNATURES:
        if head.startswith(signature, offset):
            return known
    if _junk_before_pdf(head):
        return "application/pdf"
    if head[:1].isalpha():
        mail = _refine_text(head, "text/plain")
        if mail != "text/plain":
            return mail
    return None


def sniff_for_walk(head: bytes, opener: Opener | None = None) -> str:
    """The type as far as the walker needs it ("" when a worker is to tell): the walker opens
    archives itself and hands everything else to a worker.

    Compound (OLE) files are never archives, and a zip whose first member is an OOXML
    ``[Content_Types].xml`` or an ODF/EPUB ``mimetype`` is a document: their directories are
    read by the worker's extractor anyway, so they are typed there rather than twice. A
    worker that finds a plain zip after all hands it back unparsed, and the walker opens it
    then (see ``extract_item``). Other zips are told apart here, as before.
    """
    if head.startswith(OLE_MAGIC):
        return ""
    if head.startswith(ZIP_MAGIC[0]) and len(head) >= 30:
        name_length = int.from_bytes(head[26:28], "little")
        if head[30 : 30 + name_length] in (b"[Content_Types].xml", b"mimetype"):
            return ""
    return sniff_fast(head, opener) or ""


def _refine_text(head: bytes, mime: str) -> str:
    """Tell RFC 822 messages and mbox files from other text."""
    start = head.lstrip(b"\r\n\t ")[:65536]
    if start.startswith(b"From ") and b"\n" in start:
        second = start.split(b"\n", 1)[1].lower()
        if any(second.startswith(h) for h in _MAIL_HEADERS) or _HEADER_LINE.match(second):
            return "application/mbox"
    if mime in ("text/plain", "message/rfc822", "application/octet-stream", "text/x-mail"):
        block = start.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].lower()
        lines = [line for line in block.splitlines() if line and line[:1] not in b" \t"]
        if lines and all(_HEADER_LINE.match(line) for line in lines[:3]):
            known = sum(1 for line in lines if line.startswith(_MAIL_HEADERS))
            if known >= 2:
                return "message/rfc822"
    return mime


def _refine_zip(opener: Opener | None) -> str:
    """OOXML, ODF or plain zip, from the member list."""
    if opener is None:
        return "application/zip"
    try:
        with opener() as handle, zipfile.ZipFile(handle) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size <= 1 << 20:
                    types = archive.read(info).decode("utf-8", "replace")
                    for main, mime in OOXML_MAIN.items():
                        if main in types:
                            return mime
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 200:
                    declared = archive.read(info).decode("ascii", "replace").strip()
                    if declared.startswith(ODF_PREFIX) or declared == "application/epub+zip":
                        return declared
    except (*ZIP_READ_ERRORS, KeyError, RuntimeError):
        return "application/zip"
    return "application/zip"


def _refine_ole(opener: Opener | None) -> str:
    """Word, Excel, PowerPoint, Outlook message or encrypted OOXML, from the stream names."""
    if opener is None:
        return OLE_GENERIC
    import olefile

    try:
        with opener() as handle:
            ole = olefile.OleFileIO(handle)
            try:
                names = {"/".join(entry).lower() for entry in ole.listdir(streams=True)}
            finally:
                ole.close()
    except (OSError, ValueError, IndexError, TypeError, AttributeError, KeyError):
        return OLE_GENERIC
    if "worddocument" in names:
        return "application/msword"
    if "workbook" in names or "book" in names:
        return "application/vnd.ms-excel"
    if "powerpoint document" in names:
        return "application/vnd.ms-powerpoint"
    if any(name.startswith("__substg1.0_") for name in names) or "__properties_version1.0" in names:
        return "application/vnd.ms-outlook"
    if "encryptedpackage" in names:
        return "application/x-ooxml-encrypted"
    return OLE_GENERIC


def is_flat_odf(head: bytes) -> bool:
    """True for a flat (single XML file) OpenDocument, which libmagic calls XML: the text
    extractor, which reads ``application/xml``, hands it to the ODF reader."""
    return _ODF_FLAT in head[:XML_DIALECT_BYTES]


def is_xhtml(head: bytes) -> bool:
    """True for an XHTML page that libmagic calls XML (it starts with ``<?xml``): the text
    extractor, which reads ``application/xml``, hands it to the HTML reader."""
    return _XHTML.search(head[:XML_DIALECT_BYTES]) is not None


def extension_mismatch(mime: str, extension: str) -> bool:
    """True when the name's extension belongs to another type than the sniffed content.

    Only types leaktriage knows precisely are judged; an unknown pair is not a mismatch.
    """
    if not extension:
        return False
    allowed = EXTENSIONS.get(mime)
    if allowed is None:
        return False
    return extension not in allowed


def is_archive(mime: str) -> bool:
    """True for containers the walker opens (zip, tar, compressed streams, 7z, rar)."""
    return mime in ARCHIVE_MIMES
