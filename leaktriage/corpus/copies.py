"""Altered copies: documents whose text is the same or nearly the same, with different bytes.

No all-pairs loop. Each text becomes a set of word 3-gram shingles; a 48-value MinHash
signature (NumPy, seeded) estimates their Jaccard similarity, and LSH (12 bands of 4 rows:
a pair with Jaccard 0.7 becomes a candidate 96 % of the time, 0.8 99.8 %, 0.3 under 10 %)
turns "similar" into "same bucket", so the work grows with the number of documents, not
its square. Candidates agreeing on enough MinHash values link texts into sets; in each set
the text most files carry is the *representative*, and every other text is checked against
it alone (Jaccard of the shingle sets, then the longest common subsequence of the word
sequences, bit-parallel in rapidfuzz): a family of k texts costs k - 1 comparisons, however
many re-saved variants it has. The passages that differ from the representative are cut to
the shortest readable hunks: "€ 1 200 000" against "€ 12 000 000".

MinHash and LSH are a few lines of NumPy here rather than ``datasketch``: its per-shingle
Python hashing would cost more than the whole analysis budget at 20,000 documents.

Nearly the same text is not yet an altered copy. A forger who edits a copy keeps the
original's lineage — its creation time, Word's document id and first editing session, the
PDF's or XMP's document id, the Message-ID — while documents filled in from one template
share none of it, and a text exported to another format is a conversion. So a pair is an
*altered copy* only when the two files share lineage and differ in a few places; with
lineage but changes all over they are *versions* of one document; without lineage they are
*written from the same template*; in two formats they are *the same text in N formats*.
The last three are context, not signs of alteration.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from leaktriage.corpus.data import Doc
from leaktriage.corpus.registry import CorpusFinding
from leaktriage.model import iso_utc

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
"""Exact shingle similarity a candidate needs before its word sequences are aligned."""
MIN_ESTIMATE = 0.4
"""Share of equal MinHash values a candidate needs before the exact check (the estimate's
standard error at 48 values is about 0.07)."""
MIN_SIMILARITY = 0.8
"""Similarity (2 × common subsequence / total words) from which two texts are copies."""
MAX_BUCKET = 200
"""An LSH bucket holding more distinct texts than this is boilerplate (a form, a
disclaimer) and is not expanded into pairs."""
MAX_VERIFY = 200_000
"""Most comparisons with a representative checked exactly; beyond that the dump is mostly
boilerplate and the rest are left out (and logged)."""
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
    """2 × longest common subsequence / total words, 0-1 (what difflib calls the ratio)."""
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


def _one_cell(text: str, spans: list[tuple[int, int]], index: int) -> bool:
    """Token ``index`` and the one before it are in the same cell and line (no tab or line
    break between them): '1 200 000' is one figure, two spreadsheet cells are not."""
    if index <= 0 or index >= len(spans):
        return True
    gap = text[spans[index - 1][1] : spans[index][0]]
    return "\t" not in gap and "\n" not in gap


def _edits(opcodes: Iterable[Any]) -> Iterator[tuple[int, int, int, int]]:
    """The opcodes' changed stretches, an insertion next to a deletion made one replacement."""
    pending: list[int] | None = None
    for op in opcodes:
        tag, i1, i2, j1, j2 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
        if tag == "equal":
            if pending is not None:
                yield pending[0], pending[1], pending[2], pending[3]
                pending = None
            continue
        if pending is None:
            pending = [i1, i2, j1, j2]
        else:
            pending[1], pending[3] = max(pending[1], i2), max(pending[3], j2)
    if pending is not None:
        yield pending[0], pending[1], pending[2], pending[3]


