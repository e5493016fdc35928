"""Image extractor: EXIF, XMP and text chunks of JPEG, TIFF, PNG, WebP and HEIC files.

A photo in a leak carries its own account of where it came from: the camera (make, model,
serial), when it was taken (three EXIF times, their offsets and a GPS clock), where (GPS),
and who touched it afterwards (Software, XMP history). The embedded EXIF thumbnail is
compared with the picture itself: an editor that rewrites the pixels but keeps the old EXIF
block leaves a thumbnail that shows the scene as it was (signal IMG-03).

Each container is walked by a small bounded parser here (JPEG markers, PNG chunks, RIFF
chunks, HEIF boxes) to find the EXIF block, the XMP packet and the pixel size; exifread then
reads the EXIF block alone, after a structural check that refuses IFD chains built to make it
loop for minutes. Pillow decodes only the thumbnail and a reduced copy of the main image, and
only when there is a thumbnail to compare.

Field choices, following ExifTool's names: ``doc.author`` is EXIF Artist (else XMP
dc:creator, else PNG Author); ``doc.title`` is EXIF ImageDescription (what Windows shows as
Title; else XMP dc:title, else PNG Title); ``doc.created`` is DateTimeOriginal (else
DateTimeDigitized, XMP CreateDate, PNG Creation Time); ``doc.modified`` is DateTime
(ExifTool's ModifyDate; else XMP ModifyDate, else PNG tIME). ``image.software`` and
``doc.application`` are EXIF Software, else XMP CreatorTool, else PNG Software; the XMP
CreatorTool is also kept on its own as ``image.xmp_creator_tool``, because an editor named
there under a camera's Software string is the point of IMG-02. EXIF SubSecTime* digits are
added to the EXIF times as fractions of a second; ``image.offset_time`` is OffsetTimeOriginal
(else OffsetTime, else OffsetTimeDigitized), as written.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import warnings
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import exifread
from exifread.core.exceptions import ExifError
from PIL import Image, JpegImagePlugin

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, _xml, register
from leaktriage.extractors._dates import Stamp, parse_exif, parse_iso, parse_rfc5322
from leaktriage.extractors._links import find_links, merge

log = logging.getLogger(__name__)
# exifread reports malformed tags at WARNING on its own logger; without any handler Python
# would print them to stderr. A NullHandler keeps them silent unless the application
# configures logging, which then still receives them through propagation.
logging.getLogger("exifread").addHandler(logging.NullHandler())

MAX_SEGMENTS = 4096
"""JPEG marker segments read before the scan data; real files have a dozen."""
MAX_CHUNKS = 8192
"""PNG, RIFF or HEIF boxes read per file."""
MAX_IFDS = 4096
"""IFDs in one EXIF/TIFF chain handed to exifread (a multi-page fax TIFF has hundreds)."""
MAX_IFD_ENTRIES = 50_000
"""Directory entries in the whole EXIF structure; a crafted chain of overlapping 5,000-entry
tables can make exifread parse millions, so such a block is refused with an issue."""
MAX_RAW_VALUE = 2000
"""Characters kept per raw value."""
MAX_RAW_KEYS = 500
"""Raw values kept per image."""
MAX_TEXT_CHUNK = 1024 * 1024
"""Bytes kept from one decompressed PNG text chunk (raw EXIF profiles are hex, twice the size)."""
MAX_XMP_BYTES = 16 * 1024 * 1024
"""Larger XMP packets are not parsed (Photoshop's runaway DocumentAncestors bloat them)."""
MAX_XMP_ELEMENTS = 50_000
"""XML elements walked in one XMP packet."""
MAX_HISTORY = 500
"""xmpMM:History events kept."""
MAX_ANCESTORS = 200
"""photoshop:DocumentAncestors ids kept."""
MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024
"""A larger "thumbnail" is a preview image; it is not decoded."""
HASH_SIZE = 8
"""Difference hash of HASH_SIZE x HASH_SIZE bits (64): compared by Hamming distance."""
THUMBNAIL_MATCH_DISTANCE = 16
"""At most this many of the 64 hash bits may differ for the thumbnail to match the image.

Re-encoding, resampling and letterboxing move a few bits (0-8 on camera files); a
different picture moves about half of them (~32). Flat, near-uniform images (a blank page)
hash unstably, which is why the distance is reported alongside the verdict."""

_PIL_FORMATS = {
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
    "image/png": "PNG",
    "image/webp": "WEBP",
}
"""Pillow's reader for each type whose main image is decoded for the thumbnail comparison."""
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_PREFIXES = (_XMP_PREFIX, b"XMP\x00://ns.adobe.com/xap/1.0/\x00")
"""The standard XMP segment header, and the damaged one some tools write (ExifTool reads it)."""
_XMP_EXTENDED_PREFIX = b"http://ns.adobe.com/xmp/extension/\x00"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]{0,40})\s*=\s*["']([^"']{1,300})["']""")
_XMP_PREFIXES_BY_NAMESPACE = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
}
"""Standard prefixes, whatever a packet declares (Photoshop CS wrote ``xap:`` for ``xmp:``)."""
_IFD_GROUPS = {
    "Image": "IFD0",
    "Thumbnail": "IFD1",
    "EXIF": "ExifIFD",
    "GPS": "GPS",
    "Interoperability": "InteropIFD",
}
_SUB_IFD_TAGS = frozenset({0x8769, 0x8825, 0xA005})
"""ExifOffset, GPSInfo and InteroperabilityOffset: the sub-IFDs exifread follows."""
_EXIF_READ_ERRORS = (
    ExifError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    EOFError,
    struct.error,
    RecursionError,
)
_PIL_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    ZeroDivisionError,
    struct.error,
    Image.DecompressionBombError,
)


@dataclass(slots=True)
class _Parts:
    """What a container walk found, before any metadata is interpreted."""

    width: int | None = None
    height: int | None = None
    exif: bytes | None = None
    """The TIFF structure of the EXIF block, from its ``II``/``MM`` header on."""
    xmp: bytes | None = None
    texts: dict[str, str] = field(default_factory=dict)
    """Container text fields by raw key (``PNG:Author``, ``JPEG:Comment``)."""
    segments: list[str] = field(default_factory=list)
    quant_tables: list[bytes] = field(default_factory=list)
    png_time: datetime | None = None
    decodable: bool = True
    """Pillow can decode the main image (not HEIC)."""


# --- container walks ---------------------------------------------------------------------


def _u16be(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def _u32be(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


def _walk_jpeg(data: bytes, result: Extraction) -> _Parts:
    """Read the JPEG marker segments up to the first scan (SOS); never the pixels."""
    parts = _Parts()
    pos = 2
    scan_at: int | None = None
    for _ in range(MAX_SEGMENTS):
        if pos + 2 > len(data):
            break
        if data[pos] != 0xFF:
            # A segment whose length is off (written by buggy tools): resynchronise on the
            # next marker, as ExifTool does, instead of losing everything after it.
            found = _next_marker(data, pos)
            if found < 0:
                result.note("corrupt", f"JPEG marker expected at byte {pos}; none follows")
                break
            result.note("corrupt", f"{found - pos} stray bytes before the JPEG marker at {found}")
            pos = found
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker == 0xD9:
            break
        length = _u16be(data, pos + 2)
        if pos + 4 > len(data) or length < 2:
            result.note("corrupt", f"JPEG segment 0x{marker:02X} at byte {pos} has no length")
            break
        payload = data[pos + 4 : pos + 2 + length]
        if pos + 2 + length > len(data):
            result.note("truncated", f"JPEG segment 0x{marker:02X} at byte {pos} is cut short")
        _jpeg_segment(marker, payload, parts)
        if marker == 0xDA:
            scan_at = pos
            break
        pos += 2 + length
    else:
        result.note("limit.segments", f"more than {MAX_SEGMENTS} JPEG segments; rest not read")
    if parts.width is None:
        raise CorruptFileError("JPEG without a frame header (SOF)", partial=result)
    if scan_at is None:
        result.note("truncated", "JPEG ends before its compressed image data")
        parts.decodable = False
    elif data.rfind(b"\xff\xd9") < scan_at:
        result.note("truncated", "no end-of-image marker after the image data: the file is cut")
    return parts


def _next_marker(data: bytes, start: int) -> int:
    """Offset of the next 0xFF that starts a marker (not a 0xFF00 stuffing or fill), or -1."""
    pos = data.find(b"\xff", start)
    while 0 <= pos < len(data) - 1 and data[pos + 1] in (0x00, 0xFF):
        pos = data.find(b"\xff", pos + 1 if data[pos + 1] == 0xFF else pos + 2)
    return pos if 0 <= pos < len(data) - 1 else -1


def _jpeg_segment(marker: int, payload: bytes, parts: _Parts) -> None:
    """Take what one JPEG segment says into ``parts``."""
    if marker in _JPEG_SOF and len(payload) >= 5:
        if parts.width is None:
            parts.height = _u16be(payload, 1)
            parts.width = _u16be(payload, 3)
        return
    if marker == 0xDB:
        parts.quant_tables.append(payload)
        return
    if marker == 0xFE:
        parts.segments.append("COM")
        parts.texts.setdefault("JPEG:Comment", _decode_text(payload))
        return
    if not 0xE0 <= marker <= 0xEF:
        return
    name = f"APP{marker - 0xE0}"
    if marker == 0xE1 and payload[:4] == b"Exif" and payload[4:5] in (b"\x00", b"\xff"):
        parts.segments.append(f"{name} Exif")
        if parts.exif is None:
            parts.exif = payload[6:]
        return
    if marker == 0xE1 and payload.startswith(_XMP_PREFIXES):
        parts.segments.append(f"{name} XMP")
        if parts.xmp is None:
            parts.xmp = payload[len(_XMP_PREFIX) :]
        return
    if marker == 0xE1 and payload.startswith(_XMP_EXTENDED_PREFIX):
        parts.segments.append(f"{name} XMP extension")
        return
    label = payload.split(b"\x00", 1)[0][:24]
    parts.segments.append(f"{name} {label.decode('ascii')}" if _printable(label) else name)


def _printable(label: bytes) -> bool:
    return bool(label) and all(0x20 <= byte < 0x7F for byte in label)


def _walk_png(data: bytes, result: Extraction) -> _Parts:
    """Read PNG chunks: IHDR size, tEXt/zTXt/iTXt text, eXIf EXIF, tIME; skip pixel data."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise CorruptFileError("PNG signature missing", partial=result)
    parts = _Parts()
    pos = 8
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            result.note("truncated", "PNG ends before its IEND chunk")
            break
        length = _u32be(data, pos)
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            result.note("truncated", f"PNG chunk {kind!r} at byte {pos} is cut short")
            break
        if kind == b"IHDR" and len(body) >= 8:
            parts.width, parts.height = _u32be(body, 0), _u32be(body, 4)
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(kind, body, parts, result)
        elif kind == b"eXIf" and parts.exif is None:
            parts.exif = body
        elif kind == b"tIME" and len(body) >= 7:
            year, month, day, hour, minute, second = struct.unpack(">HBBBBB", body[:7])
            try:
                parts.png_time = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                result.note("bad_value", f"PNG tIME is not a date: {body[:7].hex()}")
        elif kind == b"IEND":
            break
        pos += 12 + length
    else:
        result.note("limit.chunks", f"more than {MAX_CHUNKS} PNG chunks; rest not read")
    if parts.width is None:
        raise CorruptFileError("PNG without an IHDR header", partial=result)
    return parts


