"""``leaktriage rules calibrate REFERENCE_DIR``: how often each rule fires on genuine files.

The reference folder holds real third-party files nobody made to test a parser (build one
with ``python -m corpus_fixtures reference DIR``). Its ``MANIFEST.csv`` says, per file, whether
it is genuine (column ``genuine``, or ``crafted`` = ``no``) and on which side of the split it
falls (column ``split``: ``fit`` or ``heldout``; without it a whole source goes to held-out when
the first byte of the sha256 of its name is below 0.35 × 256). Without a manifest every file is
genuine and on the fit side.

The folder is scanned as one dump, with today as the leak date (a genuine file dated after
it has a clock set in the future: the innocent cause the after-leak rules are measured
against). A rule's rate in a file family is its fires over the family's genuine fit records,
counted in the families where at least one record has the fields its condition needs; corpus
findings are counted over every family. The counts are written into each rule file as
``base_rate:`` (overall and per family), and into ``calibration.yaml`` for the corpus findings,
with the verdict thresholds: the lowest that keeps ``likely_altered`` under 0.5 % of the fit
records, and, for each file family with at least ``FAMILY_THRESHOLD_FILES`` fit records, the
lowest that keeps that family's own fit records under 0.5 % (a family where more rules apply
meets more chance combinations). The verdicts are then recomputed and the share of
``likely_altered`` files measured on both sides: the held-out side is the honest figure, since
nothing was fitted on it.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leaktriage.config import ScanConfig
from leaktriage.errors import InputError
from leaktriage.model import FileRecord, Severity, Status
from leaktriage.rules.engine import RuleSet, needed_fields, record_facts
from leaktriage.rules.loader import CALIBRATION, load_rules
from leaktriage.rules.verdict import LIKELY_ALTERED_AT, Judgement, family_of

FIT_TARGET = 0.005
"""Share of fit files allowed to reach ``likely_altered``: half the 1 % allowed on held-out
files, a margin for files unlike any seen."""
THRESHOLDS = tuple(2.0 + 0.25 * n for n in range(13))
"""Thresholds tried, lowest first: the lowest that keeps the fit side under FIT_TARGET wins."""
FAMILY_THRESHOLD_FILES = 200
"""Fit records a family needs before it gets a threshold of its own: at FIT_TARGET (0.5 %),
the first size at which one genuine file may reach it, so that one odd file does not set
a smaller family's threshold alone."""
HELDOUT_SHARE = 0.35
"""Share of sources (by the hash of their name) sent to the held-out side without a split column."""
READABLE = frozenset({Status.OK, Status.PARTIAL})
BATCH = 500


@dataclass(frozen=True, slots=True)
class Reference:
    """What the manifest says of one top-level file."""

    genuine: bool
    split: str
    source: str


def read_manifest(folder: Path) -> tuple[dict[str, Reference], str]:
    """Path inside the folder -> Reference, and the manifest's sha256 ("" without one)."""
    manifest = folder / "MANIFEST.csv"
    if not manifest.is_file():
        return {}, ""
    data = manifest.read_bytes()
    entries: dict[str, Reference] = {}
    for row in csv.DictReader(data.decode("utf-8").splitlines()):
        path = row.get("path") or ""
        source = row.get("source") or path.split("/", 1)[0]
        if "genuine" in row:
            genuine = (row.get("genuine") or "").lower() == "yes"
        else:
            genuine = (row.get("crafted") or "no").lower() in ("", "no")
        split = row.get("split") or _split_of(source)
        entries[path] = Reference(genuine, split if split in ("fit", "heldout") else "-", source)
    return entries, hashlib.sha256(data).hexdigest()


