"""Pictures of the evidence: drawn in the worker (``report.pictures``), kept in the store
(``evidence_files``), written to ``OUT/evidence`` for flagged files and shown in the report's
detail of the file, decoded only when it is opened."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from corpus_fixtures.builders import image, pdf
from leaktriage import ScanConfig, run_scan
from leaktriage.extractors import Source
from leaktriage.extractors._pdf_common import pymupdf
from leaktriage.model import FileRecord, Picture, Status
from leaktriage.pipeline import extract
from leaktriage.report import figures, pictures, write_html
from leaktriage.store import Store
from tests._report_page import blocks, page_data, without_data

PAGE_PAIR = (1426, 1016)
"""An A4 page pair: each page 707 x 1000 pixels (the long side capped at MAX_SIDE), 12 pixels
apart, under a 16-pixel label strip."""


def _extracted(name: str, data: bytes, mime: str) -> tuple[Any, ...]:
    """What a worker hands back for ``data``: the extraction, with its pictures."""
    extraction, _label, status, _mime = extract.extract_item(Source(name, mime, len(data), data))
    return extraction, status


@pytest.fixture(scope="module")
def budget() -> bytes:
    return pdf.budget_two_updates_pdf()


def test_pdf_revision_pictures_are_the_changed_page_and_the_earlier_revisions(
    budget: bytes,
) -> None:
    extraction, status = _extracted("budget.pdf", budget, "application/pdf")
    assert status is Status.OK
    found = [(p.name, p.kind, p.mime, p.width, p.height) for p in extraction.pictures]
    # Revisions 1 and 2 have the same text: the page is drawn once, for the latest.
    assert found == [
        ("revision-2-page-1.png", "revision_page", "image/png", *PAGE_PAIR),
        ("revision-1.pdf", "revision_pdf", "application/pdf", 0, 0),
        ("revision-2.pdf", "revision_pdf", "application/pdf", 0, 0),
    ]
    ends = [int(line.split("|")[1]) for line in extraction.fields["pdf.revisions"]]
    assert extraction.pictures[1].data == budget[: ends[0]]
    assert extraction.pictures[2].data == budget[: ends[1]]
    assert extraction.pictures[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert extraction.pictures[0].caption == (
        "Page 1 of revision 2 (left) beside the final version (right): 2 changed text "
        "regions outlined in red, 3 regions of differing pixels in blue."
    )
    assert extraction.picture_inputs == {}


def test_the_outlined_regions_fall_on_the_planted_figure(budget: bytes) -> None:
    fields = _extracted("budget.pdf", budget, "application/pdf")[0].fields
    end = int(fields["pdf.revisions"][1].split("|")[1])
    final = pymupdf.open(stream=budget, filetype="pdf")
    old = pymupdf.open(stream=budget[:end], filetype="pdf")
    try:
        before, after = old.load_page(0), final.load_page(0)
        zoom = pictures._zoom(before, after)
        left, right = pictures._pixmap(before, zoom), pictures._pixmap(after, zoom)
        diff = pictures.page_diff(before, after, left, right, zoom)
        words = after.get_text("words")
    finally:
        old.close()
        final.close()
    planted = [w for w in words if w[4] == "12"]
    assert len(planted) == 1
    line = [w for w in words if (w[5], w[6]) == (planted[0][5], planted[0][6])]
    assert " ".join(w[4] for w in line) == pdf.BUDGET_AFTER

    def pixels(box: tuple[float, ...], pad: float = 0) -> tuple[float, ...]:
        return (box[0] * zoom - pad, box[1] * zoom - pad, box[2] * zoom + pad, box[3] * zoom + pad)

    line_box = pixels(
        (
            min(w[0] for w in line),
            min(w[1] for w in line),
            max(w[2] for w in line),
            max(w[3] for w in line),
        ),
        pad=1,
    )
    word = pixels(planted[0][:4])
    # The text layer: one region on the final page, around "12 000" (the words that changed).
    assert len(diff.text_new) == 1
    region = diff.text_new[0]
    assert region[0] <= word[0] and region[1] <= word[1]
    assert region[2] >= word[2] and region[3] >= word[3]
    assert _inside(region, line_box)
    # The pixels: every region that differs lies on the planted line (to the grid's cell).
    assert len(diff.pixels) == 3
    assert all(_inside(b, _grow(line_box, pictures.CELL)) for b in diff.pixels)


def _grow(box: tuple[float, ...], pad: float) -> tuple[float, ...]:
    return (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)


def _inside(box: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def test_thumbnail_pictures_are_the_pair_at_one_scale_and_the_difference() -> None:
    extraction, _ = _extracted("photo.jpg", image.photo_edited(), "image/jpeg")
    assert extraction.fields["image.thumbnail_matches"] is False
    found = [(p.name, p.kind, p.mime, p.width, p.height) for p in extraction.pictures]
    # The 640x480 picture reduced to 480x360, the 160x120 thumbnail enlarged to the same.
    assert found == [
        ("thumbnail-and-image.png", "thumbnail_pair", "image/png", 480 * 2 + 12, 360 + 16),
        ("thumbnail-difference.png", "thumbnail_diff", "image/png", 480, 360),
    ]
    assert extraction.picture_inputs == {}


def test_a_matching_thumbnail_and_a_pdf_without_updates_get_no_picture() -> None:
    camera, _ = _extracted("camera.jpg", image.photo_camera(), "image/jpeg")
    assert camera.fields["image.thumbnail_matches"] is True
    assert camera.pictures == []
    report, _ = _extracted("report.pdf", pdf.report_pdf(), "application/pdf")
    assert report.pictures == []


def test_the_same_input_gives_the_same_bytes(budget: bytes) -> None:
    fields = _extracted("budget.pdf", budget, "application/pdf")[0].fields
    first = pictures.render(budget, "application/pdf", fields)
    second = pictures.render(budget, "application/pdf", fields)
    assert [p.data for p in first.pictures] == [p.data for p in second.pictures]
    photo = image.photo_edited()
    one = _extracted("a.jpg", photo, "image/jpeg")[0].pictures
    two = _extracted("b.jpg", photo, "image/jpeg")[0].pictures
    assert [hashlib.sha256(p.data).hexdigest() for p in one] == [
        hashlib.sha256(p.data).hexdigest() for p in two
    ]


def test_a_corrupt_pdf_gives_a_note_and_no_picture(budget: bytes) -> None:
    fields = _extracted("budget.pdf", budget, "application/pdf")[0].fields
    done = pictures.render(b"%PDF-1.7\n" + b"\x00" * 4096, "application/pdf", fields)
    assert done.pictures == []
    assert [code for code, _ in done.notes] == ["picture_failed"]


def test_a_failure_of_the_picture_step_is_an_issue_on_the_record(
    budget: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> pictures.Rendered:
        raise RuntimeError("planted failure")

    monkeypatch.setattr(pictures, "render", broken)
    extraction, status = _extracted("budget.pdf", budget, "application/pdf")
    assert status is Status.OK
    assert extraction.pictures == []
    assert [(i.code, i.message) for i in extraction.issues] == [
        ("picture_failed", "pictures not made: RuntimeError: planted failure")
    ]
    assert extraction.fields["pdf.revision_text_changed"] is True


def test_large_pictures_leave_the_worker_as_files(budget: bytes, tmp_path: Path) -> None:
    big = Picture("revision-1.pdf", "revision_pdf", "c", "application/pdf", data=b"x" * 40_000)
    small = Picture("a.png", "revision_page", "c", "image/png", 1, 1, b"y" * 10)
    found = [big, small]
    extract.spill_pictures(found, tmp_path)
    assert found[1] == small
    assert found[0].data == b"" and found[0].path is not None
    assert found[0].path.parent == tmp_path and found[0].path.read_bytes() == b"x" * 40_000


def _record(rid: str, pics: tuple[Picture, ...]) -> FileRecord:
    return FileRecord(
        record_id=rid,
        path=f"dump/{rid}.pdf",
        name=f"{rid}.pdf",
        parent_id=None,
        depth=0,
        size=1,
        sha256="0" * 64,
        md5=None,
        mime="application/pdf",
        extension="pdf",
        extension_mismatch=False,
        mtime=None,
        mtime_zone_known=True,
        outer_mtime=None,
        status=Status.OK,
        pictures=pics,
    )


def test_the_store_keeps_and_returns_them(tmp_path: Path) -> None:
    spilled = tmp_path / "picture-1"
    spilled.write_bytes(b"%PDF-1.4 revision")
    pics = (
        Picture("revision-1-page-1.png", "revision_page", "Page 1", "image/png", 30, 20, b"PNG"),
        Picture("revision-1.pdf", "revision_pdf", "Revision 1", "application/pdf", path=spilled),
    )
    store = Store(tmp_path / "triage.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2017, 5, 5, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record("a" * 32, pics))
        write(_record("b" * 32, ()))
    kept = store.evidence_files("a" * 32)
    assert [(f.name, f.kind, f.caption, f.mime, f.width, f.height, f.data) for f in kept] == [
        ("revision-1-page-1.png", "revision_page", "Page 1", "image/png", 30, 20, b"PNG"),
        (
            "revision-1.pdf",
            "revision_pdf",
            "Revision 1",
            "application/pdf",
            0,
            0,
            b"%PDF-1.4 revision",
        ),
    ]
    assert [f.sha256 for f in kept] == [
        hashlib.sha256(b"PNG").hexdigest(),
        hashlib.sha256(b"%PDF-1.4 revision").hexdigest(),
    ]
    assert not spilled.exists()  # the store holds it now
    assert store.evidence_files("b" * 32) == []
    # Re-parsed without pictures (an incremental run): the old ones go with its old rows.
    run = store.start_run(ScanConfig(), tmp_path, datetime(2017, 5, 6, tzinfo=UTC), keep=True)
    with store.writer(run) as write:
        write(_record("a" * 32, ()))
    assert store.evidence_files("a" * 32) == []
    store.close()


def test_a_store_made_before_the_table_reads_as_without_pictures(tmp_path: Path) -> None:
    store = Store(tmp_path / "triage.sqlite")
    store.db.execute("DROP TABLE evidence_files")
    store.db.commit()
    store.close()
    old = Store(tmp_path / "triage.sqlite", readonly=True)
    assert old.evidence_files("a" * 32) == []
    assert old.evidence_entries({"likely_altered"}) == []
    old.close()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, budget: bytes) -> Path:
    root = tmp_path_factory.mktemp("pics")
    dump = root / "dump"
    dump.mkdir()
    (dump / "budget.pdf").write_bytes(budget)
    (dump / "report.pdf").write_bytes(pdf.report_pdf())
    run_scan(dump, root / "out", ScanConfig(workers=0))
    return root


def _budget_record(out: Path) -> str:
    store = Store.open_existing(out, readonly=True)
    try:
        row = store.db.execute("SELECT record_id, verdict FROM files WHERE name = 'budget.pdf'")
        rid, verdict = row.fetchone()
    finally:
        store.close()
    assert verdict == "likely_altered"
    return str(rid)


def test_a_scan_writes_the_flagged_files_evidence_with_the_manifests_hashes(
    scanned: Path,
) -> None:
    out = scanned / "out"
    rid = _budget_record(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["evidence"]) == [
        f"{rid}/revision-1.pdf",
        f"{rid}/revision-2-page-1.png",
        f"{rid}/revision-2.pdf",
    ]
    on_disk = sorted(str(p.relative_to(out / "evidence")) for p in (out / "evidence").rglob("*"))
    assert on_disk == [rid, *sorted(manifest["evidence"])]
    for name, digest in manifest["evidence"].items():
        assert hashlib.sha256((out / "evidence" / name).read_bytes()).hexdigest() == digest
    store = Store.open_existing(out, readonly=True)
    try:
        kept = {f.name: f.sha256 for f in store.evidence_files(rid)}
    finally:
        store.close()
    assert {f"{rid}/{name}": digest for name, digest in kept.items()} == manifest["evidence"]


def test_the_report_detail_holds_the_picture_and_the_first_screen_does_not(
    scanned: Path,
) -> None:
    out = scanned / "out"
    rid = _budget_record(out)
    html = (out / "report.html").read_text(encoding="utf-8")
    png = (out / "evidence" / rid / "revision-2-page-1.png").read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    data = page_data(html)
    idx = next(n for n, row in enumerate(data["rows"]) if row[0].endswith("budget.pdf"))
    assert data["details"][idx]["pics"] == [
        [
            "revision-1.pdf",
            "revision_pdf",
            "Revision 1 as it was saved: the file's first 1081 bytes, up to its %%EOF.",
            "application/pdf",
            0,
            0,
            0,
        ],
        ["revision-2-page-1.png", "revision_page", pictures_caption(), "image/png", *PAGE_PAIR, 1],
        [
            "revision-2.pdf",
            "revision_pdf",
            "Revision 2 as it was saved: the file's first 1478 bytes, up to its %%EOF.",
            "application/pdf",
            0,
            0,
            0,
        ],
    ]
    held = list(
        blocks(html, f'type="application/octet-stream" class="z-pic" data-file="{idx}" data-n="1"')
    )
    assert held == [uri]
    assert uri not in without_data(html)
    assert "data:image/png" not in without_data(html)
    assert html.index('class="z-pic"') > html.index('class="z-details"')


def pictures_caption() -> str:
    return (
        "Page 1 of revision 2 (left) beside the final version (right): 2 changed text "
        "regions outlined in red, 3 regions of differing pixels in blue."
    )


def test_pictures_past_the_inline_budget_are_named_not_held(
    scanned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figures, "INLINE_BUDGET", 100)
    out = scanned / "out"
    store = Store.open_existing(out, readonly=True)
    try:
        html = write_html(store, scanned / "small.html").read_text(encoding="utf-8")
    finally:
        store.close()
    assert list(blocks(html, 'type="application/octet-stream" class="z-pic"[^>]*')) == []
    data = page_data(html)
    idx = next(n for n, row in enumerate(data["rows"]) if row[0].endswith("budget.pdf"))
    assert [(p[0], p[6]) for p in data["details"][idx]["pics"]] == [
        ("revision-1.pdf", 0),
        ("revision-2-page-1.png", 0),
        ("revision-2.pdf", 0),
    ]


def test_a_file_no_longer_flagged_loses_its_evidence_folder(tmp_path: Path, budget: bytes) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "budget.pdf").write_bytes(budget)
    run_scan(dump, tmp_path / "out", ScanConfig(workers=0))
    rid = _budget_record(tmp_path / "out")
    assert (tmp_path / "out" / "evidence" / rid / "revision-1.pdf").is_file()
    (dump / "budget.pdf").write_bytes(pdf.report_pdf())  # now a file with no finding
    run_scan(dump, tmp_path / "out", ScanConfig(workers=0))
    assert not (tmp_path / "out" / "evidence").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["evidence"] == {}


def test_records_read_back_carry_no_picture_bytes(tmp_path: Path) -> None:
    record = _record("c" * 32, (Picture("a.png", "revision_page", "c", "image/png", 1, 1, b"z"),))
    assert replace(record, pictures=()).to_json() == record.to_json()
