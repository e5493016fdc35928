"""PDF save history from the raw bytes: each ``startxref``/``%%EOF`` section, incremental
updates (``/Prev`` hops) and linearization. Each earlier revision is reopened from the byte
prefix that ends at its ``%%EOF`` and its text compared with the final one's: a figure
changed after the first save, and the original text, for the reader."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from leaktriage.extractors import Extraction
from leaktriage.extractors._pdf_common import (
    _MUPDF_ERRORS,
    _REF,
    _SPACES,
    pymupdf,
)

MAX_EOF_MARKERS = 1000
MAX_REVISIONS = 32
"""Revisions (saves) considered; earlier ones beyond this are counted but not reopened."""
MAX_REVISION_PAGES = 50
MAX_REVISION_CHARS = 200_000
"""Text compared per revision."""
MAX_REVISION_BYTES = 512 * 1024 * 1024
"""Total prefix bytes reopened for revision recovery."""
MAX_DIFF_LINES = 5000
MAX_DIFF_HUNKS = 20
MAX_HUNK_CHARS = 300
MAX_TRAILER_SCAN = 64 * 1024
"""Bytes read after an xref offset to find its trailer dictionary."""

_EOF = re.compile(rb"%%EOF")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,12})")
_PREV = re.compile(rb"/Prev\s+(\d{1,12})")
_LINEARIZED = re.compile(rb"\d+\s+\d+\s+obj\s*<<[^>]{0,200}?/Linearized\b[^>]{0,400}>>")
_LIN_LENGTH = re.compile(rb"/L\s+(\d{1,12})")
_OBJ_AT = re.compile(rb"\s*\d+\s+\d+\s+obj\b")
_OBJ_NUMBER = re.compile(rb"(?<![0-9])([0-9]+)\s+[0-9]+\s+obj\b")
MAX_TEXT_OBJECTS = 20_000
"""Objects followed from the compared pages before giving up the shortcut (and re-reading
the earlier revision's text)."""


@dataclass(slots=True)
class _Section:
    """One ``startxref``/``%%EOF`` section found in the raw bytes."""

    end: int
    """Offset just past the ``%%EOF`` line: the prefix up to here is that revision."""
    xref: int
    """Offset its ``startxref`` points to."""


@dataclass(slots=True)
class _History:
    """The save history read from the raw bytes."""

    linearized: bool = False
    revision_ends: list[int] = field(default_factory=list)
    """End offset of every revision, oldest first (linearization sections merged)."""
    updates: int = 0
    """Backward /Prev hops from the final trailer: saves appended after the first."""


def _scan_history(data: bytes) -> _History:
    """Revisions from the raw bytes: ``%%EOF`` sections and the trailer ``/Prev`` chain.

    A linearized ("fast web view") file has two xref sections and two ``%%EOF`` but is one
    save: the first-page section at the start has a ``startxref`` of 0 or a /Prev pointing
    *forward* to the main table at the end, and the linearization dictionary's /L gives the
    length of the file as that save wrote it. So a section is merged into the next one when
    its /Prev points past its own ``%%EOF`` (it cannot be read alone) or when the next one
    still ends within /L; an incremental update appends after /L and its /Prev points back.
    ``updates`` counts only backward /Prev hops, so the forward linearization hop is free.
    """
    history = _History()
    head = _LINEARIZED.search(data, 0, 2048)
    lin_length = 0
    if head is not None:
        history.linearized = True
        found = _LIN_LENGTH.search(head.group(0))
        lin_length = int(found.group(1)) if found else 0
    sections: list[_Section] = []
    previous_end = 0
    for count, marker in enumerate(_EOF.finditer(data)):
        if count >= MAX_EOF_MARKERS:
            break
        start = data.rfind(b"startxref", previous_end, marker.start())
        end = marker.end()
        end += 2 if data[end : end + 2] == b"\r\n" else 1 if data[end : end + 1] in b"\r\n" else 0
        if start >= 0:
            found = _STARTXREF.match(data, start)
            if found and _xref_at(data, int(found.group(1))):
                sections.append(_Section(end, int(found.group(1))))
        previous_end = end
    ends: list[int] = []
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        if following is not None:
            # A section whose /Prev points past its own %%EOF is incomplete on its own.
            prev = _prev_of(data, section.xref)
            incomplete = prev is not None and prev >= section.end
            if incomplete or following.end <= lin_length + 2:
                continue  # merged with the next section into one save (linearization)
        ends.append(section.end)
    history.revision_ends = ends
    if sections:
        history.updates = _backward_hops(data, sections[-1].xref)
    return history


def _xref_at(data: bytes, offset: int) -> bool:
    """Whether ``offset`` starts a classic ``xref`` table or an indirect (xref stream) object."""
    if not 0 <= offset < len(data):
        return False
    return data.startswith(b"xref", offset) or _OBJ_AT.match(data, offset) is not None


def _prev_of(data: bytes, offset: int) -> int | None:
    """/Prev of the trailer (or xref stream dictionary) of the section at ``offset``."""
    if data.startswith(b"xref", offset):
        start = data.find(b"trailer", offset)
        if start < 0:
            return None
    else:
        start = offset
    window = data[start : start + MAX_TRAILER_SCAN]
    stop = min(
        (i for i in (window.find(b"stream"), window.find(b"startxref")) if i >= 0), default=-1
    )
    found = _PREV.search(window[:stop] if stop >= 0 else window)
    return int(found.group(1)) if found else None


def _backward_hops(data: bytes, offset: int) -> int:
    """Follow /Prev from the final section; count hops that point back to an earlier save."""
    seen = {offset}
    hops = 0
    for _ in range(4 * MAX_REVISIONS):
        prev = _prev_of(data, offset)
        if prev is None or prev in seen or not _xref_at(data, prev):
            break
        if prev < offset:
            hops += 1
        seen.add(prev)
        offset = prev
    return hops


def _put_history(out: Extraction, history: _History) -> None:
    out.put("pdf.linearized", history.linearized)
    out.put("pdf.revision_count", len(history.revision_ends) or None)
    out.put("pdf.incremental_updates", history.updates)


def _revisions(
    doc: Any,
    data: bytes,
    history: _History,
    info: dict[str, str],
    out: Extraction,
    known: dict[int, str],
) -> None:
    """Reopen every earlier revision and compare its text with the final document's
    (``known``: final page texts already extracted, by page number)."""
    final: str | None = None  # read only when an earlier revision's text must be compared
    earlier = history.revision_ends[:-1][: MAX_REVISIONS - 1]
    if len(history.revision_ends) > MAX_REVISIONS:
        out.note(
            "limit.revisions",
            f"{len(history.revision_ends)} revisions; first {len(earlier)} compared",
        )
    lines: list[str] = []
    hunks: dict[str, None] = {}
    changed = False
    budget = MAX_REVISION_BYTES
    needed = _text_objects(doc) if earlier else None
    rewritten = _rewritten(data, earlier)
    for index, end in enumerate(earlier, start=1):
        budget -= end
        if budget < 0:
            out.note("limit.revisions", f"revision {index} and later not reopened: size budget")
            break
        try:
            with pymupdf.open(stream=data[:end], filetype="pdf") as old:
                meta = old.metadata or {}
                # An update that rewrites none of the objects the compared pages' text comes
                # from (a new Info dictionary, XMP, a form value) leaves that text as it was.
                later = rewritten[index - 1]
                untouched = needed is not None and later is not None and not (later & needed)
                text = None if untouched else _document_text(old)
        except _MUPDF_ERRORS as exc:
            out.note("corrupt", f"revision {index} (ending at byte {end}) unreadable: {exc}"[:2000])
            continue
        lines.append(f"{index}|{end}|{meta.get('modDate', '')}|{meta.get('producer', '')}")
        if text is None:
            continue
        if final is None:
            final = _document_text(doc, known)
        if text != final:
            changed = True
            for hunk in _diff(text, final):
                if len(hunks) < MAX_DIFF_HUNKS:
                    hunks.setdefault(hunk, None)
    lines.append(
        f"{len(history.revision_ends)}|{history.revision_ends[-1]}|"
        f"{info.get('ModDate', '')}|{info.get('Producer', '')}"
    )
    out.put("pdf.revisions", tuple(lines))
    ends = history.revision_ends
    if len(ends) >= 2:
        # The last save's size, and whether it kept the Info dates and producer of the one
        # before: what tells a writer's own closing xref section from a later edit.
        out.put("pdf.last_update_bytes", ends[-1] - ends[-2])
        out.put("pdf.last_update_objects", len(_OBJ_AT.findall(data[ends[-2] : ends[-1]])))
        if len(lines) >= 2:
            before, after = lines[-2].split("|", 2), lines[-1].split("|", 2)
            if len(before) == len(after) == 3:
                out.put("pdf.last_update_same_info", before[2] == after[2])
    out.put("pdf.revision_text_changed", changed)
    out.put("pdf.revision_diff", tuple(hunks))


def _text_objects(doc: Any) -> frozenset[int] | None:
    """Object numbers the compared pages' text depends on: each page, the page-tree nodes
    above it, and everything its contents and resources reach (streams, fonts, their
    encodings and ToUnicode maps, form XObjects); None when that cannot be told."""
    found: set[int] = set()
    todo: list[int] = []
    try:
        for number in range(min(doc.page_count, MAX_REVISION_PAGES)):
            xref = doc.page_xref(number)
            todo.append(xref)
            parent = xref
            while True:
                kind, value = doc.xref_get_key(parent, "Parent")
                if kind != "xref":
                    break
                parent = int(value.split()[0])
                if parent in found:
                    break
                found.add(parent)
        while todo:
            xref = todo.pop()
            if xref in found:
                continue
            found.add(xref)
            if len(found) > MAX_TEXT_OBJECTS:
                return None
            source = doc.xref_object(xref, compressed=True)
            # Links up the tree and to annotations are not what the page's text is drawn from.
            source = re.sub(
                r"/(?:Parent|Annots|P|StructParents?)\b\s*(?:\[[^\]]*\]|\d+\s+0\s+R)", "", source
            )
            todo.extend(int(ref) for ref in _REF.findall(source) if int(ref) not in found)
    except _MUPDF_ERRORS:
        return None
    return frozenset(found)


def _rewritten(data: bytes, ends: list[int]) -> list[frozenset[int] | None]:
    """For each revision end, the object numbers the bytes after it write, each stretch
    between two ends read once; None where those bytes hold an object stream (objects packed
    in it cannot be told apart here)."""
    points = [*ends, len(data)]
    after: set[int] = set()
    packed = False
    found: list[frozenset[int] | None] = []
    for start, stop in reversed(list(pairwise(points))):
        stretch = data[start:stop]
        packed = packed or b"/ObjStm" in stretch
        after.update(int(m.group(1)) for m in _OBJ_NUMBER.finditer(stretch))
        found.append(None if packed else frozenset(after))
    return found[::-1]


def _document_text(doc: Any, known: dict[int, str] | None = None) -> str:
    """Normalised text of the first pages (one line per text line, spaces collapsed);
    ``known`` holds page texts already extracted from this document."""
    parts: list[str] = []
    size = 0
    for number in range(min(doc.page_count, MAX_REVISION_PAGES)):
        text = known.get(number) if known else None
        if text is None:
            text = doc.load_page(number).get_text()
        parts.append(text)
        size += len(text)
        if size >= MAX_REVISION_CHARS:
            break
    joined = "\n".join(parts)[:MAX_REVISION_CHARS]
    return "\n".join(_lines(joined))


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        cleaned = _SPACES.sub(" ", line).strip()
        if cleaned:
            yield cleaned


def _diff(old: str, new: str) -> list[str]:
    """Readable hunks ``-old | +new`` between two revisions' text lines."""
    before = old.split("\n")[:MAX_DIFF_LINES]
    after = new.split("\n")[:MAX_DIFF_LINES]
    hunks: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        parts = []
        if i2 > i1:
            parts.append("-" + " / ".join(before[i1:i2])[:MAX_HUNK_CHARS])
        if j2 > j1:
            parts.append("+" + " / ".join(after[j1:j2])[:MAX_HUNK_CHARS])
        hunks.append(" | ".join(parts))
    return hunks
