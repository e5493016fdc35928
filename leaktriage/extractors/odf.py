"""OpenDocument files (odt, ods, odp, odg, their templates, and flat .fodt XML): meta.xml and more.

LibreOffice and OpenOffice write ``meta.xml`` with two people in it: ``meta:initial-creator``
(whoever made the file) and ``dc:creator`` (whoever saved it last; ExifTool calls it
Creator, and a reader who takes it for the author is misled). The ``meta:generator`` string
names the office suite, its exact build and the platform (``LibreOffice/7.3.7.2$Linux_X86_64``
or ``$Windows_X86_64``): a Linux build in a Windows-only office, or a build released after the
file's date, are both worth a look. Times carry no zone in most files. ``editing-cycles`` and
``editing-duration`` count saves and minutes of work; a long memo with one cycle and no time
was generated, not written. The body gives text, proofing languages, the authors of comments
and tracked changes, and every external ``xlink:href`` (linked images fetch when opened).

Every part is read through defusedxml's streaming parser (no entities, no DTD fetching), in
chunks counted against a decompressed-bytes budget, so a zip bomb or a huge spreadsheet costs
bounded memory and stops at the cap.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

import defusedxml
import defusedxml.ElementTree as DET

from leaktriage.errors import CorruptFileError, EncryptedFileError
from leaktriage.extractors import Extraction, Source, _dates, _links, register

log = logging.getLogger(__name__)

META_BYTES = 8 << 20
"""Largest meta.xml / manifest.xml read (a real one is a few kB)."""
BODY_BYTES = 64 << 20
"""Largest content.xml / styles.xml read; the part is cut there and the record is partial."""
TOTAL_BYTES = 160 << 20
"""Decompressed bytes read from one package in all."""
CHUNK = 1 << 20
"""Decompressed bytes fed to the parser at a time."""
MAX_MEMBERS = 20_000
"""Zip entries looked at; more is hostile for an office file."""
MAX_DEPTH = 2_000
"""Element nesting tracked; deeper elements are read as part of the deepest tracked one."""
MAX_ITEMS = 500
"""Cap on every list (keywords, user fields, authors, languages)."""
RAW_CHARS = 4096
"""Raw values and string facts are cut to this length."""

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xlink": "http://www.w3.org/1999/xlink",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "form": "urn:oasis:names:tc:opendocument:xmlns:form:1.0",
    "script": "urn:oasis:names:tc:opendocument:xmlns:script:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
}
_PREFIX = {uri: prefix for prefix, uri in NS.items()}

# meta.xml elements read as text -> raw key (and catalogue field where there is one).
_META_TEXT = {
    "meta:generator": None,
    "dc:title": "doc.title",
    "dc:description": "doc.comments",
    "dc:subject": "doc.subject",
    "meta:initial-creator": "doc.author",
    "dc:creator": "doc.last_modified_by",
    "meta:printed-by": "odf.printed_by",
    "meta:creation-date": None,
    "dc:date": None,
    "meta:print-date": None,
    "dc:language": None,
    "meta:editing-cycles": None,
    "meta:editing-duration": None,
    "meta:keyword": None,
    "meta:user-defined": None,
}
_STATISTICS = {
    "meta:page-count": "doc.page_count",
    "meta:word-count": "doc.word_count",
    "meta:character-count": "doc.char_count",
}
_HIDDEN = frozenset({f"{{{NS['office']}}}annotation", f"{{{NS['text']}}}tracked-changes"})
"""Elements whose paragraphs are not body text (comments, deleted text of tracked changes)."""
_PARAGRAPHS = frozenset({f"{{{NS['text']}}}p", f"{{{NS['text']}}}h"})
_OFFICE_META = f"{{{NS['office']}}}meta"
_ANNOTATION = f"{{{NS['office']}}}annotation"
_CHANGED_REGION = f"{{{NS['text']}}}changed-region"
_DC_CREATOR = f"{{{NS['dc']}}}creator"
_TEXT_S = f"{{{NS['text']}}}s"
_TEXT_C = f"{{{NS['text']}}}c"
_TEXT_TAB = f"{{{NS['text']}}}tab"
_TEXT_LINE_BREAK = f"{{{NS['text']}}}line-break"
_HREF = f"{{{NS['xlink']}}}href"
_LINKED = {
    "draw:image": "linked image",
    "draw:object": "linked object",
    "draw:object-ole": "linked OLE object",
    "draw:floating-frame": "frame",
    "draw:plugin": "plugin",
    "draw:applet": "applet",
    "draw:fill-image": "fill image",
    "style:background-image": "background image",
    "text:list-level-style-image": "bullet image",
    "text:section-source": "linked section",
    "table:table-source": "linked sheet",
    "table:cell-range-source": "linked cell range",
    "svg:font-face-uri": "font",
    "meta:auto-reload": "automatic reload",
}
"""Elements whose ``xlink:href`` is loaded when the file opens or its links update (ODF 1.3
part 3: 10.4.4 draw:image, 10.4.6 draw:object, 5.4.2 text:section-source, 9.2.6
table:table-source), by plain name; others keep their element name."""
_CLICKED = frozenset(
    {"text:a", "draw:a", "draw:area-rectangle", "draw:area-circle", "draw:area-polygon"}
)
"""Elements whose ``xlink:href`` is followed only on a click (hyperlinks, image maps)."""
_CLICKED_NAMESPACES = frozenset({NS["form"], NS["script"], NS["presentation"]})
"""Form controls and event listeners act on the reader's click, not on opening."""
_FO_LANGUAGE = f"{{{NS['fo']}}}language"
_FO_COUNTRY = f"{{{NS['fo']}}}country"
_DURATION = re.compile(
    r"^-?P(?:(\d{1,6})Y)?(?:(\d{1,6})M)?(?:(\d{1,6})W)?(?:(\d{1,8})D)?"
    r"(?:T(?:(\d{1,8})H)?(?:(\d{1,8})M)?(?:(\d{1,10})(?:[.,]\d{1,9})?S)?)?$"
)
_DURATION_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)
_GENERATOR = re.compile(r"^([^/\s$]{1,100})/([^\s$]{1,60})(?:\$(\S{1,60}))?")
_NAME_VERSION = re.compile(r"^(.{1,100}?)\s+v?(\d[\w.-]{0,40})\b")


