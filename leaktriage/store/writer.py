"""Writing records into the store: rows prepared in batches and inserted by a second
connection, on a thread of the scanning process or in a process of its own."""

from __future__ import annotations

import contextlib
import logging
import pickle
import queue
import sqlite3
import threading
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path

from leaktriage.errors import StoreError
from leaktriage.execute.sandbox import spawn_helper
from leaktriage.model import (
    FileRecord,
    Finding,
)
from leaktriage.report import jsonl
from leaktriage.store import evidence as evidence_files
from leaktriage.store.exports import (
    CACHE_INSERT,
    _cache_row,
    _ExportRow,
)
from leaktriage.store.schema import (
    _INDEXES,
    BUSY_TIMEOUT_MS,
    WAL_CHECKPOINT_PAGES,
    _encode,
    _time,
)

_Batch = tuple[
    list[tuple[str]],
    list[tuple[object, ...]],
    list[tuple[str, str, int, str, str]],
    list[tuple[str, str, str]],
    list[tuple[str, int, str, str, str]],
    list[tuple[str, int, int]],
    list[_ExportRow],
    list[tuple[str, tuple[Finding, ...]]],
    list[evidence_files.EvidenceRow],
]
"""The rows of one batch of records, table by table (ids, files, fields, raw fields,
issues, states, export lines, findings, pictures)."""


def _batch_rows(run_id: int, records: list[FileRecord]) -> _Batch:
    """Every table's rows for a batch of records."""
    files: list[tuple[object, ...]] = []
    fields: list[tuple[str, str, int, str, str]] = []
    raw: list[tuple[str, str, str]] = []
    issues: list[tuple[str, int, str, str, str]] = []
    for r in records:
        rid = r.record_id
        files.append(
            (
                rid,
                run_id,
                r.path,
                r.name,
                r.parent_id,
                r.depth,
                r.size,
                r.sha256,
                r.md5,
                r.mime,
                r.extension,
                int(r.extension_mismatch),
                _time(r.mtime),
                int(r.mtime_zone_known),
                _time(r.outer_mtime),
                r.status.value,
                r.extractor,
                r.verdict,
                r.score,
                r.sha1,
            )
        )
        for name in sorted(r.fields):
            for ord_, (text, kind) in enumerate(_encode(r.fields[name])):
                fields.append((rid, name, ord_, text, kind))
        raw.extend(sorted((rid, k, v) for k, v in r.raw.items()))
        issues.extend((rid, i, x.stage, x.code, x.message) for i, x in enumerate(r.issues))
    return (
        [(r.record_id,) for r in records],
        files,
        fields,
        raw,
        issues,
        [(r.record_id, run_id, run_id) for r in records],
        [_cache_row(r) for r in records],
        [(r.record_id, r.findings) for r in records],
        evidence_files.rows(records),
    )


log = logging.getLogger(__name__)


BATCH_QUEUE = 4
"""Pickled batches waiting to go down the pipe to the writer process (a bound on memory)."""


def _writer_connection(path: Path | str) -> sqlite3.Connection:
    """The writing side's own connection, set up like the store's."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    return db


class _WriterProcess:
    """The store's writer in a spawned process, fed batches of records.

    Batches go down a pipe, pickled by the calling thread and sent by a thread of this
    process (a full pipe blocks that thread, not the scan, up to ``BATCH_QUEUE`` batches).
    The process answers once, at the end or at its first error: ``None``, or the
    exception, which is raised here (the process then drops what it still gets).
    """

    def __init__(self, path: Path, run_id: int, bulk: bool) -> None:
        self._conn, self._process = spawn_helper(
            _write_apart, str(path), run_id, bulk, name="leaktriage-store-writer"
        )
        self._outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=BATCH_QUEUE)
        self._lost = False
        self._failure: BaseException | None = None
        self._answered = False
        self._sender = threading.Thread(
            target=self._pump, name="leaktriage-store-sender", daemon=True
        )
        self._sender.start()

    def _pump(self) -> None:
        while (blob := self._outbox.get()) is not None:
            if self._lost:
                continue  # the process is gone: keep taking batches, the scan must not block
            try:
                self._conn.send_bytes(blob)
            except OSError:
                self._lost = True
        if not self._lost:
            with contextlib.suppress(OSError):
                self._conn.send_bytes(b"")

    def _answer(self) -> None:
        """Take the process's one answer (waiting for it)."""
        self._answered = True
        try:
            self._failure = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(timeout=5)
            self._failure = StoreError(
                "the store's writer process ended without an answer "
                f"(exit code {self._process.exitcode})"
            )

    def send(self, records: list[FileRecord]) -> None:
        """Queue a batch; raises the process's error if it reported one."""
        if not self._answered and self._conn.poll():  # an early answer is an error
            self._answer()
            self._failure = self._failure or StoreError("the store's writer stopped early")
        if self._failure is not None:
            raise self._failure
        self._outbox.put(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))

    def finish(self, raise_failure: bool = True) -> None:
        """Wait until every batch is in (and the indexes built); raise its error if any."""
        self._outbox.put(None)
        self._sender.join()
        if not self._answered:
            self._answer()
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if raise_failure and self._failure is not None:
            raise self._failure


