"""JPEG: the marker segments up to the first scan (never the pixels), and the JPEG extractor.

The segments give the frame size (SOF), the EXIF block (APP1 ``Exif``), the XMP packet (APP1
with Adobe's namespace header), the comment (COM), the quantisation tables (whose hash tells
encoders apart) and the list of APPn segments, which names the software that wrote the file.
"""

from __future__ import annotations

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.image import iptc
from leaktriage.extractors.image._common import Parts, Walk, decode_text, printable, u16be
from leaktriage.extractors.image.facts import extract_image

MAX_SEGMENTS = 4096
"""JPEG marker segments read before the scan data; real files have a dozen."""
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_PREFIXES = (_XMP_PREFIX, b"XMP\x00://ns.adobe.com/xap/1.0/\x00")
"""The standard XMP segment header, and the damaged one some tools write (ExifTool reads it)."""
_XMP_EXTENDED_PREFIX = b"http://ns.adobe.com/xmp/extension/\x00"
SOI = b"\xff\xd8"
"""Start-of-image marker: the first two bytes of every JPEG file."""


@register(name="image.jpeg", family="image", version=1, mime_types={"image/jpeg"})
def extract(source: Source) -> Extraction:
    """Read camera, time, GPS, software and editing-history facts from a JPEG photo."""
    return extract_image(source, walk, "JPEG")


def walk(data: bytes, result: Extraction) -> Parts:
    """The segments of a JPEG file; bytes without the start-of-image marker are corrupt."""
    if not data.startswith(SOI):
        raise CorruptFileError("JPEG start-of-image marker missing", partial=result)
    return _walk_segments(data, result)


def or_jpeg(walk_other: Walk) -> Walk:
    """``walk_other``, except for bytes that start with the JPEG start-of-image marker, which
    are walked as JPEG whatever type they were sniffed as (libmagic calls such bytes HEIC when
    ``ftyp heic`` follows at offset 4). The single image extractor did the same."""

    def walk_either(data: bytes, result: Extraction) -> Parts:
        if data.startswith(SOI):
            return _walk_segments(data, result)
        return walk_other(data, result)

    return walk_either


def _walk_segments(data: bytes, result: Extraction) -> Parts:
    """Read the JPEG marker segments up to the first scan (SOS); never the pixels."""
    parts = Parts()
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
        length = u16be(data, pos + 2)
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


def _jpeg_segment(marker: int, payload: bytes, parts: Parts) -> None:
    """Take what one JPEG segment says into ``parts``."""
    if marker in _JPEG_SOF and len(payload) >= 5:
        if parts.width is None:
            parts.height = u16be(payload, 1)
            parts.width = u16be(payload, 3)
        return
    if marker == 0xDB:
        parts.quant_tables.append(payload)
        return
    if marker == 0xFE:
        parts.segments.append("COM")
        parts.texts.setdefault("JPEG:Comment", decode_text(payload))
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
    if marker == 0xED and payload.startswith(iptc.PHOTOSHOP_HEADER) and parts.iptc is None:
        parts.iptc = iptc.from_photoshop(payload)
    label = payload.split(b"\x00", 1)[0][:24]
    parts.segments.append(f"{name} {label.decode('ascii')}" if printable(label) else name)
