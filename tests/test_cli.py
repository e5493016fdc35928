"""CLI end to end on the sample leak, and the library API's streaming."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

import leaktriage
from leaktriage.cli import main
from leaktriage.model import Status


def _fingerprint(root: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path)] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
    return found


def test_scan_sample_leak_end_to_end(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(sample_leak)
    out = tmp_path / "out"
    assert main(["scan", str(sample_leak), "--out", str(out), "--leak-date", "2017-05-05"]) == 0
    summary = capsys.readouterr().out
    assert "Scanned" in summary and "By status" in summary
    assert _fingerprint(sample_leak) == before, "the input must never be written to"
    lines = [json.loads(x) for x in (out / "files.jsonl").read_text().splitlines()]
    paths = [line["path"] for line in lines]
    assert paths == sorted(paths)
    expected_keys = {
        "record_id",
        "path",
        "parent_id",
        "sha256",
        "md5",
        "size",
        "mime",
        "status",
        "fields",
        "issues",
        "verdict",
        "score",
        "findings",
        "schema_version",
    }
    assert expected_keys <= set(lines[0])
    files_on_disk = [p for p in sample_leak.rglob("*") if p.is_file()]
    top_level = [line for line in lines if line["depth"] == 0]
    assert len(top_level) == len(files_on_disk)
    # The run's counts add up to the items found.
    import sqlite3

    db = sqlite3.connect(out / "triage.sqlite")
    items, counts = db.execute("SELECT items, counts_json FROM runs").fetchone()
    assert items == len(lines) == sum(json.loads(counts).values())
    assert Counter(line["status"] for line in lines) == json.loads(counts)
    header = (out / "files.csv").read_text().splitlines()[0]
    assert header.startswith("record_id,path,parent_id")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(i["path"], i["sha256"]) for i in manifest["items"]] == [
        (line["path"], line["sha256"]) for line in lines
    ]
    assert manifest["options"]["leak_date"] == "2017-05-05"
    assert manifest["version"] == leaktriage.__version__
    assert (
        manifest["outputs"]["files.jsonl"]
        == hashlib.sha256((out / "files.jsonl").read_bytes()).hexdigest()
    )


def test_show_prints_one_record(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["-q", "scan", str(sample_leak), "--out", str(out)]) == 0
    capsys.readouterr()
    key = "sample_leak/archives/links.tar!data/passwd"
    assert main(["show", str(out), key]) == 0
    shown = capsys.readouterr().out
    assert key in shown and "symlink" in shown and "skipped" in shown
    assert main(["show", str(out), "no-such-record"]) == 2


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 3
    assert "no such file" in capsys.readouterr().err
    inside = tmp_path / "dump"
    inside.mkdir()
    (inside / "a.txt").write_text("a")
    assert main(["scan", str(inside), "--out", str(inside / "out")]) == 3
    assert not (inside / "out").exists()
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(inside), "--out", str(tmp_path / "o"), "--leak-date", "yesterday"])
    assert exc.value.code == 2


def test_version_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leaktriage", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"leaktriage {leaktriage.__version__}"


def test_scan_api_streams(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text(f"{name}\n")
    records = leaktriage.scan(root, workers=0)
    assert isinstance(records, types.GeneratorType)
    first = next(records)
    assert first.path == "dump/a.txt"
    # c.txt has not been read yet: removing it now shows up as an unreadable item.
    (root / "c.txt").unlink()
    rest = list(records)
    assert [r.path for r in rest] == ["dump/b.txt", "dump/c.txt"]
    assert rest[-1].status is Status.ERROR


def test_triage_file_bytes_and_path(tmp_path: Path) -> None:
    from corpus_fixtures.builders.archive import nested_three_levels

    data = nested_three_levels()
    records = leaktriage.triage_file(data, name="incoming.zip")
    assert records[0].path == "incoming.zip" and records[0].mime == "application/zip"
    assert records[0].sha256 == hashlib.sha256(data).hexdigest()
    assert len(records) == 8
    (tmp_path / "x.zip").write_bytes(data)
    from_path = leaktriage.triage_file(tmp_path / "x.zip")
    assert [r.record_id for r in from_path][1:] != []
    assert from_path[0].sha256 == records[0].sha256


def test_console_entry_runs_sandboxed(sample_leak: Path, tmp_path: Path) -> None:
    # The command's own process refuses network and process starts; the scan still works.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leaktriage",
            "-q",
            "scan",
            str(sample_leak),
            "--out",
            str(tmp_path / "o"),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "o" / "files.jsonl").read_text().splitlines()
    assert lines and not any('"network_blocked"' in line for line in lines)


NEWSROOM_RULE = """id: newsroom-programme-title
title: Named "programme" by the newsroom's own rule
severity: medium
category: alteration
technique: T0089.003
grade: B
rationale: Planted for the show test.
false_positives:
  - Any programme.
match:
  all:
    - {field: file.name, regex: "(?i)^programme"}
message: File named like the programme
tests:
  - name: the programme
    record:
      file.name: programme_mai.docx
    expect: match
  - name: another file
    record:
      file.name: note.docx
    expect: no_match
"""


def test_show_prints_the_weight_chain_with_the_runs_own_rules(
    sample_leak: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "newsroom-programme-title.yaml").write_text(NEWSROOM_RULE, encoding="utf-8")
    out = tmp_path / "out"
    scan = ["-q", "scan", str(sample_leak), "--out", str(out), "--rules", str(rules)]
    assert main([*scan, "--leak-date", "2017-05-05"]) == 0
    capsys.readouterr()
    assert main(["show", str(out), "sample_leak/documents/campagne/programme_mai.docx"]) == 0
    shown = capsys.readouterr().out
    chain = shown[shown.index("how the verdict was reached") :].splitlines()
    # The newsroom's rule is not calibrated: its weight comes from its severity (medium:
    # log10(0.5 / 0.005) = 2.00), and show knows it because it loads the run's rules.
    assert (
        '  +2.00 Named "programme" by the newsroom\'s own rule (not calibrated: genuine rate '
        "assumed 0.005 from its severity)"
    ) in chain
    assert any(line.startswith("  = ") and "likely_altered from 2.0" in line for line in chain)
