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
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from leaktriage.extractors import Extraction, Source
from leaktriage.model import Issue, Status
from leaktriage.sandbox import forbid_network

log = logging.getLogger(__name__)

Outcome = tuple[Extraction, str | None, Status, str]
"""What parsing one item gives: facts, the extractor's label, the status, the sniffed type
("" when unknown, as for an item whose worker died)."""

ExtractFn = Callable[[Source], Outcome]


def _context() -> Any:
    # forkserver: workers start from a clean, single-threaded server process (forking the
    # scanning process itself could copy a held lock from the progress-bar thread).
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports the extractors once; workers forked from it start warm.
    context.set_forkserver_preload(["leaktriage._preload"])
    return context


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
                "",
            )
        except Exception as exc:
            # Whatever escapes the extractor's own boundary costs this item, not the worker.
            log.debug("job %s failed in the worker", job_id, exc_info=True)
            text = f"{type(exc).__name__}: {exc}"[:2000]
            outcome = (
                Extraction(issues=[Issue("extract", "unexpected", text)]),
                None,
                Status.ERROR,
                "",
            )
        try:
            conn.send((job_id, outcome))
        except (ValueError, TypeError, MemoryError) as exc:
            # An outcome that cannot be pickled or is too large is reported, not lost.
            failed = Extraction(
                issues=[Issue("extract", "unexpected", f"result could not be returned: {exc}")]
            )
            conn.send((job_id, (failed, outcome[1], Status.ERROR, outcome[3])))


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection
    queue: deque[tuple[int, Source]] = field(default_factory=deque)
    """Jobs given to this worker and not answered yet; the first one is being parsed."""
    sent: int = 0
    """How many jobs of ``queue`` (from its head) went down the pipe already."""
    started: float = 0.0
    """When the first job in ``queue`` began (its deadline counts from here)."""


