"""Altered copies: documents whose text is the same or nearly the same, with different bytes.

No all-pairs loop. Each text becomes a set of word 3-gram shingles; a 48-value MinHash
signature (NumPy, seeded) estimates their Jaccard similarity, and LSH (12 bands of 4 rows:
a pair with Jaccard 0.7 becomes a candidate 96 % of the time, 0.8 99.8 %, 0.3 under 10 %)
turns "similar" into "same bucket", so the work grows with the number of documents, not
its square. Candidates are filtered on the signatures' agreement, then checked exactly
(Jaccard of the shingle sets, then difflib on the word sequences), and the passages that
differ are cut to the shortest readable hunks: "€ 1 200 000" against "€ 12 000 000".

MinHash and LSH are a few lines of NumPy here rather than ``datasketch``: its per-shingle
Python hashing would cost more than the whole analysis budget at 20,000 documents.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

TOKEN = re.compile(r"\w+|[^\w\s]")
"""Words and single punctuation marks: '€', ',' and '1' are tokens of their own."""
NUM_PERM = 48
BANDS = 12
ROWS = NUM_PERM // BANDS
SEED = 20170505
MIN_TOKENS = 20
"""Texts shorter than this (in tokens) are not compared: too little to call a copy."""
MIN_JACCARD = 0.5
"""Exact shingle similarity a candidate needs before difflib looks at it."""
MIN_ESTIMATE = 0.4
"""Share of equal MinHash values a candidate needs before the exact check (the estimate's
standard error at 48 values is about 0.07)."""
MIN_SIMILARITY = 0.8
"""difflib ratio over the word sequences from which two texts are reported as copies."""
MAX_BUCKET = 200
"""An LSH bucket holding more distinct texts than this is boilerplate (a form, a
disclaimer) and is not expanded into pairs."""
MAX_VERIFY = 100_000
"""Most candidate pairs checked exactly; beyond that the dump is mostly boilerplate and the
rest are left out (and logged)."""
MAX_HUNKS = 12
MAX_HUNK_CHARS = 240
_PRIME = np.uint64((1 << 61) - 1)
_MOD = np.uint64((1 << 31) - 1)
_NUMBERISH = re.compile(r"^(?:\d+|[€$£¥%.,'’\u00a0\u202f-])$")

Signature = npt.NDArray[np.uint64]


@dataclass(slots=True)
class Pair:
    """Two texts found to be near-copies."""

    a: str
    """Text key (sha1 of the normalized text) of the first."""
    b: str
    similarity: float
    """difflib ratio over the word sequences, 0-1."""
    jaccard: float
    """Shared word 3-grams over all word 3-grams."""
    hunks: list[dict[str, str]] = field(default_factory=list)
    """The passages that differ: ``{"a": ..., "b": ...}``, shortest readable form."""


def text_key(text: str) -> str:
    """Identity of a text up to whitespace."""
    return hashlib.sha1(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


class Sketcher:
    """Token ids (assigned in order of first sight: deterministic for a given store) and the
    MinHash permutations."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self._ids = itertools.count()
        rng = np.random.default_rng(SEED)
        self.a = rng.integers(1, int(_MOD), size=NUM_PERM, dtype=np.uint64)
        self.b = rng.integers(0, int(_MOD), size=NUM_PERM, dtype=np.uint64)

    def shingles(self, text: str) -> npt.NDArray[np.uint64]:
        """Sorted distinct hashes of the text's word 3-grams (empty when it is too short)."""
        tokens = TOKEN.findall(text.casefold())
        if len(tokens) < MIN_TOKENS:
            return np.empty(0, dtype=np.uint64)
        # A token keeps the first number drawn for it; numbers are never reused.
        ids = np.array(list(map(self.vocab.setdefault, tokens, self._ids)), dtype=np.uint64)
        mixed = ids[:-2] * np.uint64(1_000_003 * 1_000_003) + ids[1:-1] * np.uint64(1_000_003)
        mixed = (mixed + ids[2:]) % _PRIME
        return np.unique(mixed % _MOD)

    def signatures(self, sets: list[npt.NDArray[np.uint64]]) -> Signature:
        """MinHash signatures (one row per non-empty shingle set)."""
        lengths = np.array([len(s) for s in sets], dtype=np.int64)
        flat = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        out = np.empty((len(sets), NUM_PERM), dtype=np.uint64)
        for k in range(NUM_PERM):
            values = (self.a[k] * flat + self.b[k]) % _MOD
            out[:, k] = np.minimum.reduceat(values, starts)
        return out


def candidates(signatures: Signature) -> tuple[list[tuple[int, int]], int]:
    """Index pairs that share at least one LSH band and agree on enough MinHash values, and
    the number of oversized buckets left out."""
    found: list[npt.NDArray[np.int64]] = []
    skipped = 0
    n = len(signatures)
    weights = np.array([1, 1_000_003, 998_244_353, 1_000_000_007], dtype=np.uint64)[:ROWS]
    for band in range(BANDS):
        block = signatures[:, band * ROWS : (band + 1) * ROWS]
        keys = (block * weights).sum(axis=1, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        edges = np.flatnonzero(np.diff(keys[order])) + 1
        for run in np.split(order, edges):
            if len(run) < 2:
                continue
            if len(run) > MAX_BUCKET:
                skipped += 1
                continue
            run = np.sort(run).astype(np.int64)
            first, second = np.triu_indices(len(run), k=1)
            found.append(run[first] * n + run[second])
    if not found:
        return [], skipped
    codes = np.unique(np.concatenate(found))
    left, right = codes // n, codes % n
    keep = np.zeros(len(codes), dtype=bool)
    for start in range(0, len(codes), 50_000):
        part = slice(start, start + 50_000)
        agree = (signatures[left[part]] == signatures[right[part]]).mean(axis=1)
        keep[part] = agree >= MIN_ESTIMATE
    return [(int(a), int(b)) for a, b in zip(left[keep], right[keep], strict=True)], skipped


def _spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in TOKEN.finditer(text)]