def split_generator(generator: str) -> tuple[str, str | None, str | None]:
    """(application, version, platform) of a generator string.

    ``LibreOffice/7.3.7.2$Linux_X86_64 LibreOffice_project/...`` gives
    ``("LibreOffice", "7.3.7.2", "Linux_X86_64")``; ``Riched20 10.0.19041`` (an RTF
    generator) gives ``("Riched20", "10.0.19041", None)``; anything else is the application.
    """
    value = generator.strip().rstrip(";").strip()
    found = _GENERATOR.match(value)
    if found:
        return found.group(1), found.group(2), found.group(3)
    found = _NAME_VERSION.match(value)
    if found:
        return found.group(1), found.group(2), None
    return value, None, None


def duration_seconds(value: str) -> int | None:
    """Seconds of an ISO 8601 duration (``PT2H15M`` -> 8100); None when unreadable."""
    found = _DURATION.match(value.strip())
    if not found or value.strip() in ("P", "PT", "-P"):
        return None
    return sum(
        int(part or 0) * unit for part, unit in zip(found.groups(), _DURATION_SECONDS, strict=True)
    )


def _qname(tag: str) -> str:
    """``{urn:...:meta:1.0}generator`` -> ``meta:generator`` (unknown namespaces: ``?:x``)."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return f"{_PREFIX.get(uri, '?')}:{local}"
    return tag


class _Walker:
    """Streaming parser target over meta, styles and content parts (or one flat XML file)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.stack: list[str] = []
        self.overflow = 0
        self.meta: dict[str, str] = {}
        self.keywords: list[str] = []
        self.user_defined: list[str] = []
        self.statistics: dict[str, str] = {}
        self.template: str | None = None
        self.capture: list[str] | None = None
        self.capture_tag = ""
        self.capture_name = ""
        self.capture_attr = ""
        self.links: dict[str, None] = {}
        self.linked: dict[str, None] = {}
        self.contacts = _links.Contacts()
        self.languages: dict[str, None] = {}
        self.annotation_authors: dict[str, None] = {}
        self.change_authors: dict[str, None] = {}
        self.text: list[str] = []
        self.text_chars = 0
        self.in_paragraph = 0
        self.hidden = 0  # inside an annotation or the tracked-changes list: not body text

    # -- parser target interface --------------------------------------------------------------
    # Called for every element of a part that may hold millions: tags are compared in their
    # expanded "{namespace}name" form and attributes looked up by key, with no loop.
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.overflow or len(self.stack) >= MAX_DEPTH:
            self.overflow += 1
            return
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        if attrib:
            href = attrib.get(_HREF)
            if href is not None:
                self.add_href(tag, href)
            language = attrib.get(_FO_LANGUAGE)
            if language is not None:
                self.add_language(language, attrib.get(_FO_COUNTRY, ""))
        if parent == _OFFICE_META:
            self.start_meta(_qname(tag), attrib)
        elif tag in _PARAGRAPHS:
            self.in_paragraph += 1
        elif tag in _HIDDEN:
            self.hidden += 1
        elif tag == _DC_CREATOR:
            if _ANNOTATION in self.stack:
                self.begin_capture("annotation")
            elif _CHANGED_REGION in self.stack:
                self.begin_capture("change")
        elif self.in_paragraph and not self.hidden:
            if tag == _TEXT_S:
                count = attrib.get(_TEXT_C, "1")
                self.add_text(" " * min(int(count) if count.isdigit() else 1, 100))
            elif tag == _TEXT_TAB:
                self.add_text("\t")
            elif tag == _TEXT_LINE_BREAK:
                self.add_text("\n")

    def end(self, tag: str) -> None:
        if self.overflow:
            self.overflow -= 1
            return
        if not self.stack:
            return
        name = self.stack.pop()
        if self.capture is not None and self.capture_tag == name:
            self.end_capture()
        if name in _PARAGRAPHS:
            self.in_paragraph = max(0, self.in_paragraph - 1)
            if not self.hidden:
                self.add_text("\n")
        elif name in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)

    def data(self, data: str) -> None:
        if self.capture is not None:
            if sum(map(len, self.capture)) < RAW_CHARS:
                self.capture.append(data)
        elif self.in_paragraph and not self.hidden:
            self.add_text(data)

    def close(self) -> None:
        return None

    # -- helpers ------------------------------------------------------------------------------
    def new_part(self) -> None:
        """Forget the element state a malformed earlier part may have left open."""
        self.stack.clear()
        self.overflow = self.in_paragraph = self.hidden = 0
        self.capture = None

    def add_text(self, data: str) -> None:
        if self.text_chars < self.keep:
            self.text.append(data)
            self.text_chars += len(data)

    def begin_capture(self, kind: str) -> None:
        self.capture = []
        self.capture_tag = self.stack[-1]
        self.capture_name = _qname(self.capture_tag)
        self.capture_attr = kind

    def end_capture(self) -> None:
        value = "".join(self.capture or []).strip()[:RAW_CHARS]
        kind, name = self.capture_attr, self.capture_name
        self.capture = None
        if not value and not kind.startswith("user-defined"):
            return
        if kind == "annotation":
            if len(self.annotation_authors) < MAX_ITEMS:
                self.annotation_authors.setdefault(value, None)
        elif kind == "change":
            if len(self.change_authors) < MAX_ITEMS:
                self.change_authors.setdefault(value, None)
        elif name == "meta:keyword":
            if len(self.keywords) < MAX_ITEMS:
                self.keywords.append(value)
        elif name == "meta:user-defined":
            if len(self.user_defined) < MAX_ITEMS:
                self.user_defined.append(f"{kind.removeprefix('user-defined:')}={value}")
        else:
            self.meta.setdefault(name, value)

    def start_meta(self, name: str, attrib: dict[str, str]) -> None:
        if name == "meta:user-defined":
            label = attrib.get(f"{{{NS['meta']}}}name", "")[:200]
            self.begin_capture(f"user-defined:{label}")
        elif name in _META_TEXT:
            self.begin_capture("meta")
        elif name == "meta:document-statistic":
            for key, value in attrib.items():
                self.statistics.setdefault(_qname(key), value[:100])
        elif name == "meta:template":
            self.template = attrib.get(f"{{{NS['xlink']}}}href", "")[:RAW_CHARS] or None

    def add_link(self, value: str) -> bool:
        """Keep an address outside the package; True when it is one."""
        target = value.strip()
        if ("://" in target[:40] or target.startswith("\\\\")) and (
            len(self.links) < _links.MAX_LINKS
        ):
            self.links.setdefault(target[:RAW_CHARS], None)
            return True
        return False

    def add_href(self, tag: str, href: str) -> None:
        """An ``xlink:href``: a link, and what follows it (a linked image loads on opening)."""
        name = _qname(tag)
        if not self.add_link(href) or name == "meta:template":  # the template: see _finish
            return
        target = href.strip()[:RAW_CHARS]
        clicked = name in _CLICKED or tag[1:].partition("}")[0] in _CLICKED_NAMESPACES
        mechanism = _LINKED.get(name, name)
        self.contacts.add(mechanism, target, on_open=not clicked)
        if not clicked and len(self.linked) < MAX_ITEMS:
            self.linked.setdefault(f"{name}{_links.ARROW}{target}", None)

    def add_language(self, language: str, country: str) -> None:
        if language.lower() in ("none", "zxx", "") or len(self.languages) >= 100:
            return
        tag = f"{language}-{country}" if country and country.lower() != "none" else language
        self.languages.setdefault(tag[:35], None)


