"""Read what the reports show out of a store: summary counts, one row per file, details,
timeline dates and corpus groups. Reads the store only; never computes a finding."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from leaktriage.errors import LeakTriageError
from leaktriage.model import Severity
from leaktriage.rules import (
    CORPUS_CATEGORIES,
    CORPUS_TITLES,
    GRADE_FACTORS,
    WEIGHTS,
    RuleSet,
    load_rules,
)
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
SEVERITIES = ("high", "medium", "low", "info")
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


@dataclass(slots=True)
class ReportData:
    """Everything the HTML report and the terminal summary show."""

    run: dict[str, Any]
    leak_date: date | None
    files: list[dict[str, Any]]
    """One dict per record, in path order; ``idx`` is the position in this list."""
    by_verdict: dict[str, int]
    by_type: list[tuple[str, int]]
    by_status: dict[str, int]
    top_rules: list[tuple[str, int, str]]
    """(rule id, records it fired on, title)."""
    rules: dict[str, RuleInfo]
    techniques: dict[str, str]
    """Technique id -> "T0089.003 Alter Authentic Documents (formerly T0025 ...)"."""
    groups: list[dict[str, Any]] = field(default_factory=list)
    outliers: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    """Files in the store; more than ``len(files)`` when the table was capped."""
    timeline: dict[str, list[tuple[datetime, bool]]] = field(default_factory=dict)
    """Per timeline row, the (date, flagged) of every file of the store that has one."""

    def flagged(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Flagged files, most worrying first: verdict order, then the strongest single
        finding (a high grade-A one, such as a changed earlier revision, before many weak
        ones), then the score, then the path."""
        rank = {v: i for i, v in enumerate(VERDICTS)}
        chosen = sorted(
            (f for f in self.files if f["verdict"] in FLAGGED),
            key=lambda f: (rank[f["verdict"]], -_strongest(f), -(f["score"] or 0.0), f["path"]),
        )
        return chosen[:limit] if limit is not None else chosen


def _strongest(f: dict[str, Any]) -> float:
    """Weight of a file's strongest finding, as the verdict's score counts it."""
    return max(
        (
            WEIGHTS.get(Severity[str(x["severity"]).upper()], 0.0)
            * GRADE_FACTORS.get(str(x.get("grade")), 0.5)
            for x in f["findings"]
        ),
        default=0.0,
    )


def technique_label(technique_id: str, techniques: dict[str, dict[str, Any]]) -> str:
    """``T0089.003 Alter Authentic Documents (formerly T0025 Leak altered documents)``."""
    entry = techniques.get(technique_id)
    if not entry:
        return technique_id
    label = f"{technique_id} {entry.get('name', '')}".strip()
    if entry.get("formerly"):
        label += f" (formerly {entry['formerly']})"
    return label


def _ruleset(config: dict[str, Any]) -> RuleSet:
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


def _chosen(db: sqlite3.Connection, limit: int) -> set[str] | None:
    """Record ids the table keeps when the store has more than ``limit`` files, else None."""
    (total,) = db.execute("SELECT count(*) FROM present_files").fetchone()
    if total <= limit:
        return None
    # The order of ReportData.flagged: verdict rank, strongest finding, score, path.
    rank = " ".join(f"WHEN ? THEN {i}" for i in range(len(VERDICTS)))
    weight = " ".join(f"WHEN '{s.name.lower()}' THEN {w}" for s, w in WEIGHTS.items())
    factor = " ".join(f"WHEN '{g}' THEN {f}" for g, f in GRADE_FACTORS.items())
    strongest = (
        f"(SELECT max((CASE x.severity {weight} ELSE 0 END) * (CASE x.grade {factor} ELSE 0.5 "
        "END)) FROM findings x WHERE x.record_id = present_files.record_id)"
    )
    return {
        row[0]
        for row in db.execute(
            "SELECT record_id FROM present_files "
            f"ORDER BY CASE coalesce(verdict, 'no_signal') {rank} "
            f"ELSE 9 END, coalesce({strongest}, 0) DESC, score DESC, path, record_id LIMIT ?",
            (*VERDICTS, limit),
        )
    }


