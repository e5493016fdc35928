"""The corpus stage: read the store, find what only the whole dump shows, write it back."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leaktriage.config import ScanConfig
from leaktriage.corpus import copies, fingerprints, language, links
from leaktriage.corpus.data import Doc, load_docs
from leaktriage.model import Evidence, Finding, Severity, Status, iso_utc
from leaktriage.rules import load_rules, verdict
from leaktriage.rules.verdict import Weigher, family_of
from leaktriage.store import Store

log = logging.getLogger(__name__)

TECHNIQUE = "T0089.003"
"""Alter Authentic Documents (formerly T0025): what every corpus finding points to."""
STEPS = ("load", "copies", "fingerprints", "links", "language", "write")
"""The analysis steps, in order, as progress reports name them."""

ProgressFn = Callable[[str, int, int], None]
"""progress(step, done, total): total is 0 when unknown."""
Group = tuple[str, str, list[tuple[str, str]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    """What one corpus analysis found."""

    records: int
    fingerprinted: int
    """Records with enough authoring metadata to have a fingerprint."""
    texts: int
    """Records with body text compared for copies."""
    copy_pairs: int
    """Near-copy pairs (text nearly the same, bytes different)."""
    same_text_groups: int
    """Groups of files with the same text and different bytes."""
    clusters: int
    fingerprint_outliers: int
    model_outliers: int
    bursts: int
    identifier_links: int
    cross_links: int
    """Identifier links between files in different folders or mailboxes."""
    language_outliers: int
    findings_by_rule: dict[str, int] = field(default_factory=dict)
    top_clusters: list[tuple[str, int, str, str]] = field(default_factory=list)
    """The largest fingerprint clusters: (dominant values, files, first save, last save)."""
    burst_list: list[tuple[str, int, str, str]] = field(default_factory=list)
    """Every burst: (account, files, first save, last save)."""
    majority: dict[str, str] = field(default_factory=dict)
    """The dump's majority text language, metadata script and declared language."""
    verdicts_recomputed: int = 0
    """Records whose verdict and score were recomputed (those with corpus findings now or
    before this analysis)."""
    seconds: float = 0.0


def _when(value: datetime | None) -> str:
    return iso_utc(value) if value else "?"


def _who(doc: Doc) -> str:
    return doc.text("doc.last_modified_by") or doc.text("ole.app_user") or "?"


