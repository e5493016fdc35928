"""Each file of the report's table as a dict, streamed from the store: its facts, findings
with their evidence, issues, raw metadata, corpus results and provenance chain, long values
and lists already cut (:mod:`leaktriage.report.common` has the limits)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from leaktriage.model import Finding, Severity, Status
from leaktriage.report.common import (
    DIFFS_CAP,
    EVIDENCE_CAP,
    FLAGGED,
    FLAGGED_SQL,
    FULL,
    HUNK_CAP,
    LIGHT,
    LIST_CAP,
    MEMBER_EVIDENCE,
    RAW_CAP,
    SAME_CAP,
    SEVERITIES,
    Caps,
    cut,
    loads,
    sql_list,
    tables,
)
from leaktriage.rules import SEVERITIES as SEVERITY_OF
from leaktriage.rules.verdict import Weigher, family_of


def weights(weigher: Weigher, f: dict[str, Any]) -> list[str]:
    """The lines of a file's weight chain (strongest first, then the sum and thresholds)."""
    findings = [
        Finding(
            f["record_id"],
            x["rule_id"],
            x["technique"],
            SEVERITY_OF.get(x["severity"], Severity.INFO),
            x["grade"],
            x["message"],
            source=x["source"],
        )
        for x in f["findings"]
    ]
    status = Status(f["status"]) if f["status"] in Status._value2member_map_ else Status.OK
    judged = weigher.judge(status, findings, family_of(f["mime"], f["extension"]))
    return judged.explain().splitlines()


class _Rows:
    """Rows of a cursor ordered by their first column (a file's ``idx``), handed out one
    file at a time while the files are read in the same order."""

    __slots__ = ("_it", "_row")

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._it = iter(rows)
        self._row: tuple[Any, ...] | None = next(self._it, None)

    def take(self, idx: int) -> list[tuple[Any, ...]]:
        """The rows of file ``idx`` (none left before it: the caller goes in order)."""
        out: list[tuple[Any, ...]] = []
        row = self._row
        while row is not None and row[0] == idx:
            out.append(row)
            row = next(self._it, None)
        self._row = row
        return out


class _NoRows:
    __slots__ = ()

    def take(self, idx: int) -> list[tuple[Any, ...]]:
        return []


def same_content(db: sqlite3.Connection, table: str) -> dict[str, list[int]]:
    """sha256 -> the files of ``table`` with that content, in path order, for every content
    held more than once (the other places a file's detail links to)."""
    return {
        sha: json.loads(idxs)
        for sha, idxs in db.execute(
            "SELECT sha256, json_group_array(idx) FROM (SELECT f.sha256 AS sha256, r.idx AS idx "
            f"FROM {table} r JOIN files f USING (record_id) WHERE coalesce(f.sha256, '') != '' "
            "ORDER BY r.idx) GROUP BY sha256 HAVING count(*) > 1"
        )
    }