class ExtractorPool:
    """A fixed number of worker processes, each parsing one item at a time.

    Each worker holds up to ``QUEUE_DEPTH`` jobs, so it starts the next item as soon as it
    finishes one instead of waiting for the parent to come back from walking. Only the job
    at the head of a worker's queue is running; when a worker is killed, the jobs queued
    behind the culprit go to its replacement untouched.
    """

    QUEUE_DEPTH = 6
    PIPE_BYTES = 48 * 1024
    """Bytes of jobs left unread in a worker's pipe at most (below the kernel's buffer)."""
    INFLIGHT_BYTES = 96 * 1024 * 1024
    """Bytes of queued jobs held for the workers; past it ``submit`` waits (memory bound)."""
    STARTUP_JOBS = 1024
    STARTUP_BYTES = 32 * 1024 * 1024
    """Jobs (and their bytes) held at most while the workers start: the fork server's first
    start imports every parser (about half a second), and the walk goes on meanwhile instead
    of waiting for it. Once that backlog has been handed over, ``submit`` waits as soon as
    every worker's queue is full."""

    _open = 0
    """Pools of this process with workers running (the fork server stops when none is)."""

    def __init__(
        self, workers: int, timeout_s: float, memory_bytes: int, extract: ExtractFn
    ) -> None:
        self._ctx = _context()
        self._timeout = timeout_s
        self._memory = memory_bytes
        self._extract = extract
        self._size = max(1, workers)
        self._workers: list[_Worker] = []  # started on the first job: a re-scan may need none
        self._starting: threading.Thread | None = None
        self._spawned: list[_Worker | BaseException] = []
        self._backlog: deque[tuple[int, Source]] = deque()
        """Jobs given to no worker yet, in the order they were submitted."""
        self._backlog_bytes = 0
        self._backlog_limit = self.STARTUP_JOBS
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
        """Jobs in flight (given to a worker, or waiting for one)."""
        return sum(len(w.queue) for w in self._workers) + len(self._backlog)

    def submit(self, job_id: int, source: Source) -> None:
        """Queue ``source`` for the least busy worker, first waiting if every queue is full.

        The first job starts the workers in the background; until they run, and until the
        jobs held meanwhile are handed over, jobs wait in the pool's backlog instead."""
        if not self._workers and self._starting is None:
            self._start()
        self._backlog.append((job_id, source))
        self._backlog_bytes += _held(source)
        if self._ready(wait=False):
            self._feed()
        while len(self._backlog) > self._backlog_limit or (
            self._backlog_limit and self._backlog_bytes > self.STARTUP_BYTES
        ):
            self._collect(block=True)

    def _start(self) -> None:
        """Start the workers on a thread of their own (a fork-server start waits on imports)."""
        spawned = self._spawned

        def run() -> None:
            try:
                for _ in range(self._size):
                    spawned.append(self._spawn())
            except Exception as exc:  # noqa: BLE001 - re-raised in the scanning thread by _ready
                spawned.append(exc)

        self._starting = threading.Thread(target=run, name="leaktriage-workers-start", daemon=True)
        self._starting.start()

    def ready(self, wait: bool = True) -> bool:
        """Whether the workers run (waiting for their start when ``wait``); the jobs held
        while they started are then handed to them."""
        if not self._ready(wait):
            return False
        self._feed()
        return True

    def _ready(self, wait: bool) -> bool:
        """Whether the workers run (waiting for their start when ``wait``)."""
        starting = self._starting
        if starting is None:
            return bool(self._workers)
        if not wait and starting.is_alive():
            return False
        starting.join()
        self._starting = None
        workers = [w for w in self._spawned if isinstance(w, _Worker)]
        failed = [e for e in self._spawned if not isinstance(e, _Worker)]
        self._spawned.clear()
        self._workers = workers
        if workers:
            ExtractorPool._open += 1
        if failed:
            raise failed[0]
        if len(workers) < self._size:
            raise RuntimeError("the extraction workers did not start")
        return True

    def _feed(self) -> None:
        """Hand backlog jobs, oldest first, to the least busy workers while their queues have
        room (and the bytes held stay under ``INFLIGHT_BYTES``)."""
        backlog = self._backlog
        while backlog and self._workers:
            worker = min(self._workers, key=lambda w: len(w.queue))
            source = backlog[0][1]
            if len(worker.queue) >= self.QUEUE_DEPTH or (
                worker.queue
                and sum(_held(s) for w in self._workers for _, s in w.queue) + _held(source)
                > self.INFLIGHT_BYTES
            ):
                return
            job_id, source = backlog.popleft()
            self._backlog_bytes -= _held(source)
            self._send(worker, job_id, source)
        if not backlog:
            self._backlog_limit = 0  # start-up is over: from now on, the walk waits its turn

    def _send(self, worker: _Worker, job_id: int, source: Source) -> None:
        if not worker.queue:
            worker.started = time.monotonic()
        worker.queue.append((job_id, source))
        self._pump(worker)

    def _pump(self, worker: _Worker) -> bool:
        """Send queued jobs down the pipe: the head always (the worker is then waiting for
        it), the ones behind it only while they fit the pipe's buffer unread. A large job
        sent to a busy worker would block the scan until the worker reads it, while the
        worker, to finish its current job, may be blocked sending a large result back."""
        while worker.sent < len(worker.queue):
            job_id, source = worker.queue[worker.sent]
            if worker.sent:
                waiting = sum(_held(s) + 1024 for _, s in list(worker.queue)[1 : worker.sent])
                if waiting + _held(source) + 1024 > self.PIPE_BYTES:
                    return True
            worker.sent += 1
            try:
                worker.conn.send((job_id, source))
            except (BrokenPipeError, OSError):
                self._salvage(worker)
                return False
        return True

    def _salvage(self, worker: _Worker) -> None:
        """A worker found dead when sending it a job: keep the answers it sent before dying,
        blame the job it died on (never run it again: it would kill the next worker too),
        and hand the jobs behind it, the unsent one included, to a replacement."""
        worker.sent -= 1  # the job whose send failed never reached it
        while worker.sent > 0:
            try:
                job_id, outcome = worker.conn.recv()
            except (EOFError, OSError, ConnectionResetError):
                break
            worker.queue.popleft()
            worker.sent -= 1
            self._done.append((job_id, outcome))
        if worker.sent > 0:  # it died on the job at the head, which it had been given
            worker.process.join(timeout=5)
            reason, text = _death_reason(worker.process.exitcode, self._memory)
            self._fail(worker, reason, text)
        else:  # it died idle: every queued job goes to the replacement as it was
            self._replace(worker)

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        """Outcomes that arrived (waiting for at least one when ``block`` and jobs are out)."""
        if not self._done:
            self._collect(block=block and self.busy > 0)
        done = list(self._done)
        self._done.clear()
        return done

    def _collect(self, block: bool) -> None:
        if not self._ready(wait=block):
            return
        self._feed()
        busy = [w for w in self._workers if w.queue]
        if not busy:
            return
        wait_for = 0.0
        if block:
            now = time.monotonic()
            wait_for = max(0.0, min(w.started + self._timeout for w in busy) - now)
        ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=wait_for)
        for worker in busy:
            while worker.conn in ready and worker.queue and self._receive(worker):
                if not worker.conn.poll():
                    break
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.queue and now - worker.started >= self._timeout:
                self._fail(
                    worker,
                    "timeout",
                    f"parsing took longer than {self._timeout:g} s; worker killed",
                )

    def _receive(self, worker: _Worker) -> bool:
        """Take one answer from ``worker``; False when it died instead (and was replaced)."""
        try:
            job_id, outcome = worker.conn.recv()
        except (EOFError, OSError, ConnectionResetError):
            worker.process.join(timeout=5)
            reason, text = _death_reason(worker.process.exitcode, self._memory)
            self._fail(worker, reason, text)
            return False
        worker.queue.popleft()
        worker.sent -= 1
        worker.started = time.monotonic()
        self._done.append((job_id, outcome))
        self._feed()
        return self._pump(worker)

    def _fail(self, worker: _Worker, reason: str, text: str) -> None:
        job_id, _source = worker.queue.popleft()
        log.debug("worker %s failed on job %s: %s", worker.process.pid, job_id, text)
        outcome: Outcome = (
            Extraction(issues=[Issue("extract", reason, text)]),
            None,
            Status.ERROR,
            "",
        )
        self._done.append((job_id, outcome))
        self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        self.restarts += 1
        for job_id, source in worker.queue:  # never started: hand them over as they were
            self._send(fresh, job_id, source)

    def close(self) -> None:
        """Stop every worker (the fork server stays, warm, for the next pool).

        A worker holds nothing to save once its answers are in (results go back through the
        pipe; nothing is written), so an idle one is killed rather than left to tear its
        interpreter down: an orderly exit costs about 0.1 s per worker, waited for at the end
        of every scan and every ``triage_file``. One still parsing is killed all the same."""
        if self._starting is not None:
            with contextlib.suppress(Exception):
                self._ready(wait=True)
        self._backlog.clear()
        self._backlog_bytes = 0
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in self._workers:
            worker.process.join(timeout=2)
            worker.conn.close()
        if self._workers:
            self._workers = []
            ExtractorPool._open -= 1

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def stop_forkserver() -> None:
    """Stop the fork server unless a pool of this process still has workers.

    It holds the pre-loaded parsers (over 100 MiB) for nothing once a scan's extraction is
    over, while the corpus stage and the report run; a later pool starts a new one (half a
    second of imports), which is why only a whole scan calls this, not ``triage_file``.
    ``_stop`` is CPython's own way of doing so (used by its tests); where it is missing the
    server simply stays until the process exits."""
    if ExtractorPool._open:
        return
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if callable(stop):
        # Killed first: asked to stop, the server would finalise its interpreter and every
        # pre-loaded parser (about 0.3 s, waited for by ``_stop``). It writes nothing.
        pid = getattr(server, "_forkserver_pid", None)
        if isinstance(pid, int):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ChildProcessError):
            stop()


def _held(source: Source) -> int:
    return len(source.data) if source.data is not None else 0


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