def analyze(
    store: Store,
    config: ScanConfig | None = None,
    progress: ProgressFn | None = None,
    models: Callable[[list[tuple[str, ...]]], fingerprints.Fitted] | None = None,
) -> CorpusSummary:
    """Run every corpus step over ``store`` and replace its corpus findings and tables.

    Reads facts and text samples only (never a document). Re-running replaces the previous
    corpus results. Every record that has, or had, corpus findings gets its verdict and
    score recomputed from all its findings. ``models`` fits the fingerprint models
    somewhere else (the scan's model process); by default :func:`fingerprints.fit` runs
    here. Both give the same results.
    """
    config = config or ScanConfig()
    started = time.monotonic()
    tick = progress or (lambda step, done, total: None)
    tick("load", 0, 0)
    docs = load_docs(store)
    by_id = {d.record_id: d for d in docs}
    by_unit: dict[str, list[Doc]] = {}
    for doc in docs:
        by_unit.setdefault(doc.unit, []).append(doc)
    tick("load", len(docs), len(docs))
    findings: list[Finding] = []
    groups: list[Group] = []

    # --- altered copies -------------------------------------------------------------------
    def stream() -> Iterator[tuple[str, str]]:
        seen: set[str] = set()
        for rid, text in store.texts():
            doc = by_id.get(rid)
            if doc is None or doc.unit in seen:
                continue
            seen.add(doc.unit)
            yield doc.unit, text

    def fetch(units: list[str]) -> dict[str, str]:
        # Any record of a content may be the one that holds its text: a copy past the depth
        # limit is recorded (hashed, not parsed) and may come first.
        wanted = {d.record_id: u for u in units for d in by_unit[u]}
        found: dict[str, str] = {}
        for rid, text in store.texts(sorted(wanted)):
            found.setdefault(wanted[rid], text)
        return found

    text_count = len({d.unit for d in docs if d.facts.get("text.chars")})
    tick("copies", 0, text_count)
    pairs, units_of, skipped = copies.find_pairs(
        stream(), fetch, lambda n: tick("copies", n, text_count)
    )
    if skipped:
        log.info("%d boilerplate LSH buckets not expanded", skipped)
    pair_rows, copy_findings, copy_groups, same_text = _copies(pairs, units_of, by_unit)
    findings += copy_findings
    groups += copy_groups
    tick("copies", text_count, text_count)

    # --- fingerprints, clusters, outlier model --------------------------------------------
    tick("fingerprints", 0, len(docs))
    # One fingerprint per distinct content: a file copied into an archive is not two votes.
    prints = [fp for unit in sorted(by_unit) if (fp := fingerprints.fingerprint(by_unit[unit][0]))]
    rarity = fingerprints.Rarity.of(prints)
    values = [fp.values for fp in prints]
    scores, labels = (models or fingerprints.fit)(values)
    found_clusters = fingerprints.clusters(prints, labels)
    for cluster in found_clusters:
        groups.append(_cluster_group(cluster, by_unit))
    score_rows: list[tuple[str, float | None, list[dict[str, Any]]]] = []
    fp_outliers = model_outliers = 0
    for fp, score in zip(prints, scores, strict=True):
        rare = rarity.rare(fp)
        rare_json = [
            {"attribute": a, "value": v, "count": c, "total": rarity.total} for a, v, c in rare
        ]
        for doc in by_unit[fp.doc.unit]:
            score_rows.append((doc.record_id, score, rare_json))
            if fingerprints.dimensions(rare) >= fingerprints.OUTLIER_RARE:
                fp_outliers += 1
                findings.append(_outlier_finding(doc, rare, rarity))
            if score > fingerprints.MODEL_THRESHOLD and rare:
                model_outliers += 1
                findings.append(_score_finding(doc, score, rare, rarity.total))
    tick("fingerprints", len(docs), len(docs))

    # --- bursts and shared identifiers ----------------------------------------------------
    tick("links", 0, len(docs))
    found_bursts = links.bursts(docs)
    for burst in found_bursts:
        group, burst_findings = _burst(burst)
        groups.append(group)
        findings += burst_findings
    found_links, _common = links.links(docs)
    cross = 0
    for link in found_links:
        cross += link.crosses
        group, link_findings = _link(link)
        groups.append(group)
        findings += link_findings
    tick("links", len(docs), len(docs))

    # --- language -------------------------------------------------------------------------
    tick("language", 0, len(docs))
    odd, norms = language.departures(docs)
    majority = {k: v[0] for k, v in norms.items()}
    lang_findings = _language_findings(odd)
    findings += lang_findings
    tick("language", len(docs), len(docs))

    # --- write ----------------------------------------------------------------------------
    tick("write", 0, len(findings))
    before = store.corpus_record_ids()
    findings.sort(key=lambda f: (f.record_id, f.rule_id, f.message))
    store.replace_corpus(findings, groups, pair_rows, score_rows)
    weigher = Weigher({})
    if config.use_rules:
        weigher = load_rules(Path(d) for d in config.rule_dirs).weigher()
    # Records of files no longer in the dump (marked gone) keep their last verdict.
    touched = sorted(rid for rid in set(before) | {f.record_id for f in findings} if rid in by_id)
    stored = store.findings_by_record(touched)
    updates = []
    for rid in touched:
        doc = by_id[rid]
        family = family_of(doc.mime)
        label, points = verdict(Status(doc.status), stored[rid], weigher, family)
        updates.append((rid, label, points))
    store.set_verdicts(updates)
    tick("write", len(findings), len(findings))
    return CorpusSummary(
        records=len(docs),
        fingerprinted=len(prints),
        texts=sum(len(v) for v in units_of.values()),
        copy_pairs=len(pair_rows),
        same_text_groups=same_text,
        clusters=len(found_clusters),
        fingerprint_outliers=fp_outliers,
        model_outliers=model_outliers,
        bursts=len(found_bursts),
        identifier_links=len(found_links),
        cross_links=cross,
        language_outliers=len({f.record_id for f in lang_findings}),
        findings_by_rule=dict(sorted(Counter(f.rule_id for f in findings).items())),
        majority=majority,
        top_clusters=[
            (label, len(members), summary["modified_first"] or "?", summary["modified_last"] or "?")
            for kind, label, members, summary in groups
            if kind == "fingerprint_cluster"
        ][:10],
        burst_list=[(b.account, b.units, _when(b.first), _when(b.last)) for b in found_bursts],
        verdicts_recomputed=len(updates),
        seconds=round(time.monotonic() - started, 2),
    )


# --- altered copies -------------------------------------------------------------------------


