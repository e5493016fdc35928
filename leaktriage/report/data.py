"""Read what the reports show out of a store: summary counts, which files the table holds,
the first screen's flagged files, corpus groups and outliers, and timeline dates. Reads the
store only; never computes a finding. Each file's own data is read by
:mod:`leaktriage.report.files`, the groups by :mod:`leaktriage.report.groups`."""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.config import REPORT_LIMIT
from leaktriage.errors import LeakTriageError
from leaktriage.report import groups as corpus_groups
from leaktriage.report.common import (
    FLAGGED,
    FLAGGED_ORDER,
    FLAGGED_SQL,
    LIST_CAP,
    RANK_SQL,
    SAMPLE_CAP,
    SEVERITIES,
    STRONGEST_SQL,
    VALUE_CAP,
    VERDICT_LEGEND,
    VERDICTS,
    cut,
    tables,
)
from leaktriage.report.figures import Figures
from leaktriage.report.files import iter_files, rare_values, same_content, weights
from leaktriage.rules import RuleSet, load_rules
from leaktriage.rules.verdict import Weigher

if TYPE_CHECKING:
    from leaktriage.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "FLAGGED",
    "LIST_CAP",
    "REPORT_LIMIT",
    "SAMPLE_CAP",
    "SEVERITIES",
    "VALUE_CAP",
    "VERDICTS",
    "VERDICT_LEGEND",
    "ReportData",
    "cut",
    "load_report_data",
    "timeline_points",
]

TIMELINE_FIELDS = {
    "created": ("doc.created", "pdf.xmp_created", "image.datetime_original"),
    "modified": ("doc.modified", "pdf.xmp_modified"),
    "email": ("email.date",),
    "container": ("ole.dir_modified_max", "ooxml.zip_mtime_max"),
}
"""Timeline rows and the facts that feed each (first one present wins per file). The
container row is when the file's own container was last written (OLE directory, zip
entries): a forger's re-save shows there even when the properties were set back."""
DOS_ZERO = datetime(1980, 1, 1, tzinfo=UTC)
"""A zip time of 1980-01-01 00:00 means "no time" (Office writes it); not a date."""


def table_files(total: int, flagged: int, limit: int) -> int:
    """Files the report's table holds out of ``total``: all of them up to ``limit``; past it,
    every flagged file and then the others that weigh most (unreadable files first, then by
    score and path), ``limit`` in all unless the flagged files alone are more."""
    return total if total <= limit else max(limit, flagged)


@dataclass(slots=True)
class RuleInfo:
    """What the report says about a rule id."""

    title: str
    rationale: str
    false_positives: list[str]
    category: str


_TABLE_IDS = itertools.count()
"""Numbers the temporary tables of shown files, one per :func:`load_report_data`."""


