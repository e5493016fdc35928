"""Scale: same output whatever the workers or executor, incremental re-scans, gone records."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from corpus_fixtures.build import build_sample_leak
from corpus_fixtures.mixed import build_mixed
from leaktriage.api import run_scan
from leaktriage.bounds import bounded
from leaktriage.config import ScanConfig
from leaktriage.store import Store, export_files, refresh_export_cache


def _lines(out: Path) -> list[dict[str, object]]:
    with (out / "files.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _states(out: Path) -> Counter[str]:
    return Counter(str(line["scan_state"]) for line in _lines(out))


def _without_state(out: Path) -> list[str]:
    text = (out / "files.jsonl").read_text(encoding="utf-8")
    return [line[: line.rindex(', "scan_state": ')] for line in text.splitlines()]


@pytest.fixture()
def leak(tmp_path: Path) -> Path:
    """A private copy of the sample leak, to change between scans."""
    root = tmp_path / "leak"
    build_sample_leak(root)
    return root


def test_outputs_identical_for_one_or_two_workers(sample_leak: Path, tmp_path: Path) -> None:
    one = run_scan(sample_leak, tmp_path / "w1", ScanConfig(workers=1))
    two = run_scan(sample_leak, tmp_path / "w2", ScanConfig(workers=2))
    assert one.items == two.items == len(_lines(tmp_path / "w1"))
    for name in ("files.jsonl", "files.csv"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()
    assert one.by_status == two.by_status
    assert one.rule_hits == two.rule_hits


def test_stages_run_apart_give_what_one_process_gives(sample_leak: Path, tmp_path: Path) -> None:
    """workers=0 does everything in the scanning process; with workers, the store is written,
    the corpus models fitted and the report rendered by processes of their own."""
    import sqlite3

    here = run_scan(sample_leak, tmp_path / "here", ScanConfig(workers=0))
    apart = run_scan(sample_leak, tmp_path / "apart", ScanConfig(workers=2))
    assert here.corpus is not None and apart.corpus is not None
    assert here.corpus.fingerprinted == apart.corpus.fingerprinted > 10  # the models ran
    assert here.rule_hits == apart.rule_hits
    for name in ("files.jsonl", "files.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "apart" / name).read_bytes()
    # Finding ids follow the order records were finished in, which workers change.
    queries = {
        "scores": "SELECT * FROM corpus_scores ORDER BY record_id",
        "groups": "SELECT * FROM corpus_groups ORDER BY group_id",
        "members": "SELECT * FROM corpus_members ORDER BY group_id, record_id",
        "fields": "SELECT * FROM fields ORDER BY record_id, name, ord",
        "evidence": "SELECT f.record_id, f.rule_id, f.message, e.ord, e.field, e.value, e.note "
        "FROM evidence e JOIN findings f USING (finding_id) ORDER BY 1, 2, 3, 4",
    }
    for name, query in queries.items():
        rows = []
        for side in ("here", "apart"):
            with sqlite3.connect(tmp_path / side / "triage.sqlite") as db:
                rows.append(db.execute(query).fetchall())
        assert rows[0] == rows[1], name
        assert rows[0], name


def test_scan_failing_after_the_models_process_started_leaves_none_behind(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from leaktriage.store import Store

    def broken(self: Store, run_id: int) -> int:
        raise RuntimeError("mark_gone bug")

    monkeypatch.setattr(Store, "mark_gone", broken)
    with pytest.raises(RuntimeError, match="mark_gone bug"):
        run_scan(sample_leak, tmp_path / "out", ScanConfig(workers=1))
    assert multiprocessing.active_children() == []


def test_models_fitted_in_their_own_process_equal_the_local_fit() -> None:
    from leaktriage.corpus import fingerprints
    from leaktriage.pipeline.run import _ModelProcess

    office = ("L. Martin", "L. Martin", "Campagne", "Word", "16.0", "Normal", "+02:00", "1252")
    office += ("fr-FR", "Latin")
    foreign = [tuple(f"x{n}-{i}" for i in range(10)) for n in range(4)]
    near = [(*office[:7], f"cp{n}", *office[8:]) for n in range(6)]
    values = [office] * 40 + near + foreign
    local = fingerprints.fit(values)
    scores, labels = local
    assert labels[office] == labels[near[0]] >= 0  # one attribute away: the same cluster
    assert {labels[f] for f in foreign} == {-1}
    assert min(scores[-4:]) > max(scores[:40])  # the foreign ones score as unusual
    models = _ModelProcess.start()
    assert models is not None
    assert models(values) == local
    dead = _ModelProcess.start()
    assert dead is not None
    dead.process.kill()
    dead.process.join()
    assert dead(values) == local  # fitted in the scanning process instead


def test_rescan_reuses_unchanged_and_marks_removed_gone(leak: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_scan(leak, out, ScanConfig(workers=1))
    before = _lines(out)
    assert _states(out) == Counter({"new": first.items})

    again = run_scan(leak, out, ScanConfig(workers=1))
    assert _states(out) == Counter({"reused": first.items})
    assert again.reused_files == sum(1 for p in leak.rglob("*") if p.is_file())
    assert (again.items, again.by_status, again.rule_hits) == (
        first.items,
        first.by_status,
        first.rule_hits,
    )
    assert [{k: v for k, v in line.items() if k != "scan_state"} for line in _lines(out)] == [
        {k: v for k, v in line.items() if k != "scan_state"} for line in before
    ]

    # One file changed, one removed (an archive: its members go too), one added.
    changed = leak / "documents" / "pdf" / "report.pdf"
    changed.write_bytes(changed.read_bytes() + b"\n% appended\n")
    removed = leak / "archives" / "campagne_2017.zip"
    removed_paths = {
        str(line["path"])
        for line in before
        if str(line["path"]).startswith("leak/archives/campagne_2017.zip")
    }
    removed.unlink()
    shutil.copy(leak / "mail" / "meeting.eml", leak / "mail" / "meeting-copy.eml")
    third = run_scan(leak, out, ScanConfig(workers=1))
    lines = _lines(out)
    by_path: dict[str, list[str]] = {}
    for line in lines:
        by_path.setdefault(str(line["path"]), []).append(str(line["scan_state"]))
    assert sorted(by_path["leak/documents/pdf/report.pdf"]) == ["gone", "new"]
    assert all(by_path[p] == ["gone"] for p in removed_paths)
    assert by_path["leak/mail/meeting-copy.eml"] == ["new"]
    assert by_path["leak/mail/meeting.eml"] == ["reused"]
    copies = [p for p in by_path if p.startswith("leak/mail/meeting-copy.eml!")]
    assert copies and all(by_path[p] == ["new"] for p in copies)
    assert third.gone == len(removed_paths) + 1
    # Gone records stay in the store; the manifest lists what the dump now holds.
    store = Store.open_existing(out)
    try:
        assert len(store.record_ids(include_gone=True)) == len(lines)
        assert len(store.record_ids()) == len(lines) - third.gone == third.items
    finally:
        store.close()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["items_total"] == third.items
    assert not removed_paths & {item["path"] for item in manifest["items"]}


def test_unchanged_rescan_keeps_an_intact_report_and_redraws_a_damaged_one(
    leak: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scanned = run_scan(leak, out, ScanConfig(workers=1))
    assert scanned.beacons  # the sample leak's decoys
    report = out / "report.html"
    first = report.read_bytes()
    os.utime(report, ns=(1_000_000_000, 1_000_000_000))

    again = run_scan(leak, out, ScanConfig(workers=1))
    assert again.phases["extract"] >= 0 and "corpus" not in again.phases
    assert again.beacons == scanned.beacons  # categories from the store, rules not parsed
    assert report.stat().st_mtime_ns == 1_000_000_000  # not rewritten
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["report.html"] == hashlib.sha256(first).hexdigest()

    # The first re-scan rewrote the exports (every line became "reused"); the next one has
    # not one line to change and keeps them, unless they were altered.
    exports = [out / "files.jsonl", out / "files.csv"]
    before = [path.read_bytes() for path in exports]
    for path in exports:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    run_scan(leak, out, ScanConfig(workers=1))
    assert [path.stat().st_mtime_ns for path in exports] == [1_000_000_000] * 2
    assert _states(out) == Counter({"reused": again.items})
    exports[1].write_text("edited", encoding="utf-8")

    report.write_text("<p>edited by hand</p>", encoding="utf-8")
    run_scan(leak, out, ScanConfig(workers=1))
    assert [path.read_bytes() for path in exports] == before

    def undated(page: bytes) -> bytes:  # the header names the newest run's start
        return re.sub(rb"<span>scanned [^<]*</span>", b"", page)

    assert undated(report.read_bytes()) == undated(first)  # redrawn from the same records


def test_verify_hashes_catches_a_change_that_keeps_size_and_mtime(
    leak: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_scan(leak, out, ScanConfig(workers=0))
    target = leak / "documents" / "misc" / "notes.txt"
    info = target.stat()
    data = bytearray(target.read_bytes())
    data[0] = ord("X") if data[0] != ord("X") else ord("Y")
    target.write_bytes(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    path = "leak/documents/misc/notes.txt"

    run_scan(leak, out, ScanConfig(workers=0))
    assert [line["scan_state"] for line in _lines(out) if line["path"] == path] == ["reused"]

    run_scan(leak, out, ScanConfig(workers=0, verify_hashes=True))
    states = sorted(str(line["scan_state"]) for line in _lines(out) if line["path"] == path)
    assert states == ["gone", "new"]
    assert set(_states(out)) == {"reused", "new", "gone"}


def test_changed_options_rescan_everything_with_the_same_ids(leak: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_scan(leak, out, ScanConfig(workers=0))
    ids = [line["record_id"] for line in _lines(out)]
    run_scan(leak, out, ScanConfig(workers=0, leak_date=date(2017, 5, 5)))
    assert _states(out) == Counter({"rescanned": first.items})
    assert [line["record_id"] for line in _lines(out)] == ids
    run_scan(leak, out, ScanConfig(workers=0, leak_date=date(2017, 5, 5), reuse=False))
    assert _states(out) == Counter({"rescanned": first.items})


def test_export_follows_findings_added_after_the_write(leak: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scan(leak, out, ScanConfig(workers=0))
    store = Store.open_existing(out)
    try:
        rid = store.record_ids()[0]
        with store.db:
            store.db.execute(
                "INSERT INTO findings (record_id, rule_id, technique, severity, grade, message, "
                "source, score) VALUES (?, 'corpus-near-duplicate', 'T0089.003', 'medium', 'C', "
                "'near copy of another file', 'corpus', 3.0)",
                (rid,),
            )
            store.db.execute("UPDATE files SET verdict = 'suspicious' WHERE record_id = ?", (rid,))
        export_files(store, out / "again.jsonl", None)
    finally:
        store.close()
    first = json.loads((out / "again.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["record_id"] == rid
    assert first["verdict"] == "suspicious"
    assert first["findings"][-1]["rule_id"] == "corpus-near-duplicate"
    assert first["scan_state"] == "new"


def test_scan_exports_every_line_as_a_whole_render_would(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    run_scan(sample_leak, out, ScanConfig(workers=1))
    store = Store.open_existing(out)
    try:
        # The corpus stage added findings after the walk: those lines were patched as the
        # export was written, and the cache was left as the walk wrote it.
        corpus_hits = store.db.execute(
            "SELECT count(DISTINCT record_id) FROM findings WHERE source = 'corpus'"
        ).fetchone()[0]
        assert corpus_hits > 0
        lines = {}
        for line in (out / "files.jsonl").read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            assert data.pop("scan_state") == "new"
            lines[data["record_id"]] = json.dumps(data, ensure_ascii=False, sort_keys=True)
        records = store.load_many(store.record_ids())
        assert len(records) == len(lines)
        for record in records:
            # The record's own JSON form, kept within the line bounds.
            assert lines[record.record_id] == json.dumps(
                bounded(record.to_json()), ensure_ascii=False, sort_keys=True
            )
        # A store written before each finding kept its rendered text exports the same bytes.
        assert store.db.execute("SELECT count(*) FROM finding_lines").fetchone()[0] == sum(
            len(r.findings) for r in records
        )
        with store.db:
            store.db.execute("DROP TABLE finding_lines")
        export_files(store, tmp_path / "older.jsonl", tmp_path / "older.csv")
        assert (tmp_path / "older.jsonl").read_bytes() == (out / "files.jsonl").read_bytes()
        assert (tmp_path / "older.csv").read_bytes() == (out / "files.csv").read_bytes()
        # Each cached line sits under its record's rowid; one that does not (as an older
        # store wrote them) is found by record id, and the exports are the same bytes.
        aligned = store.db.execute(
            "SELECT count(*) FROM export_cache c JOIN files f ON c.rowid = f.rowid "
            "AND c.record_id = f.record_id"
        ).fetchone()[0]
        assert aligned == len(records)
        with store.db:
            store.db.execute("UPDATE export_cache SET rowid = rowid + 1000000")
        loaded: list[str] = []
        real_load = store.load_many
        monkeypatch.setattr(store, "load_many", lambda ids: loaded.extend(ids) or real_load(ids))
        export_files(store, tmp_path / "moved.jsonl", tmp_path / "moved.csv")
        assert loaded == []  # every line came from the cache, none was rendered again
        assert (tmp_path / "moved.jsonl").read_bytes() == (out / "files.jsonl").read_bytes()
        assert (tmp_path / "moved.csv").read_bytes() == (out / "files.csv").read_bytes()
        # What `leaktriage analyze` or the library's own refresh would write back.
        assert refresh_export_cache(store) == corpus_hits
        assert refresh_export_cache(store) == 0
    finally:
        store.close()


def test_mixed_corpus_is_deterministic(tmp_path: Path) -> None:
    count, size = build_mixed(tmp_path / "a", 120)
    build_mixed(tmp_path / "b", 120)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert count == len(files_a) == 120
    assert size == sum((tmp_path / "a" / p).stat().st_size for p in files_a)
    assert all(
        (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in files_a
    )
    assert sum(1 for p in files_a if p.suffix == ".zip" and p.name.startswith("envoi_")) == 2
    assert sum(1 for p in files_a if p.name.startswith("archive_")) == 2


def test_sandbox_lets_through_only_the_allowed_endpoint() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    script = (
        "import socket, sys\n"
        "from leaktriage.execute.sandbox import allow_endpoint, forbid_network\n"
        "from leaktriage.errors import NetworkBlockedError\n"
        "forbid_network()\n"
        f"allow_endpoint('127.0.0.1', {server.getsockname()[1]})\n"
        f"socket.create_connection(('127.0.0.1', {server.getsockname()[1]})).close()\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {other.getsockname()[1]}))\n"
        "except NetworkBlockedError:\n"
        "    print('other refused')\n"
        "try:\n"
        "    socket.getaddrinfo('example.org', 80)\n"
        "except NetworkBlockedError:\n"
        "    print('lookup refused')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        server.close()
        other.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["other refused", "lookup refused"]


def test_dask_cluster_gives_the_local_output(sample_leak: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="the distributed package is not installed (pip install .[dask])"
    )
    import dask

    run_scan(sample_leak, tmp_path / "local", ScanConfig(workers=2))
    # Non-daemonic workers: each task parses in an isolated, sandboxed worker process. The
    # scan runs as the command does, with the network refused but for the scheduler.
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "leaktriage",
                "-q",
                "scan",
                str(sample_leak),
                "--out",
                str(tmp_path / "dask"),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("files.jsonl", "files.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()
    # Daemonic workers (Dask's default) cannot start processes: tasks parse in a thread that
    # refuses the network. Same records.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_scan(
            sample_leak,
            tmp_path / "daemonic",
            ScanConfig(executor="dask", scheduler=cluster.scheduler_address),
        )
    assert (tmp_path / "local" / "files.jsonl").read_bytes() == (
        tmp_path / "daemonic" / "files.jsonl"
    ).read_bytes()


def test_cli_dask_needs_a_scheduler_and_no_md5_drops_md5(leak: Path, tmp_path: Path) -> None:
    from leaktriage.cli import main

    assert main(["-q", "scan", str(leak), "--out", str(tmp_path / "o"), "--executor", "dask"]) == 2
    assert not (tmp_path / "o").exists()
    one = leak / "documents" / "misc" / "notes.txt"
    assert main(["-q", "scan", str(one), "--out", str(tmp_path / "m"), "--no-md5"]) == 0
    (line,) = _lines(tmp_path / "m")
    assert line["md5"] is None
    assert line["sha256"] == hashlib.sha256(one.read_bytes()).hexdigest()


def test_report_rendered_apart_is_the_report_of_the_store(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaktriage.pipeline.run import _ReportProcess
    from leaktriage.report import write_html

    def rendered_here(out: Path) -> bytes:
        store = Store.open_existing(out)
        try:
            write_html(store, tmp_path / "here.html")
        finally:
            store.close()
        return (tmp_path / "here.html").read_bytes()

    out = tmp_path / "out"
    run_scan(sample_leak, out, ScanConfig(workers=1))  # the report in its own process
    assert (out / "report.html").read_bytes() == rendered_here(out)
    assert not list(out.glob("*.tmp"))

    # A process that fails writes nothing; the scan then renders the report itself.
    failed = _ReportProcess(tmp_path / "missing.sqlite", tmp_path / "never.html")
    failed.go()
    assert failed.join() is False
    assert not (tmp_path / "never.html").exists()
    unsent = _ReportProcess(out / "triage.sqlite", tmp_path / "unsent.html")
    assert unsent.join() is False  # never told to go: stopped, nothing written
    assert not (tmp_path / "unsent.html").exists()

    def fail(self: _ReportProcess) -> bool:
        self.stop()
        return False

    def refused(self: _ReportProcess, *args: object) -> None:
        raise OSError("Resource temporarily unavailable")

    for name, broken in (("join", fail), ("__init__", refused)):
        with monkeypatch.context() as patch:
            patch.setattr(_ReportProcess, name, broken)
            again = tmp_path / f"again-{name}"
            run_scan(sample_leak, again, ScanConfig(workers=1))
        assert (again / "report.html").read_bytes() == rendered_here(again)


def test_exports_written_apart_are_the_exports_of_the_store(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from leaktriage.pipeline.export_process import ExportProcess
    from leaktriage.store import export_files

    def written_here(out: Path) -> tuple[bytes, bytes]:
        store = Store.open_existing(out, readonly=True)
        try:
            export_files(store, tmp_path / "here.jsonl", tmp_path / "here.csv")
        finally:
            store.close()
        return (tmp_path / "here.jsonl").read_bytes(), (tmp_path / "here.csv").read_bytes()

    out = tmp_path / "out"
    run_scan(sample_leak, out, ScanConfig(workers=1))  # the exports in their own process
    written = ((out / "files.jsonl").read_bytes(), (out / "files.csv").read_bytes())
    assert written == written_here(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    digests = manifest["outputs"]
    assert digests["files.jsonl"] == hashlib.sha256(written[0]).hexdigest()
    assert digests["files.csv"] == hashlib.sha256(written[1]).hexdigest()

    # A process that cannot write raises the same error here (the scan's exit status).
    process = ExportProcess(out / "triage.sqlite")
    with pytest.raises(OSError) as raised:
        process.write(tmp_path / "no" / "files.jsonl", tmp_path / "no" / "files.csv")
    assert raised.value.errno == errno.ENOENT
    assert raised.value.filename == str(tmp_path / "no" / ".files.jsonl.partial")
    assert not process.process.is_alive()
    # A process that died gives no reply: the scan then writes the exports itself.
    dead = ExportProcess(out / "triage.sqlite")
    dead.process.kill()
    dead.process.join()
    assert dead.write(tmp_path / "dead.jsonl", tmp_path / "dead.csv") is None
    assert not (tmp_path / "dead.jsonl").exists()

    def refused(self: ExportProcess, *args: object) -> None:
        raise OSError("Resource temporarily unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(ExportProcess, "__init__", refused)
        again = tmp_path / "again"
        run_scan(sample_leak, again, ScanConfig(workers=1))
    assert (again / "files.jsonl").read_bytes() == written_here(again)[0]


def test_scan_failing_once_the_report_process_started_leaves_none_behind(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    import leaktriage.threads

    # A bug in a stage is recorded and the scan goes on (test_dump_shapes); the output
    # folder's errors end it, here while the report's process is waiting.
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(leaktriage.threads, "analyse", broken)
    with pytest.raises(OSError, match="No space left"):
        run_scan(sample_leak, tmp_path / "out", ScanConfig(workers=1))
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "out" / "report.html").exists()


def test_run_facts_are_read_without_the_items_and_whole_when_laid_out_otherwise(
    tmp_path: Path,
) -> None:
    import json

    from leaktriage.manifest import _run_facts

    facts = {"outputs": {"files.jsonl": "ab" * 32}, "output_stats": {"files.jsonl": [7, 9]}}
    items = [{"path": f"dump/{n}.pdf", "record_id": f"{n:032d}"} for n in range(3)]
    written = tmp_path / "written.json"
    head = json.dumps(facts, indent=1)
    # As write_manifest lays it out: the run's facts, then one item per line.
    lines = ",\n  ".join(json.dumps(item) for item in items)
    written.write_text(head[:-2] + ',\n "items": [\n  ' + lines + "\n ]\n}", encoding="utf-8")
    assert json.loads(written.read_text(encoding="utf-8"))["items"] == items
    assert _run_facts(written) == facts
    compact = tmp_path / "compact.json"  # any other layout is parsed whole
    compact.write_text(json.dumps({**facts, "items": items}), encoding="utf-8")
    assert _run_facts(compact) == {**facts, "items": items}
