"""The hostile corpus: every trap gets its status and reason, the scan goes on, nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaktriage.cli import main
from tests.hostile.build import build_hostile
from tests.test_cli import _fingerprint


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile") / "dump"
    return root, build_hostile(root)


@pytest.fixture(scope="module")
def scanned(
    hostile: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    root, _ = hostile
    before = _fingerprint(root)
    out = tmp_path_factory.mktemp("hostile_out")
    assert (
        main(["-q", "scan", str(root), "--out", str(out), "--workers", "2", "--timeout", "60"]) == 0
    )
    assert _fingerprint(root) == before, "the hostile corpus must not be written to"
    lines = [json.loads(x) for x in (out / "files.jsonl").read_text().splitlines()]
    return {line["path"]: line for line in lines}


def test_every_hostile_file_has_its_status(
    hostile: tuple[Path, dict[str, str]], scanned: dict[str, dict[str, object]]
) -> None:
    _, expected = hostile
    got = {
        path.split("/", 1)[1]: rec["status"] for path, rec in scanned.items() if rec["depth"] == 0
    }
    assert got == expected


def test_bombs_stop_early_and_say_why(scanned: dict[str, dict[str, object]]) -> None:
    member = scanned["dump/zip_bomb_10g.zip!zeros.bin"]
    assert member["status"] == "skipped"
    issues = member["issues"]
    assert isinstance(issues, list) and issues[0]["code"] == "limit.ratio"
    nested = [rec for path, rec in scanned.items() if path.startswith("dump/nested_42.zip!")]
    # 16**4 leaves are never reached: the shared budget trips inside the first branches.
    assert 0 < len(nested) < 200
    assert any(any(i["code"] == "limit.ratio" for i in rec["issues"]) for rec in nested)  # type: ignore[union-attr]


def test_archive_traps(scanned: dict[str, dict[str, object]]) -> None:
    codes = {path: [i["code"] for i in rec["issues"]] for path, rec in scanned.items()}  # type: ignore[union-attr]
    assert codes["dump/traversal.zip!../../outside.txt"] == ["traversal"]
    assert codes["dump/traversal.zip!/etc/cron.d/evil"] == ["traversal"]
    assert scanned["dump/password.zip!secret/plan.txt"]["status"] == "encrypted"
    long_member = "dump/long_name.zip!" + "a" * 9_996 + ".txt"
    assert scanned[long_member]["size"] == len(b"long name\n")
    assert codes["dump/loop"] == ["symlink"]


def test_type_confusion_is_flagged(scanned: dict[str, dict[str, object]]) -> None:
    record = scanned["dump/holiday_photo.jpg"]
    assert (record["mime"], record["extension_mismatch"]) == ("application/pdf", True)


def test_parser_traps_keep_their_reason(scanned: dict[str, dict[str, object]]) -> None:
    codes = {path: [i["code"] for i in rec["issues"]] for path, rec in scanned.items()}  # type: ignore[union-attr]
    assert "xml_unsafe" in codes["dump/billion_laughs.docx"]
    assert codes["dump/cyclic_fat.doc"] and codes["dump/truncated.pdf"]
    assert "encrypted" in codes["dump/encrypted.docx"]
