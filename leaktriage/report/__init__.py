"""Outputs written from the store: one module per format, each registered in ``registry``
(``jsonl``, ``csv``, ``ftm``, ``html``), the data the report shows (``data``, with
``files``, ``groups`` and ``common``; ``rows``, its form in the page; ``timeline``) and the
terminal summary the CLI prints. They read ``leaktriage.store.Store`` only and never
run an extractor."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING

from leaktriage.report.html import REPORT_NAME, render_html, write_html
from leaktriage.report.registry import Output, outputs
from leaktriage.report.summary import Summary, summarize

if TYPE_CHECKING:
    from leaktriage.store import Store


def write_ftm(store: Store, out: Path | IO[str]) -> int:
    """Write FollowTheMoney entities (see :mod:`leaktriage.report.ftm`); followthemoney is
    imported only here, as it takes a second to load its model."""
    from leaktriage.report import ftm

    return ftm.write_ftm(store, out)


__all__ = [
    "REPORT_NAME",
    "Output",
    "Summary",
    "outputs",
    "render_html",
    "summarize",
    "write_ftm",
    "write_html",
]
