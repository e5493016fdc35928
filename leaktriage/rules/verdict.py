"""A file's verdict from its findings: the one place where findings are weighed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leaktriage.model import Finding, Severity, Status

# --- verdict --------------------------------------------------------------------------------

WEIGHTS = {Severity.HIGH: 40.0, Severity.MEDIUM: 20.0, Severity.LOW: 8.0, Severity.INFO: 0.0}
GRADE_FACTORS = {"A": 1.0, "B": 0.8, "C": 0.5}
UNREADABLE = frozenset({Status.ERROR, Status.SKIPPED, Status.ENCRYPTED, Status.UNSUPPORTED})


CORPUS_CATEGORIES = {
    "corpus-altered-copy": "alteration",
    "corpus-edit-burst": "alteration",
    "corpus-fingerprint-outlier": "alteration",
    "corpus-shared-identifier": "provenance",
    "corpus-language-outlier": "provenance",
    "corpus-outlier-score": "anomaly",
    "email-reply-before-parent": "alteration",
    "email-offset-unusual-for-sender": "provenance",
}
"""Categories of the corpus analysis's findings (``leaktriage.corpus``), beside the rules'."""

CORPUS_TITLES = {
    "corpus-altered-copy": (
        "Near-copy of another file in the dump, with different text",
        "Two files carry nearly the same text but different bytes; the passages that differ, "
        "and which copy was saved later and by whom, say what was changed.",
    ),
    "corpus-edit-burst": (
        "One of several unrelated files re-saved within minutes by one account",
        "Files with separate histories last saved by the same account within a few minutes: "
        "the pattern of a batch re-save, as with the MacronLeaks spreadsheets.",
    ),
    "corpus-fingerprint-outlier": (
        "Authoring fingerprint rare in this dump on several attributes",
        "Its author, application, code page, language or time zone match few other files "
        "here; each rare value is listed with how common it is.",
    ),
    "corpus-shared-identifier": (
        "Shares a document identifier with other files",
        "Word session ids, document ids or PDF ids link versions of one document; a link "
        "across folders or mailboxes shows where copies travelled.",
    ),
    "corpus-language-outlier": (
        "Language or script unlike the rest of the dump",
        "Its text language, metadata script or declared language departs from the dump's "
        "majority (both counts are given).",
    ),
    "corpus-outlier-score": (
        "Unusual for this dump (isolation-forest outlier score)",
        "A model fitted on this dump's fingerprints finds the file unusual; never enough on "
        "its own to call a file altered.",
    ),
    "email-reply-before-parent": (
        "Reply dated before the message it answers",
        "A message in this dump answers another that is dated later: one of the two dates, "
        "or the reply itself, was made up.",
    ),
    "email-offset-unusual-for-sender": (
        "Time-zone offset the sender rarely uses",
        "The Date header's offset differs from the one this sender uses in almost all of "
        "their messages in the dump.",
    ),
}
"""Title and rationale of each corpus finding, for reports (the rules' come from their files)."""


def verdict(
    status: Status, findings: Iterable[Finding], categories: Mapping[str, str]
) -> tuple[str, float]:
    """The file's verdict and 0-100 score from its findings (never "authentic").

    ``categories`` maps rule ids to their category (alteration, decoy, provenance, integrity,
    verification); corpus findings take theirs from ``CORPUS_CATEGORIES``. The score sums
    every finding's severity weight times its grade factor, capped at 100.

    - ``likely_altered``: a high-severity alteration or integrity finding; or a medium one of
      grade A/B together with at least one other corroborating signal.
    - ``decoy_suspected``: a decoy finding of medium severity or more (checked first: a
      planted decoy is an edited copy, so its alteration traces are expected).
    - ``suspicious``: any other finding above info.

    The outlier model (``corpus-outlier-score``, category ``anomaly``, low severity, grade C)
    adds its weight to the score and makes a file at least ``suspicious``, but it never counts
    as the corroborating signal, so it can never on its own, nor as the second of two
    signals, make a file ``likely_altered``. Verification findings (a DKIM pass) are positive
    evidence at severity info: they never move a verdict, and no verdict says "authentic".
    """
    found = list(findings)
    score = min(
        100.0,
        round(sum((WEIGHTS[f.severity] * GRADE_FACTORS.get(f.grade, 0.5) for f in found), 0.0), 1),
    )

    def category(f: Finding) -> str | None:
        return categories.get(f.rule_id) or CORPUS_CATEGORIES.get(f.rule_id)

    signals = [f for f in found if f.severity > Severity.INFO]
    corroborating = [f for f in signals if category(f) != "anomaly"]
    altering = [f for f in corroborating if category(f) in ("alteration", "integrity")]
    high_alteration = any(f.severity is Severity.HIGH for f in altering)
    strong = [f for f in altering if f.severity is Severity.MEDIUM and f.grade in ("A", "B")]
    decoy = any(category(f) == "decoy" and f.severity >= Severity.MEDIUM for f in signals)
    # A decoy marker comes first: decoys are planted, edited copies of real files, so their
    # alteration traces are expected and the reader must first know it may be a trap.
    if decoy:
        return "decoy_suspected", score
    if high_alteration:
        return "likely_altered", score
    if strong and len(corroborating) >= 2:
        return "likely_altered", score
    if signals:
        return "suspicious", score
    if status in UNREADABLE:
        return "unreadable", score
    return "no_signal", score