def _png_text(kind: bytes, body: bytes, parts: _Parts, result: Extraction) -> None:
    """One PNG text chunk into ``parts.texts`` (or the XMP packet, for iTXt XML:com.adobe.xmp)."""
    keyword, _, rest = body.partition(b"\x00")
    key = keyword.decode("latin-1")[:80]
    compressed = False
    if kind == b"tEXt":
        raw, encoding = rest, "latin-1"
    elif kind == b"zTXt":
        raw, encoding, compressed = rest[1:], "latin-1", True
    else:
        if len(rest) < 2:
            return
        compressed = rest[0] == 1
        _lang, _, rest = rest[2:].partition(b"\x00")
        _translated, _, raw = rest.partition(b"\x00")
        encoding = "utf-8"
    if compressed:
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(raw, MAX_TEXT_CHUNK)
        except zlib.error:
            result.note("corrupt", f"PNG {kind.decode()} chunk {key!r} does not decompress")
            return
    if key == "XML:com.adobe.xmp":
        parts.xmp = parts.xmp or raw
        return
    if key.startswith("Raw profile type "):
        # ImageMagick and GIMP store EXIF and XMP as hex text: "\nexif\n   1234\n45786966..."
        profile = _raw_profile(raw)
        kind_name = key.removeprefix("Raw profile type ").lower()
        if kind_name in ("exif", "app1") and profile.startswith(b"Exif\x00\x00"):
            parts.exif = parts.exif or profile[6:]
        elif kind_name == "xmp":
            parts.xmp = parts.xmp or profile
        return
    parts.texts.setdefault(f"PNG:{key}", raw[:MAX_TEXT_CHUNK].decode(encoding, "replace"))


