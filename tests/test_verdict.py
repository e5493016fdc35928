"""How findings combine into a verdict: measured weights, groups, context, thresholds."""

from __future__ import annotations

import math

import pytest

from leaktriage.model import Finding, Severity, Status
from leaktriage.rules.verdict import (
    CONTEXT_CAP,
    BaseRate,
    RuleWeight,
    Weigher,
    family_of,
    verdict,
)


def _finding(rule: str, severity: Severity = Severity.MEDIUM) -> Finding:
    return Finding("r", rule, "T0089.003", severity, "B", f"{rule} fired")


def _rate(fires: int, of: int, **families: tuple[int, int]) -> BaseRate:
    return BaseRate(fires, of, "2026-12-07", "abc", families)


WEIGHER = Weigher(
    {
        # 0 of 999 genuine files: log10(0.5 / (0.5 / 1000)) = 3.0
        "never-seen": RuleWeight("alteration", Severity.MEDIUM, _rate(0, 999), title="Never"),
        # 99 of 999: log10(0.5 / (99.5 / 1000)) = 0.70
        "common": RuleWeight("alteration", Severity.MEDIUM, _rate(99, 999), title="Common"),
        # grouped with never-seen-twin: the same fact read two ways
        "twin-a": RuleWeight("alteration", Severity.MEDIUM, _rate(1, 999), "twins", title="A"),
        "twin-b": RuleWeight("alteration", Severity.MEDIUM, _rate(1, 999), "twins", title="B"),
        "outlier": RuleWeight("alteration", Severity.LOW, _rate(0, 999), context=True, title="O"),
        "language": RuleWeight("provenance", Severity.LOW, _rate(0, 999), context=True),
        "beacon": RuleWeight("decoy", Severity.HIGH, title="Beacon"),
        "weak-beacon": RuleWeight("decoy", Severity.LOW, title="Weak beacon"),
    },
    likely_altered_at=2.5,
)


def test_a_rule_weighs_how_much_rarer_it_is_among_genuine_files() -> None:
    weight, basis = WEIGHER.weights["never-seen"].weight()
    assert weight == 3.0
    assert basis == "fires on 0 of 999 genuine files"
    weight, basis = WEIGHER.weights["common"].weight()
    assert weight == round(math.log10(0.5 / (99.5 / 1000)), 2) == 0.7
    assert basis == "fires on 99 of 999 genuine files"


def test_a_family_with_enough_files_uses_its_own_rate() -> None:
    rule = RuleWeight("alteration", Severity.MEDIUM, _rate(5, 1000, pdf=(5, 100), image=(0, 10)))
    assert rule.weight("pdf") == (
        round(math.log10(0.5 / (5.5 / 101)), 2),
        "fires on 5 of 100 genuine pdf files",
    )
    # ten images are too few: the overall rate stands in
    assert rule.weight("image")[1] == "fires on 5 of 1,000 genuine files"


def test_an_uncalibrated_rule_takes_its_rate_from_its_severity() -> None:
    rule = RuleWeight("alteration", Severity.HIGH)
    assert rule.weight() == (
        round(math.log10(0.9 / 0.0005), 2),
        "not calibrated: genuine rate assumed 0.0005 from its severity",
    )


def test_one_rare_finding_makes_a_file_likely_altered_with_its_chain() -> None:
    judged = WEIGHER.judge(Status.OK, [_finding("never-seen")])
    assert (judged.label, judged.score) == ("likely_altered", 3.0)
    assert judged.explain().splitlines() == [
        "+3.00 Never (fires on 0 of 999 genuine files)",
        "= 3.00 combined (log10 likelihood ratio); likely_altered from 2.5, suspicious from 1.0",
    ]


def test_a_common_finding_alone_is_not_even_suspicious() -> None:
    assert verdict(Status.OK, [_finding("common")], WEIGHER) == ("no_signal", 0.7)


def test_rules_of_one_group_count_once() -> None:
    judged = WEIGHER.judge(Status.OK, [_finding("twin-a"), _finding("twin-b")])
    single = WEIGHER.weights["twin-a"].weight()[0]
    assert judged.score == single
    assert [s.weight for s in judged.chain] == [single, 0.0]
    assert "not counted again" in judged.chain[1].note


