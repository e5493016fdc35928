"""PDF: Info dictionary and XMP side by side, save history, trailer /ID, fonts, active content.

PyMuPDF reads the document; the save history comes from the raw bytes, because a PDF edited
with "incremental save" keeps every earlier version in the file and PyMuPDF shows only the
last. Each earlier revision is reopened from the byte prefix that ends at its ``%%EOF`` and
its text is compared with the final one: a figure changed after the first save is the
strongest alteration evidence a PDF can give, and it hands the reader the original text.

``doc.*`` facts come from the Info dictionary (what ExifTool reports as ``PDF:*``); the XMP
packet goes into ``pdf.xmp_*`` so the two can be compared. When the Info dictionary lacks a
value (PDF 2.0 deprecates it; some generators write XMP only), the XMP value fills the
``doc.*`` fact so rules still see an author or a date; ``pdf.info`` lists the Info keys that
were really present, and ``raw`` names the source of every value (``Info/Author``,
``XMP/dc:creator``).
"""

from __future__ import annotations

import difflib
import logging
import re
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pymupdf as _pymupdf

from leaktriage.errors import CorruptFileError, EncryptedFileError, WrongFormatError
from leaktriage.extractors import Child, Extraction, Source, _links, _xml, register
from leaktriage.extractors._dates import Stamp, parse_iso, parse_pdf
from leaktriage.extractors._links import find_links, merge
from leaktriage.model import Issue
from leaktriage.safetext import decode_name

log = logging.getLogger(__name__)

pymupdf: Any = _pymupdf
"""PyMuPDF as ``Any``: its functions carry no annotations, which strict mypy refuses to call."""

# MuPDF prints its errors on standard output by default, in the middle of the command's
# tables or of `export --out -`. They stay in its message store instead, which the
# extraction turns into the item's issues (see _mupdf_issue); PyMuPDF's own messages go to
# the log (shown with -v).
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)
if hasattr(pymupdf, "set_messages"):
    pymupdf.set_messages(pylogging_name="pymupdf", pylogging_level=logging.INFO)

MAX_RAW = 4096
"""Characters kept per raw value."""
MAX_INFO_KEYS = 64
MAX_XMP_RAW = 200
"""XMP properties copied into ``raw`` at most."""
MAX_HISTORY = 100
"""xmpMM:History events kept."""
MAX_PAGES = 200
"""Pages whose fonts, annotations and images are looked at."""
MAX_FONTS = 500
MAX_ANNOTS = 5000
"""Annotations inspected for actions over the whole document."""
MAX_ACTION_REFS = 50
"""Elements read from one array of actions, and name-tree nodes and values followed."""
MAX_ACTIONS = 2000
"""Actions read in one document, chained /Next actions included."""
MAX_ACTION_DEPTH = 16
"""Nesting of /Next chains and action arrays followed."""
MAX_ACTION_ENTRIES = 500
"""Entries kept in ``pdf.actions``."""
MAX_DICT_ENTRIES = 200
"""Entries read from one dictionary's object text."""
MAX_SCRIPT_EXCERPT = 200
"""Characters of a script without any address shown in ``pdf.actions``."""
MAX_JS_STREAM = 1 << 20
"""Bytes of a JavaScript stream searched for URLs."""
MAX_EOF_MARKERS = 1000
MAX_REVISIONS = 32
"""Revisions (saves) considered; earlier ones beyond this are counted but not reopened."""
MAX_REVISION_PAGES = 50
MAX_REVISION_CHARS = 200_000
"""Text compared per revision."""
MAX_REVISION_BYTES = 512 * 1024 * 1024
"""Total prefix bytes reopened for revision recovery."""
MAX_DIFF_LINES = 5000
MAX_DIFF_HUNKS = 20
MAX_HUNK_CHARS = 300
MAX_EMBEDDED = 100
"""Embedded files handed back to the pipeline at most."""
MAX_EMBEDDED_BYTES = 64 * 1024 * 1024
"""Embedded files larger than this are listed but not analysed."""
MAX_ENCODED_OTHER = 1024 * 1024
"""Streams under filters other than Flate are decoded only up to this encoded size."""
IMAGE_PAGE_COVER = 0.9
"""Share of the page area images must cover for the page to count as a scan."""
MAX_TRAILER_SCAN = 64 * 1024
"""Bytes read after an xref offset to find its trailer dictionary."""

_MUPDF_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    pymupdf.mupdf.FzErrorBase,
)
"""What PyMuPDF raises on damaged or hostile objects."""

_HEADER = re.compile(rb"%PDF-(\d\.\d{1,2})")
_EOF = re.compile(rb"%%EOF")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,12})")
_PREV = re.compile(rb"/Prev\s+(\d{1,12})")
_LINEARIZED = re.compile(rb"\d+\s+\d+\s+obj\s*<<[^>]{0,200}?/Linearized\b[^>]{0,400}>>")
_LIN_LENGTH = re.compile(rb"/L\s+(\d{1,12})")
_OBJ_AT = re.compile(rb"\s*\d+\s+\d+\s+obj\b")
_OBJ_NUMBER = re.compile(rb"(?<![0-9])([0-9]+)\s+[0-9]+\s+obj\b")
MAX_TEXT_OBJECTS = 20_000
"""Objects followed from the compared pages before giving up the shortcut (and re-reading
the earlier revision's text)."""
_REF = re.compile(r"(\d+)\s+0\s+R")
_KEY = re.compile(r"/([^\s/\[\]<>(){}%]*)")
_ATOM = re.compile(r"/[^\s/\[\]<>(){}%]*|[^\s/\[\]<>(){}%]+")
"""A name, number or keyword in object text."""
_JS_CALL = re.compile(r"([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*\(")
# Additional-actions triggers (ISO 32000-1, 12.6.3, tables 194-197) in plain words.
_DOCUMENT_AA = {
    "WC": "closing",
    "WS": "before saving",
    "DS": "after saving",
    "WP": "before printing",
    "DP": "after printing",
}
_PAGE_AA = {"O": "page opened", "C": "page closed"}
_ANNOT_AA = {
    "E": "pointer enters",
    "X": "pointer leaves",
    "D": "mouse pressed",
    "U": "mouse released",
    "Fo": "focus",
    "Bl": "focus lost",
    "PO": "page opened",
    "PC": "page closed",
    "PV": "page shown",
    "PI": "page hidden",
    "K": "keystroke",
    "F": "value formatted",
    "V": "value validated",
    "C": "value calculated",
}
_AUTOMATIC_ANNOT = frozenset({"PO", "PC", "PV", "PI", "F", "C"})
"""Annotation and field triggers that fire without the reader touching anything."""
_FILE_ACTIONS = frozenset({"SubmitForm", "GoToR", "GoToE", "ImportData", "Thread"})
"""Action types whose /F names another file or a web address (ISO 32000-1, 12.6.4)."""
# Raw-byte keywords, specific enough not to occur by chance inside compressed streams.
_RAW_JS = re.compile(rb"/S\s*/JavaScript\b|/JS\s*[(<]|/JS\s+\d+\s+\d+\s+R")
_RAW_LAUNCH = re.compile(rb"/S\s*/Launch\b")
_SPACES = re.compile(r"\s+")
_EF_STREAM = re.compile(r"/EF\s*<<[^>]*?/F\s+(\d+)\s+0\s+R")
_HASHES = re.compile(r"/(?:O|U|OE|UE|Perms)\s*<[0-9A-Fa-f]*>")