def _raw_profile(text: bytes) -> bytes:
    """The bytes of an ImageMagick raw profile: type line, length line, then hex digits."""
    lines = text.strip().split(b"\n", 2)
    if len(lines) < 3:
        return b""
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", lines[2])
    return bytes.fromhex(digits[: len(digits) & ~1].decode("ascii"))


def _walk_webp(data: bytes, result: Extraction) -> _Parts:
    """Read RIFF chunks of a WebP file: canvas size, EXIF and XMP chunks."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise CorruptFileError("WebP RIFF header missing", partial=result)
    parts = _Parts()
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if len(body) < size:
            result.note("truncated", f"WebP chunk {kind!r} at byte {pos} is cut short")
        if kind == b"VP8X" and len(body) >= 10:
            parts.width = 1 + int.from_bytes(body[4:7], "little")
            parts.height = 1 + int.from_bytes(body[7:10], "little")
        elif kind == b"VP8 " and len(body) >= 10 and parts.width is None:
            parts.width = int.from_bytes(body[6:8], "little") & 0x3FFF
            parts.height = int.from_bytes(body[8:10], "little") & 0x3FFF
        elif kind == b"VP8L" and len(body) >= 5 and parts.width is None:
            bits = int.from_bytes(body[1:5], "little")
            parts.width, parts.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif kind == b"EXIF" and parts.exif is None:
            parts.exif = body[6:] if body.startswith(b"Exif\x00\x00") else body
        elif kind == b"XMP " and parts.xmp is None:
            parts.xmp = body
        pos += 8 + size + (size & 1)
    if parts.width is None:
        raise CorruptFileError("WebP without an image header", partial=result)
    return parts


@dataclass(slots=True)
class _Heif:
    primary: int | None = None
    types: dict[int, tuple[str, str]] = field(default_factory=dict)
    """item id -> (item type, content type)."""
    extents: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    """item id -> [(construction method, offset, length)]."""
    properties: list[tuple[str, bytes]] = field(default_factory=list)
    associations: dict[int, list[int]] = field(default_factory=dict)
    idat: bytes = b""


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, body start, body end) of the ISO-BMFF boxes in ``data[start:end]``."""
    pos = start
    for _ in range(MAX_CHUNKS):
        if pos + 8 > end:
            return
        size = _u32be(data, pos)
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        header = 8
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            yield kind, pos + header, end
            return
        yield kind, pos + header, pos + size
        pos += size


