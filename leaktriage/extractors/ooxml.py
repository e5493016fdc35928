"""OOXML packages (docx, xlsx, pptx and their macro/template variants): properties and traces.

One zip + XML mechanism reads all three kinds. Besides the core/app/custom properties it
keeps what a forger rarely thinks of: the zip layer (Office stamps every entry 1980-01-01 and
writes ``[Content_Types].xml`` first, so real times or another order mean a repack by another
tool), Word's rsid save-session ids and docId (shared values link documents to one editing
history), proofing languages (the keyboard language of whoever typed), authors of tracked
changes and comments, people.xml identities, Excel's absolute save path, and every external
relationship or field code that would fetch something when the file is opened.
"""

from __future__ import annotations

import logging
import lzma
import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import unquote

from leaktriage.detect import OOXML_MAIN, OOXML_MIMES
from leaktriage.errors import CorruptFileError, WrongFormatError
from leaktriage.extractors import Extraction, Source, _dates, _links, _xml, register
from leaktriage.extractors._ooxml_signatures import put_xml_signatures
from leaktriage.model import Issue

log = logging.getLogger(__name__)

META_PART_BYTES = 8 << 20
"""Largest metadata part read (core, app, custom, rels, settings, styles, comments, slides)."""
BODY_PART_BYTES = 64 << 20
"""Largest main part read (document.xml, workbook.xml, sharedStrings.xml)."""
TOTAL_BYTES = 256 << 20
"""Decompressed bytes read from one package in all; a zip bomb stops here."""
MAX_MEMBERS = 20_000
"""Zip entries looked at; more is hostile for an Office file."""
MAX_RELS_PARTS = 2_000
"""Relationship parts read."""
MAX_ITEMS = 500
"""Cap on every list field (authors, targets, field codes, properties...)."""
MAX_RSIDS = 2_000
"""rsids kept in ``ooxml.rsids`` (``ooxml.rsid_count`` counts them all)."""
MAX_SIDE_PARTS = 100
"""Headers, footers, notes and comment parts read per package."""
MAX_SLIDES = 300
"""Slides read for text and languages."""
MAX_SHEETS_FOR_TEXT = 32
"""Worksheets read for cell values (in workbook order) until the text is full."""
MAX_SHARED_STRINGS = 500_000
"""Shared strings kept to resolve cells (a larger table is hostile for a text sample)."""
RAW_CHARS = 4096
"""Raw values and string facts are cut to this length."""
TEXT_KEEP = 256 * 1024
"""Body text kept in memory to find links in (the sample is the start of it)."""
ZIP_ORDER = 50
"""Leading zip member names kept in ``ooxml.zip_order``."""

_KINDS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-word.document.macroEnabled.12": "docm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template": "dotx",
    "application/vnd.ms-word.template.macroEnabled.12": "dotm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.12": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template": "xltx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12": "pptm",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow": "ppsx",
}
_MAIN_PART = {"d": "word/document.xml", "x": "xl/workbook.xml", "p": "ppt/presentation.xml"}
_COMPRESSION = {0: "stored", 8: "deflated", 9: "deflate64", 12: "bzip2", 14: "lzma"}
_PREFIX = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://schemas.openxmlformats.org/package/2006/metadata/core-properties": "cp",
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main": "w",
    "http://purl.oclc.org/ooxml/wordprocessingml/main": "w",
    "http://schemas.microsoft.com/office/word/2010/wordml": "w14",
    "http://schemas.microsoft.com/office/word/2012/wordml": "w15",
}
_VML_OFFICE = "{urn:schemas-microsoft-com:office:office}"
_FETCHING_FIELDS = frozenset(
    {"INCLUDEPICTURE", "INCLUDETEXT", "LINK", "HYPERLINK", "DDEAUTO", "DDE", "IMPORT"}
)
"""Field verbs that pull content from elsewhere (or run a program) when fields update."""
_CLICKED_FIELDS = frozenset({"HYPERLINK"})
"""Of those, the ones followed only when the reader clicks."""
_EXTERNAL_KINDS = {
    "image": "linked image",
    "attachedTemplate": "attached template",
    "oleObject": "linked OLE object",
    "frame": "frame",
    "subDocument": "subdocument",
    "externalLinkPath": "external workbook link",
    "hyperlink": "hyperlink",
    "mailMergeSource": "mail-merge data source",
    "mailMergeHeaderSource": "mail-merge header source",
    "recipientData": "mail-merge recipient data",
    "video": "linked video",
    "audio": "linked audio",
    "media": "linked media",
    "package": "linked package",
}
"""Plain names of external relationship types (ECMA-376 Part 1, 15; Part 2, 9.3): the
mechanism an investigator reads in ``links.on_open``. Other types keep their own name."""
_CLICKED_KINDS = frozenset({"hyperlink"})
"""External relationships followed only on a click; every other one may be loaded when the
document opens or its links update (images, templates, frames, linked objects, workbooks)."""
_FIELD_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_FIELD_SWITCH = re.compile(r"\\[*@#!A-Za-z]")
_BACKSLASHES = re.compile(r"\\+")
_LOCAL_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\[^\\]|file:/|/Users/|/home/)", re.IGNORECASE)
"""An absolute path that names a drive, a machine or a user's home."""
_NUMBER = re.compile(r"^\s*\d{1,18}\s*$")
_NO_LANGUAGE = frozenset({"", "x-none", "und", "zxx"})
_IMAGE_TAGS = ("}imagedata", "}docPr", "}cNvPr")
_STANDARD_TYPES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
    "http://schemas.openxmlformats.org/package/2006/relationships/",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/",
    "http://schemas.microsoft.com/office/",
)

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
)
"""What zipfile raises on a damaged, encrypted or exotic member."""


