"""Legacy Office compound files (doc, xls, ppt, encrypted OOXML): properties, FIB, BIFF, directory.

olefile reads the container (FAT, directory, streams); the property sets, the Word File
Information Block, Word's saved-by history and piece table, and the Excel globals records are
parsed here, so every string is decoded with the code page its writer declared: a
1251-encoded "last saved by" reads as Cyrillic, the way the #MacronLeaks spreadsheets showed a
Russian-language Excel. The compound-file directory times are kept beside the property times
because a forger who hex-edits the latter rarely fixes the former.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import olefile

from leaktriage.errors import CorruptFileError, EncryptedFileError, WrongFormatError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors._codepage import codec_for
from leaktriage.extractors._dates import from_filetime
from leaktriage.extractors._lcid import lcid_tag
from leaktriage.extractors._links import Contacts, find_links, merge

log = logging.getLogger(__name__)

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_STREAMS_LISTED = 500
"""At most this many stream paths go into ``ole.streams``."""
MAX_ENTRIES = 100_000
"""Directory entries walked at most."""
MAX_PROPERTY_STREAM = 1 << 20
"""Property set streams larger than this are not parsed (Office writes a few kB)."""
MAX_PROPERTIES = 1024
MAX_VECTOR = 4096
MAX_STRING_CHARS = 8192
MAX_RAW = 4096
"""Characters kept per raw value."""
MAX_TEXT_CHARS = 200_000
"""Body characters read from a Word piece table (for the sample and the link search)."""
MAX_PIECES = 100_000
MAX_SAVED_BY = 10
MAX_BIFF_RECORDS = 400
MAX_ISSUES = 20

_OLE_ERRORS = (
    OSError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    AssertionError,
    struct.error,
    OverflowError,
    RecursionError,
)
"""What olefile raises on malformed containers (its defects are OSError, the rest are bugs it
hits on hostile input); all of them mean "cannot read this part"."""

_ENDOFCHAIN, _FREESECT = 0xFFFFFFFE, 0xFFFFFFFF
_STORAGE, _STREAM, _ROOT = 1, 2, 5

SUMMARY = "\x05SummaryInformation"
DOC_SUMMARY = "\x05DocumentSummaryInformation"
_FMTID_USER = uuid.UUID("D5CDD505-2E9C-101B-9397-08002B2CF9AE").bytes_le

VT_EMPTY, VT_NULL, VT_I2, VT_I4, VT_R4, VT_R8, VT_CY, VT_DATE, VT_BSTR = 0, 1, 2, 3, 4, 5, 6, 7, 8
VT_ERROR, VT_BOOL, VT_VARIANT, VT_I1, VT_UI1, VT_UI2, VT_UI4 = 10, 11, 12, 16, 17, 18, 19
VT_I8, VT_UI8, VT_INT, VT_UINT, VT_LPSTR, VT_LPWSTR = 20, 21, 22, 23, 30, 31
VT_FILETIME, VT_BLOB, VT_CF, VT_CLSID, VT_VECTOR = 64, 65, 71, 72, 0x1000

_FIXED = {
    VT_I2: "<h",
    VT_I4: "<i",
    VT_R4: "<f",
    VT_R8: "<d",
    VT_CY: "<q",
    VT_DATE: "<d",
    VT_ERROR: "<I",
    VT_BOOL: "<h",
    VT_I1: "<b",
    VT_UI1: "<B",
    VT_UI2: "<H",
    VT_UI4: "<I",
    VT_I8: "<q",
    VT_UI8: "<Q",
    VT_INT: "<i",
    VT_UINT: "<I",
}

SUMMARY_NAMES = {
    2: "Title",
    3: "Subject",
    4: "Author",
    5: "Keywords",
    6: "Comments",
    7: "Template",
    8: "LastAuthor",
    9: "RevNumber",
    10: "TotalEditTime",
    11: "LastPrinted",
    12: "CreateTime",
    13: "LastSaveTime",
    14: "PageCount",
    15: "WordCount",
    16: "CharCount",
    18: "AppName",
    19: "DocSecurity",
}
"""SummaryInformation property ids ([MS-OLEPS] 2.25.1) by their PIDSI names."""

DOC_SUMMARY_NAMES = {
    2: "Category",
    3: "PresentationTarget",
    4: "Bytes",
    5: "Lines",
    6: "Paragraphs",
    7: "Slides",
    8: "Notes",
    9: "HiddenSlides",
    10: "MMClips",
    11: "ScaleCrop",
    12: "HeadingPairs",
    13: "TitlesOfParts",
    14: "Manager",
    15: "Company",
    16: "LinksUpToDate",
    17: "CharCountWithSpaces",
    19: "SharedDoc",
    22: "HyperlinksChanged",
    23: "AppVersion",
    26: "ContentType",
    27: "ContentStatus",
    28: "Language",
    29: "DocVersion",
}
"""DocumentSummaryInformation property ids ([MS-OLEPS] 2.25.2)."""

_SUMMARY_TEXT = {
    2: "doc.title",
    3: "doc.subject",
    4: "doc.author",
    5: "doc.keywords",
    6: "doc.comments",
    7: "doc.template",
    8: "doc.last_modified_by",
    18: "doc.application",
}
_SUMMARY_COUNTS = {14: "doc.page_count", 15: "doc.word_count", 16: "doc.char_count"}
_DOC_SUMMARY_TEXT = {2: "doc.category", 14: "doc.manager", 15: "doc.company"}


@dataclass(frozen=True, slots=True)
class FileTime:
    """A VT_FILETIME value as its raw 100-ns tick count (a date, or a duration for edit time)."""

    ticks: int


PropertyValue = int | float | bool | str | bytes | FileTime | list["PropertyValue"] | None


@dataclass(slots=True)
class PropertySection:
    """One section of a property set stream, its strings decoded with its own code page."""

    fmtid: bytes
    codepage: int | None = None
    values: dict[int, PropertyValue] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    """The dictionary (property 0): names of user-defined properties."""


class PropertySetError(ValueError):
    """A property set stream is malformed beyond reading."""


def _cut(text: str) -> str:
    return text.split("\0", 1)[0][:MAX_STRING_CHARS]


def _decode(raw: bytes, codec: str) -> str:
    """Bytes in ``codec`` up to the first NUL; an odd UTF-16 tail byte is dropped."""
    if codec.startswith("utf-16") and len(raw) % 2:
        raw = raw[:-1]
    return _cut(raw.decode(codec, "replace"))


class _Reader:
    """Typed values of one property set section ([MS-OLEPS] 2.15 TypedPropertyValue)."""

    def __init__(self, data: bytes, codec: str) -> None:
        self.data = data
        self.codec = codec

    def u32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > len(self.data):
            raise PropertySetError(f"value runs past the end of the section at {pos}")
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def typed(self, pos: int, depth: int = 0, loose: bool = False) -> tuple[PropertyValue, int]:
        """The value at ``pos`` (type word first) and the position after it.

        ``loose``: the value sits in a vector, where some writers leave strings unpadded.
        """
        vtype = self.u32(pos) & 0xFFFF
        return self.value(vtype, pos + 4, depth, loose=loose)

    def value(
        self, vtype: int, pos: int, depth: int, *, packed: bool = False, loose: bool = False
    ) -> tuple[PropertyValue, int]:
        """A value of type ``vtype`` at ``pos``; ``packed`` for elements of a fixed-size vector."""
        if depth > 3:
            raise PropertySetError("variants nested too deep")
        if vtype & VT_VECTOR:
            count = self.u32(pos)
            if count > MAX_VECTOR:
                raise PropertySetError(f"vector of {count} elements")
            base = vtype & 0x0FFF
            pos += 4
            items: list[PropertyValue] = []
            for _ in range(count):
                if base == VT_VARIANT:
                    item, pos = self.typed(pos, depth + 1, loose=True)
                else:
                    item, pos = self.value(base, pos, depth + 1, packed=True, loose=True)
                items.append(item)
            return items, pos + (-pos % 4 if base in _FIXED else 0)
        if vtype in (VT_EMPTY, VT_NULL):
            return None, pos
        fixed = _FIXED.get(vtype)
        if fixed is not None:
            size = struct.calcsize(fixed)
            if pos + size > len(self.data):
                raise PropertySetError("truncated value")
            number = struct.unpack_from(fixed, self.data, pos)[0]
            step = size if packed else max(size, 4)
            if vtype == VT_BOOL:
                return bool(number), pos + step
            return number, pos + step
        if vtype in (VT_LPSTR, VT_BSTR):
            size = self.u32(pos)
            end = pos + 4 + size
            if size > len(self.data) or end > len(self.data):
                raise PropertySetError("string runs past the end of the section")
            text = _decode(self.data[pos + 4 : end], self.codec)
            return text, self._skip_pad(end, size, loose)
        if vtype == VT_LPWSTR:
            chars = self.u32(pos)
            end = pos + 4 + 2 * chars
            if 2 * chars > len(self.data) or end > len(self.data):
                raise PropertySetError("string runs past the end of the section")
            text = _cut(self.data[pos + 4 : end].decode("utf-16-le", "replace"))
            return text, self._skip_pad(end, 2 * chars, loose)
        if vtype == VT_FILETIME:
            if pos + 8 > len(self.data):
                raise PropertySetError("truncated FILETIME")
            return FileTime(int(struct.unpack_from("<Q", self.data, pos)[0])), pos + 8
        if vtype in (VT_BLOB, VT_CF):
            size = self.u32(pos)
            end = pos + 4 + size
            if size > len(self.data) or end > len(self.data):
                raise PropertySetError("blob runs past the end of the section")
            return self.data[pos + 4 : end], end + (-size % 4)
        if vtype == VT_CLSID:
            if pos + 16 > len(self.data):
                raise PropertySetError("truncated CLSID")
            return str(uuid.UUID(bytes_le=self.data[pos : pos + 16])), pos + 16
        raise PropertySetError(f"unsupported property type 0x{vtype:04x}")

    def _skip_pad(self, end: int, size: int, loose: bool) -> int:
        # The spec pads strings to 4 bytes, but some writers do not inside vectors: skip the
        # padding only when it is there (zero bytes), as ExifTool does.
        pad = -size % 4
        if not pad:
            return end
        if loose and self.data[end : end + pad] != b"\0" * pad:
            return end
        return end + pad


def parse_property_set(data: bytes) -> list[PropertySection]:
    """The sections of a property set stream ([MS-OLEPS] 2.21), strings decoded.

    A property that cannot be read is skipped (its id lands in ``values`` as None only when
    its type is VT_EMPTY); a broken header raises :class:`PropertySetError`.
    """
    if len(data) < 48 or data[:2] != b"\xfe\xff":
        raise PropertySetError("not a property set stream (bad byte order mark)")
    count = int(struct.unpack_from("<I", data, 24)[0])
    sections: list[PropertySection] = []
    for index in range(min(count, 2)):
        at = 28 + 20 * index
        if at + 20 > len(data):
            raise PropertySetError("section list runs past the end of the stream")
        fmtid = data[at : at + 16]
        offset = int(struct.unpack_from("<I", data, at + 16)[0])
        if offset + 8 > len(data):
            raise PropertySetError(f"section {index} starts past the end of the stream")
        size = int(struct.unpack_from("<I", data, offset)[0])
        section_data = data[offset : offset + max(size, 8)] if size else data[offset:]
        sections.append(_section(fmtid, section_data))
    return sections


def _section(fmtid: bytes, data: bytes) -> PropertySection:
    section = PropertySection(fmtid)
    count = int(struct.unpack_from("<I", data, 4)[0])
    count = min(count, MAX_PROPERTIES, (len(data) - 8) // 8)
    pairs = [struct.unpack_from("<II", data, 8 + 8 * i) for i in range(count)]
    offsets = {int(pid): int(offset) for pid, offset in pairs}
    # The code page (property 1) decodes every string, wherever it sits in the list.
    if 1 in offsets:
        try:
            value, _ = _Reader(data, "cp1252").typed(offsets[1])
        except PropertySetError:
            value = None
        if isinstance(value, int) and not isinstance(value, bool):
            section.codepage = value + 0x10000 if value < 0 else value
    reader = _Reader(data, codec_for(section.codepage))
    for pid, offset in offsets.items():
        if pid == 1:
            continue
        try:
            if pid == 0:
                section.names = _dictionary(data, offset, section.codepage)
            else:
                section.values[pid] = reader.typed(offset)[0]
        except PropertySetError as exc:
            log.debug("property %d unreadable: %s", pid, exc)
    return section


def _dictionary(data: bytes, pos: int, codepage: int | None) -> dict[int, str]:
    """The dictionary of user-defined property names ([MS-OLEPS] 2.17)."""
    reader = _Reader(data, codec_for(codepage))
    count = min(reader.u32(pos), MAX_PROPERTIES)
    pos += 4
    names: dict[int, str] = {}
    unicode = codepage == 1200
    for _ in range(count):
        pid, length = reader.u32(pos), reader.u32(pos + 4)
        size = 2 * length if unicode else length
        end = pos + 8 + size
        if size > len(data) or end > len(data):
            raise PropertySetError("dictionary entry runs past the end")
        raw = data[pos + 8 : end]
        names[pid] = _decode(raw, "utf-16-le" if unicode else reader.codec)
        pos = end + (-size % 4 if unicode else 0)
    return names


@dataclass(slots=True)
class _State:
    """What one extraction has gathered beyond the catalogue fields."""

    extraction: Extraction
    ole: olefile.OleFileIO
    sample_chars: int
    codepage: int | None = None
    encrypted: str | None = None
    links: list[str] = field(default_factory=list)


@register(
    name="ole2",
    version=1,
    mime_types={
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/x-ole-storage",
        "application/x-ooxml-encrypted",
    },
)
def extract(source: Source) -> Extraction:
    """Read a legacy Office compound file: properties, FIB, BIFF globals, directory facts.

    Raises:
        WrongFormatError: the bytes are not a compound file.
        CorruptFileError: the container (header, FAT, directory) cannot be read.
        EncryptedFileError: the content is encrypted; the readable properties are kept.
    """
    data = source.read()
    if not data.startswith(MAGIC):
        raise WrongFormatError("not a compound file (no D0CF11E0 signature)")
    extraction = Extraction()
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except _OLE_ERRORS as exc:
        raise CorruptFileError(f"compound file unreadable: {exc}", partial=extraction) from exc
    state = _State(extraction, ole, source.text_sample_bytes)
    try:
        _check_chains(state)
        entries = _directory(state)
        for issue in list(getattr(ole, "parsing_issues", []))[:MAX_ISSUES]:
            extraction.note("corrupt", f"compound file defect: {issue[1]}")
        _properties(state)
        kind = extraction.fields.get("ole.kind")
        if kind == "doc":
            _word(state)
        elif kind == "xls":
            _excel(state)
        elif kind == "ppt":
            _powerpoint(state)
        elif kind == "ooxml_encrypted":
            state.encrypted = "encrypted OOXML package (EncryptionInfo/EncryptedPackage)"
        elif "EncryptedSummary" in entries:
            state.encrypted = "PowerPoint EncryptedSummary stream present"
    except _OLE_ERRORS as exc:
        raise CorruptFileError(f"compound file unreadable: {exc}", partial=extraction) from exc
    finally:
        ole.close()
    template = extraction.fields.get("doc.template")
    links = merge(state.links, find_links(template) if isinstance(template, str) else [])
    contacts = Contacts()
    if isinstance(template, str):
        contacts.add("template", template)
    contacts.put(extraction, links)
    if state.encrypted:
        extraction.put("doc.encrypted", True)
        raise EncryptedFileError(state.encrypted, partial=extraction)
    return extraction


def _check_chains(state: _State) -> None:
    """Refuse a container whose directory chain loops; note broken mini-stream chains.

    olefile reads a looping directory chain until the FAT runs out and lists the same entries
    again and again, so a loop there makes the whole directory untrustworthy.
    """
    ole = state.ole
    fat = ole.fat
    chains = [
        ("directory", ole.first_dir_sector),
        ("mini FAT", ole.first_mini_fat_sector),
        ("mini stream", ole.root.isectStart),
    ]
    for what, start in chains:
        seen: set[int] = set()
        sector = start
        while sector not in (_ENDOFCHAIN, _FREESECT):
            if sector >= len(fat) or sector in seen:
                message = f"{what} sector chain is broken or loops at sector {sector}"
                if what == "directory":
                    raise CorruptFileError(message, partial=state.extraction)
                state.extraction.note("corrupt", message)
                break
            seen.add(sector)
            sector = fat[sector]


def _walk(ole: olefile.OleFileIO) -> Iterator[tuple[str, olefile.OleDirectoryEntry]]:
    """Every directory entry below the root with its path, breadth-first, bounded."""
    pending: deque[tuple[str, olefile.OleDirectoryEntry]] = deque([("", ole.root)])
    seen = 0
    while pending and seen < MAX_ENTRIES:
        prefix, node = pending.popleft()
        for kid in node.kids:
            seen += 1
            path = f"{prefix}{kid.name}"
            yield path, kid
            if kid.entry_type == _STORAGE:
                pending.append((path + "/", kid))


def _directory(state: _State) -> set[str]:
    """Stream list, kind, macros and directory times; returns the top-level names."""
    extraction, ole = state.extraction, state.ole
    streams: list[str] = []
    storages: list[str] = []
    created: list[datetime] = []
    modified: list[datetime] = []
    root_modified = from_filetime(ole.root.modifyTime)
    if root_modified is not None:
        extraction.put("ole.root_modified", root_modified)
        extraction.raw["Directory:Root.ModifyTime"] = root_modified.isoformat()
        modified.append(root_modified)
    root_created = from_filetime(ole.root.createTime)
    if root_created is not None:
        created.append(root_created)
        extraction.raw["Directory:Root.CreateTime"] = root_created.isoformat()
    root_clsid = ole.root.clsid
    if root_clsid:
        extraction.raw["Directory:Root.CLSID"] = root_clsid
    for path, entry in _walk(ole):
        if entry.entry_type == _STREAM:
            streams.append(path)
        elif entry.entry_type == _STORAGE:
            storages.append(path)
        for ticks, bucket in ((entry.createTime, created), (entry.modifyTime, modified)):
            stamp = from_filetime(ticks)
            if stamp is not None:
                bucket.append(stamp)
    extraction.put("ole.streams", tuple(streams[:MAX_STREAMS_LISTED]))
    extraction.raw["Directory:StreamCount"] = str(len(streams))
    if created:
        extraction.put("ole.dir_created_min", min(created))
    if modified:
        extraction.put("ole.dir_modified_max", max(modified))
    top = {path.lower(): path for path in streams + storages if "/" not in path}
    macro_storages = {"macros", "_vba_project_cur", "vba"}
    has_macros = any(path.rsplit("/", 1)[-1].lower() in macro_storages for path in storages)
    extraction.put("doc.has_macros", has_macros)
    if "worddocument" in top:
        kind = "doc"
    elif "workbook" in top or "book" in top:
        kind = "xls"
    elif "powerpoint document" in top:
        kind = "ppt"
    elif any(name.startswith("__substg1.0_") for name in top):
        kind = "msg"
    elif "encryptedpackage" in top and "encryptioninfo" in top:
        kind = "ooxml_encrypted"
    else:
        kind = "other"
    extraction.put("ole.kind", kind)
    return set(top.values())


def _stream(state: _State, path: str, limit: int) -> bytes | None:
    """A stream's bytes, or None when absent, too large or unreadable (noted)."""
    ole = state.ole
    try:
        if not ole.exists(path):
            return None
        size = ole.get_size(path)
        if size > limit:
            state.extraction.note("limit.stream_size", f"{path!r}: {size} bytes not read")
            return None
        with ole.openstream(path) as handle:
            data: bytes = handle.read(size)
    except _OLE_ERRORS as exc:
        state.extraction.note("corrupt", f"stream {path!r} unreadable: {exc}")
        return None
    if len(data) < size:
        state.extraction.note("truncated", f"stream {path!r}: {len(data)} of {size} bytes")
    return data


