"""Edit bursts and shared identifiers: links between files that their histories do not explain.

A burst is several files with unrelated histories (different creation times and titles)
last saved within a few minutes by the same account — the #MacronLeaks spreadsheets
re-saved in four minutes by one Russian-language Excel. Shared identifiers (rsidRoot and
rsids, w15:docId, XMP DocumentID, the first PDF /ID, Thread-Index GUIDs) tie files to a
common origin; the links that matter most cross mailboxes or folders that should be
unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leaktriage.corpus.data import Doc, area

BURST_GAP = timedelta(minutes=5)
"""Largest gap between two consecutive saves of one burst."""
BURST_SPAN = timedelta(minutes=15)
"""Longest a burst may last from first to last save."""
BURST_MIN = 3
"""Files (distinct contents, distinct histories) that make a burst."""

IDENTIFIERS = (
    "ooxml.rsid_root",
    "ooxml.doc_id",
    "ooxml.rsids",
    "pdf.xmp_document_id",
    "pdf.id_original",
    "image.xmp_document_id",
    "email.thread_index_guid",
)
"""Facts whose equal values link two files."""
MAX_SHARED_FRACTION = 0.02
MAX_SHARED_MIN = 25
"""A value carried by more files than max(25, 2 % of the dump) is a template's or a tool's
constant, not a link; it is counted but not reported."""


@dataclass(slots=True)
class Burst:
    """Files last saved by one account within a few minutes."""

    account: str
    members: list[Doc]
    """Every record of the burst (exact duplicates included), by save time then path."""
    first: datetime
    last: datetime
    units: int
    """Distinct contents in the burst."""


def _account(doc: Doc) -> str | None:
    value = doc.text("doc.last_modified_by") or doc.text("ole.app_user")
    return " ".join(value.split()).casefold() if value and value.strip() else None


def bursts(docs: list[Doc]) -> list[Burst]:
    """Every burst, ordered by its first save time and account."""
    by_account: dict[str, dict[str, list[Doc]]] = {}
    shown: dict[str, str] = {}
    for doc in docs:
        account = _account(doc)
        if account is None or doc.time("doc.modified") is None:
            continue
        shown.setdefault(
            account,
            " ".join((doc.text("doc.last_modified_by") or doc.text("ole.app_user") or "").split()),
        )
        by_account.setdefault(account, {}).setdefault(doc.unit, []).append(doc)
    found = []
    for account in sorted(by_account):
        units = sorted(
            by_account[account].values(),
            key=lambda group: (group[0].time("doc.modified"), group[0].path),
        )
        run: list[list[Doc]] = []
        for group in [*units, []]:
            if group and run:
                start = run[0][0].time("doc.modified")
                previous = run[-1][0].time("doc.modified")
                now = group[0].time("doc.modified")
                assert start and previous and now
                if now - previous <= BURST_GAP and now - start <= BURST_SPAN:
                    run.append(group)
                    continue
            if run:
                burst = _burst(shown[account], run)
                if burst:
                    found.append(burst)
            run = [group] if group else []
    found.sort(key=lambda b: (b.first, b.account))
    return found


def _burst(account: str, run: list[list[Doc]]) -> Burst | None:
    """A burst from consecutive saves, if their histories are unrelated."""
    if len(run) < BURST_MIN:
        return None
    created = {g[0].time("doc.created") for g in run}
    titles = {g[0].text("doc.title") for g in run}
    if len(created) < BURST_MIN or len(titles) < min(BURST_MIN, len(run)) - 1:
        return None
    members = sorted((d for g in run for d in g), key=lambda d: (d.time("doc.modified"), d.path))
    first, last = run[0][0].time("doc.modified"), run[-1][0].time("doc.modified")
    assert first and last
    return Burst(account, members, first, last, len(run))


@dataclass(slots=True)
class Link:
    """Files sharing one or more identifier values."""

    values: list[tuple[str, str]]
    """(fact, value) pairs shared by exactly these files."""
    members: list[Doc]
    areas: list[str]
    """Distinct places (folders, mailboxes, archives) the files sit in."""

    @property
    def crosses(self) -> bool:
        """True when the files sit in more than one place."""
        return len(self.areas) > 1


def links(docs: list[Doc]) -> tuple[list[Link], int]:
    """Identifier links between distinct contents, and how many over-common values were
    left out."""
    holders: dict[tuple[str, str], set[str]] = {}
    records: dict[str, list[Doc]] = {}
    for doc in docs:
        records.setdefault(doc.unit, []).append(doc)
        for name in IDENTIFIERS:
            for value in doc.items(name) if name == "ooxml.rsids" else (doc.text(name),):
                if value and value.strip() and value.strip("0{}-") != "":
                    holders.setdefault((name, value), set()).add(doc.unit)
    limit = max(MAX_SHARED_MIN, MAX_SHARED_FRACTION * len(records))
    by_members: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    common = 0
    for key, units in holders.items():
        if len(units) < 2:
            continue
        if len(units) > limit:
            common += 1
            continue
        by_members.setdefault(tuple(sorted(units)), []).append(key)
    found = []
    for shared, values in by_members.items():
        members = sorted((d for u in shared for d in records[u]), key=lambda d: d.path)
        areas = sorted({area(d.path) for d in members})
        found.append(Link(sorted(values), members, areas))
    found.sort(key=lambda link: (link.values[0], link.members[0].path))
    return found, common
