"""Whole scans of dump shapes nobody on the team made: names in foreign code pages, keys and
file names that are not UTF-8, compressed streams, bombs, ambiguous provenance. Each of these
stopped, hid or mislabelled part of a dump before; each test plants one shape and asserts
the exact record it must give."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from leaktriage.cli import main
from leaktriage.config import Limits
from leaktriage.walk import ArchiveStats, Content, Item, iter_archive
from tests.test_cli import _fingerprint

RUSSIAN = ["Отчет за май.xls", "Смета кампании.xls", "Бюджет.xls"]


def _zip_with_raw_names(names: list[bytes], utf8_flag: bool) -> bytes:
    """A zip whose member names are exactly ``names`` (zipfile would write UTF-8 itself):
    written with ASCII placeholders of the same length, then patched."""
    placeholders = [chr(ord("A") + i).encode() * len(n) for i, n in enumerate(names)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for placeholder in placeholders:
            info = zipfile.ZipInfo(placeholder.decode(), date_time=(2017, 5, 4, 22, 10, 0))
            archive.writestr(info, b"cells")
    data = bytearray(buffer.getvalue())
    if utf8_flag:  # zipfile resets the flags it writes: set bit 11 in both headers
        for signature, at in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
            start = data.find(signature)
            while start >= 0:
                data[start + at] |= 0x08  # 0x800 is bit 3 of the flags' second byte
                start = data.find(signature, start + 4)
    for placeholder, name in zip(placeholders, names, strict=True):
        assert data.count(placeholder) == 2, "in the local header and the central directory"
        data = data.replace(placeholder, name)
    return bytes(data)


def _pdf(info: bytes) -> bytes:
    """A one-page PDF whose document-information dictionary is ``info`` as written."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        info,
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def _docx(author: str) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = author
    document.add_paragraph("Ordre du jour")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _bzip2_bomb_zip(megabytes: int) -> bytes:
    """A zip with one bzip2 member of ``megabytes`` MiB of zeros (a few hundred bytes)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        block = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(block)
    return buffer.getvalue()


def _build(root: Path) -> None:
    root.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT, encoding="cp866") as t:
        for name in RUSSIAN:
            info = tarfile.TarInfo(name)
            data = b"workbook"
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    (root / "russian.tar").write_bytes(buffer.getvalue())
    (root / "cp866.zip").write_bytes(
        _zip_with_raw_names([n.encode("cp866") for n in RUSSIAN], utf8_flag=False)
    )
    (root / "badflag.zip").write_bytes(
        _zip_with_raw_names([b"good.txt", b"bad\xff\xfe.txt", b"fine.txt"], utf8_flag=True)
    )
    (root / "latin1key.pdf").write_bytes(
        _pdf(b"<< /Title (Rapport) /Cr\xe9ateur (Fran\xe7ois) /Author (Jos\xe9) >>")
    )
    (root / os.fsdecode(b"caf\xe9 menu.txt")).write_bytes(b"menu du jour")
    (root / "bzbomb.zip").write_bytes(_bzip2_bomb_zip(64))
    (root / "zeros.bin.gz").write_bytes(gzip.compress(bytes(512) + b"payload after zeros"))
    (root / "memo.docx.gz").write_bytes(gzip.compress(_docx("Jean Dupont")))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("b.txt", "inside the zip")
    (root / "a.zip").write_bytes(inner.getvalue())
    (root / "a.zip!b.txt").write_bytes(b"a loose file")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    root = tmp_path_factory.mktemp("shapes") / "dump"
    _build(root)
    before = _fingerprint(root)
    out = tmp_path_factory.mktemp("shapes_out")
    assert main(["-q", "scan", str(root), "--out", str(out), "--workers", "2"]) == 0
    assert _fingerprint(root) == before
    lines = [json.loads(x) for x in (out / "files.jsonl").read_text("utf-8").splitlines()]
    return {line["path"]: line for line in lines}


def _codes(record: dict[str, object]) -> list[str]:
    issues = record["issues"]
    assert isinstance(issues, list)
    return [i["code"] for i in issues]


def test_tar_names_in_the_russian_dos_code_page_are_decoded(
    scanned: dict[str, dict[str, object]],
) -> None:
    tar = scanned["dump/russian.tar"]
    assert tar["status"] == "ok"
    assert tar["fields"]["archive.name_encoding"] == "cp866"  # type: ignore[index]
    for name in RUSSIAN:
        member = scanned[f"dump/russian.tar!{name}"]
        assert member["status"] == "ok"
        assert member["raw"]["name#bytes"] == name.encode("cp866").hex(" ")  # type: ignore[index]
    assert [f["rule_id"] for f in tar["findings"]] == ["archive-names-foreign-codepage"]  # type: ignore[union-attr]


def test_zip_names_without_the_utf8_flag_are_read_in_their_code_page(
    scanned: dict[str, dict[str, object]],
) -> None:
    assert scanned["dump/cp866.zip"]["fields"]["archive.name_encoding"] == "cp866"  # type: ignore[index]
    assert sorted(p for p in scanned if p.startswith("dump/cp866.zip!")) == sorted(
        f"dump/cp866.zip!{n}" for n in RUSSIAN
    )


def test_one_name_flagged_utf8_with_invalid_bytes_costs_no_member(
    scanned: dict[str, dict[str, object]],
) -> None:
    members = sorted(p for p in scanned if p.startswith("dump/badflag.zip!"))
    # Bytes that are not UTF-8 despite the flag are read in the code page they fit.
    assert members == [
        "dump/badflag.zip!bad\xff\xfe.txt",
        "dump/badflag.zip!fine.txt",
        "dump/badflag.zip!good.txt",
    ]
    assert scanned["dump/badflag.zip!fine.txt"]["status"] == "ok"
    assert scanned["dump/badflag.zip!bad\xff\xfe.txt"]["size"] == len(b"cells")
    bad = scanned["dump/badflag.zip!bad\xff\xfe.txt"]
    assert bad["raw"]["name#bytes"] == "62 61 64 ff fe 2e 74 78 74"  # type: ignore[index]
    assert scanned["dump/badflag.zip"]["status"] == "partial"
    assert _codes(scanned["dump/badflag.zip"]) == ["name_encoding"]
    assert scanned["dump/badflag.zip"]["issues"][0]["message"].endswith(  # type: ignore[index]
        "not valid UTF-8: 62 61 64 ff fe 2e 74 78 74"
    )


def test_a_latin1_pdf_key_and_a_latin1_file_name_do_not_stop_the_scan(
    scanned: dict[str, dict[str, object]],
) -> None:
    pdf = scanned["dump/latin1key.pdf"]
    assert pdf["status"] == "ok"
    assert pdf["raw"]["Info/Créateur"] == "François"  # type: ignore[index]
    assert pdf["fields"]["pdf.info"] == ["Title", "Créateur", "Author"]  # type: ignore[index]
    assert pdf["fields"]["doc.author"] == "José"  # type: ignore[index]
    assert pdf["fields"]["doc.title"] == "Rapport"  # type: ignore[index]
    loose = scanned["dump/café menu.txt"]
    assert loose["status"] == "ok"
    assert loose["raw"]["name#bytes"] == "63 61 66 e9 20 6d 65 6e 75 2e 74 78 74"  # type: ignore[index]
    assert _codes(loose) == ["name_encoding"]


def test_a_bzip2_bomb_is_cut_at_the_ratio_limit(scanned: dict[str, dict[str, object]]) -> None:
    assert scanned["dump/bzbomb.zip"]["status"] == "partial"
    assert _codes(scanned["dump/bzbomb.zip!zeros.bin"]) == ["limit.ratio"]


def test_bzip2_members_decompress_in_bounded_pieces(tmp_path: Path) -> None:
    # zipfile asks bzip2 for a whole compressed read's output at once: 64 MiB here, and
    # gigabytes for a real bomb (MemoryError). The walk must hold at most ~1 MiB at a time.
    data = _bzip2_bomb_zip(64)
    item = Item(path="dump/bomb.zip", name="bomb.zip", depth=0)
    limits = Limits(max_ratio=1e9, max_member_bytes=1 << 26, memory_spool_bytes=1 << 20)
    tracemalloc.start()
    try:
        members = list(
            iter_archive(
                Content(data=data, size=len(data)),
                item,
                "application/zip",
                limits,
                tmp_path,
                ArchiveStats(),
            )
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(members) == 1 and members[0].content is not None
    assert members[0].content.size == 64 << 20
    assert peak < 16 << 20, f"peak {peak} bytes while decompressing"
    members[0].content.release()
    assert bz2.decompress(bz2.compress(b"x")) == b"x"


def test_compressed_streams_are_typed_by_what_they_hold(
    scanned: dict[str, dict[str, object]],
) -> None:
    zeros = scanned["dump/zeros.bin.gz!zeros.bin"]
    assert zeros["size"] == 512 + len(b"payload after zeros")
    memo = [p for p in scanned if p.startswith("dump/memo.docx.gz!")]
    assert memo == ["dump/memo.docx.gz!memo.docx"]
    docx = scanned["dump/memo.docx.gz!memo.docx"]
    assert docx["mime"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx["fields"]["doc.author"] == "Jean Dupont"  # type: ignore[index]


def test_a_bang_in_a_file_name_is_escaped_in_its_provenance(
    scanned: dict[str, dict[str, object]],
) -> None:
    assert scanned["dump/a.zip!b.txt"]["parent_id"] == scanned["dump/a.zip"]["record_id"]
    loose = scanned["dump/a.zip%21b.txt"]
    assert loose["parent_id"] is None
    assert loose["name"] == "a.zip!b.txt"
    assert loose["size"] == len(b"a loose file")


def test_show_takes_a_path_escaped_or_as_typed(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    root.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("b.txt", "inside the zip")
    (root / "a.zip").write_bytes(inner.getvalue())
    (root / "x!y 100%.txt").write_bytes(b"a loose file")
    (root / "a.zip!b.txt").write_bytes(b"another loose file")
    out = tmp_path / "out"
    assert main(["-q", "scan", str(root), "--out", str(out), "--workers", "1"]) == 0
    from leaktriage.store import Store

    store = Store(out / "triage.sqlite")
    try:
        typed = store.find("dump/x!y 100%.txt")
        escaped = store.find("dump/x%21y 100%25.txt")
        member = store.find("dump/a.zip!b.txt")
        loose = store.find("dump/a.zip%21b.txt")
    finally:
        store.close()
    assert typed is not None and escaped is not None
    assert typed.record_id == escaped.record_id
    assert typed.name == "x!y 100%.txt"
    assert member is not None and member.size == len(b"inside the zip")
    assert loose is not None and loose.size == len(b"another loose file")


def test_a_bug_on_one_item_becomes_its_status_and_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaktriage
    from leaktriage import detect

    root = tmp_path / "dump"
    root.mkdir()
    (root / "a.txt").write_bytes(b"first")
    (root / "b.odd").write_bytes(b"second")
    (root / "c.txt").write_bytes(b"third")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("in.odd", "inside")
        archive.writestr("in.txt", "inside too")
    (root / "d.zip").write_bytes(inner.getvalue())
    real = detect.extension_mismatch

    def broken(mime: str, extension: str) -> bool:
        if extension == "odd":
            raise KeyError("planted bug")
        return real(mime, extension)

    monkeypatch.setattr(detect, "extension_mismatch", broken)
    records = {r.path: r for r in leaktriage.scan(root)}
    assert sorted(records) == [
        "dump/a.txt",
        "dump/b.odd",
        "dump/c.txt",
        "dump/d.zip",
        "dump/d.zip!in.odd",
        "dump/d.zip!in.txt",
    ]
    for path in ("dump/b.odd", "dump/d.zip!in.odd"):
        failed = records[path]
        assert failed.status.value == "error"
        assert failed.issues[-1].code == "internal"
        assert failed.issues[-1].message.startswith("KeyError: 'planted bug' (this is a bug")
    assert records["dump/d.zip!in.txt"].parent_id == records["dump/d.zip"].record_id
    assert records["dump/c.txt"].status.value in ("ok", "unsupported")


def test_a_file_swapped_after_listing_is_neither_followed_nor_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import leaktriage
    from leaktriage import walk
    from leaktriage.pipeline import items as api

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"root:x:0:0:planted secret\n")
    root = tmp_path / "dump"
    root.mkdir()
    (root / "a_link.txt").write_bytes(b"listed as a regular file")
    (root / "b_fifo.txt").write_bytes(b"listed as a regular file too")
    (root / "c_kept.txt").write_bytes(b"untouched")
    real = walk.iter_tree

    def swapping(top: Path):  # type: ignore[no-untyped-def]
        for item in real(top):
            target = root / item.name
            if item.name == "a_link.txt":
                target.unlink()
                target.symlink_to(secret)
            elif item.name == "b_fifo.txt":
                target.unlink()
                os.mkfifo(target)
            yield item

    monkeypatch.setattr(api, "iter_tree", swapping)
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.extend(leaktriage.scan(root)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the scan waited on a FIFO swapped in after listing"
    records = {r.path: r for r in found}  # type: ignore[attr-defined]
    assert sorted(records) == ["dump/a_link.txt", "dump/b_fifo.txt", "dump/c_kept.txt"]
    link, fifo = records["dump/a_link.txt"], records["dump/b_fifo.txt"]
    assert (link.status.value, link.sha256) == ("error", None)
    assert "replaced by a symbolic link since it was listed" in link.issues[-1].message
    assert (fifo.status.value, fifo.sha256) == ("error", None)
    assert "no longer a regular file" in fifo.issues[-1].message
    assert records["dump/c_kept.txt"].size == len(b"untouched")


def test_the_ratio_limit_trips_as_the_bytes_come_out(tmp_path: Path) -> None:
    # 1 GiB of zeros deflates to about 1 MB: judged against the member's whole compressed
    # size the ratio only trips after 200 MB were spooled; judged on what was consumed so
    # far, within the grace of 16 MiB.
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        block = bytes(1 << 20)
        for _ in range(1024):
            member.write(block)
    data = buffer.getvalue()
    stats = ArchiveStats()
    limits = Limits(ratio_grace_bytes=16 << 20)
    (member_item,) = iter_archive(
        Content(data=data, size=len(data)),
        Item(path="dump/zeros.zip", name="zeros.zip", depth=0),
        "application/zip",
        limits,
        tmp_path,
        stats,
    )
    assert member_item.status is not None and member_item.status.value == "skipped"
    assert member_item.issues[0].code == "limit.ratio"
    assert 16 << 20 < stats.bytes_out <= 18 << 20
    assert list(tmp_path.iterdir()) == []


def test_sigterm_removes_the_spooled_temporary_data(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "dump"
    root.mkdir()
    with (
        zipfile.ZipFile(root / "zeros.zip", "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        block = bytes(1 << 20)
        for _ in range(1536):  # 1.5 GiB of zeros, far past the in-memory spool
            member.write(block)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    command = ["-q", "scan", str(root), "--out", str(tmp_path / "out"), "--max-ratio", "1e5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "leaktriage", *command, "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(scratch.glob("leaktriage-*/member-*")):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the member was never spooled"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert list(scratch.glob("leaktriage-*")) == []


def test_a_failing_after_walk_stage_is_recorded_and_the_outputs_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaktriage import threads
    from leaktriage.pipeline.run import run_scan

    root = tmp_path / "dump"
    root.mkdir()
    (root / "a.txt").write_bytes(b"first")

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("planted bug in the thread stage")

    monkeypatch.setattr(threads, "analyse", broken)
    summary = run_scan(root, tmp_path / "out")
    assert summary.failed_stages == {
        "threads": "ValueError: planted bug in the thread stage "
        "(this is a bug in leaktriage; please report it)"
    }
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    assert manifest["failed_stages"] == summary.failed_stages
    assert len((tmp_path / "out" / "files.jsonl").read_text("utf-8").splitlines()) == 1
    assert (tmp_path / "out" / "report.html").stat().st_size > 0


def test_a_compressed_csv_is_one_member_not_an_mtree_archive(tmp_path: Path) -> None:
    # Found on csvkit's examples: libarchive took the lines of a small gzipped CSV for an
    # mtree specification and listed one phantom member per line.
    import leaktriage

    root = tmp_path / "dump"
    root.mkdir()
    (root / "x.csv.gz").write_bytes(gzip.compress(b"a,b,c\n1,2,3\n", mtime=0))
    records = {r.path: r for r in leaktriage.scan(root)}
    assert sorted(records) == ["dump/x.csv.gz", "dump/x.csv.gz!x.csv"]
    assert records["dump/x.csv.gz!x.csv"].size == len(b"a,b,c\n1,2,3\n")


def test_attachments_past_the_limit_are_accounted_for_in_a_summary_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.message import EmailMessage

    import leaktriage
    from leaktriage.extractors.email import attachments

    monkeypatch.setattr(attachments, "MAX_ATTACHMENTS", 3)
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["Subject"] = "many files"
    message["Message-ID"] = "<many@example.org>"
    message.set_content("see attached")
    for n in range(7):
        message.add_attachment(b"x%d" % n, maintype="text", subtype="plain", filename=f"f{n}.txt")
    root = tmp_path / "dump"
    root.mkdir()
    (root / "many.eml").write_bytes(bytes(message))
    records = {r.path: r for r in leaktriage.scan(root, workers=0)}
    assert sorted(records) == [
        "dump/many.eml",
        "dump/many.eml![items 4-7 not read: limit.attachments]",
        "dump/many.eml!attachment:f0.txt",
        "dump/many.eml!attachment:f1.txt",
        "dump/many.eml!attachment:f2.txt",
    ]
    summary = records["dump/many.eml![items 4-7 not read: limit.attachments]"]
    assert summary.status.value == "skipped"
    assert summary.issues[0].message.startswith("4 inner items (numbers 4 to 7)")
    assert records["dump/many.eml"].status.value == "partial"


def test_a_tar_time_out_of_range_and_stacked_compression(tmp_path: Path) -> None:
    # Found by the whole-scan fuzzing: a forged tar time (year 36812) stopped the scan, and
    # libarchive stripped both layers of notes.txt.gz.gz, so the inner .gz had no record (and,
    # when the inner stream was damaged, the outer one failed with it).
    import lzma

    import leaktriage

    root = tmp_path / "dump"
    root.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size, info.mtime = 3, 2**40
        tar.addfile(info, io.BytesIO(b"hi\n"))
    (root / "a.tar").write_bytes(buffer.getvalue())
    text = b"Notes de la reunion du 14 mars.\n"
    (root / "notes.txt.gz.gz").write_bytes(gzip.compress(gzip.compress(text, mtime=0), mtime=0))
    (root / "notes.txt.gz.xz").write_bytes(lzma.compress(gzip.compress(text, mtime=0)))
    # And the inner stream damaged (a chunk repeated inside it, as the fuzzing made it): the
    # outer xz still has its one member, whose own record says it is corrupt.
    inner = lzma.compress(text * 40)
    (root / "notes.txt.xz.xz").write_bytes(lzma.compress(inner[:60] + inner[40:]))
    records = {r.path: r for r in leaktriage.scan(root)}
    damaged = records["dump/notes.txt.xz.xz!notes.txt.xz"]
    assert (damaged.status.value, damaged.issues[0].code) == ("error", "corrupt")
    assert records["dump/notes.txt.xz.xz"].status.value == "ok"
    member = records["dump/a.tar!notes.txt"]
    assert member.mtime is None
    assert [i.code for i in member.issues] == ["odd_time"]
    for outer in ("dump/notes.txt.gz.gz", "dump/notes.txt.gz.xz"):
        assert records[f"{outer}!notes.txt.gz"].mime == "application/gzip"
        assert records[f"{outer}!notes.txt.gz!notes.txt"].size == len(text)


def test_a_pdf_header_inside_other_content_does_not_make_it_a_pdf(tmp_path: Path) -> None:
    # Found by the whole-scan fuzzing (F12): "%PDF-" anywhere in the first KB typed a tar
    # whose first member is a PDF as a PDF (no member listed), and a note that mentions it.
    # And (F13) a compressed empty file had no record.
    import bz2
    import lzma

    import leaktriage

    root = tmp_path / "dump"
    root.mkdir()
    pdf = _pdf(b"<< /Title (Rapport) >>")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [("report.pdf", pdf), ("notes.txt", b"notes\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (root / "docs.tar").write_bytes(buffer.getvalue())
    (root / "note.txt").write_bytes(b"Les fichiers commencent par %PDF-1.7 et finissent.\n")
    (root / "banner.pdf").write_bytes(b"X-Gateway: scanned\r\n\r\n" + pdf)
    (root / "empty.log.gz").write_bytes(gzip.compress(b""))
    (root / "empty.log.bz2").write_bytes(bz2.compress(b""))
    (root / "empty.log.xz").write_bytes(lzma.compress(b""))
    records = {r.path: r for r in leaktriage.scan(root)}
    assert records["dump/docs.tar"].mime == "application/x-tar"
    assert records["dump/docs.tar!report.pdf"].mime == "application/pdf"
    assert records["dump/docs.tar!report.pdf"].fields["doc.title"] == "Rapport"
    assert records["dump/note.txt"].mime == "text/plain"
    assert records["dump/banner.pdf"].mime == "application/pdf"
    for suffix in ("gz", "bz2", "xz"):
        assert records[f"dump/empty.log.{suffix}!empty.log"].size == 0


def test_a_copy_whose_first_record_has_no_text_does_not_stop_the_corpus_stage(
    tmp_path: Path,
) -> None:
    # Found by the whole-scan fuzzing (F14): the innermost copy, past the depth limit, is
    # recorded unparsed and came first among the records of its content; the corpus stage
    # asked for its text and died (KeyError), now it is recorded as failed at worst.
    from email.message import EmailMessage

    from leaktriage.pipeline.run import run_scan

    text = (
        "Compte rendu de la reunion du comite de campagne du 14 mars. Les depenses du premier "
        "trimestre sont conformes au budget previsionnel valide par le tresorier. "
    ) * 4

    def mail(subject: str, attachment: bytes, name: str) -> bytes:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@ex.org", "b@ex.org", subject
        message["Message-ID"] = f"<{subject}@example.org>"
        message.set_content("Voir la piece jointe.")
        message.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename=name
        )
        return message.as_bytes()

    inner = text.encode()
    for level in range(6):  # past the default max_depth (5): the innermost copy is hashed only
        name = "notes.txt" if level == 0 else f"niveau{level - 1}.eml"
        inner = mail(f"niveau{level}", inner, name)
    root = tmp_path / "dump"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "deep.eml").write_bytes(inner)
    (root / "b" / "notes.txt").write_bytes(text.encode())
    (root / "b" / "notes-v2.txt").write_bytes(text.replace("conformes", "superieures").encode())
    summary = run_scan(root, tmp_path / "out")
    assert summary.failed_stages == {}
    records = [json.loads(x) for x in (tmp_path / "out" / "files.jsonl").read_text().splitlines()]
    v2 = next(r for r in records if r["path"] == "dump/b/notes-v2.txt")
    # Two text files carry no lineage (no creation time, no document id): nearly the same
    # text, without a shared history to show, is "written from the same template".
    assert "corpus-same-template" in {f["rule_id"] for f in v2["findings"]}


def test_a_compressed_empty_tar_has_no_member(tmp_path: Path) -> None:
    # An empty tar is nothing but end-of-archive zero blocks: it holds no item. (A stream
    # whose payload merely starts with zero blocks has one: test above.)
    import leaktriage

    root = tmp_path / "dump"
    root.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT):
        pass
    (root / "empty.tar.gz").write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    records = {r.path: r for r in leaktriage.scan(root)}
    assert sorted(records) == ["dump/empty.tar.gz"]
    assert records["dump/empty.tar.gz"].fields["archive.member_count"] == 0


def test_an_empty_pax_tar_gz_is_an_empty_archive(tmp_path: Path) -> None:
    import leaktriage

    root = tmp_path / "dump"
    root.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}
    ):
        pass
    (root / "empty.tar.gz").write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    records = {r.path: r for r in leaktriage.scan(root)}
    assert sorted(records) == ["dump/empty.tar.gz"]
    assert records["dump/empty.tar.gz"].fields["archive.format"] == "POSIX pax interchange format"
