"""EXIF: a structural check of the IFD chain, exifread's tags, and their values as facts.

exifread reads the EXIF block alone, after :func:`read` has walked the IFD chain and
refused chains built to make it loop for minutes. The helpers turn tags into text, numbers,
raw values under ExifTool's group names, GPS degrees and times with their zones.
"""

from __future__ import annotations

import io
import logging
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import exifread
from exifread.core.exceptions import ExifError

from leaktriage.extractors import Extraction
from leaktriage.extractors._dates import Stamp, parse_exif
from leaktriage.extractors.image._common import MAX_RAW_VALUE, Parts, decode_text, printable
from leaktriage.extractors.image.iptc import MAX_IPTC_BYTES
from leaktriage.extractors.image.xmp import MAX_XMP_BYTES

log = logging.getLogger(__name__)
# exifread reports malformed tags at WARNING on its own logger; without any handler Python
# would print them to stderr. A NullHandler keeps them silent unless the application
# configures logging, which then still receives them through propagation.
logging.getLogger("exifread").addHandler(logging.NullHandler())

MAX_IFDS = 4096
"""IFDs in one EXIF/TIFF chain handed to exifread (a multi-page fax TIFF has hundreds)."""
MAX_IFD_ENTRIES = 50_000
"""Directory entries in the whole EXIF structure; a crafted chain of overlapping 5,000-entry
tables can make exifread parse millions, so such a block is refused with an issue."""
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


def endian(blob: bytes) -> str | None:
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
    iptc: bytes | None = None
    """The IPTC-IIM block of IFD0 tag 33723 (TIFF's place for it)."""
    makernote: bool = False
    """The EXIF sub-IFD has a MakerNote (tag 0x927C) of at least a few bytes."""


def _scan_ifds(blob: bytes) -> _IfdScan:
    """Walk the IFD chain and its sub-IFDs without reading values: count, detect loops.

    exifread walks every IFD of the chain and every entry each one claims, even past the
    end of the data; overlapping tables make a small block cost minutes.
    """
    scan = _IfdScan()
    order = endian(blob)
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
            elif tag == 0x927C and ifd != first and size > 4:
                scan.makernote = True
            elif tag == 0x02BC and ifd == first and kind in (1, 7) and size > 4:
                scan.xmp = blob[value : value + min(size, MAX_XMP_BYTES + 1)]
            elif tag == 0x83BB and ifd == first and kind in (1, 4, 7) and size > 0:
                length = min(size * (4 if kind == 4 else 1), MAX_IPTC_BYTES)
                if length > 4:
                    scan.iptc = blob[value : value + length]
        if ifd == chain:
            after = ifd + 2 + 12 * count
            chain = struct.unpack_from(f"{order}I", blob, after)[0] if after + 4 <= len(blob) else 0
            pending.append(chain)
    return scan


def read(blob: bytes, parts: Parts, result: Extraction) -> dict[str, Any]:
    """exifread's tags for a TIFF structure (MakerNotes skipped), or {} with an issue.

    Whether the EXIF sub-IFD holds a MakerNote is noted on ``parts`` from the structural
    pass (exifread drops the tag without ``details``)."""
    scan = _scan_ifds(blob)
    if scan.refused is not None:
        result.note("exif_refused", f"EXIF structure not read: {scan.refused}")
        return {}
    if parts.xmp is None:
        parts.xmp = scan.xmp
    if parts.iptc is None:
        parts.iptc = scan.iptc
    parts.has_makernote = scan.makernote
    try:
        tags: dict[str, Any] = exifread.process_file(
            io.BytesIO(blob), details=False, extract_thumbnail=False
        )
    except _EXIF_READ_ERRORS as exc:
        log.debug("exifread failed", exc_info=True)
        result.note("exif_unreadable", f"EXIF block unreadable: {type(exc).__name__}: {exc}")
        return {}
    return tags


def tag_text(tags: dict[str, Any], key: str) -> str | None:
    """An ASCII/UNDEFINED tag as text (exifread leaves undecodable text as bytes)."""
    tag = tags.get(key)
    if tag is None:
        return None
    values = tag.values
    if isinstance(values, bytes):
        return decode_text(values)
    if isinstance(values, str):
        return values.replace("\x00", "").strip() or None
    return str(tag.printable).strip() or None


def tag_int(tags: dict[str, Any], key: str) -> int | None:
    """The first value of a numeric tag, or None."""
    tag = tags.get(key)
    try:
        return int(tag.values[0]) if tag is not None else None
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def raw_value(tag: Any) -> str:
    """A tag's value as written: text for ASCII, values joined for numbers, text or hex for
    undefined bytes."""
    values = tag.values
    if isinstance(values, str | bytes):
        return values if isinstance(values, str) else decode_text(values)
    if tag.field_type == 7:
        blob = bytes(v & 0xFF for v in values[:MAX_RAW_VALUE] if isinstance(v, int))
        return blob.decode("ascii") if printable(blob) else blob.hex()
    return ", ".join(str(value) for value in values[:256])


def raw_key(key: str) -> str | None:
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


def degrees(tags: dict[str, Any], key: str, negative: str) -> float | None:
    """Signed decimal degrees from a GPS degrees/minutes/seconds tag and its N/S, E/W ref."""
    tag, ref = tags.get(f"GPS {key}"), tag_text(tags, f"GPS {key}Ref")
    if tag is None or not ref or isinstance(tag.values, str | bytes):
        return None
    parts = [_ratio(value) for value in tag.values[:3]]
    if not parts or any(part is None for part in parts):
        return None
    total = sum(part / 60.0**index for index, part in enumerate(parts) if part is not None)
    return -total if ref.upper().startswith(negative) else total


def gps_time(tags: dict[str, Any]) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp as UTC (the GPS clock, independent of the camera's)."""
    date = tag_text(tags, "GPS GPSDate")
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


def timestamp(tags: dict[str, Any], key: str, offset_key: str, subsec_key: str) -> Stamp | None:
    """An EXIF time with its OffsetTime* zone and SubSecTime* fraction."""
    stamp = parse_exif(tag_text(tags, key), tag_text(tags, offset_key))
    if stamp is None:
        return None
    digits = re.match(r"\s*(\d{1,9})", tag_text(tags, subsec_key) or "")
    if digits:
        micro = int((digits.group(1) + "000000")[:6])
        stamp = Stamp(stamp.utc.replace(microsecond=micro), stamp.offset, stamp.tz_known)
    return stamp
