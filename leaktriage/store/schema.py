"""The store's schema: tables, indexes, how values are encoded in them, and the checks made
before a file is opened as a store. Every other store module builds on these names."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from leaktriage.errors import DamagedStoreError
from leaktriage.model import (
    Evidence,
    FieldValue,
    Finding,
    Severity,
    iso_utc,
)
from leaktriage.store.evidence import SCHEMA as _EVIDENCE_SCHEMA

DB_NAME = "triage.sqlite"


CORPUS_TABLES = ("corpus_members", "corpus_groups", "corpus_pairs", "corpus_scores")
"""Tables the corpus analysis owns; rewritten whole by every analysis."""


BATCH = 500
"""Records per write transaction."""


_SCHEMA = (
    """
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
  score REAL,
  sha1 TEXT
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
-- Each finding as files.jsonl shows it (report.jsonl.FindingLine), rendered when it is
-- stored, so that a line whose findings changed after the walk is put together, not
-- rendered again; a store written before this table has none (the export reads evidence).
CREATE TABLE IF NOT EXISTS finding_lines (
  finding_id INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  score REAL,
  evidence INTEGER NOT NULL,
  text TEXT NOT NULL
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
    + _EVIDENCE_SCHEMA
)


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


BUSY_TIMEOUT_MS = 60_000
"""How long a connection waits for the other one's write transaction to end."""


WAL_CHECKPOINT_PAGES = 16_384
"""Pages (64 MiB) the write-ahead log may hold before SQLite copies them into the store. At
SQLite's default of 1,000 the b-tree pages a scan touches all over (indexes of random record
ids) were copied again every 4 MiB: a tenth of a 5,000-file scan's time."""


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
