"""Authoring fingerprints: who, with what, where — clustered, and the files that match nothing.

A fingerprint is ten attributes of a document's metadata (author, last saved by, company,
application, version, template, time-zone offset, code page, declared language, script of
the metadata). Genuine clusters mirror an organisation: its staff and their machines. A
file whose values are rare in this dump on several attributes at once was most likely
handled somewhere else; each rare value is reported with how common it is here.

Rarity is judged against the dump's own diversity. In a dump gathered from many sources
every author is rare, and a rare author then says nothing: an attribute counts only when
most of the files share a few common values of it (at most ``MAX_RARE_SHARE`` of the files
carry a rare value). Every finding here is context, never proof of alteration.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from leaktriage.corpus.data import Doc
from leaktriage.corpus.registry import CorpusFinding

ATTRIBUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("author", ("doc.author",)),
    ("last_modified_by", ("doc.last_modified_by", "ole.app_user")),
    ("company", ("doc.company",)),
    ("application", ("doc.application",)),
    ("app_version", ("doc.app_version",)),
    ("template", ("doc.template",)),
    ("timezone", ("doc.modified_offset", "doc.created_offset")),
    ("codepage", ("doc.codepage", "ole.biff_codepage")),
    ("language", ("doc.languages",)),
    ("script", ("meta.scripts",)),
)
"""Fingerprint attributes and the facts each is read from (the first present wins)."""
IDENTITY = ("author", "last_modified_by", "company", "application", "template", "codepage")
"""A record needs two of these to have a fingerprint (emails, images and archives do not)."""
RARE_FRACTION = 0.05
"""A value is rare when at most this share (1 in 20) of the fingerprinted files carry it ..."""
RARE_MIN = 2
"""... or at most this many files (whichever is larger)."""
MIN_POPULATION = 50
"""Fingerprinted files needed before any value is called rare: in a handful of files every
author is "1 of 40", which says nothing about where a file came from."""
MAX_RARE_SHARE = 0.1
"""An attribute whose rare values are carried by more than this share of the files that have
it is too diverse in this dump for a rare value to stand out (80 % unique authors: a unique
author is ordinary)."""
OUTLIER_RARE = 2
"""Rare dimensions that make a fingerprint outlier (low severity)."""
STRONG_RARE = 3
"""Rare dimensions that make it a medium-severity, grade B outlier."""
DIMENSION = {"author": "person", "last_modified_by": "person"}
"""Author and last-saved-by count as one dimension: a colleague who writes little is one
rare person, not two rare attributes."""


def dimensions(rare: list[tuple[str, str, int]]) -> int:
    """Independent dimensions among rare attributes."""
    return len({DIMENSION.get(name, name) for name, _value, _count in rare})


MODEL_THRESHOLD = 0.5
"""Isolation-forest score above which a file is unusual (the estimator's own 'auto' cut)."""
MISSING = "∅"
SEED = 0


@dataclass(slots=True)
class Fingerprint:
    """One file's fingerprint."""

    doc: Doc
    values: tuple[str, ...]
    """One value per attribute in ``ATTRIBUTES`` (``MISSING`` when absent)."""


def _normal(value: str) -> str:
    return " ".join(value.split())


def fingerprint(doc: Doc) -> Fingerprint | None:
    """The document's fingerprint, or None when it has too little authoring metadata."""
    values = []
    for _name, sources in ATTRIBUTES:
        found = MISSING
        for source in sources:
            items = doc.items(source) if source in ("doc.languages", "meta.scripts") else ()
            if items:
                found = ", ".join(sorted({_normal(i) for i in items if i.strip()})) or MISSING
            else:
                text = doc.text(source)
                if text and text.strip():
                    found = _normal(text)
            if found != MISSING:
                break
        values.append(found)
    present = sum(values[i] != MISSING for i, (n, _) in enumerate(ATTRIBUTES) if n in IDENTITY)
    if present < 2:
        return None
    return Fingerprint(doc, tuple(values))


@dataclass(slots=True)
class Rarity:
    """How common each attribute value is among the fingerprinted files, and how diverse
    each attribute is in this dump."""

    counts: list[Counter[str]]
    total: int
    threshold: float
    rare_share: list[float]
    """Per attribute: share of the files having it whose value is rare (0: every file has a
    common value; 1: every value is rare)."""

    @classmethod
    def of(cls, prints: list[Fingerprint]) -> Rarity:
        counts: list[Counter[str]] = [Counter() for _ in ATTRIBUTES]
        for fp in prints:
            for i, value in enumerate(fp.values):
                counts[i][value] += 1
        total = len(prints)
        if total < MIN_POPULATION:
            # too few files to say what is rare
            return cls(counts, total, -1.0, [1.0] * len(ATTRIBUTES))
        threshold = max(RARE_MIN, RARE_FRACTION * total)
        shares = []
        for counter in counts:
            present = sum(c for v, c in counter.items() if v != MISSING)
            rare = sum(c for v, c in counter.items() if v != MISSING and c <= threshold)
            shares.append(rare / present if present else 1.0)
        return cls(counts, total, threshold, shares)

    def informative(self, index: int) -> bool:
        """The attribute is concentrated enough in this dump for a rare value to stand out."""
        return self.threshold >= 0 and self.rare_share[index] <= MAX_RARE_SHARE

    def common_share(self, name: str) -> float:
        """Share of the files having the attribute whose value is common here."""
        return 1.0 - self.rare_share[[n for n, _ in ATTRIBUTES].index(name)]

    def rare(self, fp: Fingerprint) -> list[tuple[str, str, int]]:
        """(attribute, value, files with that value) for each rare, present value of an
        attribute that is concentrated enough in this dump to tell."""
        found = []
        for i, value in enumerate(fp.values):
            count = self.counts[i][value]
            if value != MISSING and count <= self.threshold and self.informative(i):
                found.append((ATTRIBUTES[i][0], value, count))
        return found


@dataclass(slots=True)
class Cluster:
    """A group of files with nearly the same fingerprint."""

    members: list[Fingerprint]
    dominant: dict[str, tuple[str, int]]
    """Attribute -> (most common value, files with it) within the cluster."""

    @property
    def label(self) -> str:
        """The values most of the cluster shares (at least half its files), for a table."""
        size = len(self.members)
        shown = [
            f"{name}={value}"
            for name in LABEL_ORDER
            for value, count in (self.dominant[name],)
            if value != MISSING and count * 2 >= size
        ]
        return "; ".join(shown[:4]) or "no shared authoring values"


LABEL_ORDER = (
    "last_modified_by",
    "author",
    "application",
    "app_version",
    "company",
    "codepage",
    "language",
    "script",
    "template",
    "timezone",
)
"""Attributes in the order a cluster's label names them."""


def clusters(
    prints: list[Fingerprint], labels: dict[tuple[str, ...], int] | None = None
) -> list[Cluster]:
    """DBSCAN over the distinct fingerprints, weighted by how many files share each.

    Fingerprints are coded per attribute and compared by Hamming distance: two files are
    neighbours when they differ on at most one attribute of ten. Clusters need
    ``max(3, 0.5 % of the files)`` files; what belongs to none is left out (outliers).
    ``labels`` are :func:`cluster_labels` of these prints' values, when already fitted.
    """
    if not prints:
        return []
    if labels is None:
        labels = cluster_labels([fp.values for fp in prints])
    grouped: dict[int, list[Fingerprint]] = {}
    for fp in prints:
        label = labels[fp.values]
        if label >= 0:
            grouped.setdefault(label, []).append(fp)
    found = []
    for members in grouped.values():
        dominant = {}
        for i, (name, _) in enumerate(ATTRIBUTES):
            value, count = sorted(Counter(m.values[i] for m in members).items(), key=_top)[0]
            dominant[name] = (value, count)
        members.sort(key=lambda m: m.doc.record_id)
        found.append(Cluster(members, dominant))
    found.sort(key=lambda c: (-len(c.members), c.label, c.members[0].doc.record_id))
    return found


def cluster_labels(values: list[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """DBSCAN's cluster label (-1: none) of each distinct fingerprint among ``values``."""
    if not values:
        return {}
    counts = Counter(values)
    distinct = sorted(counts)
    weights = np.array([counts[v] for v in distinct], dtype=np.float64)
    # Hamming distance only asks "same value or not": any per-column coding will do.
    codebook: dict[tuple[int, str], int] = {}
    codes = np.array(
        [
            [codebook.setdefault((col, v), len(codebook)) for col, v in enumerate(row)]
            for row in distinct
        ],
        dtype=np.float64,
    )
    min_samples = max(3, math.ceil(0.005 * len(values)))
    found = _cluster_labels(codes, weights, min_samples)
    return {row: int(label) for row, label in zip(distinct, found, strict=True)}


Fitted = tuple[list[float], dict[tuple[str, ...], int]]
"""What the models give for a list of fingerprint values: the outlier score of each, and the
cluster label of each distinct one."""


def fit(values: list[tuple[str, ...]]) -> Fitted:
    """Everything scikit-learn computes here, from the fingerprints' values alone (so it can
    run in another process): :func:`value_scores` and :func:`cluster_labels`."""
    return value_scores(values), cluster_labels(values)


def preload() -> None:
    """Import the scikit-learn estimators this module uses (about 0.7 s of CPU, most of it
    SciPy's statistics), for a process that will call :func:`fit`."""
    import sklearn.cluster
    import sklearn.ensemble
    import sklearn.neighbors
    import sklearn.preprocessing  # noqa: F401


CLUSTER_FIT_MAX = 20_000
"""Most distinct fingerprints DBSCAN is fitted on. Its neighbour search grows with the square
of that number in the worst case (every file with a fingerprint of its own); above it, the
most common fingerprints are clustered and each other one joins the cluster of a core
fingerprint within reach, or none."""
EPS = 1.5 / len(ATTRIBUTES)
"""Neighbours differ on at most one attribute of ten (Hamming distance)."""


def _cluster_labels(codes: np.ndarray, weights: np.ndarray, min_samples: int) -> np.ndarray:
    """DBSCAN cluster label per distinct fingerprint (-1: in no cluster).

    Up to ``CLUSTER_FIT_MAX`` distinct fingerprints this is DBSCAN itself. Past it, DBSCAN
    is fitted on the ``CLUSTER_FIT_MAX`` most common ones (a cluster is made of common
    values, and its core points are the most shared fingerprints), and the others, taken a
    block at a time, get the label of their nearest core fingerprint when it is within
    ``EPS``: memory stays bounded by the fitted sample, not the dump.
    """
    # scikit-learn takes a second to import (SciPy's statistics come with it): only a dump
    # with fingerprints to cluster pays for it.
    from sklearn.cluster import DBSCAN

    if len(codes) <= CLUSTER_FIT_MAX:
        model = DBSCAN(eps=EPS, min_samples=min_samples, metric="hamming")
        labels: np.ndarray = model.fit(codes, sample_weight=weights).labels_
        return labels
    # Most common first; ties in the order of the sorted fingerprints (deterministic).
    order = np.lexsort((np.arange(len(codes)), -weights))
    fitted, rest = order[:CLUSTER_FIT_MAX], order[CLUSTER_FIT_MAX:]
    model = DBSCAN(eps=EPS, min_samples=min_samples, metric="hamming")
    model.fit(codes[fitted], sample_weight=weights[fitted])
    labels = np.full(len(codes), -1, dtype=np.int64)
    labels[fitted] = model.labels_
    cores = fitted[model.core_sample_indices_]
    if len(cores) == 0:
        return labels
    from sklearn.neighbors import NearestNeighbors

    nearest = NearestNeighbors(n_neighbors=1, metric="hamming").fit(codes[cores])
    for start in range(0, len(rest), CLUSTER_FIT_MAX):
        block = rest[start : start + CLUSTER_FIT_MAX]
        distance, which = nearest.kneighbors(codes[block])
        reach = distance[:, 0] <= EPS
        labels[block[reach]] = labels[cores[which[reach, 0]]]
    return labels


def _top(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def value_scores(values: list[tuple[str, ...]]) -> list[float]:
    """Isolation-forest anomaly score per fingerprint (0-1; above 0.5 is unusual here).

    IsolationForest suits this: it works on the sparse one-hot coding of categorical values
    in time linear in the number of files, needs no distance matrix (unlike LOF or
    one-class SVM), and is fitted on this dump alone with a fixed seed, so the same store
    gives the same scores. It cannot say *why* a file is unusual; the rare values do that.
    """
    if len(values) < 10:
        return [0.5] * len(values)
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=True, dtype=np.float32)
    matrix = encoder.fit_transform(np.array(values, dtype=object))
    forest = IsolationForest(
        n_estimators=200, max_samples=min(256, len(values)), random_state=SEED, n_jobs=1
    )
    forest.fit(matrix)
    return [round(float(-s), 4) for s in forest.score_samples(matrix)]


LABELS = {
    "author": "author",
    "last_modified_by": "last saved by",
    "company": "company",
    "application": "application",
    "app_version": "application version",
    "template": "template",
    "timezone": "time zone",
    "codepage": "code page",
    "language": "declared language",
    "script": "script of the metadata",
}
"""Each attribute in words, for messages."""

FINDINGS = (
    CorpusFinding(
        "corpus-fingerprint-outlier",
        "provenance",
        "Authoring details seldom seen in this dump",
        "Its author, application, code page, language or time zone match few other files "
        "here, on attributes where most files of this dump agree; each rare value is listed "
        "with how common it is. It says where a file may have been handled, not that it was "
        "altered.",
        (
            "a file received from outside the organisation (a supplier, a press office)",
            "a visitor's, a new colleague's or a home computer",
            "an attachment kept as it was sent",
        ),
        context_only=True,
    ),
    CorpusFinding(
        "corpus-outlier-score",
        "anomaly",
        "Unusual for this dump (outlier model)",
        "A model fitted on this dump's authoring details finds the file unusual; never enough "
        "on its own to call a file altered.",
        (
            "any file from another source than most of the dump",
            "a rare but ordinary combination of author, software and settings",
        ),
        context_only=True,
    ),
)
