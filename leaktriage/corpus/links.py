"""Edit bursts and shared identifiers: links between files that their histories do not explain.

A burst is several files with unrelated histories (different creation times and titles)
last saved within a few minutes by the same *software* — the #MacronLeaks spreadsheets,
re-saved in four minutes by one Russian-language Excel: five of them kept their French
last-saved-by names, four carried one Cyrillic name, and only the software ties the nine
together. The software's fingerprint is what the files tell of the program that saved
them: application and version, the language of its interface (the sheet-list label Excel
writes, "Листы" or "Feuilles de calcul"), Word's install language, the code page, and how
it wrote the zip. A burst by software this dump shows nowhere else is an edit burst; a
burst by the dump's usual software and by people who save other files here too is one
sitting of ordinary work, shown as context only.

Shared identifiers (rsidRoot and rsids, w15:docId, XMP DocumentID, the first PDF /ID,
Thread-Index GUIDs) tie files to a common origin; the links that matter most cross
mailboxes or folders that should be unrelated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from leaktriage.corpus.data import Doc, area
from leaktriage.corpus.registry import CorpusFinding

BURST_GAP = timedelta(minutes=5)
"""Largest gap between two consecutive saves of one burst."""
BURST_SPAN = timedelta(minutes=15)
"""Longest a burst may last from first to last save."""
BURST_MIN = 3
"""Files (distinct contents, distinct histories) that make a burst."""
COMMON_SOFTWARE_FRACTION = 0.02
"""Software is the dump's usual when it saved, outside the burst, at least max(BURST_MIN,
2 % of the files with a software fingerprint) other files."""

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

UI_LANGUAGES = {
    "листы": "Russian",
    "лист": "Russian",
    "название": "Russian",
    "заголовок": "Russian",
    "worksheets": "English",
    "title": "English",
    "slide titles": "English",
    "feuilles de calcul": "French",
    "titre": "French",
    "arbeitsblätter": "German",
    "titel": "German",
    "hojas de cálculo": "Spanish",
    "título": "Spanish",
    "fogli di lavoro": "Italian",
    "planilhas": "Portuguese",
    "工作表": "Chinese",
}
"""Labels Office writes in app.xml's HeadingPairs in the language of its interface."""


@dataclass(frozen=True, slots=True)
class Software:
    """What the files tell of the program that last saved them."""

    application: str
    version: str
    interface: str
    """HeadingPairs labels (the interface's language), or ''."""
    install_language: str
    """Word's install language (FIB lid), or ''."""
    codepage: str
    zip_layout: str
    """Zip entry systems, compression and first member, or ''."""

    def describe(self) -> str:
        """The software in words: 'Microsoft Excel 16.0300, Russian interface («Листы»)'."""
        name = " ".join(p for p in (self.application, self.version) if p)
        details = []
        if self.interface:
            languages = sorted(
                {
                    UI_LANGUAGES[label.casefold()]
                    for label in self.interface.split("|")
                    if label.casefold() in UI_LANGUAGES
                }
            )
            shown = ", ".join(f"«{label}»" for label in self.interface.split("|")[:3])
            if len(languages) == 1:
                details.append(f"{languages[0]} interface ({shown})")
            else:
                details.append(f"interface labels {shown}")
        if self.install_language:
            details.append(f"installed in {self.install_language}")
        if self.codepage:
            details.append(f"code page {self.codepage}")
        return name + (f", {', '.join(details)}" if details else "")


def software(doc: Doc) -> Software | None:
    """The fingerprint of the software that last saved the document, or None when the file
    does not name its application."""
    application = doc.text("doc.application") or doc.text("doc.producer")
    if not application or not application.strip():
        return None
    labels = doc.items("ooxml.heading_pairs") or doc.items("ole.heading_pairs")
    order = doc.items("ooxml.zip_order")
    layout = ""
    if order:
        layout = "/".join(
            (
                ",".join(doc.items("ooxml.zip_create_systems")),
                ",".join(doc.items("ooxml.zip_compression")),
                order[0],
            )
        )
    return Software(
        " ".join(application.split())[:100],
        " ".join((doc.text("doc.app_version") or "").split())[:40],
        "|".join(sorted({" ".join(v.split()) for v in labels if v.strip()})),
        doc.text("ole.fib_lid_tag") or "",
        doc.text("doc.codepage") or doc.text("ole.biff_codepage") or "",
        layout,
    )


def account(doc: Doc) -> str | None:
    """Who the file says saved it last (as written, spaces collapsed), or None."""
    value = doc.text("doc.last_modified_by") or doc.text("ole.app_user")
    return " ".join(value.split()) if value and value.strip() else None


@dataclass(slots=True)
class Burst:
    """Files with unrelated histories last saved by one software within a few minutes."""

    software: Software
    members: list[Doc]
    """Every record of the burst (exact duplicates included), by save time then path."""
    first: datetime
    last: datetime
    units: int
    """Distinct contents in the burst."""
    accounts: list[tuple[str, int]]
    """Last-saved-by names in the burst and how many of its contents carry each."""
    software_elsewhere: int
    """Distinct contents outside the burst saved by the same software."""
    accounts_elsewhere: dict[str, int]
    """Per name: distinct contents outside the burst it last saved."""
    ordinary: bool
    """The dump's usual software and people who save other files here too: one sitting of
    ordinary work, not an alteration."""

    @property
    def account(self) -> str:
        """The names, for a table: 'Анна Соколова, Julien Marchetti (+3)'."""
        names = [name for name, _ in self.accounts]
        shown = ", ".join(names[:2]) or "no name"
        return shown + (f" (+{len(names) - 2})" if len(names) > 2 else "")


