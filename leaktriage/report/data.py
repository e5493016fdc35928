"""Read what the reports show out of a store: summary counts, one row per file, details,
timeline dates and corpus groups. Reads the store only; never computes a finding."""

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

from leaktriage.errors import LeakTriageError
from leaktriage.model import Finding, Severity, Status
from leaktriage.rules import SEVERITIES as SEVERITY_OF
from leaktriage.rules import RuleSet, load_rules
from leaktriage.rules.verdict import GRADE_FACTORS, WEIGHTS, Weigher, family_of

if TYPE_CHECKING:
    from leaktriage.store import Store

log = logging.getLogger(__name__)

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
VALUE_CAP = 400
"""Longest fact or evidence value kept in the report; longer ones are cut with a mark."""
SAMPLE_CAP = 300
"""Longest text sample kept per file."""
LIST_CAP = 20
"""Most elements of one list fact kept."""
MAX_FILES = 50_000
"""Most files the report's table and details hold (flagged files first, then by path); the
counts, rules and timeline always cover every file. About 1.1 MB of HTML per 1,000 files."""


def cut(text: str | None, cap: int = VALUE_CAP) -> str:
    """``text`` shortened to ``cap`` characters, saying how much was cut."""
    if text is None:
        return ""
    if len(text) <= cap:
        return text
    return f"{text[:cap]}… [{len(text) - cap} more characters]"


@dataclass(slots=True)
class RuleInfo:
    """What the report says about a rule id."""

    title: str
    rationale: str
    false_positives: list[str]
    category: str


_TABLE_IDS = itertools.count()
"""Numbers the temporary tables of shown files, one per :func:`load_report_data`."""


def _sql_list(names: Iterable[str]) -> str:
    """Fixed identifiers (verdict names) as a list of SQL literals."""
    return ", ".join(f"'{n}'" for n in names)


