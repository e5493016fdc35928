"""Worker isolation: a hang, a crash or a memory blow-up costs one item, never the scan."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

from leaktriage.execute.workers import ExtractorPool, Outcome
from leaktriage.extractors import Source
from tests._pool_targets import misbehave


def _source(name: str) -> Source:
    return Source(name=name, mime="application/x-test", size=1, data=b"x")


def test_timeout_crash_and_memory_are_contained() -> None:
    names = ["ok-1", "hang", "crash", "memory", "ok-2"]
    with ExtractorPool(
        2, timeout_s=3.0, memory_bytes=1024 * 1024 * 1024, extract=misbehave
    ) as pool:
        for job_id, name in enumerate(names):
            pool.submit(job_id, _source(name))
        outcomes = {}
        while len(outcomes) < len(names):
            for job_id, outcome in pool.finished(block=True):
                outcomes[names[job_id]] = outcome
        assert pool.restarts == 2  # the hung worker and the crashed one were replaced
    assert outcomes["ok-1"][0].raw == {"echo": "ok-1"}
    assert outcomes["ok-2"][0].raw == {"echo": "ok-2"}
    codes = {
        name: [i.code for i in outcomes[name][0].issues] for name in ("hang", "crash", "memory")
    }
    assert codes == {"hang": ["timeout"], "crash": ["crashed"], "memory": ["memory"]}
    assert all(outcomes[name][2].value == "error" for name in ("hang", "crash", "memory"))
    assert "SIGSEGV" in outcomes["crash"][0].issues[0].message


def test_workers_cannot_go_online_or_start_processes() -> None:
    from tests._pool_targets import phone_home

    with ExtractorPool(1, timeout_s=20.0, memory_bytes=0, extract=phone_home) as pool:
        pool.submit(0, _source("beacon"))
        ((job_id, (extraction, _label, _status, _mime)),) = pool.finished(block=True)
    assert job_id == 0
    assert extraction.raw == {"attempts": "blocked,blocked,blocked,blocked"}


def test_a_dead_worker_found_on_send_blames_its_job_once() -> None:
    with ExtractorPool(1, timeout_s=30.0, memory_bytes=0, extract=misbehave) as pool:
        pool.submit(0, _source("crash"))
        assert pool.ready()  # job 0 is now with the worker, not held while it starts
        time.sleep(2.0)  # the worker dies on it; the next send finds the pipe broken
        pool.submit(1, _source("ok-1"))
        pool.submit(2, _source("raise"))
        pool.submit(3, _source("ok-2"))
        outcomes = {}
        while len(outcomes) < 4:
            outcomes.update(pool.finished(block=True))
        # The crashing item ran once: one replacement, not a crash loop.
        assert pool.restarts == 1
    assert [i.code for i in outcomes[0][0].issues] == ["crashed"]
    assert outcomes[1][0].raw == {"echo": "ok-1"}
    assert [(i.code, i.message) for i in outcomes[2][0].issues] == [
        ("unexpected", "ValueError: a bug outside the extractor boundary")
    ]
    assert outcomes[2][2].value == "error"
    assert outcomes[3][0].raw == {"echo": "ok-2"}


def test_large_jobs_and_large_results_never_deadlock() -> None:
    import threading

    from tests._pool_targets import mirror

    # Mailbox-sized jobs whose results are as large: queued behind one another they used to
    # fill both directions of a worker's pipe at once and hang the scan.
    blobs = [bytes([i]) * (3 * 1024 * 1024) for i in range(6)]
    outcomes: dict[int, bytes] = {}

    def run() -> None:
        with ExtractorPool(1, timeout_s=60.0, memory_bytes=0, extract=mirror) as pool:
            for job_id, blob in enumerate(blobs):
                pool.submit(job_id, Source(name="box", mime="x/test", size=len(blob), data=blob))
                for done, outcome in pool.finished():
                    outcomes[done] = outcome[0].children[0].data
            while len(outcomes) < len(blobs):
                for done, outcome in pool.finished(block=True):
                    outcomes[done] = outcome[0].children[0].data

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(300)  # a liveness guard, not a timing assertion: a deadlock never ends
    assert not thread.is_alive(), "the pool deadlocked"
    assert outcomes == dict(enumerate(blobs))


def test_large_jobs_and_large_results_do_not_deadlock() -> None:
    import threading

    from tests._pool_targets import echo_large

    names = [f"job-{i}" for i in range(12)]
    outcomes: dict[str, tuple[str, str | None]] = {}

    def drive() -> None:
        with ExtractorPool(2, timeout_s=60.0, memory_bytes=0, extract=echo_large) as pool:
            for job_id, name in enumerate(names):
                pool.submit(
                    job_id, Source(name=name, mime="x/test", size=1 << 20, data=b"y" * (1 << 20))
                )
                for done_id, outcome in pool.finished():
                    outcomes[names[done_id]] = (outcome[0].raw["echo"], outcome[1])
            while len(outcomes) < len(names):
                for done_id, outcome in pool.finished(block=True):
                    outcomes[names[done_id]] = (outcome[0].raw["echo"], outcome[1])

    runner = threading.Thread(target=drive, daemon=True)
    runner.start()
    runner.join(120)
    assert not runner.is_alive(), "scan process and workers blocked on each other's pipes"
    assert outcomes == {name: (name, str(1 << 20)) for name in names}


def test_the_fork_server_stays_warm_between_files_and_stops_after_a_scan(
    sample_leak: Path, tmp_path: Path
) -> None:
    from multiprocessing import forkserver

    from leaktriage.api import run_scan, triage_file

    def server_pid() -> int | None:
        return getattr(forkserver._forkserver, "_forkserver_pid", None)

    note = tmp_path / "note.txt"
    note.write_text("Compte rendu de la réunion du 3 mars.\n", encoding="utf-8")
    triage_file(note)
    first = server_pid()
    assert first is not None
    triage_file(note)  # an ingestion script's next file: no new server, no new imports
    assert server_pid() == first
    run_scan(sample_leak, tmp_path / "out")
    assert server_pid() is None  # its parsers' memory is given back before the corpus stage


class _SmallStart(ExtractorPool):
    STARTUP_JOBS = 5


def test_jobs_submitted_while_the_workers_start_are_held_within_bounds_then_all_answered() -> None:
    from tests._pool_targets import echo_large

    first = [f"early-{i}" for i in range(40)]
    later = [f"late-{i}" for i in range(12)]
    names = first + later
    outcomes: dict[str, str] = {}
    most_in_flight: list[int] = []
    with _SmallStart(2, timeout_s=60.0, memory_bytes=0, extract=misbehave) as pool:
        for job_id, name in enumerate(first):
            pool.submit(job_id, _source(name))
            most_in_flight.append(pool.busy)  # held jobs count as in flight
        while len(outcomes) < len(first):
            for job_id, outcome in pool.finished(block=True):
                outcomes[names[job_id]] = outcome[0].raw["echo"]
        assert pool.busy == 0
    # Never more than the start-up backlog plus the two workers' queues.
    assert max(most_in_flight) <= 5 + 2 * ExtractorPool.QUEUE_DEPTH
    # Once started, the pool holds no backlog: slow jobs make submit wait for a free slot.
    slow_in_flight: list[int] = []
    with _SmallStart(1, timeout_s=60.0, memory_bytes=0, extract=echo_large) as pool:
        assert not pool.ready(wait=False)  # nothing submitted: no worker started
        pool.submit(0, _source("warm-up"))
        assert pool.ready()
        ((_, warm),) = pool.finished(block=True)
        assert warm[0].raw["echo"] == "warm-up"
        for offset, name in enumerate(later):
            pool.submit(len(first) + offset, _source(name))
            slow_in_flight.append(pool.busy)
            for job_id, outcome in pool.finished():
                outcomes[names[job_id]] = outcome[0].raw["echo"]
        while len(outcomes) < len(names):
            for job_id, outcome in pool.finished(block=True):
                outcomes[names[job_id]] = outcome[0].raw["echo"]
    assert max(slow_in_flight) == ExtractorPool.QUEUE_DEPTH
    assert outcomes == {name: name for name in names}


# --- A dead worker costs the item it held, and only that one --------------------------------


def _collect(pool: ExtractorPool, count: int) -> list[tuple[int, Outcome]]:
    """Every outcome until ``count`` arrived (a liveness guard: a lost job fails the test)."""
    found: list[tuple[int, Outcome]] = []
    deadline = time.monotonic() + 240
    while len(found) < count:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} outcomes arrived"
        found.extend(pool.finished(block=True))
    return found


def _reason(outcome: Outcome) -> tuple[str, str]:
    """(code, message) of the issue a dead worker leaves on its item."""
    (issue,) = [i for i in outcome[0].issues if i.code in ("memory", "crashed", "timeout")]
    return issue.code, issue.message


def _forkserver_children() -> list[int]:
    """Pids of the processes the fork server started (the pool's workers, in these tests)."""
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[1]) == server:
                children.append(int(entry.name))
    return children


