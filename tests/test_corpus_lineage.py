"""Regression tests for what real dumps showed: a copy is altered only when it shares its
original's lineage; a batch re-save is found by the software that did it, not the names it
kept; dump-relative findings are context. Exact planted values, small invented dumps."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from corpus_fixtures import FOREIGN_PEOPLE, PEOPLE
from corpus_fixtures.builders.ooxml import letter_docx, workbook_xlsx
from corpus_fixtures.synthetic import Meta, pdf
from leaktriage.api import run_scan
from leaktriage.config import ScanConfig
from leaktriage.corpus import FINDINGS, CorpusFinding
from leaktriage.corpus.data import Doc
from leaktriage.corpus.fingerprints import Fingerprint, Rarity
from leaktriage.model import Finding, Severity, Status
from leaktriage.rules.verdict import CONTEXT_CAP, Weigher, corpus_weights

T0 = datetime(2017, 5, 3, 14, 2, 0, tzinfo=UTC)
"""The re-save: nine workbooks within the next four minutes."""
CITIES = ("Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Rennes", "Dijon", "Metz")


def _budget(city: str, n: int) -> list[tuple[str, list[list[str | int | float]]]]:
    rows: list[list[str | int | float]] = [["Poste", "Montant", "Trimestre"]]
    for k, item in enumerate(("Salles", "Transports", "Affiches", "Tracts", "Sono", "Repas")):
        rows.append([item, 1000 * (n + 2) + 137 * k, k % 4 + 1])
    return [(city, rows)]


def _scan(folder: Path, files: dict[str, bytes]) -> sqlite3.Connection:
    root = folder / "dump"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    run_scan(root, folder / "out", ScanConfig(workers=0))
    return sqlite3.connect(folder / "out" / "triage.sqlite")


def _findings(db: sqlite3.Connection, rule: str) -> dict[str, tuple[str, str, str]]:
    """path below the dump -> (severity, grade, message) of a rule's finding."""
    return {
        path.split("/", 1)[1]: (severity, grade, message)
        for path, severity, grade, message in db.execute(
            "SELECT f.path, x.severity, x.grade, x.message FROM findings x "
            "JOIN files f USING (record_id) WHERE x.rule_id = ?",
            (rule,),
        )
    }