def load_report_data(store: Store, max_files: int = MAX_FILES) -> ReportData:
    """Read a store into :class:`ReportData` (a few queries, no extractor). The table holds
    at most ``max_files`` files; counts and timeline cover them all."""
    db = store.db
    run = store.last_run() or {}
    config = json.loads(run.get("config_json") or "{}")
    leak = config.get("leak_date")
    leak_date = date.fromisoformat(leak) if leak else None
    ruleset = _ruleset(config)
    rules = {
        rule_id: RuleInfo(title, rationale, [], CORPUS_CATEGORIES[rule_id])
        for rule_id, (title, rationale) in CORPUS_TITLES.items()
    }
    rules.update(
        {
            r.id: RuleInfo(r.title, r.rationale, list(r.false_positives), r.category)
            for r in ruleset.rules
        }
    )
    files: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    chosen = _chosen(db, max_files)
    for row in db.execute(
        "SELECT record_id, path, name, parent_id, depth, size, sha256, md5, mime, extension, "
        "extension_mismatch, mtime, status, extractor, verdict, score FROM present_files "
        "ORDER BY path, record_id"
    ):
        if chosen is not None and row[0] not in chosen:
            continue
        index[row[0]] = len(files)
        files.append(
            {
                "idx": len(files),
                "record_id": row[0],
                "path": row[1],
                "name": row[2],
                "parent_id": row[3],
                "depth": row[4],
                "size": row[5],
                "sha256": row[6] or "",
                "md5": row[7] or "",
                "mime": row[8],
                "extension": row[9],
                "extension_mismatch": bool(row[10]),
                "mtime": _iso(row[11]),
                "status": row[12],
                "extractor": row[13] or "",
                "verdict": row[14] or "no_signal",
                "score": row[15],
                "facts": {},
                "findings": [],
                "issues": [],
                "raw": [],
                "diffs": [],
                "corpus": [],
            }
        )
    for rid, name, value, _kind in db.execute(
        "SELECT record_id, name, value, value_type FROM fields ORDER BY record_id, name, ord"
    ):
        i = index.get(rid)
        if i is None:
            continue
        values = files[i]["facts"].setdefault(name, [])
        if len(values) < LIST_CAP:
            values.append(cut(value, SAMPLE_CAP if name == "text.sample" else VALUE_CAP))
    evidence: dict[int, list[list[str]]] = {}
    for fid, field_name, value, note in db.execute(
        "SELECT finding_id, field, value, note FROM evidence ORDER BY finding_id, ord"
    ):
        evidence.setdefault(fid, []).append([field_name, cut(value), note or ""])
    hits = dict(
        db.execute("SELECT rule_id, count(DISTINCT record_id) FROM findings GROUP BY rule_id")
    )
    for fid, rid, rule_id, technique, severity, grade, message, source, score in db.execute(
        "SELECT finding_id, record_id, rule_id, technique, severity, grade, message, source, "
        "score FROM findings ORDER BY record_id, finding_id"
    ):
        i = index.get(rid)
        if i is None:
            continue
        files[i]["findings"].append(
            {
                "rule_id": rule_id,
                "technique": technique,
                "severity": severity,
                "grade": grade,
                "message": cut(message),
                "source": source,
                "score": score,
                "evidence": evidence.get(fid, []),
            }
        )
    for rid, stage, code, message in db.execute(
        "SELECT record_id, stage, code, message FROM issues ORDER BY record_id, ord"
    ):
        if (i := index.get(rid)) is not None:
            files[i]["issues"].append([stage, code, cut(message)])
    for rid, key, value in db.execute(
        "SELECT record_id, key, value FROM raw_fields ORDER BY record_id, key"
    ):
        if (i := index.get(rid)) is not None and files[i]["verdict"] in FLAGGED:
            files[i]["raw"].append([key, cut(value, 200)])
    sev_rank = {s: n for n, s in enumerate(SEVERITIES)}
    for f in files:
        f["findings"].sort(key=lambda x: (sev_rank.get(x["severity"], 9), x["rule_id"]))
        f["chain"] = _chain(f, files, index)
    groups, outliers = _corpus(db, files, index)
    verdicts = dict(
        db.execute("SELECT coalesce(verdict, 'no_signal'), count(*) FROM present_files GROUP BY 1")
    )
    by_type = dict(db.execute("SELECT mime, count(*) FROM present_files GROUP BY mime"))
    by_status = dict(db.execute("SELECT status, count(*) FROM present_files GROUP BY status"))
    return ReportData(
        run=run,
        leak_date=leak_date,
        files=files,
        by_verdict={v: verdicts[v] for v in VERDICTS if verdicts.get(v)},
        by_type=sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
        by_status=dict(sorted(by_status.items())),
        top_rules=[
            (rule_id, n, rules[rule_id].title if rule_id in rules else "")
            for rule_id, n in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        rules=rules,
        techniques={
            t: technique_label(t, ruleset.techniques)
            for t in sorted({x["technique"] for f in files for x in f["findings"]})
        },
        groups=groups,
        outliers=outliers,
        total=sum(by_status.values()),
        timeline=_timeline(db),
    )


def _chain(f: dict[str, Any], files: list[dict[str, Any]], index: dict[str, int]) -> list[int]:
    """Indexes of the containers of ``f``, outermost first (archive -> mail -> attachment)."""
    chain: list[int] = []
    parent = f["parent_id"]
    while parent is not None and parent in index and len(chain) < 32:
        i = index[parent]
        if i in chain:
            break
        chain.append(i)
        parent = files[i]["parent_id"]
    return chain[::-1]


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def _corpus(
    db: sqlite3.Connection, files: list[dict[str, Any]], index: dict[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Corpus groups, outliers and pair diffs, when the corpus stage wrote its tables."""
    tables = _tables(db)
    groups: list[dict[str, Any]] = []
    if {"corpus_groups", "corpus_members"} <= tables:
        members: dict[int, list[tuple[int, str]]] = {}
        for gid, rid, role in db.execute(
            "SELECT group_id, record_id, role FROM corpus_members ORDER BY group_id, record_id"
        ):
            if (i := index.get(rid)) is not None:
                members.setdefault(gid, []).append((i, role or ""))
        for gid, kind, label, size, summary in db.execute(
            "SELECT group_id, kind, label, size, summary_json FROM corpus_groups "
            "ORDER BY kind, size DESC, group_id"
        ):
            summary_data = _loads(summary)
            group = {
                "group_id": gid,
                "kind": kind or "",
                "label": cut(label or "", 200),
                "size": size or 0,
                "summary": _summary_pairs(summary_data),
                "members": sorted(members.get(gid, []), key=lambda m: files[m[0]]["path"]),
            }
            groups.append(group)
            for i, role in group["members"]:
                files[i]["corpus"].append([group["kind"], group["label"], role])
    outliers: list[dict[str, Any]] = []
    if "corpus_scores" in tables:
        for rid, score, rare in db.execute(
            "SELECT record_id, outlier_score, rare_json FROM corpus_scores "
            "ORDER BY outlier_score DESC, record_id"
        ):
            if (i := index.get(rid)) is None:
                continue
            values = [
                [
                    cut(str(r.get("attribute", "")), 80),
                    cut(str(r.get("value", "")), 200),
                    int(r.get("count") or 0),
                    int(r.get("total") or 0),
                ]
                for r in (_loads(rare) or [])
                if isinstance(r, dict)
            ]
            files[i]["rare"] = values
            files[i]["outlier_score"] = score
            outliers.append({"idx": i, "score": score, "rare": values})
    if "corpus_pairs" in tables:
        for a, b, similarity, diff in db.execute(
            "SELECT record_a, record_b, similarity, diff_json FROM corpus_pairs "
            "ORDER BY record_a, record_b"
        ):
            ia, ib = index.get(a), index.get(b)
            if ia is None or ib is None:
                continue
            hunks = [
                [cut(str(h.get("a", "")), 1500), cut(str(h.get("b", "")), 1500)]
                for h in (_loads(diff) or [])[:20]
                if isinstance(h, dict)
            ]
            files[ia]["diffs"].append({"other": ib, "similarity": similarity, "hunks": hunks})
            files[ib]["diffs"].append(
                {"other": ia, "similarity": similarity, "hunks": [[y, x] for x, y in hunks]}
            )
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


def _timeline(db: sqlite3.Connection) -> dict[str, list[tuple[datetime, bool]]]:
    """Per timeline row, the (date, flagged) of every file that has one, streamed from SQL."""
    names = sorted({n for group in TIMELINE_FIELDS.values() for n in group})
    marks = ",".join("?" * len(names))
    per_file: dict[str, tuple[bool, dict[str, str]]] = {}
    for rid, verdict, name, value in db.execute(
        "SELECT f.record_id, f.verdict, d.name, d.value FROM fields d JOIN files f "
        f"USING (record_id) WHERE d.ord = 0 AND d.name IN ({marks}) ORDER BY f.path, f.record_id",
        names,
    ):
        per_file.setdefault(rid, ((verdict or "") in FLAGGED, {}))[1][name] = value
    points: dict[str, list[tuple[datetime, bool]]] = {k: [] for k in TIMELINE_FIELDS}
    for flagged, facts in per_file.values():
        for kind, group in TIMELINE_FIELDS.items():
            for name in group:
                if name in facts:
                    moment = _parse(facts[name])
                    if moment is not None and moment != DOS_ZERO:
                        points[kind].append((moment, flagged))
                    break
    return points


def timeline_points(data: ReportData) -> dict[str, list[tuple[datetime, bool]]]:
    """The timeline's points (kept for callers holding report data)."""
    return data.timeline


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