_NS = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/pdfx/1.3/": "pdfx",
    "http://www.aiim.org/pdfa/ns/id/": "pdfaid",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# PDFDocEncoding where it differs from Latin-1 (ISO 32000-1 Annex D.2).
_PDFDOC = {
    0x18: "˘",
    0x19: "ˇ",
    0x1A: "ˆ",
    0x1B: "˙",
    0x1C: "˝",
    0x1D: "˛",
    0x1E: "˚",
    0x1F: "˜",
    **dict(enumerate("•†‡…—–ƒ⁄‹›−‰„“”‘’‚™ﬁﬂŁŒŠŸŽıłœšž", start=0x80)),
    0xA0: "€",
}


@dataclass(slots=True)
class _Section:
    """One ``startxref``/``%%EOF`` section found in the raw bytes."""

    end: int
    """Offset just past the ``%%EOF`` line: the prefix up to here is that revision."""
    xref: int
    """Offset its ``startxref`` points to."""


@dataclass(slots=True)
class _History:
    """The save history read from the raw bytes."""

    linearized: bool = False
    revision_ends: list[int] = field(default_factory=list)
    """End offset of every revision, oldest first (linearization sections merged)."""
    updates: int = 0
    """Backward /Prev hops from the final trailer: saves appended after the first."""


@dataclass(slots=True)
class _Active:
    """Active content found while walking actions."""

    javascript: bool = False
    open_action: bool = False
    launch: bool = False
    links: list[str] = field(default_factory=list)
    actions: dict[str, None] = field(default_factory=dict)
    """``pdf.actions`` entries, in the order read."""
    contacts: _links.Contacts = field(default_factory=_links.Contacts)
    seen: set[int] = field(default_factory=set)
    """Xrefs of the actions already read (a /Next loop ends there)."""
    count: int = 0


@register(name="pdf", version=1, mime_types={"application/pdf"})
def extract(source: Source) -> Extraction:
    """Read Info, XMP, save history, /ID, fonts, active content, forms and text of a PDF.

    Raises:
        WrongFormatError: no ``%PDF-`` header near the start.
        CorruptFileError: PyMuPDF cannot open the file at all.
        EncryptedFileError: a user password is needed (readable facts in ``partial``).
    """
    data = source.read()
    header = _HEADER.search(data, 0, 1024)
    if header is None:
        raise WrongFormatError("no %PDF- header in the first 1024 bytes")
    out = Extraction()
    out.put("pdf.version", header.group(1).decode("ascii"))
    history = _scan_history(data)
    _put_history(out, history)
    # MuPDF says a warning equal to the last one only as "... repeated N times", even when
    # the last one came from the worker's previous file: forget it first, or whether this
    # file's first complaint is seen would depend on which file the worker read before.
    pymupdf.mupdf.fz_flush_warnings()
    pymupdf.TOOLS.reset_mupdf_warnings()
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except _MUPDF_ERRORS as exc:
        raise CorruptFileError(f"PyMuPDF cannot open the PDF: {exc}", partial=out) from exc
    with doc:
        _read(doc, data, source, history, out)
    return out


def _read(doc: Any, data: bytes, source: Source, history: _History, out: Extraction) -> None:
    if doc.is_repaired:
        warnings = [
            line for line in pymupdf.TOOLS.mupdf_warnings().splitlines() if line[:3] != "..."
        ]
        detail = f": {warnings[0]}" if warnings else ""
        if b"%%EOF" in data[-1024:]:
            # Every object is still there (a hand-edited or badly written file): the facts are
            # complete, but the broken table is itself worth a look, so it stays an issue.
            message = f"cross-reference table damaged, MuPDF rebuilt it{detail}"
            out.issues.append(Issue("extract", "corrupt", message))
        else:
            out.note("corrupt", f"file truncated (no final %%EOF), MuPDF rebuilt it{detail}")
    _guard(out, "trailer", lambda: _trailer(doc, out))
    if doc.needs_pass:
        out.put("doc.encrypted", True)
        raise EncryptedFileError("a user password is needed to read the PDF", partial=out)
    _guard(out, "page count", lambda: out.put("doc.page_count", doc.page_count))
    info: dict[str, str] = {}
    _guard(out, "info", lambda: info.update(_info(doc, out)))
    xmp: dict[str, str] = {}
    _guard(out, "xmp", lambda: xmp.update(_xmp(doc, out)))
    _common(out, info, xmp)
    active = _Active()
    _guard(out, "catalog", lambda: _catalog(doc, out, active))
    texts: dict[int, str] = {}
    _guard(out, "pages", lambda: _pages(doc, source, out, active, texts))
    sample = "".join(texts.values())[: source.text_sample_bytes]
    out.put("text.sample", sample)
    _raw_keywords(data, active)
    out.put("pdf.has_javascript", active.javascript)
    out.put("pdf.has_open_action", active.open_action)
    out.put("pdf.has_launch", active.launch)
    out.put("pdf.actions", tuple(active.actions))
    active.contacts.put(out, merge(active.links, find_links(sample)))
    _guard(out, "embedded", lambda: _embedded(doc, out))
    _mupdf_issue(out)  # before the earlier revisions, cut short on purpose, are reopened
    if len(history.revision_ends) > 1:
        _guard(out, "revisions", lambda: _revisions(doc, data, history, info, out, texts))


def _mupdf_issue(out: Extraction) -> None:
    """What MuPDF complained about while reading the document (a damaged content stream, an
    object that is not what it should be), as one issue; the status is left to the parts
    that could not be read."""
    messages = [
        line for line in pymupdf.TOOLS.mupdf_warnings().splitlines() if line and line[:3] != "..."
    ]
    if messages:
        said = ", ".join(f"{m} (x{n})" if n > 1 else m for m, n in Counter(messages).items())
        out.issues.append(Issue("extract", "corrupt", f"MuPDF: {said}"[:2000]))


def _guard(out: Extraction, part: str, work: Callable[[], None]) -> None:
    """Run one part of the extraction; a PyMuPDF error there becomes an issue, not a failure."""
    try:
        work()
    except _MUPDF_ERRORS as exc:
        log.debug("pdf %s unreadable", part, exc_info=True)
        out.note("corrupt", f"{part} unreadable: {type(exc).__name__}: {exc}"[:2000])


# --- PDF object text -----------------------------------------------------------------------


