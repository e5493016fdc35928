"""Store: a record written to SQLite reads back identical; exports are sorted and stable."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leaktriage.config import ScanConfig
from leaktriage.model import Evidence, FileRecord, Finding, Issue, Severity, Status
from leaktriage.store import Store, export_csv, export_jsonl


def _record(**changes: object) -> FileRecord:
    base: dict[str, object] = {
        "record_id": "a" * 32,
        "path": "dump/mail.zip!budget.xlsx",
        "name": "budget.xlsx",
        "parent_id": "b" * 32,
        "depth": 1,
        "size": 1234,
        "sha256": "c" * 64,
        "md5": "d" * 32,
        "sha1": "e" * 40,
        "mime": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "extension": "xlsx",
        "extension_mismatch": False,
        "mtime": datetime(2017, 5, 4, 22, 10, tzinfo=UTC),
        "mtime_zone_known": False,
        "outer_mtime": datetime(2017, 5, 5, 18, 0, 1, 500000, tzinfo=UTC),
        "status": Status.PARTIAL,
        "extractor": "ooxml@1",
        "fields": {
            "doc.last_modified_by": "Георгий Петровский",
            "doc.created": datetime(2017, 3, 1, 8, 0, tzinfo=UTC),
            "doc.revision": 7,
            "doc.codepage": 1251,
            "text.language_confidence": 0.875,
            "ooxml.has_thumbnail": False,
            "ooxml.heading_pairs": ("Листы", "Именованные диапазоны"),
        },
        "raw": {"docProps/core.xml:cp:lastModifiedBy": "Георгий Петровский"},
        "issues": (Issue("extract", "xml_unsafe", "refused unsafe XML in custom.xml"),),
        "findings": (
            Finding(
                "a" * 32,
                "foreign-script-last-modified-by",
                "T0089.003",
                Severity.MEDIUM,
                "B",
                "Last saved by a Cyrillic name",
                (Evidence("doc.last_modified_by", "Георгий Петровский", "Cyrillic"),),
            ),
        ),
        "verdict": "suspicious",
        "score": 42.5,
    }
    base.update(changes)
    return FileRecord(**base)  # type: ignore[arg-type]


def _numbered(count: int) -> list[FileRecord]:
    """``count`` records with ids and paths of their own, each with its own finding."""
    records = []
    for n in range(count):
        rid = f"{n:032d}"
        finding = dataclasses.replace(_record().findings[0], record_id=rid)
        records.append(_record(record_id=rid, path=f"dump/{n:02d}.xlsx", findings=(finding,)))
    return records


def _index_names(store: Store) -> set[str]:
    return {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    record = _record()
    with store.writer(run) as write:
        write(record)
    loaded = store.load(record.record_id)
    assert loaded == record
    assert store.find("dump/mail.zip!budget.xlsx") == record
    assert store.find("aaaaaaaa") == record
    assert store.find("nothing") is None


def test_writer_thread_failure_stops_the_scan_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaktriage.store.database as store_module

    calls: list[int] = []

    def broken(db: sqlite3.Connection, batch: object, replace: bool) -> None:
        calls.append(1)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_module, "_insert_batch", broken)
    monkeypatch.setattr(store_module, "BATCH", 2)
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with (
        pytest.raises(sqlite3.OperationalError, match="disk is full"),
        store.writer(run) as write,
    ):
        for n in range(50):  # more batches than the queue holds: must not block
            write(_record(record_id=f"{n:032d}", path=f"dump/{n}.xlsx"))
    assert calls == [1]  # the first failure stops the inserts
    assert store.record_ids() == []


@pytest.mark.parametrize("apart", [False, True], ids=["thread", "process"])
def test_records_written_in_many_batches_are_all_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apart: bool
) -> None:
    import leaktriage.store.database as store_module

    monkeypatch.setattr(store_module, "BATCH", 3)
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    records = _numbered(20)
    with store.writer(run, apart=apart) as write:
        for record in records:
            write(record)
    assert store.record_ids() == sorted(r.record_id for r in records)
    assert [store.load(r.record_id) for r in records] == records
    finding_ids = [row[0] for row in store.db.execute("SELECT finding_id FROM findings")]
    assert sorted(finding_ids) == list(range(1, 21))


def test_writer_process_failure_stops_the_scan_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaktriage.store.database as store_module

    monkeypatch.setattr(store_module, "BATCH", 2)
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    # A lone surrogate pickles, but SQLite cannot be given it as UTF-8: the writer process
    # fails on the first batch, says so, and drops the rest without blocking the scan.
    bad = _record(record_id="0" * 32, path="dump/0.xlsx", fields={"doc.title": "bad \udcff"})
    with (
        pytest.raises(UnicodeEncodeError, match="surrogates not allowed"),
        store.writer(run, apart=True) as write,
    ):
        write(bad)
        for n in range(1, 50):  # more batches than the pipe and the queue hold
            write(_record(record_id=f"{n:032d}", path=f"dump/{n}.xlsx"))
    assert store.record_ids() == []


def test_a_killed_writer_process_is_an_error_not_a_hang(tmp_path: Path) -> None:
    import multiprocessing

    from leaktriage.errors import StoreError
    from leaktriage.store import BATCH

    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with (
        pytest.raises(StoreError, match="ended without an answer"),
        store.writer(run, apart=True) as write,
    ):
        for n in range(BATCH):  # the first full batch starts the process
            write(_record(record_id=f"{n:032d}", path=f"dump/{n}.xlsx"))
        (process,) = [
            p for p in multiprocessing.active_children() if p.name == "leaktriage-store-writer"
        ]
        process.kill()
        process.join()
        for n in range(BATCH, 10 * BATCH):  # the pipe breaks or the end comes: either says so
            write(_record(record_id=f"{n:032d}", path=f"dump/{n}.xlsx"))


def test_a_system_that_will_not_start_the_writer_process_gets_the_store_written_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaktriage.store.database as store_module

    def refused(*args: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(store_module, "BATCH", 3)
    monkeypatch.setattr(store_module, "_WriterProcess", refused)
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    records = _numbered(8)
    with store.writer(run, apart=True) as write:
        for record in records:
            write(record)
    assert [store.load(r.record_id) for r in records] == records
    indexes = _index_names(store)
    assert "fields_key" in indexes


def test_a_few_records_are_written_without_a_writer_process(tmp_path: Path) -> None:
    import multiprocessing

    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    started: list[str] = []
    with store.writer(run, apart=True) as write:
        write(_record())
        started += [p.name for p in multiprocessing.active_children()]
    assert "leaktriage-store-writer" not in started
    assert store.load(_record().record_id) == _record()
    indexes = _index_names(store)
    assert {"fields_key", "raw_fields_key", "issues_key", "evidence_key"} <= indexes


def test_exports_sorted_and_escaped(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record(record_id="2" * 32, path="z/last.docx"))
        write(
            _record(
                record_id="1" * 32,
                path="a/first.docx",
                fields={"doc.title": '=HYPERLINK("http://x")'},
            )
        )
    assert export_jsonl(store, tmp_path / "f.jsonl") == 2
    lines = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert [line["path"] for line in lines] == ["a/first.docx", "z/last.docx"]
    assert lines[1]["fields"]["doc.created"] == "2017-03-01T08:00:00Z"
    assert lines[1]["fields"]["ooxml.heading_pairs"] == ["Листы", "Именованные диапазоны"]
    assert lines[1]["schema_version"] == 1
    assert lines[1]["findings"][0]["evidence"][0]["value"] == "Георгий Петровский"
    export_csv(store, tmp_path / "f.csv")
    rows = list(csv.DictReader((tmp_path / "f.csv").open(encoding="utf-8")))
    assert rows[0]["doc.title"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["doc.last_modified_by"] == "Георгий Петровский"

    # Cached lines are UTF-8 bytes; a store whose cache holds them as text (written by an
    # earlier version) exports the same bytes.
    assert store.db.execute("SELECT DISTINCT typeof(jsonl) FROM export_cache").fetchall() == [
        ("blob",)
    ]
    with store.db:
        store.db.execute(
            "UPDATE export_cache SET jsonl = CAST(jsonl AS TEXT), csv = CAST(csv AS TEXT)"
        )
    export_jsonl(store, tmp_path / "text.jsonl")
    export_csv(store, tmp_path / "text.csv")
    for name in ("jsonl", "csv"):
        assert (tmp_path / f"text.{name}").read_bytes() == (tmp_path / f"f.{name}").read_bytes()


def test_views_read_well(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record())
    store.close()
    db = sqlite3.connect(tmp_path / "t.sqlite")
    row = db.execute("SELECT path, last_modified_by, created FROM files_view").fetchone()
    assert row == ("dump/mail.zip!budget.xlsx", "Георгий Петровский", "2017-03-01T08:00:00Z")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_readonly_store_reads_beside_the_writer_and_refuses_writes(tmp_path: Path) -> None:
    writer = Store(tmp_path / "triage.sqlite")
    try:
        run = writer.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
        with writer.writer(run) as write:
            write(_record())
        reader = Store(tmp_path / "triage.sqlite", readonly=True)
        try:
            assert reader.load(_record().record_id) == _record()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                reader.db.execute("DELETE FROM files")
        finally:
            reader.close()
        assert writer.record_ids() == [_record().record_id]
    finally:
        writer.close()
    with pytest.raises(sqlite3.OperationalError):
        Store(tmp_path / "missing.sqlite", readonly=True)


def test_csv_cells_with_line_breaks_round_trip_when_the_verdict_changes(tmp_path: Path) -> None:
    # A title with a line break is ordinary; the cached row is re-rendered when a corpus
    # step changes the verdict, and files.csv must still read back through Python's csv.
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    title = 'Budget 2017\nrevised\r\ndraft, "final"'
    with store.writer(run) as write:
        write(_record(fields={"doc.title": title, "doc.author": "line\rbreak"}))
    with store.db:
        store.db.execute(
            "UPDATE files SET verdict = 'likely_altered', score = 71.5 WHERE record_id = ?",
            ("a" * 32,),
        )
    assert export_csv(store, tmp_path / "f.csv") == 1
    with (tmp_path / "f.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    assert rows[0]["doc.title"] == title
    assert rows[0]["doc.author"] == "line\rbreak"
    assert rows[0]["verdict"] == "likely_altered"
    assert rows[0]["score"] == "71.5"
    assert rows[0]["scan_state"] == "new"


def test_a_full_disk_never_leaves_a_cut_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from leaktriage.store import exports as store_module

    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with store.writer(run) as write:
        for record in _numbered(3):
            write(record)
    target = tmp_path / "files.jsonl"
    target.write_text("the previous, complete export\n", encoding="utf-8")
    real = store_module._HashedFile.write_bytes
    calls = []

    def fill_up(self: object, data: bytes) -> None:
        calls.append(len(data))
        real(self, data[: len(data) // 2])  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module._HashedFile, "write_bytes", fill_up)
    with pytest.raises(OSError, match="No space left"):
        export_jsonl(store, target)
    assert calls
    assert target.read_text(encoding="utf-8") == "the previous, complete export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_checkpoint_empties_the_write_ahead_log_and_keeps_the_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record(fields={"doc.title": "Budget 2017"}))
    wal = tmp_path / "t.sqlite-wal"
    assert wal.stat().st_size > 0
    store.checkpoint()
    assert wal.stat().st_size == 0
    assert store.db.execute("SELECT path FROM files").fetchall() == [(_record().path,)]
    store.close()


def test_a_store_made_before_records_had_a_sha1_opens_and_gains_the_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.sqlite"
    store = Store(path)
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record())
    store.db.execute("ALTER TABLE files DROP COLUMN sha1")  # as the store was before
    store.close()
    reader = Store(path, readonly=True)
    assert reader.load(_record().record_id) == _record(sha1=None)
    reader.close()
    store = Store(path)
    columns = [row[1] for row in store.db.execute("PRAGMA table_info(files)")]
    assert columns[-2:] == ["score", "sha1"]
    assert store.load(_record().record_id) == _record(sha1=None)
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 2, tzinfo=UTC))
    with store.writer(run) as write:
        write(_record(record_id="f" * 32, path="dump/other.xlsx"))
    loaded = store.load("f" * 32)
    assert loaded is not None and loaded.sha1 == "e" * 40
    store.close()
