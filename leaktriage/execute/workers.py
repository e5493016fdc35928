"""Extraction in worker processes: a wall-time and memory limit per item, a crash costs one item.

Parsers are C libraries (MuPDF, libmagic, zlib) fed attacker-made bytes. Each item is parsed
in a worker process with an address-space limit (``resource.setrlimit``) and the network
refused (:func:`~leaktriage.execute.sandbox.forbid_network`); the parent watches the wall time. A
worker that overruns its time is killed; one that dies (segfault, abort, out-of-memory kill,
a SIGKILL from outside) is replaced. The item it was parsing gets status ``error`` with the
reason ``timeout``, ``crashed`` or ``memory``, an issue text naming the item and the signal,
and the scan goes on; the items queued behind it are sent again, to any worker.

Design: a supervisor of our own, one event loop with no re-entrant path
-----------------------------------------------------------------------

Every public call (:meth:`ExtractorPool.submit`, :meth:`~ExtractorPool.finished`,
:meth:`~ExtractorPool.ready`) runs turns of one loop, :meth:`ExtractorPool._turn`, whose
steps call nothing that leads back into a step:

1. *dispatch*: hand jobs from the head of the backlog to the least busy worker while it has
   room, starting a replacement in an empty slot. A failed send only marks the worker
   ``broken``; it reaps nothing.
2. *wait* on every worker's pipe and process sentinel, until the nearest deadline at most.
3. *read* the answers that arrived (a failed read marks the worker ``broken``).
4. *reap*, the one place where a worker is declared dead: a broken or exited worker, or one
   past its deadline (killed first). Its answers still in the pipe are kept; the job it was
   parsing is failed; the jobs behind it go back to the *front* of the backlog in their
   order; its slot is emptied. Reaping spawns nothing and sends nothing.
5. *dispatch* again (the slot gets a fresh worker if there is work for it).

Workers are identified by their slot index (and the slot's current process), never by
equality or ``list.index`` on a record, so there is no stale-object lookup left to fail.

Which job a dead worker "held" is decided from a counter in shared memory: the worker
writes how many jobs it has begun (just before reading each one) and the parent knows how
many it answered. Begun > answered: the first unanswered job was being read or parsed and
is blamed, never run again (it would kill the next worker too). Begun == answered: the worker
died idle (killed from outside between two jobs) and every job it held is sent again. A slot
whose workers die before beginning anything (a start that fails under a tiny memory limit)
fails its first job after ``BARREN_DEATHS`` such deaths in a row, so the scan always moves on.

Why not a library: ``concurrent.futures.ProcessPoolExecutor`` and ``loky`` break the whole
pool (every pending task fails) when one worker dies, which is the event this module exists
to absorb. ``pebble``'s ``ProcessPool`` loses only the killed task, but its workers take
tasks from one shared pipe under a process-shared lock: a worker killed (OOM, SIGKILL) while
holding that lock leaves the pool deadlocked (noxdafox/pebble#163, #97), and its futures and
manager threads would still need the bounded backlog, the per-worker warm start and the
pipe-size rules below on top. Here each worker has a pipe of its own that nothing else
reads or writes, so one death can only ever affect that pipe.

Workers are forked from a fork server that pre-imported the parsers
(``leaktriage.execute._preload``), and they never import the caller's ``__main__`` (see
:func:`serve_workers_without_main`): the API works the same from ``python -``,
``python -c``, a notebook or the CLI.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

from leaktriage.execute.sandbox import forbid_network
from leaktriage.extractors import Extraction, Source
from leaktriage.model import Issue, Status

log = logging.getLogger(__name__)

Outcome = tuple[Extraction, str | None, Status, str]
"""What parsing one item gives: facts, the extractor's label, the status, the sniffed type
("" when unknown, as for an item whose worker died)."""

ExtractFn = Callable[[Source], Outcome]

WORKER_NAME = "leaktriage-worker"
"""Prefix of the worker processes' names (the fork server recognises them by it)."""

