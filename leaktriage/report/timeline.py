"""The timeline picture: an SVG histogram of created / modified / email dates, made in Python.

One row per kind of date, one column per time bin; flagged files in red on top of the grey
rest, the leak date as a line and everything after it shaded, so an out-of-period cluster
stands out. The size of the SVG does not grow with the dump (bins, not one mark per file).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

WIDTH = 640
LEFT = 106
RIGHT = 16
ROW = 58
TOP = 26
AXIS = 34
BINS = 110
PLAUSIBLE_FROM = datetime(1985, 1, 1, tzinfo=UTC)
"""Dates before this are drawn in the edge bin and counted apart (a zeroed clock, 1601...)."""


def _x(moment: datetime, lo: datetime, hi: datetime) -> float:
    span = (hi - lo).total_seconds() or 1.0
    return LEFT + (WIDTH - LEFT - RIGHT) * (moment - lo).total_seconds() / span


def _ticks(lo: datetime, hi: datetime) -> list[tuple[datetime, str]]:
    days = (hi - lo).days
    ticks: list[tuple[datetime, str]] = []
    if days > 3 * 365:
        step = max(1, math.ceil(days / 365 / 7))
        year = lo.year + 1
        while year <= hi.year:
            if year % step == 0:
                ticks.append((datetime(year, 1, 1, tzinfo=UTC), str(year)))
            year += 1
        return ticks
    if days > 60:
        months = max(1, math.ceil(days / 30 / 6))
        y, m = lo.year, lo.month
        while True:
            m += 1
            if m > 12:
                y, m = y + 1, 1
            moment = datetime(y, m, 1, tzinfo=UTC)
            if moment > hi:
                return ticks
            if (m - 1) % months == 0:
                ticks.append((moment, moment.strftime("%b %Y")))
    step_days = max(1, math.ceil(max(days, 1) / 6))
    moment = datetime(lo.year, lo.month, lo.day, tzinfo=UTC) + timedelta(days=1)
    while moment <= hi:
        ticks.append((moment, moment.strftime("%d %b %Y")))
        moment += timedelta(days=step_days)
    return ticks


def timeline_svg(
    points: Mapping[str, Iterable[tuple[datetime, bool]]],
    leak_date: date | None,
    latest: datetime | None = None,
) -> str:
    """The SVG markup (a string, every label escaped), or "" when no file has a date.

    ``latest`` is the newest plausible date (the run's start): later ones go to the edge bin.
    """
    # Loaded here: xml.sax pulls in urllib and http.client, which no other command needs.
    from xml.sax.saxutils import escape, quoteattr

    ceiling = (latest or datetime.now(tz=UTC)) + timedelta(days=366)
    # Each row is read twice (range, then bins), never held: it may stream from the store.
    first = last = None
    for rows in points.values():
        for m, _ in rows:
            if PLAUSIBLE_FROM <= m <= ceiling:
                if first is None or m < first:
                    first = m
                if last is None or m > last:
                    last = m
    if first is None or last is None:
        return ""
    leak = (
        datetime(leak_date.year, leak_date.month, leak_date.day, tzinfo=UTC) if leak_date else None
    )
    lo, hi = first, last
    if leak is not None:
        lo, hi = min(lo, leak), max(hi, leak + timedelta(days=1))
    pad = max((hi - lo) * 0.03, timedelta(days=1))
    lo, hi = lo - pad, hi + pad
    height = TOP + ROW * len(points) + AXIS
    plot_w = WIDTH - LEFT - RIGHT
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="tl-title" font-family="sans-serif" '
        f'font-size="12">',
        '<title id="tl-title">Dates of the files: created, modified, email; '
        "flagged files in red</title>",
    ]
    if leak is not None:
        lx = _x(leak, lo, hi)
        out.append(
            f'<rect x="{lx:.1f}" y="{TOP - 14}" width="{WIDTH - RIGHT - lx:.1f}" '
            f'height="{ROW * len(points) + 14}" fill="#fde8e8"/>'
        )
    for moment, label in _ticks(lo, hi):
        tx = _x(moment, lo, hi)
        out.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP - 4}" y2="{TOP + ROW * len(points)}" '
            'stroke="#e3e3e3"/>'
        )
        out.append(
            f'<text x="{tx:.1f}" y="{TOP + ROW * len(points) + 14}" text-anchor="middle" '
            f'fill="#555">{escape(label)}</text>'
        )
    bin_w = plot_w / BINS
    for row, (kind, rows) in enumerate(points.items()):
        base = TOP + ROW * (row + 1) - 4
        total = [0] * BINS
        flagged = [0] * BINS
        early = late = after = after_flagged = count = 0
        for moment, is_flagged in rows:
            count += 1
            if leak is not None and leak + timedelta(days=1) <= moment <= ceiling:
                after += 1
                after_flagged += int(is_flagged)
            if moment < PLAUSIBLE_FROM:
                early += 1
                b = 0
            elif moment > ceiling:
                late += 1
                b = BINS - 1
            else:
                b = min(BINS - 1, max(0, int((_x(moment, lo, hi) - LEFT) / bin_w)))
            total[b] += 1
            flagged[b] += int(is_flagged)
        peak = max(total) or 1
        out.append(
            f'<text x="{LEFT - 6}" y="{base - 22}" text-anchor="end" fill="#222" '
            f'font-weight="bold">{escape(kind)}</text>'
            f'<text x="{LEFT - 6}" y="{base - 8}" text-anchor="end" fill="#555">'
            f"{count} files</text>"
        )
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="#999"/>'
        )
        for b in range(BINS):
            if not total[b]:
                continue
            bx = LEFT + b * bin_w
            h_all = max(2.0, (ROW - 10) * math.sqrt(total[b] / peak))
            h_flag = h_all * flagged[b] / total[b]
            tip = f"{total[b]} {kind} dates, {flagged[b]} of flagged files"
            out.append(
                f"<g><title>{escape(tip)}</title>"
                f'<rect x="{bx:.1f}" y="{base - h_all:.1f}" width="{max(bin_w - 0.6, 1):.1f}" '
                f'height="{h_all - h_flag:.1f}" fill="#8a94a6"/>'
            )
            if flagged[b]:
                out.append(
                    f'<rect x="{bx:.1f}" y="{base - h_flag:.1f}" '
                    f'width="{max(bin_w - 0.6, 1):.1f}" height="{h_flag:.1f}" fill="#d7263d"/>'
                )
            out.append("</g>")
        if early or late:
            note = ", ".join(
                part
                for part in (
                    f"{early} before {PLAUSIBLE_FROM.year} (left edge)" if early else "",
                    f"{late} implausibly late (right edge)" if late else "",
                )
                if part
            )
            out.append(
                f'<text x="{LEFT + 4}" y="{base - ROW + 18}" fill="#a00">{escape(note)}</text>'
            )
        if after:
            note = f"{after} after the leak date ({after_flagged} flagged)"
            out.append(
                f'<text x="{WIDTH - RIGHT - 4}" y="{base - ROW + 13}" text-anchor="end" '
                f'fill="#b00020" font-weight="bold">{escape(note)}</text>'
            )
    if leak is not None:
        lx = _x(leak, lo, hi)
        out.append(
            f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{TOP - 14}" y2="{TOP + ROW * len(points)}" '
            'stroke="#b00020" stroke-width="2" stroke-dasharray="5 3"/>'
        )
        anchor = "end" if lx > WIDTH * 0.7 else "start"
        shift = -4 if anchor == "end" else 4
        text = f"leak date {leak_date.isoformat() if leak_date else ''} → after it shaded"
        out.append(
            f'<text x="{lx + shift:.1f}" y="{TOP - 4}" text-anchor={quoteattr(anchor)} '
            f'fill="#b00020" font-weight="bold">{escape(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
