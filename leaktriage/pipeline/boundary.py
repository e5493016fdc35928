"""The one place where an exception raised while handling an item becomes that item's status.

Everything that touches bytes or values from the dump (listing, opening a container and each
member, decompressing, sniffing, extracting, judging, writing) runs inside :func:`guarded`.
An exception there is never the end of the scan: the item gets status ``error`` with an
issue naming the stage and the exception (``code: internal`` for what is a bug of ours, with
a request to report it), the log gets a warning with the traceback, and the walk goes on.
The only errors that end a run are the person's (options) and the output folder's.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Literal

from leaktriage.errors import LeakTriageError
from leaktriage.model import FileRecord, Issue

log = logging.getLogger("leaktriage.pipeline")

Stage = Literal["walk", "detect", "extract", "rules", "corpus", "report"]

REPORT_ASK = "this is a bug in leaktriage; please report it"


def internal_issue(stage: Stage, exc: BaseException) -> Issue:
    """The issue recorded for an exception nothing else expected, without the item's bytes
    (an exception's text is cut short: some carry a whole buffer)."""
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "…"
    return Issue(stage, "internal", f"{type(exc).__name__}: {text} ({REPORT_ASK})")


def guarded(
    path: str,
    stage: Stage,
    work: Iterator[FileRecord],
    failed: Callable[[Issue], FileRecord],
) -> Iterator[FileRecord]:
    """The records of ``work`` (the item at ``path`` and what it holds); when it raises, the
    item's own record, if it has not come out yet, is ``failed(issue)`` instead. Records of
    inner items that came out before the failure stay."""
    emitted = False
    try:
        for record in work:
            if record.path == path:
                emitted = True
            yield record
    except LeakTriageError:
        raise  # the person's or the output folder's: ends the run with its one line
    except MemoryError as exc:
        log.warning("out of memory while handling %s", path, exc_info=True)
        if not emitted:
            yield failed(Issue(stage, "memory", f"out of memory in the scanning process: {exc}"))
    except Exception as exc:
        log.warning("internal error while handling %s", path, exc_info=True)
        if not emitted:
            yield failed(internal_issue(stage, exc))


@contextlib.contextmanager
def stage(name: str, failed: dict[str, str]) -> Iterator[None]:
    """An after-walk stage (corpus, threads, report) inside the boundary: when it fails,
    the scan goes on without its results, ``failed[name]`` says why, and the log has the
    traceback. The output folder's errors (``OSError``, a store that cannot be written) and
    the person's still end the run."""
    try:
        yield
    except (LeakTriageError, OSError, sqlite3.Error):
        raise
    except Exception as exc:
        log.warning("stage %s failed; the scan goes on without it", name, exc_info=True)
        failed[name] = internal_issue("corpus", exc).message