# --- the edit burst ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def macron(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    """Nine workbooks made months apart, re-saved within four minutes by one Russian-interface
    Excel: five keep French last-saved-by names, four carry one Cyrillic name. Around them,
    the campaign's own French Excel saves workbooks over weeks, and one colleague saves three
    of hers in one sitting."""
    files: dict[str, bytes] = {}
    for i, city in enumerate(CITIES):
        files[f"finances/budget_{city.lower()}.xlsx"] = workbook_xlsx(
            _budget(city, i),
            title=f"Budget {city}",
            author=PEOPLE[i % len(PEOPLE)],
            last_by=PEOPLE[i] if i < 5 else FOREIGN_PEOPLE[0],
            created=datetime(2016, 9, 5, 8, 0, tzinfo=UTC) + timedelta(days=17 * i, hours=i),
            modified=T0 + timedelta(seconds=25 * i),
            sheet_label="Листы",
            app_version="16.0300",
        )
    for i in range(12):
        files[f"comptes/compte_{i:02d}.xlsx"] = workbook_xlsx(
            _budget(f"Compte {i}", 20 + i),
            title=f"Compte {i}",
            author=PEOPLE[i % len(PEOPLE)],
            last_by=PEOPLE[(i + 1) % len(PEOPLE)],
            created=datetime(2017, 1, 2, 9, 0, tzinfo=UTC) + timedelta(days=6 * i),
            modified=datetime(2017, 1, 3, 10, 0, tzinfo=UTC) + timedelta(days=6 * i, hours=i),
            app_version="16.0000",
        )
    for i in range(3):
        files[f"comptes/sophie_{i}.xlsx"] = workbook_xlsx(
            _budget(f"Note de frais {i}", 40 + i),
            title=f"Note de frais {i}",
            author=PEOPLE[2],
            last_by=PEOPLE[2],
            created=datetime(2017, 2, 1, 9, 0, tzinfo=UTC) + timedelta(days=9 * i),
            modified=datetime(2017, 4, 20, 17, 30, tzinfo=UTC) + timedelta(seconds=70 * i),
            app_version="16.0000",
        )
    return _scan(tmp_path_factory.mktemp("macron"), files)


def test_one_burst_of_nine_tied_by_the_software_not_the_names(
    macron: sqlite3.Connection,
) -> None:
    bursts = macron.execute(
        "SELECT group_id, label, size, summary_json FROM corpus_groups WHERE kind = 'burst' "
        "ORDER BY group_id"
    ).fetchall()
    edit = [b for b in bursts if not json.loads(b[3])["ordinary"]]
    assert len(edit) == 1
    _, label, size, summary = edit[0]
    assert size == 9
    assert label == (
        "9 files saved by Microsoft Excel 16.0300, Russian interface («Листы») "
        "within 3 minutes 20 seconds"
    )
    assert json.loads(summary)["accounts"] == [
        {"name": FOREIGN_PEOPLE[0], "files": 4},
        *({"name": name, "files": 1} for name in sorted(PEOPLE)),
    ]
    found = _findings(macron, "corpus-edit-burst")
    assert sorted(found) == sorted(f"finances/budget_{c.lower()}.xlsx" for c in CITIES)
    severity, grade, message = found["finances/budget_lyon.xlsx"]
    assert (severity, grade) == ("medium", "B")
    assert message == (
        "One of 9 files with separate histories that were all last saved within 3 minutes 20 "
        "seconds (2017-05-03T14:02:00Z to 2017-05-03T14:05:20Z) by the same software: "
        "Microsoft Excel 16.0300, Russian interface («Листы»), which saved no other file in "
        "this dump. They carry 6 different last-saved-by names («Георгий Петровский», "
        "«Camille Durand-Lefort», «Elodie Chambreuil», «Julien Marchetti» and 2 more): a "
        "program keeps the name it was given, so the names alone hide the link."
    )


def test_one_persons_ordinary_saves_are_context_not_an_edit_burst(
    macron: sqlite3.Connection,
) -> None:
    batch = _findings(macron, "corpus-save-batch")
    assert sorted(batch) == [f"comptes/sophie_{i}.xlsx" for i in range(3)]
    assert {(s, g) for s, g, _ in batch.values()} == {("info", "C")}
    assert "Most likely ordinary work" in batch["comptes/sophie_0.xlsx"][2]
    assert not set(batch) & set(_findings(macron, "corpus-edit-burst"))
    verdicts = dict(macron.execute("SELECT path, verdict FROM files"))
    assert {verdicts[f"dump/comptes/sophie_{i}.xlsx"] for i in range(3)} == {"no_signal"}


# --- copies, templates, formats ---------------------------------------------------------------

TEMPLATE_TEXT = (
    "Madame, Monsieur, nous avons le plaisir de vous convier à la réunion publique du comité "
    "local de {city}, qui se tiendra le {day} à la salle des fêtes. Ordre du jour : "
    "présentation du programme, organisation du porte-à-porte, questions diverses.",
    "Merci de confirmer votre présence auprès de {person} avant la fin de la semaine. Les "
    "militants qui le souhaitent pourront rester pour la distribution des tracts.",
    "Avec nos salutations les plus cordiales, l'équipe de campagne de {city}.",
)
LETTERS = (
    ("Lyon", "12 avril", PEOPLE[0]),
    ("Lille", "13 avril", PEOPLE[1]),
    ("Nantes", "19 avril", PEOPLE[2]),
    ("Rennes", "20 avril", PEOPLE[3]),
    ("Dijon", "26 avril", PEOPLE[4]),
)
REPORT = [
    "Compte rendu de la réunion du bureau national consacrée au calendrier des meetings.",
    "Le bureau valide la tenue de six meetings régionaux entre le 18 et le 29 avril.",
    "La direction de la communication prépare les visuels et les éléments de langage.",
    "Le service juridique vérifie les conventions de mise à disposition des salles.",
]
ACCOUNTS = [["Poste", "Montant", "Trimestre"]] + [
    [item, amount, quarter]
    for item, amount, quarter in (
        ("Salles", 48500, 1),
        ("Transports", 21300, 1),
        ("Affiches", 12740, 2),
        ("Tracts", 9810, 2),
        ("Sono", 4420, 3),
        ("Communication numérique", 125000, 3),
        ("Repas", 3160, 4),
    )
]


def _hex(n: int) -> str:
    return f"{n:08X}"


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    files: dict[str, bytes] = {}
    # Five letters written from one template: each its own creation time, rsids and docId.
    for n, (city, day, person) in enumerate(LETTERS):
        text = [p.format(city=city, day=day, person=person) for p in TEMPLATE_TEXT]
        root = _hex(0x00A10000 + 17 * n)
        files[f"courriers/invitation_{city.lower()}.docx"] = letter_docx(
            text,
            title=f"Invitation {city}",
            author=person,
            last_by=person,
            created=datetime(2017, 4, 3 + n, 9, 15, tzinfo=UTC),
            modified=datetime(2017, 4, 3 + n, 10, 2, tzinfo=UTC),
            rsid_root=root,
            rsids=(root, _hex(0x00B20000 + 31 * n)),
            doc_id=f"{{6F1C2A9E-3B4D-4E5F-8A7B-1C2D3E4F5A{n:02X}}}",
            template="Invitation comité local.dotx",
        )
    # One report saved as docx and printed to PDF.
    made = datetime(2017, 4, 10, 8, 30, tzinfo=UTC)
    files["bureau/compte_rendu.docx"] = letter_docx(
        REPORT,
        title="Compte rendu du bureau",
        author=PEOPLE[3],
        last_by=PEOPLE[3],
        created=made,
        modified=made + timedelta(hours=2),
        rsid_root="00C4D9F0",
        rsids=("00C4D9F0",),
        doc_id="{0B7D3E5F-19A2-4C6E-8D0F-2A4C6E8B1D3F}",
    )
    meta = Meta("Compte rendu du bureau", PEOPLE[3], PEOPLE[3], made, made + timedelta(hours=2))
    files["bureau/compte_rendu.pdf"] = pdf(random.Random(5), meta, REPORT)
    # A workbook and its copy: same creation time, one figure changed, saved later elsewhere.
    for name, figure, last_by, saved in (
        (
            "finances/budget_communication.xlsx",
            125000,
            PEOPLE[0],
            datetime(2017, 3, 20, 18, 4, tzinfo=UTC),
        ),
        (
            "presse/budget_communication.xlsx",
            1250000,
            PEOPLE[1],
            datetime(2017, 3, 31, 9, 41, tzinfo=UTC),
        ),
    ):
        rows = [[figure if cell == 125000 else cell for cell in row] for row in ACCOUNTS]
        files[name] = workbook_xlsx(
            [("Budget", rows)],
            title="Budget communication",
            author=PEOPLE[0],
            last_by=last_by,
            created=datetime(2017, 2, 27, 11, 20, 0, tzinfo=UTC),
            modified=saved,
            app_version="16.0000",
        )
    return _scan(tmp_path_factory.mktemp("copies"), files)


def test_documents_from_one_template_are_not_altered_copies(copies: sqlite3.Connection) -> None:
    letters = {f"courriers/invitation_{city.lower()}.docx" for city, _, _ in LETTERS}
    assert not letters & set(_findings(copies, "corpus-altered-copy"))
    same = _findings(copies, "corpus-same-template")
    assert set(same) == letters
    severity, grade, message = same["courriers/invitation_lyon.docx"]
    assert (severity, grade) == ("info", "C")
    assert message.startswith(
        "Nearly the same text as 4 other file(s) of the same kind (dump/courriers/"
    )
    assert message.endswith(
        "but no shared history: each has its own creation time and document ids. Most likely "
        "written from the same template «Invitation comité local.dotx» or form; not a sign "
        "of alteration on its own."
    )
    groups = copies.execute(
        "SELECT label, size FROM corpus_groups WHERE label LIKE 'written from%'"
    ).fetchall()
    assert groups == [("written from the same template: 5 files", 5)]
    verdicts = dict(copies.execute("SELECT path, verdict FROM files"))
    assert {verdicts[f"dump/{p}"] for p in letters} == {"no_signal"}


def test_the_same_text_in_two_formats_is_a_conversion(copies: sqlite3.Connection) -> None:
    pair = {"bureau/compte_rendu.docx", "bureau/compte_rendu.pdf"}
    assert not pair & set(_findings(copies, "corpus-altered-copy"))
    formats = _findings(copies, "corpus-same-text-formats")
    assert set(formats) == pair
    assert formats["bureau/compte_rendu.pdf"] == (
        "info",
        "C",
        "The same text exists in 2 formats (docx, pdf): dump/bureau/compte_rendu.docx. "
        "Usually an export or a conversion, such as a Word file saved as PDF.",
    )


def test_a_copy_sharing_lineage_with_one_figure_changed_is_an_altered_copy(
    copies: sqlite3.Connection,
) -> None:
    found = _findings(copies, "corpus-altered-copy")
    assert set(found) == {
        "finances/budget_communication.xlsx",
        "presse/budget_communication.xlsx",
    }
    severity, grade, message = found["presse/budget_communication.xlsx"]
    assert (severity, grade) == ("high", "B")
    assert message == (
        "Altered copy of dump/finances/budget_communication.xlsx: both come from the same "
        "original (created at the same moment (2017-02-27T11:20:00Z)), and the text was "
        "changed in one place: «125000» → «1250000». This copy was saved later "
        "(2017-03-31T09:41:00Z, the other 2017-03-20T18:04:00Z) by «Julien Marchetti»."
    )
    evidence = copies.execute(
        "SELECT e.field, e.value, e.note FROM evidence e JOIN findings x USING (finding_id) "
        "JOIN files f USING (record_id) WHERE x.rule_id = 'corpus-altered-copy' "
        "AND f.path = 'dump/presse/budget_communication.xlsx' ORDER BY e.ord"
    ).fetchall()
    assert ("corpus.diff", "125000 → 1250000", "passage 1 that differs") in evidence
    assert (
        "doc.created",
        "2017-02-27T11:20:00Z",
        "same in both copies: a shared origin",
    ) in evidence
    assert ("doc.last_modified_by", PEOPLE[1], f"other copy: {PEOPLE[0]}") in evidence
    verdicts = dict(copies.execute("SELECT path, verdict FROM files"))
    assert verdicts["dump/presse/budget_communication.xlsx"] == "likely_altered"
    assert verdicts["dump/finances/budget_communication.xlsx"] == "no_signal"


# --- the registry and dump-relative rarity ----------------------------------------------------


def test_registry_covers_every_corpus_finding_id() -> None:
    assert sorted(FINDINGS) == [
        "corpus-altered-copy",
        "corpus-document-versions",
        "corpus-edit-burst",
        "corpus-fingerprint-outlier",
        "corpus-language-outlier",
        "corpus-outlier-score",
        "corpus-same-template",
        "corpus-same-text-formats",
        "corpus-save-batch",
        "corpus-shared-identifier",
        "email-offset-unusual-for-sender",
        "email-reply-before-parent",
    ]
    context = {fid for fid, f in FINDINGS.items() if f.context_only}
    assert context >= {
        "corpus-fingerprint-outlier",
        "corpus-language-outlier",
        "corpus-shared-identifier",
        "corpus-outlier-score",
        "corpus-same-template",
        "corpus-same-text-formats",
    }
    assert {fid for fid, f in FINDINGS.items() if not f.context_only} == {
        "corpus-altered-copy",
        "corpus-edit-burst",
        "email-reply-before-parent",
    }
    for finding in FINDINGS.values():
        assert isinstance(finding, CorpusFinding)
        assert finding.title and finding.rationale and finding.innocent


def test_context_only_findings_never_make_a_file_likely_altered() -> None:
    weigher = Weigher(corpus_weights({}))

    def finding(rule: str, severity: Severity = Severity.MEDIUM, grade: str = "B") -> Finding:
        return Finding("r", rule, "T0089.003", severity, grade, "m", (), "corpus")

    context = [finding(fid) for fid, f in sorted(FINDINGS.items()) if f.context_only]
    judged = weigher.judge(Status.OK, context)
    assert (judged.label, judged.score) == ("no_signal", CONTEXT_CAP)
    # Nor do they lift a real signal over the threshold: uncalibrated, an edit burst weighs
    # log10(0.5 / 0.005) = 2.0, and the context's 0.5 does not make it 2.5.
    judged = weigher.judge(Status.OK, [finding("corpus-edit-burst"), *context])
    assert (judged.label, judged.score) == ("suspicious", 2.5)
    assert weigher.judge(Status.OK, [finding("corpus-edit-burst")]).score == 2.0


def _doc(n: int) -> Doc:
    return Doc(f"r{n:04d}", f"dump/{n}.docx", None, f"{n:064d}", "application/x", "ok")


def test_a_unique_author_is_not_rare_where_most_authors_are_unique() -> None:
    """Among files from many sources (80 % of authors unique) a unique author says nothing;
    in one organisation's files (two staff) it stands out."""

    def prints(authors: list[str]) -> list[Fingerprint]:
        return [
            Fingerprint(
                _doc(n), (a, a, "Org", "Word", "16.0", "Normal", "+02:00", "1252", "fr", "Latin")
            )
            for n, a in enumerate(authors)
        ]

    diverse = prints([f"Person {n}" for n in range(80)] + ["Staff A"] * 10 + ["Staff B"] * 10)
    rarity = Rarity.of(diverse)
    assert rarity.rare_share[0] == pytest.approx(0.8)
    assert rarity.rare(diverse[0]) == []
    office = prints(["Staff A"] * 60 + ["Staff B"] * 39 + ["Visitor"])
    rarity = Rarity.of(office)
    assert rarity.rare(office[-1]) == [
        ("author", "Visitor", 1),
        ("last_modified_by", "Visitor", 1),
    ]
