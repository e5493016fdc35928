"""The corpus stage: read the store, find what only the whole dump shows, write it back."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from leaktriage.bounds import strongest
from leaktriage.config import ScanConfig
from leaktriage.corpus import copies, families, fingerprints, language, links
from leaktriage.corpus.data import Doc, load_docs, when, who
from leaktriage.corpus.registry import TECHNIQUE, Group
from leaktriage.model import Evidence, Finding, Severity, Status
from leaktriage.rules import load_rules, verdict
from leaktriage.rules.verdict import Weigher, family_of
from leaktriage.store import Store

log = logging.getLogger(__name__)

STEPS = ("load", "copies", "fingerprints", "links", "language", "write")
LINKED_SHOWN = 3
"""Other members a shared-identifier finding names as evidence (its group lists them all)."""
VERDICT_BATCH = 5_000
"""Records whose stored findings are read at once to weigh their verdicts again."""
"""The analysis steps, in order, as progress reports name them."""

ProgressFn = Callable[[str, int, int], None]
"""progress(step, done, total): total is 0 when unknown."""


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
    """Every edit burst (not the ordinary save batches): (software, files, first save, last
    save)."""
    majority: dict[str, str] = field(default_factory=dict)
    """The dump's majority text language, metadata script and declared language."""
    verdicts_recomputed: int = 0
    """Records whose verdict and score were recomputed (those with corpus findings now or
    before this analysis)."""
    seconds: float = 0.0


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
    found_families, units_of, skipped = copies.find_families(
        stream(),
        fetch,
        lambda n: tick("copies", n, text_count),
        families.rank(families.content_heads(by_unit)),
    )
    if skipped:
        log.info("%d boilerplate LSH buckets not expanded", skipped)
    pair_rows, copy_findings, copy_groups, same_text = families.copy_groups(
        found_families, units_of, by_unit, docs
    )
    findings += copy_findings
    groups += copy_groups
    tick("copies", text_count, text_count)

    # --- fingerprints, clusters, outlier model --------------------------------------------
    tick("fingerprints", 0, len(docs))
    # One fingerprint per distinct content: a file copied into an archive is not two votes.
    prints = [
        fp
        for unit in sorted(by_unit)
        if (
            fp := fingerprints.fingerprint(
                next((d for d in by_unit[unit] if d.facts), by_unit[unit][0])
            )
        )
    ]
    rarity = fingerprints.Rarity.of(prints)
    values = [fp.values for fp in prints]
    scores, labels = (models or fingerprints.fit)(values)
    found_clusters = fingerprints.clusters(prints, labels)
    distinct = len(labels)
    for cluster in found_clusters:
        group = _cluster_group(cluster, by_unit)
        if distinct > fingerprints.CLUSTER_FIT_MAX:  # the report says the model saw a sample
            group[3]["fitted"] = (
                f"clusters fitted on the {fingerprints.CLUSTER_FIT_MAX:,} most common of "
                f"{distinct:,} distinct fingerprints; each other one joined the cluster of a "
                "core fingerprint within reach, or none"
            )
        groups.append(group)
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
    # A record keeps the strongest few findings of one check (a representative compared
    # with hundreds of copies, a file in many identifier groups); the groups keep everyone.
    findings = strongest(findings)
    findings.sort(key=lambda f: (f.record_id, f.rule_id, f.message))
    store.replace_corpus(findings, groups, pair_rows, score_rows)
    weigher = Weigher({})
    if config.use_rules:
        weigher = load_rules(Path(d) for d in config.rule_dirs).weigher()
    # Records of files no longer in the dump (marked gone) keep their last verdict.
    touched = sorted(rid for rid in set(before) | {f.record_id for f in findings} if rid in by_id)
    updates = []
    for start in range(0, len(touched), VERDICT_BATCH):  # findings read a batch at a time
        batch = touched[start : start + VERDICT_BATCH]
        stored = store.findings_by_record(batch)
        for rid in batch:
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
        bursts=sum(not b.ordinary for b in found_bursts),
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
        burst_list=[
            (b.software.describe(), b.units, when(b.first), when(b.last))
            for b in found_bursts
            if not b.ordinary
        ],
        verdicts_recomputed=len(updates),
        seconds=round(time.monotonic() - started, 2),
    )


# --- fingerprints ---------------------------------------------------------------------------


