"""WebP: RIFF chunks (canvas size from VP8X, VP8 or VP8L; EXIF and XMP chunks) and the WebP
extractor."""

from __future__ import annotations

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.image import jpeg
from leaktriage.extractors.image._common import MAX_CHUNKS, Parts
from leaktriage.extractors.image.facts import extract_image


@register(name="image.webp", family="image", version=1, mime_types={"image/webp"})
def extract(source: Source) -> Extraction:
    """Read the EXIF and XMP chunks of a WebP image."""
    return extract_image(source, jpeg.or_jpeg(walk), "WEBP")


def walk(data: bytes, result: Extraction) -> Parts:
    """Read RIFF chunks of a WebP file: canvas size, EXIF and XMP chunks."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise CorruptFileError("WebP RIFF header missing", partial=result)
    parts = Parts()
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
