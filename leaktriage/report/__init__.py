"""Reports written from the store: ``report.html``, FollowTheMoney entities, and the terminal
summary the CLI prints. They read ``leaktriage.store.Store`` only and never run an extractor."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from leaktriage.report.html import REPORT_NAME, render_html, write_html
from leaktriage.report.summary import Summary, summarize
from leaktriage.store import Store


def write_ftm(store: Store, out: Path | IO[str]) -> int:
    """Write FollowTheMoney entities (see :mod:`leaktriage.report.ftm`); followthemoney is
    imported only here, as it takes a second to load its model."""
    from leaktriage.report import ftm

    return ftm.write_ftm(store, out)


__all__ = ["REPORT_NAME", "Summary", "render_html", "summarize", "write_ftm", "write_html"]
