"""Measure leaktriage on a newsroom's own hand-labeled files: ``leaktriage eval OUT LABELS.csv``.

The labels file has the header ``path,label`` and an optional third column ``rules``
(rule ids expected to fire, ``;``-separated). Labels: ``genuine``, ``altered``, ``decoy``,
``unreadable``. A label path matches a record's provenance path exactly, or with the
record path's first element (the scanned folder's own name) removed.

Each labeled record's verdict becomes a prediction: ``likely_altered`` -> altered,
``decoy_suspected`` -> decoy, ``unreadable`` -> unreadable, ``no_signal`` -> genuine,
``suspicious`` -> suspicious. A record is a *hit* when its prediction equals its label, or
when it is labeled genuine and predicted suspicious ("look at it" is not a false alarm).

Per label L: TP = records labeled L that are hits; FN = records labeled L that are not;
FP = records predicted L whose label is not L (suspicious is never an FP).
Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean.
Overall precision and recall are micro-averages: the sums of TP, FP and FN over every label.
False alarms are genuine records predicted altered or decoy; misses are altered or decoy
records predicted anything else.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from leaktriage.errors import InputError
from leaktriage.store import Store

LABELS = ("genuine", "altered", "decoy", "unreadable")
"""The label vocabulary."""
PREDICTIONS = (*LABELS, "suspicious")
PREDICTION_OF = {
    "likely_altered": "altered",
    "decoy_suspected": "decoy",
    "unreadable": "unreadable",
    "no_signal": "genuine",
    "suspicious": "suspicious",
}
"""Verdict -> prediction."""


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and F1 of one label (or overall)."""

    label: str
    support: int
    """Records carrying this label."""
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when nothing carries the label."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labeled record and what leaktriage said about it."""

    path: str
    record_id: str
    label: str
    verdict: str
    prediction: str
    expected_rules: tuple[str, ...]
    fired_rules: tuple[str, ...]

    @property
    def hit(self) -> bool:
        """The prediction agrees with the label."""
        return self.prediction == self.label or (
            self.label == "genuine" and self.prediction == "suspicious"
        )

    @property
    def missing_rules(self) -> tuple[str, ...]:
        """Expected rule ids that did not fire."""
        return tuple(r for r in self.expected_rules if r not in self.fired_rules)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The whole measurement."""

    scores: list[Score]
    overall: Score
    confusion: dict[str, dict[str, int]]
    """label -> prediction -> records."""
    outcomes: list[Outcome]
    unlabeled: int
    """Records in the store that no label names (counted, not scored)."""
    unmatched: list[str] = field(default_factory=list)
    """Label paths that name no record."""
    pairs: list[tuple[str, str, float, list[dict[str, str]]]] = field(default_factory=list)
    """Altered-copy pairs the corpus analysis found: (earlier path, later path, similarity,
    differing passages)."""
    outliers: list[tuple[str, str]] = field(default_factory=list)
    """(path, message) of every fingerprint-outlier finding."""

    @property
    def misses(self) -> list[Outcome]:
        """Altered or decoy records not predicted as such."""
        return [o for o in self.outcomes if o.label in ("altered", "decoy") and not o.hit]

    @property
    def false_alarms(self) -> list[Outcome]:
        """Genuine records predicted altered or decoy."""
        return [
            o
            for o in self.outcomes
            if o.label == "genuine" and o.prediction in ("altered", "decoy")
        ]

    @property
    def rule_misses(self) -> list[Outcome]:
        """Records where an expected rule did not fire."""
        return [o for o in self.outcomes if o.missing_rules]


def read_labels(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(path, label, expected rules) rows; raise InputError naming the bad line."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot read labels {path}: {exc}") from exc
    rows = []
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or [h.strip().lower() for h in header[:2]] != ["path", "label"]:
            raise InputError(f"{path}: the first line must be 'path,label[,rules]'")
        for number, row in enumerate(reader, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise InputError(f"{path}:{number}: expected path,label")
            label = row[1].strip().lower()
            if label not in LABELS:
                raise InputError(f"{path}:{number}: label {row[1]!r} is not one of {LABELS}")
            rules = tuple(r.strip() for r in row[2].split(";") if r.strip()) if len(row) > 2 else ()
            rows.append((row[0].strip(), label, rules))
    return rows


def evaluate(store: Store, labels: Path) -> Evaluation:
    """Compare the store's verdicts with the labels."""
    rows = read_labels(labels)
    exact: dict[str, str] = {}
    stripped: dict[str, str] = {}
    verdicts: dict[str, str] = {}
    for rid, path, verdict in store.verdicts():
        exact.setdefault(path, rid)
        if "/" in path.split("!", 1)[0]:
            stripped.setdefault(path.split("/", 1)[1], rid)
        verdicts[rid] = verdict or "no_signal"
    fired: dict[str, set[str]] = {}
    for rid, rule_id in store.rule_hits():
        fired.setdefault(rid, set()).add(rule_id)
    outcomes = []
    unmatched = []
    seen: set[str] = set()
    for path, label, rules in rows:
        found = exact.get(path) or stripped.get(path)
        if found is None:
            unmatched.append(path)
            continue
        rid = found
        if rid in seen:
            continue
        seen.add(rid)
        verdict = verdicts[rid]
        outcomes.append(
            Outcome(
                path,
                rid,
                label,
                verdict,
                PREDICTION_OF.get(verdict, "suspicious"),
                rules,
                tuple(sorted(fired.get(rid, ()))),
            )
        )
    outcomes.sort(key=lambda o: o.path)
    confusion = {label: dict.fromkeys(PREDICTIONS, 0) for label in LABELS}
    for o in outcomes:
        confusion[o.label][o.prediction] += 1
    scores = []
    for label in LABELS:
        mine = [o for o in outcomes if o.label == label]
        tp = sum(o.hit for o in mine)
        fp = sum(1 for o in outcomes if o.prediction == label and o.label != label)
        scores.append(Score(label, len(mine), tp, fp, len(mine) - tp))
    overall = Score(
        "overall",
        len(outcomes),
        sum(s.tp for s in scores),
        sum(s.fp for s in scores),
        sum(s.fn for s in scores),
    )
    return Evaluation(
        scores,
        overall,
        confusion,
        outcomes,
        len(verdicts) - len(outcomes),
        unmatched,
        store.corpus_pairs(),
        store.messages_of("corpus-fingerprint-outlier"),
    )