def _write_apart(conn: Connection, path: str, run_id: int, bulk: bool) -> None:
    """Body of the writer process: batches of pickled records in, rows inserted, indexes
    built at the end of a bulk load; answers ``None`` or its first error, once."""
    failure: BaseException | None = None
    try:
        with contextlib.closing(_writer_connection(path)) as db:
            while blob := conn.recv_bytes():
                _insert_batch(db, _batch_rows(run_id, pickle.loads(blob)), replace=not bulk)
            if bulk:
                db.executescript(_INDEXES)
    except Exception as exc:  # noqa: BLE001 - handed to the scanning process
        failure = exc
    with contextlib.suppress(OSError):  # the scanning process is gone: nobody to tell
        try:
            conn.send(failure)
        except (pickle.PicklingError, TypeError, AttributeError):  # an unpicklable error
            conn.send(StoreError(f"{type(failure).__name__}: {failure}"))
    if failure is not None:
        with contextlib.suppress(EOFError, OSError):
            while conn.recv_bytes():  # drop the rest: the scan stops at its next batch
                pass
    conn.close()


def _insert_batch(db: sqlite3.Connection, batch: _Batch, replace: bool) -> None:
    """Write a batch in one transaction, one statement per table; with ``replace``, earlier
    rows of the same records go first (a fresh store has none)."""
    ids, files, fields, raw, issues, states, cache, findings, pictures = batch
    with db:
        if replace:
            db.executemany(
                "DELETE FROM evidence WHERE finding_id IN "
                "(SELECT finding_id FROM findings WHERE record_id = ?)",
                ids,
            )
            for table in ("findings", "finding_lines", "fields", "raw_fields", "issues"):
                db.executemany(f"DELETE FROM {table} WHERE record_id = ?", ids)
            db.executemany(evidence_files.DELETE, ids)  # a re-parsed record's old pictures
        db.executemany(
            "INSERT INTO file_state VALUES (?, 'new', ?, ?, NULL) ON CONFLICT (record_id) "
            "DO UPDATE SET state = 'rescanned', last_run = excluded.last_run, gone_run = NULL",
            states,
        )
        db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", files
        )
        db.executemany(CACHE_INSERT, cache)
        db.executemany("INSERT INTO fields VALUES (?,?,?,?,?)", fields)
        db.executemany("INSERT INTO raw_fields VALUES (?,?,?)", raw)
        db.executemany("INSERT INTO issues VALUES (?,?,?,?,?)", issues)
        _insert_findings(db, findings)
        if pictures:
            db.executemany(evidence_files.INSERT, pictures)


INSERT_ROWS = 20_000
"""Evidence rows gathered before they are inserted (with their findings)."""


def _insert_findings(
    db: sqlite3.Connection, by_record: Iterable[tuple[str, Iterable[Finding]]]
) -> None:
    """Insert findings, their evidence and their ``files.jsonl`` text (inside the caller's
    transaction)."""
    # Ids are handed out here, after the highest one in use, so findings and their
    # evidence go in with one statement each.
    row = db.execute("SELECT coalesce(max(finding_id), 0) FROM findings").fetchone()
    next_id = int(row[0]) + 1
    findings: list[tuple[object, ...]] = []
    evidence: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    for record_id, found in by_record:
        for f in found:
            findings.append(
                (
                    next_id,
                    record_id,
                    f.rule_id,
                    f.technique,
                    f.severity.name.lower(),
                    f.grade,
                    f.message,
                    f.source,
                    f.score,
                )
            )
            evidence.extend(
                (next_id, i, e.field, e.value, e.note) for i, e in enumerate(f.evidence)
            )
            shown = jsonl.FindingLine.of(f.to_json())
            lines.append(
                (next_id, record_id, f.rule_id, shown.severity, f.score, shown.evidence, shown.text)
            )
            next_id += 1
        if len(evidence) >= INSERT_ROWS:  # the corpus stage writes every finding at once
            _insert_rows(db, findings, evidence, lines)
    _insert_rows(db, findings, evidence, lines)


def _insert_rows(
    db: sqlite3.Connection,
    findings: list[tuple[object, ...]],
    evidence: list[tuple[object, ...]],
    lines: list[tuple[object, ...]],
) -> None:
    """Insert gathered finding, evidence and finding line rows, and empty the lists. A
    finding id can be handed out again once the highest were deleted, hence the replace."""
    db.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?,?,?,?)", findings)
    db.executemany("INSERT INTO evidence VALUES (?,?,?,?,?)", evidence)
    db.executemany("INSERT OR REPLACE INTO finding_lines VALUES (?,?,?,?,?,?,?)", lines)
    for rows in (findings, evidence, lines):
        rows.clear()
