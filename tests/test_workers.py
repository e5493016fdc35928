"""Worker isolation: a hang, a crash or a memory blow-up costs one item, never the scan."""

from __future__ import annotations

import time
from pathlib import Path

from leaktriage.extractors import Source
from leaktriage.workers import ExtractorPool
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


def test_a_source_never_shows_its_bytes() -> None:
    source = Source(name="memo.pdf", mime="application/pdf", size=9, data=b"%PDF-SECRET")
    assert "SECRET" not in repr(source) and "memo.pdf" in repr(source)
