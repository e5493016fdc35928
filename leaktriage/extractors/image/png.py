"""PNG: chunks (IHDR size, tEXt/zTXt/iTXt text, eXIf EXIF, tIME) and the PNG extractor.

Text chunks keep what the writing program said (Author, Title, Software, Creation Time); XMP
arrives in an iTXt ``XML:com.adobe.xmp`` chunk, and ImageMagick and GIMP store EXIF and XMP as
hex "raw profile" text chunks. Pixel data is skipped.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.image import jpeg
from leaktriage.extractors.image._common import MAX_CHUNKS, Parts, u32be
from leaktriage.extractors.image.facts import extract_image

MAX_TEXT_CHUNK = 1024 * 1024
"""Bytes kept from one decompressed PNG text chunk (raw EXIF profiles are hex, twice the size)."""


@register(name="image.png", family="image", version=1, mime_types={"image/png"})
def extract(source: Source) -> Extraction:
    """Read the text chunks, EXIF and XMP of a PNG image."""
    return extract_image(source, jpeg.or_jpeg(walk), "PNG")


def walk(data: bytes, result: Extraction) -> Parts:
    """Read PNG chunks: IHDR size, tEXt/zTXt/iTXt text, eXIf EXIF, tIME; skip pixel data."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise CorruptFileError("PNG signature missing", partial=result)
    parts = Parts()
    pos = 8
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            result.note("truncated", "PNG ends before its IEND chunk")
            break
        length = u32be(data, pos)
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            result.note("truncated", f"PNG chunk {kind!r} at byte {pos} is cut short")
            break
        if kind == b"IHDR" and len(body) >= 8:
            parts.width, parts.height = u32be(body, 0), u32be(body, 4)
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


def _png_text(kind: bytes, body: bytes, parts: Parts, result: Extraction) -> None:
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