def _walk_heif(data: bytes, result: Extraction) -> _Parts:
    """Read a HEIF/HEIC ``meta`` box: primary item size (ispe), Exif and XMP items."""
    heif = _Heif()
    meta = next(((s, e) for kind, s, e in _boxes(data, 0, len(data)) if kind == "meta"), None)
    if meta is None:
        raise CorruptFileError("HEIF without a meta box", partial=result)
    for kind, start, end in _boxes(data, meta[0] + 4, meta[1]):
        body = data[start:end]
        try:
            _heif_box(kind, body, heif)
        except (IndexError, ValueError, struct.error) as exc:
            result.note("corrupt", f"HEIF {kind} box unreadable: {exc}")
    parts = _Parts(decodable=False)
    if heif.primary is not None:
        for index in heif.associations.get(heif.primary, []):
            if 0 < index <= len(heif.properties):
                kind, body = heif.properties[index - 1]
                if kind == "ispe" and len(body) >= 12:
                    parts.width, parts.height = _u32be(body, 4), _u32be(body, 8)
    for item, (item_type, content_type) in sorted(heif.types.items()):
        if item_type == "Exif" and parts.exif is None:
            blob = _heif_item(data, heif, item)
            skip = _u32be(blob, 0) + 4 if len(blob) >= 4 else len(blob)
            parts.exif = blob[skip:] or None
        elif item_type == "mime" and "rdf+xml" in content_type and parts.xmp is None:
            parts.xmp = _heif_item(data, heif, item) or None
    return parts


def _heif_box(kind: str, body: bytes, heif: _Heif) -> None:
    """Interpret one child box of ``meta``."""
    version = body[0] if body else 0
    if kind == "pitm":
        heif.primary = _u16be(body, 4) if version == 0 else _u32be(body, 4)
    elif kind == "iinf":
        start = 6 if version == 0 else 8
        for child, s, e in _boxes(body, start, len(body)):
            if child == "infe" and body[s] >= 2:
                infe = body[s:e]
                wide = infe[0] >= 3
                item = _u32be(infe, 4) if wide else _u16be(infe, 4)
                at = 4 + (4 if wide else 2) + 2
                item_type = infe[at : at + 4].decode("latin-1")
                names = infe[at + 4 :].split(b"\x00")
                content = (
                    names[1].decode("latin-1") if item_type == "mime" and len(names) > 1 else ""
                )
                heif.types[item] = (item_type, content)
    elif kind == "iloc":
        _heif_iloc(body, version, heif)
    elif kind == "iprp":
        for child, s, e in _boxes(body, 0, len(body)):
            if child == "ipco":
                heif.properties = [(k, body[ps:pe]) for k, ps, pe in _boxes(body, s, e)]
            elif child == "ipma":
                _heif_ipma(body[s:e], heif)
    elif kind == "idat":
        heif.idat = body


def _heif_iloc(body: bytes, version: int, heif: _Heif) -> None:
    sizes = _u16be(body, 4)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF if version in (1, 2) else 0
    pos = 6
    count = _u16be(body, pos) if version < 2 else _u32be(body, pos)
    pos += 2 if version < 2 else 4

    def number(width: int) -> int:
        nonlocal pos
        value = int.from_bytes(body[pos : pos + width], "big") if width else 0
        pos += width
        return value

    for _ in range(min(count, MAX_CHUNKS)):
        item = number(2 if version < 2 else 4)
        method = number(2) & 0xF if version in (1, 2) else 0
        number(2)  # data reference index
        base = number(base_size)
        extents = []
        for _ in range(min(number(2), 64)):
            number(index_size)
            extents.append((method, base + number(offset_size), number(length_size)))
        if pos > len(body):
            raise ValueError("iloc box cut short")
        heif.extents[item] = extents


def _heif_ipma(body: bytes, heif: _Heif) -> None:
    version, flags = body[0], int.from_bytes(body[1:4], "big")
    pos, count = 8, _u32be(body, 4)
    for _ in range(min(count, MAX_CHUNKS)):
        item = _u16be(body, pos) if version < 1 else _u32be(body, pos)
        pos += 2 if version < 1 else 4
        found = []
        for _ in range(body[pos]):
            pos += 1
            if flags & 1:
                found.append(_u16be(body, pos) & 0x7FFF)
                pos += 1
            else:
                found.append(body[pos] & 0x7F)
        pos += 1
        heif.associations[item] = found


def _heif_item(data: bytes, heif: _Heif, item: int) -> bytes:
    """An item's bytes from its extents (file offsets or the idat box)."""
    out = b""
    for method, offset, length in heif.extents.get(item, []):
        source = heif.idat if method == 1 else data
        out += source[offset : offset + (length or len(source))]
        if len(out) > MAX_XMP_BYTES:
            break
    return out


# --- EXIF --------------------------------------------------------------------------------


def _endian(blob: bytes) -> str | None:
    if blob[:4] == b"II*\x00":
        return "<"
    if blob[:4] == b"MM\x00*":
        return ">"
    return None


@dataclass(slots=True)
class _IfdScan:
    """What the structural pass over a TIFF structure found."""

    refused: str | None = None
    """Why exifread must not be given the structure, or None when it is safe."""
    xmp: bytes | None = None
    """The XMP packet of IFD0 tag 700 (where TIFF files keep it; exifread skips it)."""