def hunks(text_a: str, text_b: str) -> tuple[float, list[dict[str, str]]]:
    """difflib ratio of two texts' token sequences and the passages that differ, each grown
    to whole numbers ('1 200 000', not '1 200') and merged when a token or two apart."""
    spans_a, spans_b = _spans(text_a), _spans(text_b)
    tok_a = [text_a[s:e] for s, e in spans_a]
    tok_b = [text_b[s:e] for s, e in spans_b]
    matcher = difflib.SequenceMatcher(None, tok_a, tok_b, autojunk=False)
    ratio = matcher.ratio()
    changes: list[list[int]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        while (
            i1 > 0 and j1 > 0 and _NUMBERISH.match(tok_a[i1 - 1]) and tok_a[i1 - 1] == tok_b[j1 - 1]
        ):
            i1, j1 = i1 - 1, j1 - 1
        while (
            i2 < len(tok_a)
            and j2 < len(tok_b)
            and _NUMBERISH.match(tok_a[i2])
            and tok_a[i2] == tok_b[j2]
        ):
            i2, j2 = i2 + 1, j2 + 1
        if i1 == i2 or j1 == j2:
            # Pure insertion or deletion: one word of context each side to make it readable.
            i1, j1 = max(i1 - 1, 0), max(j1 - 1, 0)
            i2, j2 = min(i2 + 1, len(tok_a)), min(j2 + 1, len(tok_b))
        if changes and i1 - changes[-1][1] <= 2 and j1 - changes[-1][3] <= 2:
            changes[-1][1], changes[-1][3] = max(changes[-1][1], i2), max(changes[-1][3], j2)
        else:
            changes.append([i1, i2, j1, j2])
    out = []
    for i1, i2, j1, j2 in changes[:MAX_HUNKS]:
        part_a = text_a[spans_a[i1][0] : spans_a[i2 - 1][1]] if i2 > i1 else ""
        part_b = text_b[spans_b[j1][0] : spans_b[j2 - 1][1]] if j2 > j1 else ""
        out.append({"a": part_a[:MAX_HUNK_CHARS], "b": part_b[:MAX_HUNK_CHARS]})
    return round(ratio, 4), out


def find_pairs(
    texts: Iterable[tuple[str, str]],
    fetch: Callable[[list[str]], dict[str, str]],
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Pair], dict[str, list[str]], int]:
    """Near-copies among ``texts`` ((unit id, text), streamed once).

    Units with the same text (up to whitespace) share one text key and are compared once.
    ``fetch`` gives back the texts of the units asked for, to verify candidates.

    Returns the pairs (by text key), the units of each text key, and the number of
    boilerplate buckets skipped.
    """
    sketcher = Sketcher()
    units_of: dict[str, list[str]] = {}
    keys: list[str] = []
    batch: list[npt.NDArray[np.uint64]] = []
    signatures: list[Signature] = []
    seen = 0
    for unit, text in texts:
        seen += 1
        if progress and seen % 500 == 0:
            progress(seen)
        key = text_key(text)
        if key in units_of:
            units_of[key].append(unit)
            continue
        units_of[key] = [unit]
        shingles = sketcher.shingles(text)
        if not len(shingles):
            continue
        keys.append(key)
        batch.append(shingles)
        if len(batch) >= 1000:
            signatures.append(sketcher.signatures(batch))
            batch = []
    if batch:
        signatures.append(sketcher.signatures(batch))
    if not signatures:
        return [], units_of, 0
    matrix = np.vstack(signatures)
    pairs_idx, skipped = candidates(matrix)
    if not pairs_idx:
        return [], units_of, skipped
    wanted = sorted({units_of[keys[i]][0] for pair in pairs_idx for i in pair})
    fetched = fetch(wanted)
    text_of = {keys[i]: fetched[units_of[keys[i]][0]] for pair in pairs_idx for i in pair}
    cache: dict[str, npt.NDArray[np.uint64]] = {}
    checker = Sketcher()

    def shingle_set(key: str) -> npt.NDArray[np.uint64]:
        if key not in cache:
            cache[key] = checker.shingles(text_of[key])
        return cache[key]

    if len(pairs_idx) > MAX_VERIFY:
        log.warning("%d candidate pairs; only the first %d are checked", len(pairs_idx), MAX_VERIFY)
        pairs_idx = pairs_idx[:MAX_VERIFY]
    found = []
    for i, j in pairs_idx:
        ka, kb = sorted((keys[i], keys[j]))
        sa, sb = shingle_set(ka), shingle_set(kb)
        shared = len(np.intersect1d(sa, sb, assume_unique=True))
        jaccard = shared / max(len(sa) + len(sb) - shared, 1)
        if jaccard < MIN_JACCARD:
            continue
        ratio, diff = hunks(text_of[ka], text_of[kb])
        if ratio < MIN_SIMILARITY:
            continue
        found.append(Pair(ka, kb, ratio, round(jaccard, 4), diff))
    found.sort(key=lambda p: (p.a, p.b))
    return found, units_of, skipped
