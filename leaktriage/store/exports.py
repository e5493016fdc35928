"""``files.jsonl`` and ``files.csv`` from the store: each record's line and row rendered once
when it is written (the export cache), re-rendered only where corpus steps changed it, and
written through ``outfile`` so a cut export never replaces a complete one."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leaktriage.model import FileRecord
from leaktriage.outfile import atomic_bytes, atomic_text
from leaktriage.report import csv as csv_format
from leaktriage.report import jsonl
from leaktriage.store.schema import (
    _FINDING_COLUMNS,
    BATCH,
)

CSV_COLUMNS = csv_format.COLUMNS
"""Columns of ``files.csv`` (owned by ``report.csv``)."""

if TYPE_CHECKING:
    from leaktriage.store.database import Store


_ExportRow = tuple[str, int, str | None, float | None, bytes, bytes]
"""A row of ``export_cache`` (see :func:`_cache_row`)."""

CACHE_INSERT = (
    "INSERT OR REPLACE INTO export_cache (rowid, record_id, findings, verdict, score, jsonl, csv) "
    "VALUES ((SELECT rowid FROM files WHERE record_id = ?1), ?1, ?2, ?3, ?4, ?5, ?6)"
)
"""How a cached line is stored: under the rowid of its record's ``files`` row (written
first), so that the export, which reads ``files`` in path order, finds it by that integer
key, in nearly the order it was written, instead of through the record-id index in hash
order (at 100,000 items 10.7 against 6.5 us per line)."""


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
            out_csv.write_bytes(csv_format.header())
        rows = store.db.execute(
            f"SELECT f.record_id, {_CACHED_LINES}, c.findings, c.verdict, c.score, f.verdict, "
            "f.score, (SELECT count(*) FROM findings WHERE record_id = f.record_id), "
            "coalesce(s.state, 'new') FROM files f "
            "LEFT JOIN export_cache c ON c.rowid = f.rowid AND c.record_id = f.record_id "
            "LEFT JOIN file_state s USING (record_id) ORDER BY f.path, f.record_id"
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


def record_line(store: Store, record_id: str) -> bytes | None:
    """The line ``files.jsonl`` holds for one record, exactly as :func:`export_files` writes
    it (cached line, findings patched in where they changed, ``scan_state``, newline); None
    when there is no such record. ``leaktriage evidence`` puts it in a pack."""
    rows = store.db.execute(
        f"SELECT f.record_id, {_CACHED_LINES}, c.findings, c.verdict, c.score, f.verdict, "
        "f.score, (SELECT count(*) FROM findings WHERE record_id = f.record_id), "
        "coalesce(s.state, 'new') FROM files f "
        "LEFT JOIN export_cache c ON c.rowid = f.rowid AND c.record_id = f.record_id "
        "LEFT JOIN file_state s USING (record_id) WHERE f.record_id = ?",
        (record_id,),
    )
    for window in _export_windows(store, rows):
        for line, _, state in window:
            return b'%s, "scan_state": "%s"}\n' % (line[:-1], state)
    return None


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
    """(record_id, findings, verdict, score, JSON line, CSV row) for ``export_cache``, each
    rendered by its format's own module (``report.jsonl``, ``report.csv``) in UTF-8, as the
    exports hold them (copied out without re-encoding): the cache is the writer's hook, the
    formats stay theirs."""
    data = record.to_json()
    return (
        record.record_id,
        len(record.findings),
        record.verdict,
        record.score,
        jsonl.line(record),
        csv_format.row(record, data),
    )


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
        lines = _current_lines(store, [(r[0], r[1], r[2], r[3], r[4], True, r[5]) for r in stale])
        rows = [
            (rid, n, verdict, score, line, row)
            for (rid, _, _, verdict, score, n), (line, row) in zip(stale, lines, strict=True)
        ]
        with store.db:
            store.db.executemany(CACHE_INSERT, rows)
        refreshed += len(rows)


_CACHED_LINES = "CAST(c.jsonl AS BLOB), CAST(c.csv AS BLOB)"
"""The cached line and row, as UTF-8 bytes whatever their storage class."""


_Cached = tuple[str, bytes | None, bytes | None, Any, Any, bool, int]


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
        pending.append((rid, line, row, verdict, score, stale, n))
        states.append(state.encode("ascii"))
        if len(pending) >= BATCH:
            yield flush()
    if pending:
        yield flush()


def _current_lines(store: Store, batch: list[_Cached]) -> list[tuple[bytes, bytes]]:
    """``(JSON line, CSV row)`` of each ``(record_id, cached line, cached row, verdict, score,
    stale, findings count)`` as the store now holds the record. Cached lines are used as they
    are; a stale one (its findings, verdict or score changed since, as corpus steps do) gets
    those three patched in, from one query for the batch. A line the query did not find
    under its record's rowid (a store written before lines were kept so) is looked up by
    record id; a record without a cached line is loaded and rendered whole."""
    batch = _by_record_id(store, batch)
    changed = [rid for rid, line, _, _, _, stale, _ in batch if stale and line is not None]
    missing = [rid for rid, line, row, *_ in batch if line is None or row is None]
    found = _finding_lines(store, changed) if changed else {}
    whole = {r.record_id: _cache_row(r) for r in store.load_many(missing)} if missing else {}
    out: list[tuple[bytes, bytes]] = []
    for rid, line, row, verdict, score, stale, _ in batch:
        if line is None or row is None:
            _, _, _, _, line, row = whole[rid]
        elif stale:
            findings = found.get(rid, [])
            line = jsonl.patched(line, verdict, score, findings)
            row = csv_format.patched(row, verdict, score)
        out.append((line, row))
    return out


def _by_record_id(store: Store, batch: list[_Cached]) -> list[_Cached]:
    """``batch`` with the cached lines the export's query did not find under the records'
    rowids looked up by record id (stale when their findings count, verdict or score
    differs from the record's)."""
    unfound = [item[0] for item in batch if item[1] is None]
    if not unfound:
        return batch
    marks = ",".join("?" * len(unfound))
    cached = {
        row[0]: row[1:]
        for row in store.db.execute(
            "SELECT record_id, CAST(jsonl AS BLOB), CAST(csv AS BLOB), findings, verdict, score "
            f"FROM export_cache WHERE record_id IN ({marks})",
            unfound,
        )
    }
    out: list[_Cached] = []
    for item in batch:
        rid, line, row, verdict, score, stale, n = item
        if line is None and rid in cached:
            line, row, n_cached, v_cached, s_cached = cached[rid]
            stale = (n_cached, v_cached, s_cached) != (n, verdict, score)
        out.append((rid, line, row, verdict, score, stale, n))
    return out


def _finding_lines(store: Store, record_ids: list[str]) -> dict[str, list[jsonl.FindingLine]]:
    """The findings of ``record_ids`` as their lines show them, in finding id order: the
    texts rendered when they were stored (``finding_lines``), or, for a store written
    before that table, rendered here from the findings and their evidence."""
    marks = ",".join("?" * len(record_ids))
    found: dict[str, list[jsonl.FindingLine]] = {}
    unrendered: set[str] = set()
    if _has_finding_lines(store):
        for rid, rule_id, severity, score, evidence, text in store.db.execute(
            "SELECT f.record_id, l.rule_id, l.severity, l.score, l.evidence, l.text "
            "FROM findings f LEFT JOIN finding_lines l "
            "ON l.finding_id = f.finding_id AND l.record_id = f.record_id "
            # Each record's findings in id order, as the index holds them: no sort.
            f"WHERE f.record_id IN ({marks}) ORDER BY f.record_id, f.finding_id",
            record_ids,
        ):
            if text is None:
                unrendered.add(rid)
            elif rid in found:
                found[rid].append(jsonl.FindingLine(rule_id, severity, score, evidence, text))
            else:
                found[rid] = [jsonl.FindingLine(rule_id, severity, score, evidence, text)]
    else:
        unrendered.update(record_ids)
    if unrendered:
        for rid, findings in _findings_json(store, sorted(unrendered)).items():
            found[rid] = [jsonl.FindingLine.of(f) for f in findings]
    return found


def _has_finding_lines(store: Store) -> bool:
    row = store.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'finding_lines'"
    ).fetchone()
    return row is not None


def _findings_json(store: Store, record_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The findings of ``record_ids`` in their ``files.jsonl`` form (what ``Finding.to_json``
    gives for the stored finding), in finding id order."""
    marks = ",".join("?" * len(record_ids))
    evidence: dict[int, list[dict[str, str]]] = {}
    for fid, field_name, value, note in store.db.execute(
        "SELECT e.finding_id, e.field, e.value, e.note FROM evidence e JOIN findings f "
        f"USING (finding_id) WHERE f.record_id IN ({marks}) ORDER BY e.finding_id, e.ord",
        record_ids,
    ):
        evidence.setdefault(fid, []).append(
            {"field": field_name, "value": value, "note": note or ""}
        )
    found: dict[str, list[dict[str, Any]]] = {}
    for fid, rid, rule_id, technique, severity, grade, message, source, score in store.db.execute(
        f"SELECT {_FINDING_COLUMNS} FROM findings WHERE record_id IN ({marks}) ORDER BY finding_id",
        record_ids,
    ):
        found.setdefault(rid, []).append(
            {
                "rule_id": rule_id,
                "technique": technique,
                "severity": severity,
                "grade": grade,
                "message": message,
                "evidence": evidence.get(fid, []),
                "source": source,
                "score": score,
            }
        )
    return found
