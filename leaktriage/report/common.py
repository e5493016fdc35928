"""Names, limits and SQL fragments every part of the report shares: the verdicts, how long a
value may be, and the order in which files are most worrying."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leaktriage.model import Severity
from leaktriage.rules.verdict import GRADE_FACTORS, WEIGHTS

VERDICTS = ("likely_altered", "decoy_suspected", "suspicious", "unreadable", "no_signal")
"""Verdict names as the store has them, most worrying first."""
FLAGGED = frozenset({"likely_altered", "decoy_suspected", "suspicious"})
VERDICT_LEGEND = {
    "likely_altered": "strong or structural evidence that the file was changed after creation",
    "decoy_suspected": "traits of a decoy planted by the victim (honeytrap), not an original",
    "suspicious": "anomalies worth a look; each has innocent explanations",
    "unreadable": "could not be read (encrypted, corrupt, unsupported); no judgement",
    "no_signal": "no rule fired; this is not proof that the file is genuine",
}
SEVERITIES = tuple(s.name.lower() for s in sorted(Severity, reverse=True))
"""Severity names as the store has them, most worrying first."""


@dataclass(frozen=True, slots=True)
class Caps:
    """How much of one file the page keeps."""

    value: int
    """Longest fact or evidence value; longer ones are cut, saying how much."""
    message: int
    """Longest message of a finding."""
    note: int
    """Longest note of an evidence item."""
    sample: int
    """Longest text sample (0: none)."""
    items: int
    """Most elements of one list fact."""
    evidence: int
    """Most evidence items per finding (the page counts the others)."""
    diffs: int
    """Most altered-copy pairs whose differing passages are shown (the others counted)."""
    hunks: int
    """Most differing passages per pair (the others counted)."""


VALUE_CAP = 400
"""Longest fact or evidence value kept in the report; longer ones are cut with a mark."""
SAMPLE_CAP = 120
"""Longest text sample kept per (flagged) file."""
LIST_CAP = 20
"""Most elements of one list fact kept."""
EVIDENCE_CAP = 6
"""Most evidence items kept per finding; the page says how many more there are."""
MEMBER_EVIDENCE = ("corpus.related_file", "corpus.burst_member", "corpus.linked_file")
"""Evidence that names the other files of the finding's corpus group: left out of a file's
detail, which links to the group instead (each group is described once in the page)."""
FINDINGS_PER_RULE = 4
"""Most findings of one rule kept in a file's detail (a re-saved variant can be an altered
copy of dozens of others); the page says how many more, and the weight chain counts all."""
DIFFS_CAP = 3
"""Most altered-copy pairs whose differing passages a file's detail shows."""
HUNKS_CAP = 4
"""Most differing passages shown per pair."""
HUNK_CAP = 400
"""Longest side of a differing passage kept."""
RAW_CAP = 60
"""Most raw metadata entries kept per flagged file."""
SAME_CAP = 20
"""Most other places of the same content (sha256) a file's detail links to."""
FULL = Caps(VALUE_CAP, VALUE_CAP, 200, SAMPLE_CAP, LIST_CAP, EVIDENCE_CAP, DIFFS_CAP, HUNKS_CAP)
"""What a flagged file's detail keeps."""
LIGHT = Caps(value=160, message=200, note=100, sample=0, items=5, evidence=3, diffs=1, hunks=3)
"""What the detail of a file that is not flagged keeps: most of a dump, so the page of
100,000 files stays under 30 MB. files.jsonl and the store keep every value."""


def cut(text: str | None, cap: int = VALUE_CAP) -> str:
    """``text`` shortened to ``cap`` characters, saying how much was cut."""
    if text is None:
        return ""
    if len(text) <= cap:
        return text
    return f"{text[:cap]}… [{len(text) - cap} more characters]"


def sql_list(names: Iterable[str]) -> str:
    """Fixed identifiers (verdict names) as a list of SQL literals."""
    return ", ".join(f"'{n}'" for n in names)


FLAGGED_SQL = sql_list(sorted(FLAGGED))
RANK_SQL = (
    "CASE coalesce(f.verdict, 'no_signal') "
    + " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(VERDICTS))
    + " ELSE 9 END"
)
STRONGEST_SQL = (
    "coalesce((SELECT max((CASE x.severity "
    + " ".join(f"WHEN '{s.name.lower()}' THEN {w}" for s, w in WEIGHTS.items())
    + " ELSE 0 END) * (CASE x.grade "
    + " ".join(f"WHEN '{g}' THEN {w}" for g, w in GRADE_FACTORS.items())
    + " ELSE 0.5 END)) FROM findings x WHERE x.record_id = f.record_id), 0)"
)
"""Severity and grade of a file's strongest finding: the tie-break between equal weights."""
FLAGGED_ORDER = f"{RANK_SQL}, coalesce(f.score, 0) DESC, {STRONGEST_SQL} DESC, f.path, r.idx"
"""The order of :meth:`ReportData.flagged`: verdict rank, combined weight, strongest finding
by severity, path."""


def tables(db: sqlite3.Connection) -> set[str]:
    """Names of the store's tables (the corpus tables exist once the corpus stage ran)."""
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def loads(text: str | None) -> Any:
    """JSON from the store, or None when it does not parse."""
    try:
        return json.loads(text or "null")
    except ValueError:
        return None
