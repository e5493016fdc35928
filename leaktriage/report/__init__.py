"""Reports written from the store: ``report.html``, FollowTheMoney entities, and the terminal
summary the CLI prints. They read ``leaktriage.store.Store`` only and never run an extractor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from leaktriage.report.html import REPORT_NAME, render_html, write_html
from leaktriage.report.summary import Summary, summarize
from leaktriage.store import Store, export_csv, export_jsonl


def write_ftm(store: Store, out: Path | IO[str]) -> int:
    """Write FollowTheMoney entities (see :mod:`leaktriage.report.ftm`); followthemoney is
    imported only here, as it takes a second to load its model."""
    from leaktriage.report import ftm

    return ftm.write_ftm(store, out)


def _write_html(store: Store, out: Path) -> int:
    write_html(store, out)
    return len(store.record_ids())


WRITERS: dict[str, tuple[str, Callable[[Store, Path], int]]] = {
    "jsonl": ("files.jsonl", export_jsonl),
    "csv": ("files.csv", export_csv),
    "ftm": ("entities.ftm.json", write_ftm),
    "html": (REPORT_NAME, _write_html),
}
"""Output format -> (default file name in OUT, writer returning the records written)."""

__all__ = [
    "REPORT_NAME",
    "WRITERS",
    "Summary",
    "render_html",
    "summarize",
    "write_ftm",
    "write_html",
]