def _parser(walker: _Walker) -> DET.DefusedXMLParser:
    return DET.DefusedXMLParser(
        target=walker, forbid_dtd=False, forbid_entities=True, forbid_external=True
    )


def _feed(
    read: Callable[[int], bytes], walker: _Walker, cap: int, part: str, out: Extraction
) -> int:
    """Stream one XML part into ``walker``; returns the decompressed bytes read.

    A part past ``cap`` is cut (what was read is kept); unsafe or malformed XML is an issue.
    """
    walker.new_part()
    parser = _parser(walker)
    total = 0
    try:
        while True:
            chunk = read(min(CHUNK, cap + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                out.note("limit.part_size", f"{part} is larger than {cap} bytes; read in part")
                return total
            parser.feed(chunk)
        parser.close()
    except defusedxml.DefusedXmlException as exc:
        out.note("xml_unsafe", f"{part}: refused unsafe XML ({type(exc).__name__})")
    except DET.ParseError as exc:
        out.note("corrupt", f"{part}: malformed XML ({exc})"[:300])
    return total


def _finish(walker: _Walker, out: Extraction, source: Source) -> None:
    """Turn what the walker collected into catalogue facts and raw values."""
    meta = walker.meta
    for name, value in meta.items():
        out.raw[f"meta.xml:{name}"] = value
    for name, field in _META_TEXT.items():
        if field and name in meta:
            out.put(field, meta[name])
    generator = meta.get("meta:generator")
    if generator:
        application, version, platform = split_generator(generator)
        out.put("doc.application", application)
        out.put("doc.app_version", version)
        out.put("odf.platform", platform)
    for name, field in (
        ("meta:creation-date", "doc.created"),
        ("dc:date", "doc.modified"),
        ("meta:print-date", "doc.printed"),
    ):
        if name in meta:
            put_date(out, field, meta[name])
    cycles = meta.get("meta:editing-cycles", "")
    if cycles:
        if cycles.isdigit():
            out.put("doc.revision", int(cycles))
        else:
            out.note("bad_value", f"editing-cycles {cycles[:40]!r} is not a number")
    duration = meta.get("meta:editing-duration")
    if duration:
        seconds = duration_seconds(duration)
        if seconds is None:
            out.note("bad_value", f"editing-duration {duration[:40]!r} is not an ISO duration")
        out.put("doc.edit_time_s", seconds)
    for name, value in walker.statistics.items():
        out.raw[f"meta.xml:meta:document-statistic/{name}"] = value
        if name in _STATISTICS and value.isdigit():
            out.put(_STATISTICS[name], int(value))
    if walker.keywords:
        out.raw["meta.xml:meta:keyword"] = "; ".join(walker.keywords)[:RAW_CHARS]
        out.put("doc.keywords", "; ".join(walker.keywords)[:RAW_CHARS])
    for item in walker.user_defined:
        key, _, value = item.partition("=")
        out.raw.setdefault(f"meta.xml:meta:user-defined/{key}", value)
    out.put("odf.user_defined", tuple(walker.user_defined))
    if walker.template:
        out.raw["meta.xml:meta:template"] = walker.template
        out.put("doc.template", walker.template)
    languages = dict(walker.languages)
    if meta.get("dc:language"):
        languages = {meta["dc:language"][:35]: None, **languages}
    out.put("doc.languages", tuple(sorted(languages)[:100]))
    out.put("odf.annotation_authors", tuple(walker.annotation_authors))
    out.put("odf.change_authors", tuple(walker.change_authors))
    found = list(walker.links)
    if walker.template:
        found.extend(_links.find_links(walker.template))
        walker.contacts.add("template", walker.template)
    out.put("odf.linked_content", tuple(walker.linked))
    walker.contacts.put(out, _links.merge(found))
    sample = "".join(walker.text).strip()
    out.put("text.sample", sample[: source.text_sample_bytes])


def put_date(out: Extraction, field: str, value: str) -> None:
    """Put an ISO 8601 time, whether it had a zone, and (except for ``doc.printed``) its
    offset."""
    stamp = _dates.parse_iso(value)
    if stamp is None:
        out.note("bad_value", f"unreadable date {value[:80]!r} for {field}")
        return
    out.put(field, stamp.utc)
    out.put(f"{field}_tz_known", stamp.tz_known)
    if field != "doc.printed":
        out.put(f"{field}_offset", stamp.offset)


def _open_zip(handle: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise CorruptFileError(f"not a readable zip: {exc}") from exc


@register(
    name="odf",
    version=1,
    mime_types={
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.graphics",
        "application/vnd.oasis.opendocument.text-template",
        "application/vnd.oasis.opendocument.spreadsheet-template",
        "application/vnd.oasis.opendocument.presentation-template",
        "application/vnd.oasis.opendocument.graphics-template",
        "application/vnd.oasis.opendocument.text-master",
    },
)
def extract(source: Source) -> Extraction:
    """Read an OpenDocument package: meta.xml, then styles.xml and content.xml.

    Raises:
        CorruptFileError: the zip cannot be opened.
        EncryptedFileError: the content is password-protected (meta.xml, which stays in
            clear, is in ``partial``).
    """
    out = Extraction()
    walker = _Walker(source.text_sample_bytes)
    with source.open() as handle:
        archive = _open_zip(handle)
        with archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                out.note("limit.members", f"{len(infos)} zip entries; first {MAX_MEMBERS} used")
            members = {info.filename: info for info in infos[:MAX_MEMBERS]}
            budget = TOTAL_BYTES
            encrypted = False
            manifest = members.get("META-INF/manifest.xml")
            if manifest is not None:
                encrypted = b"encryption-data" in _read_member(archive, manifest, META_BYTES, out)
            # content.xml before styles.xml: the text sample starts with the body, not the
            # header and footer text that styles.xml holds.
            for part, cap in (
                ("meta.xml", META_BYTES),
                ("content.xml", BODY_BYTES),
                ("styles.xml", BODY_BYTES),
            ):
                info = members.get(part)
                if info is None:
                    if part != "styles.xml":
                        out.raw[f"{part}:missing"] = "true"
                    continue
                if encrypted and part != "meta.xml":
                    continue
                if budget <= 0:
                    out.note("limit.total_size", f"{part} not read: {TOTAL_BYTES} bytes read")
                    break
                budget -= _feed_member(archive, info, walker, min(cap, budget), out)
    _finish(walker, out, source)
    if encrypted:
        out.put("doc.encrypted", True)
        raise EncryptedFileError("content is encrypted (manifest encryption-data)", partial=out)
    return out


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, out: Extraction
) -> bytes:
    try:
        with archive.open(info) as stream:
            return stream.read(cap)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        out.note("corrupt", f"{info.filename}: {exc}"[:300])
        return b""


def _feed_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, walker: _Walker, cap: int, out: Extraction
) -> int:
    try:
        with archive.open(info) as stream:
            return _feed(stream.read, walker, cap, info.filename, out)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        # Truncated or bit-flipped deflate data, a bad CRC, an unsupported method.
        out.note("corrupt", f"{info.filename}: {exc}"[:300])
        return 0


def extract_flat(source: Source) -> Extraction:
    """Read a flat OpenDocument XML file (.fodt, .fods): the same facts from one XML stream.

    Called by the text extractor, which receives ``application/xml``.
    """
    out = Extraction()
    walker = _Walker(source.text_sample_bytes)
    with source.open() as handle:
        _feed(handle.read, walker, BODY_BYTES, "flat XML", out)
    _finish(walker, out, source)
    return out