_EXIT_MEMORY = 86
"""Exit status of a worker that ran out of memory outside the extractor (reading a job,
returning a result, or starting under a limit too small to start in)."""
_EXIT_FAILED = 87
"""Exit status of a worker whose own loop failed (not the extractor: that is an item error)."""


def _context() -> Any:
    # forkserver: workers start from a clean, single-threaded server process (forking the
    # scanning process itself could copy a held lock from the progress-bar thread).
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports the extractors once; workers forked from it start warm.
    context.set_forkserver_preload(["leaktriage.execute._preload"])
    return context


def serve_workers_without_main() -> None:
    """In the fork server: start leaktriage workers without re-running the caller's main.

    multiprocessing prepares every child by importing the parent's ``__main__`` again (by
    its file, or by its module name). A worker never needs it (its target and extractor are
    importable functions of this package), and it breaks the API when the caller is a script
    read from standard input: ``python -`` names its main ``<stdin>``, a file that does not
    exist, and every worker died on start (each item an error, nothing inside archives
    opened). In a notebook it imports the kernel in every worker. Called by
    ``leaktriage.execute._preload`` in the fork server only; children not named ``WORKER_NAME...``
    are prepared as before. Where ``multiprocessing.spawn.prepare`` is missing, nothing
    changes."""
    from multiprocessing import spawn

    prepare = getattr(spawn, "prepare", None)
    if prepare is None or getattr(prepare, "leaktriage_workers", False):
        return

    def prepare_child(data: Mapping[str, Any]) -> None:
        if str(data.get("name", "")).startswith(WORKER_NAME):
            data = {k: v for k, v in data.items() if not k.startswith("init_main_from")}
        prepare(data)

    prepare_child.leaktriage_workers = True  # type: ignore[attr-defined]
    spawn.prepare = prepare_child


