"""A file's verdict from its findings: the one place where findings are weighed."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from leaktriage import detect
from leaktriage.model import Finding, Severity, Status

# --- verdict --------------------------------------------------------------------------------

# Severity and grade ranks: only the report's tie-break between files of equal weight.
WEIGHTS = {Severity.HIGH: 40.0, Severity.MEDIUM: 20.0, Severity.LOW: 8.0, Severity.INFO: 0.0}
GRADE_FACTORS = {"A": 1.0, "B": 0.8, "C": 0.5}
UNREADABLE = frozenset({Status.ERROR, Status.SKIPPED, Status.ENCRYPTED, Status.UNSUPPORTED})


# --- weights ---------------------------------------------------------------------------------

LIKELY_ALTERED_AT = 2.5
"""Combined evidence (log10 of the likelihood ratio) a file needs to be ``likely_altered``:
odds of about 300 to 1 that genuine files do not show this combination. Chosen with
``leaktriage rules calibrate`` so at most 1 % of the reference corpus's files reach it."""
SUSPICIOUS_AT = 1.0
"""Combined evidence above which a file is ``suspicious``: a combination ten times rarer
among genuine files than among altered ones."""
CONTEXT_CAP = 0.5
"""What context findings (dump-relative outliers, shared identifiers, integrity facts) may
add together to the score. They count towards ``suspicious`` only: ``likely_altered`` needs
the threshold from evidence findings alone."""
ALTERED_RATES = {Severity.HIGH: 0.9, Severity.MEDIUM: 0.5, Severity.LOW: 0.2, Severity.INFO: 0.0}
"""Share of files altered in the way a rule looks for that show its trace, from the rule's
severity (its author's judgement of how reliably an alteration leaves it): the numerator of
the rule's likelihood ratio. The denominator, its rate among genuine files, is measured."""
MAX_WEIGHT = 4.0
"""No single finding weighs more than this (a rule that never fired on 2,000 genuine files
is rare, not proof)."""
PRIOR_FIRES = 0.5
"""Fires added to every measured count before dividing (Jeffreys' prior): a rule never seen
on n genuine files is taken to fire at 0.5 / (n + 1), not at 0."""
MIN_FAMILY_FILES = 30
"""Genuine files of one family a base rate needs before the family's own rate is used."""
UNCALIBRATED_RATES = {
    Severity.HIGH: 0.0005,
    Severity.MEDIUM: 0.005,
    Severity.LOW: 0.05,
    Severity.INFO: 1.0,
}
"""Genuine rate assumed for a rule with no measured base rate (a newsroom's own rule)."""
COUNTED_CATEGORIES = frozenset({"alteration", "provenance"})
"""Categories whose findings count as evidence of alteration; integrity, anomaly and
verification findings are context, decoy findings decide ``decoy_suspected``."""


ARCHIVE_FAMILY = detect.ARCHIVE_MIMES | {"application/vnd.ms-outlook-pst"}
"""What the ``archive`` family holds: the containers the walker opens (``detect`` owns the
list, with aliases already normalized), and Outlook stores."""


def family_of(mime: str, extension: str = "") -> str:
    """The file family base rates are kept per: pdf, word, spreadsheet, presentation,
    image, email, archive, other."""
    m, ext = mime.lower(), extension.lower().lstrip(".")
    if m == "application/pdf":
        return "pdf"
    if m.startswith("image/"):
        return "image"
    if m in ("message/rfc822", "text/x-mail", "application/mbox", "application/vnd.ms-outlook"):
        return "email"
    if "spreadsheet" in m or "excel" in m or ext in ("xls", "xlsx", "xlsm", "ods", "csv"):
        return "spreadsheet"
    if "presentation" in m or "powerpoint" in m or ext in ("ppt", "pptx", "odp"):
        return "presentation"
    if (
        "wordprocessingml" in m
        or "opendocument.text" in m
        or m in ("application/msword", "application/rtf", "text/rtf")
        or ext in ("doc", "docx", "odt", "rtf")
    ):
        return "word"
    if m in ARCHIVE_FAMILY:
        return "archive"
    return "other"