def decode_text(raw: bytes) -> str:
    """Decode a PDF text string the way readers do, trailing NULs dropped.

    UTF-16 and UTF-8 with their byte-order mark; then two repairs for what careless writers
    produce: UTF-16BE without a mark (every other byte zero, as ExifTool also reads it) and
    valid multi-byte UTF-8 without a mark (as MuPDF reads it: a Cyrillic or Japanese title
    written that way would otherwise turn into accented Latin garbage); else PDFDocEncoding.
    """
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        codec = "utf-16-be" if raw[:2] == b"\xfe\xff" else "utf-16-le"
        text = raw[2:].decode(codec, errors="replace")
    elif raw[:3] == b"\xef\xbb\xbf":
        text = raw[3:].decode("utf-8", errors="replace")
    elif len(raw) >= 2 and len(raw) % 2 == 0 and raw[0] == 0 and raw[0::2].count(0) * 2 >= len(raw):
        text = raw.decode("utf-16-be", errors="replace")
    else:
        try:
            text = raw.decode("utf-8") if not raw.isascii() else ""
        except UnicodeDecodeError:
            text = ""
        text = text or raw.decode("latin-1").translate(_PDFDOC)
    return text.rstrip("\x00")


def read_string(text: str, pos: int) -> tuple[bytes, int] | None:
    """The PDF string token (``(literal)`` or ``<hex>``) at ``pos`` of object text, and its end.

    Object text is what PyMuPDF prints for an object; each character stands for one byte.
    """
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] == "<" and not text.startswith("<<", pos):
        end = text.find(">", pos)
        if end < 0:
            return None
        digits = _NOT_HEX.sub("", text[pos + 1 : end])
        if len(digits) % 2:
            digits += "0"
        return bytes.fromhex(digits), end + 1
    if text[pos] != "(":
        return None
    out = bytearray()
    depth, i = 1, pos + 1
    size = len(text)
    while i < size:
        # A run of plain characters is copied in one go (one byte each, "?" above U+00FF).
        plain = _PLAIN_RUN.match(text, i)
        if plain is not None:
            out += plain.group(0).encode("latin-1", errors="replace")
            i = plain.end()
            if i >= size:
                break
        char = text[i]
        if char == "\\" and i + 1 < size:
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt in "01234567":
                digits_match = _OCTAL.match(text, i + 1, i + 4)
                assert digits_match is not None
                out.append(int(digits_match.group(0), 8) & 0xFF)
                i += 1 + len(digits_match.group(0))
            elif nxt in "\r\n":
                i += 3 if text.startswith("\r\n", i + 1) else 2
            else:
                out.append(ord(nxt) & 0xFF)
                i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.extend(char.encode("latin-1", errors="replace") if ord(char) < 256 else b"?")
        i += 1
    return None


_ESCAPES = {"n": 10, "r": 13, "t": 9, "b": 8, "f": 12, "(": 40, ")": 41, "\\": 92}
_PLAIN_RUN = re.compile(r"[^\\()]+")
_OCTAL = re.compile(r"[0-7]{1,3}")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def _value_text(doc: Any, kind: str, value: str) -> str | None:
    """A dictionary value as text: strings decoded, one level of indirection followed."""
    if kind == "xref":
        found = _REF.match(value)
        if not found:
            return None
        target = doc.xref_object(int(found.group(1)), compressed=True)
        token = read_string(target, 0)
        if token is not None:
            return decode_text(token[0])
        return target.strip() or None
    if kind == "null":
        return None
    return value


def _cap(text: str) -> str:
    return text[:MAX_RAW]


# --- trailer, Info, XMP -------------------------------------------------------------------


def _trailer(doc: Any, out: Extraction) -> None:
    kind, value = doc.xref_get_key(-1, "ID")
    if kind == "array":
        out.raw["Trailer/ID"] = _cap(value)
        ids: list[str] = []
        pos = value.find("[") + 1
        while len(ids) < 2:
            token = read_string(value, pos)
            if token is None:
                break
            ids.append(token[0].hex().upper())
            pos = token[1]
        if len(ids) == 2:
            out.put("pdf.id_original", ids[0])
            out.put("pdf.id_current", ids[1])
            out.put("pdf.id_equal", ids[0] == ids[1])
    kind, value = doc.xref_get_key(-1, "Encrypt")
    if kind in {"dict", "xref"}:
        text = value if kind == "dict" else _value_text(doc, kind, value) or ""
        # The password hashes are noise to a reader; the method and permissions are kept.
        out.raw["Trailer/Encrypt"] = _cap(_HASHES.sub("", text))
        out.put("doc.encrypted", True)
        out.put("pdf.encryption", _encryption_method(text))


def _encryption_method(text: str) -> str:
    """``Standard V2 R3 128-bit RC4`` from the /Encrypt dictionary text, as MuPDF names it."""

    def number(key: str) -> int | None:
        found = re.search(rf"/{key}\s+(\d+)", text)
        return int(found.group(1)) if found else None

    handler = re.search(r"/Filter\s*/([A-Za-z0-9.]+)", text)
    version, revision, length = number("V"), number("R"), number("Length")
    method = re.search(r"/CFM\s*/([A-Za-z0-9]+)", text)
    cfm = method.group(1) if method else ""
    if version == 5 or cfm == "AESV3":
        algorithm, length = "AES", 256
    elif cfm == "AESV2":
        algorithm, length = "AES", length or 128
    elif cfm == "None":
        algorithm = "none"
    else:
        algorithm, length = "RC4", length or 40
    if length and length <= 32:  # some writers give /Length in bytes
        length *= 8
    parts = [handler.group(1) if handler else "unknown"]
    parts += [f"V{version}"] if version is not None else []
    parts += [f"R{revision}"] if revision is not None else []
    parts.append(f"{length}-bit {algorithm}" if length else algorithm)
    return " ".join(parts)


def _info(doc: Any, out: Extraction) -> dict[str, str]:
    """Every Info dictionary entry, decoded; keys listed in ``pdf.info``."""
    kind, value = doc.xref_get_key(-1, "Info")
    found = _REF.match(value) if kind == "xref" else None
    if found is None:
        return {}
    xref = int(found.group(1))
    # The object's text keeps each string's bytes, which xref_get_key has already decoded.
    source = doc.xref_object(xref, compressed=True)
    info: dict[str, str] = {}
    for key in doc.xref_get_keys(xref)[:MAX_INFO_KEYS]:
        if not key.isascii() and not _is_text(key):
            # A name whose bytes are not UTF-8 (a Latin-1 "/Cr\xe9ateur"): MuPDF hands it
            # back undecodable and cannot look it up; its value is read from the object.
            name, text = _foreign_key(source, key)
            if text is not None:
                info[name] = text
                out.raw[f"Info/{name}"] = _cap(text)
            else:
                out.note("corrupt", f"Info /{name} unreadable (name not UTF-8)")
            continue
        try:
            kind, value = doc.xref_get_key(xref, key)
            text = _value_text(doc, kind, value)
            if kind == "string":
                at = re.search(rf"/{re.escape(key)}\s*(?=[(<])", source)
                token = read_string(source, at.end()) if at else None
                text = decode_text(token[0]) if token else text
        except _MUPDF_ERRORS as exc:
            out.note("corrupt", f"Info /{key} unreadable: {exc}"[:2000])
            continue
        if text is not None:
            info[key] = text
            out.raw[f"Info/{key}"] = _cap(text)
    out.put("pdf.info", tuple(info))
    return info


