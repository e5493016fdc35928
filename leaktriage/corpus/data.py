"""What the corpus analysis reads from the store: one small ``Doc`` per record, no documents.

Only the facts the corpus steps use are loaded (authorship, software, zones, code pages,
languages, identifiers, times); text samples are streamed separately by the copy finder.
Every value is attacker-controlled: strings are cut to ``MAX_VALUE`` characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leaktriage.fields import FIELDS
from leaktriage.model import FieldValue, iso_utc
from leaktriage.store import Store

MAX_VALUE = 200
"""Longest string kept per fact (a 1 MB author name is data, not a fingerprint)."""
MAX_LIST = 500
"""Most list elements kept per fact (rsids of a much-edited document)."""

FACTS = (
    "doc.author",
    "doc.last_modified_by",
    "doc.company",
    "doc.application",
    "doc.app_version",
    "doc.producer",
    "doc.template",
    "doc.title",
    "doc.created",
    "doc.modified",
    "doc.created_offset",
    "doc.modified_offset",
    "doc.codepage",
    "doc.languages",
    "ole.biff_codepage",
    "ole.app_user",
    "meta.scripts",
    "meta.foreign_strings",
    "text.language",
    "text.language_confidence",
    "text.chars",
    "email.date_offset",
    "email.thread_index_guid",
    "ooxml.rsid_root",
    "ooxml.rsids",
    "ooxml.doc_id",
    "pdf.xmp_document_id",
    "pdf.id_original",
    "image.xmp_document_id",
    # Lineage a copy keeps from its original (altered copies).
    "pdf.xmp_original_document_id",
    "pdf.xmp_history",
    "image.xmp_original_document_id",
    "image.xmp_history",
    "email.message_id",
    # The saving software's fingerprint (edit bursts): interface language, install language,
    # how it writes its zip.
    "ooxml.heading_pairs",
    "ole.heading_pairs",
    "ole.fib_lid_tag",
    "ooxml.zip_create_systems",
    "ooxml.zip_compression",
    "ooxml.zip_order",
)
"""Catalogue facts the corpus steps read."""


@dataclass(slots=True)
class Doc:
    """One record as the corpus analysis sees it."""

    record_id: str
    path: str
    parent_id: str | None
    sha256: str | None
    mime: str
    status: str
    facts: dict[str, FieldValue] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        """A string fact (a number shown as text), or None."""
        value = self.facts.get(name)
        if value is None or isinstance(value, tuple | datetime):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def time(self, name: str) -> datetime | None:
        """A datetime fact, or None."""
        value = self.facts.get(name)
        return value if isinstance(value, datetime) else None

    def items(self, name: str) -> tuple[str, ...]:
        """A list fact (a lone value as a one-element tuple)."""
        value = self.facts.get(name)
        if value is None:
            return ()
        if isinstance(value, tuple):
            return value
        return (str(value),)

    @property
    def unit(self) -> str:
        """What makes two records the same file: the content hash (else the record id)."""
        return self.sha256 or self.record_id


def _clip(value: FieldValue) -> FieldValue:
    return value[:MAX_VALUE] if isinstance(value, str) else value


def load_docs(store: Store) -> list[Doc]:
    """Every record with the facts in ``FACTS``, sorted by record id.

    A leak repeats itself (the same author, software and ids on every re-saved variant), so
    equal values are stored once: memory grows with the distinct values, not the records."""
    shared: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    docs = [
        Doc(rid, path, one(parent), one(sha), one(mime), one(status))
        for rid, path, parent, sha, mime, status in store.file_rows()
    ]
    by_id = {d.record_id: d for d in docs}
    lists: dict[tuple[str, str], list[str]] = {}
    names = {name: name for name in FACTS}
    for rid, row_name, value in store.field_rows(FACTS):
        doc = by_id.get(rid)
        if doc is None:
            continue
        name = names.get(row_name, row_name)  # one string per fact name, not one per record
        if FIELDS[name].type == "list":
            items = lists.setdefault((rid, name), [])
            if len(items) < MAX_LIST:
                items.append(one(str(value)[:MAX_VALUE]))
        else:
            doc.facts[name] = one(_clip(value))
    for (rid, name), items in lists.items():
        by_id[rid].facts[name] = one(tuple(items))
    return docs


def area(path: str) -> str:
    """Where a record sits in the dump, for "links across unrelated places": the mailbox or
    archive on disk that holds it, else the folder of the loose file."""
    outer = path.split("!", 1)[0]
    if "!" in path:
        return outer
    return outer.rsplit("/", 1)[0] if "/" in outer else ""


def stream_texts(store: Store) -> Iterator[tuple[str, str]]:
    """(record_id, text sample) for every record with body text."""
    return store.texts()


def when(value: datetime | None) -> str:
    """A time for a sentence: ISO 8601 UTC, or "?"."""
    return iso_utc(value) if value else "?"


def who(doc: Doc) -> str:
    """The name that last saved a document, or "?"."""
    return doc.text("doc.last_modified_by") or doc.text("ole.app_user") or "?"