@dataclass(frozen=True, slots=True)
class BaseRate:
    """How often a rule fired on the genuine reference corpus (``rules calibrate``)."""

    fires: int
    of: int
    measured: str
    corpus: str
    families: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Family -> (fires, of), for families with genuine files the rule could apply to."""

    def rate(self, family: str = "") -> tuple[float, int, int, str]:
        """(smoothed rate, fires, of, where) for one family, or overall when the family has
        too few files."""
        fires, of, where = self.fires, self.of, "genuine files"
        if family in self.families and self.families[family][1] >= MIN_FAMILY_FILES:
            fires, of = self.families[family]
            where = f"genuine {family} files"
        return (fires + PRIOR_FIRES) / (of + 1.0), fires, of, where

    def text(self, family: str = "") -> str:
        """ "fires on 3 of 2,143 genuine files"."""
        _, fires, of, where = self.rate(family)
        return f"fires on {fires:,} of {of:,} {where}"


@dataclass(frozen=True, slots=True)
class RuleWeight:
    """What the verdict needs to know about one rule or corpus finding."""

    category: str
    severity: Severity = Severity.LOW
    base_rate: BaseRate | None = None
    group: str = ""
    context: bool = False
    title: str = ""
    by_severity: Mapping[Severity, BaseRate] = field(default_factory=dict)
    """Base rates of a corpus check's findings of one severity (it grades each finding)."""

    def weight(self, family: str = "", severity: Severity | None = None) -> tuple[float, str]:
        """log10(P(fires | altered) / P(fires | genuine)), clamped to [0, MAX_WEIGHT], and
        where the genuine rate comes from. ``severity``: the finding's own, when it differs
        from the rule's (a corpus check grades each finding by how specific it is)."""
        severity = severity or self.severity
        base_rate = self.by_severity.get(severity, self.base_rate)
        if base_rate is not None and base_rate.of == 0:
            # Nothing in the reference corpus it could apply to: no measurement at all.
            rate = UNCALIBRATED_RATES[severity]
            basis = (
                f"no genuine file it applies to: genuine rate assumed {rate:g} from its severity"
            )
        elif base_rate is not None:
            rate, _, _, _ = base_rate.rate(family)
            basis = base_rate.text(family)
            if base_rate is not self.base_rate:
                basis += f" at {severity.name.lower()} severity"
        else:
            rate = UNCALIBRATED_RATES[severity]
            basis = f"not calibrated: genuine rate assumed {rate:g} from its severity"
        altered = ALTERED_RATES[severity]
        if altered <= 0:
            return 0.0, basis
        value = math.log10(altered / rate) if rate > 0 else MAX_WEIGHT
        return round(min(MAX_WEIGHT, max(0.0, value)), 2), basis


