"""Corpus intelligence: what only the whole dump shows (scikit-learn lives here only).

Altered copies (MinHash/LSH over text shingles, difflib for the differing passages, shared
lineage to tell a copy from a template), authoring fingerprints (DBSCAN clusters, rare
values, an IsolationForest outlier score), edit bursts by the re-saving software, shared
identifiers and language departures. Reads the store, never a document; writes ordinary
findings with ``source="corpus"`` and the ``corpus_*`` tables.

``FINDINGS`` describes every finding id the corpus stage and the mail-thread checks write:
category, title, rationale, innocent explanations and whether it is context only.
"""

from __future__ import annotations

from leaktriage.corpus import copies, fingerprints, language, links, mail
from leaktriage.corpus.analysis import STEPS, CorpusSummary, analyze
from leaktriage.corpus.registry import CorpusFinding, assemble, verdict_categories

FINDINGS: dict[str, CorpusFinding] = assemble(
    copies.FINDINGS,
    fingerprints.FINDINGS,
    language.FINDINGS,
    links.FINDINGS,
    mail.FINDINGS,
)
"""Every corpus finding id -> what it means (see :class:`CorpusFinding`)."""

__all__ = [
    "FINDINGS",
    "STEPS",
    "CorpusFinding",
    "CorpusSummary",
    "analyze",
    "verdict_categories",
]
