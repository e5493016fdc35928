"""IPTC-IIM: the caption, title and keywords that news agencies and Photoshop write.

JPEG files keep the IIM block in an APP13 ``Photoshop 3.0`` segment, as image resource
0x0404 of Photoshop's resource list; TIFF files in IFD0 tag 33723. The block is a run of
datasets ``1C rr dd LLLL value`` (record, dataset, big-endian length; a length with its top
bit set gives the size of a longer length that follows). Record 2 holds the editorial
datasets; 1:90 says when the text is UTF-8 (``ESC % G``), otherwise it is in whatever code
page the writing machine used (read here as UTF-8 when it is, else cp1252).
"""

from __future__ import annotations

import struct

MAX_IPTC_BYTES = 1 << 20
"""Longest IIM block read."""
MAX_DATASETS = 2000
"""Datasets read per block."""
PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
_IPTC_RESOURCE = 0x0404
_UTF8_ESCAPE = b"\x1b%G"
DATASETS = {
    (2, 5): "ObjectName",
    (2, 25): "Keywords",
    (2, 80): "By-line",
    (2, 116): "CopyrightNotice",
    (2, 120): "Caption-Abstract",
}
"""The record-2 datasets kept, by ExifTool's names."""


def from_photoshop(payload: bytes) -> bytes | None:
    """The IIM block in the image resources of an APP13 segment (after its header)."""
    data = payload.removeprefix(PHOTOSHOP_HEADER)
    pos = 0
    while pos + 12 <= len(data) and data[pos : pos + 4] == b"8BIM":
        resource = struct.unpack_from(">H", data, pos + 4)[0]
        name_length = data[pos + 6]
        pos += 7 + name_length + ((name_length + 1) % 2)  # Pascal name padded to even
        if pos + 4 > len(data):
            return None
        size = struct.unpack_from(">I", data, pos)[0]
        pos += 4
        if resource == _IPTC_RESOURCE:
            return data[pos : pos + min(size, MAX_IPTC_BYTES)]
        pos += size + size % 2
    return None


def read(block: bytes) -> dict[str, str]:
    """The kept datasets of an IIM block as text, repeated ones (Keywords) joined with ", "."""
    raw: dict[str, list[bytes]] = {}
    utf8 = False
    pos = 0
    for _ in range(MAX_DATASETS):
        if pos + 5 > len(block) or block[pos] != 0x1C:
            break
        record, dataset, length = (
            block[pos + 1],
            block[pos + 2],
            struct.unpack_from(">H", block, pos + 3)[0],
        )
        pos += 5
        if length & 0x8000:  # extended dataset: the length's own size follows
            width = length & 0x7FFF
            if width > 4 or pos + width > len(block):
                break
            length = int.from_bytes(block[pos : pos + width], "big")
            pos += width
        value = block[pos : pos + length]
        pos += length
        if (record, dataset) == (1, 90):
            utf8 = _UTF8_ESCAPE in value
        elif (record, dataset) in DATASETS:
            raw.setdefault(DATASETS[(record, dataset)], []).append(value)
    return {
        name: ", ".join(text for value in values if (text := _text(value, utf8)))
        for name, values in raw.items()
    }


def _text(value: bytes, utf8: bool) -> str:
    value = value.split(b"\x00", 1)[0]
    if utf8:
        return value.decode("utf-8", "replace").strip()
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("cp1252", "replace").strip()