@dataclass(frozen=True, slots=True)
class Step:
    """One finding's place in a verdict's weight chain."""

    rule_id: str
    title: str
    weight: float
    """What it adds to the combined evidence (0 when it does not count)."""
    basis: str
    """Where its weight comes from ("fires on 3 of 2,143 genuine files")."""
    note: str = ""
    """Why it counts less or not at all (context, same group as a stronger finding)."""

    def line(self) -> str:
        """ "+2.10 XMP modified after the Info date (fires on 3 of 2,143 genuine files)"."""
        extra = f"; {self.note}" if self.note else ""
        return f"+{self.weight:.2f} {self.title} ({self.basis}{extra})"


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with its combined evidence and the chain that gave it."""

    label: str
    score: float
    chain: tuple[Step, ...] = ()
    likely_altered_at: float = LIKELY_ALTERED_AT
    evidence: float = 0.0
    """What the evidence findings alone add up to (the score without context findings):
    what ``likely_altered_at`` is compared with."""

    def explain(self) -> str:
        """The chain in plain words, strongest first, and the thresholds."""
        lines = [s.line() for s in self.chain]
        lines.append(
            f"= {self.score:.2f} combined (log10 likelihood ratio); likely_altered from "
            f"{self.likely_altered_at}, suspicious from {SUSPICIOUS_AT}"
        )
        return "\n".join(lines)


@dataclass(slots=True)
class Weigher:
    """Every rule's and corpus finding's weight: how findings combine into a verdict."""

    weights: dict[str, RuleWeight]
    likely_altered_at: float = LIKELY_ALTERED_AT
    """Combined evidence a file needs to be ``likely_altered`` (calibrated), in a family
    without a threshold of its own."""
    family_thresholds: dict[str, float] = field(default_factory=dict)
    """Family -> its own calibrated threshold. A family where more rules apply (a PDF can show
    some twenty traces, a photo six) meets more chance combinations among genuine files, so
    each family with enough genuine files gets the lowest threshold that keeps its own genuine
    files under the calibration target."""

    def threshold(self, family: str = "") -> float:
        """The combined evidence a file of this family needs to be ``likely_altered``."""
        return self.family_thresholds.get(family, self.likely_altered_at)

    def category(self, rule_id: str) -> str | None:
        """The rule's category, or None for an unknown rule."""
        found = self.weights.get(rule_id)
        return found.category if found else None

    def judge(self, status: Status, findings: Iterable[Finding], family: str = "") -> Judgement:
        """The verdict of a file with these findings (never "authentic").

        Each finding above info weighs log10 of how much rarer it is among genuine files
        than among altered ones (measured base rate, see ``BaseRate``). Within a group of
        dependent rules (the same fact seen several ways) only the strongest counts.
        Context findings add at most ``CONTEXT_CAP`` together to the score, and nothing to
        what ``likely_altered`` needs. The sums decide:

        - ``decoy_suspected``: a decoy finding of medium severity or more (first: a planted
          decoy is an edited copy, so its alteration traces are expected);
        - ``likely_altered``: the evidence findings alone reach the threshold;
        - ``suspicious``: at least ``SUSPICIOUS_AT``, or any decoy finding;
        - ``unreadable`` / ``no_signal`` otherwise.
        """
        found = [f for f in findings if f.severity > Severity.INFO]
        at = self.threshold(family)
        steps: list[Step] = []
        best: dict[str, float] = {}
        context_left = CONTEXT_CAP
        decoy = weak_decoy = False
        scored: list[tuple[float, str, Finding, bool, RuleWeight, str]] = []
        for f in found:
            rw = self.weights.get(f.rule_id) or RuleWeight(
                "alteration", f.severity, title=f.rule_id
            )
            if rw.category == "decoy":
                decoy = decoy or f.severity >= Severity.MEDIUM
                weak_decoy = True
                continue
            # A corpus check grades each finding by how specific it is; a rule's own
            # severity is fixed in its file.
            value, basis = rw.weight(family, f.severity if f.source == "corpus" else None)
            context = rw.context or rw.category not in COUNTED_CATEGORIES
            scored.append((value, f.rule_id, f, context, rw, basis))
        # Evidence before context, then strongest first: a group's strongest evidence is the
        # one that counts, and a context rule of the same group never takes its place.
        scored.sort(key=lambda x: (x[3], -x[0], x[1], x[2].message))
        total = evidence = 0.0
        for value, rule_id, _f, context, rw, basis in scored:
            title = rw.title or rule_id
            group = rw.group or rule_id
            if group in best:
                note = f"same fact as a stronger finding of group {group!r}: not counted again"
                steps.append(Step(rule_id, title, 0.0, basis, note))
                continue
            best[group] = value
            if context:
                added = round(min(value, context_left), 2)
                context_left = round(context_left - added, 2)
                note = f"context, not proof: context findings add at most {CONTEXT_CAP} together"
                steps.append(Step(rule_id, title, added, basis, note))
                total += added
                continue
            steps.append(Step(rule_id, title, value, basis))
            total += value
            evidence += value
        score = round(total, 2)
        evidence = round(evidence, 2)
        chain = tuple(steps)
        if decoy:
            return Judgement("decoy_suspected", score, chain, at, evidence)
        if evidence >= at:
            return Judgement("likely_altered", score, chain, at, evidence)
        if score >= SUSPICIOUS_AT or weak_decoy:
            return Judgement("suspicious", score, chain, at, evidence)
        if status in UNREADABLE:
            return Judgement("unreadable", score, chain, at, evidence)
        return Judgement("no_signal", score, chain, at, evidence)


def verdict(
    status: Status, findings: Iterable[Finding], weigher: Weigher, family: str = ""
) -> tuple[str, float]:
    """The file's verdict and combined evidence (see :meth:`Weigher.judge`)."""
    judged = weigher.judge(status, findings, family)
    return judged.label, judged.score


def corpus_weights(rates: Mapping[str, BaseRate]) -> dict[str, RuleWeight]:
    """The weights of the corpus analysis's findings (``leaktriage.corpus.FINDINGS``: their
    categories, titles and whether they are context only), with their measured base rates."""
    from leaktriage.corpus import FINDINGS

    return {
        fid: RuleWeight(
            f.category,
            Severity.MEDIUM if f.category == "alteration" else Severity.LOW,
            rates.get(fid),
            fid,
            f.context_only or f.category not in COUNTED_CATEGORIES,
            f.title,
            {
                s: rates[f"{fid}@{s.name.lower()}"]
                for s in Severity
                if f"{fid}@{s.name.lower()}" in rates
            },
        )
        for fid, f in FINDINGS.items()
    }
