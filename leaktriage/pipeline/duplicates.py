"""Identical bytes are parsed once per scan: the facts of an item already analysed, kept by
sha256 for the items that repeat it.

A leak repeats itself: one attachment forwarded in a hundred mails, a folder copied into
three archives. Each copy keeps its own record (its own path, provenance and times), but
parsing the same bytes again would only give the same facts. The pipeline asks here before
handing an item to a worker; a hit gives back the earlier outcome (the record does not
name which copy was parsed: that would depend on the order workers finish in). Only items
that hold nothing (no children: an attachment's mail is parsed each time, so that everything
inside it is listed) and whose facts are small are kept, in a bounded least-recently-used
table, so memory stays flat whatever the size of the dump.
"""

from __future__ import annotations

from collections import OrderedDict

from leaktriage.extractors import Extraction
from leaktriage.model import Status
from leaktriage.pipeline.extract import Outcome

MAX_ENTRIES = 20_000
"""Analysed items remembered (least recently used forgotten first)."""
MAX_ENTRY_CHARS = 32_000
"""Items whose facts and raw values exceed this many characters are not remembered."""
MAX_TOTAL_CHARS = 4_000_000
"""Characters of facts and raw values remembered in all (least recently used forgotten
first): the table's memory stays at a few tens of MB whatever the dump."""
KEPT = frozenset({Status.OK, Status.PARTIAL, Status.ENCRYPTED})


class Analysed:
    """(sha256, extension) -> the outcome of the item with those bytes that was parsed."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[Outcome, int]] = OrderedDict()
        self._chars = 0
        self.hits = 0

    def keep(self, sha256: str | None, extension: str, outcome: Outcome) -> None:
        """Remember a parsed item's outcome, when it can stand for its duplicates."""
        extraction, _label, status, _mime = outcome
        if not sha256 or status not in KEPT or extraction.children or extraction.unlisted:
            return
        size = sum(len(k) + len(str(v)) for k, v in extraction.fields.items())
        size += sum(len(k) + len(v) for k, v in extraction.raw.items())
        key = (sha256, extension)
        if size > MAX_ENTRY_CHARS or key in self._entries:
            return
        self._entries[key] = (outcome, size)
        self._chars += size
        while len(self._entries) > self.max_entries or self._chars > MAX_TOTAL_CHARS:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._chars -= dropped

    def get(self, sha256: str | None, extension: str) -> Outcome | None:
        """The outcome to give an item with these bytes and extension, or None to parse it."""
        key = (sha256 or "", extension)
        entry = self._entries.get(key) if sha256 else None
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        extraction, label, status, mime = entry[0]
        copy = Extraction(
            fields=dict(extraction.fields),
            raw=dict(extraction.raw),
            issues=list(extraction.issues),
            status=extraction.status,
        )
        return copy, label, status, mime