def hunks(text_a: str, text_b: str, floor: float = 0.0) -> tuple[float, list[dict[str, str]]]:
    """Similarity of two texts' token sequences and the passages that differ, each grown
    to whole numbers ('1 200 000', not '1 200') and merged when a token or two apart.

    With ``floor``: when the shared tokens, counted as bags, cannot reach that ratio, the
    bound is returned with no passages and the sequences are not aligned."""
    spans_a, spans_b = _spans(text_a), _spans(text_b)
    tok_a = [text_a[s:e] for s, e in spans_a]
    tok_b = [text_b[s:e] for s, e in spans_b]
    # Near-copies differ in a few places: the common head and tail are matched directly,
    # and only what lies between them is aligned.
    limit = min(len(tok_a), len(tok_b))
    head = 0
    while head < limit and tok_a[head] == tok_b[head]:
        head += 1
    tail = 0
    while tail < limit - head and tok_a[-1 - tail] == tok_b[-1 - tail]:
        tail += 1
    mid_a, mid_b = tok_a[head : len(tok_a) - tail], tok_b[head : len(tok_b) - tail]
    total = len(tok_a) + len(tok_b)
    if floor > 0 and total:
        bound = 2.0 * (head + tail + sum((Counter(mid_a) & Counter(mid_b)).values())) / total
        if bound < floor:
            return round(bound, 4), []
    # The longest common subsequence, bit-parallel in rapidfuzz (difflib is quadratic in
    # Python on the long token lists spreadsheets give): ratio = 2 × shared / total.
    shared = Indel.similarity(mid_a, mid_b) // 2
    ratio = 2.0 * (head + tail + shared) / total if total else 1.0
    changes: list[list[int]] = []
    for i1, i2, j1, j2 in _edits(Indel.opcodes(mid_a, mid_b)):
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        while (
            i1 > 0
            and j1 > 0
            and _NUMBERISH.match(tok_a[i1 - 1])
            and tok_a[i1 - 1] == tok_b[j1 - 1]
            and _one_cell(text_a, spans_a, i1)
            and _one_cell(text_b, spans_b, j1)
        ):
            i1, j1 = i1 - 1, j1 - 1
        while (
            i2 < len(tok_a)
            and j2 < len(tok_b)
            and _NUMBERISH.match(tok_a[i2])
            and tok_a[i2] == tok_b[j2]
            and _one_cell(text_a, spans_a, i2)
            and _one_cell(text_b, spans_b, j2)
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


@dataclass(slots=True)
class Family:
    """Texts that are near-copies of one representative text: each member is compared with
    the representative only (k - 1 comparisons for k texts, never k²)."""

    representative: str
    """Text key of the representative: the text most files carry, then the earliest."""
    members: list[Pair] = field(default_factory=list)
    """One pair per other text: ``a`` the representative, ``b`` the member, passages
    oriented from the representative to the member."""


MAX_ROUNDS = 64
"""Representatives tried within one set of LSH-linked texts; the texts no representative
took after that are left out (and logged)."""


def _components(pairs: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Sets of text indices linked by candidate pairs (union-find), each sorted."""
    parent = list(range(size))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    found: dict[int, list[int]] = {}
    for i in sorted({i for pair in pairs for i in pair}):
        found.setdefault(root(i), []).append(i)
    return sorted(found.values())


def find_families(
    texts: Iterable[tuple[str, str]],
    fetch: Callable[[list[str]], dict[str, str]],
    progress: Callable[[int], None] | None = None,
    rank: Callable[[str, list[str]], Any] | None = None,
) -> tuple[list[Family], dict[str, list[str]], int]:
    """Families of near-copies among ``texts`` ((unit id, text), streamed once).

    Units with the same text (up to whitespace) share one text key. LSH candidates link
    texts into sets; in each set the best-ranked text (``rank(key, units)``, lowest first;
    by default the text most units carry) is the representative and every other text is
    checked against it alone: those within ``MIN_SIMILARITY`` join its family, the rest
    try the next representative. The work grows with the number of texts in a set times
    the number of families in it, not with the square of the set.

    Returns the families (by text key), the units of each text key, and the number of
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
    del signatures
    pairs_idx, skipped = candidates(matrix)
    if not pairs_idx:
        return [], units_of, skipped
    sets = _components(pairs_idx, len(keys))
    del pairs_idx
    order = rank or (lambda key, units: (-len(units), key))
    checker = Sketcher()
    families: list[Family] = []
    verified = left_out = 0
    for linked in sets:
        # Texts are fetched one linked set at a time: memory holds one set's texts.
        fetched = fetch(sorted(units_of[keys[i]][0] for i in linked))
        text_of = {keys[i]: fetched[units_of[keys[i]][0]] for i in linked}
        shingle_sets = {key: checker.shingles(text) for key, text in text_of.items()}
        left = sorted(linked, key=lambda i: order(keys[i], units_of[keys[i]]))
        rounds = 0
        while len(left) >= 2 and rounds < MAX_ROUNDS and verified < MAX_VERIFY:
            rounds += 1
            head, rest = left[0], np.array(left[1:], dtype=np.int64)
            agree = (matrix[rest] == matrix[head]).mean(axis=1)
            family = Family(keys[head])
            remaining: list[int] = []
            for i, estimate in zip(rest.tolist(), agree.tolist(), strict=True):
                if estimate < MIN_ESTIMATE:
                    remaining.append(i)
                    continue
                verified += 1
                pair = _check(keys[head], keys[i], shingle_sets, text_of)
                if pair is None:
                    remaining.append(i)
                else:
                    family.members.append(pair)
            if family.members:
                family.members.sort(key=lambda p: p.b)
                families.append(family)
            left = remaining
        left_out += len(left) if len(left) >= 2 else 0
    if left_out:
        log.warning("%d linked texts not compared (round or verification limit)", left_out)
    families.sort(key=lambda f: f.representative)
    return families, units_of, skipped


def _check(
    head: str,
    other: str,
    shingles: dict[str, npt.NDArray[np.uint64]],
    text_of: dict[str, str],
) -> Pair | None:
    """The pair (representative, other) when their texts are near-copies, else None."""
    sa, sb = shingles[head], shingles[other]
    shared = len(np.intersect1d(sa, sb, assume_unique=True))
    jaccard = shared / max(len(sa) + len(sb) - shared, 1)
    if jaccard < MIN_JACCARD:
        return None
    ratio, diff = hunks(text_of[head], text_of[other], MIN_SIMILARITY)
    if ratio < MIN_SIMILARITY:
        return None
    return Pair(head, other, ratio, round(jaccard, 4), diff)


# --- what a near-copy pair is ---------------------------------------------------------------

LINEAGE: tuple[tuple[str, str], ...] = (
    ("doc.created", "created at the same moment"),
    ("ooxml.doc_id", "the same Word document id"),
    ("ooxml.rsid_root", "the same first Word editing session"),
    ("pdf.id_original", "the same PDF document id"),
    ("pdf.xmp_document_id", "the same XMP document id"),
    ("pdf.xmp_original_document_id", "the same XMP original document id"),
    ("image.xmp_document_id", "the same XMP document id"),
    ("image.xmp_original_document_id", "the same XMP original document id"),
    ("email.message_id", "the same Message-ID"),
)
"""Facts a copy keeps from its original and a document written afresh does not, and how to
say that two files share one."""
LINEAGE_LISTS: tuple[tuple[str, str], ...] = (
    ("pdf.xmp_history", "a shared step of their XMP editing history"),
    ("image.xmp_history", "a shared step of their XMP editing history"),
)
LINEAGE_COMMON_MIN = 25
LINEAGE_COMMON_FRACTION = 0.02
"""A lineage value carried by more than max(25, 2 % of the contents) is a tool's or a
template's constant (a generator's fixed creation date), not a shared origin."""
MAX_LOCAL_HUNKS = 6
MIN_LOCAL_SIMILARITY = 0.9
"""A localized edit: at most six passages differ and the texts are 90 % the same."""

ALTERED, VERSIONS, TEMPLATE, FORMATS = "altered", "versions", "template", "formats"


def lineage_values(doc: Doc) -> list[tuple[str, str]]:
    """(fact, value) of every lineage fact the document carries."""
    found = []
    for name, _ in LINEAGE:
        value = doc.facts.get(name)
        if isinstance(value, datetime):
            found.append((name, iso_utc(value)))
        elif value is not None and not isinstance(value, tuple):
            text = str(value).strip()
            if text and text.strip("0{}-") != "":
                found.append((name, text))
    for name, _ in LINEAGE_LISTS:
        found.extend((name, item) for item in sorted(set(doc.items(name))) if item.strip())
    return found


def common_lineage(docs: Iterable[Doc], contents: int) -> set[tuple[str, str]]:
    """Lineage values carried by too many distinct contents to mean a shared origin."""
    holders: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        for key in lineage_values(doc):
            holders.setdefault(key, set()).add(doc.unit)
    limit = max(LINEAGE_COMMON_MIN, LINEAGE_COMMON_FRACTION * contents)
    return {key for key, units in holders.items() if len(units) > limit}


def shared_lineage(a: Doc, b: Doc, common: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(fact, value) the two documents share and that few other files carry."""
    theirs = set(lineage_values(b))
    return [key for key in lineage_values(a) if key in theirs and key not in common]


def lineage_phrase(shared: list[tuple[str, str]]) -> str:
    """The shared lineage in words: 'created at the same moment (2017-03-01T09:00:00Z)'."""
    said = dict(LINEAGE) | dict(LINEAGE_LISTS)
    parts: dict[str, str] = {}
    for name, value in shared:
        parts.setdefault(said[name], f"{said[name]} ({value[:80]})")
    return "; ".join(parts.values())


def localized(pair: Pair) -> bool:
    """The texts differ in a few places only."""
    return 0 < len(pair.hunks) <= MAX_LOCAL_HUNKS and pair.similarity >= MIN_LOCAL_SIMILARITY


def kind_of(pair: Pair, a: Doc, b: Doc, common: set[tuple[str, str]]) -> str:
    """What a near-copy pair is: ``altered`` (shared lineage, a localized edit), ``versions``
    (shared lineage, reworked throughout), ``template`` (same format, nothing shared) or
    ``formats`` (the same text in two formats)."""
    if a.mime != b.mime:
        return FORMATS
    if not shared_lineage(a, b, common):
        return TEMPLATE
    return ALTERED if localized(pair) else VERSIONS


FINDINGS = (
    CorpusFinding(
        "corpus-altered-copy",
        "alteration",
        "Altered copy of another file in the dump",
        "Two files share the history a copy keeps from its original (creation time, Word "
        "document id or first editing session, PDF or XMP document id, Message-ID) and their "
        "text differs in a few places: one of them was edited. The passages that differ, and "
        "which copy was saved later and by whom, say what was changed.",
        (
            "the author's own later revision, saved under a new name",
            "a correction circulated as a new version of the document",
            "a colleague's copy with a typo or a figure fixed",
        ),
        context_only=False,
    ),
    CorpusFinding(
        "corpus-document-versions",
        "provenance",
        "Another version of the same document",
        "Two files share the history of one original but their text was reworked in many "
        "places: successive drafts of one document, not a targeted edit.",
        (
            "successive drafts of one document",
            "a document re-used as the starting point of another",
        ),
        context_only=True,
    ),
    CorpusFinding(
        "corpus-same-template",
        "provenance",
        "Written from the same template as other files",
        "Nearly the same text as other files of the same kind, but no shared history (each "
        "has its own creation time and document ids): documents filled in from one template "
        "or form, not copies of one another.",
        (
            "letters, minutes or forms written from one template",
            "a standard text (disclaimer, notice) re-used in several documents",
        ),
        context_only=True,
    ),
    CorpusFinding(
        "corpus-same-text-formats",
        "provenance",
        "The same text in several formats",
        "The same text exists as files of different formats (a Word file and its PDF, a "
        "message and its saved copy): an export or a conversion, shown so that the copies "
        "are read together.",
        (
            "a document exported or printed to PDF",
            "a file converted to another format by its author or a mail system",
        ),
        context_only=True,
    ),
)
