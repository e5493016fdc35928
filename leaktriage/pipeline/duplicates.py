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

import pickle
import zlib
from collections import OrderedDict

from leaktriage.model import Status
from leaktriage.pipeline.extract import Outcome

MAX_ENTRIES = 200_000
"""Analysed items remembered (least recently used forgotten first)."""
MAX_ENTRY_BYTES = 64 * 1024
"""Items whose outcome takes more than this, compressed, are not remembered."""
MAX_TOTAL_BYTES = 48 * 1024 * 1024
"""Compressed bytes remembered in all (least recently used forgotten first). An outcome is
kept pickled and compressed (a PDF's facts with their text sample: about 3 KB), so that the
distinct documents of a leak of 100,000 items fit: with outcomes kept as objects a tenth as
many did, and a copy whose original had been forgotten was parsed again."""
KEPT = frozenset({Status.OK, Status.PARTIAL, Status.ENCRYPTED})


class Analysed:
    """(sha256, extension) -> the outcome of the item with those bytes that was parsed."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0
        self.hits = 0

    def keep(self, sha256: str | None, extension: str, outcome: Outcome) -> None:
        """Remember a parsed item's outcome, when it can stand for its duplicates."""
        extraction, _label, status, _mime = outcome
        if not sha256 or status not in KEPT or extraction.children or extraction.unlisted:
            return
        if any(p.path is not None for p in extraction.pictures):
            return  # its pictures' files belong to its record (the store takes them)
        key = (sha256, extension)
        if key in self._entries:
            return
        # Level 1: compressing costs a tenth of a millisecond, and keeps nine tenths.
        packed = zlib.compress(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL), 1)
        if len(packed) > MAX_ENTRY_BYTES:
            return
        self._entries[key] = packed
        self._bytes += len(packed)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)

    def get(self, sha256: str | None, extension: str) -> Outcome | None:
        """The outcome to give an item with these bytes and extension (objects of its own),
        or None to parse it."""
        key = (sha256 or "", extension)
        packed = self._entries.get(key) if sha256 else None
        if packed is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        # Pickled by keep() in this process, never bytes from the dump.
        outcome: Outcome = pickle.loads(zlib.decompress(packed))
        return outcome