def iter_files(
    db: sqlite3.Connection,
    table: str,
    idxs: Sequence[int] | None = None,
    same: dict[str, list[int]] | None = None,
) -> Iterator[dict[str, Any]]:
    """The files of ``table`` (those at ``idxs`` only, when given) as dicts, in path order:
    one ordered query per table, merged file by file, so only one file is held at a time.
    With ``same`` (:func:`same_content`), each file names its copies elsewhere."""
    where = "" if idxs is None else " AND r.idx IN (SELECT value FROM json_each(?))"
    args: tuple[str, ...] = () if idxs is None else (json.dumps(sorted(set(idxs))),)

    def rows(sql: str, repeat: int = 1) -> _Rows:
        return _Rows(db.execute(sql, args * repeat))

    # The facts are most of the rows: merged inline rather than through _Rows.
    fields = iter(
        db.execute(
            f"SELECT r.idx, d.name, d.value FROM {table} r JOIN fields d USING (record_id) "
            f"WHERE d.ord < {LIST_CAP}{where} ORDER BY r.idx, d.name, d.ord",
            args,
        )
    )
    fact = next(fields, None)
    members = sql_list(MEMBER_EVIDENCE)
    findings = rows(
        "SELECT r.idx, x.rule_id, x.technique, x.severity, x.grade, x.message, x.source, "
        "x.score, x.finding_id, (SELECT count(*) FROM evidence e WHERE e.finding_id = "
        "x.finding_id), (SELECT count(*) FROM evidence e WHERE e.finding_id = x.finding_id "
        f"AND e.field IN ({members})) FROM {table} r JOIN findings x USING (record_id) "
        f"WHERE 1{where} ORDER BY r.idx, x.finding_id"
    )
    # The first EVIDENCE_CAP items of each finding that do not name another group member.
    evidence = rows(
        "SELECT idx, finding_id, field, value, note FROM (SELECT r.idx AS idx, x.finding_id AS "
        "finding_id, e.field AS field, e.value AS value, e.note AS note, e.ord AS ord, "
        "row_number() OVER (PARTITION BY x.finding_id ORDER BY e.ord) AS k "
        f"FROM {table} r JOIN findings x USING (record_id) JOIN evidence e USING (finding_id) "
        f"WHERE e.field NOT IN ({members}){where}) WHERE k <= {EVIDENCE_CAP} "
        "ORDER BY idx, finding_id, ord"
    )
    issues = rows(
        f"SELECT r.idx, i.stage, i.code, i.message FROM {table} r JOIN issues i "
        f"USING (record_id) WHERE 1{where} ORDER BY r.idx, i.ord"
    )
    raw = rows(
        f"SELECT r.idx, k.key, k.value FROM {table} r JOIN files f USING (record_id) "
        f"JOIN raw_fields k ON k.record_id = r.record_id WHERE f.verdict IN ({FLAGGED_SQL})"
        f"{where} ORDER BY r.idx, k.key"
    )
    chains = rows(
        "WITH RECURSIVE up(idx, n, anc, parent) AS ("
        f"SELECT r.idx, 0, -1, f.parent_id FROM {table} r JOIN files f USING (record_id) "
        f"WHERE f.parent_id IS NOT NULL{where} "
        "UNION ALL SELECT up.idx, up.n + 1, p.idx, pf.parent_id FROM up "
        f"JOIN {table} p ON p.record_id = up.parent JOIN files pf ON pf.record_id = up.parent "
        "WHERE up.n < 32) SELECT idx, anc FROM up WHERE n > 0 ORDER BY idx, n"
    )
    present = tables(db)
    corpus: _Rows | _NoRows = _NoRows()
    scores: _Rows | _NoRows = _NoRows()
    pairs: _Rows | _NoRows = _NoRows()
    if {"corpus_groups", "corpus_members"} <= present:
        # A file names its groups by id; each group is described once in the page.
        corpus = rows(
            f"SELECT r.idx, m.group_id, m.role FROM {table} r JOIN corpus_members m "
            f"USING (record_id) JOIN corpus_groups g USING (group_id) WHERE 1{where} "
            "ORDER BY r.idx, g.kind, g.size DESC, g.group_id, m.rowid"
        )
    if "corpus_scores" in present:
        scores = rows(
            f"SELECT r.idx, s.outlier_score, s.rare_json FROM {table} r JOIN corpus_scores s "
            f"USING (record_id) WHERE 1{where} ORDER BY r.idx, s.outlier_score DESC, s.rowid"
        )
    if "corpus_pairs" in present:
        # The first DIFFS_CAP pairs of each file, and how many it has in all.
        pairs = rows(
            "SELECT idx, other, similarity, diff_json, side, n FROM ("
            "SELECT *, row_number() OVER (PARTITION BY idx ORDER BY a, b, k, side) AS pos, "
            "count(*) OVER (PARTITION BY idx) AS n FROM ("
            "SELECT r.idx AS idx, o.idx AS other, p.similarity AS similarity, "
            "p.diff_json AS diff_json, 0 AS side, p.record_a AS a, p.record_b AS b, p.rowid AS k "
            f"FROM corpus_pairs p JOIN {table} r ON r.record_id = p.record_a "
            f"JOIN {table} o ON o.record_id = p.record_b WHERE 1{where} UNION ALL "
            "SELECT r.idx, o.idx, p.similarity, p.diff_json, 1, p.record_a, p.record_b, p.rowid "
            f"FROM corpus_pairs p JOIN {table} r ON r.record_id = p.record_b "
            f"JOIN {table} o ON o.record_id = p.record_a WHERE 1{where})) "
            f"WHERE pos <= {DIFFS_CAP} ORDER BY idx, pos",
            2,
        )
    sev_rank = {s: n for n, s in enumerate(SEVERITIES)}
    for row in db.execute(
        "SELECT r.idx, f.record_id, f.path, f.name, f.parent_id, f.depth, f.size, f.sha256, "
        "f.md5, f.mime, f.extension, f.extension_mismatch, f.mtime, f.status, f.extractor, "
        f"f.verdict, f.score FROM {table} r JOIN files f USING (record_id) WHERE 1{where} "
        "ORDER BY r.idx",
        args,
    ):
        idx = row[0]
        verdict = row[15] or "no_signal"
        caps = FULL if verdict in FLAGGED else LIGHT
        facts: dict[str, list[str]] = {}
        values: list[str] = []
        current = None
        while fact is not None and fact[0] == idx:
            _, name, value = fact
            fact = next(fields, None)
            if name != current:
                current = name
                values = facts[name] = []
            elif len(values) >= caps.items:
                continue
            if value is None:
                value = ""
            elif name == "text.sample":
                if not caps.sample:
                    del facts[name]
                    current = None
                    continue
                value = cut(value, caps.sample)
            elif len(value) > caps.value:
                value = cut(value, caps.value)
            values.append(value)
        cited: dict[int, list[list[str]]] = {}
        for _, fid, field_name, value, note in evidence.take(idx):
            items = cited.setdefault(fid, [])
            if len(items) < caps.evidence:
                items.append([field_name, cut(value, caps.value), cut(note or "", caps.note)])
        found = []
        for finding in findings.take(idx):
            _, rule_id, technique, severity, grade, message, source, score, fid = finding[:9]
            count, named = finding[9:]
            shown = cited.get(fid, [])
            found.append(
                {
                    "rule_id": rule_id,
                    "technique": technique,
                    "severity": severity,
                    "grade": grade,
                    "message": cut(message, caps.message),
                    "source": source,
                    "score": score,
                    "evidence": shown,
                    "evidence_more": max(0, count - named - len(shown)),
                    "evidence_members": named,
                }
            )
        found.sort(key=lambda x: (sev_rank.get(x["severity"], 9), x["rule_id"]))
        chain: list[int] = []
        for _, anc in chains.take(idx):
            if anc in chain:
                break
            chain.append(anc)
        raw_rows = raw.take(idx) if verdict in FLAGGED else []
        diffs = pairs.take(idx)
        sha = row[7] or ""
        copies = (same or {}).get(sha, [])
        f: dict[str, Any] = {
            "idx": idx,
            "record_id": row[1],
            "path": row[2],
            "name": row[3],
            "parent_id": row[4],
            "depth": row[5],
            "size": row[6],
            "sha256": sha,
            "md5": row[8] or "",
            "mime": row[9],
            "extension": row[10],
            "extension_mismatch": bool(row[11]),
            "mtime": row[12] or "",
            "status": row[13],
            "extractor": row[14] or "",
            "verdict": verdict,
            "score": row[16],
            "facts": facts,
            "findings": found,
            "issues": [[stage, code, cut(msg)] for _, stage, code, msg in issues.take(idx)],
            "raw": [[key, cut(value, 200)] for _, key, value in raw_rows[:RAW_CAP]],
            "raw_more": max(0, len(raw_rows) - RAW_CAP),
            "diffs": [_diff(p, caps) for p in diffs[: caps.diffs]],
            "diffs_more": max(0, diffs[0][5] - caps.diffs) if diffs else 0,
            "corpus": [[group_id, role or ""] for _, group_id, role in corpus.take(idx)],
            "same": [i for i in copies if i != idx][:SAME_CAP],
            "same_count": max(0, len(copies) - 1),
            "chain": chain[::-1],
        }
        for _, score, rare in scores.take(idx):
            f["rare"] = rare_values(rare)
            f["outlier_score"] = score
        yield f


def _diff(row: tuple[Any, ...], caps: Caps) -> dict[str, Any]:
    """A file's side of a corpus pair: the other file, the similarity, the first hunks and
    how many more there are."""
    _, other, similarity, diff, side = row[:5]
    listed = [h for h in (loads(diff) or []) if isinstance(h, dict)]
    hunks = [
        [cut(str(h.get("a", "")), HUNK_CAP), cut(str(h.get("b", "")), HUNK_CAP)]
        for h in listed[: caps.hunks]
    ]
    if side:
        hunks = [[y, x] for x, y in hunks]
    return {
        "other": other,
        "similarity": similarity,
        "hunks": hunks,
        "more": max(0, len(listed) - caps.hunks),
    }


def rare_values(text: str | None) -> list[list[Any]]:
    """An outlier's rare values as (attribute, value, count, total)."""
    return [
        [
            cut(str(r.get("attribute", "")), 80),
            cut(str(r.get("value", "")), 200),
            int(r.get("count") or 0),
            int(r.get("total") or 0),
        ]
        for r in (loads(text) or [])
        if isinstance(r, dict)
    ]
