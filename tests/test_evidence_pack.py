"""``leaktriage evidence``: a record's pack, re-read from the dump along its provenance chain."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from corpus_fixtures.builders.archive import tar_gz_bytes, zip_bytes
from corpus_fixtures.builders.email import attachment_eml
from corpus_fixtures.builders.pdf import memo_revisions
from leaktriage import ScanConfig, __version__, run_scan
from leaktriage.cli import main
from leaktriage.errors import EXIT_OUTPUT, EXIT_UNVERIFIED, EXIT_USAGE
from leaktriage.evidence import NAME_BYTES, safe_name
from leaktriage.store import Store
from leaktriage.store.evidence import EvidenceFile

NESTED = "dump/bundle.zip!docs/nested.tar.gz!memo.pdf"
ATTACHED = "dump/mail.eml!attachment:memo.pdf"
CLIMBING = "dump/bundle.zip!../../esc..ape.pdf"


@dataclass(frozen=True)
class Scanned:
    """A scanned dump and the bytes planted in it."""

    dump: Path
    out: Path
    first: bytes
    final: bytes
    tar_gz: bytes
    bundle: bytes
    mail: bytes


def _plant(root: Path, workers: int = 0) -> Scanned:
    first, final = memo_revisions()
    tar_gz = tar_gz_bytes([("memo.pdf", final)])
    bundle = zip_bytes([("docs/nested.tar.gz", tar_gz), ("../../esc..ape.pdf", final)])
    mail = attachment_eml("memo.pdf", final, "application", "pdf")
    dump = root / "dump"
    dump.mkdir(parents=True)
    (dump / "bundle.zip").write_bytes(bundle)
    (dump / "mail.eml").write_bytes(mail)
    out = root / "out"
    run_scan(dump, out, ScanConfig(workers=workers))
    return Scanned(dump, out, first, final, tar_gz, bundle, mail)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    return _plant(tmp_path_factory.mktemp("evidence"))


def _record(out: Path, path: str) -> dict[str, object]:
    for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data["path"] == path:
            return dict(data)
    raise AssertionError(path)


def _line(out: Path, path: str) -> bytes:
    for line in (out / "files.jsonl").read_bytes().splitlines(keepends=True):
        if json.loads(line)["path"] == path:
            return line
    raise AssertionError(path)


def _files(pack: Path) -> list[str]:
    return sorted(p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file())


def _sums(pack: Path) -> dict[str, str]:
    """SHA256SUMS as {path: sha256}, each checked against the file's bytes recomputed."""
    listed: dict[str, str] = {}
    for line in (pack / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == digest, name
        listed[name] = digest
    return listed


def _pack(out: Path, key: str, target: Path, *extra: str) -> int:
    return main(["evidence", str(out), key, "--out", str(target), "-q", *extra])


def test_pack_by_record_id_holds_the_chain_record_findings_and_first_revision(
    scanned: Scanned, tmp_path: Path
) -> None:
    record = _record(scanned.out, NESTED)
    pack = tmp_path / "pack"
    assert _pack(scanned.out, str(record["record_id"]), pack) == 0
    assert _files(pack) == [
        "README.txt",
        "SHA256SUMS",
        "containers/1-bundle.zip",
        "containers/2-docs_nested.tar.gz",
        "evidence/revision-1-page-1.png",
        "findings.json",
        "item/memo.pdf",
        "manifest.json",
        "record.json",
        "revisions/revision-1.pdf",
    ]
    sums = _sums(pack)
    assert sorted(sums) == [name for name in _files(pack) if name != "SHA256SUMS"]
    item = (pack / "item/memo.pdf").read_bytes()
    assert item == scanned.final
    assert hashlib.sha256(item).hexdigest() == record["sha256"]
    assert (pack / "revisions/revision-1.pdf").read_bytes() == scanned.first
    assert (pack / "containers/1-bundle.zip").read_bytes() == scanned.bundle
    assert (pack / "containers/2-docs_nested.tar.gz").read_bytes() == scanned.tar_gz
    assert (pack / "record.json").read_bytes() == _line(scanned.out, NESTED)

    findings = json.loads((pack / "findings.json").read_text(encoding="utf-8"))
    by_rule = {f["rule_id"]: f for f in findings["findings"]}
    changed = by_rule["pdf-revision-text-changed"]
    assert changed["technique"] == "T0089.003"
    assert changed["message"].endswith("-Montant engagé : 45 000 € | +Montant engagé : 450 000 €")
    assert changed["innocent_explanations"][0].startswith("Adding comments and stamps")
    assert findings["facts"]["pdf.revision_count"] == 2
    assert findings["verdict"] == record["verdict"] == "likely_altered"

    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tool_version"] == __version__
    assert manifest["run_id"] == 1
    assert manifest["verified"] is True
    assert manifest["problems"] == []
    listed = {f["path"]: (f["sha256"], f["size"]) for f in manifest["files"]}
    assert listed == {
        name: (digest, (pack / name).stat().st_size)
        for name, digest in sums.items()
        if name != "manifest.json"
    }
    assert [level["path"] for level in manifest["chain"]] == [
        "dump/bundle.zip",
        "dump/bundle.zip!docs/nested.tar.gz",
        NESTED,
    ]

    readme = (pack / "README.txt").read_text(encoding="utf-8")
    assert f"path     {NESTED}\n" in readme
    assert f"sha256   {record['sha256']}\n" in readme
    assert "verdict  likely_altered (score " in readme
    assert "sha256 the scan recorded." in readme
    assert "  pdf-revision-text-changed  The text of an earlier version differs" in readme
    assert "      technique: T0089.003\n" in readme
    assert "      innocent explanation: Adding comments and stamps" in readme
    assert "  = " in readme  # the weight chain `show` prints

    if shutil.which("sha256sum"):
        checked = subprocess.run(
            ["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=pack, capture_output=True
        )
        assert checked.returncode == 0, checked.stdout


def test_pack_by_provenance_path_takes_the_attachment_out_of_the_mail(
    scanned: Scanned, tmp_path: Path
) -> None:
    pack = tmp_path / "pack"
    assert _pack(scanned.out, ATTACHED, pack) == 0
    assert _files(pack) == [
        "README.txt",
        "SHA256SUMS",
        "containers/1-mail.eml",
        "evidence/revision-1-page-1.png",
        "findings.json",
        "item/memo.pdf",
        "manifest.json",
        "record.json",
        "revisions/revision-1.pdf",
    ]
    _sums(pack)
    assert (pack / "containers/1-mail.eml").read_bytes() == scanned.mail
    assert (pack / "item/memo.pdf").read_bytes() == scanned.final
    assert (pack / "revisions/revision-1.pdf").read_bytes() == scanned.first
    assert (pack / "record.json").read_bytes() == _line(scanned.out, ATTACHED)


def test_two_packs_of_one_record_differ_only_in_the_manifest_time(
    scanned: Scanned, tmp_path: Path
) -> None:
    assert _pack(scanned.out, ATTACHED, tmp_path / "a") == 0
    assert _pack(scanned.out, ATTACHED, tmp_path / "b") == 0
    a, b = _sums(tmp_path / "a"), _sums(tmp_path / "b")
    assert {k: v for k, v in a.items() if k != "manifest.json"} == {
        k: v for k, v in b.items() if k != "manifest.json"
    }
    manifests = [json.loads((tmp_path / p / "manifest.json").read_text()) for p in "ab"]
    for manifest in manifests:
        del manifest["created_at"]
    assert manifests[0] == manifests[1]


def test_names_that_climb_out_are_made_safe(scanned: Scanned, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    assert _pack(scanned.out, CLIMBING, pack) == 0
    assert "item/_._esc.ape.pdf" in _files(pack)
    for name in _files(pack):
        assert ".." not in name
        assert (pack / name).resolve().is_relative_to(pack.resolve())
    assert not (tmp_path / "esc..ape.pdf").exists()
    assert (pack / "item/_._esc.ape.pdf").read_bytes() == scanned.final


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../esc..ape.pdf", "_._esc.ape.pdf"),
        ("inbox/2017\\msg.eml", "inbox_2017_msg.eml"),
        ("attachment:rapport.pdf", "rapport.pdf"),
        ("<20170504@campagne-exemple.fr>", "_20170504@campagne-exemple.fr_"),
        ("bad\x00na\u202eme\n.txt", "bad_na_me_.txt"),
        ("CON.txt", "_CON.txt"),
        ("..", "item"),
        ("", "item"),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_safe_name_bounds_the_length_and_keeps_the_extension() -> None:
    made = safe_name("é" * 300 + ".pdf")
    assert made.endswith(".pdf")
    assert len(made.encode("utf-8")) <= NAME_BYTES
    assert made == "é" * ((NAME_BYTES - 4) // 2) + ".pdf"


def test_a_changed_or_missing_dump_is_said_and_the_rest_still_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Scanned with a worker process: the pack takes the attachment out in one too.
    scanned = _plant(tmp_path / "scan", workers=1)
    record = _record(scanned.out, "dump/mail.eml")
    changed = scanned.mail.replace(b"09:20:00 +0200", b"09:21:00 +0200", 1)
    assert changed != scanned.mail
    (scanned.dump / "mail.eml").write_bytes(changed)
    capsys.readouterr()
    pack = tmp_path / "tampered"
    assert _pack(scanned.out, ATTACHED, pack) == EXIT_UNVERIFIED
    found = hashlib.sha256(changed).hexdigest()
    message = (
        f"dump/mail.eml: the bytes found differ from the scan's: sha256 {found}, "
        f"the record says {record['sha256']}"
    )
    assert f"leaktriage: not verified: {message}" in capsys.readouterr().err.replace("\n", " ")
    readme = (pack / "README.txt").read_text(encoding="utf-8")
    assert "Bytes: NOT VERIFIED." in readme
    assert f"  - {message}\n" in readme
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["verified"] is False
    assert manifest["problems"] == [message]
    assert (pack / "containers/1-mail.eml").read_bytes() == changed
    # The attachment inside is unchanged: its own bytes still match the record.
    assert (pack / "item/memo.pdf").read_bytes() == scanned.final
    assert [level["problem"] for level in manifest["chain"]] == [message[15:], None]
    _sums(pack)

    shutil.rmtree(scanned.dump)
    gone = tmp_path / "gone"
    assert _pack(scanned.out, ATTACHED, gone) == EXIT_UNVERIFIED
    assert _files(gone) == [
        "README.txt",
        "SHA256SUMS",
        # What the scan kept of the record: its picture, and the earlier revision it cut
        # from the bytes it read then (the pack cannot cut it again: the dump is gone).
        "evidence/revision-1-page-1.png",
        "evidence/revision-1.pdf",
        "findings.json",
        "manifest.json",
        "record.json",
    ]
    _sums(gone)
    manifest = json.loads((gone / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chain"][0]["problem"].startswith("not found in the dump: ")
    assert manifest["chain"][1]["problem"] == "its container could not be read"
    assert "earlier PDF revisions not written" in manifest["notes"][0]


def test_an_unknown_record_is_a_clear_error_and_writes_nothing(
    scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack"
    assert _pack(scanned.out, "dump/no-such.pdf", pack) == EXIT_USAGE
    assert f"leaktriage: no record dump/no-such.pdf in {scanned.out}" in capsys.readouterr().err
    assert not pack.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_folder_is_refused_unless_forced(scanned: Scanned, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "keep.txt").write_text("earlier work\n")
    assert _pack(scanned.out, ATTACHED, pack) == EXIT_OUTPUT
    assert _files(pack) == ["keep.txt"]
    assert _pack(scanned.out, ATTACHED, pack, "--force") == 0
    assert "keep.txt" not in _files(pack)
    assert "item/memo.pdf" in _files(pack)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]  # no temporary left


def test_a_pack_is_never_written_into_the_dump_nor_over_it_or_the_scan(
    scanned: Scanned, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = scanned.dump / "pack"
    assert _pack(scanned.out, ATTACHED, inside) == EXIT_OUTPUT
    assert "a pack is never written there" in capsys.readouterr().err
    assert not inside.exists()
    assert sorted(p.name for p in scanned.dump.iterdir()) == ["bundle.zip", "mail.eml"]
    for holder in (scanned.out, scanned.dump.parent):
        assert _pack(scanned.out, ATTACHED, holder, "--force") == EXIT_OUTPUT
        assert "choose another --out" in capsys.readouterr().err
    assert (scanned.out / "triage.sqlite").is_file()
    assert (scanned.dump / "mail.eml").read_bytes() == scanned.mail


def test_pictures_kept_for_the_record_are_copied(
    scanned: Scanned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(scanned.out, out)
    rid = str(_record(out, ATTACHED)["record_id"])
    folder = out / "evidence" / rid
    assert sorted(p.name for p in folder.iterdir()) == ["revision-1-page-1.png", "revision-1.pdf"]
    (folder / "page-1.png").write_bytes(b"\x89PNG\r\n\x1a\n planted page")
    (tmp_path / "outside.png").write_bytes(b"not the scan's")
    (folder / "link.png").symlink_to(tmp_path / "outside.png")
    stored = b"\x89PNG\r\n\x1a\n stored thumbnail"
    rows = [
        EvidenceFile(
            "../thumb.png",
            "thumbnail_pair",
            "EXIF thumbnail",
            "image/png",
            4,
            3,
            hashlib.sha256(stored).hexdigest(),
            stored,
        )
    ]
    monkeypatch.setattr(Store, "evidence_files", lambda self, r: rows)
    pack = tmp_path / "pack"
    assert _pack(out, rid, pack) == 0
    assert (pack / "evidence/page-1.png").read_bytes() == b"\x89PNG\r\n\x1a\n planted page"
    assert (pack / "evidence/_thumb.png").read_bytes() == stored
    assert not (pack / "evidence/link.png").exists()  # a symlink is not followed
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["file"], e.get("kind")) for e in manifest["evidence"]] == [
        ("evidence/_thumb.png", "thumbnail_pair"),
        ("evidence/page-1.png", None),
        ("evidence/revision-1-page-1.png", None),  # revision-1.pdf: the bytes of revisions/
    ]
    assert set(_sums(pack)) >= {"evidence/page-1.png", "evidence/_thumb.png"}
