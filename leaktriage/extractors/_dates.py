"""Timestamp parsing shared by extractors: every format's dates -> aware UTC plus the zone facts.

A timestamp written without a zone (EXIF, zip DOS times, many PDF Info dates) is read as UTC
and reported with ``*_tz_known = False``: never silently taken as UTC. The offset the file
recorded is kept as its own fact, because a ``+03:00`` in a Paris campaign's files matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"
    r"\s*(?:(Z)|([+-])(\d{2})'?(?:(\d{2})'?)?)?"
)
_ISO_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_MIN_YEAR, _MAX_YEAR = 1900, 2200


@dataclass(frozen=True, slots=True)
class Stamp:
    """A parsed timestamp: the UTC instant, the offset as written, whether a zone was there."""

    utc: datetime
    offset: str | None
    tz_known: bool


def _offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _build(parts: list[int], tz: timezone | None) -> Stamp | None:
    year, month, day, hour, minute, second = parts
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=tz or UTC)
    except ValueError:
        return None
    if tz is None:
        return Stamp(local, None, False)
    return Stamp(local.astimezone(UTC), _offset_text(tz.utcoffset(None)), True)


def parse_pdf(text: str | None) -> Stamp | None:
    """Parse a PDF date ``D:YYYYMMDDHHmmSS+HH'mm'`` (most parts optional)."""
    if not text:
        return None
    match = _PDF_DATE.match(text.strip())
    if not match:
        return None
    g = match.groups()
    parts = [
        int(g[0]),
        int(g[1] or 1),
        int(g[2] or 1),
        int(g[3] or 0),
        int(g[4] or 0),
        int(g[5] or 0),
    ]
    tz: timezone | None = None
    if g[6]:
        tz = UTC
    elif g[7]:
        try:
            delta = timedelta(hours=int(g[8]), minutes=int(g[9] or 0))
            tz = timezone(-delta if g[7] == "-" else delta)
        except ValueError:
            tz = None
    return _build(parts, tz)


def parse_iso(text: str | None) -> Stamp | None:
    """Parse ISO 8601 / W3CDTF as written by XMP, OOXML core.xml and ODF meta.xml."""
    if not text:
        return None
    match = _ISO_DATE.match(text.strip())
    if not match:
        return None
    g = match.groups()
    parts = [
        int(g[0]),
        int(g[1] or 1),
        int(g[2] or 1),
        int(g[3] or 0),
        int(g[4] or 0),
        int(g[5] or 0),
    ]
    tz: timezone | None = None
    zone = g[7]
    if zone == "Z":
        tz = UTC
    elif zone:
        digits = zone[1:].replace(":", "")
        try:
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
            tz = timezone(-delta if zone[0] == "-" else delta)
        except ValueError:
            tz = None
    return _build(parts, tz)


def parse_exif(text: str | None, offset: str | None = None) -> Stamp | None:
    """Parse an EXIF ``YYYY:MM:DD HH:MM:SS`` local time, with its OffsetTime tag if any."""
    if not text:
        return None
    match = _EXIF_DATE.match(text.strip())
    if not match:
        return None
    parts = [int(x) for x in match.groups()]
    tz: timezone | None = None
    if offset:
        found = re.match(r"^([+-])(\d{2}):?(\d{2})$", offset.strip())
        if found:
            try:
                delta = timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
                tz = timezone(-delta if found.group(1) == "-" else delta)
            except ValueError:
                tz = None
    return _build(parts, tz)


def parse_rfc5322(text: str | None) -> Stamp | None:
    """Parse an email ``Date:`` or ``Received:`` time with its numeric offset."""
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None or not _MIN_YEAR <= value.year <= _MAX_YEAR:
        return None
    if value.tzinfo is None:
        # "-0000" in RFC 5322 means "zone unknown"; parsedate returns a naive value for it.
        return Stamp(value.replace(tzinfo=UTC), None, False)
    offset = value.utcoffset()
    return Stamp(value.astimezone(UTC), _offset_text(offset) if offset is not None else None, True)


def from_filetime(ticks: int) -> datetime | None:
    """A Windows FILETIME (100-ns ticks since 1601-01-01 UTC) as aware UTC; None for 0/garbage."""
    if ticks <= 0:
        return None
    try:
        value = _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        return None
    return value


def as_utc(value: datetime | None) -> Stamp | None:
    """Wrap a datetime a library already parsed: aware ones converted, naive ones flagged."""
    if value is None:
        return None
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        return None
    if value.tzinfo is None:
        return Stamp(value.replace(tzinfo=UTC), None, False)
    offset = value.utcoffset()
    return Stamp(value.astimezone(UTC), _offset_text(offset) if offset is not None else None, True)
