"""Extraction on a Dask distributed cluster (``--executor dask --scheduler ADDRESS``).

The scanning process still walks, hashes, runs the rules and writes the store; only parsing
goes to the cluster, as tasks that receive a :class:`~leaktriage.extractors.Source` and return
the same Outcome a local worker returns, so a Dask scan writes the same records as a local
one. Files on disk travel as their path (every Dask worker must see the dump under the same
path); archive members and attachments travel as bytes.

Safety: the scanning process refuses the network (see :mod:`leaktriage.execute.sandbox`) except the
one scheduler address. On a Dask worker, each task hands the item to a local leaktriage
worker process that refuses network and process starts and has the usual time and memory
limits, exactly as on one machine. That needs Dask worker processes that may start child
processes (``distributed.worker.daemon: False``, or ``DASK_DISTRIBUTED__WORKER__DAEMON=False``
when starting ``dask worker``); on daemonic workers the task parses in the worker's own thread
with network refused for that thread only, without the time and memory limits.
"""

from __future__ import annotations

import logging
import multiprocessing
import platform
import threading
from typing import Any

from leaktriage.config import scheduler_endpoint
from leaktriage.errors import InputError, SchedulerError
from leaktriage.execute.workers import ExtractorPool, Outcome
from leaktriage.extractors import Extraction, Source
from leaktriage.model import Issue, Status

log = logging.getLogger(__name__)

_LOCAL = threading.local()


def _isolated_pool(timeout_s: float, memory_bytes: int) -> ExtractorPool:
    pool: ExtractorPool | None = getattr(_LOCAL, "pool", None)
    if pool is None:
        from leaktriage.pipeline.extract import extract_item

        pool = ExtractorPool(1, timeout_s, memory_bytes, extract_item)
        _LOCAL.pool = pool
    return pool


def extract_on_worker(sources: list[Source], timeout_s: float, memory_bytes: int) -> list[Outcome]:
    """The Dask task: parse a batch of items on a cluster worker, isolated as on one
    machine; outcomes in the order of ``sources``."""
    from leaktriage.execute.sandbox import network_refused_in_this_thread
    from leaktriage.pipeline.extract import extract_item

    if multiprocessing.current_process().daemon:
        with network_refused_in_this_thread():
            return [extract_item(source) for source in sources]
    pool = _isolated_pool(timeout_s, memory_bytes)
    for index, source in enumerate(sources):
        pool.submit(index, source)
    found: dict[int, Outcome] = {}
    while len(found) < len(sources):
        found.update(pool.finished(block=True))
    return [found[index] for index in range(len(sources))]


class DaskPool:
    """The :class:`~leaktriage.execute.workers.ExtractorPool` interface over a Dask cluster.

    Items go in batches of up to 16 (8 MiB); at most ``2 x`` the cluster's worker threads
    batches are out at once, so the scanning process holds a bounded number of items
    whatever the size of the dump.
    """

    remote = True
    """Sources must be readable away from this machine (no private temp files)."""
    BATCH_ITEMS = 16
    BATCH_BYTES = 8 * 1024 * 1024

    def __init__(self, address: str, timeout_s: float, memory_bytes: int) -> None:
        try:
            from distributed import Client as _Client
            from distributed import as_completed as _as_completed
        except ImportError as exc:
            raise InputError(
                "--executor dask needs the distributed package: pip install 'leaktriage[dask]'"
            ) from exc
        from leaktriage.execute.sandbox import allow_endpoint

        host, port = scheduler_endpoint(address)
        allow_endpoint(host, port)
        # The client reports platform.uname().processor to the scheduler, which Python finds
        # by running `uname -p`: a process start the sandbox refuses. Cache it empty instead.
        vars(platform.uname()).setdefault("processor", "")
        self._timeout = timeout_s
        self._memory = memory_bytes
        client_type: Any = _Client
        try:
            self.client: Any = client_type(address, set_as_default=False, direct_to_workers=False)
            threads = sum(self.client.nthreads().values()) or 1
        except OSError as exc:  # refused, timed out, no route: distributed says which
            raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        self._capacity = 2 * threads
        self._futures: dict[Any, list[int]] = {}
        self._batch: list[tuple[int, Source]] = []
        self._batch_bytes = 0
        self._done: list[tuple[int, Outcome]] = []
        completed_type: Any = _as_completed
        self._completed: Any = completed_type(loop=self.client.loop)

    @property
    def busy(self) -> int:
        """Jobs in flight (sent, or waiting to fill a batch)."""
        return len(self._batch) + sum(len(jobs) for jobs in self._futures.values())

    def submit(self, job_id: int, source: Source) -> None:
        """Queue one item; a batch goes to the cluster once it holds ``BATCH_ITEMS`` items
        or ``BATCH_BYTES`` of content (one task per item would cost a scheduler round trip
        each)."""
        self._batch.append((job_id, source))
        self._batch_bytes += len(source.data) if source.data is not None else 0
        if len(self._batch) >= self.BATCH_ITEMS or self._batch_bytes >= self.BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        while len(self._futures) >= self._capacity:
            self._collect(block=True)
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        future = self.client.submit(
            extract_on_worker, [s for _, s in batch], self._timeout, self._memory, pure=False
        )
        self._futures[future] = [job_id for job_id, _ in batch]
        self._completed.add(future)

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        """Outcomes that arrived (waiting for at least one when ``block``)."""
        if block and self._batch and not self._done:
            self._flush()  # the scan is waiting: send what there is
        if not self._done:
            self._collect(block=block and bool(self._futures))
        done, self._done = self._done, []
        return done

    def _collect(self, block: bool) -> None:
        if not self._futures:
            return
        for future in self._completed.next_batch(block=block):
            jobs = self._futures.pop(future)
            self._done.extend(zip(jobs, _outcomes(future, len(jobs)), strict=True))

    def close(self) -> None:
        """Cancel what is still out and disconnect."""
        if self._futures:
            self.client.cancel(list(self._futures))
        self.client.close()


def _outcomes(future: Any, count: int) -> list[Outcome]:
    if future.status == "finished":
        result: list[Outcome] = future.result()
        return result
    exc = future.exception()
    reason = "crashed" if type(exc).__name__ == "KilledWorker" else "unexpected"
    text = f"Dask task failed: {type(exc).__name__}: {exc}"[:2000]
    return [
        (Extraction(issues=[Issue("extract", reason, text)]), None, Status.ERROR, "")
        for _ in range(count)
    ]
