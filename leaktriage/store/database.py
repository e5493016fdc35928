"""The :class:`Store`: one scan's SQLite file, and every query the scan, the corpus stage,
the threads and the report make on it."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from leaktriage import __version__
from leaktriage.config import ScanConfig
from leaktriage.model import (
    SCHEMA_VERSION,
    FieldValue,
    FileRecord,
    Finding,
    iso_utc,
)
from leaktriage.store import evidence as _evidence
from leaktriage.store.corpus_results import replace_corpus
from leaktriage.store.evidence import EvidenceEntry, EvidenceFile
from leaktriage.store.records import load_records
from leaktriage.store.schema import (
    _FINDING_COLUMNS,
    _INDEX_NAMES,
    _INDEXES,
    _SCHEMA,
    BATCH,
    BUSY_TIMEOUT_MS,
    CORPUS_TABLES,
    DB_NAME,
    WAL_CHECKPOINT_PAGES,
    _check_header,
    _decode,
    _finding,
    _readonly_uri,
)
from leaktriage.store.writer import (
    _Batch,
    _batch_rows,
    _insert_batch,
    _insert_findings,
    _writer_connection,
    _WriterProcess,
)

log = logging.getLogger("leaktriage.store")


def _has_sha1(db: sqlite3.Connection) -> bool:
    """Whether the store's ``files`` table has the ``sha1`` column (stores made before it
    do not)."""
    return any(row[1] == "sha1" for row in db.execute("PRAGMA table_info(files)"))


class Store:
    """One scan's SQLite file."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        """Open (and create) the store at ``path``; with ``readonly``, open an existing one
        for reading only, beside the process that writes it (the report's own process)."""
        self.path = path
        self.readonly = readonly
        self._bulk = False
        self._sha1 = "sha1"
        """The ``files`` column read as a record's SHA-1 ("NULL" in a store made before it)."""
        _check_header(path)
        if readonly:
            self.db = sqlite3.connect(_readonly_uri(path), uri=True)
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"{path} has store schema {version}; this leaktriage reads {SCHEMA_VERSION}"
                )
            self._sha1 = "sha1" if _has_sha1(self.db) else "NULL"
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
        if version == SCHEMA_VERSION and not _has_sha1(self.db):
            # A store made before records had a SHA-1: the column is added, null for the
            # records already there (the re-use key changed with it, so a re-scan reads
            # every file again).
            self.db.execute("ALTER TABLE files ADD COLUMN sha1 TEXT")
        self.db.executescript(_SCHEMA + _INDEXES)
        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def open_existing(cls, out_dir: Path, readonly: bool = False) -> Store:
        """Open ``OUT/triage.sqlite`` written by an earlier scan (see ``readonly``)."""
        path = out_dir / DB_NAME if out_dir.is_dir() else out_dir
        if not path.is_file():
            raise FileNotFoundError(f"no leaktriage store at {path}")
        return cls(path, readonly)

    def checkpoint(self) -> None:
        """Copy the pages in the write-ahead log into the store file and empty the log.
        Every page read looks the page up in the log first: after the corpus stage, with up
        to ``WAL_CHECKPOINT_PAGES`` pages in it, that lookup made the exports' reads cost more
        the larger the dump."""
        if not self.readonly:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

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
                    "finding_lines",
                    "evidence_files",
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

    def evidence_files(self, record_id: str) -> list[EvidenceFile]:
        """The pictures and revision PDFs kept for one record (``report.pictures``), by
        name: each with its ``name``, ``kind``, ``caption``, ``mime``, ``width``/``height``
        (pixels, 0 for a PDF), ``sha256`` and ``data``. Empty for most records, and for every
        record of a store made before the table existed (opened read-only). The evidence
        folder ``OUT/evidence/<record_id>/`` holds the same files under the same names for
        flagged records; this is the contract the evidence pack command reads."""
        return _evidence.files_of(self.db, record_id)

    def evidence_entries(self, verdicts: Iterable[str]) -> list[EvidenceEntry]:
        """The kept files (without their bytes) of the records still in the dump whose
        verdict is one of ``verdicts``, by record id and name."""
        return list(_evidence.flagged_entries(self.db, verdicts))

    def evidence_data(self, record_id: str, name: str) -> bytes | None:
        """The bytes of one kept file of a record (None when there is none)."""
        return _evidence.data_of(self.db, record_id, name)

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
        return load_records(self.db, record_ids, self._sha1)

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
        """Replace every corpus finding and corpus table in one transaction (see
        :func:`leaktriage.store.corpus_results.replace_corpus`)."""
        replace_corpus(self, findings, groups, pairs, scores)

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
