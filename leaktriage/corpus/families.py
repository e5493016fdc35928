"""Copy families into groups and findings: altered copies, versions, templates, formats.

``copies.find_families`` says which texts are near-copies of a representative text; this
module says what each member is to the representative file (``copies.kind_of``), writes the
altered-copy rows, one group per relation, and the findings that name them. Every member is
compared with the representative only, so a family of k files gives k findings, never k².
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from leaktriage.corpus import copies
from leaktriage.corpus.data import Doc, when, who
from leaktriage.corpus.registry import TECHNIQUE, Group
from leaktriage.model import Evidence, Finding, Severity

PairRow = tuple[str, str, float, list[dict[str, str]]]
"""An altered-copy row: (earlier record, later record, similarity, passages that differ)."""


def _stamp(doc: Doc) -> datetime | None:
    """When a file was last saved, or a message dated."""
    return doc.time("doc.modified") or doc.time("email.date")


def _saved(doc: Doc) -> tuple[bool, datetime, str]:
    """Sort key of a file by its last save (files without one last), then its path."""
    t = _stamp(doc)
    return (t is None, t or _NEVER, doc.path)


_NEVER = datetime.min.replace(tzinfo=UTC)


def content_heads(by_unit: dict[str, list[Doc]]) -> dict[str, Doc]:
    """Each content's document to read facts from: one that was parsed (a copy past the depth
    limit is recorded with no facts and no sniffed type)."""
    return {
        unit: next((d for d in records if d.facts.get("text.chars")), records[0])
        for unit, records in by_unit.items()
    }


def rank(head: dict[str, Doc]) -> Callable[[str, list[str]], tuple[int, bool, datetime, str]]:
    """How a family's representative text is chosen: the text most files carry, then the
    one saved first (then by path)."""

    def key(_text: str, units: list[str]) -> tuple[int, bool, datetime, str]:
        return (-len(units), *_saved(min((head[u] for u in units), key=_saved)))

    return key


class _Components:
    """Union-find over contents, for groups of files linked pair by pair."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def root(self, unit: str) -> str:
        while self.parent.get(unit, unit) != unit:
            unit = self.parent[unit]
        return unit

    def join(self, a: str, b: str) -> None:
        ra, rb = self.root(a), self.root(b)
        self.parent.setdefault(ra, ra)
        self.parent.setdefault(rb, rb)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[str]]:
        found: dict[str, list[str]] = {}
        for unit in sorted(self.parent):
            found.setdefault(self.root(unit), []).append(unit)
        return sorted(found.values())


def copy_groups(
    families: list[copies.Family],
    units_of: dict[str, list[str]],
    by_unit: dict[str, list[Doc]],
    docs: list[Doc],
) -> tuple[list[PairRow], list[Finding], list[Group], int]:
    """Groups, findings and altered-copy rows of the copy families and same-text contents.

    Each family member is related to the family's representative file only: the rows, the
    findings and the edges of the context groups grow with the members, not their square.
    Returns (altered-copy rows (earlier, later, similarity, passages), findings, groups,
    number of same-text groups).
    """
    rows: list[PairRow] = []
    found: list[Finding] = []
    groups: list[Group] = []
    common = copies.common_lineage(docs, len(by_unit))
    head = content_heads(by_unit)
    weaker = {kind: _Components() for kind in (copies.VERSIONS, copies.TEMPLATE, copies.FORMATS)}
    edges: dict[str, dict[str, list[tuple[Doc, copies.Pair]]]] = {k: {} for k in weaker}
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
        # The same text in several formats (a Word file and its PDF) is a conversion.
        first_of_mime: dict[str, str] = {}
        for unit in units:
            first_of_mime.setdefault(head[unit].mime, unit)
        heads = sorted(first_of_mime.values())
        for other in heads[1:]:
            weaker[copies.FORMATS].join(heads[0], other)
    altered = _Components()
    roles: dict[str, str] = {}
    for family in families:
        # The representative file: the earliest of the files carrying the representative text.
        a = min((head[u] for u in units_of[family.representative]), key=_saved)
        for pair in family.members:
            for ub in units_of[pair.b]:
                b = head[ub]
                kind = copies.kind_of(pair, a, b, common)
                if kind != copies.ALTERED:
                    weaker[kind].join(a.unit, b.unit)
                    edges[kind].setdefault(a.unit, []).append((b, pair))
                    edges[kind].setdefault(b.unit, []).append((a, _swapped(pair)))
                    continue
                # The text more files carry is the original one: the copy that departs
                # from it is the altered one, whatever its date. Between as many copies of
                # each text, the later save is.
                carried = len(units_of[family.representative])
                if carried > len(units_of[pair.b]):
                    earlier, later = a, b
                else:
                    earlier, later, carried = *_order(a, b), 0
                hunks = pair.hunks if earlier is a else _swap(pair.hunks)
                rows.append((earlier.record_id, later.record_id, pair.similarity, hunks))
                shared = copies.shared_lineage(earlier, later, common)
                found += _copy_findings(earlier, later, pair, hunks, shared, by_unit, carried)
                altered.join(earlier.unit, later.unit)
                roles.setdefault(earlier.unit, "original")
                roles[later.unit] = "altered"
    for units in altered.groups():
        members = sorted((d for u in units for d in by_unit[u]), key=lambda d: d.path)
        groups.append(
            (
                "copies",
                f"altered copies: {members[0].path.rsplit('/', 1)[-1][:80]}",
                [(d.record_id, roles[d.unit]) for d in members],
                {"contents": len(units), "paths": [d.path for d in members]},
            )
        )
    for kind, components in weaker.items():
        for units in components.groups():
            group, kind_findings = _weaker_group(kind, units, by_unit, head, edges[kind])
            groups.append(group)
            found += kind_findings
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows, found, groups, same_text