@register(name="ooxml", version=1, mime_types=OOXML_MIMES)
def extract(source: Source) -> Extraction:
    """Read an OOXML package's properties, zip layer, editing traces and external references.

    Raises:
        CorruptFileError: the zip cannot be opened.
        WrongFormatError: a zip without ``[Content_Types].xml``.
    """
    extraction = Extraction()
    with source.open() as handle:
        archive = _open_zip(handle, extraction)
        with archive:
            _Package(archive, extraction, source).run()
    return extraction


def _open_zip(handle: BinaryIO, extraction: Extraction) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(handle)
    except _ZIP_ERRORS as exc:
        raise CorruptFileError(f"zip unreadable: {exc}", partial=extraction) from exc


class _Text:
    """Body text in document order, kept up to a bound, with everything seen counted."""

    __slots__ = ("chars", "keep", "parts", "size")

    def __init__(self, keep: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.chars = 0
        self.keep = keep

    @property
    def full(self) -> bool:
        return self.size >= self.keep

    def add(self, text: str | None) -> None:
        if not text:
            return
        self.chars += len(text)
        if self.size < self.keep:
            self.parts.append(text)
            self.size += len(text)

    def paragraph(self) -> None:
        """Start a new paragraph (a line break unless nothing came yet or one just did)."""
        if self.parts and not self.parts[-1].endswith("\n"):
            self.add("\n")

    def value(self) -> str:
        return "".join(self.parts)[: self.keep]


class _Rel:
    """One relationship: its kind (last segment of the Type URI) and where it points."""

    __slots__ = ("external", "kind", "part", "rel_id", "standard", "target")

    def __init__(self, rel_id: str, rel_type: str, target: str, part: str | None) -> None:
        self.rel_id = rel_id
        self.kind = rel_type.rsplit("/", 1)[-1]
        self.standard = rel_type.startswith(_STANDARD_TYPES)
        """The Type URI is spelled as Office spells it (a misspelled one is ignored by Office)."""
        self.target = target
        self.part = part
        """Lower-case internal part name, or None for a TargetMode=External target."""
        self.external = part is None


class _Package:
    """The state of reading one package: byte budget, relationships and collected facts."""

    def __init__(self, archive: zipfile.ZipFile, out: Extraction, source: Source) -> None:
        self.archive = archive
        self.out = out
        self.source = source
        self.budget = TOTAL_BYTES
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.rels: dict[str, list[_Rel]] = {}
        self.text = _Text(max(source.text_sample_bytes, TEXT_KEEP))
        self.links: dict[str, None] = {}
        self.external: dict[str, None] = {}
        self.abs_paths: dict[str, None] = {}
        self.languages: set[str] = set()
        self.doc_languages: set[str] = set()
        self.revision_authors: set[str] = set()
        self.comment_authors: set[str] = set()
        self.people: dict[str, None] = {}
        self.field_codes: dict[str, None] = {}
        self.contacts = _links.Contacts()
        self.external_rels: dict[str, None] = {}
        self.changes = 0
        self.comments = 0

    # --- reading parts -----------------------------------------------------------------------

    def read(self, name: str, cap: int) -> bytes | None:
        """The bytes of a part (case-insensitive name), or None with an issue when refused."""
        info = self.infos.get(name.lower())
        if info is None:
            return None
        if info.file_size > cap:
            self.out.note("limit.part_size", f"{info.filename}: {info.file_size} bytes > {cap}")
            return None
        if info.file_size > self.budget:
            self.out.note(
                "limit.total_bytes",
                f"{info.filename} not read: the package's {TOTAL_BYTES}-byte budget is spent",
            )
            return None
        try:
            with self.archive.open(info) as stream:
                # zipfile yields at most the declared size and checks the CRC at its end, so a
                # member that inflates beyond its header stops there (and fails the CRC).
                data = stream.read(info.file_size)
        except _ZIP_ERRORS as exc:
            self.out.note("corrupt", f"{info.filename}: unreadable ({type(exc).__name__}: {exc})")
            return None
        self.budget -= len(data)
        return data

    def xml(self, name: str, cap: int | None = None) -> ET.Element | None:
        """A part parsed safely, or None with an issue (unsafe, malformed, unreadable)."""
        data = self.read(name, META_PART_BYTES if cap is None else cap)
        if data is None:
            return None
        try:
            return _xml.parse(data)
        except _xml.UnsafeXmlError as exc:
            self.out.note("xml_unsafe", f"{self.infos[name.lower()].filename}: {exc}")
        except ET.ParseError as exc:
            self.out.note("corrupt", f"{self.infos[name.lower()].filename}: malformed XML: {exc}")
        return None

    def raw(self, key: str, value: str | None) -> None:
        if value is not None and value.strip() and len(self.out.raw) < 4 * MAX_ITEMS:
            self.out.raw[key] = value[:RAW_CHARS]

    def bad_value(self, message: str) -> None:
        # The file was read; a value that does not parse is a fact about it, not a failure.
        self.out.issues.append(Issue("extract", "bad_value", message[:500]))

    # --- the package --------------------------------------------------------------------------

    def run(self) -> None:
        self.zip_layer()
        if "[content_types].xml" not in self.infos:
            raise WrongFormatError("zip without [Content_Types].xml: not an OOXML package")
        kind = _KINDS.get(self.source.mime) or self.kind_from_content_types()
        self.out.put("ooxml.kind", kind)
        self.read_relationships()
        package = self.rels.get("", [])
        main = self.first(package, "officeDocument") or _MAIN_PART[kind[0]]
        self.core(self.first(package, "core-properties") or "docProps/core.xml")
        self.app(self.first(package, "extended-properties") or "docProps/app.xml")
        self.custom(self.first(package, "custom-properties") or "docProps/custom.xml")
        self.out.put(
            "ooxml.has_thumbnail",
            any(rel.kind == "thumbnail" for rel in package)
            or any(name.startswith("docprops/thumbnail.") for name in self.infos),
        )
        self.out.put(
            "doc.has_macros",
            any(name.endswith("vbaproject.bin") for name in self.infos)
            or any(rel.kind == "vbaProject" for rels in self.rels.values() for rel in rels),
        )
        if main.lower() not in self.infos:
            self.out.note("corrupt", f"main part {main} is missing")
        elif kind[0] == "d":
            self.word(main.lower())
        elif kind[0] == "x":
            self.excel(main.lower())
        else:
            self.powerpoint(main.lower())
        self.comment_parts()
        put_xml_signatures(self.infos, self.xml, self.out)
        self.finish(kind)

    def kind_from_content_types(self) -> str:
        data = self.read("[Content_Types].xml", 1 << 20) or b""
        text = data.decode("utf-8", "replace")
        for main, mime in OOXML_MAIN.items():
            if main in text:
                return _KINDS[mime]
        raise WrongFormatError("no Office main part in [Content_Types].xml")

    def zip_layer(self) -> None:
        infos = self.archive.infolist()
        if len(infos) > MAX_MEMBERS:
            self.out.note("limit.members", f"{len(infos)} zip entries; first {MAX_MEMBERS} read")
        times: list[datetime] = []
        methods: set[int] = set()
        systems: set[int] = set()
        duplicates: list[str] = []
        invalid_times = 0
        for info in infos[:MAX_MEMBERS]:
            key = info.filename.lower()
            if key in self.infos:
                duplicates.append(info.filename)
            else:
                self.infos[key] = info
            methods.add(info.compress_type)
            systems.add(info.create_system)
            try:
                times.append(datetime(*info.date_time, tzinfo=UTC))
            except ValueError:
                invalid_times += 1
        if times:
            self.out.put("ooxml.zip_mtime_min", min(times))
            self.out.put("ooxml.zip_mtime_max", max(times))
        self.out.put("ooxml.zip_order", tuple(info.filename for info in infos[:ZIP_ORDER]))
        self.out.put(
            "ooxml.zip_compression",
            tuple(sorted(_COMPRESSION.get(m, f"method-{m}") for m in methods)),
        )
        self.out.put("ooxml.zip_create_systems", tuple(str(s) for s in sorted(systems)))
        self.raw("zip:duplicate_names", "; ".join(duplicates[:MAX_ITEMS]))
        if invalid_times:
            self.raw("zip:invalid_times", str(invalid_times))
        self.raw("zip:comment", self.archive.comment.decode("utf-8", "replace"))

    # --- relationships ------------------------------------------------------------------------

    def read_relationships(self) -> None:
        names = [
            info.filename
            for key, info in self.infos.items()
            if key.endswith(".rels") and not key.startswith("__macosx/")
        ]
        if len(names) > MAX_RELS_PARTS:
            self.out.note("limit.rels", f"{len(names)} relationship parts; {MAX_RELS_PARTS} read")
        for name in sorted(names)[:MAX_RELS_PARTS]:
            root = self.xml(name)
            if root is None:
                continue
            source = _rels_source(name)
            base = posixpath.dirname(source)
            found = self.rels.setdefault(source.lower(), [])
            for element in root:
                if _xml.local(element.tag) != "Relationship" or len(found) >= MAX_ITEMS * 4:
                    continue
                target = element.get("Target") or ""
                rel_type = element.get("Type") or ""
                rel_id = element.get("Id") or ""
                if (element.get("TargetMode") or "").lower() == "external":
                    rel = _Rel(rel_id, rel_type, target, None)
                    found.append(rel)
                    self.add_external(target)
                    self.raw(f"{name}:{rel_id}", f"{rel.kind}: {target}")
                    self.external_relationship(source or "package", rel)
                else:
                    found.append(_Rel(rel_id, rel_type, target, _resolve(base, target)))

    def add_external(self, target: str) -> None:
        target = target.strip()
        if target and len(self.external) < MAX_ITEMS:
            self.external[target] = None

    def external_relationship(self, source: str, rel: _Rel) -> None:
        """Keep an external relationship with its type, and what would follow it."""
        target = rel.target.strip()
        if not target or len(self.external_rels) >= MAX_ITEMS:
            return
        kind = rel.kind or "(no type)"
        self.external_rels[f"{source}: {kind}{_links.ARROW}{target}"[:RAW_CHARS]] = None
        label = _EXTERNAL_KINDS.get(kind, f"{kind} relationship")
        self.contacts.add(f"{label} in {source}", target, on_open=kind not in _CLICKED_KINDS)

    @staticmethod
    def first(rels: Iterable[_Rel], kind: str) -> str | None:
        """The part of the first relationship of a kind, correctly spelled types first."""
        found = [rel for rel in rels if rel.kind == kind and rel.part]
        found.sort(key=lambda rel: not rel.standard)
        return found[0].part if found else None

    def internal(self, kind: str, source: str | None = None) -> list[str]:
        """Existing parts of a relationship kind, from one source part or the whole package."""
        groups: Iterable[list[_Rel]] = (
            [self.rels.get(source, [])] if source is not None else self.rels.values()
        )
        parts = {rel.part for rels in groups for rel in rels if rel.kind == kind and rel.part}
        return sorted(part for part in parts if part in self.infos)

    # --- docProps -----------------------------------------------------------------------------

    def core(self, name: str) -> None:
        root = self.xml(name)
        if root is None:
            return
        part = self.infos[name.lower()].filename
        for child in list(root)[:MAX_ITEMS]:
            local = _xml.local(child.tag)
            prefix = _PREFIX.get(_namespace(child.tag))
            value = _all_text(child)
            self.raw(f"{part}:{prefix}:{local}" if prefix else f"{part}:{local}", value)
            if not value:
                continue
            simple = _CORE_STRINGS.get(local)
            if simple:
                self.out.put(simple, value[:RAW_CHARS])
            elif local == "revision":
                self.out.put("doc.revision", _int(value))
            elif local in _CORE_DATES:
                self.date(_CORE_DATES[local], value, f"{part}:{local}")
            elif local == "language" and value.lower() not in _NO_LANGUAGE:
                self.doc_languages.add(value[:35])

    def date(self, field: str, value: str, where: str) -> None:
        stamp = _dates.parse_iso(value)
        if stamp is None:
            self.bad_value(f"{where}: unreadable date {value[:100]!r}")
            return
        self.out.put(field, stamp.utc)
        self.out.put(f"{field}_tz_known", stamp.tz_known)
        if field != "doc.printed":
            self.out.put(f"{field}_offset", stamp.offset)

    def app(self, name: str) -> None:
        root = self.xml(name)
        if root is None:
            return
        part = self.infos[name.lower()].filename
        for child in list(root)[:MAX_ITEMS]:
            local = _xml.local(child.tag)
            if local in ("HeadingPairs", "TitlesOfParts"):
                items = [
                    (item.text or "").strip()
                    for item in child.iter()
                    if _xml.local(item.tag) in ("lpstr", "lpwstr", "i4")
                ][: MAX_ITEMS * 2]
                self.raw(f"{part}:{local}", "; ".join(items))
                labels = [
                    (item.text or "").strip()[:RAW_CHARS]
                    for item in child.iter()
                    if _xml.local(item.tag) in ("lpstr", "lpwstr")
                ]
                field = (
                    "ooxml.heading_pairs" if local == "HeadingPairs" else "ooxml.titles_of_parts"
                )
                self.out.put(field, tuple(labels[:MAX_ITEMS]))
                continue
            value = _all_text(child)
            self.raw(f"{part}:{local}", value)
            if not value:
                continue
            if local in _APP_STRINGS:
                self.out.put(_APP_STRINGS[local], value[:RAW_CHARS])
            elif local in _APP_COUNTS:
                self.out.put(_APP_COUNTS[local], _int(value))
            elif local == "TotalTime":
                minutes = _int(value)
                self.out.put("doc.edit_time_s", None if minutes is None else minutes * 60)
            elif local == "HyperlinkBase":
                self.links.update(dict.fromkeys(_links.find_links(value)))

    def custom(self, name: str) -> None:
        root = self.xml(name)
        if root is None:
            return
        part = self.infos[name.lower()].filename
        found: list[str] = []
        for prop in list(root)[:MAX_ITEMS]:
            prop_name = (prop.get("name") or "").strip()
            value = _all_text(prop)
            self.raw(f"{part}:{prop_name}", value)
            if prop_name:
                found.append(f"{prop_name}={value}"[:RAW_CHARS])
        self.out.put("ooxml.custom_properties", tuple(found))

    # --- Word -------------------------------------------------------------------------------

    def word(self, main: str) -> None:
        root = self.xml(main, BODY_PART_BYTES)
        if root is not None:
            self.word_walk(root, self.text)
        for kind in ("header", "footer", "footnotes", "endnotes"):
            for part in self.internal(kind, main)[:MAX_SIDE_PARTS]:
                side = self.xml(part)
                if side is not None:
                    self.word_walk(side, None)
        styles = self.first(self.rels.get(main, []), "styles") or "word/styles.xml"
        styles_root = self.xml(styles)
        if styles_root is not None:
            lang_tag = f"{{{_namespace(styles_root.tag)}}}lang"
            for element in styles_root.iter(lang_tag):
                self.word_lang(element, lang_tag[:-4])
        self.word_settings(self.first(self.rels.get(main, []), "settings") or "word/settings.xml")
        for part in self.internal("people")[:MAX_SIDE_PARTS]:
            self.people_part(part)
        template = next(
            (rel for rels in self.rels.values() for rel in rels if rel.kind == "attachedTemplate"),
            None,
        )
        if template is not None:
            self.out.put("ooxml.attached_template", template.target[:RAW_CHARS])
            if template.external:
                self.out.put("doc.template", template.target[:RAW_CHARS])
        self.out.put("ooxml.has_tracked_changes", self.changes > 0)

    def word_walk(self, root: ET.Element, text: _Text | None) -> None:
        """One pass over a Word story: text, languages, tracked changes, fields, image paths."""
        w = f"{{{_namespace(root.tag)}}}"
        t_tag, p_tag, tab_tag, lang_tag = f"{w}t", f"{w}p", f"{w}tab", f"{w}lang"
        breaks = {f"{w}br", f"{w}cr"}
        changes = {f"{w}ins", f"{w}del", f"{w}moveFrom", f"{w}moveTo"}
        instr_tag, char_tag, simple_tag = f"{w}instrText", f"{w}fldChar", f"{w}fldSimple"
        author_attr, type_attr, instr_attr = f"{w}author", f"{w}fldCharType", f"{w}instr"
        fields: list[list[str]] = []
        for element in root.iter():
            tag = element.tag
            if tag == t_tag:
                if text is not None:
                    text.add(element.text)
            elif tag == p_tag:
                if text is not None:
                    text.paragraph()
            elif tag == tab_tag:
                if text is not None:
                    text.add("\t")
            elif tag in breaks:
                if text is not None:
                    text.add("\n")
            elif tag == lang_tag:
                self.word_lang(element, w)
            elif tag in changes:
                self.changes += 1
                self.add_name(self.revision_authors, element.get(author_attr))
            elif tag == char_tag:
                kind = element.get(type_attr)
                if kind == "begin":
                    fields.append([])
                elif kind in ("separate", "end") and fields:
                    self.field("".join(fields.pop()))
                    if kind == "separate":
                        fields.append([])  # the result text belongs to no instruction
            elif tag == instr_tag:
                if fields and len(fields[-1]) < 200:
                    fields[-1].append(element.text or "")
            elif tag == simple_tag:
                self.field(element.get(instr_attr) or "")
            elif tag.endswith(_IMAGE_TAGS):
                self.image_paths(element)

    def word_lang(self, element: ET.Element, w: str) -> None:
        for attr in ("val", "eastAsia", "bidi"):
            value = (element.get(f"{w}{attr}") or "").strip()
            if value.lower() not in _NO_LANGUAGE and len(self.languages) < 100:
                self.languages.add(value[:35])
                if attr == "val":
                    self.doc_languages.add(value[:35])

    def image_paths(self, element: ET.Element) -> None:
        """Original image paths Word and PowerPoint keep in VML href and drawing properties."""
        local = _xml.local(element.tag)
        if local == "imagedata":
            href = element.get(f"{_VML_OFFICE}href")
            if href:
                self.links.update(dict.fromkeys(_links.find_links(href)))
                self.add_path(href)
        elif local in ("docPr", "cNvPr"):
            self.add_path(element.get("descr"))
            self.add_path(element.get("name"))

    def add_path(self, value: str | None) -> None:
        if value and _LOCAL_PATH.match(value.strip()) and len(self.abs_paths) < MAX_ITEMS:
            self.abs_paths[value.strip()[:RAW_CHARS]] = None

    def field(self, instruction: str) -> None:
        """Keep a field code that fetches content, and the links among its arguments."""
        code = " ".join(instruction.split())[:RAW_CHARS]
        verb = code.split(" ", 1)[0].upper() if code else ""
        if verb not in _FETCHING_FIELDS or len(self.field_codes) >= MAX_ITEMS:
            return
        self.field_codes[code] = None
        for quoted, bare in _FIELD_TOKEN.findall(code[len(verb) :]):
            if bare and _FIELD_SWITCH.fullmatch(bare):
                continue
            for link in _links.find_links(_unescape_field(quoted or bare)):
                self.links[link] = None
                self.contacts.add(f"field {verb}", link, on_open=verb not in _CLICKED_FIELDS)

    def word_settings(self, name: str) -> None:
        root = self.xml(name)
        if root is None:
            return
        part = self.infos[name.lower()].filename
        w = f"{{{_namespace(root.tag)}}}"
        rsids: set[str] = set()
        for child in list(root)[: MAX_ITEMS * 2]:
            local = _xml.local(child.tag)
            prefix = _PREFIX.get(_namespace(child.tag), "")
            if local == "rsids":
                for rsid in child:
                    value = (rsid.get(f"{w}val") or "").strip().upper()
                    if not value:
                        continue
                    if _xml.local(rsid.tag) == "rsidRoot":
                        self.raw(f"{part}:w:rsidRoot", value)
                        self.out.put("ooxml.rsid_root", value[:64])
                    rsids.add(value[:64])
            elif local == "docId":
                doc_id = next((v for k, v in child.attrib.items() if k.endswith("}val")), None)
                self.raw(f"{part}:{prefix}:docId", doc_id)
                if doc_id and (prefix == "w15" or "ooxml.doc_id" not in self.out.fields):
                    self.out.put("ooxml.doc_id", doc_id[:RAW_CHARS])
            elif local == "themeFontLang":
                self.word_lang(child, w)
            elif local == "attachedTemplate":
                self.raw(f"{part}:w:attachedTemplate", _rel_id(child))
        if rsids:
            self.out.put("ooxml.rsids", tuple(sorted(rsids)[:MAX_RSIDS]))
            self.out.put("ooxml.rsid_count", len(rsids))

    def people_part(self, name: str) -> None:
        root = self.xml(name)
        if root is None:
            return
        for person in list(root)[:MAX_ITEMS]:
            author = _attr(person, "author") or _attr(person, "name") or ""
            presence = next((c for c in person if _xml.local(c.tag) == "presenceInfo"), person)
            self.add_person(author, _attr(presence, "providerId"), _attr(presence, "userId"))

    def add_person(self, name: str, provider: str | None, user: str | None) -> None:
        entry = f"{name.strip()}|{(provider or '').strip()}|{(user or '').strip()}"
        if entry != "||" and len(self.people) < MAX_ITEMS:
            self.people[entry[:RAW_CHARS]] = None

    @staticmethod
    def add_name(found: set[str], name: str | None) -> None:
        if name and name.strip() and len(found) < MAX_ITEMS:
            found.add(name.strip()[:RAW_CHARS])

    # --- comments (all kinds) -----------------------------------------------------------------

    def comment_parts(self) -> None:
        """Comment authors and counts: Word and Excel comments, PowerPoint's two schemes,
        Excel's threaded-comment persons."""
        parts = self.internal("comments") + self.internal("threadedComment")
        for part in parts[:MAX_SIDE_PARTS]:
            root = self.xml(part)
            if root is None:
                continue
            for element in root.iter():
                local = _xml.local(element.tag)
                if local in ("comment", "cm", "threadedComment"):
                    self.comments += 1
                    self.add_name(self.comment_authors, _attr(element, "author"))
                elif local == "author" and element.text:  # Excel: <authors><author>
                    self.add_name(self.comment_authors, element.text)
        for part in (self.internal("commentAuthors") + self.internal("authors"))[:MAX_SIDE_PARTS]:
            root = self.xml(part)
            if root is None:
                continue
            for author in list(root)[:MAX_ITEMS]:
                name = _attr(author, "name") or ""
                self.add_name(self.comment_authors, name)
                if _attr(author, "providerId") or _attr(author, "userId"):
                    self.add_person(name, _attr(author, "providerId"), _attr(author, "userId"))
        for part in self.internal("person")[:MAX_SIDE_PARTS]:
            root = self.xml(part)
            if root is None:
                continue
            for person in list(root)[:MAX_ITEMS]:
                self.add_person(
                    _attr(person, "displayName") or "",
                    _attr(person, "providerId"),
                    _attr(person, "userId"),
                )
        self.out.put("ooxml.has_comments", self.comments > 0)

    # --- Excel ------------------------------------------------------------------------------

    def excel(self, main: str) -> None:
        root = self.xml(main, BODY_PART_BYTES)
        order: list[str] = []
        if root is not None:
            part = self.infos[main].filename
            for element in root.iter():
                local = _xml.local(element.tag)
                if local == "fileVersion":
                    for key, value in element.attrib.items():
                        self.raw(f"{part}:fileVersion/{_xml.local(key)}", value)
                    if element.get("appName"):
                        # "xl" for Excel, "Calc" for LibreOffice: who wrote the workbook part.
                        self.out.put("ooxml.workbook_app", element.get("appName", "")[:RAW_CHARS])
                elif local == "absPath":
                    url = element.get("url")
                    self.raw(f"{part}:x15ac:absPath", url)
                    if url and url.strip() and len(self.abs_paths) < MAX_ITEMS:
                        self.abs_paths[url.strip()[:RAW_CHARS]] = None
                elif local == "revisionPtr":
                    for key, value in element.attrib.items():
                        self.raw(f"{part}:revisionPtr/{_xml.local(key)}", value)
                elif local == "sheet" and len(order) < MAX_ITEMS:
                    order.append(_rel_id(element) or "")
        strings = self.first(self.rels.get(main, []), "sharedStrings")
        shared = self.shared_strings(strings) if strings else []
        # The text is what a reader sees: every sheet's cells in workbook order, row by row,
        # the figures as written in <v> (a changed figure is the commonest forgery in a
        # financial leak), shared and inline strings resolved.
        by_id = {
            rel.rel_id: rel.part
            for rel in self.rels.get(main, [])
            if rel.kind == "worksheet" and rel.part
        }
        listed = [by_id[rid] for rid in order if rid in by_id]
        rest = sorted(self.internal("worksheet", main), key=_natural)
        sheets = list(dict.fromkeys(listed + rest))
        cells = False
        for sheet in [s for s in sheets if s in self.infos][:MAX_SHEETS_FOR_TEXT]:
            if self.text.full:
                break
            cells = self.sheet_cells(sheet, shared) or cells
        if not cells:  # no readable sheet: the shared strings alone
            for item in shared:
                if self.text.full:
                    break
                self.text.paragraph()
                self.text.add(item)

    def shared_strings(self, name: str) -> list[str]:
        """The shared string table, each item's text (phonetic <rPh> runs left out)."""
        root = self.xml(name, BODY_PART_BYTES)
        if root is None:
            return []
        s = f"{{{_namespace(root.tag)}}}"
        t_tag, r_tag = f"{s}t", f"{s}r"
        found: list[str] = []
        for item in root:
            if len(found) >= MAX_SHARED_STRINGS:
                self.out.note("limit.shared_strings", f"{name}: over {MAX_SHARED_STRINGS} items")
                break
            pieces = []
            for piece in item:  # <t> or rich-text runs <r><t>
                if piece.tag == t_tag:
                    pieces.append(piece.text or "")
                elif piece.tag == r_tag:
                    pieces.extend(run_text.text or "" for run_text in piece.iter(t_tag))
            found.append("".join(pieces))
        return found

    def sheet_cells(self, name: str, shared: list[str]) -> bool:
        """Add a worksheet's cell values to the text, one line per row, tab between cells;
        False when the sheet could not be read."""
        root = self.xml(name, BODY_PART_BYTES)
        if root is None:
            return False
        s = f"{{{_namespace(root.tag)}}}"
        c_tag, v_tag, is_tag, t_tag = f"{s}c", f"{s}v", f"{s}is", f"{s}t"
        for row in root.iter(f"{s}row"):
            if self.text.full:
                break
            values = []
            for cell in row.iter(c_tag):
                kind = cell.get("t")
                if kind == "inlineStr":
                    inline = cell.find(is_tag)
                    text = (
                        "".join(t.text or "" for t in inline.iter(t_tag))
                        if inline is not None
                        else ""
                    )
                else:
                    value = cell.find(v_tag)
                    text = (value.text or "").strip() if value is not None else ""
                    if kind == "s" and text:
                        index = _int(text)
                        text = shared[index] if index is not None and index < len(shared) else ""
                if text:
                    values.append(text)
            if values:
                self.text.paragraph()
                self.text.add("\t".join(values))
        return True

    # --- PowerPoint -------------------------------------------------------------------------

    def powerpoint(self, main: str) -> None:
        rels = self.rels.get(main, [])
        by_id = {rel.rel_id: rel.part for rel in rels if rel.kind == "slide" and rel.part}
        order: list[str] = []
        root = self.xml(main, BODY_PART_BYTES)
        if root is not None:
            for element in root.iter():
                if _xml.local(element.tag) == "sldId":
                    part = by_id.get(_rel_id(element) or "")
                    if part and part not in order:
                        order.append(part)
        order += sorted(set(by_id.values()) - set(order), key=_natural)
        for part in [p for p in order if p in self.infos][:MAX_SLIDES]:
            slide = self.xml(part)
            if slide is None:
                continue
            for element in slide.iter():
                local = _xml.local(element.tag)
                if local == "t":
                    self.text.add(element.text)
                elif local == "p":
                    self.text.paragraph()
                elif local == "br":
                    self.text.add("\n")
                else:
                    lang = element.get("lang")
                    if lang is not None:
                        self.slide_lang(lang, element.get("altLang"))
                    if local in ("cNvPr", "imagedata"):
                        self.image_paths(element)
            self.text.paragraph()

    def slide_lang(self, lang: str, alt: str | None) -> None:
        for value in (lang, alt or ""):
            value = value.strip()
            if value.lower() not in _NO_LANGUAGE and len(self.languages) < 100:
                self.languages.add(value[:35])
        if lang.strip().lower() not in _NO_LANGUAGE and len(self.doc_languages) < 100:
            self.doc_languages.add(lang.strip()[:35])

    # --- output -----------------------------------------------------------------------------

    def finish(self, kind: str) -> None:
        out = self.out
        body = self.text.value()
        out.put("text.sample", body[: self.source.text_sample_bytes])
        if self.text.chars:
            out.put("text.chars", self.text.chars)
        self.links.update(dict.fromkeys(_links.find_links(body)))
        out.put("ooxml.external_targets", tuple(self.external))
        out.put("ooxml.external_relationships", tuple(self.external_rels))
        self.contacts.put(out, _links.merge(self.external, self.links))
        out.put("ooxml.abs_path", tuple(self.abs_paths))
        out.put("ooxml.field_codes", tuple(self.field_codes))
        out.put("ooxml.languages", tuple(sorted(self.languages)))
        out.put("doc.languages", tuple(sorted(self.doc_languages)[:100]))
        out.put("ooxml.revision_authors", tuple(sorted(self.revision_authors)))
        out.put("ooxml.comment_authors", tuple(sorted(self.comment_authors)))
        out.put("ooxml.people", tuple(self.people))
        log.debug("ooxml %s: %s, %d bytes read", self.source.name, kind, TOTAL_BYTES - self.budget)


_CORE_STRINGS = {
    "title": "doc.title",
    "subject": "doc.subject",
    "creator": "doc.author",
    "lastModifiedBy": "doc.last_modified_by",
    "keywords": "doc.keywords",
    "description": "doc.comments",
    "category": "doc.category",
}
_CORE_DATES = {"created": "doc.created", "modified": "doc.modified", "lastPrinted": "doc.printed"}
_APP_STRINGS = {
    "Application": "doc.application",
    "AppVersion": "doc.app_version",
    "Company": "doc.company",
    "Manager": "doc.manager",
    "Template": "doc.template",
}
_APP_COUNTS = {
    "Pages": "doc.page_count",
    "Slides": "doc.page_count",
    "Words": "doc.word_count",
    "Characters": "doc.char_count",
}


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _all_text(element: ET.Element) -> str:
    """The text of an element and its children, bounded."""
    pieces: list[str] = []
    size = 0
    for piece in element.itertext():
        pieces.append(piece)
        size += len(piece)
        if size > RAW_CHARS:
            break
    return "".join(pieces).strip()[:RAW_CHARS]


def _attr(element: ET.Element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (w15:author, author)."""
    value = element.get(name)
    if value is not None:
        return value
    suffix = "}" + name
    return next((v for k, v in element.attrib.items() if k.endswith(suffix)), None)


def _rel_id(element: ET.Element) -> str | None:
    """The namespaced ``r:id`` attribute (not a plain ``id``)."""
    return next((v for k, v in element.attrib.items() if k.endswith("}id")), None)


def _int(text: str) -> int | None:
    return int(text) if _NUMBER.match(text) else None


def _rels_source(name: str) -> str:
    """The part a relationship part describes: ``word/_rels/a.xml.rels`` -> ``word/a.xml``."""
    folder, _, base = name.rpartition("/")
    parent = folder.rpartition("/")[0] if folder.endswith("_rels") else folder
    base = base.removesuffix(".rels")
    return f"{parent}/{base}" if parent else base


def _resolve(base: str, target: str) -> str:
    """Lower-case part name an internal relationship target points to."""
    target = unquote(target.strip()).replace("\\", "/")
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
    return posixpath.normpath(path).lstrip("/").lower()


def _unescape_field(text: str) -> str:
    """Undo the doubled backslashes of a field argument, when every backslash is doubled."""
    runs = _BACKSLASHES.findall(text)
    if runs and all(len(run) % 2 == 0 for run in runs):
        return _BACKSLASHES.sub(lambda m: "\\" * (len(m.group(0)) // 2), text)
    return text


def _natural(name: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", name)
    return (int(digits[-1]) if digits else 0, name)