def bursts(docs: list[Doc]) -> list[Burst]:
    """Every burst, ordered by its first save time and software."""
    by_software: dict[Software, dict[str, list[Doc]]] = {}
    contents_of: dict[Software, set[str]] = {}
    names: dict[str, set[str]] = {}
    for doc in docs:
        found = software(doc)
        if found is not None:
            contents_of.setdefault(found, set()).add(doc.unit)
        name = account(doc)
        if name is not None:
            names.setdefault(name.casefold(), set()).add(doc.unit)
        if found is None or doc.time("doc.modified") is None:
            continue
        by_software.setdefault(found, {}).setdefault(doc.unit, []).append(doc)
    keyed = len({u for units in contents_of.values() for u in units})
    common = max(BURST_MIN, COMMON_SOFTWARE_FRACTION * keyed)
    found_bursts = []
    for key in sorted(
        by_software, key=lambda k: (k.application, k.version, k.describe(), k.zip_layout)
    ):
        units = sorted(
            by_software[key].values(),
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
                burst = _burst(key, run, contents_of[key], names, common)
                if burst:
                    found_bursts.append(burst)
            run = [group] if group else []
    found_bursts.sort(key=lambda b: (b.first, b.software.describe()))
    return found_bursts


RESAVED_AFTER = timedelta(days=1)
"""A burst member was created at least this long before its last save (or has no creation
time): its save rewrote an existing document. A day, because two times written in the same
minute can be up to 14 hours apart when one is local and the other UTC (Distiller's
CreationDate and ModDate in some PDFs)."""


def _resaved(doc: Doc) -> bool:
    created, modified = doc.time("doc.created"), doc.time("doc.modified")
    return created is None or modified is None or modified - created >= RESAVED_AFTER


def _burst(
    key: Software,
    run: list[list[Doc]],
    saved: set[str],
    names: dict[str, set[str]],
    common: float,
) -> Burst | None:
    """A burst from consecutive saves, if their histories are unrelated."""
    # Re-saves only: a file made in the same minutes it was last saved (a build system, a
    # report generator, a batch export) is being written, not re-saved over an older history.
    run = [g for g in run if _resaved(g[0])]
    if len(run) < BURST_MIN:
        return None
    created = {g[0].time("doc.created") for g in run}
    titles = {g[0].text("doc.title") for g in run}
    if len(created) < BURST_MIN or len(titles) < min(BURST_MIN, len(run)) - 1:
        return None
    members = sorted((d for g in run for d in g), key=lambda d: (d.time("doc.modified"), d.path))
    first, last = run[0][0].time("doc.modified"), run[-1][0].time("doc.modified")
    assert first and last
    inside = {g[0].unit for g in run}
    counted = Counter(name for g in run if (name := account(g[0])) is not None)
    shown: dict[str, str] = {}
    for name in counted:
        shown.setdefault(name.casefold(), name)
    per_name: Counter[str] = Counter()
    for name, count in counted.items():
        per_name[shown[name.casefold()]] += count
    accounts = sorted(per_name.items(), key=lambda kv: (-kv[1], kv[0]))
    elsewhere = {name: len(names[name.casefold()] - inside) for name, _ in accounts}
    software_elsewhere = len(saved - inside)
    ordinary = (
        software_elsewhere >= common
        and len(accounts) == 1
        and all(count > 0 for count in elsewhere.values())
    )
    return Burst(
        key, members, first, last, len(run), accounts, software_elsewhere, elsewhere, ordinary
    )


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


FINDINGS = (
    CorpusFinding(
        "corpus-edit-burst",
        "alteration",
        "One of several unrelated files re-saved within minutes by the same software",
        "Files with separate histories were all last saved within a few minutes by one "
        "program — the same application, version and interface language — that saves "
        "nothing else in this dump, or under names that save nothing else here: the pattern "
        "of a batch re-save before a leak, as with the #MacronLeaks spreadsheets. The "
        "last-saved-by names may differ: a program keeps the name it was given.",
        (
            "a colleague tidying up a folder (re-saving, converting or renaming files)",
            "an automatic conversion or a backup tool that re-saved the files",
            "an IT migration that opened and saved documents in bulk",
        ),
        context_only=False,
    ),
    CorpusFinding(
        "corpus-save-batch",
        "provenance",
        "Saved in one sitting with other files",
        "Several files were last saved within a few minutes by the same person with the "
        "software most of this dump was saved with: ordinary work, shown as context.",
        ("one person working through several documents", "a 'save all' before closing"),
        context_only=True,
    ),
    CorpusFinding(
        "corpus-shared-identifier",
        "provenance",
        "Shares a document identifier with other files",
        "Word session ids, document ids or PDF ids link versions of one document; a link "
        "across folders or mailboxes shows where copies travelled. It says which files are "
        "related, not which one was altered.",
        (
            "versions of one document kept in several folders",
            "an attachment saved to disk and also kept in the mailbox",
            "documents started from the same file used as a template",
        ),
        context_only=True,
    ),
)
