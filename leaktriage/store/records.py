"""Records read back from the store: a :class:`~leaktriage.model.FileRecord` rebuilt from
its ``files`` row, facts, raw values, issues and findings, a batch at a time, with one query
per table (the :class:`~leaktriage.store.Store`'s ``load``, ``load_many``, ``find`` and
``iter_records`` use it)."""

from __future__ import annotations

import sqlite3

from leaktriage.model import Evidence, FieldValue, FileRecord, Finding, Issue, Status
from leaktriage.store.schema import _FINDING_COLUMNS, _decode, _finding, _parse_time


def load_records(
    db: sqlite3.Connection, record_ids: list[str], sha1_column: str = "sha1"
) -> list[FileRecord]:
    """The records of ``record_ids`` that exist, in the order given. ``sha1_column``: the
    ``files`` column read as the SHA-1 (``NULL`` in a store made before it)."""
    marks = ",".join("?" * len(record_ids))
    rows = {
        row[0]: row
        for row in db.execute(
            "SELECT record_id, path, name, parent_id, depth, size, sha256, md5, mime, "
            "extension, extension_mismatch, mtime, mtime_zone_known, outer_mtime, status, "
            f"extractor, verdict, score, {sha1_column} FROM files WHERE record_id IN ({marks})",
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
        f"SELECT {_FINDING_COLUMNS} FROM findings WHERE record_id IN ({marks}) ORDER BY finding_id",
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
                sha1=row[18],
            )
        )
    return records
