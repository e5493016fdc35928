"""Corpus intelligence: what only the whole dump shows (scikit-learn lives here only).

Altered copies (MinHash/LSH over text shingles, difflib for the differing passages),
authoring fingerprints (DBSCAN clusters, rare values, an IsolationForest outlier score),
edit bursts, shared identifiers and language departures. Reads the store, never a document;
writes ordinary findings with ``source="corpus"`` and the ``corpus_*`` tables.
"""

from __future__ import annotations

from leaktriage.corpus.analysis import STEPS, CorpusSummary, analyze

__all__ = ["STEPS", "CorpusSummary", "analyze"]