def _worker_main(
    conn: Connection, memory_bytes: int, extract: ExtractFn, begun: Any, index: int
) -> None:
    """One worker: receive a Source, send back its Outcome, until the pipe closes.

    ``begun[index]`` counts the jobs this worker started to read; the parent compares it with
    the answers it got to know whether the worker died holding a job. Nothing escapes as a
    traceback (a scan at a low memory limit would print one per worker): a failure of the
    loop itself ends the worker with a status the parent turns into the item's reason."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
        forbid_network()
        if memory_bytes > 0:
            import resource

            try:
                resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
            except (ValueError, OSError):
                log.debug("could not set the address-space limit", exc_info=True)
        _serve(conn, extract, begun, index, memory_bytes)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except BaseException:  # noqa: BLE001 - reported by the exit status, see above
        os._exit(_EXIT_FAILED)


def _serve(conn: Connection, extract: ExtractFn, begun: Any, index: int, memory: int) -> None:
    import select

    incoming = select.poll()
    incoming.register(conn.fileno(), select.POLLIN)
    count = 0
    while True:
        incoming.poll()  # a job (or the end of the pipe) is there to read
        count += 1
        begun[index] = count  # from here on, a death is this job's
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        job_id, source = job
        outcome = _extract_one(extract, source, memory)
        try:
            payload = ForkingPickler.dumps((job_id, outcome))
        except Exception as exc:  # noqa: BLE001 - MemoryError included: reported, not lost
            text = f"{_shown(source)}: the result could not be returned: {type(exc).__name__}"
            failed = Extraction(issues=[Issue("extract", "unexpected", text)])
            payload = ForkingPickler.dumps((job_id, (failed, outcome[1], Status.ERROR, "")))
        conn.send_bytes(payload)


def _extract_one(extract: ExtractFn, source: Source, memory: int) -> Outcome:
    try:
        return extract(source)
    except MemoryError:
        text = f"{_shown(source)}: out of memory{_limit(memory)}"
        return Extraction(issues=[Issue("extract", "memory", text)]), None, Status.ERROR, ""
    except Exception as exc:
        # Whatever escapes the extractor's own boundary costs this item, not the worker.
        log.debug("%s failed in the worker", _shown(source), exc_info=True)
        text = f"{type(exc).__name__}: {exc}"[:2000]
        return Extraction(issues=[Issue("extract", "unexpected", text)]), None, Status.ERROR, ""


@dataclass(slots=True, repr=False)
class _Job:
    job_id: int
    source: Source
    size: int
    """Bytes of the source held in memory (0 for a file read by the worker)."""

    def __repr__(self) -> str:  # never the bytes: a leaked document must not reach a log
        return f"_Job(id={self.job_id}, item={_shown(self.source)}, {self.size} bytes)"


@dataclass(slots=True, repr=False)
class _Worker:
    index: int
    """The slot this worker fills (its identity, with ``pid``)."""
    pid: int
    process: BaseProcess
    conn: Connection
    jobs: deque[_Job] = field(default_factory=deque)
    """Jobs sent down the pipe and not answered yet, in order; the first one is in progress."""
    queued_bytes: int = 0
    """Bytes of ``jobs``."""
    answered: int = 0
    """Answers received from this worker."""
    started: float = 0.0
    """When the first job in ``jobs`` began (its deadline counts from here)."""
    broken: bool = False
    """A send or a read failed, or the process ended: to be reaped."""

    def __repr__(self) -> str:
        return (
            f"_Worker(slot={self.index}, pid={self.pid}, jobs={len(self.jobs)}, "
            f"answered={self.answered}, broken={self.broken})"
        )


class ExtractorPool:
    """A fixed number of worker processes, each parsing one item at a time.

    Each worker holds up to ``QUEUE_DEPTH`` jobs, so it starts the next item as soon as it
    finishes one instead of waiting for the parent to come back from walking. Only the job
    at the head of a worker's queue is running; when a worker dies, the jobs queued behind
    the culprit go back to the front of the backlog, untouched. See the module docstring.
    """

    QUEUE_DEPTH = 6
    PIPE_BYTES = 48 * 1024
    """Bytes of jobs left unread in a worker's pipe at most (below the kernel's buffer): a
    job that does not fit waits for the worker to be idle, so a send never blocks on a worker
    that is itself blocked sending a large result back."""
    INFLIGHT_BYTES = 96 * 1024 * 1024
    """Bytes of queued jobs held for the workers; past it ``submit`` waits (memory bound)."""
    STARTUP_JOBS = 1024
    STARTUP_BYTES = 32 * 1024 * 1024
    """Jobs (and their bytes) held at most while the workers start: the fork server's first
    start imports every parser (about half a second), and the walk goes on meanwhile instead
    of waiting for it. Once that backlog has been handed over, ``submit`` waits as soon as
    every worker's queue is full."""
    BARREN_DEATHS = 3
    """Deaths in a row of a slot's workers before they began any job, after which the job
    they were given is failed (a worker that cannot even start must not loop forever)."""

    EXIT_GRACE_S = 2.0
    """How long a worker whose pipe broke may take to end on its own before it is killed."""

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
        self._slots: list[_Worker | None] = []  # started on the first job: a re-scan may need none
        self._begun: Any = None
        self._barren = [0] * self._size
        self._starting: threading.Thread | None = None
        self._spawned: list[_Worker | BaseException] = []
        self._backlog: deque[_Job] = deque()
        """Jobs given to no worker, oldest first (jobs of a dead worker go back in front)."""
        self._backlog_bytes = 0
        self._backlog_limit = self.STARTUP_JOBS
        self._inflight_bytes = 0
        self._done: deque[tuple[int, Outcome]] = deque()
        self.restarts = 0

    # -- workers ------------------------------------------------------------------------------

    def _spawn(self, index: int) -> _Worker:
        self._begun[index] = 0
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self._memory, self._extract, self._begun, index),
            name=f"{WORKER_NAME}-{index}",
            daemon=True,
        )
        try:
            process.start()
        finally:
            child.close()
        return _Worker(index, process.pid or 0, process, parent)

    def _start(self) -> None:
        """Start the workers on a thread of their own (a fork-server start waits on imports)."""
        self._begun = self._ctx.RawArray("q", self._size)
        spawned = self._spawned

        def run() -> None:
            try:
                for index in range(self._size):
                    spawned.append(self._spawn(index))
            except Exception as exc:  # noqa: BLE001 - re-raised in the scanning thread by _ready
                spawned.append(exc)

        self._starting = threading.Thread(target=run, name="leaktriage-workers-start", daemon=True)
        self._starting.start()

    def _ready(self, wait: bool) -> bool:
        """Whether the workers run (waiting for their start when ``wait``)."""
        starting = self._starting
        if starting is None:
            return bool(self._slots)
        if not wait and starting.is_alive():
            return False
        starting.join()
        self._starting = None
        workers = [w for w in self._spawned if isinstance(w, _Worker)]
        failed = [e for e in self._spawned if not isinstance(e, _Worker)]
        self._spawned.clear()
        self._slots = [*workers, *[None] * (self._size - len(workers))]
        if workers:
            ExtractorPool._open += 1
        if failed:
            raise failed[0]
        if len(workers) < self._size:
            raise RuntimeError("the extraction workers did not start")
        return True

    # -- public surface -----------------------------------------------------------------------

    @property
    def busy(self) -> int:
        """Jobs in flight (given to a worker, or waiting for one)."""
        return sum(len(w.jobs) for w in self._slots if w is not None) + len(self._backlog)

    def worker_pids(self) -> list[int]:
        """Process ids of the workers running now (for diagnostics and tests)."""
        return [w.pid for w in self._slots if w is not None]

    def submit(self, job_id: int, source: Source) -> None:
        """Queue ``source`` for the least busy worker, first waiting if every queue is full.

        The first job starts the workers in the background; until they run, and until the
        jobs held meanwhile are handed over, jobs wait in the pool's backlog instead."""
        if not self._slots and self._starting is None:
            self._start()
        job = _Job(job_id, source, _held(source))
        self._backlog.append(job)
        self._backlog_bytes += job.size
        if self._ready(wait=False):
            self._dispatch()
        while len(self._backlog) > self._backlog_limit or (
            self._backlog_limit and self._backlog_bytes > self.STARTUP_BYTES
        ):
            self._turn(block=True)

    def ready(self, wait: bool = True) -> bool:
        """Whether the workers run (waiting for their start when ``wait``); the jobs held
        while they started are then handed to them."""
        if not self._ready(wait):
            return False
        self._dispatch()
        return True

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        """Outcomes that arrived (waiting for at least one when ``block`` and jobs are out)."""
        if not self._done:
            self._turn(block=block and self.busy > 0)
            while block and not self._done and self.busy:
                self._turn(block=True)
        done = list(self._done)
        self._done.clear()
        return done

    # -- the loop -----------------------------------------------------------------------------

    def _turn(self, block: bool) -> None:
        """One turn of the loop: dispatch, wait, read, reap, dispatch (module docstring)."""
        if not self._ready(wait=block):
            return
        self._dispatch()
        workers = [w for w in self._slots if w is not None]
        if not workers:
            return
        timeout = 0.0
        if block and not any(w.broken for w in workers):
            deadlines = [w.started + self._timeout for w in workers if w.jobs]
            if not deadlines:
                return  # nothing in flight: nothing to wait for
            timeout = max(0.0, min(deadlines) - time.monotonic())
        # A worker's death shows as the end of its pipe; its process sentinel is watched too
        # when the turn waits (a pipe held open by anything else would otherwise hide it).
        waitables: list[Any] = [w.conn for w in workers if not w.broken]
        if block:
            waitables += [w.process.sentinel for w in workers if not w.broken]
        ready = set(multiprocessing.connection.wait(waitables, timeout=timeout))
        for worker in workers:
            if worker.conn in ready:
                self._read(worker, readable=True)
            if worker.process.sentinel in ready:
                worker.broken = True  # the process ended: its last answers are read when reaped
        now = time.monotonic()
        for worker in workers:
            if not worker.broken and worker.jobs and now - worker.started >= self._timeout:
                self._read(worker)  # its answer may have come just now
            if worker.broken:
                self._reap(worker, timed_out=None)
            elif worker.jobs and now - worker.started >= self._timeout:
                self._reap(worker, timed_out=worker.jobs[0].job_id)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand backlog jobs, oldest first, to the least busy workers while their queues have
        room (and the bytes held stay under ``INFLIGHT_BYTES``). An empty slot (its worker was
        reaped) gets a fresh worker here, when there is a job for it."""
        backlog = self._backlog
        while backlog and self._slots:
            worker = self._least_busy()
            if worker is None:
                break
            job = backlog[0]
            if worker.jobs and not self._fits(worker, job):
                break
            backlog.popleft()
            self._backlog_bytes -= job.size
            self._send(worker, job)
        if not backlog and self._slots:
            self._backlog_limit = 0  # start-up is over: from now on, the walk waits its turn

    def _least_busy(self) -> _Worker | None:
        best: _Worker | None = None
        for index, worker in enumerate(self._slots):
            if worker is None:
                fresh = self._spawn(index)
                self._slots[index] = fresh
                self.restarts += 1
                return fresh
            if not worker.broken and (best is None or len(worker.jobs) < len(best.jobs)):
                best = worker
        return best

    def _fits(self, worker: _Worker, job: _Job) -> bool:
        """Whether ``job`` may queue behind ``worker``'s current one: within the queue depth,
        the bytes in flight, and what the pipe holds unread without blocking the send."""
        if len(worker.jobs) >= self.QUEUE_DEPTH:
            return False
        if self._inflight_bytes + job.size > self.INFLIGHT_BYTES:
            return False
        waiting = worker.queued_bytes - worker.jobs[0].size + 1024 * (len(worker.jobs) - 1)
        return waiting + job.size + 1024 <= self.PIPE_BYTES

    def _send(self, worker: _Worker, job: _Job) -> None:
        """Send ``job`` to ``worker``; a failure marks the worker for reaping, nothing more."""
        try:
            payload = ForkingPickler.dumps((job.job_id, job.source))
        except Exception as exc:  # noqa: BLE001 - this job cannot travel; the pool goes on
            text = f"{_shown(job.source)}: could not be sent to a worker: {type(exc).__name__}"
            self._done.append((job.job_id, _failure("unexpected", text)))
            return
        if not worker.jobs:
            worker.started = time.monotonic()
        worker.jobs.append(job)
        worker.queued_bytes += job.size
        self._inflight_bytes += job.size
        try:
            worker.conn.send_bytes(payload)
        except (OSError, ValueError):
            worker.broken = True

    def _read(self, worker: _Worker, readable: bool = False) -> None:
        """Take the answers waiting in ``worker``'s pipe (``readable``: the wait said there is
        something to read); a failed read marks the worker broken."""
        conn = worker.conn
        try:
            readable = readable or conn.poll()
            while readable and not worker.broken:
                job_id, outcome = conn.recv()
                self._answered(worker, job_id, outcome)
                readable = conn.poll()
        except (EOFError, OSError, ValueError):
            worker.broken = True

    def _answered(self, worker: _Worker, job_id: int, outcome: Outcome) -> None:
        if not worker.jobs or worker.jobs[0].job_id != job_id:
            log.warning("worker %s answered job %s out of turn", worker.pid, job_id)
            worker.broken = True
            return
        job = worker.jobs.popleft()
        worker.queued_bytes -= job.size
        self._inflight_bytes -= job.size
        worker.answered += 1
        worker.started = time.monotonic()
        self._barren[worker.index] = 0
        self._done.append((job_id, outcome))

    def _reap(self, worker: _Worker, timed_out: int | None) -> None:
        """The one place where a worker is declared dead (see the module docstring).

        ``timed_out`` is the job past its deadline when the parent kills the worker for it."""
        process = worker.process
        if timed_out is None:
            # Its pipe ended or its process did: it is exiting. Its own status says why
            # (a SIGKILL sent now could hide a segfault or an exit status).
            process.join(timeout=self.EXIT_GRACE_S)
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
        exitcode = process.exitcode
        worker.broken = False
        self._read(worker)  # answers it sent before it died are good answers
        worker.conn.close()
        with contextlib.suppress(ValueError):
            process.close()
        self._slots[worker.index] = None
        jobs = worker.jobs
        blamed: _Job | None = None
        reason = text = ""
        if jobs and timed_out is not None:
            if jobs[0].job_id == timed_out:
                blamed = jobs.popleft()
                reason = "timeout"
                text = f"parsing took longer than {self._timeout:g} s; worker killed (SIGKILL)"
            # else: it answered that job as it was killed; the ones behind it are innocent
        elif jobs and self._begun[worker.index] > worker.answered:
            blamed = jobs.popleft()  # it was reading or parsing this one
            reason, text = _death_reason(exitcode, self._memory)
        elif jobs and worker.answered == 0:
            self._barren[worker.index] += 1
            if self._barren[worker.index] >= self.BARREN_DEATHS:
                self._barren[worker.index] = 0
                blamed = jobs.popleft()
                reason, text = _death_reason(exitcode, self._memory)
                text = f"{text}; workers died {self.BARREN_DEATHS} times before starting it"
        if blamed is not None:
            log.debug("worker %s died on %r: %s (%s)", worker.pid, blamed, reason, text)
            message = f"{_shown(blamed.source)}: {text}"
            self._done.append((blamed.job_id, _failure(reason, message)))
            self._inflight_bytes -= blamed.size
        for job in jobs:
            self._inflight_bytes -= job.size
            self._backlog_bytes += job.size
        self._backlog.extendleft(reversed(jobs))  # never started: first in line again
        jobs.clear()

    # -- end ----------------------------------------------------------------------------------

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
        self._inflight_bytes = 0
        workers = [w for w in self._slots if w is not None]
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in workers:
            worker.process.join(timeout=2)
            worker.conn.close()
            with contextlib.suppress(ValueError):
                worker.process.close()
        if self._slots:
            self._slots = []
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


def _shown(source: Source) -> str:
    """The item as an error text names it: its name, quoted and escaped (it comes from the
    dump: control characters must not reach a terminal), never its content."""
    name = repr(source.name)
    return name if len(name) <= 200 else f"{name[:197]}..."


def _limit(memory_bytes: int) -> str:
    return f" (limit {memory_bytes // (1024 * 1024)} MiB)" if memory_bytes else ""


def _failure(reason: str, text: str) -> Outcome:
    return Extraction(issues=[Issue("extract", reason, text)]), None, Status.ERROR, ""


def _death_reason(exitcode: int | None, memory_bytes: int) -> tuple[str, str]:
    """(reason, text) for a worker that ended with ``exitcode`` while holding an item."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        if number == signal.SIGKILL:
            return "memory", f"worker killed by {name} (likely out of memory{_limit(memory_bytes)})"
        return "crashed", f"parser crashed the worker ({name})"
    if exitcode == _EXIT_MEMORY:
        return "memory", f"worker out of memory{_limit(memory_bytes)}"
    if exitcode is None:
        return "crashed", "worker did not exit when killed"
    return "crashed", f"worker ended without a result (exit status {exitcode})"


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
