"""``files.jsonl`` and ``files.csv`` written by a fresh process of their own.

Measured at 100,000 items, the same export of the same finished store took 2.9-3.5 s in a
fresh process and 5.8 s in the scanning process after its corpus stage, whose heap (live or
freed) makes every allocation of the export's millions of short-lived objects slower: the
slowdown is reproduced in a fresh process by allocating, or allocating and freeing, a few
million small objects before exporting, and it stays with the garbage collector off or its
objects frozen (``benchmarks/README.md``). So the exports run in a spawned interpreter that
holds nothing but the store, started when the report's process is, loading its modules while
the mail threads are checked, and told to write once the store is settled.

If the process cannot start or dies, the scanning process writes the exports itself, as with
``workers=0``; an ``OSError`` of the process (a full disk) is raised in the scan as the same
error, so the scan's exit status is the one an in-process export would give.
"""

from __future__ import annotations

import logging
from multiprocessing.connection import Connection
from pathlib import Path

from leaktriage.execute.sandbox import spawn_helper

log = logging.getLogger(__name__)


def _write_exports(conn: Connection, db_path: str) -> None:
    """Body of the exports' process: its modules loaded, then, once given the two paths,
    the store opened read-only and both files written; the reply is ``("digests", {name:
    sha256})`` or ``("oserror", (errno, strerror, filename))``."""
    from leaktriage.store import Store, export_files

    try:
        paths = conn.recv()
    except EOFError:
        return
    if paths is None:
        return
    jsonl, csv_file = paths
    store = Store(Path(db_path), readonly=True)
    digests: dict[str, str] = {}
    try:
        export_files(store, Path(jsonl), Path(csv_file), digests)
    except OSError as exc:
        conn.send(("oserror", (exc.errno, exc.strerror, exc.filename)))
        return
    finally:
        store.close()
    conn.send(("digests", digests))


class ExportProcess:
    """The exports' process (see the module's docstring). It starts before the store is
    final and waits for :meth:`write`."""

    def __init__(self, db_path: Path) -> None:
        self.conn, self.process = spawn_helper(
            _write_exports, str(db_path), name="leaktriage-exports"
        )

    @classmethod
    def start(cls, db_path: Path) -> ExportProcess | None:
        """The process, or None when this system would not start it (the scanning process
        then writes the exports)."""
        try:
            return cls(db_path)
        except OSError as exc:
            log.warning("could not start the exports' process (%s); writing them here", exc)
            return None

    def write(self, jsonl: Path, csv_file: Path) -> dict[str, str] | None:
        """Have ``jsonl`` and ``csv_file`` written from the store (settled now) and wait:
        their sha256 by file name, or None when the process failed without a reply (the
        caller writes them itself). Raises the process's ``OSError``."""
        reply = None
        try:
            self.conn.send((str(jsonl), str(csv_file)))
            reply = self.conn.recv()
        except (OSError, EOFError):
            pass
        finally:
            self.stop()
        if reply is None:
            log.warning(
                "the exports' process failed (exit %s); writing them here", self.process.exitcode
            )
            return None
        kind, value = reply
        if kind == "oserror":
            raise OSError(*value)
        return dict(value)

    def stop(self) -> None:
        """End the process (done, or not needed: the exports were kept or the scan failed)."""
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