def _copies(
    pairs: list[copies.Pair], units_of: dict[str, list[str]], by_unit: dict[str, list[Doc]]
) -> tuple[list[tuple[str, str, float, list[dict[str, str]]]], list[Finding], list[Group], int]:
    rows: list[tuple[str, str, float, list[dict[str, str]]]] = []
    found: list[Finding] = []
    groups: list[Group] = []
    same_text = 0
    for key in sorted(units_of):
        units = units_of[key]
        if len(units) < 2:
            continue
        same_text += 1
        members = sorted((d for u in units for d in by_unit[u]), key=lambda d: d.path)
        groups.append(
            (
                "copies",
                f"same text, {len(units)} different files",
                [(d.record_id, "same_text") for d in members],
                {"similarity": 1.0, "contents": len(units), "paths": [d.path for d in members]},
            )
        )
    parent: dict[str, str] = {}

    def root(unit: str) -> str:
        while parent.get(unit, unit) != unit:
            unit = parent[unit]
        return unit

    roles: dict[str, str] = {}
    for pair in pairs:
        for ua in units_of[pair.a]:
            for ub in units_of[pair.b]:
                a, b = by_unit[ua][0], by_unit[ub][0]
                earlier, later = _order(a, b)
                rows.append(
                    (
                        earlier.record_id,
                        later.record_id,
                        pair.similarity,
                        pair.hunks if earlier is a else _swap(pair.hunks),
                    )
                )
                hunks = pair.hunks if earlier is a else _swap(pair.hunks)
                found += _copy_findings(earlier, later, pair, hunks, by_unit)
                parent[root(later.unit)] = root(earlier.unit)
                roles.setdefault(earlier.unit, "earlier")
                roles[later.unit] = "later"
    components: dict[str, list[str]] = {}
    for unit in sorted(roles):
        components.setdefault(root(unit), []).append(unit)
    for units in components.values():
        members = sorted((d for u in units for d in by_unit[u]), key=lambda d: d.path)
        groups.append(
            (
                "copies",
                f"altered copies: {members[0].path.rsplit('/', 1)[-1][:80]}",
                [(d.record_id, roles[d.unit]) for d in members],
                {"contents": len(units), "paths": [d.path for d in members]},
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows, found, groups, same_text


def _swap(hunks: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"a": h["b"], "b": h["a"]} for h in hunks]


def _order(a: Doc, b: Doc) -> tuple[Doc, Doc]:
    """(earlier, later) by last-save time, then by path."""
    ta, tb = a.time("doc.modified"), b.time("doc.modified")
    if ta and tb and ta != tb:
        return (a, b) if ta < tb else (b, a)
    return (a, b) if a.path <= b.path else (b, a)


def _copy_findings(
    earlier: Doc,
    later: Doc,
    pair: copies.Pair,
    hunks: list[dict[str, str]],
    by_unit: dict[str, list[Doc]],
) -> list[Finding]:
    shown = "; ".join(f"«{h['a']}» → «{h['b']}»" for h in hunks[:3]) or "none in the text sample"
    ta, tb = earlier.time("doc.modified"), later.time("doc.modified")
    differences = []
    for name, label in (
        ("doc.last_modified_by", "last saved by"),
        ("doc.author", "author"),
        ("doc.application", "application"),
        ("doc.app_version", "version"),
    ):
        va, vb = earlier.text(name), later.text(name)
        if va != vb:
            differences.append((name, label, va, vb))
    shared = sorted(set(earlier.items("ooxml.rsids")) & set(later.items("ooxml.rsids")))
    same = [
        name
        for name in ("ooxml.rsid_root", "ooxml.doc_id", "doc.template", "pdf.id_original")
        if earlier.text(name) and earlier.text(name) == later.text(name)
    ]
    ta, tb = earlier.time("doc.modified"), later.time("doc.modified")
    resaved_elsewhere = any(
        n in ("doc.last_modified_by", "doc.application") for n, *_ in differences
    )
    small = pair.similarity >= 0.9 and 0 < len(hunks) <= 3
    evidence = [
        Evidence(
            "corpus.similarity", f"{pair.similarity:.3f}", "difflib ratio of the word sequences"
        ),
        Evidence("corpus.jaccard", f"{pair.jaccard:.3f}", "shared word 3-grams"),
    ]
    evidence += [
        Evidence("corpus.diff", f"{h['a']} → {h['b']}", f"passage {i} that differs")
        for i, h in enumerate(hunks[:6], 1)
    ]
    out: list[Finding] = []
    for me, other, role in ((later, earlier, "later"), (earlier, later, "earlier")):
        ev = [
            Evidence("corpus.copy_of", other.path, f"record {other.record_id}"),
            Evidence("corpus.this_file", me.path, f"this copy ({role})"),
            *evidence,
            Evidence(
                "doc.modified",
                _when(me.time("doc.modified")),
                f"other: {_when(other.time('doc.modified'))}",
            ),
        ]
        for name, _label, va, vb in differences:
            mine, theirs = (vb, va) if me is later else (va, vb)
            ev.append(Evidence(name, mine or "∅", f"other copy: {theirs or '∅'}"))
        if shared:
            ev.append(
                Evidence(
                    "ooxml.rsids", " | ".join(shared[:8]), f"{len(shared)} save sessions shared"
                )
            )
        ev.extend(Evidence(name, me.text(name) or "", "same in both copies") for name in same)
        if role == "later":
            severity, grade = (
                (Severity.HIGH, "B") if small and resaved_elsewhere else (Severity.MEDIUM, "C")
            )
            extra = (
                f", saved later ({_when(tb)} vs {_when(ta)}) by {_who(me)!r}"
                if ta and tb and ta != tb
                else ""
            )
            message = (
                f"Near-copy of {other.path} ({pair.similarity:.0%} similar) with different "
                f"text: {shown}{extra}"
            )
        else:
            # The original is not suspect for having been copied: the link is shown, the
            # verdict is left to its own findings.
            severity, grade = Severity.INFO, "C"
            message = (
                f"A later near-copy exists at {other.path} ({pair.similarity:.0%} similar), "
                f"with different text: {shown}; this file is the earlier version"
            )
        out.extend(
            Finding(
                doc.record_id,
                "corpus-altered-copy",
                TECHNIQUE,
                severity,
                grade,
                message,
                tuple(ev),
                "corpus",
                pair.similarity,
            )
            for doc in by_unit[me.unit]
        )
    return out


# --- fingerprints ---------------------------------------------------------------------------


def _cluster_group(cluster: fingerprints.Cluster, by_unit: dict[str, list[Doc]]) -> Group:
    members = sorted(
        (d for m in cluster.members for d in by_unit[m.doc.unit]), key=lambda d: d.path
    )
    times = sorted(t for m in cluster.members if (t := m.doc.time("doc.modified")))
    summary = {
        "dominant": {k: {"value": v, "files": c} for k, (v, c) in cluster.dominant.items()},
        "modified_first": _when(times[0]) if times else None,
        "modified_last": _when(times[-1]) if times else None,
        "contents": len(cluster.members),
    }
    return (
        "fingerprint_cluster",
        cluster.label,
        [(d.record_id, "member") for d in members],
        summary,
    )


def _rare_text(rare: list[tuple[str, str, int]], total: int) -> str:
    return ", ".join(f"{a} {v}: {c:,} of {total:,} files" for a, v, c in rare)


def _outlier_finding(
    doc: Doc, rare: list[tuple[str, str, int]], rarity: fingerprints.Rarity
) -> Finding:
    total = rarity.total
    strong = fingerprints.dimensions(rare) >= fingerprints.STRONG_RARE
    return Finding(
        doc.record_id,
        "corpus-fingerprint-outlier",
        TECHNIQUE,
        Severity.MEDIUM if strong else Severity.LOW,
        "B" if strong else "C",
        f"Authoring fingerprint rare in this dump on {len(rare)} attributes at once "
        f"(rare: carried by at most {int(rarity.threshold):,} of the {total:,} files): "
        + _rare_text(rare, total),
        tuple(
            Evidence(f"fingerprint.{a}", v, f"{c:,} of {total:,} fingerprinted files")
            for a, v, c in rare
        ),
        "corpus",
        float(len(rare)),
    )


def _score_finding(doc: Doc, score: float, rare: list[tuple[str, str, int]], total: int) -> Finding:
    return Finding(
        doc.record_id,
        "corpus-outlier-score",
        TECHNIQUE,
        Severity.LOW,
        "C",
        f"The outlier model finds this file's metadata unusual for this dump (score {score:.2f}, "
        f"above 0.5 is unusual); rare values: " + _rare_text(rare, total),
        (
            Evidence(
                "corpus.outlier_score",
                f"{score:.3f}",
                f"isolation forest over {total:,} fingerprints, seed {fingerprints.SEED}",
            ),
            *(
                Evidence(f"fingerprint.{a}", v, f"{c:,} of {total:,} fingerprinted files")
                for a, v, c in rare
            ),
        ),
        "corpus",
        score,
    )


# --- bursts and links -----------------------------------------------------------------------


def _burst(burst: links.Burst) -> tuple[Group, list[Finding]]:
    span = burst.last - burst.first
    minutes, seconds = divmod(int(span.total_seconds()), 60)
    label = f"{burst.units} files saved by {burst.account} within {minutes} min {seconds} s"
    group: Group = (
        "burst",
        label,
        [(d.record_id, "member") for d in burst.members],
        {
            "account": burst.account,
            "first": _when(burst.first),
            "last": _when(burst.last),
            "files": burst.units,
            "paths": [d.path for d in burst.members],
        },
    )
    found = []
    for doc in burst.members:
        others = [d for d in burst.members if d.unit != doc.unit]
        message = (
            f"One of {burst.units} files with unrelated histories last saved by "
            f"{burst.account!r} within {minutes} min {seconds} s "
            f"({_when(burst.first)} – {_when(burst.last)})"
        )
        evidence = [
            Evidence("doc.last_modified_by", _who(doc), "same account for every file of the burst"),
            Evidence("doc.modified", _when(doc.time("doc.modified")), "this file's last save"),
            Evidence("doc.created", _when(doc.time("doc.created")), "this file's creation"),
            Evidence("corpus.burst_span", f"{minutes} min {seconds} s", f"{burst.units} files"),
        ]
        evidence += [
            Evidence("corpus.burst_member", d.path, f"saved {_when(d.time('doc.modified'))}")
            for d in others[:10]
        ]
        found.append(
            Finding(
                doc.record_id,
                "corpus-edit-burst",
                TECHNIQUE,
                Severity.MEDIUM,
                "B",
                message,
                tuple(evidence),
                "corpus",
                float(burst.units),
            )
        )
    return group, found


def _link(link: links.Link) -> tuple[Group, list[Finding]]:
    shown = ", ".join(f"{n}={v}" for n, v in link.values[:3])
    more = f" (+{len(link.values) - 3} more)" if len(link.values) > 3 else ""
    group: Group = (
        "identifier",
        f"{shown}{more}",
        [(d.record_id, "member") for d in link.members],
        {
            "identifiers": [{"field": n, "value": v} for n, v in link.values],
            "areas": link.areas,
            "crosses": link.crosses,
        },
    )
    # A shared identifier says which files are versions of one another, not which of them
    # was altered (an attachment saved into a folder shares its ids too): it is shown as a
    # link on every member and leaves the verdict to the members' own findings. Links that
    # cross places are graded B, the others C.
    threads = all(n == "email.thread_index_guid" for n, _ in link.values)
    severity, grade = Severity.INFO, ("B" if link.crosses and not threads else "C")
    where = (
        f" across {len(link.areas)} places ({', '.join(link.areas[:3])})" if link.crosses else ""
    )
    found = []
    for doc in link.members:
        others = [d for d in link.members if d.unit != doc.unit]
        evidence = [Evidence(n, v, "shared identifier") for n, v in link.values[:10]]
        evidence += [
            Evidence("corpus.linked_file", d.path, f"record {d.record_id}") for d in others[:10]
        ]
        found.append(
            Finding(
                doc.record_id,
                "corpus-shared-identifier",
                TECHNIQUE,
                severity,
                grade,
                f"Shares {shown}{more} with {len(others)} other file(s){where}",
                tuple(evidence),
                "corpus",
                float(len(link.members)),
            )
        )
    return group, found


# --- language -------------------------------------------------------------------------------

_ASPECT = {
    "text_language": ("text.language", "body text in"),
    "metadata_script": ("meta.scripts", "metadata written in"),
    "declared_language": ("doc.languages", "declared language"),
}


def _language_findings(odd: list[language.Departure]) -> list[Finding]:
    by_record: dict[str, list[language.Departure]] = {}
    for dep in odd:
        by_record.setdefault(dep.doc.record_id, []).append(dep)
    found = []
    for rid in sorted(by_record):
        deps = by_record[rid]
        parts = [
            f"{_ASPECT[d.aspect][1]} {d.value} ({d.value_count:,} of {d.total:,} files; the "
            f"dump's majority value {d.majority} covers {d.majority_count:,} of {d.total:,})"
            for d in deps
        ]
        script = any(d.aspect == "metadata_script" for d in deps)
        evidence = [
            Evidence(
                _ASPECT[d.aspect][0],
                d.value,
                f"{d.value_count:,} of {d.total:,} files; majority {d.majority} "
                f"({d.majority_count:,})",
            )
            for d in deps
        ]
        fields = deps[0].doc.items("meta.foreign_strings")
        if script and fields:
            evidence.append(
                Evidence("meta.foreign_strings", " | ".join(fields), "fields in that script")
            )
        found.append(
            Finding(
                rid,
                "corpus-language-outlier",
                TECHNIQUE,
                Severity.MEDIUM if script else Severity.LOW,
                "B" if script else "C",
                "Departs from the dump's language: " + "; ".join(parts),
                tuple(evidence),
                "corpus",
                float(len(deps)),
            )
        )
    return found