def _raw(value: PropertyValue) -> str:
    if isinstance(value, FileTime):
        return str(value.ticks)
    if isinstance(value, bytes):
        return value[: MAX_RAW // 2].hex()
    if isinstance(value, list):
        return json.dumps([_raw(item) for item in value], ensure_ascii=False)[:MAX_RAW]
    return str(value)[:MAX_RAW]


def _text(value: PropertyValue) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: PropertyValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _properties(state: _State) -> None:
    """SummaryInformation and DocumentSummaryInformation (with the user-defined section)."""
    extraction = state.extraction
    for stream, names in ((SUMMARY, SUMMARY_NAMES), (DOC_SUMMARY, DOC_SUMMARY_NAMES)):
        data = _stream(state, stream, MAX_PROPERTY_STREAM)
        if data is None:
            continue
        try:
            sections = parse_property_set(data)
        except PropertySetError as exc:
            extraction.note("corrupt", f"{stream[1:]}: {exc}")
            continue
        label = stream[1:]
        for section in sections:
            if section.fmtid == _FMTID_USER:
                _user_defined(state, section)
                continue
            if section.codepage is not None:
                extraction.raw[f"{label}:CodePage"] = str(section.codepage)
            for pid, value in section.values.items():
                extraction.raw[f"{label}:{names.get(pid, f'0x{pid:04x}')}"] = _raw(value)
            if stream == SUMMARY:
                _summary_fields(state, section)
            else:
                _doc_summary_fields(state, section)


def _summary_fields(state: _State, section: PropertySection) -> None:
    extraction, values = state.extraction, section.values
    state.codepage = section.codepage
    extraction.put("doc.codepage", section.codepage)
    for pid, name in _SUMMARY_TEXT.items():
        extraction.put(name, _text(values.get(pid)))
    for pid, name in _SUMMARY_COUNTS.items():
        extraction.put(name, _int(values.get(pid)))
    extraction.put("doc.revision", _int(values.get(9)))
    edit = values.get(10)
    if isinstance(edit, FileTime) and 0 < edit.ticks < 10_000_000 * 86400 * 365 * 100:
        extraction.put("doc.edit_time_s", edit.ticks // 10_000_000)
    for pid, prefix in ((12, "doc.created"), (13, "doc.modified"), (11, "doc.printed")):
        stamp = values.get(pid)
        when = from_filetime(stamp.ticks) if isinstance(stamp, FileTime) else None
        if when is None:
            continue
        extraction.put(prefix, when)
        if prefix != "doc.printed":
            # A FILETIME is UTC by definition; it records no local offset.
            extraction.put(f"{prefix}_tz_known", True)


def _doc_summary_fields(state: _State, section: PropertySection) -> None:
    extraction, values = state.extraction, section.values
    for pid, name in _DOC_SUMMARY_TEXT.items():
        extraction.put(name, _text(values.get(pid)))
    pairs = values.get(12)
    if isinstance(pairs, list):
        labels = [item for item in pairs[0::2] if isinstance(item, str) and item]
        extraction.put("ole.heading_pairs", tuple(labels))
    parts = values.get(13)
    if isinstance(parts, list):
        extraction.put("ole.titles_of_parts", tuple(p for p in parts if isinstance(p, str) and p))
    version = _int(values.get(23))
    if version is not None and version > 0:
        extraction.put("doc.app_version", f"{version >> 16}.{version & 0xFFFF:04d}")
    if state.codepage is None:
        extraction.put("doc.codepage", section.codepage)


def _user_defined(state: _State, section: PropertySection) -> None:
    """User-defined properties as name=value; hyperlink lists feed ``links.external``."""
    extraction = state.extraction
    found: list[str] = []
    for pid, value in section.values.items():
        if pid == 0x80000000:
            continue
        name = section.names.get(pid, f"0x{pid:08x}")
        extraction.raw[f"UserDefined:{name}"] = _raw(value)
        if name == "_PID_HLINKS" and isinstance(value, bytes):
            state.links.extend(_hyperlinks(value))
        elif name == "_PID_LINKBASE" and isinstance(value, bytes):
            state.links.extend(find_links(value.decode("utf-16-le", "replace")))
        elif isinstance(value, FileTime):
            when = from_filetime(value.ticks)
            found.append(f"{name}={when.isoformat() if when else value.ticks}")
        elif value is not None and not isinstance(value, bytes | list):
            found.append(f"{name}={value}")
    extraction.put("ole.user_defined", tuple(found))


def _hyperlinks(blob: bytes) -> list[str]:
    """Targets in a _PID_HLINKS blob ([MS-OSHARED] VtHyperlink: count, then typed values)."""
    reader = _Reader(blob, "utf-16-le")
    texts: list[str] = []
    try:
        count = min(reader.u32(0), MAX_VECTOR)
        pos = 4
        for _ in range(count):
            item, pos = reader.typed(pos)
            if isinstance(item, str) and item:
                texts.append(item)
    except PropertySetError as exc:
        log.debug("hyperlink list cut short: %s", exc)
    links: list[str] = []
    for text in texts:
        links.extend(find_links(text))
    return links


# --- Word -------------------------------------------------------------------------------------

_FIB_ENCRYPTED, _FIB_TABLE1, _FIB_COMPLEX, _FIB_OBFUSCATED = 0x0100, 0x0200, 0x0004, 0x8000
_FC_CLX, _FC_SAVED_BY = 33, 71
"""Indexes of fcClx and fcSttbSavedBy in FibRgFcLcb97 ([MS-DOC] 2.5.6)."""


def _word(state: _State) -> None:
    """The FIB ([MS-DOC] 2.5.1): version, language, flags; then SttbSavedBy and the text."""
    extraction = state.extraction
    document = _stream(state, "WordDocument", 1 << 30)
    if document is None or len(document) < 32:
        extraction.note("corrupt", "WordDocument stream missing or shorter than a FIB")
        return
    ident, nfib, _, lid, _, flags = struct.unpack_from("<6H", document, 0)
    extraction.raw["WordDocument:FibBase.wIdent"] = f"0x{ident:04X}"
    extraction.raw["WordDocument:FibBase.nFib"] = f"0x{nfib:04X}"
    extraction.raw["WordDocument:FibBase.lid"] = f"0x{lid:04X}"
    extraction.raw["WordDocument:FibBase.flags"] = f"0x{flags:04X}"
    if ident != 0xA5EC:
        extraction.note("corrupt", f"WordDocument FIB signature 0x{ident:04X}, not 0xA5EC")
        return
    extraction.put("ole.fib_nfib", nfib)
    extraction.put("ole.fib_lid", lid)
    tag = lcid_tag(lid)
    extraction.put("ole.fib_lid_tag", tag)
    if tag:
        extraction.put("doc.languages", (tag,))
    extraction.put("ole.fib_fast_saved", bool(flags & _FIB_COMPLEX))
    if flags & _FIB_ENCRYPTED:
        method = "XOR obfuscation" if flags & _FIB_OBFUSCATED else "encryption"
        state.encrypted = f"Word FIB fEncrypted flag set ({method})"
        return
    if nfib < 0x00C1:
        return  # Word 6/95 FIB: another layout; the property sets say the rest.
    blob = _fc_lcb(state, document)
    if blob is None:
        return
    table = _stream(state, "1Table" if flags & _FIB_TABLE1 else "0Table", 1 << 30)
    if table is None:
        extraction.note("corrupt", "Word table stream missing")
        return
    _saved_by(state, table, blob)
    _word_text(state, document, table, blob)


def _fc_lcb(state: _State, document: bytes) -> list[tuple[int, int]] | None:
    """FibRgFcLcb as (fc, lcb) pairs, and nFibNew when the FIB has it."""
    try:
        pos = 32
        csw = struct.unpack_from("<H", document, pos)[0]
        pos += 2 + 2 * csw
        cslw = struct.unpack_from("<H", document, pos)[0]
        ccp_text_at = pos + 2 + 12
        pos += 2 + 4 * cslw
        count = struct.unpack_from("<H", document, pos)[0]
        pos += 2
        pairs = [struct.unpack_from("<II", document, pos + 8 * i) for i in range(count)]
        pos += 8 * count
        if pos + 4 <= len(document):
            csw_new, nfib_new = struct.unpack_from("<HH", document, pos)
            if csw_new:
                state.extraction.put("ole.fib_nfib_new", nfib_new)
                state.extraction.raw["WordDocument:FibRgCswNew.nFibNew"] = f"0x{nfib_new:04X}"
        ccp_text = struct.unpack_from("<i", document, ccp_text_at)[0] if cslw >= 4 else 0
    except struct.error:
        state.extraction.note("corrupt", "Word FIB truncated")
        return None
    return [(int(fc), int(lcb)) for fc, lcb in pairs] + [(-1, max(0, int(ccp_text)))]


def _saved_by(state: _State, table: bytes, blob: list[tuple[int, int]]) -> None:
    """SttbSavedBy ([MS-DOC] 2.9.293): author and path of the last saves, oldest first."""
    if len(blob) <= _FC_SAVED_BY + 1:
        return
    fc, lcb = blob[_FC_SAVED_BY]
    if not lcb:
        return
    data = table[fc : fc + lcb]
    if len(data) < 6 or fc + lcb > len(table):
        state.extraction.note("corrupt", "SttbSavedBy outside the table stream")
        return
    extend, count = struct.unpack_from("<HH", data, 0)
    if extend != 0xFFFF:
        state.extraction.note("corrupt", "SttbSavedBy is not an extended (UTF-16) STTB")
        return
    strings: list[str] = []
    pos = 6
    for _ in range(min(count, 2 * MAX_SAVED_BY * 10)):
        if pos + 2 > len(data):
            break
        chars = struct.unpack_from("<H", data, pos)[0]
        strings.append(data[pos + 2 : pos + 2 + 2 * chars].decode("utf-16-le", "replace"))
        pos += 2 + 2 * chars
    pairs = [f"{strings[i]}|{strings[i + 1]}" for i in range(0, len(strings) - 1, 2)]
    for index, pair in enumerate(pairs):
        state.extraction.raw[f"Table:SttbSavedBy[{index}]"] = pair[:MAX_RAW]
    state.extraction.put("ole.saved_by", tuple(pairs[-MAX_SAVED_BY:]))
    state.links.extend(link for i in range(1, len(strings), 2) for link in find_links(strings[i]))


_CONTROL_MAP = {
    "\r": "\n",
    "\x0b": "\n",
    "\x0c": "\n",
    "\x0e": "\n",
    "\x07": "\t",
    "\x1e": "-",
}


def _word_text(state: _State, document: bytes, table: bytes, blob: list[tuple[int, int]]) -> None:
    """Main-document text from the piece table (CLX), for the sample and the link search."""
    extraction = state.extraction
    ccp_text = blob[-1][1]
    if len(blob) <= _FC_CLX + 1 or not ccp_text:
        return
    fc, lcb = blob[_FC_CLX]
    clx = table[fc : fc + lcb]
    pos = 0
    for _ in range(MAX_PIECES):
        if pos >= len(clx) or clx[pos] != 0x01:
            break
        if pos + 3 > len(clx):
            break
        pos += 3 + struct.unpack_from("<h", clx, pos + 1)[0]
    if pos + 5 > len(clx) or clx[pos] != 0x02:
        extraction.note("corrupt", "Word piece table (CLX) unreadable")
        return
    size = struct.unpack_from("<I", clx, pos + 1)[0]
    plc = clx[pos + 5 : pos + 5 + size]
    pieces = min((len(plc) - 4) // 12, MAX_PIECES) if len(plc) >= 16 else 0
    wanted = min(ccp_text, MAX_TEXT_CHARS)
    chunks: list[str] = []
    got = 0
    for index in range(pieces):
        start, end = struct.unpack_from("<II", plc, 4 * index)
        if start >= wanted:
            break
        count = min(end, wanted) - start
        if count <= 0:
            continue
        raw_fc = struct.unpack_from("<I", plc, 4 * (pieces + 1) + 8 * index + 2)[0]
        offset = raw_fc & 0x3FFFFFFF
        if raw_fc & 0x40000000:
            chunk = document[offset // 2 : offset // 2 + count].decode("cp1252", "replace")
        else:
            chunk = document[offset : offset + 2 * count].decode("utf-16-le", "replace")
        chunks.append(chunk)
        got += len(chunk)
        if got >= wanted:
            break
    text = "".join(chunks)
    state.links.extend(find_links(text))
    sample = _clean_word_text(text)
    extraction.put("text.sample", sample[: state.sample_chars])
    extraction.put("text.chars", len(sample))


def _clean_word_text(text: str) -> str:
    """Word's text without field instructions and with its control marks made plain."""
    out: list[str] = []
    fields: list[bool] = []  # per open field: still in its instruction part
    for char in text:
        if char == "\x13":
            fields.append(True)
        elif char == "\x14":
            if fields:
                fields[-1] = False
        elif char == "\x15":
            if fields:
                fields.pop()
        elif fields and fields[-1]:
            continue
        elif char in _CONTROL_MAP:
            out.append(_CONTROL_MAP[char])
        elif char >= " " or char in "\t\n":
            out.append(char)
    return "".join(out).strip()


# --- Excel and PowerPoint ---------------------------------------------------------------------


def _excel(state: _State) -> None:
    """Workbook globals ([MS-XLS]): BOF build, FILEPASS, WRITEACCESS user name, CODEPAGE."""
    extraction = state.extraction
    name = "Workbook" if state.ole.exists("Workbook") else "Book"
    data = _stream(state, name, 1 << 30)
    if data is None:
        return
    pos = 0
    biff8 = False
    access: bytes | None = None
    codepage: int | None = None
    for _ in range(MAX_BIFF_RECORDS):
        if pos + 4 > len(data):
            break
        kind, size = struct.unpack_from("<HH", data, pos)
        body = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if kind == 0x0809 and len(body) >= 8:
            version, _, build, year = struct.unpack_from("<4H", body, 0)
            biff8 = version == 0x0600
            extraction.raw[f"{name}:BOF.vers"] = f"0x{version:04X}"
            extraction.raw[f"{name}:BOF.rupBuild"] = str(build)
            extraction.raw[f"{name}:BOF.rupYear"] = str(year)
        elif kind == 0x002F:
            state.encrypted = "Excel FILEPASS record: workbook is password-encrypted"
            break
        elif kind == 0x005C:
            access = body
        elif kind == 0x0042 and len(body) >= 2:
            codepage = int(struct.unpack_from("<H", body, 0)[0])
        elif kind in (0x000A, 0x0085):  # EOF, BOUNDSHEET: the globals we need are behind us
            break
    if codepage is not None:
        extraction.put("ole.biff_codepage", codepage)
        extraction.raw[f"{name}:CodePage"] = str(codepage)
    if biff8 and state.encrypted is None:
        text = _biff_cells(data, state.sample_chars)
        if text:
            state.links.extend(find_links(text))
            extraction.put("text.sample", text[: state.sample_chars])
            extraction.put("text.chars", len(text))
    if access:
        user = _write_access(access, biff8, codepage if codepage else state.codepage)
        extraction.raw[f"{name}:WriteAccess"] = user[:MAX_RAW]
        extraction.put("ole.app_user", user)


MAX_BIFF_CELL_RECORDS = 2_000_000
"""Records walked for cell values (each is a few bytes; the sample fills long before)."""
MAX_SST_ITEMS = 500_000
"""Shared strings kept to resolve LABELSST cells."""


class _Continued:
    """A record body followed by its CONTINUE records, read across their boundaries."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.index = 0
        self.pos = 0

    def _ensure(self) -> bool:
        while self.index < len(self.parts) and self.pos >= len(self.parts[self.index]):
            self.index += 1
            self.pos = 0
        return self.index < len(self.parts)

    def take(self, count: int) -> bytes:
        """``count`` bytes, across boundaries (fewer at the end)."""
        out = b""
        while len(out) < count and self._ensure():
            part = self.parts[self.index]
            piece = part[self.pos : self.pos + count - len(out)]
            self.pos += len(piece)
            out += piece
        return out

    def chars(self, count: int, high: bool) -> str:
        """``count`` characters; a CONTINUE record that cuts them starts with its own
        high-byte flag."""
        out: list[str] = []
        first = self.index if self._ensure() else -1
        while count > 0 and self._ensure():
            part = self.parts[self.index]
            if self.pos == 0 and self.index != first:
                high = bool(part[0] & 0x01)
                self.pos = 1
                continue
            width = 2 if high else 1
            n = min(count, (len(part) - self.pos) // width)
            if n <= 0:  # a lone byte left: malformed, skip it
                self.pos = len(part)
                continue
            raw = part[self.pos : self.pos + n * width]
            out.append(raw.decode("utf-16-le", "replace") if high else raw.decode("latin-1"))
            self.pos += n * width
            count -= n
        return "".join(out)


def _sst(parts: list[bytes]) -> list[str]:
    """The shared string table ([MS-XLS] 2.4.265 SST, XLUnicodeRichExtendedString items)."""
    reader = _Continued(parts)
    header = reader.take(8)
    if len(header) < 8:
        return []
    unique = min(struct.unpack_from("<I", header, 4)[0], MAX_SST_ITEMS)
    found: list[str] = []
    for _ in range(unique):
        head = reader.take(3)
        if len(head) < 3:
            break
        count, flags = struct.unpack("<HB", head)
        runs = struct.unpack("<H", reader.take(2))[0] if flags & 0x08 else 0
        ext = struct.unpack("<i", reader.take(4))[0] if flags & 0x04 else 0
        found.append(reader.chars(count, bool(flags & 0x01)))
        reader.take(4 * runs + max(ext, 0))
    return found


def _rk(value: int) -> float:
    """An RK number ([MS-XLS] 2.5.217): a 30-bit integer or the top of a double, maybe /100."""
    if value & 0x02:
        number: float = value >> 2 if not value & 0x80000000 else (value >> 2) - (1 << 30)
    else:
        number = struct.unpack("<d", struct.pack("<Q", (value & 0xFFFFFFFC) << 32))[0]
    return number / 100 if value & 0x01 else number


def _figure(number: float) -> str:
    """A figure as Excel stores it in a cell: up to 15 significant digits, no trailing .0."""
    if number != number or number in (float("inf"), float("-inf")):
        return ""
    return f"{number:.15g}"


def _biff_cells(data: bytes, keep: int) -> str:
    """The cell values of every BIFF8 worksheet, sheet by sheet, row by row, column by column
    (shared strings resolved, figures as stored), up to ``keep`` characters."""
    pos = 0
    sst_parts: list[bytes] | None = None
    strings: list[str] = []
    sheets: list[dict[tuple[int, int], str]] = []
    cells: dict[tuple[int, int], str] | None = None
    size = 0
    previous = 0
    for _ in range(MAX_BIFF_CELL_RECORDS):
        if pos + 4 > len(data) or size >= keep:
            break
        kind, length = struct.unpack_from("<HH", data, pos)
        body = data[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if kind == 0x003C and previous == 0x00FC and sst_parts is not None:
            sst_parts.append(body)
            continue
        if sst_parts is not None and previous == 0x00FC:
            strings = _sst(sst_parts)
        previous = kind
        if kind == 0x00FC:
            sst_parts = [body]
        elif kind == 0x0809:
            sheet_type = struct.unpack_from("<H", body, 2)[0] if len(body) >= 4 else 0
            cells = {} if sheet_type == 0x0010 else None  # worksheets only
            if cells is not None:
                sheets.append(cells)
        elif cells is None or len(body) < 6:
            continue
        else:
            row, col = struct.unpack_from("<HH", body, 0)
            text = ""
            if kind == 0x00FD and len(body) >= 10:  # LABELSST
                index = struct.unpack_from("<I", body, 6)[0]
                text = strings[index] if index < len(strings) else ""
            elif kind == 0x0203 and len(body) >= 14:  # NUMBER
                text = _figure(struct.unpack_from("<d", body, 6)[0])
            elif kind == 0x027E and len(body) >= 10:  # RK
                text = _figure(_rk(struct.unpack_from("<I", body, 6)[0]))
            elif kind == 0x00BD:  # MULRK: several RK cells of one row
                for n in range((len(body) - 6) // 6):
                    value = struct.unpack_from("<I", body, 4 + 6 * n + 2)[0]
                    cells[(row, col + n)] = _figure(_rk(value))
                    size += 8
                continue
            elif kind == 0x0006 and len(body) >= 14:  # FORMULA with a numeric result
                if body[12:14] != b"\xff\xff":
                    text = _figure(struct.unpack_from("<d", body, 6)[0])
            elif kind == 0x0204 and len(body) >= 9:  # LABEL (XLUnicodeString)
                count, flags = struct.unpack_from("<HB", body, 6)
                raw = body[9 : 9 + count * (2 if flags & 0x01 else 1)]
                text = raw.decode("utf-16-le" if flags & 0x01 else "latin-1", "replace")
            if text:
                cells[(row, col)] = text
                size += len(text) + 1
    out: list[str] = []
    for sheet in sheets:
        rows: dict[int, list[tuple[int, str]]] = {}
        for (row, col), text in sheet.items():
            if text:
                rows.setdefault(row, []).append((col, text))
        out.extend("\t".join(t for _, t in sorted(rows[r])) for r in sorted(rows))
    return "\n".join(out)[:keep]


def _write_access(body: bytes, biff8: bool, codepage: int | None) -> str:
    """The WRITEACCESS user name: XLUnicodeString in BIFF8, a byte string before."""
    if biff8 and len(body) >= 3:
        chars, flags = struct.unpack_from("<HB", body, 0)
        if flags & 0x01:
            text = body[3 : 3 + 2 * chars].decode("utf-16-le", "replace")
        else:
            text = body[3 : 3 + chars].decode("latin-1")
    elif body:
        text = body[1 : 1 + body[0]].decode(codec_for(codepage), "replace")
    else:
        text = ""
    return text.rstrip(" \0")


def _powerpoint(state: _State) -> None:
    """The ``Current User`` stream ([MS-PPT] 2.3.2): who saved the presentation last."""
    data = _stream(state, "Current User", 1 << 16)
    if data is None or len(data) < 28:
        return
    token = struct.unpack_from("<I", data, 12)[0]
    state.extraction.raw["Current User:headerToken"] = f"0x{token:08X}"
    if token == 0xF3D1C4DF:
        state.encrypted = "PowerPoint Current User header token says the file is encrypted"
    length = struct.unpack_from("<H", data, 20)[0]
    ansi_end = 28 + length
    if length == 0 or ansi_end > len(data):
        return
    user = data[28:ansi_end].decode(codec_for(state.codepage), "replace")
    if ansi_end + 4 + 2 * length <= len(data):
        user = data[ansi_end + 4 : ansi_end + 4 + 2 * length].decode("utf-16-le", "replace")
    user = user.rstrip("\0 ")
    state.extraction.raw["Current User:UserName"] = user[:MAX_RAW]
    state.extraction.put("ole.app_user", user)
