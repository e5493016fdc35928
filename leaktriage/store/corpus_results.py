"""The corpus stage's results written to the store: its findings and the tables of groups,
members, altered-copy pairs and outlier scores, replaced together in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leaktriage.model import Finding
from leaktriage.store.schema import CORPUS_TABLES, _dumps

if TYPE_CHECKING:
    from leaktriage.store.database import Store


def replace_corpus(
    store: Store,
    findings: list[Finding],
    groups: list[tuple[str, str, list[tuple[str, str]], dict[str, Any]]],
    pairs: list[tuple[str, str, float, list[dict[str, str]]]],
    scores: list[tuple[str, float | None, list[dict[str, Any]]]],
) -> None:
    """Replace every corpus finding and corpus table in one transaction (re-running the
    analysis never duplicates). ``groups`` are (kind, label, [(record_id, role)], summary),
    numbered from 1 in the order given."""
    with store.db as db:
        db.execute(
            "DELETE FROM evidence WHERE finding_id IN "
            "(SELECT finding_id FROM findings WHERE source = 'corpus')"
        )
        db.execute(
            "DELETE FROM finding_lines WHERE finding_id IN "
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
        store.add_findings((rid, by_record[rid]) for rid in sorted(by_record))
