"""The SQLite store (``OUT/triage.sqlite``) and the JSONL/CSV exports written from it.

Stdlib ``sqlite3``, no ORM. Facts are kept in long format (one row per record, field and
list position) so a new catalogue field needs no migration and "every file whose author is
X" is one indexed look-up. Views give one row per file for ``datasette OUT/triage.sqlite``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import pickle
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from leaktriage import __version__
from leaktriage.config import ScanConfig
from leaktriage.errors import DamagedStoreError, StoreError
from leaktriage.model import (
    SCHEMA_VERSION,
    Evidence,
    FieldValue,
    FileRecord,
    Finding,
    Issue,
    Severity,
    Status,
    iso_utc,
)
from leaktriage.outfile import atomic_bytes, atomic_text
from leaktriage.sandbox import spawn_helper

DB_NAME = "triage.sqlite"
CORPUS_TABLES = ("corpus_members", "corpus_groups", "corpus_pairs", "corpus_scores")
"""Tables the corpus analysis owns; rewritten whole by every analysis."""
BATCH = 500
"""Records per write transaction."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  run_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  tool_version TEXT NOT NULL,
  input_path TEXT NOT NULL,
  config_json TEXT NOT NULL,
  items INTEGER,
  counts_json TEXT
);
CREATE TABLE IF NOT EXISTS files (
  record_id TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  path TEXT NOT NULL,
  name TEXT NOT NULL,
  parent_id TEXT,
  depth INTEGER NOT NULL,
  size INTEGER,
  sha256 TEXT,
  md5 TEXT,
  mime TEXT NOT NULL,
  extension TEXT NOT NULL,
  extension_mismatch INTEGER NOT NULL,
  mtime TEXT,
  mtime_zone_known INTEGER NOT NULL,
  outer_mtime TEXT,
  status TEXT NOT NULL,
  extractor TEXT,
  verdict TEXT,
  score REAL
);
CREATE TABLE IF NOT EXISTS fields (
  record_id TEXT NOT NULL REFERENCES files(record_id),
  name TEXT NOT NULL,
  ord INTEGER NOT NULL,
  value TEXT,
  value_type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raw_fields (
  record_id TEXT NOT NULL REFERENCES files(record_id),
  key TEXT NOT NULL,
  value TEXT
);
CREATE TABLE IF NOT EXISTS issues (
  record_id TEXT NOT NULL REFERENCES files(record_id),
  ord INTEGER NOT NULL,
  stage TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
  finding_id INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES files(record_id),
  rule_id TEXT NOT NULL,
  technique TEXT NOT NULL,
  severity TEXT NOT NULL,
  grade TEXT NOT NULL,
  message TEXT NOT NULL,
  source TEXT NOT NULL,
  score REAL
);
CREATE TABLE IF NOT EXISTS evidence (
  finding_id INTEGER NOT NULL REFERENCES findings(finding_id),
  ord INTEGER NOT NULL,
  field TEXT NOT NULL,
  value TEXT,
  note TEXT
);
CREATE TABLE IF NOT EXISTS file_state (
  record_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  first_run INTEGER NOT NULL,
  last_run INTEGER NOT NULL,
  gone_run INTEGER
);
-- The records of files still in the dump: what the corpus stage, the threads and the report
-- read (records of removed files stay in files, marked gone, and are left out).
CREATE VIEW IF NOT EXISTS present_files AS
SELECT * FROM files
WHERE record_id NOT IN (SELECT record_id FROM file_state WHERE state = 'gone');
CREATE TABLE IF NOT EXISTS export_cache (
  record_id TEXT PRIMARY KEY,
  findings INTEGER NOT NULL,
  verdict TEXT,
  score REAL,
  jsonl BLOB NOT NULL,
  csv BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS run_keys (
  run_id INTEGER PRIMARY KEY REFERENCES runs(run_id),
  reuse_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_categories (
  rule_id TEXT PRIMARY KEY,
  category TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS files_view AS
SELECT f.record_id, f.path, f.status, f.mime, f.size, f.sha256,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.title') AS title,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.author') AS author,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.last_modified_by')
    AS last_modified_by,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.company') AS company,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.application')
    AS application,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.created') AS created,
  (SELECT value FROM fields WHERE record_id = f.record_id AND name = 'doc.modified') AS modified,
  (SELECT group_concat(value, ', ') FROM fields
     WHERE record_id = f.record_id AND name = 'meta.scripts') AS metadata_scripts,
  f.verdict, f.score, f.parent_id
FROM files f;
CREATE TABLE IF NOT EXISTS corpus_groups (
  group_id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,  -- 'copies' | 'fingerprint_cluster' | 'burst' | 'identifier'
  label TEXT NOT NULL,
  size INTEGER NOT NULL,
  summary_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS corpus_members (
  group_id INTEGER NOT NULL REFERENCES corpus_groups(group_id),
  record_id TEXT NOT NULL REFERENCES files(record_id),
  role TEXT NOT NULL,
  PRIMARY KEY (group_id, record_id)
);
CREATE INDEX IF NOT EXISTS corpus_members_record ON corpus_members(record_id);
CREATE TABLE IF NOT EXISTS corpus_pairs (
  record_a TEXT NOT NULL REFERENCES files(record_id),
  record_b TEXT NOT NULL REFERENCES files(record_id),
  similarity REAL NOT NULL,
  diff_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS corpus_scores (
  record_id TEXT PRIMARY KEY REFERENCES files(record_id),
  outlier_score REAL,
  rare_json TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS corpus_groups_view AS
SELECT g.group_id, g.kind, g.label, g.size, m.role, f.path, f.verdict, m.record_id
FROM corpus_groups g JOIN corpus_members m USING (group_id) JOIN files f USING (record_id);
CREATE VIEW IF NOT EXISTS corpus_pairs_view AS
SELECT p.similarity, a.path AS path_a, b.path AS path_b, p.diff_json, a.verdict AS verdict_a,
  b.verdict AS verdict_b, p.record_a, p.record_b
FROM corpus_pairs p JOIN files a ON a.record_id = p.record_a
  JOIN files b ON b.record_id = p.record_b;
CREATE VIEW IF NOT EXISTS corpus_scores_view AS
SELECT f.path, s.outlier_score, s.rare_json, f.verdict, s.record_id
FROM corpus_scores s JOIN files f USING (record_id);
CREATE VIEW IF NOT EXISTS findings_view AS
SELECT f.path, f.verdict, x.rule_id, x.severity, x.grade, x.technique, x.message,
  (SELECT group_concat(e.field || '=' || coalesce(e.value, ''), '; ') FROM
     (SELECT field, value FROM evidence WHERE finding_id = x.finding_id ORDER BY ord) e)
    AS evidence,
  x.source, f.record_id
FROM findings x JOIN files f USING (record_id);
CREATE VIEW IF NOT EXISTS issues_view AS
SELECT f.path, i.stage, i.code, i.message, f.status, f.record_id
FROM issues i JOIN files f USING (record_id);
"""

_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS fields_key ON fields(record_id, name, ord);
CREATE UNIQUE INDEX IF NOT EXISTS raw_fields_key ON raw_fields(record_id, key);
CREATE UNIQUE INDEX IF NOT EXISTS issues_key ON issues(record_id, ord);
CREATE UNIQUE INDEX IF NOT EXISTS evidence_key ON evidence(finding_id, ord);
CREATE INDEX IF NOT EXISTS files_path ON files(path, record_id);
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
CREATE INDEX IF NOT EXISTS files_parent ON files(parent_id);
CREATE INDEX IF NOT EXISTS fields_name_value ON fields(name, value);
CREATE INDEX IF NOT EXISTS issues_code ON issues(code);
CREATE INDEX IF NOT EXISTS findings_record ON findings(record_id);
"""
"""Indexes: dropped while a fresh store is bulk-loaded and built once at the end (one sort
instead of a B-tree insertion per row). The keys of the per-record tables are unique indexes
rather than primary keys for that reason: the writer makes them unique by construction."""

_INDEX_NAMES = (
    "fields_key",
    "raw_fields_key",
    "issues_key",
    "evidence_key",
    "files_path",
    "files_sha256",
    "files_parent",
    "fields_name_value",
    "issues_code",
    "findings_record",
)

STATES = ("new", "rescanned", "reused", "gone")
"""``scan_state`` of a record: extracted for the first time in the latest run; extracted
again (same id, the file was touched or hashes were verified); kept from an earlier run
(the file on disk has the same provenance, size and mtime); or no longer in the dump."""

CSV_COLUMNS = (
    "record_id",
    "path",
    "parent_id",
    "depth",
    "size",
    "sha256",
    "md5",
    "mime",
    "extension",
    "extension_mismatch",
    "status",
    "verdict",
    "score",
    "doc.title",
    "doc.author",
    "doc.last_modified_by",
    "doc.company",
    "doc.application",
    "doc.producer",
    "doc.created",
    "doc.modified",
    "meta.scripts",
    "issues",
)
"""Columns of ``files.csv``: the record's identity, then the facts journalists sort by."""


def _encode(value: FieldValue) -> list[tuple[str, str]]:
    """(text, type) rows for one field value; lists become one row per element."""
    if isinstance(value, bool):
        return [("true" if value else "false", "bool")]
    if isinstance(value, int):
        return [(str(value), "int")]
    if isinstance(value, float):
        return [(repr(value), "float")]
    if isinstance(value, datetime):
        return [(iso_utc(value), "datetime")]
    if isinstance(value, tuple):
        return [(str(v), "list") for v in value]
    return [(value, "str")]


def _decode(text: str, value_type: str) -> FieldValue:
    if value_type == "bool":
        return text == "true"
    if value_type == "int":
        return int(text)
    if value_type == "float":
        return float(text)
    if value_type == "datetime":
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return text


def _time(value: datetime | None) -> str | None:
    return iso_utc(value) if value else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class Store:
    """One scan's SQLite file."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        """Open (and create) the store at ``path``; with ``readonly``, open an existing one
        for reading only, beside the process that writes it (the report's own process)."""
        self.path = path
        self.readonly = readonly
        self._bulk = False
        _check_header(path)
        if readonly:
            self.db = sqlite3.connect(_readonly_uri(path), uri=True)
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"{path} has store schema {version}; this leaktriage reads {SCHEMA_VERSION}"
                )
            return
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(
                f"{path} has store schema {version}; this leaktriage writes {SCHEMA_VERSION}"
            )
        self.db.executescript(_SCHEMA + _INDEXES)
        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def open_existing(cls, out_dir: Path, readonly: bool = False) -> Store:
        """Open ``OUT/triage.sqlite`` written by an earlier scan (see ``readonly``)."""
        path = out_dir / DB_NAME if out_dir.is_dir() else out_dir
        if not path.is_file():
            raise FileNotFoundError(f"no leaktriage store at {path}")
        return cls(path, readonly)

    def close(self) -> None:
        """Close the connection. A store written to is left in rollback-journal mode, one
        file without ``-wal`` or ``-shm``, so that read-only media, ``sqlite3 -readonly`` and
        ``datasette`` open it as it is (the next scan turns the write-ahead log on again)."""
        if not self.readonly:
            try:
                if self.db.in_transaction:
                    self.db.rollback()  # what closing does with it anyway
                self.db.execute("PRAGMA busy_timeout=2000")
                self.db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.OperationalError as exc:  # another program has it open
                log.info("the store stays in write-ahead-log mode: %s", exc)
        self.db.close()

    def settled(self) -> bool:
        """True when every record is ``reused`` or ``gone``: a re-scan that then finds nothing
        new, changed or removed exports exactly the lines of the previous export."""
        row = self.db.execute(
            "SELECT count(*) FROM file_state WHERE state NOT IN ('reused', 'gone')"
        ).fetchone()
        (files,) = self.db.execute("SELECT count(*) FROM files").fetchone()
        (states,) = self.db.execute("SELECT count(*) FROM file_state").fetchone()
        return bool(row[0] == 0 and files == states)

    def start_run(
        self, config: ScanConfig, root: Path, started: datetime, keep: bool = False
    ) -> int:
        """Record a new run. Without ``keep`` the per-file tables are cleared (the store holds
        the latest scan); with ``keep`` earlier records stay for an incremental run."""
        with self.db:
            if keep:
                # Stores written before records had a state: every record counts as present.
                self.db.execute(
                    "INSERT OR IGNORE INTO file_state (record_id, state, first_run, last_run) "
                    "SELECT record_id, 'new', run_id, run_id FROM files"
                )
            else:
                for table in (
                    *CORPUS_TABLES,
                    "evidence",
                    "findings",
                    "issues",
                    "raw_fields",
                    "fields",
                    "files",
                    "file_state",
                    "export_cache",
                ):
                    self.db.execute(f"DELETE FROM {table}")
                for name in _INDEX_NAMES:
                    self.db.execute(f"DROP INDEX IF EXISTS {name}")
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, tool_version, input_path, config_json) "
                "VALUES (?, ?, ?, ?)",
                (
                    iso_utc(started),
                    __version__,
                    str(root),
                    json.dumps(config.to_json(), sort_keys=True),
                ),
            )
        self._bulk = not keep
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def set_reuse_key(self, run_id: int, key: str) -> None:
        """Remember what a run's records depend on (tool version, options, rules)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO run_keys VALUES (?, ?)", (run_id, key))

    def set_rule_categories(self, categories: dict[str, str]) -> None:
        """Remember the category of every rule the last run used (decoy, alteration...)."""
        with self.db:
            self.db.execute("DELETE FROM rule_categories")
            self.db.executemany(
                "INSERT INTO rule_categories VALUES (?, ?)", sorted(categories.items())
            )

    def rule_categories(self) -> dict[str, str]:
        """What :meth:`set_rule_categories` stored (empty when nothing was)."""
        return dict(self.db.execute("SELECT rule_id, category FROM rule_categories"))

    def reuse_key(self, run_id: int) -> str | None:
        """The key :meth:`set_reuse_key` stored for a finished run, or None."""
        row = self.db.execute(
            "SELECT k.reuse_key FROM run_keys k JOIN runs r USING (run_id) "
            "WHERE run_id = ? AND r.finished_at IS NOT NULL",
            (run_id,),
        ).fetchone()
        return str(row[0]) if row else None

    def previous_top(self, path: str) -> tuple[str, int | None, str | None, str | None] | None:
        """(record_id, size, mtime, sha256) of the file on disk at ``path`` as the store last
        saw it (records marked gone are not returned)."""
        row = self.db.execute(
            "SELECT f.record_id, f.size, f.mtime, f.sha256 FROM files f "
            "LEFT JOIN file_state s USING (record_id) "
            "WHERE f.path = ? AND f.depth = 0 AND coalesce(s.state, 'new') != 'gone' "
            "ORDER BY f.record_id LIMIT 1",
            (path,),
        ).fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None

    def keep_trees(
        self, run_id: int, top_ids: list[str]
    ) -> tuple[list[tuple[str, str, str | None, int, int | None]], list[str]]:
        """Mark the records of unchanged files, and everything inside them, as reused in
        ``run_id``. Returns their (status, mime, verdict, depth, size) rows and the rule ids
        of their findings, for the run's counts."""
        with self.db as db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (id TEXT PRIMARY KEY)")
            db.execute("DELETE FROM kept")
            db.execute(
                "INSERT OR IGNORE INTO kept WITH RECURSIVE tree(id) AS "
                "(SELECT value FROM json_each(?) UNION ALL "
                "SELECT f.record_id FROM files f JOIN tree ON f.parent_id = tree.id) "
                "SELECT id FROM tree",
                (json.dumps(top_ids),),
            )
            # CROSS JOIN keeps SQLite on the kept ids (a batch) instead of scanning files or
            # findings once per batch: the temporary table has no statistics to tell it.
            rows = db.execute(
                "SELECT status, mime, verdict, depth, size FROM kept CROSS JOIN files "
                "ON files.record_id = kept.id ORDER BY kept.id"
            ).fetchall()
            rules = [
                r[0]
                for r in db.execute(
                    # Rule hits only: the corpus stage and the thread checks run again
                    # over the whole store and count their own.
                    "SELECT rule_id FROM kept CROSS JOIN findings "
                    "ON findings.record_id = kept.id WHERE findings.source = 'rule'"
                )
            ]
            db.execute(
                "UPDATE file_state SET state = 'reused', last_run = ?, gone_run = NULL "
                "WHERE record_id IN (SELECT id FROM kept)",
                (run_id,),
            )
        return rows, rules

    def mark_gone(self, run_id: int) -> int:
        """Mark every record that ``run_id`` did not see as gone (kept, never deleted);
        returns how many were marked."""
        with self.db:
            cursor = self.db.execute(
                "UPDATE file_state SET state = 'gone', gone_run = ? "
                "WHERE last_run < ? AND state != 'gone'",
                (run_id, run_id),
            )
        return cursor.rowcount

    def finish_run(
        self, run_id: int, finished: datetime, counts: dict[str, int], items: int
    ) -> None:
        """Close a run with its counts."""
        with self.db:
            self.db.execute(
                "UPDATE runs SET finished_at = ?, items = ?, counts_json = ? WHERE run_id = ?",
                (iso_utc(finished), items, json.dumps(counts, sort_keys=True), run_id),
            )

    @contextmanager
    def writer(self, run_id: int, apart: bool = False) -> Iterator[Callable[[FileRecord], None]]:
        """A function that queues records, written in batches of ``BATCH`` per transaction.

        A second connection inserts them while the scan makes the next batch. By default it
        runs on a thread of this process, the rows prepared in the calling thread. With
        ``apart`` it runs in a process of its own, started at the first full batch, which
        also prepares the rows and builds the indexes after a bulk load: the calling thread
        then only pickles each batch, and the 450,000 row bindings of a 5,000-file dump no
        longer take turns with it for Python's lock. Leaving the block waits until every
        batch is in (and raises what the inserting side hit, if anything).
        """
        if apart:
            with self._writer_apart(run_id) as write_apart:
                yield write_apart
            return
        pending: list[FileRecord] = []
        batches: queue.Queue[_Batch | None] = queue.Queue(maxsize=2)
        failures: list[BaseException] = []
        bulk = self._bulk

        def insert() -> None:
            try:
                with contextlib.closing(_writer_connection(self.path)) as db:
                    while (batch := batches.get()) is not None:
                        _insert_batch(db, batch, replace=not bulk)
            except Exception as exc:  # noqa: BLE001 - re-raised in the scanning thread
                failures.append(exc)
                while batches.get() is not None:  # keep taking batches: the scan must not block
                    pass

        thread = threading.Thread(target=insert, name="leaktriage-store-writer", daemon=True)
        thread.start()

        def send(batch: _Batch | None) -> None:
            if failures and batch is not None:
                raise failures[0]
            batches.put(batch)

        def write(record: FileRecord) -> None:
            pending.append(record)
            if len(pending) >= BATCH:
                send(_batch_rows(run_id, pending))
                pending.clear()

        try:
            yield write
            if pending:
                send(_batch_rows(run_id, pending))
        finally:
            batches.put(None)
            thread.join()
        if failures:
            raise failures[0]
        if self._bulk:
            self.db.executescript(_INDEXES)
            self._bulk = False

    @contextmanager
    def _writer_apart(self, run_id: int) -> Iterator[Callable[[FileRecord], None]]:
        """:meth:`writer` with the rows made and inserted by a spawned process, started at
        the first full batch: fewer records than ``BATCH`` (a re-scan that found little or
        nothing new) are written here, without paying for a process, and so is everything
        on a system that will not start one."""
        pending: list[FileRecord] = []
        apart: _WriterProcess | None = None
        here = False

        def insert_here() -> None:
            with self.db:
                _insert_batch(self.db, _batch_rows(run_id, pending), replace=not self._bulk)

        def write(record: FileRecord) -> None:
            nonlocal apart, here
            pending.append(record)
            if len(pending) < BATCH:
                return
            if apart is None and not here:
                try:
                    apart = _WriterProcess(self.path, run_id, self._bulk)
                except OSError as exc:
                    log.warning("could not start the store's writer process (%s)", exc)
                    here = True
            if apart is None:
                insert_here()
            else:
                apart.send(pending)
            pending.clear()

        try:
            yield write
            if apart is None:
                insert_here()
                if self._bulk:
                    self.db.executescript(_INDEXES)
            elif pending:
                apart.send(pending)
        except BaseException:
            if apart is not None:
                apart.finish(raise_failure=False)  # what stopped the scan is what it raises
            raise
        if apart is not None:
            apart.finish()
        self._bulk = False  # the indexes are built after a bulk load, here or in the process

    def add_findings(self, by_record: Iterable[tuple[str, Iterable[Finding]]]) -> None:
        """Insert findings with their evidence, ``(record_id, findings)`` at a time (inside
        the caller's transaction); the corpus stage and the thread checks add theirs so."""
        _insert_findings(self.db, by_record)

    # --- reading -----------------------------------------------------------------------------

    def record_ids(self, include_gone: bool = False) -> list[str]:
        """Every record id, in output order (provenance path, then id); records of files no
        longer in the dump only with ``include_gone``."""
        where = "" if include_gone else " WHERE coalesce(s.state, 'new') != 'gone'"
        return [
            row[0]
            for row in self.db.execute(
                "SELECT f.record_id FROM files f LEFT JOIN file_state s USING (record_id)"
                f"{where} ORDER BY f.path, f.record_id"
            )
        ]

    def find(self, key: str) -> FileRecord | None:
        """A record by id, id prefix (8+ characters) or provenance path (escaped as stored, or
        with the names' own ``!`` and ``%`` as they are)."""
        row = self.db.execute(
            "SELECT record_id FROM files WHERE record_id = ? OR path = ? "
            "ORDER BY record_id LIMIT 1",
            (key, key),
        ).fetchone()
        if row is None and len(key) >= 8:
            row = self.db.execute(
                "SELECT record_id FROM files WHERE record_id LIKE ? ORDER BY record_id LIMIT 1",
                (key + "%",),
            ).fetchone()
        if row is None and "!" in key:
            # The path as a person types it, with a name's own '!' or '%' unescaped (see
            # walk.ESCAPE); an exact path, matched above, always wins.
            row = self.db.execute(
                "SELECT record_id FROM files WHERE "
                "replace(replace(path, '%21', '!'), '%25', '%') = ? ORDER BY path LIMIT 1",
                (key,),
            ).fetchone()
        return self.load(row[0]) if row else None

    def load(self, record_id: str) -> FileRecord:
        """Rebuild one FileRecord from the tables."""
        found = self.load_many([record_id])
        if not found:
            raise KeyError(record_id)
        return found[0]

    def load_many(self, record_ids: list[str]) -> list[FileRecord]:
        """Rebuild FileRecords, in the order given, with one query per table."""
        db = self.db
        marks = ",".join("?" * len(record_ids))
        rows = {
            row[0]: row
            for row in db.execute(
                "SELECT record_id, path, name, parent_id, depth, size, sha256, md5, mime, "
                "extension, extension_mismatch, mtime, mtime_zone_known, outer_mtime, status, "
                f"extractor, verdict, score FROM files WHERE record_id IN ({marks})",
                record_ids,
            )
        }
        fields: dict[str, dict[str, FieldValue]] = {rid: {} for rid in rows}
        lists: dict[str, dict[str, list[str]]] = {rid: {} for rid in rows}
        for rid, name, text, kind in db.execute(
            f"SELECT record_id, name, value, value_type FROM fields WHERE record_id IN ({marks}) "
            "ORDER BY record_id, name, ord",
            record_ids,
        ):
            if kind == "list":
                lists[rid].setdefault(name, []).append(text)
            else:
                fields[rid][name] = _decode(text, kind)
        raw: dict[str, dict[str, str]] = {rid: {} for rid in rows}
        for rid, key, value in db.execute(
            f"SELECT record_id, key, value FROM raw_fields WHERE record_id IN ({marks}) "
            "ORDER BY record_id, key",
            record_ids,
        ):
            raw[rid][key] = value
        issues: dict[str, list[Issue]] = {rid: [] for rid in rows}
        for rid, stage, code, message in db.execute(
            f"SELECT record_id, stage, code, message FROM issues WHERE record_id IN ({marks}) "
            "ORDER BY record_id, ord",
            record_ids,
        ):
            issues[rid].append(Issue(stage, code, message))
        findings: dict[str, list[Finding]] = {rid: [] for rid in rows}
        evidence: dict[int, list[Evidence]] = {}
        for fid, field_name, value, note in db.execute(
            "SELECT e.finding_id, e.field, e.value, e.note FROM evidence e JOIN findings f "
            f"USING (finding_id) WHERE f.record_id IN ({marks}) ORDER BY e.finding_id, e.ord",
            record_ids,
        ):
            evidence.setdefault(fid, []).append(Evidence(field_name, value, note or ""))
        for row in db.execute(
            f"SELECT {_FINDING_COLUMNS} FROM findings WHERE record_id IN ({marks}) "
            "ORDER BY finding_id",
            record_ids,
        ):
            findings[row[1]].append(_finding(row, tuple(evidence.get(row[0], ()))))
        records = []
        for rid in record_ids:
            row = rows.get(rid)
            if row is None:
                continue
            facts = fields[rid]
            facts.update({k: tuple(v) for k, v in lists[rid].items()})
            records.append(
                FileRecord(
                    record_id=row[0],
                    path=row[1],
                    name=row[2],
                    parent_id=row[3],
                    depth=row[4],
                    size=row[5],
                    sha256=row[6],
                    md5=row[7],
                    mime=row[8],
                    extension=row[9],
                    extension_mismatch=bool(row[10]),
                    mtime=_parse_time(row[11]),
                    mtime_zone_known=bool(row[12]),
                    outer_mtime=_parse_time(row[13]),
                    status=Status(row[14]),
                    extractor=row[15],
                    fields=facts,
                    raw=raw[rid],
                    issues=tuple(issues[rid]),
                    findings=tuple(findings[rid]),
                    verdict=row[16],
                    score=row[17],
                )
            )
        return records

    def iter_records(self, include_gone: bool = False) -> Iterator[FileRecord]:
        """Every record of the dump as it now is, in output order, loaded a few hundred at a
        time (records of removed files too with ``include_gone``)."""
        ids = self.record_ids(include_gone)
        for start in range(0, len(ids), BATCH):
            yield from self.load_many(ids[start : start + BATCH])

    def findings_by_rules(self, rule_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(path, rule_id, message)`` of every finding made by one of ``rule_ids``, by path."""
        wanted = sorted(set(rule_ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            "SELECT f.path, fi.rule_id, fi.message FROM findings fi JOIN files f USING (record_id)"
            f" WHERE fi.rule_id IN ({marks}) ORDER BY f.path, fi.rule_id",
            wanted,
        ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    # --- corpus analysis --------------------------------------------------------------------

    def file_rows(self) -> Iterator[tuple[str, str, str | None, str | None, str, str]]:
        """(record_id, path, parent_id, sha256, mime, status) of every record, by record id."""
        yield from self.db.execute(
            "SELECT record_id, path, parent_id, sha256, mime, status FROM present_files "
            "ORDER BY record_id"
        )

    def field_rows(self, names: tuple[str, ...]) -> Iterator[tuple[str, str, FieldValue]]:
        """(record_id, name, value) of the named facts, by record id, name and list position;
        list elements come one row each."""
        marks = ",".join("?" * len(names))
        for rid, name, text, kind in self.db.execute(
            f"SELECT record_id, name, value, value_type FROM fields WHERE name IN ({marks}) "
            "ORDER BY record_id, name, ord",
            names,
        ):
            yield rid, name, text if kind == "list" else _decode(text, kind)

    def texts(self, record_ids: list[str] | None = None) -> Iterator[tuple[str, str]]:
        """(record_id, text.sample) by record id: all of them, streamed, or those asked for."""
        if record_ids is None:
            yield from self.db.execute(
                "SELECT record_id, value FROM fields WHERE name = 'text.sample' "
                "AND record_id IN (SELECT record_id FROM present_files) ORDER BY record_id"
            )
            return
        for start in range(0, len(record_ids), BATCH):
            chunk = record_ids[start : start + BATCH]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(
                "SELECT record_id, value FROM fields WHERE name = 'text.sample' "
                f"AND record_id IN ({marks}) ORDER BY record_id",
                chunk,
            )

    def findings_by_record(self, record_ids: list[str]) -> dict[str, list[Finding]]:
        """Every stored finding (rules and corpus, without evidence) of the given records."""
        found: dict[str, list[Finding]] = {rid: [] for rid in record_ids}
        for start in range(0, len(record_ids), BATCH):
            chunk = record_ids[start : start + BATCH]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT {_FINDING_COLUMNS} FROM findings WHERE record_id IN ({marks}) "
                "ORDER BY finding_id",
                chunk,
            ):
                found[row[1]].append(_finding(row))
        return found

    def hits_of(self, rule_ids: Iterable[str]) -> list[str]:
        """One rule id per record that a stored finding of one of ``rule_ids`` is on, as the
        scan counts its hits (records marked gone left out)."""
        wanted = sorted(set(rule_ids))
        marks = ",".join("?" * len(wanted))
        return [
            row[1]
            for row in self.db.execute(
                f"SELECT DISTINCT record_id, rule_id FROM findings WHERE rule_id IN ({marks}) "
                "AND record_id IN (SELECT record_id FROM present_files) ORDER BY 1, 2",
                wanted,
            )
        ]

    def corpus_record_ids(self) -> list[str]:
        """Records that carry corpus findings now."""
        return [
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT record_id FROM findings WHERE source = 'corpus' ORDER BY record_id"
            )
        ]

    def replace_corpus(
        self,
        findings: list[Finding],
        groups: list[tuple[str, str, list[tuple[str, str]], dict[str, Any]]],
        pairs: list[tuple[str, str, float, list[dict[str, str]]]],
        scores: list[tuple[str, float | None, list[dict[str, Any]]]],
    ) -> None:
        """Replace every corpus finding and corpus table in one transaction (re-running the
        analysis never duplicates). ``groups`` are (kind, label, [(record_id, role)], summary),
        numbered from 1 in the order given."""
        with self.db as db:
            db.execute(
                "DELETE FROM evidence WHERE finding_id IN "
                "(SELECT finding_id FROM findings WHERE source = 'corpus')"
            )
            db.execute("DELETE FROM findings WHERE source = 'corpus'")
            for table in CORPUS_TABLES:
                db.execute(f"DELETE FROM {table}")
            for group_id, (kind, label, members, summary) in enumerate(groups, 1):
                db.execute(
                    "INSERT INTO corpus_groups VALUES (?,?,?,?,?)",
                    (group_id, kind, label, len(members), _dumps(summary)),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO corpus_members VALUES (?,?,?)",
                    [(group_id, rid, role) for rid, role in members],
                )
            db.executemany(
                "INSERT INTO corpus_pairs VALUES (?,?,?,?)",
                [(a, b, sim, _dumps(diff)) for a, b, sim, diff in pairs],
            )
            db.executemany(
                "INSERT INTO corpus_scores VALUES (?,?,?)",
                [(rid, score, _dumps(rare)) for rid, score, rare in scores],
            )
            by_record: dict[str, list[Finding]] = {}
            for f in findings:
                by_record.setdefault(f.record_id, []).append(f)
            self.add_findings((rid, by_record[rid]) for rid in sorted(by_record))

    def verdicts(self) -> Iterator[tuple[str, str, str | None]]:
        """(record_id, path, verdict) of every record, by path."""
        yield from self.db.execute(
            "SELECT record_id, path, verdict FROM present_files ORDER BY path, record_id"
        )

    def rule_hits(self) -> Iterator[tuple[str, str]]:
        """(record_id, rule_id) of every stored finding, rules and corpus."""
        yield from self.db.execute("SELECT record_id, rule_id FROM findings ORDER BY finding_id")

    def corpus_pairs(self) -> list[tuple[str, str, float, list[dict[str, str]]]]:
        """Altered-copy pairs as (earlier path, later path, similarity, differing passages)."""
        return [
            (a, b, sim, json.loads(diff))
            for a, b, sim, diff in self.db.execute(
                "SELECT path_a, path_b, similarity, diff_json FROM corpus_pairs_view "
                "ORDER BY path_a, path_b"
            )
        ]

    def messages_of(self, rule_id: str) -> list[tuple[str, str]]:
        """(path, message) of every finding of one rule, by path."""
        return list(
            self.db.execute(
                "SELECT f.path, x.message FROM findings x JOIN files f USING (record_id) "
                "WHERE x.rule_id = ? ORDER BY f.path, x.finding_id",
                (rule_id,),
            )
        )

    def verdict_counts(self) -> dict[str, int]:
        """Records per verdict."""
        return dict(
            self.db.execute(
                "SELECT verdict, count(*) FROM present_files WHERE verdict IS NOT NULL "
                "GROUP BY verdict ORDER BY verdict"
            ).fetchall()
        )

    def set_verdicts(self, verdicts: list[tuple[str, str, float]]) -> None:
        """Store recomputed (record_id, verdict, score)."""
        with self.db as db:
            db.executemany(
                "UPDATE files SET verdict = ?, score = ? WHERE record_id = ?",
                [(label, score, rid) for rid, label, score in verdicts],
            )

    def last_run(self) -> dict[str, Any] | None:
        """The newest run's row as a dict."""
        cursor = self.db.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))


BUSY_TIMEOUT_MS = 60_000
"""How long a connection waits for the other one's write transaction to end."""
WAL_CHECKPOINT_PAGES = 16_384
"""Pages (64 MiB) the write-ahead log may hold before SQLite copies them into the store. At
SQLite's default of 1,000 the b-tree pages a scan touches all over (indexes of random record
ids) were copied again every 4 MiB: a tenth of a 5,000-file scan's time."""

_ExportRow = tuple[str, int, str | None, float | None, bytes, bytes]
"""A row of ``export_cache`` (see :func:`_cache_row`)."""

_Batch = tuple[
    list[tuple[str]],
    list[tuple[object, ...]],
    list[tuple[str, str, int, str, str]],
    list[tuple[str, str, str]],
    list[tuple[str, int, str, str, str]],
    list[tuple[str, int, int]],
    list[_ExportRow],
    list[tuple[str, tuple[Finding, ...]]],
]
"""The rows of one batch of records, table by table (ids, files, fields, raw fields,
issues, states, export lines, findings)."""


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
    ids, files, fields, raw, issues, states, cache, findings = batch
    with db:
        if replace:
            db.executemany(
                "DELETE FROM evidence WHERE finding_id IN "
                "(SELECT finding_id FROM findings WHERE record_id = ?)",
                ids,
            )
            for table in ("findings", "fields", "raw_fields", "issues"):
                db.executemany(f"DELETE FROM {table} WHERE record_id = ?", ids)
        db.executemany(
            "INSERT INTO file_state VALUES (?, 'new', ?, ?, NULL) ON CONFLICT (record_id) "
            "DO UPDATE SET state = 'rescanned', last_run = excluded.last_run, gone_run = NULL",
            states,
        )
        db.executemany("INSERT OR REPLACE INTO export_cache VALUES (?,?,?,?,?,?)", cache)
        db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", files
        )
        db.executemany("INSERT INTO fields VALUES (?,?,?,?,?)", fields)
        db.executemany("INSERT INTO raw_fields VALUES (?,?,?)", raw)
        db.executemany("INSERT INTO issues VALUES (?,?,?,?,?)", issues)
        _insert_findings(db, findings)


def _insert_findings(
    db: sqlite3.Connection, by_record: Iterable[tuple[str, Iterable[Finding]]]
) -> None:
    """Insert findings and their evidence (inside the caller's transaction)."""
    # Ids are handed out here, after the highest one in use, so findings and their
    # evidence go in with one statement each.
    row = db.execute("SELECT coalesce(max(finding_id), 0) FROM findings").fetchone()
    next_id = int(row[0]) + 1
    findings: list[tuple[object, ...]] = []
    evidence: list[tuple[object, ...]] = []
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
            next_id += 1
    db.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?,?,?,?)", findings)
    db.executemany("INSERT INTO evidence VALUES (?,?,?,?,?)", evidence)