@pytest.mark.parametrize("others", [[], ["common"]])
def test_context_alone_or_with_a_weak_signal_never_makes_likely_altered(others: list[str]) -> None:
    found = [_finding("outlier", Severity.LOW), _finding("language", Severity.LOW)]
    found += [_finding(rule) for rule in others]
    judged = WEIGHER.judge(Status.OK, found)
    assert judged.label != "likely_altered"
    context = [s for s in judged.chain if s.rule_id in ("outlier", "language")]
    assert sum(s.weight for s in context) == CONTEXT_CAP
    assert all("context, not proof" in s.note for s in context)


def test_decoys_come_first_and_weak_decoys_are_suspicious() -> None:
    assert (
        WEIGHER.judge(Status.OK, [_finding("beacon", Severity.HIGH), _finding("never-seen")]).label
        == "decoy_suspected"
    )
    assert WEIGHER.judge(Status.OK, [_finding("weak-beacon", Severity.LOW)]).label == "suspicious"


def test_info_findings_weigh_nothing_and_unreadable_files_say_so() -> None:
    assert verdict(Status.OK, [_finding("never-seen", Severity.INFO)], WEIGHER) == (
        "no_signal",
        0.0,
    )
    assert verdict(Status.ERROR, [], WEIGHER) == ("unreadable", 0.0)


@pytest.mark.parametrize(
    ("mime", "extension", "family"),
    [
        ("application/pdf", "pdf", "pdf"),
        ("image/jpeg", "jpg", "image"),
        ("message/rfc822", "eml", "email"),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            "spreadsheet",
        ),
        ("application/vnd.ms-powerpoint", "ppt", "presentation"),
        ("application/vnd.oasis.opendocument.text", "odt", "word"),
        ("application/msword", "doc", "word"),
        ("application/zip", "zip", "archive"),
        ("text/plain", "txt", "other"),
    ],
)
def test_families(mime: str, extension: str, family: str) -> None:
    assert family_of(mime, extension) == family


def test_evidence_of_a_group_counts_even_when_a_context_rule_of_it_weighs_more() -> None:
    weigher = Weigher(
        {
            "lead": RuleWeight("alteration", Severity.MEDIUM, _rate(0, 999), "dates", True, "L"),
            "proof": RuleWeight("alteration", Severity.MEDIUM, _rate(9, 999), "dates", title="P"),
        },
        likely_altered_at=2.5,
    )
    judged = weigher.judge(Status.OK, [_finding("lead"), _finding("proof")])
    assert [s.rule_id for s in judged.chain] == ["proof", "lead"]
    assert judged.chain[0].weight == round(math.log10(0.5 / (9.5 / 1000)), 2) == 1.72
    assert judged.chain[1].weight == 0.0 and "not counted again" in judged.chain[1].note


def test_a_family_with_its_own_threshold_is_judged_by_it() -> None:
    weigher = Weigher(dict(WEIGHER.weights), likely_altered_at=2.5, family_thresholds={"pdf": 3.25})
    assert weigher.threshold("pdf") == 3.25
    assert weigher.threshold("image") == 2.5
    # never-seen weighs 3.0: enough for a photo, not for a PDF
    photo = weigher.judge(Status.OK, [_finding("never-seen")], "image")
    pdf = weigher.judge(Status.OK, [_finding("never-seen")], "pdf")
    assert (photo.label, photo.evidence, photo.likely_altered_at) == ("likely_altered", 3.0, 2.5)
    assert (pdf.label, pdf.evidence, pdf.likely_altered_at) == ("suspicious", 3.0, 3.25)
    assert pdf.explain().splitlines()[-1] == (
        "= 3.00 combined (log10 likelihood ratio); likely_altered from 3.25, suspicious from 1.0"
    )


def test_context_adds_to_the_score_but_not_to_the_evidence() -> None:
    judged = WEIGHER.judge(Status.OK, [_finding("common"), _finding("outlier", Severity.LOW)])
    assert (judged.evidence, judged.score) == (0.7, 1.2)