def _scan_ifds(blob: bytes) -> _IfdScan:
    """Walk the IFD chain and its sub-IFDs without reading values: count, detect loops.

    exifread walks every IFD of the chain and every entry each one claims, even past the
    end of the data; overlapping tables make a small block cost minutes.
    """
    scan = _IfdScan()
    order = _endian(blob)
    if order is None or len(blob) < 8:
        scan.refused = "no TIFF header"
        return scan
    seen: set[int] = set()
    entries = 0
    first = struct.unpack_from(f"{order}I", blob, 4)[0]
    pending, chain = [first], first
    while pending:
        ifd = pending.pop()
        if ifd == 0 or ifd in seen or ifd + 2 > len(blob):
            continue
        seen.add(ifd)
        count = struct.unpack_from(f"{order}H", blob, ifd)[0]
        entries += count
        if len(seen) > MAX_IFDS or entries > MAX_IFD_ENTRIES:
            scan.refused = f"over {MAX_IFDS} IFDs or {MAX_IFD_ENTRIES} entries (crafted chain)"
            return scan
        for index in range(count):
            at = ifd + 2 + 12 * index
            if at + 12 > len(blob):
                break
            tag, kind, size, value = struct.unpack_from(f"{order}HHII", blob, at)
            if tag in _SUB_IFD_TAGS and kind in (4, 13):
                pending.append(value)
            elif tag == 0x02BC and ifd == first and kind in (1, 7) and size > 4:
                scan.xmp = blob[value : value + min(size, MAX_XMP_BYTES + 1)]
        if ifd == chain:
            after = ifd + 2 + 12 * count
            chain = struct.unpack_from(f"{order}I", blob, after)[0] if after + 4 <= len(blob) else 0
            pending.append(chain)
    return scan


def _read_exif(blob: bytes, parts: _Parts, result: Extraction) -> dict[str, Any]:
    """exifread's tags for a TIFF structure (MakerNotes skipped), or {} with an issue."""
    scan = _scan_ifds(blob)
    if scan.refused is not None:
        result.note("exif_refused", f"EXIF structure not read: {scan.refused}")
        return {}
    if parts.xmp is None:
        parts.xmp = scan.xmp
    try:
        tags: dict[str, Any] = exifread.process_file(
            io.BytesIO(blob), details=False, extract_thumbnail=False
        )
    except _EXIF_READ_ERRORS as exc:
        log.debug("exifread failed", exc_info=True)
        result.note("exif_unreadable", f"EXIF block unreadable: {type(exc).__name__}: {exc}")
        return {}
    return tags


def _tag_text(tags: dict[str, Any], key: str) -> str | None:
    """An ASCII/UNDEFINED tag as text (exifread leaves undecodable text as bytes)."""
    tag = tags.get(key)
    if tag is None:
        return None
    values = tag.values
    if isinstance(values, bytes):
        return _decode_text(values)
    if isinstance(values, str):
        return values.replace("\x00", "").strip() or None
    return str(tag.printable).strip() or None