def _split_of(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "heldout" if digest[0] < HELDOUT_SHARE * 256 else "fit"


def top_path(record_path: str) -> str:
    """The manifest path of the top-level file a record comes from (folder name removed)."""
    outer = record_path.split("!", 1)[0]
    parts = outer.split("/", 1)
    return parts[1] if len(parts) == 2 else parts[0]


@dataclass(slots=True)
class Counts:
    """Fires and applicable records of one rule, overall and per family."""

    fires: Counter[str] = field(default_factory=Counter)
    of: Counter[str] = field(default_factory=Counter)

    def block(self, measured: str, corpus: str, indent: str = "") -> list[str]:
        """The ``base_rate:`` YAML lines."""
        lines = [
            f"{indent}base_rate:",
            f"{indent}  fires: {self.fires['']}",
            f"{indent}  of: {self.of['']}",
            f"{indent}  measured: '{measured}'",
            f"{indent}  corpus: {corpus or 'none'}",
        ]
        families = sorted(f for f in self.of if f)
        if families:
            lines.append(f"{indent}  families:")
            lines.extend(
                f"{indent}    {f}: {{fires: {self.fires[f]}, of: {self.of[f]}}}" for f in families
            )
        return lines


@dataclass(slots=True)
class Calibration:
    """What one calibration measured."""

    records: Counter[str] = field(default_factory=Counter)
    """Genuine readable records per split."""
    rules: dict[str, Counts] = field(default_factory=dict)
    corpus: dict[str, Counts] = field(default_factory=dict)
    verdicts: dict[str, Counter[str]] = field(default_factory=dict)
    """Split -> verdict -> genuine records."""
    flagged: list[tuple[str, str, str]] = field(default_factory=list)
    """(split, path, weight chain) of every genuine record called likely_altered."""
    manifest_sha256: str = ""
    threshold: float = LIKELY_ALTERED_AT
    family_thresholds: dict[str, float] = field(default_factory=dict)

    def share(self, split: str, label: str = "likely_altered") -> float:
        total = sum(self.verdicts.get(split, Counter()).values())
        return self.verdicts.get(split, Counter())[label] / total if total else 0.0


def _records(store_path: Path) -> Iterator[FileRecord]:
    from leaktriage.store import Store

    db = Store(store_path, readonly=True)
    try:
        yield from db.iter_records()
    finally:
        db.close()


def measure(
    scan_out: Path, reference: dict[str, Reference], ruleset: RuleSet, corpus_sha: str
) -> Calibration:
    """Count every rule's fires on the genuine fit records of a finished scan.

    A rule's rate in a family is its fires over the family's genuine records; a rule counts
    only the families where at least one record has the fields its condition needs (a PDF
    rule is measured on PDFs, not on photos).
    """
    result = Calibration(manifest_sha256=corpus_sha)
    needs = {rule.id: needed_fields(rule.match) for rule in ruleset.rules}
    sizes: Counter[str] = Counter()
    fires: dict[str, Counter[str]] = defaultdict(Counter)
    applies: dict[str, set[str]] = defaultdict(set)
    for record in _records(scan_out / "triage.sqlite"):
        ref = reference.get(top_path(record.path)) if reference else Reference(True, "fit", "")
        if ref is None or not ref.genuine or record.status not in READABLE:
            continue
        result.records[ref.split] += 1
        if ref.split != "fit":
            continue
        family = family_of(record.mime, record.extension)
        sizes[family] += 1
        present = {k for k, v in record_facts(record).items() if v is not None}
        for rule_id, alternatives in needs.items():
            if family not in applies[rule_id] and any(need <= present for need in alternatives):
                applies[rule_id].add(family)
        for finding in {f.rule_id for f in record.findings if f.severity > Severity.INFO}:
            fires[finding][family] += 1
        # Corpus checks grade each finding: their rates are also kept per severity.
        for key in {
            f"{f.rule_id}@{f.severity.name.lower()}"
            for f in record.findings
            if f.source == "corpus" and f.severity > Severity.INFO
        }:
            fires[key][family] += 1
    for rule_id in needs:
        result.rules[rule_id] = _counts(fires[rule_id], sizes, applies[rule_id])
    from leaktriage.corpus import FINDINGS

    for rule_id in FINDINGS:
        result.corpus[rule_id] = _counts(fires[rule_id], sizes, set(sizes))
        for severity in (Severity.LOW, Severity.MEDIUM, Severity.HIGH):
            key = f"{rule_id}@{severity.name.lower()}"
            result.corpus[key] = _counts(fires[key], sizes, set(sizes))
    return result


def _counts(fires: Counter[str], sizes: Counter[str], families: set[str]) -> Counts:
    counts = Counts()
    for family in sorted(families | set(fires)):
        counts.fires[family] = fires[family]
        counts.of[family] = max(sizes[family], fires[family])
    counts.fires[""] = sum(counts.fires.values())
    counts.of[""] = sum(counts.of.values())
    return counts


_BASE_RATE_BLOCK = re.compile(r"^base_rate:\n(?:[ \t]+.*\n?|\n)*", re.MULTILINE)


def write_rule_rate(path: Path, counts: Counts, measured: str, corpus: str) -> None:
    """Replace (or add) the ``base_rate:`` block at the end of one rule file."""
    text = _BASE_RATE_BLOCK.sub("", path.read_text(encoding="utf-8")).rstrip("\n")
    text += "\n" + "\n".join(counts.block(measured, corpus)) + "\n"
    path.write_text(text, encoding="utf-8")


def write_calibration(
    root: Path,
    counts: dict[str, Counts],
    threshold: float,
    measured: str,
    corpus: str,
    by_family: dict[str, float] | None = None,
) -> None:
    """``calibration.yaml``: the verdict thresholds and the corpus findings' base rates."""
    lines = [
        "# Written by `leaktriage rules calibrate` from a reference corpus of genuine files.",
        "# Do not edit by hand: calibrate again.",
        f"likely_altered_at: {threshold}",
    ]
    if by_family:
        lines.append("likely_altered_at_by_family:")
        lines.extend(f"  {family}: {by_family[family]}" for family in sorted(by_family))
    lines.append("base_rates:")
    for rule_id in sorted(counts):
        lines.append(f"  {rule_id}:")
        lines.extend(counts[rule_id].block(measured, corpus, "    ")[1:])
    (root / CALIBRATION).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _judged(
    scan_out: Path, reference: dict[str, Reference], ruleset: RuleSet
) -> Iterator[tuple[str, str, str, Judgement]]:
    """(split, family, path, judgement) of every genuine readable record."""
    weigher = ruleset.weigher()
    for record in _records(scan_out / "triage.sqlite"):
        ref = reference.get(top_path(record.path)) if reference else Reference(True, "fit", "")
        if ref is None or not ref.genuine or record.status not in READABLE:
            continue
        family = family_of(record.mime, record.extension)
        judged = weigher.judge(record.status, record.findings, family)
        yield ref.split, family, record.path, judged


def choose_threshold(scores: Iterable[tuple[str, float]]) -> float:
    """The lowest of THRESHOLDS at which at most FIT_TARGET of fit records reach it
    (``scores``: (split, evidence) pairs; only the fit side counts)."""
    fit = [score for split, score in scores if split == "fit"]
    for threshold in THRESHOLDS:
        if sum(score >= threshold for score in fit) <= FIT_TARGET * len(fit):
            return threshold
    return THRESHOLDS[-1]


def choose_thresholds(
    scores: Iterable[tuple[str, str, float]],
) -> tuple[float, dict[str, float]]:
    """The overall threshold and one per family with FAMILY_THRESHOLD_FILES fit records
    (``scores``: (split, family, evidence) triples)."""
    listed = list(scores)
    overall = choose_threshold((split, score) for split, _, score in listed)
    sizes = Counter(family for split, family, _ in listed if split == "fit")
    by_family = {
        family: choose_threshold((s, score) for s, f, score in listed if f == family)
        for family, size in sorted(sizes.items())
        if size >= FAMILY_THRESHOLD_FILES
    }
    return overall, by_family


def judge(
    scan_out: Path, reference: dict[str, Reference], ruleset: RuleSet, result: Calibration
) -> None:
    """Recompute every genuine record's verdict with the rule set's current weights."""
    for split, _family, path, judged in _judged(scan_out, reference, ruleset):
        result.verdicts.setdefault(split, Counter())[judged.label] += 1
        if judged.label == "likely_altered":
            result.flagged.append((split, path, judged.explain()))
    result.flagged.sort()


def calibrate(
    reference_dir: Path,
    scan_out: Path,
    rule_dirs: Iterable[Path] = (),
    write: bool = True,
    workers: int | None = None,
    rescan: bool = True,
    bundled: bool = True,
) -> Calibration:
    """Scan the reference folder into ``scan_out``, measure, write base rates, re-judge.

    ``bundled=False`` calibrates only the rules of ``rule_dirs`` (the bundled rules still
    run in the scan, as they always do, but nothing is written into them)."""
    from leaktriage.api import run_scan

    folder = Path(reference_dir)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    reference, corpus_sha = read_manifest(folder)
    extra = tuple(Path(d) for d in rule_dirs)
    if rescan or not (scan_out / "triage.sqlite").is_file():
        # Leak date today: a genuine file dated after it has a clock in the future, the
        # innocent cause the after-leak rules must be measured against.
        today = datetime.now(tz=UTC).date()
        config = ScanConfig(
            rule_dirs=tuple(str(d) for d in extra), workers=workers, reuse=False, leak_date=today
        )
        run_scan(folder, scan_out, config)
    ruleset = load_rules(extra, bundled=bundled)
    result = measure(scan_out, reference, ruleset, corpus_sha)
    result.threshold = ruleset.likely_altered_at or LIKELY_ALTERED_AT
    result.family_thresholds = dict(ruleset.family_thresholds)
    if write:
        measured = datetime.now(tz=UTC).date().isoformat()
        for rule in ruleset.rules:
            write_rule_rate(rule.path, result.rules[rule.id], measured, corpus_sha[:16])
        root = extra[-1] if extra else ruleset.sources[0]
        write_calibration(root, result.corpus, LIKELY_ALTERED_AT, measured, corpus_sha[:16])
        ruleset = load_rules(extra, bundled=bundled)
        scores = [
            (split, family, j.evidence)
            for split, family, _, j in _judged(scan_out, reference, ruleset)
        ]
        result.threshold, result.family_thresholds = choose_thresholds(scores)
        write_calibration(
            root,
            result.corpus,
            result.threshold,
            measured,
            corpus_sha[:16],
            result.family_thresholds,
        )
        ruleset = load_rules(extra, bundled=bundled)
    judge(scan_out, reference, ruleset, result)
    return result
