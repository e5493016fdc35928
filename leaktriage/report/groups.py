"""The corpus groups as the report shows them: the one module that reads the store's group
tables (``corpus_groups``, ``corpus_members``), so a change of their shape is adapted here.

A group is described once in the page: the groups section lists the most telling ones with
their first members (the rest collapsed), the page's data holds every group, and a file's
detail names its groups by id and links to them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from leaktriage.report.common import FLAGGED_SQL, RANK_SQL, cut, loads, tables

CLUSTER = "fingerprint_cluster"
CLUSTERS_SHOWN = 40
"""Fingerprint clusters the fingerprints section lists."""
GROUPS_SHOWN = 150
"""Other corpus groups (copies, bursts, identifiers) the groups section lists: those with
the most flagged members first, then the largest. Every group is in the page's data and
reachable from its members' details."""
MEMBERS_SHOWN = 6
"""Members named per listed group before the others (collapsed) are counted."""


def present(db: sqlite3.Connection) -> bool:
    """Whether the corpus stage wrote its group tables."""
    return {"corpus_groups", "corpus_members"} <= tables(db)


def membership_sql(table: str, where: str) -> str:
    """``(idx, group_id, role)`` of every file of ``table`` (filtered by ``where``) in each of
    its groups, ordered by file, then by kind and size of the group."""
    return (
        f"SELECT r.idx, m.group_id, m.role FROM {table} r JOIN corpus_members m "
        f"USING (record_id) JOIN corpus_groups g USING (group_id) WHERE 1{where} "
        "ORDER BY r.idx, g.kind, g.size DESC, g.group_id, m.rowid"
    )


def _counted(table: str) -> str:
    """The groups with, per group, its members in the table and the flagged ones among them."""
    return (
        "WITH c AS (SELECT m.group_id AS group_id, count(*) AS shown, "
        f"sum(f.verdict IN ({FLAGGED_SQL})) AS flagged FROM corpus_members m "
        f"JOIN {table} r USING (record_id) JOIN files f USING (record_id) GROUP BY m.group_id) "
        "SELECT g.group_id AS group_id, coalesce(g.kind, '') AS kind, coalesce(g.label, '') "
        "AS label, coalesce(g.size, 0) AS size, g.summary_json AS summary, coalesce(c.shown, 0) "
        "AS shown, coalesce(c.flagged, 0) AS flagged FROM corpus_groups g "
        "LEFT JOIN c USING (group_id)"
    )


def listed(db: sqlite3.Connection, table: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The groups the page lists (``CLUSTERS_SHOWN`` fingerprint clusters, the largest, and
    ``GROUPS_SHOWN`` others, the most flagged members first), each with its first
    ``MEMBERS_SHOWN`` members in the table as ``(idx, role, name, verdict)``, flagged ones
    first; and how many groups of each sort there are in all (``clusters``, ``others``)."""
    if not present(db):
        return [], {"clusters": 0, "others": 0}
    out: list[dict[str, Any]] = []
    for clusters, order, limit in (
        (True, "size DESC", CLUSTERS_SHOWN),
        (False, "flagged DESC, size DESC", GROUPS_SHOWN),
    ):
        for gid, kind, label, size, summary, shown, flagged in db.execute(
            f"SELECT * FROM ({_counted(table)}) WHERE (kind = '{CLUSTER}') = ? "
            f"ORDER BY {order}, group_id LIMIT ?",
            (clusters, limit),
        ):
            members = db.execute(
                "SELECT r.idx, coalesce(m.role, ''), f.name, coalesce(f.verdict, 'no_signal') "
                f"FROM corpus_members m JOIN {table} r USING (record_id) "
                f"JOIN files f USING (record_id) WHERE m.group_id = ? ORDER BY {RANK_SQL}, "
                "r.idx, m.rowid LIMIT ?",
                (gid, MEMBERS_SHOWN),
            ).fetchall()
            out.append(
                {
                    "group_id": gid,
                    "kind": kind,
                    "label": cut(label, 200),
                    "size": size,
                    "summary": summary_pairs(loads(summary)),
                    "members": [list(m) for m in members],
                    "count": shown,
                    "flagged": flagged,
                }
            )
    (clusters_total, others_total) = db.execute(
        f"SELECT coalesce(sum(kind = '{CLUSTER}'), 0), coalesce(sum(kind != '{CLUSTER}'), 0) "
        "FROM (SELECT coalesce(kind, '') AS kind FROM corpus_groups)"
    ).fetchone()
    return out, {"clusters": clusters_total, "others": others_total}


def every_group(db: sqlite3.Connection, table: str) -> Iterator[list[Any]]:
    """Every group, by id, as the page's data holds it: ``[id, kind, label, size, members in
    the table, flagged members, summary pairs]``."""
    if not present(db):
        return
    for gid, kind, label, size, summary, shown, flagged in db.execute(
        f"SELECT * FROM ({_counted(table)}) ORDER BY group_id"
    ):
        yield [gid, kind, cut(label, 200), size, shown, flagged, summary_pairs(loads(summary))]


def summary_pairs(data: Any) -> list[list[str]]:
    """A group's summary JSON as (key, value) text pairs."""
    if isinstance(data, dict):
        return [
            [cut(str(k), 80), cut(v if isinstance(v, str) else json.dumps(v, sort_keys=True), 200)]
            for k, v in sorted(data.items())
        ][:12]
    if data is None:
        return []
    return [["summary", cut(json.dumps(data, sort_keys=True), 200)]]
