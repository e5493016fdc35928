"""Walker: nesting and provenance, every safety limit, traversal names, links, encryption."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest

import leaktriage
from corpus_fixtures.builders import archive
from leaktriage.config import Limits
from leaktriage.model import FileRecord, Status
from leaktriage.walk.content import Spool, read_disk_file


def _scan(path: Path, **options: object) -> list[FileRecord]:
    return list(leaktriage.scan(path, **options))


def _by_path(records: list[FileRecord]) -> dict[str, FileRecord]:
    return {r.path: r for r in records}


def test_three_level_nesting_lists_every_member_with_its_chain(tmp_path: Path) -> None:
    (tmp_path / "nested.zip").write_bytes(archive.nested_three_levels())
    records = _scan(tmp_path / "nested.zip")
    paths = sorted(r.path for r in records)
    assert paths == [
        "nested.zip",
        "nested.zip!level1/dup.txt",
        "nested.zip!level1/dup.txt",
        "nested.zip!level1/inner.tar.gz",
        "nested.zip!level1/inner.tar.gz!level2/deep.zip",
        "nested.zip!level1/inner.tar.gz!level2/deep.zip!level3/minutes.txt",
        "nested.zip!level1/inner.tar.gz!level2/notes.txt",
        "nested.zip!level1/readme.txt",
    ]
    by_path = _by_path(records)
    deepest = by_path["nested.zip!level1/inner.tar.gz!level2/deep.zip!level3/minutes.txt"]
    assert deepest.depth == 3
    assert deepest.parent_id == by_path["nested.zip!level1/inner.tar.gz!level2/deep.zip"].record_id
    tar = by_path["nested.zip!level1/inner.tar.gz"]
    assert tar.parent_id == by_path["nested.zip"].record_id
    assert tar.fields["archive.format"] == "POSIX ustar format"
    assert tar.fields["archive.filters"] == ("gzip",)
    assert tar.fields["archive.member_count"] == 2
    # Two members with one name are two records with two ids.
    dups = [r for r in records if r.path == "nested.zip!level1/dup.txt"]
    assert len({r.record_id for r in dups}) == 2
    assert {r.size for r in dups} == {len(b"first\n"), len(b"second, same name\n")}
    # Zip member times come from the DOS field, zone-less.
    readme = by_path["nested.zip!level1/readme.txt"]
    assert readme.mtime is not None and readme.mtime.isoformat() == "2017-03-14T09:30:00+00:00"
    assert readme.mtime_zone_known is False
    assert len({r.record_id for r in records}) == len(records)


def test_ids_are_stable_across_scans(tmp_path: Path) -> None:
    (tmp_path / "nested.zip").write_bytes(archive.nested_three_levels())
    first = sorted((r.path, r.record_id) for r in _scan(tmp_path))
    second = sorted((r.path, r.record_id) for r in _scan(tmp_path))
    assert first == second


def test_depth_limit_records_unopened_archive(tmp_path: Path) -> None:
    (tmp_path / "nested.zip").write_bytes(archive.nested_three_levels())
    records = _by_path(_scan(tmp_path / "nested.zip", max_depth=1))
    tar = records["nested.zip!level1/inner.tar.gz"]
    assert tar.status is Status.SKIPPED
    assert [i.code for i in tar.issues] == ["limit.depth"]
    assert not any("level2" in p for p in records)


def _zeros_zip(size: int, members: int = 1) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for index in range(members):
            zf.writestr(f"zeros{index}.bin", b"\0" * size)
    return buffer.getvalue()


def test_ratio_limit_stops_a_bomb_while_decompressing(tmp_path: Path) -> None:
    bomb = _zeros_zip(8 * 1024 * 1024, members=3)
    assert len(bomb) < 64 * 1024
    (tmp_path / "bomb.zip").write_bytes(bomb)
    records = _by_path(_scan(tmp_path / "bomb.zip", ratio_grace_bytes=1024 * 1024))
    first = records["bomb.zip!zeros0.bin"]
    assert first.status is Status.SKIPPED
    assert first.issues[0].code == "limit.ratio"
    assert "likely a decompression bomb" in first.issues[0].message
    # The members after the trip are still listed, as skipped, never silently dropped.
    assert records["bomb.zip!zeros2.bin"].status is Status.SKIPPED
    outer = records["bomb.zip"]
    assert outer.status is Status.PARTIAL
    assert outer.fields["archive.limit_hit"] == ("limit.ratio",)
    # Decompression stopped soon after the grace amount, not at 24 MiB.
    bytes_out = outer.fields["archive.bytes_out"]
    assert isinstance(bytes_out, int) and bytes_out < 3 * 1024 * 1024


def test_member_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.zip").write_bytes(
        archive.zip_bytes([("big.bin", b"x" * 300_000), ("small.txt", b"small\n")])
    )
    records = _by_path(_scan(tmp_path / "big.zip", max_member_bytes=100_000))
    big = records["big.zip!big.bin"]
    assert big.status is Status.SKIPPED
    assert big.issues[0].code == "limit.member_size"
    assert big.sha256 is None and big.size == 300_000
    assert records["big.zip!small.txt"].size == 6


def test_archive_total_limit(tmp_path: Path) -> None:
    members = [(f"part{i}.bin", bytes([i]) * 50_000) for i in range(4)]
    (tmp_path / "parts.zip").write_bytes(archive.zip_bytes(members))
    records = _by_path(_scan(tmp_path / "parts.zip", max_archive_bytes=120_000))
    statuses = [records[f"parts.zip!part{i}.bin"].status for i in range(4)]
    assert statuses == [Status.UNSUPPORTED, Status.UNSUPPORTED, Status.SKIPPED, Status.SKIPPED]
    assert records["parts.zip!part3.bin"].issues[0].code == "limit.archive_size"


def test_member_count_limit(tmp_path: Path) -> None:
    members = [(f"f{i:02d}.txt", f"{i}\n".encode()) for i in range(12)]
    (tmp_path / "many.zip").write_bytes(archive.zip_bytes(members))
    records = _scan(tmp_path / "many.zip", max_members=10)
    skipped = sorted(r.name for r in records if r.status is Status.SKIPPED)
    assert skipped == ["f10.txt", "f11.txt"]
    assert all(r.issues[0].code == "limit.members" for r in records if r.status is Status.SKIPPED)
    assert len(records) == 13
    container = _by_path(records)["many.zip"]
    assert container.status is Status.PARTIAL
    assert container.fields["archive.limit_hit"] == ("limit.members",)


def test_inner_items_past_the_children_limit_are_recorded_as_skipped(tmp_path: Path) -> None:
    # A mailbox with more messages than the limit: every message still has its record.
    messages = b"".join(
        b"From sender@example.org Thu May  4 22:10:00 2017\n"
        b"From: sender@example.org\nSubject: note %d\nMessage-ID: <m%d@example.org>\n\n"
        b"body %d\n\n" % (i, i, i)
        for i in range(7)
    )
    (tmp_path / "box.mbox").write_bytes(messages)
    records = _scan(tmp_path / "box.mbox", max_children=5)
    box = _by_path(records)["box.mbox"]
    assert box.status is Status.PARTIAL
    assert [i.code for i in box.issues] == ["limit.children"]
    inner = sorted((r for r in records if r.parent_id == box.record_id), key=lambda r: r.path)
    assert len(inner) == 7
    skipped = [r for r in inner if r.status is Status.SKIPPED]
    assert [r.name for r in skipped] == ["<m5@example.org>", "<m6@example.org>"]
    assert skipped[0].issues[0].message.startswith("inner item 6 of 7: past the limit of 5")


def test_traversal_and_odd_names_are_recorded_not_followed(tmp_path: Path) -> None:
    (tmp_path / "t.zip").write_bytes(archive.traversal_zip())
    records = _by_path(_scan(tmp_path / "t.zip"))
    codes = {path: [i.code for i in r.issues] for path, r in records.items()}
    assert codes["t.zip!../../outside.txt"] == ["traversal"]
    assert codes["t.zip!/etc/cron.d/evil"] == ["traversal"]
    assert codes["t.zip!ctrl\x07name.txt"] == ["odd_name"]
    assert codes["t.zip!ok/normal.txt"] == []
    assert not (tmp_path.parent / "outside.txt").exists()


def test_tar_links_are_recorded_and_never_followed(tmp_path: Path) -> None:
    (tmp_path / "links.tar").write_bytes(archive.links_tar())
    records = _by_path(_scan(tmp_path / "links.tar"))
    link = records["links.tar!data/passwd"]
    assert link.status is Status.SKIPPED
    assert link.issues[0].code == "symlink"
    assert "../../../../etc/passwd" in link.issues[0].message
    assert records["links.tar!data/loop"].status is Status.SKIPPED
    assert records["links.tar!data/real.txt"].size == len(b"real content\n")


def test_encrypted_member(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(archive.encrypted_zip_bytes("secret/plan.txt", b"plan\n"))
    records = _by_path(_scan(tmp_path / "p.zip"))
    member = records["p.zip!secret/plan.txt"]
    assert member.status is Status.ENCRYPTED
    assert member.sha256 is None
    assert member.issues[0].code == "encrypted"


def test_symlink_loop_and_outside_link_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    root.mkdir()
    (root / "real.txt").write_text("real\n")
    os.symlink(root, root / "loop")
    os.symlink("/etc/passwd", root / "passwd")
    records = _by_path(_scan(root))
    assert sorted(records) == ["dump/loop", "dump/passwd", "dump/real.txt"]
    for name in ("dump/loop", "dump/passwd"):
        assert records[name].status is Status.SKIPPED
        assert records[name].issues[0].code == "symlink"


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    root.mkdir()
    os.mkfifo(root / "pipe")
    records = _scan(root)
    assert [(r.path, r.status, r.issues[0].code) for r in records] == [
        ("dump/pipe", Status.SKIPPED, "special_file")
    ]


def test_extension_mismatch_from_content(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    (tmp_path / "holiday.jpg").write_bytes(pdf)
    (tmp_path / "report.pdf").write_bytes(pdf)
    records = _by_path(_scan(tmp_path))
    lying = records[f"{tmp_path.name}/holiday.jpg"]
    assert (lying.mime, lying.extension, lying.extension_mismatch) == (
        "application/pdf",
        "jpg",
        True,
    )
    assert records[f"{tmp_path.name}/report.pdf"].extension_mismatch is False


def test_bare_gzip_stream_and_quine_guard(tmp_path: Path) -> None:
    (tmp_path / "minutes.txt.gz").write_bytes(archive.gzip_bytes(b"hello minutes\n"))
    records = _by_path(_scan(tmp_path / "minutes.txt.gz"))
    assert records["minutes.txt.gz!minutes.txt"].size == len(b"hello minutes\n")
    inner = archive.zip_bytes([("a.txt", b"a\n")])
    # An archive that holds a byte-identical copy of its container is not opened twice.
    outer = archive.zip_bytes([("copy.zip", inner)])
    self_copy = archive.zip_bytes([("again.zip", outer)])
    (tmp_path / "outer.zip").write_bytes(self_copy)
    assert all(r.status is not Status.ERROR for r in _scan(tmp_path / "outer.zip"))


def test_counts_add_up_on_the_sample_leak(sample_leak: Path) -> None:
    records = _scan(sample_leak)
    by_status = Counter(r.status for r in records)
    assert sum(by_status.values()) == len(records)
    assert len({r.record_id for r in records}) == len(records)
    # Every parent named by a record is itself a record.
    ids = {r.record_id for r in records}
    assert {r.parent_id for r in records if r.parent_id} <= ids


def test_corrupt_archive_is_an_error_record(tmp_path: Path) -> None:
    good = archive.nested_three_levels()
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    records = _scan(tmp_path / "cut.zip")
    assert len(records) == 1
    assert records[0].status is Status.ERROR
    assert records[0].issues[-1].code == "corrupt"


def test_an_archive_nothing_can_list_is_an_error_record(tmp_path: Path) -> None:
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + bytes(10))
    records = _scan(tmp_path / "cut.zip")
    assert len(records) == 1
    assert records[0].status is Status.ERROR
    assert records[0].issues[-1].code == "corrupt"


@pytest.mark.parametrize("payload", [b"", b"\0" * 10])
def test_tiny_files(tmp_path: Path, payload: bytes) -> None:
    (tmp_path / "f.bin").write_bytes(payload)
    (record,) = _scan(tmp_path / "f.bin")
    assert record.size == len(payload)
    assert record.status in (Status.UNSUPPORTED, Status.OK)


def test_zip_with_unsupported_version_is_read_by_libarchive(tmp_path: Path) -> None:
    # Found by fuzz/fuzz_walk.py: zipfile raises NotImplementedError from its constructor
    # when a central-directory entry needs "zip file version 24.6"; libarchive reads it.
    data = bytearray(archive.zip_bytes([("a.txt", b"a\n")]))
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 246  # version needed to extract
    (tmp_path / "v.zip").write_bytes(bytes(data))
    zipped, member = _scan(tmp_path / "v.zip")
    assert zipped.status is Status.PARTIAL
    assert [i.code for i in zipped.issues] == ["zip_directory"]
    assert "zip file version 24.6" in zipped.issues[0].message
    assert (member.path, member.status, member.size) == ("v.zip!a.txt", Status.OK, 2)


def test_7z_members_are_walked(tmp_path: Path) -> None:
    import libarchive

    target = tmp_path / "bundle.7z"
    with libarchive.file_writer(str(target), "7zip") as writer:
        writer.add_file_from_memory("docs/note.txt", 9, b"note 7z!\n", mtime=1489483800)
        inner = archive.zip_bytes([("a.txt", b"in zip\n")])
        writer.add_file_from_memory("docs/inner.zip", len(inner), inner, mtime=1489483800)
    records = _by_path(_scan(target))
    assert records["bundle.7z"].fields["archive.format"] == "7-Zip"
    assert records["bundle.7z!docs/note.txt"].size == 9
    assert records["bundle.7z!docs/inner.zip!a.txt"].depth == 2
    when = records["bundle.7z!docs/note.txt"].mtime
    assert when is not None and when.isoformat() == "2017-03-14T09:30:00+00:00"


def test_overlapping_zip_entries_are_flagged(tmp_path: Path) -> None:
    # Two central-directory entries pointing at one local header: the trick behind
    # overlapping-entry zip bombs. Both are listed, the second is flagged.
    data = bytearray(archive.zip_bytes([("a.txt", b"payload\n"), ("b.txt", b"payload\n")]))
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[second + 42 : second + 46] = (0).to_bytes(4, "little")  # local header offset -> 0
    (tmp_path / "overlap.zip").write_bytes(bytes(data))
    records = _by_path(_scan(tmp_path / "overlap.zip"))
    flagged = records.get("overlap.zip!b.txt")
    assert flagged is not None
    assert "zip_overlap" in [i.code for i in flagged.issues]


def test_archive_identical_to_an_ancestor_is_not_reopened(tmp_path: Path) -> None:
    # A zip quine contains itself; the pipeline refuses to open an archive whose sha256 is
    # one of its containers' (the depth limit stops it otherwise).
    import hashlib

    from leaktriage.api import Pipeline
    from leaktriage.config import ScanConfig
    from leaktriage.walk import Content, Item

    data = archive.zip_bytes([("a.txt", b"a\n")])
    sha = hashlib.sha256(data).hexdigest()
    content = Content(data=data, size=len(data), sha256=sha, md5=None)
    item = Item(path="outer.zip!self.zip", name="self.zip", depth=1, content=content)
    pipeline = Pipeline(ScanConfig(workers=0), tmp_path)
    (record,) = list(pipeline.process(item, "p" * 32, ("x" * 64, sha)))
    assert record.status is Status.SKIPPED
    assert [i.code for i in record.issues] == ["archive_quine"]


def test_zip_member_with_an_empty_name(tmp_path: Path) -> None:
    # Found by fuzz/fuzz_walk.py: ZipInfo.is_dir() raises IndexError on an empty name.
    data = bytearray(archive.zip_bytes([("x", b"payload\n")]))
    for marker in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.index(marker)
        offset = 26 if marker == b"PK\x03\x04" else 28
        name_at = at + (30 if marker == b"PK\x03\x04" else 46)
        data[at + offset : at + offset + 2] = (0).to_bytes(2, "little")
        del data[name_at : name_at + 1]
    end = data.index(b"PK\x05\x06")
    central = data.index(b"PK\x01\x02")
    data[end + 12 : end + 16] = (end - central).to_bytes(4, "little")
    data[end + 16 : end + 20] = central.to_bytes(4, "little")
    (tmp_path / "noname.zip").write_bytes(bytes(data))
    records = _by_path(_scan(tmp_path / "noname.zip"))
    assert records["noname.zip!member-1"].size == len(b"payload\n")


def test_types_the_walker_leaves_to_workers_come_back_the_same(tmp_path: Path) -> None:
    from corpus_fixtures.builders import ole2, ooxml
    from leaktriage import detect

    doc, xls, docx = ole2.rapport_doc(), ole2.budget_ru_xls(), ooxml.memo_docx()
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("inner/rapport.doc", doc)
        zf.writestr("inner/memo.docx", docx)
    # Compound files and zips that open with an OOXML or ODF part name are typed by their
    # directory in the worker; other zips here, so that nested archives open at once.
    for data in (doc, xls, docx):
        assert detect.sniff_for_walk(data[: detect.SNIFF_BYTES]) == ""
    head = plain.getvalue()[: detect.SNIFF_BYTES]
    assert detect.sniff_for_walk(head, lambda: io.BytesIO(plain.getvalue())) == "application/zip"
    named_like_ooxml = io.BytesIO()
    with zipfile.ZipFile(named_like_ooxml, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")  # an OPC package, not a document
        zf.writestr("lib/tool.dll", b"MZ")
    (tmp_path / "package.nupkg").write_bytes(named_like_ooxml.getvalue())
    assert detect.sniff_for_walk(b"%PDF-1.7\n") == "application/pdf"
    assert detect.sniff_for_walk(b"\x1f\x8b\x08\x00" + bytes(16)) == "application/gzip"
    (tmp_path / "rapport.doc").write_bytes(doc)
    (tmp_path / "budget.xls").write_bytes(xls)
    (tmp_path / "plain.zip").write_bytes(plain.getvalue())
    for workers in (0, 1):
        found = _scan(tmp_path, workers=workers)
        mimes = {r.path.removeprefix(f"{tmp_path.name}/"): r.mime for r in found}
        assert mimes == {
            "budget.xls": "application/vnd.ms-excel",
            "package.nupkg": "application/zip",
            "package.nupkg![Content_Types].xml": "text/plain",
            "package.nupkg!lib/tool.dll": "text/plain",
            "plain.zip": "application/zip",
            "plain.zip!inner/memo.docx": detect.OOXML_WORD,
            "plain.zip!inner/rapport.doc": "application/msword",
            "rapport.doc": "application/msword",
        }


def test_files_over_the_parse_limit_are_typed_and_archives_still_walked(tmp_path: Path) -> None:
    from corpus_fixtures.builders import ole2

    doc = ole2.rapport_doc()
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("a.txt", "premier compte rendu\n")
    (tmp_path / "big.doc").write_bytes(doc)
    (tmp_path / "big.zip").write_bytes(bundle.getvalue())
    limit = min(len(doc), len(bundle.getvalue())) - 1
    found = _scan(tmp_path, max_parse_bytes=limit)
    by_path = {r.path.removeprefix(f"{tmp_path.name}/"): r for r in found}
    big_doc = by_path["big.doc"]
    assert (big_doc.mime, big_doc.status, big_doc.extractor) == (
        "application/msword",
        Status.SKIPPED,
        None,
    )
    assert [i.code for i in big_doc.issues] == ["limit.parse_size"]
    assert big_doc.fields == {}
    assert (by_path["big.zip"].status, by_path["big.zip"].issues) == (Status.OK, ())
    assert by_path["big.zip!a.txt"].mime == "text/plain"


@pytest.mark.parametrize("with_md5", [True, False], ids=["md5", "no-md5"])
def test_sha256_sha1_and_md5_in_one_read_small_and_large_chunks(
    tmp_path: Path, with_md5: bool
) -> None:
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4: chunks past the two-thread size
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    expected = (
        hashlib.sha256(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.md5(data).hexdigest() if with_md5 else None,
    )
    content = read_disk_file(path, Limits(), with_md5)
    assert (content.sha256, content.sha1, content.md5) == expected
    spool = Spool(1 << 30, tmp_path, with_md5)
    for start in range(0, len(data), 1000):  # small chunks: one thread
        spool.write(data[start : start + 1000])
    small = spool.finish()
    assert (small.sha256, small.sha1, small.md5) == expected


def test_every_record_carries_the_sha1_of_its_bytes(tmp_path: Path) -> None:
    inner = b"%PDF-1.4 budget"
    target = tmp_path / "d.zip"
    with zipfile.ZipFile(target, "w") as archive_file:
        archive_file.writestr("budget.pdf", inner)
    records = _scan(target)
    (outer,) = (r for r in records if r.depth == 0)
    (member,) = (r for r in records if r.depth == 1)
    assert outer.sha1 == hashlib.sha1(target.read_bytes()).hexdigest()
    assert member.sha1 == hashlib.sha1(inner).hexdigest()
    assert member.to_json()["sha1"] == hashlib.sha1(inner).hexdigest()
