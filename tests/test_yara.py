"""--yara: a newsroom's YARA rules see inside compressed parts, and broken rules stop the scan."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

import leaktriage
from corpus_fixtures.builders.ooxml import memo_docx
from corpus_fixtures.builders.pdf import budget_two_updates_pdf
from leaktriage.cli import main

pytest.importorskip("yara", reason="yara-python is part of the test extra")

RULES = """
rule decoy_phrase {
  strings: $a = "Marseille sont confirm"
  condition: $a
}
rule inflated_figure {
  strings: $a = "12 000 000"
  condition: $a
}
rule mail_marker {
  strings: $a = "CODE-ORANGE-7731"
  condition: $a
}
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "yara"
    folder.mkdir()
    (folder / "newsroom.yar").write_text(RULES, encoding="utf-8")
    return folder


def test_matches_inside_zip_parts_pdf_streams_and_mail_bodies(rules_dir: Path) -> None:
    memo = memo_docx()
    assert b"Marseille sont confirm" not in memo  # only the inflated part has it
    [record] = leaktriage.triage_file(memo, name="memo.docx", yara_dir=str(rules_dir), workers=0)
    assert record.fields["yara.matches"] == ("decoy_phrase|zip:word/document.xml",)
    finding = next(f for f in record.findings if f.rule_id == "yara-match")
    assert finding.technique == "C00202"
    assert finding.message == (
        "Matched the newsroom's YARA rule(s): decoy_phrase|zip:word/document.xml"
    )

    budget = budget_two_updates_pdf()
    assert b"12 000 000" not in budget
    [record] = leaktriage.triage_file(budget, name="b.pdf", yara_dir=str(rules_dir), workers=0)
    [match] = record.fields["yara.matches"]
    assert isinstance(match, str) and match.startswith("inflated_figure|pdf-stream:")

    message = EmailMessage()
    message["From"] = "Julien Marchetti <julien.marchetti@campagne-exemple.fr>"
    message["Subject"] = "Consignes"
    message["Message-ID"] = "<consignes.1@campagne-exemple.fr>"
    message.set_content("Le mot de passe est CODE-ORANGE-7731 — à ne pas diffuser.\n", cte="base64")
    data = message.as_bytes()
    assert b"CODE-ORANGE-7731" not in data
    records = leaktriage.triage_file(data, name="m.eml", yara_dir=str(rules_dir), workers=0)
    assert records[0].fields["yara.matches"] == ("mail_marker|mail-part:0:text/plain",)


def test_no_match_leaves_no_fact(rules_dir: Path) -> None:
    [record] = leaktriage.triage_file(b"plain words\n", name="a.txt", yara_dir=str(rules_dir))
    assert "yara.matches" not in record.fields
    assert not [f for f in record.findings if f.rule_id == "yara-match"]


def test_broken_rule_folder_stops_the_scan(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.yara").write_text('rule x {\n  strings: $a = "x"\n  condition: $b\n}\n')
    out = tmp_path / "out"
    assert main(["scan", str(sample_leak), "--out", str(out), "--yara", str(folder)]) == 4
    error = capsys.readouterr().err
    assert f'{folder}/broken.yara(4): undefined string "$b"' in error
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["scan", str(sample_leak), "--out", str(out), "--yara", str(empty)]) == 4
    assert "no .yar or .yara files" in capsys.readouterr().err
    (empty / "inc.yar").write_text('include "/etc/passwd"\nrule y { condition: true }\n')
    assert main(["scan", str(sample_leak), "--out", str(out), "--yara", str(empty)]) == 4
    assert "include" in capsys.readouterr().err