def _cluster_group(cluster: fingerprints.Cluster, by_unit: dict[str, list[Doc]]) -> Group:
    members = sorted(
        (d for m in cluster.members for d in by_unit[m.doc.unit]), key=lambda d: d.path
    )
    times = sorted(t for m in cluster.members if (t := m.doc.time("doc.modified")))
    summary = {
        "dominant": {k: {"value": v, "files": c} for k, (v, c) in cluster.dominant.items()},
        "modified_first": when(times[0]) if times else None,
        "modified_last": when(times[-1]) if times else None,
        "contents": len(cluster.members),
    }
    return (
        "fingerprint_cluster",
        cluster.label,
        [(d.record_id, "member") for d in members],
        summary,
    )


def _rare_text(rare: list[tuple[str, str, int]], total: int) -> str:
    return ", ".join(
        f"{fingerprints.LABELS.get(a, a)} {v}: {c:,} of {total:,} files" for a, v, c in rare
    )


def _outlier_finding(
    doc: Doc, rare: list[tuple[str, str, int]], rarity: fingerprints.Rarity
) -> Finding:
    total = rarity.total
    strong = fingerprints.dimensions(rare) >= fingerprints.STRONG_RARE
    agree = min(rarity.common_share(a) for a, _, _ in rare)
    return Finding(
        doc.record_id,
        "corpus-fingerprint-outlier",
        TECHNIQUE,
        Severity.LOW,
        "B" if strong else "C",
        "Authoring details seldom seen in this dump: "
        + _rare_text(rare, total)
        + f". On each of these, at least {agree:.0%} of the files here share a common value, "
        "so these stand out. Context, not proof: a file received from elsewhere or saved on "
        "another computer looks the same.",
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
        f"The outlier model finds this file's authoring details unusual for this dump "
        f"(score {score:.2f}, where above 0.50 means unusual); rare values: "
        + _rare_text(rare, total),
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


def _duration(span: timedelta) -> str:
    """A duration in words: '3 minutes 40 seconds', 'under a minute'."""
    minutes, seconds = divmod(int(span.total_seconds()), 60)
    if minutes == 0:
        return f"{seconds} seconds" if seconds > 1 else "under a second"
    said = f"{minutes} minute{'s' if minutes > 1 else ''}"
    return said + (f" {seconds} second{'s' if seconds > 1 else ''}" if seconds else "")


def _burst(burst: links.Burst) -> tuple[Group, list[Finding]]:
    span = burst.last - burst.first
    tool = burst.software.describe()
    within = _duration(span)
    names = [name for name, _ in burst.accounts]
    label = f"{burst.units} files saved by {tool} within {within}"
    if burst.ordinary:
        label = f"{burst.units} files saved in one sitting by {burst.account} ({tool})"
    group: Group = (
        "burst",
        label,
        [(d.record_id, "member") for d in burst.members],
        {
            "software": tool,
            "accounts": [{"name": n, "files": c} for n, c in burst.accounts],
            "account": burst.account,
            "ordinary": burst.ordinary,
            "software_elsewhere": burst.software_elsewhere,
            "first": when(burst.first),
            "last": when(burst.last),
            "files": burst.units,
            "paths": [d.path for d in burst.members],
        },
    )
    if burst.ordinary:
        rule, severity, grade = "corpus-save-batch", Severity.INFO, "C"
        message = (
            f"Saved in one sitting: one of {burst.units} files last saved within {within} "
            f"({when(burst.first)} to {when(burst.last)}) by "
            f"{_names(names)} with {tool}, the software that saved "
            f"{burst.software_elsewhere:,} other files of this dump. Most likely ordinary work."
        )
    else:
        rule = "corpus-edit-burst"
        rare_software = burst.software_elsewhere < links.BURST_MIN
        unseen = [n for n in names if burst.accounts_elsewhere.get(n, 0) == 0]
        severity, grade = (Severity.MEDIUM, "B") if rare_software else (Severity.LOW, "C")
        elsewhere = (
            "saved no other file in this dump"
            if burst.software_elsewhere == 0
            else f"saved only {burst.software_elsewhere:,} other file(s) in this dump"
        )
        if len(names) > 1:
            named = (
                f" They carry {len(names)} different last-saved-by names ({_names(names)}): a "
                "program keeps the name it was given, so the names alone hide the link."
            )
        elif names:
            named = f" All were last saved under the name «{names[0]}»."
        else:
            named = ""
        if unseen and not rare_software:
            named += f" The name(s) {_names(unseen)} saved no other file here."
        message = (
            f"One of {burst.units} files with separate histories that were all last saved "
            f"within {within} ({when(burst.first)} to {when(burst.last)}) by the same "
            f"software: {tool}, which {elsewhere}.{named}"
        )
    found = []
    for doc in burst.members:
        others = [d for d in burst.members if d.unit != doc.unit]
        evidence = [
            Evidence("corpus.software", tool, "the software that last saved every file here"),
            Evidence("doc.last_modified_by", who(doc), "this file's last-saved-by name"),
            Evidence("doc.modified", when(doc.time("doc.modified")), "this file's last save"),
            Evidence("doc.created", when(doc.time("doc.created")), "this file's creation"),
            Evidence("corpus.burst_span", within, f"{burst.units} files"),
            Evidence(
                "corpus.group", label, f"{len(burst.members):,} files: the group lists them all"
            ),
        ]
        evidence += [
            Evidence("corpus.burst_member", d.path, f"saved {when(d.time('doc.modified'))}")
            for d in others[:10]
        ]
        found.append(
            Finding(
                doc.record_id,
                rule,
                TECHNIQUE,
                severity,
                grade,
                message,
                tuple(evidence),
                "corpus",
                float(burst.units),
            )
        )
    return group, found


def _names(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"«{n}»" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


_IDENTIFIER_WORDS = {
    "ooxml.rsid_root": "Word's first editing session",
    "ooxml.doc_id": "Word document id",
    "ooxml.rsids": "Word editing session",
    "pdf.xmp_document_id": "XMP document id",
    "pdf.id_original": "PDF document id",
    "image.xmp_document_id": "image XMP document id",
    "email.thread_index_guid": "Outlook conversation id",
}


def _link(link: links.Link) -> tuple[Group, list[Finding]]:
    raw = ", ".join(f"{n}={v}" for n, v in link.values[:3])
    more = f" (+{len(link.values) - 3} more)" if len(link.values) > 3 else ""
    group: Group = (
        "identifier",
        f"{raw}{more}",
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
    kinds = sorted({_IDENTIFIER_WORDS.get(n, n) for n, _ in link.values})
    said = ", ".join(f"{_IDENTIFIER_WORDS.get(n, n)} {v}" for n, v in link.values[:2]) + (
        f" and {len(link.values) - 2} more" if len(link.values) > 2 else ""
    )
    found = []
    # Counted, not listed, per member: a group of k files would otherwise build k lists of
    # k (a thread id shared by thousands of mails).
    per_unit = Counter(d.unit for d in link.members)
    for doc in link.members:
        others = list(islice((d for d in link.members if d.unit != doc.unit), LINKED_SHOWN))
        other_count = len(link.members) - per_unit[doc.unit]
        evidence = [Evidence(n, v, "shared identifier") for n, v in link.values[:10]]
        evidence.append(
            Evidence(
                "corpus.group",
                group[1],
                f"{len(link.members):,} files: the group lists them all",
            )
        )
        evidence += [
            Evidence("corpus.linked_file", d.path, f"record {d.record_id}") for d in others
        ]
        found.append(
            Finding(
                doc.record_id,
                "corpus-shared-identifier",
                TECHNIQUE,
                severity,
                grade,
                f"Shares {'an identifier' if len(kinds) == 1 else 'identifiers'} ({said}) "
                f"with {other_count} other file(s){where}: they come from the same document "
                "or conversation. This says which files are related, not which was altered.",
                tuple(evidence),
                "corpus",
                float(len(link.members)),
            )
        )
    return group, found


# --- language -------------------------------------------------------------------------------

_ASPECT = {
    "text_language": ("text.language", "body text in", "are written in"),
    "metadata_script": ("meta.scripts", "metadata written in", "are written in"),
    "declared_language": ("doc.languages", "declared language", "declare"),
}


def _language_findings(odd: list[language.Departure]) -> list[Finding]:
    by_record: dict[str, list[language.Departure]] = {}
    for dep in odd:
        by_record.setdefault(dep.doc.record_id, []).append(dep)
    found = []
    for rid in sorted(by_record):
        deps = by_record[rid]
        parts = [
            f"{_ASPECT[d.aspect][1]} {d.value} ({d.value_count:,} of {d.total:,} files; "
            f"{d.majority_count:,} {_ASPECT[d.aspect][2]} {d.majority})"
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
                Severity.LOW,
                "B" if script else "C",
                "Language unlike nearly all of this dump: "
                + "; ".join(parts)
                + ". Context, not proof: a foreign partner, a quotation or a computer set up "
                "in another language look the same.",
                tuple(evidence),
                "corpus",
                float(len(deps)),
            )
        )
    return found
