"""The data ``leaktriage report OUT`` prints: counts and the most worrying files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from leaktriage.report.data import FLAGGED, ReportData, load_report_data

if TYPE_CHECKING:
    from leaktriage.store import Store


@dataclass(frozen=True, slots=True)
class FlaggedFile:
    """One row of the terminal's table of flagged files."""

    path: str
    verdict: str
    score: float
    rule_ids: tuple[str, ...]
    reason: str
    """The message of the most severe finding."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a scan found, as the terminal shows it."""

    input_path: str
    leak_date: date | None
    items: int
    flagged: int
    by_verdict: dict[str, int]
    by_status: dict[str, int]
    by_type: list[tuple[str, int]]
    top_rules: list[tuple[str, int, str]]
    top_files: list[FlaggedFile]


def summary_of(data: ReportData, top: int = 15) -> Summary:
    """A :class:`Summary` of already-loaded report data."""
    files = [
        FlaggedFile(
            f["path"],
            f["verdict"],
            f["score"] or 0.0,
            tuple(sorted({x["rule_id"] for x in f["findings"]})),
            f["findings"][0]["message"] if f["findings"] else "",
        )
        for f in data.flagged(top)
    ]
    return Summary(
        input_path=str(data.run.get("input_path") or ""),
        leak_date=data.leak_date,
        items=data.total,
        flagged=sum(n for v, n in data.by_verdict.items() if v in FLAGGED),
        by_verdict=data.by_verdict,
        by_status=data.by_status,
        by_type=data.by_type,
        top_rules=data.top_rules,
        top_files=files,
    )


def summarize(store: Store, top: int = 15) -> Summary:
    """Read a store and summarize it, with the ``top`` most worrying files."""
    return summary_of(load_report_data(store), top)
