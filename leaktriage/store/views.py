"""What the mail threads, the FollowTheMoney export and the manifest ask of the store: their
queries live here, with the rest of the SQL, so those modules handle records and rows only.
(The report's loader, ``report/data.py``, still runs its own read-only queries.)"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from leaktriage.store.schema import BATCH

if TYPE_CHECKING:
    from leaktriage.store.database import Store

_PRESENT = (
    "FROM files LEFT JOIN file_state USING (record_id) WHERE coalesce(state, 'new') != 'gone'"
)
"""Records not marked gone (the manifest and FtM list those)."""

_TABLE_IDS = itertools.count()


def message_fields(store: Store, names: tuple[str, ...]) -> Iterator[tuple[str, str, str, str]]:
    """``(record_id, path, fact name, value)`` of the named facts of every present record,
    by path, record id, name and list position."""
    marks = ",".join("?" * len(names))
    yield from store.db.execute(
        "SELECT f.record_id, f.path, d.name, d.value FROM fields d "
        "JOIN present_files f USING (record_id) "
        f"WHERE d.name IN ({marks}) ORDER BY f.path, f.record_id, d.name, d.ord",
        names,
    )


def replace_threads(store: Store, rows: Iterable[tuple[str, str, int, str | None]]) -> None:
    """The ``threads`` table replaced by ``(record_id, thread_id, position, message_id)``."""
    with store.db as db:
        db.execute("DELETE FROM threads")
        db.executemany("INSERT INTO threads VALUES (?,?,?,?)", sorted(rows))


def present_count(store: Store) -> int:
    """How many records are not marked gone."""
    (total,) = store.db.execute(f"SELECT count(*) {_PRESENT}").fetchone()
    return int(total)


def manifest_items(store: Store) -> Iterator[list[str]]:
    """The manifest's items, each already one JSON object (SQLite renders them: a dump's
    worth of items costs no Python), 4,096 at a time, by path."""
    rows = store.db.execute(
        "SELECT json_object('path', path, 'record_id', record_id, 'sha256', sha256, "
        f"'size', size, 'status', status) {_PRESENT} ORDER BY path, record_id"
    )
    while batch := rows.fetchmany(4096):
        yield [item for (item,) in batch]


def top_folders(store: Store, folders_of: Callable[[str], Iterable[str]]) -> Iterator[str]:
    """Every folder ``folders_of`` gives for the paths of the top-level records, once each,
    sorted; gathered in a temporary table, so memory does not grow with the dump."""
    db = store.db
    table = f"temp.folders_{next(_TABLE_IDS)}"
    db.execute(f"CREATE TABLE {table} (path TEXT PRIMARY KEY)")
    try:
        tops = db.execute("SELECT path FROM present_files WHERE parent_id IS NULL")
        while chunk := tops.fetchmany(BATCH):
            folders = {(f,) for (path,) in chunk for f in folders_of(path)}
            db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", sorted(folders))
        db.commit()
        for (folder,) in db.execute(f"SELECT path FROM {table} ORDER BY path"):
            yield folder
    finally:
        # Gone with the connection anyway; dropped now unless a cursor still reads it.
        with contextlib.suppress(sqlite3.OperationalError):
            db.execute(f"DROP TABLE {table}")


def ids_with_children(store: Store) -> Iterator[list[tuple[str, bool]]]:
    """``(record_id, holds other records)`` of every present record by path, ``BATCH`` at
    a time."""
    rows = store.db.execute(
        "SELECT f.record_id, EXISTS (SELECT 1 FROM files c WHERE c.parent_id = f.record_id) "
        "FROM files f LEFT JOIN file_state s USING (record_id) "
        "WHERE coalesce(s.state, 'new') != 'gone' ORDER BY f.path, f.record_id"
    )
    while chunk := rows.fetchmany(BATCH):
        yield [(str(rid), bool(has)) for rid, has in chunk]
