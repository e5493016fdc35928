"""Reports written from the store: ``report.html``, FollowTheMoney entities, and the terminal
summary the CLI prints. They read ``leaktriage.store.Store`` only and never run an extractor."""

from __future__ import annotations

from leaktriage.report.ftm import write_ftm
from leaktriage.report.html import REPORT_NAME, render_html, write_html
from leaktriage.report.summary import Summary, summarize

__all__ = ["REPORT_NAME", "Summary", "render_html", "summarize", "write_ftm", "write_html"]