_FINDING_COLUMNS = (
    "finding_id, record_id, rule_id, technique, severity, grade, message, source, score"
)


def _finding(row: tuple[Any, ...], evidence: tuple[Evidence, ...] = ()) -> Finding:
    """A stored finding from a row of ``_FINDING_COLUMNS``."""
    _fid, rid, rule_id, technique, severity, grade, message, source, score = row
    return Finding(
        rid, rule_id, technique, Severity[severity.upper()], grade, message, evidence, source, score
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def export_dkim_keys(store: Store, path: Path) -> Path | None:
    """Write every DKIM key the scan used to ``path`` (one ``name record`` line each, the
    ``--dkim-keys`` format) so the verification can be repeated; None when none was used."""
    rows = store.db.execute(
        "SELECT DISTINCT substr(key, 10), value FROM raw_fields "
        "WHERE key LIKE 'dkim\\_key:%' ESCAPE '\\' ORDER BY 1, 2"
    ).fetchall()
    if not rows:
        path.unlink(missing_ok=True)  # never leave an earlier run's keys beside this one
        return None
    with atomic_text(path) as handle:
        handle.write("".join(f"{name} {record}\n" for name, record in rows))
    return path


def export_jsonl(store: Store, path: Path) -> int:
    """Write ``files.jsonl`` alone; see :func:`export_files` for both outputs in one pass."""
    return export_files(store, path, None)


def export_csv(store: Store, path: Path) -> int:
    """Write ``files.csv`` alone; see :func:`export_files` for both outputs in one pass."""
    return export_files(store, None, path)


def export_files(
    store: Store,
    jsonl: Path | None,
    csv_path: Path | None,
    digests: dict[str, str] | None = None,
) -> int:
    """Write ``files.jsonl`` (one JSON object per record, sorted by path) and ``files.csv``
    (the columns in ``CSV_COLUMNS``) in one pass over the store; returns the record count.

    Every record ends with its ``scan_state`` (see ``STATES``); records of removed files stay,
    as ``gone``. Lines are rendered once, when a record is written, and re-rendered here
    only when its findings, verdict or score changed since (as corpus steps do). With
    ``digests``, the sha256 of each file written is put there under its name (for the
    manifest, without reading the files again).
    """
    count = 0
    with contextlib.ExitStack() as stack:
        out_json = stack.enter_context(_HashedFile(jsonl)) if jsonl else None
        out_csv = stack.enter_context(_HashedFile(csv_path)) if csv_path else None
        if out_csv is not None:
            header = io.StringIO()
            csv.writer(header).writerow((*CSV_COLUMNS, "scan_state"))
            out_csv.write(header.getvalue())
        rows = store.db.execute(
            f"SELECT f.record_id, {_CACHED_LINES}, c.findings, c.verdict, c.score, f.verdict, "
            "f.score, (SELECT count(*) FROM findings WHERE record_id = f.record_id), "
            "coalesce(s.state, 'new') FROM files f "
            "LEFT JOIN export_cache c USING (record_id) LEFT JOIN file_state s USING (record_id) "
            "ORDER BY f.path, f.record_id"
        )
        for window in _export_windows(store, rows):
            if out_json is not None:
                out_json.write_bytes(
                    b"".join(
                        b'%s, "scan_state": "%s"}\n' % (line[:-1], state)
                        for line, _, state in window
                    )
                )
            if out_csv is not None:
                out_csv.write_bytes(
                    b"".join(b"%s,%s\r\n" % (row, state) for _, row, state in window)
                )
            count += len(window)
    if digests is not None:
        for written in (out_json, out_csv):
            if written is not None:
                digests[written.path.name] = written.digest.hexdigest()
    return count


class _HashedFile:
    """A UTF-8 text file written in large pieces, hashed (sha256) as it is written, and
    renamed into place only when complete (``outfile``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self._handle: IO[bytes] | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _HashedFile:
        self._handle = self._stack.enter_context(atomic_bytes(self.path))
        return self

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        self.digest.update(data)
        assert self._handle is not None
        self._handle.write(data)

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)


def _cache_row(record: FileRecord) -> _ExportRow:
    """(record_id, findings, verdict, score, JSON line, CSV row) for ``export_cache``; the
    line and the row in UTF-8, as the exports hold them (copied out without re-encoding)."""
    data = record.to_json()
    line = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return (
        record.record_id,
        len(record.findings),
        record.verdict,
        record.score,
        line.encode("utf-8"),
        _csv_line(_csv_row(record, data)).encode("utf-8"),
    )


def _csv_line(cells: list[str]) -> str:
    """One RFC 4180 row without its line ending (the export adds ``scan_state`` and CRLF).

    The writer must be told the real line ending: it quotes a cell only for the characters
    of its ``lineterminator``, so with ``""`` a title holding a line break went out
    unquoted and split the row in two."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2]


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a leaked file's title "=HYPERLINK(...)" must stay text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _csv_row(record: FileRecord, data: dict[str, Any]) -> list[str]:
    row: list[str] = []
    for column in CSV_COLUMNS:
        if column == "issues":
            value: object = "; ".join(f"{i.code}: {i.message}" for i in record.issues)
        elif "." in column:
            value = data["fields"].get(column)
            if isinstance(value, list):
                value = ", ".join(value)
        else:
            value = data[column]
        row.append(_csv_cell(value))
    return row


def refresh_export_cache(store: Store) -> int:
    """Re-render the cached export lines of the records whose findings, verdict or score
    changed since they were written (the corpus steps and thread checks add findings after
    the walk), so that this run's exports and a re-scan's copy them as they are. Returns how
    many were refreshed. ``leaktriage export`` never writes; the scan, which owns the store,
    does."""
    refreshed = 0
    last = ""
    while True:
        stale = store.db.execute(
            f"SELECT f.record_id, {_CACHED_LINES}, f.verdict, f.score, "
            "(SELECT count(*) FROM findings WHERE record_id = f.record_id) AS n "
            "FROM files f LEFT JOIN export_cache c USING (record_id) WHERE f.record_id > ? "
            "AND (c.record_id IS NULL OR c.findings != n OR c.verdict IS NOT f.verdict "
            "OR c.score IS NOT f.score) ORDER BY f.record_id LIMIT ?",
            (last, BATCH),
        ).fetchall()
        if not stale:
            return refreshed
        last = stale[-1][0]
        lines = _current_lines(store, [(r[0], r[1], r[2], r[3], r[4], True) for r in stale])
        rows = [
            (rid, n, verdict, score, line, row)
            for (rid, _, _, verdict, score, n), (line, row) in zip(stale, lines, strict=True)
        ]
        with store.db:
            store.db.executemany("INSERT OR REPLACE INTO export_cache VALUES (?,?,?,?,?,?)", rows)
        refreshed += len(rows)


_CACHED_LINES = "CAST(c.jsonl AS BLOB), CAST(c.csv AS BLOB)"
"""The cached line and row, as UTF-8 bytes whatever their storage class."""

_Cached = tuple[str, bytes | None, bytes | None, Any, Any, bool]


def _export_windows(
    store: Store, rows: Iterable[tuple[Any, ...]]
) -> Iterator[list[tuple[bytes, bytes, bytes]]]:
    """``(JSON line, CSV row, scan state)`` of the rows of :func:`export_files`'s query, in
    UTF-8, ``BATCH`` records at a time in the query's order (see :func:`_current_lines`)."""
    pending: list[_Cached] = []
    states: list[bytes] = []

    def flush() -> list[tuple[bytes, bytes, bytes]]:
        out = [
            (line, row, state)
            for (line, row), state in zip(_current_lines(store, pending), states, strict=True)
        ]
        pending.clear()
        states.clear()
        return out

    for rid, line, row, n_cached, v_cached, s_cached, verdict, score, n, state in rows:
        stale = (n_cached, v_cached, s_cached) != (n, verdict, score)
        pending.append((rid, line, row, verdict, score, stale))
        states.append(state.encode("ascii"))
        if len(pending) >= BATCH:
            yield flush()
    if pending:
        yield flush()


def _current_lines(store: Store, batch: list[_Cached]) -> list[tuple[bytes, bytes]]:
    """``(JSON line, CSV row)`` of each ``(record_id, cached line, cached row, verdict, score,
    stale)`` as the store now holds the record. Cached lines are used as they are; a stale one
    (its findings, verdict or score changed since, as corpus steps do) gets those three
    patched in, from one query for the batch; a record without a cached line is loaded and
    rendered whole."""
    changed = [rid for rid, line, row, _, _, stale in batch if stale and line is not None]
    missing = [rid for rid, line, row, _, _, _ in batch if line is None or row is None]
    found = _findings_json(store, changed) if changed else {}
    whole = {r.record_id: _cache_row(r) for r in store.load_many(missing)} if missing else {}
    out: list[tuple[bytes, bytes]] = []
    for rid, line, row, verdict, score, stale in batch:
        if line is None or row is None:
            _, _, _, _, line, row = whole[rid]
        elif stale:
            line, row = _patched(line, row, verdict, score, found.get(rid, []))
        out.append((line, row))
    return out


_VERDICT_CELL = CSV_COLUMNS.index("verdict")
_SCORE_CELL = CSV_COLUMNS.index("score")


def _patched(
    line: bytes, row: bytes, verdict: str | None, score: float | None, findings: list[Any]
) -> tuple[bytes, bytes]:
    """A cached JSON line and CSV row with the record's current findings, verdict and score:
    the bytes :func:`_cache_row` gives for the record as the store now holds it."""
    data = json.loads(line)
    data["verdict"] = verdict
    data["score"] = score
    data["findings"] = findings
    cells = next(csv.reader(io.StringIO(row.decode("utf-8"), newline="")))
    cells[_VERDICT_CELL] = _csv_cell(verdict)
    cells[_SCORE_CELL] = _csv_cell(score)
    line = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return line, _csv_line(cells).encode("utf-8")


def _findings_json(store: Store, record_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The findings of ``record_ids`` in their ``files.jsonl`` form (``Finding.to_json`` of
    the stored finding), in finding id order."""
    marks = ",".join("?" * len(record_ids))
    evidence: dict[int, list[Evidence]] = {}
    for fid, field_name, value, note in store.db.execute(
        "SELECT e.finding_id, e.field, e.value, e.note FROM evidence e JOIN findings f "
        f"USING (finding_id) WHERE f.record_id IN ({marks}) ORDER BY e.finding_id, e.ord",
        record_ids,
    ):
        evidence.setdefault(fid, []).append(Evidence(field_name, value, note or ""))
    found: dict[str, list[dict[str, Any]]] = {}
    for row in store.db.execute(
        f"SELECT {_FINDING_COLUMNS} FROM findings WHERE record_id IN ({marks}) ORDER BY finding_id",
        record_ids,
    ):
        finding = _finding(row, tuple(evidence.get(row[0], ())))
        found.setdefault(finding.record_id, []).append(finding.to_json())
    return found


def _check_header(path: Path) -> None:
    """Raise DamagedStoreError when ``path`` is not an SQLite database, or is shorter than
    its header says (truncated). Checked before SQLite opens it, so that a damaged store is
    left exactly as it was, without a ``-wal`` or ``-shm`` beside it; damage further in is
    SQLite's to find."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return  # a store never written to
    with path.open("rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise DamagedStoreError(path, "not an SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    expected = int.from_bytes(header[28:32], "big") * page_size
    # The page count is valid when the change counter matches "version-valid-for"; a
    # write-ahead log not yet copied in may still hold pages past the end of the file.
    wal = path.with_name(path.name + "-wal")
    counted = header[24:28] == header[92:96] and not (wal.exists() and wal.stat().st_size)
    if counted and size < expected:
        raise DamagedStoreError(path, f"truncated: {size} bytes where its header says {expected}")


def _readonly_uri(path: Path) -> str:
    """The URI that opens ``path`` for reading only; on read-only media (a folder that cannot
    be written) it is opened as immutable, since SQLite cannot make the files it would
    otherwise want there, unless a write-ahead log beside it holds pages of its own."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    wal = path.with_name(path.name + "-wal")
    if not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size):
        uri += "&immutable=1"
    return uri