_FLAGGED_SQL = _sql_list(sorted(FLAGGED))
_RANK_SQL = (
    "CASE coalesce(f.verdict, 'no_signal') "
    + " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(VERDICTS))
    + " ELSE 9 END"
)
_STRONGEST_SQL = (
    "coalesce((SELECT max((CASE x.severity "
    + " ".join(f"WHEN '{s.name.lower()}' THEN {w}" for s, w in WEIGHTS.items())
    + " ELSE 0 END) * (CASE x.grade "
    + " ".join(f"WHEN '{g}' THEN {w}" for g, w in GRADE_FACTORS.items())
    + " ELSE 0.5 END)) FROM findings x WHERE x.record_id = f.record_id), 0)"
)
"""Severity and grade of a file's strongest finding: the tie-break between equal weights."""
_FLAGGED_ORDER = f"{_RANK_SQL}, coalesce(f.score, 0) DESC, {_STRONGEST_SQL} DESC, f.path, r.idx"
"""The order of :meth:`ReportData.flagged`: verdict rank, combined weight, strongest finding
by severity, path."""


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
    """The corpus groups the first screen lists (``GROUPS_SHOWN`` fingerprint clusters and
    ``GROUPS_SHOWN_OTHER`` others), each with its first ``MEMBERS_SHOWN`` members as
    ``(idx, role, name)`` and ``count``, its members in the table."""
    outliers: list[dict[str, Any]] = field(default_factory=list)
    """The ``OUTLIERS_SHOWN`` highest outlier scores among the files of the table."""
    total: int = 0
    """Files in the store; more than ``shown`` when the table was capped."""
    weigher: Weigher | None = None
    """How the scan's findings combine into verdicts (the weight chain of each file)."""
    timeline: dict[str, Iterable[tuple[datetime, bool]]] = field(default_factory=dict)
    """Per timeline row, the (date, flagged) of every file of the store that has one,
    read from the store each time it is iterated."""

    @property
    def files(self) -> list[dict[str, Any]]:
        """Every file of the table as a dict, in path order (``idx`` is the position). Holds
        them all in memory: the report itself streams :meth:`iter_files`."""
        return list(self.iter_files())

    def iter_files(self, idxs: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
        """The files of the table (only those at ``idxs``, when given) in path order, each
        with the weight chain of its verdict (``weights``) when it has findings."""
        for f in _iter_files(self.db, self.table, idxs):
            if f["findings"] and self.weigher is not None:
                f["weights"] = _weights(self.weigher, f)
            yield f

    def flagged(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Flagged files, most worrying first: verdict order, then the strongest single
        finding (a high grade-A one, such as a changed earlier revision, before many weak
        ones), then the score, then the path."""
        order = [
            row[0]
            for row in self.db.execute(
                f"SELECT r.idx FROM {self.table} r JOIN files f USING (record_id) "
                f"WHERE f.verdict IN ({_FLAGGED_SQL}) ORDER BY {_FLAGGED_ORDER} LIMIT ?",
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
            f"row_number() OVER (ORDER BY {_FLAGGED_ORDER}) AS pos "
            f"FROM {self.table} r JOIN files f USING (record_id) "
            f"WHERE f.verdict IN ({_FLAGGED_SQL})), "
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


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _iso(text: str | None) -> str:
    return text or ""


def _shown_table(db: sqlite3.Connection, limit: int) -> str:
    """A temporary table ``(idx, record_id)`` of the files the report's table holds, in path
    order: every file, or when the store has more than ``limit``, the ``limit`` most
    worrying (the order of :meth:`ReportData.flagged`)."""
    name = f"temp.report_files_{next(_TABLE_IDS)}"
    db.execute(f"CREATE TABLE {name} (idx INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE)")
    (total,) = db.execute("SELECT count(*) FROM present_files").fetchone()
    source = "SELECT record_id, path FROM present_files"
    if total > limit:
        source = (
            f"SELECT f.record_id, f.path FROM present_files f ORDER BY {_RANK_SQL}, "
            f"f.score DESC, {_STRONGEST_SQL} DESC, f.path, f.record_id LIMIT {int(limit)}"
        )
    db.execute(
        f"INSERT INTO {name} (idx, record_id) SELECT "
        f"row_number() OVER (ORDER BY path, record_id) - 1, record_id FROM ({source})"
    )
    db.commit()
    return name


def load_report_data(store: Store, max_files: int = MAX_FILES) -> ReportData:
    """Read what the report shows out of a store (a few queries, no extractor). The table
    holds at most ``max_files`` files; counts and timeline cover them all."""
    db = store.db
    run = store.last_run() or {}
    config = json.loads(run.get("config_json") or "{}")
    leak = config.get("leak_date")
    leak_date = date.fromisoformat(leak) if leak else None
    ruleset = run_ruleset(config)
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
    table = _shown_table(db, max_files)
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
    groups, outliers = _first_screen_corpus(db, table)
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
        outliers=outliers,
        total=sum(by_status.values()),
        timeline={kind: _TimelineRow(db, names) for kind, names in TIMELINE_FIELDS.items()},
        weigher=ruleset.weigher(),
    )


def _weights(weigher: Weigher, f: dict[str, Any]) -> list[str]:
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


def _iter_files(
    db: sqlite3.Connection, table: str, idxs: Sequence[int] | None = None
) -> Iterator[dict[str, Any]]:
    """The files of ``table`` (those at ``idxs`` only, when given) as dicts, in path order:
    one ordered query per table, merged file by file, so only one file is held at a time."""
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
    findings = rows(
        "SELECT r.idx, x.rule_id, x.technique, x.severity, x.grade, x.message, x.source, "
        f"x.score, x.finding_id FROM {table} r JOIN findings x USING (record_id) WHERE 1{where} "
        "ORDER BY r.idx, x.finding_id"
    )
    evidence = rows(
        f"SELECT r.idx, x.finding_id, e.field, e.value, e.note FROM {table} r "
        "JOIN findings x USING (record_id) JOIN evidence e USING (finding_id) "
        f"WHERE 1{where} ORDER BY r.idx, x.finding_id, e.ord"
    )
    issues = rows(
        f"SELECT r.idx, i.stage, i.code, i.message FROM {table} r JOIN issues i "
        f"USING (record_id) WHERE 1{where} ORDER BY r.idx, i.ord"
    )
    raw = rows(
        f"SELECT r.idx, k.key, k.value FROM {table} r JOIN files f USING (record_id) "
        f"JOIN raw_fields k ON k.record_id = r.record_id WHERE f.verdict IN ({_FLAGGED_SQL})"
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
    tables = _tables(db)
    corpus: _Rows | _NoRows = _NoRows()
    scores: _Rows | _NoRows = _NoRows()
    pairs: _Rows | _NoRows = _NoRows()
    if {"corpus_groups", "corpus_members"} <= tables:
        corpus = rows(
            f"SELECT r.idx, g.kind, g.label, m.role FROM {table} r JOIN corpus_members m "
            f"USING (record_id) JOIN corpus_groups g USING (group_id) WHERE 1{where} "
            "ORDER BY r.idx, g.kind, g.size DESC, g.group_id, m.rowid"
        )
    if "corpus_scores" in tables:
        scores = rows(
            f"SELECT r.idx, s.outlier_score, s.rare_json FROM {table} r JOIN corpus_scores s "
            f"USING (record_id) WHERE 1{where} ORDER BY r.idx, s.outlier_score DESC, s.rowid"
        )
    if "corpus_pairs" in tables:
        pairs = rows(
            "SELECT r.idx, o.idx, p.similarity, p.diff_json, 0, p.record_a, p.record_b, p.rowid "
            f"FROM corpus_pairs p JOIN {table} r ON r.record_id = p.record_a "
            f"JOIN {table} o ON o.record_id = p.record_b WHERE 1{where} UNION ALL "
            "SELECT r.idx, o.idx, p.similarity, p.diff_json, 1, p.record_a, p.record_b, p.rowid "
            f"FROM corpus_pairs p JOIN {table} r ON r.record_id = p.record_b "
            f"JOIN {table} o ON o.record_id = p.record_a WHERE 1{where} "
            "ORDER BY 1, 6, 7, 8, 5",
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
        facts: dict[str, list[str]] = {}
        values: list[str] = []
        current = None
        while fact is not None and fact[0] == idx:
            _, name, value = fact
            fact = next(fields, None)
            if name != current:
                current = name
                values = facts[name] = []
            elif len(values) >= LIST_CAP:
                continue
            if value is None:
                value = ""
            elif len(value) > VALUE_CAP or (name == "text.sample" and len(value) > SAMPLE_CAP):
                value = cut(value, SAMPLE_CAP if name == "text.sample" else VALUE_CAP)
            values.append(value)
        cited: dict[int, list[list[str]]] = {}
        for _, fid, field_name, value, note in evidence.take(idx):
            cited.setdefault(fid, []).append([field_name, cut(value), note or ""])
        found = [
            {
                "rule_id": rule_id,
                "technique": technique,
                "severity": severity,
                "grade": grade,
                "message": cut(message),
                "source": source,
                "score": score,
                "evidence": cited.get(fid, []),
            }
            for _, rule_id, technique, severity, grade, message, source, score, fid in (
                findings.take(idx)
            )
        ]
        found.sort(key=lambda x: (sev_rank.get(x["severity"], 9), x["rule_id"]))
        chain: list[int] = []
        for _, anc in chains.take(idx):
            if anc in chain:
                break
            chain.append(anc)
        f: dict[str, Any] = {
            "idx": idx,
            "record_id": row[1],
            "path": row[2],
            "name": row[3],
            "parent_id": row[4],
            "depth": row[5],
            "size": row[6],
            "sha256": row[7] or "",
            "md5": row[8] or "",
            "mime": row[9],
            "extension": row[10],
            "extension_mismatch": bool(row[11]),
            "mtime": _iso(row[12]),
            "status": row[13],
            "extractor": row[14] or "",
            "verdict": verdict,
            "score": row[16],
            "facts": facts,
            "findings": found,
            "issues": [[stage, code, cut(msg)] for _, stage, code, msg in issues.take(idx)],
            "raw": [[key, cut(value, 200)] for _, key, value in raw.take(idx)]
            if verdict in FLAGGED
            else [],
            "diffs": [_diff(p) for p in pairs.take(idx)],
            "corpus": [
                [kind or "", cut(label or "", 200), role]
                for _, kind, label, role in corpus.take(idx)
            ],
            "chain": chain[::-1],
        }
        for _, score, rare in scores.take(idx):
            f["rare"] = _rare(rare)
            f["outlier_score"] = score
        yield f


def _diff(row: tuple[Any, ...]) -> dict[str, Any]:
    """A file's side of a corpus pair: the other file, the similarity and the hunks."""
    _, other, similarity, diff, side = row[:5]
    hunks = [
        [cut(str(h.get("a", "")), 1500), cut(str(h.get("b", "")), 1500)]
        for h in (_loads(diff) or [])[:20]
        if isinstance(h, dict)
    ]
    if side:
        hunks = [[y, x] for x, y in hunks]
    return {"other": other, "similarity": similarity, "hunks": hunks}


def _rare(text: str | None) -> list[list[Any]]:
    return [
        [
            cut(str(r.get("attribute", "")), 80),
            cut(str(r.get("value", "")), 200),
            int(r.get("count") or 0),
            int(r.get("total") or 0),
        ]
        for r in (_loads(text) or [])
        if isinstance(r, dict)
    ]


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


GROUPS_SHOWN = 40
"""Fingerprint clusters the first screen lists."""
GROUPS_SHOWN_OTHER = 60
"""Other corpus groups (copies, bursts, identifiers) the first screen lists."""
MEMBERS_SHOWN = 6
"""Members named per group on the first screen."""
OUTLIERS_SHOWN = 15
"""Outliers the first screen lists."""


def _first_screen_corpus(
    db: sqlite3.Connection, table: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The corpus groups and outliers the first screen lists, when the corpus stage wrote
    its tables: a bounded number of each, whatever the size of the dump."""
    tables = _tables(db)
    groups: list[dict[str, Any]] = []
    if {"corpus_groups", "corpus_members"} <= tables:
        for clusters, limit in ((True, GROUPS_SHOWN), (False, GROUPS_SHOWN_OTHER)):
            for gid, kind, label, size, summary in db.execute(
                "SELECT group_id, kind, label, size, summary_json FROM corpus_groups "
                "WHERE (coalesce(kind, '') = 'fingerprint_cluster') = ? "
                "ORDER BY kind, size DESC, group_id LIMIT ?",
                (clusters, limit),
            ):
                members = db.execute(
                    f"SELECT r.idx, coalesce(m.role, ''), f.name FROM corpus_members m "
                    f"JOIN {table} r USING (record_id) JOIN files f USING (record_id) "
                    "WHERE m.group_id = ? ORDER BY r.idx, m.rowid",
                    (gid,),
                ).fetchall()
                groups.append(
                    {
                        "group_id": gid,
                        "kind": kind or "",
                        "label": cut(label or "", 200),
                        "size": size or 0,
                        "summary": _summary_pairs(_loads(summary)),
                        "members": [list(m) for m in members[:MEMBERS_SHOWN]],
                        "count": len(members),
                    }
                )
    outliers: list[dict[str, Any]] = []
    if "corpus_scores" in tables:
        for idx, path, score, rare in db.execute(
            f"SELECT r.idx, f.path, s.outlier_score, s.rare_json FROM corpus_scores s "
            f"JOIN {table} r USING (record_id) JOIN files f USING (record_id) "
            "ORDER BY s.outlier_score DESC, s.record_id LIMIT ?",
            (OUTLIERS_SHOWN,),
        ):
            outliers.append({"idx": idx, "path": path, "score": score, "rare": _rare(rare)})
    return groups, outliers


def _summary_pairs(data: Any) -> list[list[str]]:
    """A group's summary JSON as (key, value) text pairs."""
    if isinstance(data, dict):
        return [
            [cut(str(k), 80), cut(v if isinstance(v, str) else json.dumps(v, sort_keys=True), 200)]
            for k, v in sorted(data.items())
        ][:12]
    if data is None:
        return []
    return [["summary", cut(json.dumps(data, sort_keys=True), 200)]]


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