def _tag_int(tags: dict[str, Any], key: str) -> int | None:
    """The first value of a numeric tag, or None."""
    tag = tags.get(key)
    try:
        return int(tag.values[0]) if tag is not None else None
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _decode_text(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _raw_value(tag: Any) -> str:
    """A tag's value as written: text for ASCII, values joined for numbers, text or hex for
    undefined bytes."""
    values = tag.values
    if isinstance(values, str | bytes):
        return values if isinstance(values, str) else _decode_text(values)
    if tag.field_type == 7:
        blob = bytes(v & 0xFF for v in values[:MAX_RAW_VALUE] if isinstance(v, int))
        return blob.decode("ascii") if _printable(blob) else blob.hex()
    return ", ".join(str(value) for value in values[:256])


def _raw_key(key: str) -> str | None:
    """``Image Make`` -> ``IFD0:Make`` (ExifTool's group names); None for non-tags."""
    group, _, name = key.partition(" ")
    if group == "IFD":
        number, _, name = name.partition(" ")
        return f"IFD{number}:{name}" if number.isdigit() and name else None
    mapped = _IFD_GROUPS.get(group)
    return f"{mapped}:{name}" if mapped and name else None


def _ratio(value: Any) -> float | None:
    try:
        return float(value.num) / float(value.den)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _degrees(tags: dict[str, Any], key: str, negative: str) -> float | None:
    """Signed decimal degrees from a GPS degrees/minutes/seconds tag and its N/S, E/W ref."""
    tag, ref = tags.get(f"GPS {key}"), _tag_text(tags, f"GPS {key}Ref")
    if tag is None or not ref or isinstance(tag.values, str | bytes):
        return None
    parts = [_ratio(value) for value in tag.values[:3]]
    if not parts or any(part is None for part in parts):
        return None
    total = sum(part / 60.0**index for index, part in enumerate(parts) if part is not None)
    return -total if ref.upper().startswith(negative) else total


def _gps_time(tags: dict[str, Any]) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp as UTC (the GPS clock, independent of the camera's)."""
    date = _tag_text(tags, "GPS GPSDate")
    stamp = tags.get("GPS GPSTimeStamp")
    if not date or stamp is None or isinstance(stamp.values, str | bytes):
        return None
    found = re.match(r"^(\d{4}):(\d{2}):(\d{2})", date)
    clock = [_ratio(value) for value in stamp.values[:3]]
    if not found or len(clock) != 3 or any(part is None for part in clock):
        return None
    hours, minutes, seconds = (part or 0.0 for part in clock)
    try:
        year, month, day_of_month = (int(g) for g in found.groups())
        day = datetime(year, month, day_of_month, tzinfo=UTC)
        return day + timedelta(hours=hours, minutes=minutes, seconds=round(seconds, 6))
    except (ValueError, OverflowError):
        return None


def _exif_time(tags: dict[str, Any], key: str, offset_key: str, subsec_key: str) -> Stamp | None:
    """An EXIF time with its OffsetTime* zone and SubSecTime* fraction."""
    stamp = parse_exif(_tag_text(tags, key), _tag_text(tags, offset_key))
    if stamp is None:
        return None
    digits = re.match(r"\s*(\d{1,9})", _tag_text(tags, subsec_key) or "")
    if digits:
        micro = int((digits.group(1) + "000000")[:6])
        stamp = Stamp(stamp.utc.replace(microsecond=micro), stamp.offset, stamp.tz_known)
    return stamp


# --- XMP ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Xmp:
    values: dict[str, str] = field(default_factory=dict)
    """Flattened properties by ``prefix:name``."""
    history: list[str] = field(default_factory=list)
    ancestors: list[str] = field(default_factory=list)


def _read_xmp(packet: bytes, result: Extraction) -> _Xmp:
    """Parse an XMP packet (safely) into flat properties, the history and the ancestors."""
    xmp = _Xmp()
    if len(packet) > MAX_XMP_BYTES:
        result.note("limit.xmp", f"XMP packet of {len(packet)} bytes not parsed")
        return xmp
    packet = packet.rstrip(b"\x00 \t\r\n")
    try:
        root = _xml.parse(packet)
    except _xml.UnsafeXmlError as exc:
        result.note("xml_unsafe", f"XMP packet refused: {exc}")
        return xmp
    except ET.ParseError as exc:
        result.note("xmp_malformed", f"XMP packet is not well-formed XML: {exc}")
        return xmp
    prefixes = dict(_XMP_PREFIXES_BY_NAMESPACE)
    for match in _NS_XMLNS.finditer(packet[:65536]):
        prefixes.setdefault(match.group(2).decode("utf-8", "replace"), match.group(1).decode())

    def name_of(tag: str) -> str:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        return f"{prefixes.get(namespace, namespace)}:{local}"

    for count, element in enumerate(root.iter()):
        if count >= MAX_XMP_ELEMENTS:
            result.note("limit.xmp", f"XMP packet has over {MAX_XMP_ELEMENTS} elements")
            break
        if element.tag != f"{{{_RDF}}}Description":
            continue
        for attribute, value in element.attrib.items():
            if not attribute.startswith(f"{{{_RDF}}}"):
                xmp.values.setdefault(name_of(attribute), value)
        for child in element:
            key = name_of(child.tag)
            if key == "xmpMM:History":
                xmp.history.extend(islice(_history(child, name_of), MAX_HISTORY))
            items = list(islice(child.iter(f"{{{_RDF}}}li"), MAX_ANCESTORS))
            if items and all(
                len(li) == 0 and not li.attrib.get(f"{{{_RDF}}}parseType") for li in items
            ):
                texts = [(li.text or "").strip() for li in items]
                if key == "photoshop:DocumentAncestors":
                    xmp.ancestors.extend(text for text in texts if text)
                xmp.values.setdefault(key, _list_value(child, items, texts))
            elif len(child) == 0 and child.text and child.text.strip():
                xmp.values.setdefault(key, child.text.strip())
            elif len(child) == 0 and child.get(f"{{{_RDF}}}resource"):
                xmp.values.setdefault(key, child.get(f"{{{_RDF}}}resource", ""))
    del xmp.history[MAX_HISTORY:]
    return xmp


def _list_value(element: ET.Element, items: list[ET.Element], texts: list[str]) -> str:
    """An rdf:Alt as its x-default (else first) entry; an rdf:Seq/Bag joined as ExifTool does."""
    if element.find(f"{{{_RDF}}}Alt") is not None:
        for li, text in zip(items, texts, strict=True):
            if li.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default":
                return text
        return texts[0]
    return ", ".join(texts)


def _history(element: ET.Element, name_of: Any) -> Iterator[str]:
    """xmpMM:History events as ``action|when|softwareAgent``, whichever RDF form they use."""
    for li in element.iter(f"{{{_RDF}}}li"):
        event: dict[str, str] = {}
        for node in (li, *li.iter(f"{{{_RDF}}}Description")):
            for attribute, value in node.attrib.items():
                event.setdefault(name_of(attribute).rpartition(":")[2], value.strip())
            for child in node:
                if child.text and child.text.strip():
                    event.setdefault(name_of(child.tag).rpartition(":")[2], child.text.strip())
        if event.get("action") or event.get("when"):
            yield "|".join(event.get(key, "") for key in ("action", "when", "softwareAgent"))


# --- thumbnail comparison ----------------------------------------------------------------


def _dhash(image: Image.Image) -> int:
    """64-bit difference hash: is each of 8x8 cells brighter than its right neighbour."""
    small = image.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.BOX)
    pixels = small.tobytes()
    bits = 0
    for row in range(HASH_SIZE):
        base = row * (HASH_SIZE + 1)
        for column in range(HASH_SIZE):
            bits = (bits << 1) | (pixels[base + column] > pixels[base + column + 1])
    return bits


def _fit_aspect(thumbnail: Image.Image, width: int, height: int) -> Image.Image:
    """Crop the letterbox bars a camera adds when the photo's aspect differs (16:9 in 4:3)."""
    tw, th = thumbnail.size
    if not (tw and th and width and height):
        return thumbnail
    target = width / height
    if abs(tw / th - target) / target < 0.03:
        return thumbnail
    if tw / th < target:
        keep = max(1, round(tw / target))
        top = (th - keep) // 2
        return thumbnail.crop((0, top, tw, top + keep))
    keep = max(1, round(th * target))
    left = (tw - keep) // 2
    return thumbnail.crop((left, 0, left + keep, th))


def _image_hash(
    data: bytes, pil_format: str, fit: tuple[int, int] | None, what: str, result: Extraction
) -> int | None:
    """dHash of an encoded image (JPEG decoded at 1/8 scale or less), or None with an issue.

    Args:
        data: the encoded image.
        pil_format: Pillow's name for its format (JPEG, TIFF, PNG, WEBP).
        fit: the main image's size, to crop letterbox bars off a thumbnail first.
        what: "main image" or "EXIF thumbnail", for the issue message.
        result: where issues go.
    """
    handle = io.BytesIO(data)
    try:
        # Pillow warns (prints) on odd files, e.g. a JPEG with a broken MPF segment; the
        # extractor must stay silent, and reads JPEG with the plain JPEG reader for the same
        # reason (Image.open would promote such files to MPO).
        with warnings.catch_warnings(action="ignore"):
            if pil_format == "JPEG":
                image: Image.Image = JpegImagePlugin.JpegImageFile(handle)
            else:
                image = Image.open(handle, formats=[pil_format])
            with image:
                limit = Image.MAX_IMAGE_PIXELS
                if limit is not None and image.width * image.height > limit:
                    result.note(
                        "limit.decode_pixels",
                        f"{what} of {image.width}x{image.height} pixels not decoded "
                        f"(over Pillow's MAX_IMAGE_PIXELS {limit})",
                    )
                    return None
                if pil_format == "JPEG":
                    image.draft("L", (64, 64))
                return _dhash(_fit_aspect(image, *fit) if fit else image)
    except _PIL_ERRORS as exc:
        result.note("decode_failed", f"{what} not decodable: {type(exc).__name__}: {exc}")
        return None


def _compare_thumbnail(
    data: bytes, mime: str, thumbnail: bytes, parts: _Parts, result: Extraction
) -> None:
    """Set image.thumbnail_matches/_distance from the hashes of thumbnail and main image."""
    pil_format = _PIL_FORMATS.get(mime)
    if pil_format is None or not parts.decodable:
        return
    fit = (parts.width or 0, parts.height or 0)
    thumb_hash = _image_hash(thumbnail, "JPEG", fit, "EXIF thumbnail", result)
    if thumb_hash is None:
        return
    main_hash = _image_hash(data, pil_format, None, "main image", result)
    if main_hash is None:
        return
    distance = (thumb_hash ^ main_hash).bit_count()
    result.put("image.thumbnail_distance", distance)
    result.put("image.thumbnail_matches", distance <= THUMBNAIL_MATCH_DISTANCE)


def _thumbnail(blob: bytes, tags: dict[str, Any], result: Extraction) -> bytes | None:
    """The JPEG thumbnail IFD1 points to (JPEGInterchangeFormat/Length), if it is there."""
    start, length = (
        tags.get("Thumbnail JPEGInterchangeFormat"),
        tags.get("Thumbnail JPEGInterchangeFormatLength"),
    )
    if start is None or length is None:
        return None
    try:
        offset, size = int(start.values[0]), int(length.values[0])
    except (IndexError, TypeError, ValueError):
        return None
    if size <= 0 or offset <= 0 or offset + size > len(blob):
        result.note("thumbnail_out_of_range", f"IFD1 thumbnail at {offset}+{size} lies outside")
        return None
    return blob[offset : offset + size]


# --- the extractor -----------------------------------------------------------------------


def _walk(source: Source, data: bytes, result: Extraction) -> _Parts:
    mime = source.mime
    if mime == "image/jpeg" or data.startswith(b"\xff\xd8"):
        if not data.startswith(b"\xff\xd8"):
            raise CorruptFileError("JPEG start-of-image marker missing", partial=result)
        return _walk_jpeg(data, result)
    if mime == "image/png":
        return _walk_png(data, result)
    if mime == "image/webp":
        return _walk_webp(data, result)
    if mime in ("image/heic", "image/heif", "image/avif"):
        return _walk_heif(data, result)
    if data[:4] in (b"II+\x00", b"MM\x00+"):
        result.note("unsupported", "BigTIFF: exifread cannot read its 64-bit directories")
        return _Parts(decodable=False)
    if _endian(data) is None:
        raise CorruptFileError("TIFF header missing", partial=result)
    return _Parts(exif=data)


def _put_time(result: Extraction, prefix: str, stamp: Stamp | None) -> None:
    if stamp is not None:
        result.put(prefix, stamp.utc)
        result.put(f"{prefix}_offset", stamp.offset)
        result.put(f"{prefix}_tz_known", stamp.tz_known)


def _put_raw(result: Extraction, key: str, value: str) -> None:
    if len(result.raw) < MAX_RAW_KEYS and value:
        result.raw.setdefault(key, value[:MAX_RAW_VALUE])


def _first(*values: str | None) -> str | None:
    return next((value.strip() for value in values if value and value.strip()), None)


@register(
    name="image",
    version=1,
    mime_types={
        "image/jpeg",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/png",
        "image/webp",
    },
)
def extract(source: Source) -> Extraction:
    """Read camera, time, GPS, software and editing-history facts from one image."""
    result = Extraction()
    data = source.read()
    parts = _walk(source, data, result)
    for name, value in parts.texts.items():
        _put_raw(result, name, value)

    tags = _read_exif(parts.exif, parts, result) if parts.exif else {}
    for key, tag in tags.items():
        raw_key = _raw_key(key)
        if raw_key is not None and hasattr(tag, "values"):
            _put_raw(result, raw_key, _raw_value(tag))
    if source.mime == "image/tiff" and parts.width is None:
        parts.width = _tag_int(tags, "Image ImageWidth")
        parts.height = _tag_int(tags, "Image ImageLength")

    xmp = _read_xmp(parts.xmp, result) if parts.xmp else _Xmp()
    for key, value in xmp.values.items():
        _put_raw(result, f"XMP:{key}", value)
    for index, event in enumerate(xmp.history):
        _put_raw(result, f"XMP:xmpMM:History[{index}]", event)

    def exif(key: str) -> str | None:
        return _tag_text(tags, key)

    texts, values = parts.texts, xmp.values
    software = _first(
        exif("Image Software"), values.get("xmp:CreatorTool"), texts.get("PNG:Software")
    )
    result.put("image.make", exif("Image Make"))
    result.put("image.model", exif("Image Model"))
    result.put("image.software", software)
    result.put("image.serial", exif("EXIF BodySerialNumber"))
    result.put("image.unique_id", exif("EXIF ImageUniqueID"))
    result.put("image.owner_name", exif("EXIF CameraOwnerName"))
    result.put("image.host_computer", exif("Image HostComputer"))
    result.put("image.width", parts.width)
    result.put("image.height", parts.height)
    if parts.segments:
        result.put("image.jpeg_segments", tuple(parts.segments[:64]))
    if parts.quant_tables:
        digest = hashlib.sha256(b"".join(parts.quant_tables)).hexdigest()[:16]
        result.put("image.jpeg_quant_hash", digest)

    modified = _exif_time(tags, "Image DateTime", "EXIF OffsetTime", "EXIF SubSecTime")
    original = _exif_time(
        tags, "EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal", "EXIF SubSecTimeOriginal"
    )
    digitized = _exif_time(
        tags, "EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized", "EXIF SubSecTimeDigitized"
    )
    for name, stamp in (
        ("image.datetime", modified),
        ("image.datetime_original", original),
        ("image.datetime_digitized", digitized),
    ):
        result.put(name, stamp.utc if stamp else None)
    result.put(
        "image.offset_time",
        _first(
            exif("EXIF OffsetTimeOriginal"),
            exif("EXIF OffsetTime"),
            exif("EXIF OffsetTimeDigitized"),
        ),
    )
    latitude, longitude = _degrees(tags, "GPSLatitude", "S"), _degrees(tags, "GPSLongitude", "W")
    if latitude is not None and longitude is not None:
        if abs(latitude) <= 90 and abs(longitude) <= 180:
            result.put("image.gps_lat", round(latitude, 9))
            result.put("image.gps_lon", round(longitude, 9))
        else:
            result.note("bad_value", f"GPS position out of range: {latitude}, {longitude}")
    result.put("image.gps_datetime", _gps_time(tags))

    result.put("image.xmp_creator_tool", values.get("xmp:CreatorTool"))
    result.put("image.xmp_document_id", values.get("xmpMM:DocumentID"))
    result.put("image.xmp_original_document_id", values.get("xmpMM:OriginalDocumentID"))
    result.put("image.xmp_history", tuple(xmp.history))
    result.put("image.xmp_ancestors", tuple(dict.fromkeys(xmp.ancestors)))

    png_created = texts.get("PNG:Creation Time")
    created = (
        original
        or digitized
        or parse_iso(values.get("xmp:CreateDate"))
        or parse_rfc5322(png_created)
        or parse_iso(png_created)
        or parse_exif(png_created)
    )
    _put_time(result, "doc.created", created)
    png_modified = Stamp(parts.png_time, "+00:00", True) if parts.png_time else None
    _put_time(
        result, "doc.modified", modified or parse_iso(values.get("xmp:ModifyDate")) or png_modified
    )
    result.put(
        "doc.author",
        _first(exif("Image Artist"), values.get("dc:creator"), texts.get("PNG:Author")),
    )
    result.put(
        "doc.title",
        _first(exif("Image ImageDescription"), values.get("dc:title"), texts.get("PNG:Title")),
    )
    result.put(
        "doc.comments",
        _first(
            texts.get("JPEG:Comment"),
            values.get("dc:description"),
            texts.get("PNG:Description"),
            texts.get("PNG:Comment"),
        ),
    )
    result.put("doc.keywords", values.get("dc:subject"))
    result.put("doc.application", software)

    strings = [tag.values for tag in tags.values() if isinstance(getattr(tag, "values", None), str)]
    result.put(
        "links.external",
        merge(*(find_links(text) for text in (*strings, *values.values(), *texts.values()))),
    )

    thumbnail = _thumbnail(parts.exif, tags, result) if parts.exif and tags else None
    result.put("image.has_thumbnail", thumbnail is not None)
    if thumbnail is not None and len(thumbnail) <= MAX_THUMBNAIL_BYTES:
        _compare_thumbnail(data, source.mime, thumbnail, parts, result)
    return result