def _killer(rng: random.Random, log: Path, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL a worker that has begun an item (``log``), at random moments: while it parses,
    between two items, while a job or an answer is in its pipe; at most 8 times."""
    while not stop.wait(rng.uniform(0.02, 0.12)) and len(killed) < 8:
        began = {int(line.split()[0]) for line in log.read_text().splitlines()}
        running = sorted(set(_forkserver_children()) & began)
        if running:
            pid = rng.choice(running)
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)


def test_sigkill_at_random_moments_costs_only_the_item_each_worker_held(tmp_path: Path) -> None:

    from tests._pool_targets import logged_echo

    for seed in range(4):
        rng = random.Random(seed)
        log = tmp_path / f"began-{seed}.log"
        log.touch()
        names = [f"job{seed}-{i}-{rng.randint(2, 40)}" for i in range(60)]
        killed: list[int] = []
        stop = threading.Event()
        with ExtractorPool(2, timeout_s=60.0, memory_bytes=0, extract=logged_echo) as pool:
            thread = threading.Thread(target=_killer, args=(rng, log, stop, killed), daemon=True)
            thread.start()
            found: list[tuple[int, Outcome]] = []
            for job_id, name in enumerate(names):
                pool.submit(job_id, Source(name=name, mime="x/test", size=1, path=log))
                found.extend(pool.finished())
            found.extend(_collect(pool, len(names) - len(found)))
            stop.set()
            thread.join()
        assert sorted(job_id for job_id, _ in found) == list(range(len(names)))  # once each
        began = [line.split() for line in log.read_text().splitlines()]
        errors = {
            names[job_id]: outcome for job_id, outcome in found if outcome[2].value == "error"
        }
        assert len(errors) <= len(killed), (seed, killed, sorted(errors))
        for name, outcome in errors.items():
            code, message = _reason(outcome)
            assert code == "memory" and "SIGKILL" in message and repr(name) in message
            # It was that item's worker that was killed while holding it: whoever logged that
            # it began the item was killed (a worker killed between taking the item and
            # writing its log line leaves no line, which a loaded machine makes happen).
            assert all(int(pid) in killed for pid, began_name in began if began_name == name)
        for job_id, outcome in found:
            if names[job_id] not in errors:
                assert outcome[0].raw == {"echo": names[job_id]}


def test_workers_killed_on_their_items_cost_those_items_only() -> None:
    from tests._pool_targets import kill_self

    # Kills in a row: the replacement's first job kills it too, while jobs wait behind it.
    names = ["ok-0", "kill-a", "kill-b", "kill-c", *(f"ok-{i}" for i in range(1, 25)), "kill-d"]
    names += [f"after-{i}" for i in range(20)]
    for workers in (1, 2):
        with ExtractorPool(workers, timeout_s=60.0, memory_bytes=0, extract=kill_self) as pool:
            for job_id, name in enumerate(names):
                pool.submit(job_id, _source(name))
            found = _collect(pool, len(names))
            assert pool.restarts == 4
        assert sorted(job_id for job_id, _ in found) == list(range(len(names)))
        for job_id, outcome in found:
            name = names[job_id]
            if name.startswith("kill"):
                code, message = _reason(outcome)
                assert (code, outcome[2].value) == ("memory", "error")
                assert message.startswith(f"{name!r}: worker killed by SIGKILL")
            else:
                assert outcome[0].raw == {"echo": name}


def test_a_segfaulting_parser_costs_its_item_named_with_the_signal() -> None:
    names = ["ok-1", "crash", "ok-2", "ok-3", "crash", "crash", "ok-4"]
    with ExtractorPool(1, timeout_s=30.0, memory_bytes=0, extract=misbehave) as pool:
        for job_id, name in enumerate(names):
            pool.submit(job_id, _source(name))
        found = dict(_collect(pool, len(names)))
    for job_id, name in enumerate(names):
        if name == "crash":
            assert _reason(found[job_id]) == (
                "crashed",
                "'crash': parser crashed the worker (SIGSEGV)",
            )
        else:
            assert found[job_id][0].raw == {"echo": name}


def test_a_hanging_parser_times_out_and_the_items_behind_it_are_parsed() -> None:
    names = ["ok-1", "hang", "ok-2", "ok-3", "ok-4"]
    with ExtractorPool(1, timeout_s=1.5, memory_bytes=0, extract=misbehave) as pool:
        started = time.monotonic()
        for job_id, name in enumerate(names):
            pool.submit(job_id, _source(name))
        found = dict(_collect(pool, len(names)))
        assert time.monotonic() - started < 30
    code, message = _reason(found[1])
    assert code == "timeout" and message.startswith("'hang': parsing took longer than 1.5 s")
    assert "SIGKILL" in message
    assert [found[i][0].raw for i in (0, 2, 3, 4)] == [{"echo": n} for n in names if n != "hang"]


def test_a_parser_allocating_without_bound_costs_its_item_not_the_worker() -> None:
    from tests._pool_targets import hoard

    names = ["ok-1", "hoard-1", "ok-2", "hoard-2", "ok-3"]
    with ExtractorPool(1, timeout_s=60.0, memory_bytes=512 * 1024 * 1024, extract=hoard) as pool:
        for job_id, name in enumerate(names):
            pool.submit(job_id, _source(name))
        found = dict(_collect(pool, len(names)))
    for job_id, name in enumerate(names):
        if name.startswith("hoard"):
            code, message = _reason(found[job_id])
            assert code == "memory" and message == f"{name!r}: out of memory (limit 512 MiB)"
        else:
            assert found[job_id][0].raw == {"echo": name}


def test_workers_that_cannot_start_fail_the_items_and_never_loop() -> None:
    from tests._pool_targets import Unstartable

    with ExtractorPool(1, timeout_s=30.0, memory_bytes=0, extract=Unstartable()) as pool:
        for job_id in range(2):
            pool.submit(job_id, _source(f"item-{job_id}"))
        found = dict(_collect(pool, 2))
    for job_id in range(2):
        code, message = _reason(found[job_id])
        assert code == "crashed" and message.startswith(f"'item-{job_id}': worker ended")


# --- Memory limits: the parent never breaks ------------------------------------------------


def _noise_pdf(seed: int, side: int) -> bytes:
    """A PDF holding one incompressible image of ``side`` x ``side`` pixels (3 bytes each)."""
    import pymupdf

    pixels = random.Random(seed).randbytes(side * side * 3)
    image = pymupdf.Pixmap(pymupdf.csRGB, side, side, pixels, False)
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), f"Rapport {seed}")
    page.insert_image(pymupdf.Rect(72, 100, 500, 500), pixmap=image)
    doc.set_metadata({"author": f"auteur {seed}", "title": f"rapport {seed}"})
    data: bytes = doc.tobytes()
    return data


def test_memory_limits_from_32_mib_never_break_the_parent() -> None:
    from corpus_fixtures.builders.pdf import FIXTURES
    from leaktriage.api import extract_item

    pdfs = [(name, build()) for name, build in sorted(FIXTURES.items())]
    pdfs += [("noise-1.pdf", _noise_pdf(1, 900)), ("noise-2.pdf", _noise_pdf(2, 1400))]
    for megabytes in (32, 64, 128, 256):
        with ExtractorPool(2, 30.0, megabytes * 1024 * 1024, extract_item) as pool:
            for job_id, (name, data) in enumerate(pdfs):
                pool.submit(job_id, Source(name, "application/pdf", len(data), data=data))
            found = _collect(pool, len(pdfs))
        assert sorted(job_id for job_id, _ in found) == list(range(len(pdfs))), megabytes
        for job_id, outcome in found:
            name = pdfs[job_id][0]
            for issue in outcome[0].issues:
                assert len(issue.message) < 300 and "%PDF" not in issue.message
                if issue.code in ("memory", "crashed", "timeout"):
                    assert issue.message.startswith(repr(name)), issue


def test_a_source_never_shows_its_bytes() -> None:
    source = Source(name="memo.pdf", mime="application/pdf", size=9, data=b"%PDF-SECRET")
    assert "SECRET" not in repr(source) and "memo.pdf" in repr(source)


def test_nothing_the_pool_holds_can_print_an_items_bytes() -> None:
    from leaktriage.execute.workers import _Job, _Worker

    source = Source(name="memo.pdf", mime="application/pdf", size=9, data=b"%PDF-SECRET")
    with ExtractorPool(1, timeout_s=30.0, memory_bytes=0, extract=misbehave) as pool:
        pool.submit(0, source)
        pool.submit(1, source)
        assert pool.ready()
        workers = [w for w in pool._slots if isinstance(w, _Worker)]
        texts = [repr(_Job(3, source, 11)), str(list(pool._backlog)), *map(repr, workers)]
        texts += [str(list(w.jobs)) for w in workers]
        assert all("SECRET" not in text for text in texts)
        assert "memo.pdf" in texts[0]
        _collect(pool, 2)


# --- The API works from any kind of script, the CLI at any memory limit ----------------------


def _small_dump(folder: Path) -> Path:
    from corpus_fixtures.build import all_fixtures

    fixtures = all_fixtures()
    folder.mkdir()
    for family, name in (("pdf", "report.pdf"), ("ooxml", "memo.docx"), ("email", "meeting.eml")):
        (folder / name).write_bytes(fixtures[family][name]())
    (folder / "noise.pdf").write_bytes(_noise_pdf(3, 900))
    return folder


def _cli_items(dump: Path, out: Path, *options: str) -> list[tuple[str, str]]:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "leaktriage", "-q", "scan", str(dump), "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stderr) < 2000, done.stderr[-3000:]  # no tracebacks, no document bytes
    lines = (out / "files.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted((record["path"], record["status"]) for record in map(json.loads, lines))


def test_the_api_from_stdin_or_dash_c_gives_the_items_of_the_cli(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    dump = _small_dump(tmp_path / "dump")
    expected = _cli_items(dump, tmp_path / "out", "--no-rules")
    assert len(expected) > 4  # the mail's attachment is an item of its own
    script = (
        "import json, sys, leaktriage\n"
        f"records = leaktriage.scan({str(dump)!r}, use_rules=False)\n"
        "print(json.dumps(sorted((r.path, r.status.value) for r in records)))\n"
    )
    for command, stdin in (([sys.executable, "-"], script), ([sys.executable, "-c", script], "")):
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=180, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert [tuple(item) for item in json.loads(done.stdout)] == expected, command[1]


def test_the_cli_at_32_mib_accounts_for_every_item(tmp_path: Path) -> None:
    dump = _small_dump(tmp_path / "dump")
    items = _cli_items(dump, tmp_path / "out", "--no-rules", "--memory-mb", "32")
    paths = [path for path, _status in items]
    assert len(paths) == len(set(paths))
    assert {path for path in paths if "!" not in path} == {f"dump/{p.name}" for p in dump.iterdir()}
