"""What the image modules share: the container walk's result, its limits, byte helpers.

Each format module (jpeg, png, webp, heif, tiff) walks its container into a :class:`Parts`;
``facts.extract_image`` turns any ``Parts`` into the record's facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from leaktriage.extractors import Extraction

MAX_CHUNKS = 8192
"""PNG, RIFF or HEIF boxes read per file."""
MAX_RAW_VALUE = 2000
"""Characters kept per raw value."""
MAX_RAW_KEYS = 500
"""Raw values kept per image."""


@dataclass(slots=True)
class Parts:
    """What a container walk found, before any metadata is interpreted."""

    width: int | None = None
    height: int | None = None
    exif: bytes | None = None
    """The TIFF structure of the EXIF block, from its ``II``/``MM`` header on."""
    xmp: bytes | None = None
    iptc: bytes | None = None
    """The IPTC-IIM block (JPEG APP13 Photoshop resource 0x0404, TIFF tag 33723)."""
    texts: dict[str, str] = field(default_factory=dict)
    """Container text fields by raw key (``PNG:Author``, ``JPEG:Comment``)."""
    segments: list[str] = field(default_factory=list)
    quant_tables: list[bytes] = field(default_factory=list)
    png_time: datetime | None = None
    decodable: bool = True
    """Pillow can decode the main image (not HEIC)."""
    has_makernote: bool | None = None
    """The EXIF block has a MakerNote tag (None: no readable EXIF block)."""
    size_from_exif: bool = False
    """The pixel size is IFD0's ImageWidth/ImageLength (a TIFF file: its EXIF structure is the
    file itself)."""


Walk = Callable[[bytes, Extraction], Parts]
"""A container walk: the whole file's bytes in, its :class:`Parts` out (issues on the way)."""


def u16be(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def u32be(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


def printable(label: bytes) -> bool:
    return bool(label) and all(0x20 <= byte < 0x7F for byte in label)


def decode_text(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
