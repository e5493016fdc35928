"""Numbers in words a reader can repeat: durations, sizes and shares as a person writes them.

A rule message shows "5 h 12 min", not "18720 s"; "1.5 kB", not "1534". The evidence beside
the message keeps the exact value, so anyone can check it with another tool. Pure functions:
no catalogue, no rule, no locale.
"""

from __future__ import annotations

from typing import Literal

Unit = Literal["seconds", "bytes", "fraction"]
"""What a catalogue number counts: seconds of time, bytes of data, a share between 0 and 1."""

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
YEAR = 31_556_952
"""The mean Gregorian year (365.2425 days) in seconds."""
MONTH = YEAR // 12
"""A twelfth of that year (about 30.4 days)."""

_TIME_UNITS: tuple[tuple[int, str, str], ...] = (
    (YEAR, "year", "years"),
    (MONTH, "month", "months"),
    (DAY, "day", "days"),
    (HOUR, "h", "h"),
    (MINUTE, "min", "min"),
    (1, "s", "s"),
)
_SIZE_UNITS = ("kB", "MB", "GB", "TB", "PB")


def duration(seconds: float) -> str:
    """A span of time in its two largest units, the smaller rounded down: "2 years 3 months",
    "5 days 4 h", "5 h 12 min", "47 min", "38 s"; a zero second unit is left out."""
    total = round(seconds)
    if total < 0:
        return "minus " + duration(-total)
    for index, (size, one, many) in enumerate(_TIME_UNITS):
        if total >= size or size == 1:
            count, rest = divmod(total, size)
            text = f"{count} {one if count == 1 else many}"
            if index + 1 < len(_TIME_UNITS):
                small, small_one, small_many = _TIME_UNITS[index + 1]
                part = rest // small
                if part:
                    text += f" {part} {small_one if part == 1 else small_many}"
            return text
    raise AssertionError("unreachable: the last unit is one second")


def size(count: float) -> str:
    """A number of bytes in decimal units: "1 byte", "512 bytes", "1.5 kB", "12 MB", "3 GB"
    (one decimal below ten, none above)."""
    whole = round(count)
    if abs(whole) < 1000:
        return f"{whole} {'byte' if abs(whole) == 1 else 'bytes'}"
    value = float(whole)
    for unit in _SIZE_UNITS:
        value /= 1000
        shown = f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
        if abs(float(shown)) < 1000 or unit == _SIZE_UNITS[-1]:
            return f"{shown.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable: the last unit always returns")


def share(fraction: float) -> str:
    """A share between 0 and 1 as a whole percentage: 0.973 -> "97 %"; never rounded up to
    "100 %" or down to "0 %" unless it is exactly that."""
    percent = round(fraction * 100)
    if percent == 100 and fraction < 1:
        percent = 99
    elif percent == 0 and fraction > 0:
        percent = 1
    return f"{percent} %"


def in_words(value: float, unit: Unit) -> str:
    """A catalogue number with its unit, as a message shows it."""
    if unit == "seconds":
        return duration(value)
    if unit == "bytes":
        return size(value)
    return share(value)
