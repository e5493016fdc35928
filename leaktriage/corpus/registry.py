"""What each corpus finding means: category, title, rationale, innocent explanations, and
whether it is context only.

Each corpus module defines the findings it produces (``FINDINGS`` in copies, fingerprints,
language, links and mail); :data:`leaktriage.corpus.FINDINGS` assembles them by id. A
*context-only* finding is judged against this dump alone (how rare a value is here, which
files share an identifier or a template): it is shown beside a file's own evidence but must
never make a file ``likely_altered``, alone or as the corroborating second signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TECHNIQUE = "T0089.003"
"""Alter Authentic Documents (formerly T0025): what every corpus finding points to."""
Group = tuple[str, str, list[tuple[str, str]], dict[str, Any]]
"""A corpus group as the store keeps it: (kind, label, [(record_id, role)], summary)."""
CATEGORIES = frozenset({"alteration", "provenance", "anomaly"})
"""Categories a corpus finding may have (the rules' own vocabulary)."""


@dataclass(frozen=True, slots=True)
class CorpusFinding:
    """One corpus finding id, as reports and the verdict need it."""

    id: str
    category: str
    """alteration, provenance or anomaly."""
    title: str
    rationale: str
    innocent: tuple[str, ...]
    """Ordinary reasons for the same observation, for the reader to rule out."""
    context_only: bool
    """Judged against this dump only: never enough, nor a corroborating signal, to call a
    file likely altered."""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.id}: category {self.category!r} not in {sorted(CATEGORIES)}")
        if not self.innocent:
            raise ValueError(f"{self.id}: give at least one innocent explanation")


def assemble(*groups: Iterable[CorpusFinding]) -> dict[str, CorpusFinding]:
    """The findings of every module by id, sorted; a duplicate id is an error."""
    found: dict[str, CorpusFinding] = {}
    for group in groups:
        for finding in group:
            if finding.id in found:
                raise ValueError(f"corpus finding {finding.id} defined twice")
            found[finding.id] = finding
    return dict(sorted(found.items()))


VERDICT_CONTEXT = "anomaly"
"""The category the current verdict treats as never corroborating: what a context-only
finding is given to it until the verdict reads ``context_only`` itself."""


def verdict_categories(findings: Mapping[str, CorpusFinding]) -> dict[str, str]:
    """Category of each corpus finding as :func:`leaktriage.rules.verdict` should see it:
    context-only findings as ``anomaly`` (never corroborating), the others their own."""
    return {fid: VERDICT_CONTEXT if f.context_only else f.category for fid, f in findings.items()}
