"""Imported once by the forkserver, before any worker exists, so workers start warm.

Every worker would otherwise import the extractors (PyMuPDF, Pillow, olefile...), open the
libmagic database and load langdetect's language profiles itself: about half a second of
CPU per worker, paid again for each replacement of a worker that was killed. Forked from a
server that did it once, workers share those pages. Nothing here reads a document.
"""

from __future__ import annotations

from leaktriage import detect
from leaktriage.execute.workers import serve_workers_without_main
from leaktriage.extractors import discover
from leaktriage.pipeline import extract


def warm() -> None:
    """Import and initialise what every extraction needs."""
    discover()  # every extractor module, the format modules of the image/ and email/ packages too
    detect._magic()
    from langdetect.detector_factory import init_factory

    init_factory()


warm()
serve_workers_without_main()  # workers never re-run the caller's __main__ (``python -``)
__all__ = ["extract"]
