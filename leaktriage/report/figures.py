"""The pictures of the evidence in ``report.html`` (``report.pictures`` drew them, the store
keeps them in ``evidence_files``): shown only in the detail of a flagged file, never on the
first screen.

Each file's detail lists its pictures and revision PDFs (``pics``: name, kind, caption,
mime, width, height, and whether the page holds it). The bytes of a picture the page holds
travel in an inert block of their own, ``<script type="application/octet-stream"
class="z-pic" data-file="IDX" data-n="N">data:image/png;base64,...</script>``, written after
the details: the browser neither runs nor decodes it, and the page's script makes an
``<img>`` of it (the security policy allows ``img-src data:``) only when that file's detail
is opened. ``INLINE_BUDGET`` bounds what they all take; past it, and for revision PDFs, the
detail names the file under ``OUT/evidence/<record_id>/``.
"""

from __future__ import annotations

import base64
import json
from typing import IO, TYPE_CHECKING, Any

from leaktriage.report.common import FLAGGED
from leaktriage.store import evidence

if TYPE_CHECKING:
    from leaktriage.report.data import ReportData

INLINE_BUDGET = 1_500_000
"""Characters (base64 with its ``data:`` prefix) the pictures may take in the page, all
files together, the most worrying files first. The benchmark's report of 100,000 items is
27.2 MB before pictures and may not pass 30 MB (``html.HEAVY_BYTES``, what a laptop's
browser opens); with 2.5 MB of pictures it measured 29.7 MB, too close: 1.5 MB leaves more
than a megabyte for a dump whose details run longer. A picture past the budget stays in
``OUT/evidence``, and its file's detail says so."""
INLINE_MIMES = frozenset({"image/png", "image/jpeg"})
"""What the page may show as a picture (a revision PDF is named, never inlined)."""


def _inline_size(size: int, mime: str) -> int:
    """Characters of a ``data:`` URI of ``size`` bytes."""
    return len(f"data:{mime};base64,") + 4 * ((size + 2) // 3)


class Figures:
    """The pictures of the flagged files of the table, and which of them the page holds."""

    def __init__(self, data: ReportData, order: list[int]) -> None:
        """``order``: the table positions of the flagged files, most worrying first (the
        order the budget is spent in)."""
        self.db = data.db
        entries = list(evidence.flagged_entries(data.db, FLAGGED))
        ids = sorted({e.record_id for e in entries})
        self.idx: dict[str, int] = {}
        if ids:
            self.idx = {
                rid: idx
                for idx, rid in data.db.execute(
                    f"SELECT idx, record_id FROM {data.table} "
                    "WHERE record_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            }
        rank = {idx: n for n, idx in enumerate(order)}
        entries = [e for e in entries if e.record_id in self.idx]
        entries.sort(key=lambda e: (rank.get(self.idx[e.record_id], len(rank)), e.name))
        self.used = 0
        self.left_out = 0
        self.by_record: dict[str, list[list[Any]]] = {}
        self.inline: list[tuple[int, int, str, str]] = []
        """(table position, number within its file, record id, name) of the pictures the
        page holds."""
        for entry in entries:
            shown = self.by_record.setdefault(entry.record_id, [])
            held = 0
            if entry.mime in INLINE_MIMES:
                cost = _inline_size(entry.size, entry.mime)
                if self.used + cost <= INLINE_BUDGET:
                    self.used += cost
                    held = 1
                    self.inline.append(
                        (self.idx[entry.record_id], len(shown), entry.record_id, entry.name)
                    )
                else:
                    self.left_out += 1
            shown.append(
                [
                    entry.name,
                    entry.kind,
                    entry.caption,
                    entry.mime,
                    entry.width,
                    entry.height,
                    held,
                ]
            )

    def of(self, record_id: str) -> list[list[Any]] | None:
        """A file's ``pics`` for its detail, or None when it has none."""
        return self.by_record.get(record_id)

    def write_blocks(self, out: IO[str]) -> None:
        """The inert blocks of the pictures the page holds, one at a time from the store."""
        for idx, number, record_id, name in sorted(self.inline):
            data = evidence.data_of(self.db, record_id, name)
            mime = next(p[3] for p in self.by_record[record_id] if p[0] == name)
            if data is None or mime not in INLINE_MIMES:
                continue
            out.write(
                f'<script type="application/octet-stream" class="z-pic" '
                f'data-file="{int(idx)}" data-n="{int(number)}">data:{mime};base64,'
            )
            for start in range(0, len(data), 3 << 14):
                out.write(base64.b64encode(data[start : start + (3 << 14)]).decode("ascii"))
            out.write("</script>\n")
