"""Stage "extract": what a worker does with one item - sniff when the walk could not tell,
run the extractor registered for its type, derive the cross-format facts, run the newsroom's
YARA rules, draw the pictures of visual evidence when the facts call for them
(``report.pictures``). ``run_extractor`` is the worker-side boundary: it never raises."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from leaktriage import detect, textfacts
from leaktriage.errors import (
    EncryptedFileError,
    ExtractionError,
    LimitExceededError,
    NetworkBlockedError,
    WrongFormatError,
)
from leaktriage.extractors import Extraction, Source, for_mime
from leaktriage.model import Issue, Picture, Status
from leaktriage.report import pictures

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


def run_extractor(source: Source) -> tuple[Extraction, str | None, Status]:
    """The per-item error boundary: run the extractor for ``source.mime``; never raises.

    Returns the extraction (possibly empty), the extractor label and the status.
    """
    extractor = for_mime(source.mime)
    if extractor is None:
        return Extraction(), None, Status.UNSUPPORTED
    try:
        extraction = extractor.function(source)
    except ExtractionError as exc:
        status = _STATUS_OF.get(type(exc), Status.ERROR)
        return _failed(exc, extractor.label, status)
    except NetworkBlockedError as exc:
        return _failed(exc, extractor.label, Status.ERROR, "network_blocked")
    except RecursionError:
        return _failed(
            ExtractionError("nesting too deep for the parser"), extractor.label, Status.ERROR
        )
    except MemoryError:
        return _failed(ExtractionError("out of memory"), extractor.label, Status.ERROR, "memory")
    except Exception as exc:
        log.debug("extractor %s failed on %s", extractor.label, source.name, exc_info=True)
        return _failed(exc, extractor.label, Status.ERROR, "unexpected")
    return extraction, extractor.label, extraction.status


Outcome = tuple[Extraction, str | None, Status, str]
"""What parsing one item gives: facts, extractor label, status, and the sniffed type."""


def extract_item(source: Source) -> Outcome:
    """Sniff (when the walker could not tell the type), extract, and derive the cross-format
    facts; what a worker process runs. An archive found only here is returned unparsed, for
    the walker to open."""
    mime = source.mime
    if not mime:
        with source.open() as handle:
            head = handle.read(detect.SNIFF_BYTES)
        mime = detect.sniff(head, source.open)
        if detect.is_archive(mime):
            return Extraction(), None, Status.OK, mime
        source = replace(source, mime=mime)
    extraction, label, status = run_extractor(source)
    textfacts.derive(extraction.fields)
    if source.yara_dir:
        _run_yara(source, extraction)
    _draw_pictures(source, extraction)
    if source.spill_dir is not None:
        if extraction.children:
            _spill_children(extraction, source.spill_dir)
        if extraction.pictures:
            spill_pictures(extraction.pictures, source.spill_dir)
    return extraction, label, status, mime


def _draw_pictures(source: Source, extraction: Extraction) -> None:
    """The pictures of the evidence, when the facts say there is something to draw (a PDF
    revision whose text changed, an EXIF thumbnail that does not match). A failure is an
    issue; the facts stay as they are."""
    thumbnail = extraction.picture_inputs.pop("thumbnail", None)
    extraction.picture_inputs.clear()  # never sent back: the outcome carries facts only
    if pictures.wanted(extraction.fields) is None:
        return
    try:
        done = pictures.render(source.read(), source.mime, extraction.fields, thumbnail)
    except Exception as exc:
        # render() turns what the bytes may cause into notes; this is for a bug of ours.
        log.debug("pictures failed on %s", source.name, exc_info=True)
        text = f"pictures not made: {type(exc).__name__}: {exc}"
        extraction.issues.append(Issue("extract", "picture_failed", text[:2000]))
        return
    extraction.pictures.extend(done.pictures)
    extraction.issues.extend(Issue("extract", code, text[:2000]) for code, text in done.notes)


def spill_pictures(found: list[Picture], folder: Path) -> None:
    """Write the pictures over ``SPILL_BYTES`` to private files in ``folder`` (the scan's
    temp folder) in place of their bytes, as inner items are: a revision PDF may take
    megabytes. A file that cannot be written keeps the bytes."""
    for index, picture in enumerate(found):
        if picture.path is None and (path := _spilled(picture.data, "picture-", folder)):
            found[index] = replace(picture, data=b"", path=path)


def _spilled(data: bytes, prefix: str, folder: Path) -> Path | None:
    """``data`` written to a new private file of ``folder`` when over ``SPILL_BYTES``: its
    path, or None (small enough for the pipe, or the file could not be written)."""
    if len(data) <= SPILL_BYTES:
        return None
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError:
        log.debug("%s bytes kept in the answer: temp file failed", prefix.rstrip("-"))
        return None
    return Path(name)


SPILL_BYTES = 32 * 1024
"""Inner items larger than this leave a worker as a file, not through its pipe: a mailbox's
attachments taken together can be hundreds of MB, which the scan would otherwise receive
in one answer, holding them all at once."""


def _spill_children(extraction: Extraction, folder: Path) -> None:
    """Write the inner items over ``SPILL_BYTES`` to private files in ``folder`` (the scan's
    temp folder), in place of their bytes. A file that cannot be written keeps the bytes."""
    for index, child in enumerate(extraction.children):
        if child.path is None and (path := _spilled(child.data, "child-", folder)):
            extraction.children[index] = replace(child, data=b"", path=path)


def _run_yara(source: Source, extraction: Extraction) -> None:
    """The newsroom's YARA rules over the item; problems are issues, never a failed item."""
    from leaktriage import yarascan

    try:
        matches, problems = yarascan.scan(source, str(source.yara_dir))
    except Exception as exc:
        # Walking a hostile file's parts may fail in ways no list foresees; the facts the
        # extractor found are kept whatever happens here.
        log.debug("YARA scan failed on %s", source.name, exc_info=True)
        extraction.issues.append(Issue("rules", "yara", f"{type(exc).__name__}: {exc}"[:2000]))
        return
    if matches:
        extraction.fields["yara.matches"] = tuple(matches)
    extraction.issues.extend(Issue("rules", "yara", text[:2000]) for text in problems)


_STATUS_OF: dict[type[ExtractionError], Status] = {
    EncryptedFileError: Status.ENCRYPTED,
    LimitExceededError: Status.SKIPPED,
    WrongFormatError: Status.ERROR,
}


def _failed(
    exc: BaseException, label: str, status: Status, code: str | None = None
) -> tuple[Extraction, str, Status]:
    extraction = Extraction()
    partial = getattr(exc, "partial", None)
    if isinstance(partial, Extraction):
        extraction = partial
    reason = code or str(getattr(exc, "code", None) or "unexpected")
    text = str(exc) or type(exc).__name__
    if reason == "unexpected":
        text = f"{type(exc).__name__}: {text}"
    extraction.issues.append(Issue("extract", reason, text[:2000]))
    return extraction, label, status