def _swap(hunks: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"a": h["b"], "b": h["a"]} for h in hunks]


def _swapped(pair: copies.Pair) -> copies.Pair:
    return copies.Pair(pair.b, pair.a, pair.similarity, pair.jaccard, _swap(pair.hunks))


def _order(a: Doc, b: Doc) -> tuple[Doc, Doc]:
    """(earlier, later) by last-save time, then by path."""
    ta, tb = _stamp(a), _stamp(b)
    if ta and tb and ta != tb:
        return (a, b) if ta < tb else (b, a)
    return (a, b) if a.path <= b.path else (b, a)


def _passages(hunks: list[dict[str, str]], limit: int = 3) -> str:
    """The passages that differ, for a sentence: «€ 1 200 000» → «€ 12 000 000»."""
    shown = "; ".join(f"«{h['a']}» → «{h['b']}»" for h in hunks[:limit])
    more = f" and {len(hunks) - limit} more" if len(hunks) > limit else ""
    return shown + more if shown else "none in the part of the text compared"


def _places(count: int) -> str:
    return "one place" if count == 1 else f"{count} places"


def _copy_findings(
    earlier: Doc,
    later: Doc,
    pair: copies.Pair,
    hunks: list[dict[str, str]],
    shared: list[tuple[str, str]],
    by_unit: dict[str, list[Doc]],
    carried: int = 0,
) -> list[Finding]:
    """The findings on both sides of an altered copy: ``later`` is the copy whose text was
    changed, ``earlier`` the one it departs from (``carried``: how many files carry that
    text, when that decided which is which; 0 when the dates did)."""
    shown = _passages(hunks)
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
    rsids = sorted(set(earlier.items("ooxml.rsids")) & set(later.items("ooxml.rsids")))
    ta, tb = _stamp(earlier), _stamp(later)
    resaved_elsewhere = any(
        n in ("doc.last_modified_by", "doc.application") for n, *_ in differences
    )
    small = pair.similarity >= 0.9 and 0 < len(hunks) <= 3
    lineage = copies.lineage_phrase(shared)
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
    evidence += [
        Evidence(name, value, "same in both copies: a shared origin") for name, value in shared
    ]
    out: list[Finding] = []
    for me, other, role in ((later, earlier, "altered"), (earlier, later, "original")):
        ev = [
            Evidence("corpus.copy_of", other.path, f"record {other.record_id}"),
            Evidence("corpus.this_file", me.path, f"this copy ({role})"),
            *evidence,
            Evidence(
                "doc.modified",
                when(me.time("doc.modified")),
                f"other: {when(other.time('doc.modified'))}",
            ),
        ]
        for name, _label, va, vb in differences:
            mine, theirs = (vb, va) if me is later else (va, vb)
            ev.append(Evidence(name, mine or "∅", f"other copy: {theirs or '∅'}"))
        if rsids:
            ev.append(
                Evidence("ooxml.rsids", " | ".join(rsids[:8]), f"{len(rsids)} save sessions shared")
            )
        if role == "altered":
            severity, grade = (
                (Severity.HIGH, "B") if small and resaved_elsewhere else (Severity.MEDIUM, "C")
            )
            extra = ""
            if carried:
                extra = (
                    f" {carried} files of this dump carry the other text; this one departs from it."
                )
            if ta and tb and tb > ta:
                extra += (
                    f" This copy was saved later ({when(tb)}, the other {when(ta)}) by «{who(me)}»."
                )
            elif ta and tb and tb < ta:
                extra += f" This copy is dated earlier ({when(tb)}, the other {when(ta)})."
            message = (
                f"Altered copy of {other.path}: both come from the same original ({lineage}), "
                f"and the text was changed in {_places(len(hunks))}: {shown}.{extra}"
            )
        else:
            # The original is not suspect for having been copied: the link is shown, the
            # verdict is left to its own findings.
            severity, grade = Severity.INFO, "C"
            message = (
                f"A copy of this file at {other.path} ({lineage}) has its text changed in "
                f"{_places(len(hunks))}: {shown}. "
                + (
                    f"{carried} files of this dump carry this file's text."
                    if carried
                    else "This file is the earlier version."
                )
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


_WEAKER = {
    copies.VERSIONS: ("corpus-document-versions", "versions of one document"),
    copies.TEMPLATE: ("corpus-same-template", "written from the same template"),
    copies.FORMATS: ("corpus-same-text-formats", "same text in several formats"),
}


def _format_name(doc: Doc) -> str:
    """A file's format for a sentence: its extension, else its MIME type."""
    name = doc.path.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext if ext and len(ext) <= 5 and ext.isalnum() else doc.mime


def _weaker_group(
    kind: str,
    units: list[str],
    by_unit: dict[str, list[Doc]],
    head: dict[str, Doc],
    edges: dict[str, list[tuple[Doc, copies.Pair]]],
) -> tuple[Group, list[Finding]]:
    """A group of files linked by a context-only relation, and a finding on each member."""
    rule, what = _WEAKER[kind]
    members = sorted((d for u in units for d in by_unit[u]), key=lambda d: d.path)
    formats = sorted({_format_name(head[u]) for u in units})
    if kind == copies.FORMATS:
        label = f"same text in {len(formats)} formats ({', '.join(formats)}): {len(units)} files"
    else:
        label = f"{what}: {len(units)} files"
    group: Group = (
        "copies",
        label,
        [(d.record_id, kind) for d in members],
        {"relation": kind, "contents": len(units), "paths": [d.path for d in members]},
    )
    found = []
    for doc in members:
        # Linear in the group: only the first few others are named.
        count = len(members) - len(by_unit[doc.unit])
        others = [d for d in members[: len(by_unit[doc.unit]) + 10] if d.unit != doc.unit][:10]
        shown = ", ".join(d.path for d in others[:3]) + (
            f" and {count - 3} more" if count > 3 else ""
        )
        mine = sorted(edges.get(doc.unit, []), key=lambda e: (-e[1].similarity, e[0].path))
        if kind == copies.FORMATS:
            message = (
                f"The same text exists in {len(formats)} formats ({', '.join(formats)}): "
                f"{shown}. Usually an export or a conversion, such as a Word file saved as PDF."
            )
        elif kind == copies.TEMPLATE:
            template = doc.text("doc.template")
            source = f" «{template}»" if template else ""
            message = (
                f"Nearly the same text as {count} other file(s) of the same kind "
                f"({shown}), but no shared history: each has its own creation time and "
                f"document ids. Most likely written from the same template{source} or form; "
                f"not a sign of alteration on its own."
            )
        else:
            message = (
                f"Another version of the same document as {shown}: they share its origin but "
                f"the text was reworked in many places. Usually successive drafts."
            )
        evidence = [
            Evidence("corpus.related_file", d.path, f"record {d.record_id}") for d in others[:10]
        ]
        for other, pair in mine[:3]:
            evidence.append(
                Evidence(
                    "corpus.similarity",
                    f"{pair.similarity:.3f}",
                    f"with {other.path}; differs: {_passages(pair.hunks, 2)}",
                )
            )
        found.append(
            Finding(
                doc.record_id,
                rule,
                TECHNIQUE,
                Severity.INFO,
                "C",
                message,
                tuple(evidence),
                "corpus",
                float(len(units)),
            )
        )
    return group, found
