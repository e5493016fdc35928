"""HEIF/HEIC/AVIF: the ISO-BMFF ``meta`` box (primary item size, Exif and XMP items) and the
HEIF extractor.

Only the boxes that locate metadata are read (pitm, iinf, iloc, iprp, idat); Pillow cannot
decode the image, so there is no thumbnail comparison.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.image import jpeg
from leaktriage.extractors.image._common import MAX_CHUNKS, Parts, u16be, u32be
from leaktriage.extractors.image.facts import extract_image
from leaktriage.extractors.image.xmp import MAX_XMP_BYTES


@register(
    name="image.heif",
    family="image",
    version=1,
    mime_types={"image/heic", "image/heif", "image/avif"},
)
def extract(source: Source) -> Extraction:
    """Read the Exif and XMP items of a HEIF, HEIC or AVIF image."""
    return extract_image(source, jpeg.or_jpeg(walk), None)


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
        size = u32be(data, pos)
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


def walk(data: bytes, result: Extraction) -> Parts:
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
    parts = Parts(decodable=False)
    if heif.primary is not None:
        for index in heif.associations.get(heif.primary, []):
            if 0 < index <= len(heif.properties):
                kind, body = heif.properties[index - 1]
                if kind == "ispe" and len(body) >= 12:
                    parts.width, parts.height = u32be(body, 4), u32be(body, 8)
    for item, (item_type, content_type) in sorted(heif.types.items()):
        if item_type == "Exif" and parts.exif is None:
            blob = _heif_item(data, heif, item)
            skip = u32be(blob, 0) + 4 if len(blob) >= 4 else len(blob)
            parts.exif = blob[skip:] or None
        elif item_type == "mime" and "rdf+xml" in content_type and parts.xmp is None:
            parts.xmp = _heif_item(data, heif, item) or None
    return parts


def _heif_box(kind: str, body: bytes, heif: _Heif) -> None:
    """Interpret one child box of ``meta``."""
    version = body[0] if body else 0
    if kind == "pitm":
        heif.primary = u16be(body, 4) if version == 0 else u32be(body, 4)
    elif kind == "iinf":
        start = 6 if version == 0 else 8
        for child, s, e in _boxes(body, start, len(body)):
            if child == "infe" and body[s] >= 2:
                infe = body[s:e]
                wide = infe[0] >= 3
                item = u32be(infe, 4) if wide else u16be(infe, 4)
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
    sizes = u16be(body, 4)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF if version in (1, 2) else 0
    pos = 6
    count = u16be(body, pos) if version < 2 else u32be(body, pos)
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
    pos, count = 8, u32be(body, 4)
    for _ in range(min(count, MAX_CHUNKS)):
        item = u16be(body, pos) if version < 1 else u32be(body, pos)
        pos += 2 if version < 1 else 4
        found = []
        for _ in range(body[pos]):
            pos += 1
            if flags & 1:
                found.append(u16be(body, pos) & 0x7FFF)
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
