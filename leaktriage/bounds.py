"""How much one record may say in ``files.jsonl``: bounded lines at any dump size.

A record's line is read by ingestion scripts one at a time; a line that grows with the dump
(a list of every linked file, every finding of one rule) or with one hostile value (a
10,000-entry link list, a megabyte-long title) makes that contract unusable. So each line
keeps, per rule, the ``MAX_PER_RULE`` strongest findings and counts the rest; per finding,
``MAX_EVIDENCE`` evidence lines; per field and raw value, ``MAX_ITEMS`` list items and
``MAX_CHARS`` characters. What was cut is said in the line itself, under ``"cut"``:
``{"fields.links.external": {"kept": 50, "left_out": 450}}``, and nothing is lost: the
store keeps every value (``leaktriage show``, the ``fields`` and ``evidence`` tables) and the
corpus group tables hold every member of a group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leaktriage.model import Finding, Severity

MAX_PER_RULE = 3
"""Findings of one rule a record keeps (the strongest); the others are counted."""
MAX_EVIDENCE = 20
"""Evidence lines a finding keeps in the line."""
MAX_ITEMS = 50
"""Items a list value keeps in the line."""
MAX_CHARS = 2_000
"""Characters a text value keeps in the line."""
MAX_EVIDENCE_CHARS = 500
"""Characters an evidence value or note keeps in the line."""

_RANK = {s.name.lower(): s.value for s in Severity}


def strongest(findings: Iterable[Finding], limit: int = MAX_PER_RULE) -> list[Finding]:
    """At most ``limit`` findings of each rule on each record: the most severe, then the
    highest scored, then by message; a kept finding of a rule that had more says how many
    more in its message. Order: as given, for the kept ones."""
    listed = list(findings)
    by_key: dict[tuple[str, str], list[int]] = {}
    for index, f in enumerate(listed):
        by_key.setdefault((f.record_id, f.rule_id), []).append(index)
    keep: dict[int, int] = {}
    for indexes in by_key.values():
        ranked = sorted(
            indexes,
            key=lambda i: (-listed[i].severity, -(listed[i].score or 0.0), listed[i].message),
        )
        for i in ranked[:limit]:
            keep[i] = 0
        if len(ranked) > limit:
            keep[ranked[limit - 1]] = len(ranked) - limit
    out = []
    for index, f in enumerate(listed):
        if index not in keep:
            continue
        more = keep[index]
        if more:
            said = "finding" if more == 1 else "findings"
            f = Finding(
                f.record_id,
                f.rule_id,
                f.technique,
                f.severity,
                f.grade,
                f"{f.message} ({more:,} weaker {said} of this check on this file left out; "
                "the corpus group lists every member.)",
                f.evidence,
                f.source,
                f.score,
            )
        out.append(f)
    return out


def bounded(data: dict[str, Any]) -> dict[str, Any]:
    """A record's JSON form within the bounds, with ``"cut"`` saying what was left out."""
    # A line rendered again keeps what was cut from its values; what was cut from its
    # findings is measured again.
    cut = values_cut(data.get("cut"))
    for section in ("fields", "raw"):
        kept = data.get(section)
        if isinstance(kept, dict):
            data[section] = {
                name: _value(value, f"{section}.{name}", cut) for name, value in kept.items()
            }
    findings = data.get("findings")
    if isinstance(findings, list):
        data["findings"] = bounded_findings(findings, cut)
    if cut:
        data["cut"] = dict(sorted(cut.items()))
    else:
        data.pop("cut", None)
    return data


def values_cut(cut: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
    """What a line's ``"cut"`` says was cut from its values, without its findings' entries
    (measured again whenever the findings change)."""
    return {k: v for k, v in (cut or {}).items() if not k.startswith("findings.")}


def _value(value: Any, where: str, cut: dict[str, dict[str, int]]) -> Any:
    if isinstance(value, str) and len(value) > MAX_CHARS:
        cut[where] = {"kept_chars": MAX_CHARS, "left_out_chars": len(value) - MAX_CHARS}
        return value[:MAX_CHARS]
    if isinstance(value, list):
        items = value
        if len(items) > MAX_ITEMS:
            cut[where] = {"kept": MAX_ITEMS, "left_out": len(items) - MAX_ITEMS}
            items = items[:MAX_ITEMS]
        long = sum(isinstance(v, str) and len(v) > MAX_EVIDENCE_CHARS for v in items)
        if long:
            cut.setdefault(where, {})["items_shortened"] = long
            items = [v[:MAX_EVIDENCE_CHARS] if isinstance(v, str) else v for v in items]
        return items
    return value


def bounded_findings(findings: list[dict[str, Any]], cut: dict[str, dict[str, int]]) -> list[Any]:
    """The findings a line keeps (the strongest of each rule, evidence cut), with what was
    left out added to ``cut``."""
    keys = [(f.get("rule_id"), f.get("severity"), f.get("score")) for f in findings]
    out = []
    for i in kept_findings(keys, cut):
        f = findings[i]
        evidence = f.get("evidence")
        if isinstance(evidence, list):
            cut_evidence(f.get("rule_id"), len(evidence), cut)
            f = {**f, "evidence": bounded_evidence(evidence)}
        out.append(f)
    return out


def kept_findings(keys: list[tuple[Any, Any, Any]], cut: dict[str, dict[str, int]]) -> list[int]:
    """Which findings a line keeps, in their order, from each one's ``(rule_id, severity,
    score)``: the ``MAX_PER_RULE`` most severe, then highest scored, of each rule. The rules
    that had more are added to ``cut``."""
    counts: dict[str, int] = {}
    for rule, _, _ in keys:
        counts[str(rule)] = counts.get(str(rule), 0) + 1
    for rule, count in sorted(counts.items()):
        if count > MAX_PER_RULE:
            cut[f"findings.{rule}"] = {"kept": MAX_PER_RULE, "left_out": count - MAX_PER_RULE}
    if all(count <= MAX_PER_RULE for count in counts.values()):
        return list(range(len(keys)))
    ranked = sorted(
        range(len(keys)), key=lambda i: (-_RANK.get(str(keys[i][1]), 0), -(keys[i][2] or 0.0))
    )
    seen: dict[str, int] = {}
    keep = []
    for i in ranked:
        rule = str(keys[i][0])
        seen[rule] = seen.get(rule, 0) + 1
        if seen[rule] <= MAX_PER_RULE:
            keep.append(i)
    return sorted(keep)


def cut_evidence(rule_id: Any, count: int, cut: dict[str, dict[str, int]]) -> None:
    """Add to ``cut`` what a kept finding of ``rule_id`` with ``count`` evidence items leaves
    out of them (it keeps ``MAX_EVIDENCE``)."""
    if count > MAX_EVIDENCE:
        entry = cut.setdefault(f"findings.{rule_id}.evidence", {"kept": 0, "left_out": 0})
        entry["kept"] += MAX_EVIDENCE
        entry["left_out"] += count - MAX_EVIDENCE


def bounded_evidence(evidence: list[Any]) -> list[Any]:
    """The evidence items a kept finding shows (``MAX_EVIDENCE``, values cut to
    ``MAX_EVIDENCE_CHARS``); :func:`cut_evidence` says what was left out."""
    return [_evidence(e) for e in evidence[:MAX_EVIDENCE]]


def _evidence(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {
        key: (
            value[:MAX_EVIDENCE_CHARS] + f"… [{len(value) - MAX_EVIDENCE_CHARS:,} characters]"
            if isinstance(value, str) and len(value) > MAX_EVIDENCE_CHARS
            else value
        )
        for key, value in item.items()
    }
