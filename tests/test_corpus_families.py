"""Copy families: each text compared with its family's representative only, the text most
files carry taken as the original, and records bounded however large a family grows."""

from __future__ import annotations

from typing import Any

import pytest

from leaktriage.bounds import MAX_PER_RULE, bounded, strongest
from leaktriage.corpus import copies
from leaktriage.model import Finding, Severity

BUDGET = (
    "Budget de la campagne pour le deuxième trimestre. Le poste des salles s'élève à "
    "{salles} euros, celui des transports à 21 300 euros et celui des affiches à 12 740 "
    "euros. La communication numérique reçoit {numerique} euros, validés par le bureau "
    "national le 14 mars, et le solde reste affecté aux réunions publiques des comités."
)
MINUTES = (
    "Compte rendu de la réunion du comité local de {ville}. Le comité a examiné le calendrier "
    "des meetings, la distribution des tracts sur les marchés et l'accueil des nouveaux "
    "adhérents. Prochaine réunion le {jour} à la salle des fêtes, ordre du jour à venir."
)


def _texts() -> list[tuple[str, str]]:
    original = BUDGET.format(salles="48 500", numerique="125 000")
    units = [(f"re-saved-{n:02d}", original) for n in range(30)]
    units += [
        (f"figure-{n}", BUDGET.format(salles="48 500", numerique="1 250 000")) for n in range(3)
    ]
    units += [("rooms", BUDGET.format(salles="4 850", numerique="125 000"))]
    units += [
        (f"minutes-{town}", MINUTES.format(ville=town, jour=day))
        for town, day in (("Lyon", "12 avril"), ("Lille", "13 avril"))
    ]
    return units


def test_a_family_is_compared_with_its_representative_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[tuple[str, str]] = []
    real = copies._check

    def counting(head: str, other: str, *args: Any) -> copies.Pair | None:
        checked.append((head, other))
        return real(head, other, *args)

    monkeypatch.setattr(copies, "_check", counting)
    texts = dict(_texts())
    families, units_of, skipped = copies.find_families(
        iter(_texts()), lambda units: {u: texts[u] for u in units}
    )
    key = {unit: copies.text_key(text) for unit, text in _texts()}
    assert skipped == 0
    assert len(units_of[key["re-saved-00"]]) == 30
    budget = next(f for f in families if f.representative == key["re-saved-00"])
    # Three texts: two comparisons, both with the representative (the text 30 files carry),
    # never between the two altered texts.
    assert sorted(p.b for p in budget.members) == sorted({key["figure-0"], key["rooms"]})
    assert all(
        head == key["re-saved-00"] for head, _ in checked if _ in (key["figure-0"], key["rooms"])
    )
    assert (key["figure-0"], key["rooms"]) not in checked
    assert (key["rooms"], key["figure-0"]) not in checked
    changed = {p.b: p.hunks for p in budget.members}
    assert changed[key["figure-0"]] == [{"a": "125 000", "b": "1 250 000"}]
    assert changed[key["rooms"]] == [{"a": "48 500", "b": "4 850"}]
    # The two minutes are one family of their own (same form, other town and date).
    minutes = [f for f in families if f is not budget]
    assert len(minutes) == 1 and len(minutes[0].members) == 1


def test_ranking_picks_the_representative() -> None:
    texts = dict(_texts())
    key = {unit: copies.text_key(text) for unit, text in _texts()}
    # Ranked by name instead of by how many files carry a text: "figure" comes first.
    families, _, _ = copies.find_families(
        iter(_texts()),
        lambda units: {u: texts[u] for u in units},
        rank=lambda _key, units: (min(units),),
    )
    budget = next(
        f for f in families if key["re-saved-00"] in {f.representative, *(p.b for p in f.members)}
    )
    assert budget.representative == key["figure-0"]


def _finding(record: str, rule: str, severity: Severity, score: float, n: int) -> Finding:
    return Finding(record, rule, "T0089.003", severity, "C", f"link {n}", (), "corpus", score)


def test_a_record_keeps_the_strongest_findings_of_one_check() -> None:
    found = [
        _finding("r1", "corpus-shared-identifier", Severity.INFO, float(n), n) for n in range(7)
    ]
    found.append(_finding("r1", "corpus-altered-copy", Severity.HIGH, 0.9, 99))
    found.append(_finding("r2", "corpus-shared-identifier", Severity.INFO, 1.0, 50))
    kept = strongest(found)
    assert [(f.record_id, f.rule_id, f.message) for f in kept] == [
        (
            "r1",
            "corpus-shared-identifier",
            "link 4 (4 weaker findings of this check on this file "
            "left out; the corpus group lists every member.)",
        ),
        ("r1", "corpus-shared-identifier", "link 5"),
        ("r1", "corpus-shared-identifier", "link 6"),
        ("r1", "corpus-altered-copy", "link 99"),
        ("r2", "corpus-shared-identifier", "link 50"),
    ]
    assert MAX_PER_RULE == 3


def test_a_line_says_what_was_cut_from_it() -> None:
    data: dict[str, Any] = {
        "fields": {
            "links.external": [f"https://example.org/{n}" for n in range(60)],
            "doc.title": "x" * 2_500,
        },
        "raw": {"Info/Subject": "short"},
        "findings": [
            {
                "rule_id": "r",
                "severity": "low",
                "score": float(n),
                "evidence": [{"field": "f", "value": "v" * 600, "note": ""}] * 25,
            }
            for n in range(5)
        ],
    }
    out = bounded(data)
    assert out["fields"]["links.external"] == [f"https://example.org/{n}" for n in range(50)]
    assert out["fields"]["doc.title"] == "x" * 2_000
    assert [f["score"] for f in out["findings"]] == [2.0, 3.0, 4.0]
    assert len(out["findings"][0]["evidence"]) == 20
    assert out["findings"][0]["evidence"][0]["value"] == "v" * 500 + "… [100 characters]"
    assert out["cut"] == {
        "fields.doc.title": {"kept_chars": 2_000, "left_out_chars": 500},
        "fields.links.external": {"kept": 50, "left_out": 10},
        "findings.r": {"kept": 3, "left_out": 2},
        "findings.r.evidence": {"kept": 60, "left_out": 15},
    }
    # Rendering the line again after the corpus stage keeps what was cut from the values.
    again = bounded({**out, "findings": []})
    assert again["cut"] == {
        "fields.doc.title": {"kept_chars": 2_000, "left_out_chars": 500},
        "fields.links.external": {"kept": 50, "left_out": 10},
    }
