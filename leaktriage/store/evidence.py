"""The ``evidence_files`` table: the pictures and revision PDFs a worker made for a record
(``report.pictures``), kept for the records that have them (rare) and read by the evidence
folder (``pipeline.run``), the report and ``leaktriage evidence``.

A store written before the table existed gets it, empty, the next time it is opened for
writing (``CREATE TABLE IF NOT EXISTS``); opened read-only, it has none and every reader
here returns nothing (:func:`_rows`)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from leaktriage.model import FileRecord, Picture

SCHEMA = """
-- Visual evidence of a record (report.pictures): renders and earlier revisions' bytes.
CREATE TABLE IF NOT EXISTS evidence_files (
  record_id TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  caption TEXT NOT NULL,
  mime TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  data BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (record_id, name)
);
"""

INSERT = "INSERT OR REPLACE INTO evidence_files VALUES (?,?,?,?,?,?,?,?,?)"
DELETE = "DELETE FROM evidence_files WHERE record_id = ?"

EvidenceRow = tuple[str, str, str, str, str, int, int, bytes, str]


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One stored picture or revision PDF of a record (what ``Store.evidence_files`` gives)."""

    name: str
    """File name, unique within the record (``revision-1-page-1.png``)."""
    kind: str
    """``revision_page``, ``revision_pdf``, ``thumbnail_pair`` or ``thumbnail_diff``."""
    caption: str
    mime: str
    width: int
    """Pixels (0 for a PDF)."""
    height: int
    sha256: str
    """Of ``data``, as ``OUT/manifest.json`` lists the file under ``OUT/evidence``."""
    data: bytes


@dataclass(frozen=True, slots=True)
class EvidenceEntry:
    """What the report and the evidence folder need before the bytes: no ``data``."""

    record_id: str
    name: str
    kind: str
    caption: str
    mime: str
    width: int
    height: int
    size: int
    sha256: str


def rows(records: Iterable[FileRecord]) -> list[EvidenceRow]:
    """The table's rows for a batch of records. A picture a worker left in the scan's temp
    folder is read here and its file removed (the scan owns it, and the row holds it now)."""
    out: list[EvidenceRow] = []
    for record in records:
        for picture in record.pictures:
            data = _bytes(picture)
            digest = hashlib.sha256(data).hexdigest()
            out.append(
                (
                    record.record_id,
                    picture.name,
                    picture.kind,
                    picture.caption,
                    picture.mime,
                    picture.width,
                    picture.height,
                    data,
                    digest,
                )
            )
    return out


def _bytes(picture: Picture) -> bytes:
    if picture.path is None:
        return picture.data
    data = picture.path.read_bytes()
    picture.path.unlink(missing_ok=True)
    return data


def _rows(db: sqlite3.Connection, sql: str, params: Iterable[object]) -> list[Any]:
    """The rows of a query on ``evidence_files``; none from a store made before the table
    (opened read-only, it cannot be added)."""
    try:
        return db.execute(sql, tuple(params)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def files_of(db: sqlite3.Connection, record_id: str) -> list[EvidenceFile]:
    """Every stored file of one record, by name."""
    found = _rows(
        db,
        "SELECT name, kind, caption, mime, width, height, sha256, data FROM evidence_files "
        "WHERE record_id = ? ORDER BY name",
        (record_id,),
    )
    return [
        EvidenceFile(name, kind, caption, mime, width, height, sha256, bytes(data))
        for name, kind, caption, mime, width, height, sha256, data in found
    ]


def flagged_entries(db: sqlite3.Connection, verdicts: Iterable[str]) -> Iterator[EvidenceEntry]:
    """The stored files of the records still in the dump whose verdict is one of
    ``verdicts``, by record and name, without their bytes."""
    wanted = sorted(set(verdicts))
    marks = ",".join("?" * len(wanted))
    found = _rows(
        db,
        "SELECT e.record_id, e.name, e.kind, e.caption, e.mime, e.width, e.height, "
        "length(e.data), e.sha256 FROM evidence_files e "
        "JOIN present_files f USING (record_id) "
        f"WHERE f.verdict IN ({marks}) ORDER BY e.record_id, e.name",
        wanted,
    )
    for row in found:
        yield EvidenceEntry(*row)


def data_of(db: sqlite3.Connection, record_id: str, name: str) -> bytes | None:
    """The bytes of one stored file (None when there is none)."""
    found = _rows(
        db,
        "SELECT data FROM evidence_files WHERE record_id = ? AND name = ?",
        (record_id, name),
    )
    return bytes(found[0][0]) if found else None
