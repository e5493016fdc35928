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

Actions, pages and embedded files are read in ``_pdf_actions``, the save history in
``_pdf_revisions``, the digital signatures are verified in ``_pdf_signatures``;
``_pdf_common`` holds what they share.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from typing import Any

from leaktriage.errors import CorruptFileError, EncryptedFileError, WrongFormatError
from leaktriage.extractors import Extraction, Source, _pdf_signatures, _xml, register
from leaktriage.extractors._dates import Stamp, parse_iso, parse_pdf
from leaktriage.extractors._links import find_links, merge
from leaktriage.extractors._pdf_actions import (
    _Active,
    _catalog,
    _embedded,
    _pages,
    _raw_keywords,
)
from leaktriage.extractors._pdf_common import (
    _MUPDF_ERRORS,
    _REF,
    _cap,
    _value_text,
    decode_text,
    pymupdf,
    read_string,
)
from leaktriage.extractors._pdf_revisions import (
    _History,
    _put_history,
    _revisions,
    _scan_history,
)
from leaktriage.model import Issue
from leaktriage.safetext import decode_name

log = logging.getLogger(__name__)

MAX_INFO_KEYS = 64
MAX_XMP_RAW = 200
"""XMP properties copied into ``raw`` at most."""
MAX_HISTORY = 100
"""xmpMM:History events kept."""
_HEADER = re.compile(rb"%PDF-(\d\.\d{1,2})")
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
    if b"/ByteRange" in data:  # a signature value: only then is pyHanko imported
        _pdf_signatures.put_signatures(data, source.trust_roots, out)
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