def _is_text(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _foreign_key(source: str, key: str) -> tuple[str, str | None]:
    """The readable name and string value of an Info key whose bytes are not UTF-8."""
    raw = key.encode("utf-8", "surrogateescape")
    name = decode_name(raw).text
    written = "".join(
        chr(b) if 0x21 <= b <= 0x7E and b not in b"#()<>[]{}/%" else f"#{b:02X}" for b in raw
    )
    at = re.search(rf"/{re.escape(written)}\s*(?=[(<])", source, re.IGNORECASE)
    token = read_string(source, at.end()) if at else None
    return name, (decode_text(token[0]) if token else None)


_XMP_READ_ERRORS: tuple[type[BaseException], ...] = (*_MUPDF_ERRORS, ValueError, IndexError)


def _xmp_packet(doc: Any, out: Extraction) -> bytes:
    """The XMP packet's bytes as UTF-8. Read from the Metadata stream itself: MuPDF's own
    text turns a packet written in Latin-1 or Windows-1252 (older LaTeX and publishing tools
    do) into replacement characters, and "Méhats" would then differ from the Info's."""
    raw = b""
    try:
        kind, value = doc.xref_get_key(doc.pdf_catalog(), "Metadata")
        if kind == "xref":
            raw = doc.xref_stream(int(value.split()[0])) or b""
    except _XMP_READ_ERRORS:
        raw = b""
    if not raw:
        text = doc.get_xml_metadata() or ""
        return text.encode("utf-8", errors="replace")
    declared = re.search(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", raw[:200])
    if raw.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")) or declared:
        return raw  # a BOM or a declared encoding: the XML parser reads it as said
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        out.raw["XMP/encoding"] = "not UTF-8; read as Windows-1252"
        return raw.decode("cp1252", errors="replace").encode("utf-8")
    return raw


def _xmp(doc: Any, out: Extraction) -> dict[str, str]:
    """The XMP packet's properties as ``prefix:name`` -> text (lists joined with ``, ``)."""
    packet = _xmp_packet(doc, out)
    if not packet or not packet.strip():
        return {}
    out.put("pdf.xmp_present", True)
    try:
        root = _xml.parse(packet)
    except _xml.UnsafeXmlError as exc:
        out.note("xml_unsafe", f"XMP packet refused: {exc}")
        return {}
    except ET.ParseError as exc:
        out.note("corrupt", f"XMP packet malformed: {exc}")
        return {}
    props: dict[str, str] = {}
    history: list[str] = []
    for description in root.iter(f"{{{_RDF}}}Description"):
        for name, value in description.attrib.items():
            props.setdefault(_qualified(name), value.strip())
        for child in description:
            name = _qualified(child.tag)
            if name == "xmpMM:History":
                history.extend(_history_events(child))
                continue
            items = [
                (li.text or "").strip()
                for li in child.iter(f"{{{_RDF}}}li")
                if li.text and li.text.strip()
            ]
            text = ", ".join(items) if items else (child.text or "").strip()
            if text and not len(child.attrib.get(f"{{{_RDF}}}resource", "")):
                props.setdefault(name, text)
    for name, text in list(props.items())[:MAX_XMP_RAW]:
        if text:
            out.raw[f"XMP/{name}"] = _cap(text)
    out.put("pdf.xmp_creator_tool", props.get("xmp:CreatorTool"))
    out.put("pdf.xmp_producer", props.get("pdf:Producer"))
    out.put("pdf.xmp_author", props.get("dc:creator"))
    out.put("pdf.xmp_title", props.get("dc:title"))
    for name, key in (
        ("pdf.xmp_created", "xmp:CreateDate"),
        ("pdf.xmp_modified", "xmp:ModifyDate"),
        ("pdf.xmp_metadata_date", "xmp:MetadataDate"),
    ):
        stamp = parse_iso(props.get(key))
        if stamp is not None:
            out.put(name, stamp.utc)
            out.put(f"{name}_tz_known", stamp.tz_known)
    out.put("pdf.xmp_document_id", props.get("xmpMM:DocumentID"))
    out.put("pdf.xmp_instance_id", props.get("xmpMM:InstanceID"))
    out.put("pdf.xmp_original_document_id", props.get("xmpMM:OriginalDocumentID"))
    out.put("pdf.xmp_history", tuple(history[:MAX_HISTORY]))
    return props


def _qualified(tag: str) -> str:
    """``{uri}Name`` as ``prefix:Name`` with the usual XMP prefixes."""
    if not tag.startswith("{"):
        return tag
    uri, _, local = tag[1:].partition("}")
    prefix = _NS.get(uri)
    return f"{prefix}:{local}" if prefix else local


def _history_events(element: ET.Element) -> list[str]:
    """xmpMM:History entries as ``action|when|softwareAgent``."""
    events: list[str] = []
    for li in element.iter(f"{{{_RDF}}}li"):
        if len(events) >= MAX_HISTORY:
            break
        values: dict[str, str] = {}
        for node in (li, *li.iter()):
            for name, value in node.attrib.items():
                values.setdefault(_qualified(name), value.strip())
            if node is not li and node.text and node.text.strip():
                values.setdefault(_qualified(node.tag), node.text.strip())
        action = values.get("stEvt:action", "")
        when = values.get("stEvt:when", "")
        agent = values.get("stEvt:softwareAgent", "")
        if action or when or agent:
            events.append(f"{action}|{when}|{agent}")
    return events


def _common(out: Extraction, info: dict[str, str], xmp: dict[str, str]) -> None:
    """The shared ``doc.*`` facts: Info first, XMP only where Info has no value."""
    pairs = (
        ("doc.title", "Title", "dc:title"),
        ("doc.author", "Author", "dc:creator"),
        ("doc.subject", "Subject", "dc:description"),
        ("doc.keywords", "Keywords", "pdf:Keywords"),
        ("doc.application", "Creator", "xmp:CreatorTool"),
        ("doc.producer", "Producer", "pdf:Producer"),
    )
    for name, info_key, xmp_key in pairs:
        out.put(name, info.get(info_key, "").strip() or xmp.get(xmp_key))
    out.put("pdf.creator", info.get("Creator"))
    out.put("doc.company", info.get("Company"))
    for prefix, info_key, xmp_key in (
        ("doc.created", "CreationDate", "xmp:CreateDate"),
        ("doc.modified", "ModDate", "xmp:ModifyDate"),
    ):
        stamp: Stamp | None = parse_pdf(info.get(info_key))
        if stamp is None and not info.get(info_key, "").strip():
            stamp = parse_iso(xmp.get(xmp_key))
        if stamp is not None:
            out.put(prefix, stamp.utc)
            out.put(f"{prefix}_offset", stamp.offset)
            out.put(f"{prefix}_tz_known", stamp.tz_known)


# --- catalog, pages, actions --------------------------------------------------------------


def _catalog(doc: Any, out: Extraction, active: _Active) -> None:
    catalog = doc.pdf_catalog()
    kind, lang = doc.xref_get_key(catalog, "Lang")
    text = _value_text(doc, kind, lang)
    if kind == "string" and text:
        out.raw["Catalog/Lang"] = _cap(text)
        out.put("doc.languages", (text.strip(),))
    kind, value = doc.xref_get_key(catalog, "OpenAction")
    action = _value_text(doc, kind, value) if kind in {"dict", "xref"} else None
    if action:
        out.raw["Catalog/OpenAction"] = _cap(action)
        # A destination ("open at page 1") is no action; a /GoTo only shows a page too.
        if action.lstrip().startswith("<<"):
            if _name(_entries(action).get("S", "")) != "GoTo":
                active.open_action = True
            _action(doc, value, "OpenAction", True, active)
    kind, value = doc.xref_get_key(catalog, "AA")
    if kind != "null":
        for key, entry in _entries(_deref(doc, value)[0]).items():
            meaning = _DOCUMENT_AA.get(key, "document event")
            _action(doc, entry, f"document /AA /{key} ({meaning})", True, active)
    kind, value = doc.xref_get_key(catalog, "Names/JavaScript")
    if kind != "null":
        active.javascript = True
        for entry in _name_tree(doc, value):
            _action(doc, entry, "document JavaScript", True, active)


def _deref(doc: Any, value: str) -> tuple[str, int | None]:
    """The object text a value stands for (an indirect reference followed) and its xref."""
    ref = _REF.fullmatch(value.strip())
    if ref is None:
        return value.strip(), None
    xref = int(ref.group(1))
    if not 0 < xref < doc.xref_length():
        return "", None
    return doc.xref_object(xref, compressed=True).strip(), xref


def _value_end(text: str, pos: int) -> int:
    """End of the value that starts at ``pos`` (after any whitespace) of object text."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    ref = _REF.match(text, pos)
    if ref:
        return ref.end()
    atom = _ATOM.match(text, pos)
    if atom and atom.end() > pos:
        return atom.end()
    return _skip_value(text, pos)


def _entries(text: str) -> dict[str, str]:
    """Top-level entries of a dictionary's object text, each value as object text."""
    text = text.strip()
    found: dict[str, str] = {}
    if not text.startswith("<<"):
        return found
    pos = 2
    while pos < len(text) and len(found) < MAX_DICT_ENTRIES:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        name = _KEY.match(text, pos)
        if name is None:
            break
        end = _value_end(text, name.end())
        if end <= name.end():
            break
        found.setdefault(name.group(1), text[name.end() : end].strip())
        pos = end
    return found


def _items(text: str) -> list[str]:
    """Elements of an array's object text, each as object text."""
    text = text.strip()
    found: list[str] = []
    if not text.startswith("["):
        return found
    pos = 1
    while pos < len(text) and len(found) < MAX_ACTION_REFS:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        end = _value_end(text, pos)
        if end <= pos:
            break
        found.append(text[pos:end].strip())
        pos = end
    return found


def _name(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("/") else ""


def _string(doc: Any, value: str) -> str | None:
    """A string value decoded (an indirect one followed), or None."""
    text, _ = _deref(doc, value)
    token = read_string(text, 0) if text[:1] in ("(", "<") and not text.startswith("<<") else None
    return decode_text(token[0]).strip() if token is not None else None


def _file_spec(doc: Any, value: str) -> str | None:
    """The file or URL a file specification names (ISO 32000-1, 7.11): a string, or a
    dictionary's /UF, /F, /Unix, /DOS or /Mac."""
    found = _string(doc, value)
    if found is not None:
        return found
    entries = _entries(_deref(doc, value)[0])
    for key in ("UF", "F", "Unix", "DOS", "Mac"):
        if key in entries:
            found = _string(doc, entries[key])
            if found:
                return found
    return None


def _launch_target(doc: Any, entries: dict[str, str]) -> str | None:
    """What a /Launch action starts: its file, or the Windows program and its parameters."""
    if "Win" in entries:
        win = _entries(_deref(doc, entries["Win"])[0])
        program = _string(doc, win.get("F", "")) or ""
        parameters = _string(doc, win.get("P", "")) or ""
        command = f"{program} {parameters}".strip()
        if command:
            return command
    for key in ("F", "Unix", "Mac"):
        if key in entries:
            found = _file_spec(doc, entries[key])
            if found:
                return found
    return None


def _script(doc: Any, value: str) -> str:
    """The JavaScript of a /JS entry: a string, or the start of a stream (bounded)."""
    found = _string(doc, value)
    if found is not None:
        return found
    ref = _REF.fullmatch(value.strip())
    if ref is None or not 0 < int(ref.group(1)) < doc.xref_length():
        return ""
    return decode_text(_stream_head(doc, int(ref.group(1)), MAX_JS_STREAM))


def _stream_head(doc: Any, xref: int, cap: int) -> bytes:
    """At most ``cap`` decoded bytes of a stream: Flate inflated here with that bound, other
    filters decoded by MuPDF only when their encoded size is small."""
    if not doc.xref_is_stream(xref):
        return b""
    raw: bytes = doc.xref_stream_raw(xref) or b""
    kind, value = doc.xref_get_key(xref, "Filter")
    if kind == "null":
        return raw[:cap]
    if (
        value in {"/FlateDecode", "[/FlateDecode]"}
        and doc.xref_get_key(xref, "DecodeParms")[0] == "null"
    ):
        try:
            return zlib.decompressobj().decompress(raw, cap)
        except zlib.error:
            pass
    if len(raw) > MAX_ENCODED_OTHER:
        return b""
    decoded: bytes = doc.xref_stream(xref) or b""
    return decoded[:cap]


def _name_tree(doc: Any, value: str) -> list[str]:
    """The values of a name tree (ISO 32000-1, 7.9.6), leaves and kids followed, bounded."""
    found: list[str] = []
    pending = [value]
    seen: set[int] = set()
    for _ in range(MAX_ACTION_REFS):
        if not pending or len(found) >= MAX_ACTION_REFS:
            break
        text, xref = _deref(doc, pending.pop())
        if xref is not None:
            if xref in seen:
                continue
            seen.add(xref)
        entries = _entries(text)
        names = _items(_deref(doc, entries.get("Names", ""))[0])
        found.extend(names[1::2])
        pending.extend(reversed(_items(_deref(doc, entries.get("Kids", ""))[0])))
    return found[:MAX_ACTION_REFS]


def _action(
    doc: Any, value: str, trigger: str, automatic: bool, active: _Active, depth: int = 0
) -> None:
    """Read one action (or an array of them) and the /Next actions chained to it, recording
    what reaches outside the file. ``automatic``: it runs without a click."""
    if depth > MAX_ACTION_DEPTH or active.count >= MAX_ACTIONS:
        return
    active.count += 1
    text, xref = _deref(doc, value)
    if xref is not None:
        if xref in active.seen:
            return
        active.seen.add(xref)
    if text.startswith("["):
        for item in _items(text):
            _action(doc, item, trigger, automatic, active, depth + 1)
        return
    entries = _entries(text)
    kind = _name(entries.get("S", ""))
    if "JS" in entries or kind == "JavaScript":
        active.javascript = True
        _javascript(trigger, automatic, _script(doc, entries.get("JS", "")), active)
    if kind == "URI":
        target = _string(doc, entries.get("URI", ""))
        if target:
            active.links.append(target)
            _record(active, trigger, automatic, kind, target)
    elif kind == "Launch":
        active.launch = True
        target = _launch_target(doc, entries)
        if target:
            _record(active, trigger, automatic, kind, target)
    elif kind in _FILE_ACTIONS:
        target = _file_spec(doc, entries.get("F", ""))
        if target:
            active.links.append(target)
            _record(active, trigger, automatic, kind, target)
    if "Next" in entries:
        _action(doc, entries["Next"], trigger, automatic, active, depth + 1)


def _record(active: _Active, trigger: str, automatic: bool, kind: str, target: str) -> None:
    """One action that reaches outside: ``pdf.actions``, and a contact for each address."""
    if len(active.actions) < MAX_ACTION_ENTRIES:
        active.actions[f"{trigger}: {kind}{_links.ARROW}{_cap(target)}"] = None
    mechanism = f"{trigger}: {kind}"
    if _links.host_of(target) is not None:
        active.contacts.add(mechanism, target, on_open=automatic)
        return
    for link in find_links(target):  # a program started with an address as parameter
        active.links.append(link)
        active.contacts.add(mechanism, link, on_open=automatic)


def _javascript(trigger: str, automatic: bool, script: str, active: _Active) -> None:
    """Every address a script names, with the function that receives it when one does
    (``app.launchURL``, ``this.submitForm``); a script without one is listed as such."""
    links = find_links(script)
    if not links:
        excerpt = " ".join(script.split())[:MAX_SCRIPT_EXCERPT] or "(empty)"
        if len(active.actions) < MAX_ACTION_ENTRIES:
            active.actions[f"{trigger}: JavaScript{_links.ARROW}{excerpt}"] = None
        return
    for link in links:
        start = script.find(link)
        calls = _JS_CALL.findall(script[max(0, start - 120) : max(0, start)])
        kind = f"JavaScript {_SPACES.sub('', calls[-1])}" if calls else "JavaScript"
        active.links.append(link)
        _record(active, trigger, automatic, kind, link)


def _raw_keywords(data: bytes, active: _Active) -> None:
    """Keywords in the raw bytes catch actions no reference leads to (orphan objects)."""
    active.javascript = active.javascript or _RAW_JS.search(data) is not None
    active.launch = active.launch or _RAW_LAUNCH.search(data) is not None


def _pages(
    doc: Any, source: Source, out: Extraction, active: _Active, texts: dict[int, str]
) -> None:
    """Fonts, annotations, forms and scanned pages; ``texts`` gets the text of the pages read
    for the sample (page number -> text, in page order), which the revision comparison
    re-uses instead of extracting it a second time."""
    fonts: dict[str, None] = {}
    not_embedded: dict[str, None] = {}
    annots = widgets = signatures = 0
    image_pages: list[str] = []
    text_chars = 0
    for number in range(min(doc.page_count, MAX_PAGES)):
        page = doc.load_page(number)
        for _, ext, font_type, basefont, _, _ in page.get_fonts():
            name = basefont or "(unnamed)"
            if len(fonts) < MAX_FONTS:
                fonts[name] = None
            if ext == "n/a" and font_type != "Type3" and len(not_embedded) < MAX_FONTS:
                not_embedded[name] = None
        kind, value = doc.xref_get_key(page.xref, "AA")
        if kind != "null":
            for key, entry in _entries(_deref(doc, value)[0]).items():
                trigger = f"page {number + 1} /AA /{key} ({_PAGE_AA.get(key, 'page event')})"
                _action(doc, entry, trigger, True, active)
        for xref, annot_type, _ in page.annot_xrefs():
            annots += 1
            if annots > MAX_ANNOTS:
                continue
            if annot_type == pymupdf.PDF_ANNOT_WIDGET:
                widgets += 1
                if _field_type(doc, xref) == "/Sig":
                    signatures += 1
            _annotation_actions(doc, xref, number, active, annot_type == pymupdf.PDF_ANNOT_WIDGET)
        page_text: str | None = None
        if text_chars < source.text_sample_bytes:
            page_text = page.get_text()
            texts[number] = page_text
            text_chars += len(page_text)
        if page.get_images() and _covered_by_images(page):
            if page_text is None:
                page_text = page.get_text()
            if page_text.strip():
                image_pages.append(str(number + 1))
    out.put("pdf.fonts", tuple(fonts))
    out.put("pdf.fonts_not_embedded", tuple(not_embedded))
    out.put("pdf.annotation_count", annots)
    out.put("pdf.form_fields", widgets)
    out.put("pdf.signature_count", signatures)
    out.put("pdf.image_pages_with_text", tuple(image_pages))


def _annotation_actions(doc: Any, xref: int, number: int, active: _Active, widget: bool) -> None:
    """An annotation's /A (followed on a click) and /AA, a widget's form field's included."""
    subtype = _name(doc.xref_get_key(xref, "Subtype")[1] or "") or "unknown"
    where = f"page {number + 1} {subtype} annotation"
    kind, value = doc.xref_get_key(xref, "A")
    if kind != "null":
        _action(doc, value, f"{where} /A (click)", False, active)
    for path in ("AA", "Parent/AA") if widget else ("AA",):
        kind, value = doc.xref_get_key(xref, path)
        if kind == "null":
            continue
        for key, entry in _entries(_deref(doc, value)[0]).items():
            trigger = f"{where} /AA /{key} ({_ANNOT_AA.get(key, 'event')})"
            _action(doc, entry, trigger, key in _AUTOMATIC_ANNOT, active)


def _field_type(doc: Any, xref: int) -> str:
    """A widget's /FT, inherited from its parent fields when absent."""
    path = "FT"
    for _ in range(8):
        kind, value = doc.xref_get_key(xref, path)
        if kind == "name":
            return str(value)
        if doc.xref_get_key(xref, path.replace("FT", "Parent"))[0] == "null":
            break
        path = "Parent/" + path
    return ""


def _covered_by_images(page: Any) -> bool:
    """Images drawn on the page cover at least ``IMAGE_PAGE_COVER`` of its area."""
    rect = page.rect
    area: float = rect.width * rect.height
    if area <= 0:
        return False
    covered = 0.0
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & rect
        if not box.is_empty:
            covered += box.width * box.height
    return covered >= IMAGE_PAGE_COVER * area


def _embedded(doc: Any, out: Extraction) -> None:
    """Names of embedded files; each one goes back through the pipeline as a child."""
    names = doc.embfile_names()[:MAX_EMBEDDED]
    out.put("pdf.embedded_files", tuple(names))
    streams = _embedded_streams(doc)
    for name in names:
        xref = streams.get(name)
        data = _bounded_stream(doc, xref) if xref else None
        if data is None:
            out.note("limit.size", f"embedded file {name!r} not analysed: over the size cap")
            continue
        out.children.append(Child(name=f"attachment:{name}", data=data))


def _embedded_streams(doc: Any) -> dict[str, int]:
    """Embedded file name -> stream xref, from the catalog's EmbeddedFiles name tree."""
    found: dict[str, int] = {}
    kind, value = doc.xref_get_key(doc.pdf_catalog(), "Names/EmbeddedFiles")
    pending = [_value_text(doc, kind, value) or ""]
    for _ in range(MAX_EMBEDDED):
        if not pending or len(found) >= MAX_EMBEDDED:
            break
        node = pending.pop()
        names_at = node.find("/Names")
        pos = node.find("[", names_at) + 1 if names_at >= 0 else 0
        while pos > 0 and len(found) < MAX_EMBEDDED:
            token = read_string(node, pos)
            if token is None:
                break
            end = _skip_value(node, token[1])
            value = node[token[1] : end].strip()
            ref = _REF.fullmatch(value)
            target = doc.xref_object(int(ref.group(1)), compressed=True) if ref else value
            stream = _EF_STREAM.search(target)
            if stream:
                found.setdefault(decode_text(token[0]), int(stream.group(1)))
            pos = end
        kids_at = node.find("/Kids")
        if kids_at >= 0:
            kids = node[kids_at : node.find("]", kids_at)]
            refs = list(_REF.finditer(kids))[:MAX_EMBEDDED]
            pending.extend(doc.xref_object(int(kid.group(1)), compressed=True) for kid in refs)
    return found


def _skip_value(text: str, pos: int) -> int:
    """End of the PDF value starting at (or after whitespace from) ``pos`` in object text."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    ref = _REF.match(text, pos)
    if ref:
        return ref.end()
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == "(" or (char == "<" and not text.startswith("<<", pos)):
            token = read_string(text, pos)
            if token is None:
                return len(text)
            pos = token[1]
        elif text.startswith("<<", pos) or char == "[":
            depth += 1
            pos += 2 if char == "<" else 1
        elif text.startswith(">>", pos) or char == "]":
            depth -= 1
            pos += 2 if char == ">" else 1
        else:
            pos += 1
            if depth == 0 and (pos >= len(text) or text[pos] in "/[]<>() \t\r\n"):
                return pos
        if depth <= 0:
            return pos
    return pos


def _bounded_stream(doc: Any, xref: int) -> bytes | None:
    """A stream's decoded bytes, or None when they would exceed ``MAX_EMBEDDED_BYTES``.

    Flate is inflated here with a cap, so a compression bomb inside a PDF stops at the cap
    instead of filling memory; other filters are decoded by MuPDF only when their encoded
    size is small.
    """
    raw: bytes = doc.xref_stream_raw(xref) or b""
    kind, value = doc.xref_get_key(xref, "Filter")
    plain = kind == "null"
    flate = value in {"/FlateDecode", "[/FlateDecode]"}
    has_parms = doc.xref_get_key(xref, "DecodeParms")[0] != "null"
    if plain:
        return raw if len(raw) <= MAX_EMBEDDED_BYTES else None
    if flate and not has_parms:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, MAX_EMBEDDED_BYTES + 1)
        except zlib.error:
            return doc.xref_stream(xref) if len(raw) <= MAX_ENCODED_OTHER else None
        return data if len(data) <= MAX_EMBEDDED_BYTES else None
    if len(raw) > MAX_ENCODED_OTHER:
        return None
    decoded: bytes = doc.xref_stream(xref) or b""
    return decoded if len(decoded) <= MAX_EMBEDDED_BYTES else None


# --- save history -------------------------------------------------------------------------


def _scan_history(data: bytes) -> _History:
    """Revisions from the raw bytes: ``%%EOF`` sections and the trailer ``/Prev`` chain.

    A linearized ("fast web view") file has two xref sections and two ``%%EOF`` but is one
    save: the first-page section at the start has a ``startxref`` of 0 or a /Prev pointing
    *forward* to the main table at the end, and the linearization dictionary's /L gives the
    length of the file as that save wrote it. So a section is merged into the next one when
    its /Prev points past its own ``%%EOF`` (it cannot be read alone) or when the next one
    still ends within /L; an incremental update appends after /L and its /Prev points back.
    ``updates`` counts only backward /Prev hops, so the forward linearization hop is free.
    """
    history = _History()
    head = _LINEARIZED.search(data, 0, 2048)
    lin_length = 0
    if head is not None:
        history.linearized = True
        found = _LIN_LENGTH.search(head.group(0))
        lin_length = int(found.group(1)) if found else 0
    sections: list[_Section] = []
    previous_end = 0
    for count, marker in enumerate(_EOF.finditer(data)):
        if count >= MAX_EOF_MARKERS:
            break
        start = data.rfind(b"startxref", previous_end, marker.start())
        end = marker.end()
        end += 2 if data[end : end + 2] == b"\r\n" else 1 if data[end : end + 1] in b"\r\n" else 0
        if start >= 0:
            found = _STARTXREF.match(data, start)
            if found and _xref_at(data, int(found.group(1))):
                sections.append(_Section(end, int(found.group(1))))
        previous_end = end
    ends: list[int] = []
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        if following is not None:
            # A section whose /Prev points past its own %%EOF is incomplete on its own.
            prev = _prev_of(data, section.xref)
            incomplete = prev is not None and prev >= section.end
            if incomplete or following.end <= lin_length + 2:
                continue  # merged with the next section into one save (linearization)
        ends.append(section.end)
    history.revision_ends = ends
    if sections:
        history.updates = _backward_hops(data, sections[-1].xref)
    return history


def _xref_at(data: bytes, offset: int) -> bool:
    """Whether ``offset`` starts a classic ``xref`` table or an indirect (xref stream) object."""
    if not 0 <= offset < len(data):
        return False
    return data.startswith(b"xref", offset) or _OBJ_AT.match(data, offset) is not None


def _prev_of(data: bytes, offset: int) -> int | None:
    """/Prev of the trailer (or xref stream dictionary) of the section at ``offset``."""
    if data.startswith(b"xref", offset):
        start = data.find(b"trailer", offset)
        if start < 0:
            return None
    else:
        start = offset
    window = data[start : start + MAX_TRAILER_SCAN]
    stop = min(
        (i for i in (window.find(b"stream"), window.find(b"startxref")) if i >= 0), default=-1
    )
    found = _PREV.search(window[:stop] if stop >= 0 else window)
    return int(found.group(1)) if found else None


def _backward_hops(data: bytes, offset: int) -> int:
    """Follow /Prev from the final section; count hops that point back to an earlier save."""
    seen = {offset}
    hops = 0
    for _ in range(4 * MAX_REVISIONS):
        prev = _prev_of(data, offset)
        if prev is None or prev in seen or not _xref_at(data, prev):
            break
        if prev < offset:
            hops += 1
        seen.add(prev)
        offset = prev
    return hops


def _put_history(out: Extraction, history: _History) -> None:
    out.put("pdf.linearized", history.linearized)
    out.put("pdf.revision_count", len(history.revision_ends) or None)
    out.put("pdf.incremental_updates", history.updates)


def _revisions(
    doc: Any,
    data: bytes,
    history: _History,
    info: dict[str, str],
    out: Extraction,
    known: dict[int, str],
) -> None:
    """Reopen every earlier revision and compare its text with the final document's
    (``known``: final page texts already extracted, by page number)."""
    final: str | None = None  # read only when an earlier revision's text must be compared
    earlier = history.revision_ends[:-1][: MAX_REVISIONS - 1]
    if len(history.revision_ends) > MAX_REVISIONS:
        out.note(
            "limit.revisions",
            f"{len(history.revision_ends)} revisions; first {len(earlier)} compared",
        )
    lines: list[str] = []
    hunks: dict[str, None] = {}
    changed = False
    budget = MAX_REVISION_BYTES
    needed = _text_objects(doc) if earlier else None
    rewritten = _rewritten(data, earlier)
    for index, end in enumerate(earlier, start=1):
        budget -= end
        if budget < 0:
            out.note("limit.revisions", f"revision {index} and later not reopened: size budget")
            break
        try:
            with pymupdf.open(stream=data[:end], filetype="pdf") as old:
                meta = old.metadata or {}
                # An update that rewrites none of the objects the compared pages' text comes
                # from (a new Info dictionary, XMP, a form value) leaves that text as it was.
                later = rewritten[index - 1]
                untouched = needed is not None and later is not None and not (later & needed)
                text = None if untouched else _document_text(old)
        except _MUPDF_ERRORS as exc:
            out.note("corrupt", f"revision {index} (ending at byte {end}) unreadable: {exc}"[:2000])
            continue
        lines.append(f"{index}|{end}|{meta.get('modDate', '')}|{meta.get('producer', '')}")
        if text is None:
            continue
        if final is None:
            final = _document_text(doc, known)
        if text != final:
            changed = True
            for hunk in _diff(text, final):
                if len(hunks) < MAX_DIFF_HUNKS:
                    hunks.setdefault(hunk, None)
    lines.append(
        f"{len(history.revision_ends)}|{history.revision_ends[-1]}|"
        f"{info.get('ModDate', '')}|{info.get('Producer', '')}"
    )
    out.put("pdf.revisions", tuple(lines))
    ends = history.revision_ends
    if len(ends) >= 2:
        # The last save's size, and whether it kept the Info dates and producer of the one
        # before: what tells a writer's own closing xref section from a later edit.
        out.put("pdf.last_update_bytes", ends[-1] - ends[-2])
        out.put("pdf.last_update_objects", len(_OBJ_AT.findall(data[ends[-2] : ends[-1]])))
        if len(lines) >= 2:
            before, after = lines[-2].split("|", 2), lines[-1].split("|", 2)
            if len(before) == len(after) == 3:
                out.put("pdf.last_update_same_info", before[2] == after[2])
    out.put("pdf.revision_text_changed", changed)
    out.put("pdf.revision_diff", tuple(hunks))


def _text_objects(doc: Any) -> frozenset[int] | None:
    """Object numbers the compared pages' text depends on: each page, the page-tree nodes
    above it, and everything its contents and resources reach (streams, fonts, their
    encodings and ToUnicode maps, form XObjects); None when that cannot be told."""
    found: set[int] = set()
    todo: list[int] = []
    try:
        for number in range(min(doc.page_count, MAX_REVISION_PAGES)):
            xref = doc.page_xref(number)
            todo.append(xref)
            parent = xref
            while True:
                kind, value = doc.xref_get_key(parent, "Parent")
                if kind != "xref":
                    break
                parent = int(value.split()[0])
                if parent in found:
                    break
                found.add(parent)
        while todo:
            xref = todo.pop()
            if xref in found:
                continue
            found.add(xref)
            if len(found) > MAX_TEXT_OBJECTS:
                return None
            source = doc.xref_object(xref, compressed=True)
            # Links up the tree and to annotations are not what the page's text is drawn from.
            source = re.sub(
                r"/(?:Parent|Annots|P|StructParents?)\b\s*(?:\[[^\]]*\]|\d+\s+0\s+R)", "", source
            )
            todo.extend(int(ref) for ref in _REF.findall(source) if int(ref) not in found)
    except _MUPDF_ERRORS:
        return None
    return frozenset(found)


def _rewritten(data: bytes, ends: list[int]) -> list[frozenset[int] | None]:
    """For each revision end, the object numbers the bytes after it write, each stretch
    between two ends read once; None where those bytes hold an object stream (objects packed
    in it cannot be told apart here)."""
    points = [*ends, len(data)]
    after: set[int] = set()
    packed = False
    found: list[frozenset[int] | None] = []
    for start, stop in reversed(list(pairwise(points))):
        stretch = data[start:stop]
        packed = packed or b"/ObjStm" in stretch
        after.update(int(m.group(1)) for m in _OBJ_NUMBER.finditer(stretch))
        found.append(None if packed else frozenset(after))
    return found[::-1]


def _document_text(doc: Any, known: dict[int, str] | None = None) -> str:
    """Normalised text of the first pages (one line per text line, spaces collapsed);
    ``known`` holds page texts already extracted from this document."""
    parts: list[str] = []
    size = 0
    for number in range(min(doc.page_count, MAX_REVISION_PAGES)):
        text = known.get(number) if known else None
        if text is None:
            text = doc.load_page(number).get_text()
        parts.append(text)
        size += len(text)
        if size >= MAX_REVISION_CHARS:
            break
    joined = "\n".join(parts)[:MAX_REVISION_CHARS]
    return "\n".join(_lines(joined))


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        cleaned = _SPACES.sub(" ", line).strip()
        if cleaned:
            yield cleaned


def _diff(old: str, new: str) -> list[str]:
    """Readable hunks ``-old | +new`` between two revisions' text lines."""
    before = old.split("\n")[:MAX_DIFF_LINES]
    after = new.split("\n")[:MAX_DIFF_LINES]
    hunks: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        parts = []
        if i2 > i1:
            parts.append("-" + " / ".join(before[i1:i2])[:MAX_HUNK_CHARS])
        if j2 > j1:
            parts.append("+" + " / ".join(after[j1:j2])[:MAX_HUNK_CHARS])
        hunks.append(" | ".join(parts))
    return hunks
