"""Extraction in worker processes: a wall-time and memory limit per item, a crash costs one item.

Parsers are C libraries (MuPDF, libmagic, zlib) fed attacker-made bytes. Each item is parsed
in a worker process with an address-space limit (``resource.setrlimit``); the parent watches
the wall time. A worker that overruns its time is killed; one that dies (segfault, abort,
out-of-memory kill) is replaced. The item it was working on gets status ``error`` with the
reason ``timeout``, ``crashed`` or ``memory``, and the scan goes on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from leaktriage.extractors import Extraction, Source
from leaktriage.model import Issue, Status
from leaktriage.sandbox import forbid_network

log = logging.getLogger(__name__)

Outcome = tuple[Extraction, str | None, Status]
"""What extracting one item gives: facts, the extractor's label, the status."""

ExtractFn = Callable[[Source], Outcome]


def _context() -> Any:
    # forkserver: workers start from a clean, single-threaded server process (forking the
    # scanning process itself could copy a held lock from the progress-bar thread).
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker_main(conn: Connection, memory_bytes: int, extract: ExtractFn) -> None:
    """Loop of one worker: receive a Source, send back its Outcome, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    forbid_network()
    if memory_bytes > 0:
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ValueError, OSError):
            log.debug("could not set the address-space limit", exc_info=True)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        job_id, source = job
        try:
            outcome = extract(source)
        except MemoryError:
            outcome = (
                Extraction(issues=[Issue("extract", "memory", "out of memory")]),
                None,
                Status.ERROR,
            )
        try:
            conn.send((job_id, outcome))
        except (ValueError, TypeError, MemoryError) as exc:
            # An outcome that cannot be pickled or is too large is reported, not lost.
            failed = Extraction(
                issues=[Issue("extract", "unexpected", f"result could not be returned: {exc}")]
            )
            conn.send((job_id, (failed, outcome[1], Status.ERROR)))


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection
    job_id: int | None = None
    started: float = 0.0


class ExtractorPool:
    """A fixed number of worker processes, each parsing one item at a time."""

    def __init__(
        self, workers: int, timeout_s: float, memory_bytes: int, extract: ExtractFn
    ) -> None:
        self._ctx = _context()
        self._timeout = timeout_s
        self._memory = memory_bytes
        self._extract = extract
        self._workers = [self._spawn() for _ in range(max(1, workers))]
        self._done: deque[tuple[int, Outcome]] = deque()
        self.restarts = 0

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(child, self._memory, self._extract), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    @property
    def busy(self) -> int:
        """Jobs in flight."""
        return sum(1 for w in self._workers if w.job_id is not None)

    def submit(self, job_id: int, source: Source) -> None:
        """Hand ``source`` to an idle worker, first waiting for one if all are busy."""
        while True:
            idle = next((w for w in self._workers if w.job_id is None), None)
            if idle is not None:
                break
            self._collect(block=True)
        try:
            idle.conn.send((job_id, source))
        except (BrokenPipeError, OSError):
            self._replace(idle)
            idle = next(w for w in self._workers if w.job_id is None)
            idle.conn.send((job_id, source))
        idle.job_id = job_id
        idle.started = time.monotonic()

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        """Outcomes that arrived (waiting for at least one when ``block`` and jobs are out)."""
        if not self._done:
            self._collect(block=block and self.busy > 0)
        done = list(self._done)
        self._done.clear()
        return done

    def _collect(self, block: bool) -> None:
        busy = [w for w in self._workers if w.job_id is not None]
        if not busy:
            return
        now = time.monotonic()
        wait_for = 0.0
        if block:
            wait_for = max(0.0, min(w.started + self._timeout for w in busy) - now)
        ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=wait_for)
        for worker in busy:
            if worker.conn in ready:
                self._receive(worker)
        now = time.monotonic()
        for worker in busy:
            if worker.job_id is not None and now - worker.started >= self._timeout:
                self._fail(
                    worker,
                    "timeout",
                    f"parsing took longer than {self._timeout:g} s; worker killed",
                )

    def _receive(self, worker: _Worker) -> None:
        try:
            job_id, outcome = worker.conn.recv()
        except (EOFError, OSError, ConnectionResetError):
            worker.process.join(timeout=5)
            code = worker.process.exitcode
            reason, text = _death_reason(code, self._memory)
            self._fail(worker, reason, text)
            return
        worker.job_id = None
        self._done.append((job_id, outcome))

    def _fail(self, worker: _Worker, reason: str, text: str) -> None:
        job_id = worker.job_id
        assert job_id is not None
        log.debug("worker %s failed on job %s: %s", worker.process.pid, job_id, text)
        outcome: Outcome = (Extraction(issues=[Issue("extract", reason, text)]), None, Status.ERROR)
        self._done.append((job_id, outcome))
        self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self._workers[self._workers.index(worker)] = self._spawn()
        self.restarts += 1

    def close(self) -> None:
        """Stop every worker."""
        for worker in self._workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.conn.close()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _death_reason(exitcode: int | None, memory_bytes: int) -> tuple[str, str]:
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        if number == signal.SIGKILL:
            return "memory", f"worker killed by {name} (likely out of memory)"
        return "crashed", f"parser crashed the worker ({name})"
    if exitcode not in (None, 0):
        return "crashed", f"worker exited with status {exitcode}"
    limit = f" (limit {memory_bytes // (1024 * 1024)} MiB)" if memory_bytes else ""
    return "crashed", f"worker ended without a result{limit}"


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