@dataclass(slots=True)
class ReportData:
    """Everything the HTML report and the terminal summary show.

    Counts, rule tallies and what the first screen lists are read when it is made; the
    files themselves are streamed from the store (:meth:`iter_files`), a few rows at a
    time, so the memory it takes does not grow with the dump. Use it while the store is
    open."""

    run: dict[str, Any]
    leak_date: date | None
    db: sqlite3.Connection
    table: str
    """Temporary table ``(idx, record_id)`` of the files the table holds, in path order."""
    shown: int
    """Files the table holds (``idx`` runs from 0 to ``shown - 1``)."""
    by_verdict: dict[str, int]
    by_type: list[tuple[str, int]]
    by_status: dict[str, int]
    top_rules: list[tuple[str, int, str]]
    """(rule id, records it fired on, title)."""
    rules: dict[str, RuleInfo]
    used_rules: list[str]
    """Rule ids that fired on a file the table holds, sorted."""
    techniques: dict[str, str]
    """Technique id -> "T0089.003 Alter Authentic Documents (formerly T0025 ...)"."""
    groups: list[dict[str, Any]] = field(default_factory=list)
    """The corpus groups the page lists (see :func:`leaktriage.report.groups.listed`): each
    with its first members as ``(idx, role, name, verdict)``, ``count`` (its members in the
    table) and ``flagged``."""
    group_totals: dict[str, int] = field(default_factory=dict)
    """How many fingerprint ``clusters`` and ``others`` groups there are in all."""
    outliers: list[dict[str, Any]] = field(default_factory=list)
    """The ``OUTLIERS_SHOWN`` highest outlier scores among the files of the table."""
    total: int = 0
    """Files in the store; more than ``shown`` when the table was capped."""
    limit: int = REPORT_LIMIT
    """The table's limit this report was made with (every flagged file is kept past it)."""
    weigher: Weigher | None = None
    """How the scan's findings combine into verdicts (the weight chain of each file)."""
    timeline: dict[str, Iterable[tuple[datetime, bool]]] = field(default_factory=dict)
    """Per timeline row, the (date, flagged) of every file of the store that has one,
    read from the store each time it is iterated."""
    _figures: Figures | None = field(default=None, repr=False)

    @property
    def files(self) -> list[dict[str, Any]]:
        """Every file of the table as a dict, in path order (``idx`` is the position). Holds
        them all in memory: the report itself streams :meth:`iter_files`."""
        return list(self.iter_files())

    def iter_files(self, idxs: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
        """The files of the table (only those at ``idxs``, when given) in path order, each
        with the weight chain of its verdict (``weights``) when it has findings."""
        # The other places of each content are read for the whole table only (the page's
        # details); the first screen counts copies itself.
        same = same_content(self.db, self.table) if idxs is None else None
        figures = self.figures()
        for f in iter_files(self.db, self.table, idxs, same):
            if f["findings"] and self.weigher is not None:
                f["weights"] = weights(self.weigher, f)
            pics = figures.of(f["record_id"])
            if pics:
                f["pics"] = pics
            yield f

    def figures(self) -> Figures:
        """The pictures of the flagged files and which of them the page holds (read once)."""
        if self._figures is None:
            from leaktriage.report.rows import fallback_order

            self._figures = Figures(self, fallback_order(self))
        return self._figures

    @property
    def flagged_total(self) -> int:
        """Flagged files in the store (all of them are in the table)."""
        return sum(n for v, n in self.by_verdict.items() if v in FLAGGED)

    @property
    def left_out(self) -> int:
        """Files of the store the table does not hold (past the limit, none flagged)."""
        return self.total - self.shown

    def every_group(self) -> Iterator[list[Any]]:
        """Every corpus group as the page's data holds it (see
        :func:`leaktriage.report.groups.every_group`)."""
        return corpus_groups.every_group(self.db, self.table)

    def flagged(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Flagged files, most worrying first: verdict order, then the strongest single
        finding (a high grade-A one, such as a changed earlier revision, before many weak
        ones), then the score, then the path."""
        order = [
            row[0]
            for row in self.db.execute(
                f"SELECT r.idx FROM {self.table} r JOIN files f USING (record_id) "
                f"WHERE f.verdict IN ({FLAGGED_SQL}) ORDER BY {FLAGGED_ORDER} LIMIT ?",
                (-1 if limit is None else limit,),
            )
        ]
        by_idx = {f["idx"]: f for f in self.iter_files(order)}
        return [by_idx[i] for i in order]

    def flagged_unique(self, limit: int) -> list[dict[str, Any]]:
        """The most worrying flagged files, one entry ``{"file", "copies"}`` per content
        (sha256): a forged file copied into several archives is listed once, with the count
        of its other places. Up to a third of the places go to suspected decoys, so a dump
        full of forgeries still shows its traps."""
        query = (
            "WITH flagged AS (SELECT r.idx AS idx, f.verdict AS verdict, "
            "coalesce(nullif(f.sha256, ''), f.record_id) AS key, "
            f"row_number() OVER (ORDER BY {FLAGGED_ORDER}) AS pos "
            f"FROM {self.table} r JOIN files f USING (record_id) "
            f"WHERE f.verdict IN ({FLAGGED_SQL})), "
            "firsts AS (SELECT idx, verdict = 'decoy_suspected' AS decoy, pos, "
            "count(*) OVER (PARTITION BY key) - 1 AS copies, "
            "row_number() OVER (PARTITION BY key ORDER BY pos) AS k FROM flagged), "
            "entries AS (SELECT idx, decoy, pos, copies, "
            "row_number() OVER (PARTITION BY decoy ORDER BY pos) AS n FROM firsts WHERE k = 1) "
            "SELECT pos, idx, copies, decoy FROM entries WHERE n <= CASE WHEN decoy THEN ? "
            "ELSE ? END ORDER BY pos"
        )
        found = self.db.execute(query, (limit // 3, limit)).fetchall()
        decoys = [e for e in found if e[3]]
        others = [e for e in found if not e[3]][: limit - len(decoys)]
        chosen = sorted([*others, *decoys])
        by_idx = {f["idx"]: f for f in self.iter_files([e[1] for e in chosen])}
        return [{"file": by_idx[idx], "copies": copies} for _, idx, copies, _ in chosen]


def technique_label(technique_id: str, techniques: dict[str, dict[str, Any]]) -> str:
    """``T0089.003 Alter Authentic Documents (formerly T0025 Leak altered documents)``."""
    entry = techniques.get(technique_id)
    if not entry:
        return technique_id
    label = f"{technique_id} {entry.get('name', '')}".strip()
    if entry.get("formerly"):
        label += f" (formerly {entry['formerly']})"
    return label


def run_ruleset(config: dict[str, Any]) -> RuleSet:
    """The rules a run used (its ``rule_dirs`` and the bundled ones), or the bundled ones
    when the newsroom's no longer load."""
    dirs = [Path(d) for d in config.get("rule_dirs") or () if Path(d).is_dir()]
    try:
        return load_rules(dirs)
    except LeakTriageError:
        log.warning("newsroom rules of the run no longer load; showing the bundled ones")
        return load_rules()


def rule_infos(ruleset: RuleSet) -> dict[str, RuleInfo]:
    """What the report (and an evidence pack) says about each rule id a run's findings may
    carry: the run's rules (``ruleset``, see :func:`run_ruleset`) and the corpus checks."""
    from leaktriage.corpus import FINDINGS as corpus_findings  # the corpus imports the store

    rules = {
        fid: RuleInfo(f.title, f.rationale, list(f.innocent), f.category)
        for fid, f in corpus_findings.items()
    }
    rules.update(
        {
            r.id: RuleInfo(r.title, r.rationale, list(r.false_positives), r.category)
            for r in ruleset.rules
        }
    )
    return rules


def _shown_table(db: sqlite3.Connection, limit: int) -> str:
    """A temporary table ``(idx, record_id)`` of the files the report's table holds, in path
    order: every file, or when the store has more than ``limit``, every flagged file and then
    the most worrying others up to ``limit`` in all (the order of
    :meth:`ReportData.flagged`: unreadable files before the others, then by score)."""
    name = f"temp.report_files_{next(_TABLE_IDS)}"
    db.execute(f"CREATE TABLE {name} (idx INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE)")
    (total, flagged) = db.execute(
        f"SELECT count(*), coalesce(sum(verdict IN ({FLAGGED_SQL})), 0) FROM present_files"
    ).fetchone()
    source = "SELECT record_id, path FROM present_files"
    if total > limit:
        source = (
            f"SELECT f.record_id, f.path FROM present_files f ORDER BY {RANK_SQL}, "
            f"f.score DESC, {STRONGEST_SQL} DESC, f.path, f.record_id "
            f"LIMIT {int(table_files(total, flagged, limit))}"
        )
    db.execute(
        f"INSERT INTO {name} (idx, record_id) SELECT "
        f"row_number() OVER (ORDER BY path, record_id) - 1, record_id FROM ({source})"
    )
    db.commit()
    return name


def run_limit(run: dict[str, Any]) -> int:
    """The report limit a run was made with (``ScanConfig.report_limit``), else the default."""
    config = json.loads(run.get("config_json") or "{}")
    limit = config.get("report_limit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else REPORT_LIMIT


def load_report_data(store: Store, limit: int | None = None) -> ReportData:
    """Read what the report shows out of a store (a few queries, no extractor). The table
    holds at most ``limit`` files (by default the limit the last run was made with) and
    every flagged file; counts and timeline cover them all."""
    db = store.db
    run = store.last_run() or {}
    config = json.loads(run.get("config_json") or "{}")
    leak = config.get("leak_date")
    leak_date = date.fromisoformat(leak) if leak else None
    ruleset = run_ruleset(config)
    rules = rule_infos(ruleset)
    if limit is None:
        limit = run_limit(run)
    table = _shown_table(db, limit)
    hits = dict(
        db.execute("SELECT rule_id, count(DISTINCT record_id) FROM findings GROUP BY rule_id")
    )
    verdicts = dict(
        db.execute("SELECT coalesce(verdict, 'no_signal'), count(*) FROM present_files GROUP BY 1")
    )
    by_type = dict(db.execute("SELECT mime, count(*) FROM present_files GROUP BY mime"))
    by_status = dict(db.execute("SELECT status, count(*) FROM present_files GROUP BY status"))
    techniques = [
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT x.technique FROM {table} r JOIN findings x USING (record_id) "
            "ORDER BY 1"
        )
    ]
    used = [
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT x.rule_id FROM {table} r JOIN findings x USING (record_id) ORDER BY 1"
        )
    ]
    (shown,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    groups, group_totals = corpus_groups.listed(db, table)
    outliers = _outliers(db, table)
    return ReportData(
        run=run,
        leak_date=leak_date,
        db=db,
        table=table,
        shown=shown,
        by_verdict={v: verdicts[v] for v in VERDICTS if verdicts.get(v)},
        by_type=sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
        by_status=dict(sorted(by_status.items())),
        top_rules=[
            (rule_id, n, rules[rule_id].title if rule_id in rules else "")
            for rule_id, n in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        rules=rules,
        used_rules=used,
        techniques={t: technique_label(t, ruleset.techniques) for t in techniques},
        groups=groups,
        group_totals=group_totals,
        outliers=outliers,
        total=sum(by_status.values()),
        limit=limit,
        timeline={kind: _TimelineRow(db, names) for kind, names in TIMELINE_FIELDS.items()},
        weigher=ruleset.weigher(),
    )


OUTLIERS_SHOWN = 15
"""Outliers the first screen lists."""


def _outliers(db: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """The outliers the page lists, when the corpus stage scored the files."""
    if "corpus_scores" not in tables(db):
        return []
    return [
        {"idx": idx, "path": path, "score": score, "rare": rare_values(rare)}
        for idx, path, score, rare in db.execute(
            f"SELECT r.idx, f.path, s.outlier_score, s.rare_json FROM corpus_scores s "
            f"JOIN {table} r USING (record_id) JOIN files f USING (record_id) "
            "ORDER BY s.outlier_score DESC, s.record_id LIMIT ?",
            (OUTLIERS_SHOWN,),
        )
    ]


class _TimelineRow:
    """The (date, flagged) points of one timeline row, read from the store each time it is
    iterated (the first of ``names`` a file has wins), so the points are never all held."""

    __slots__ = ("_db", "_names")

    def __init__(self, db: sqlite3.Connection, names: tuple[str, ...]) -> None:
        self._db = db
        self._names = names

    def __iter__(self) -> Iterator[tuple[datetime, bool]]:
        marks = ",".join("?" * len(self._names))
        first = " ".join(f"WHEN ? THEN {i}" for i in range(len(self._names)))
        for verdict, value, _ in self._db.execute(
            f"SELECT f.verdict, d.value, min(CASE d.name {first} END) FROM fields d "
            f"JOIN present_files f USING (record_id) WHERE d.ord = 0 AND d.name IN ({marks}) "
            "GROUP BY d.record_id ORDER BY f.path, f.record_id",
            (*self._names, *self._names),
        ):
            moment = _parse(value)
            if moment is not None and moment != DOS_ZERO:
                yield moment, (verdict or "") in FLAGGED


def timeline_points(data: ReportData) -> dict[str, Iterable[tuple[datetime, bool]]]:
    """The timeline's points (kept for callers holding report data)."""
    return data.timeline


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
