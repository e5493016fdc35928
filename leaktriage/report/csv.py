"""``files.csv``: one row per record with the columns journalists sort by, RFC 4180 (cells
holding a line break, a quote or a comma quoted), spreadsheet formulas neutralised. Rows
are rendered once, when a record is written (the store's export cache), and patched only
where the corpus stage changes the verdict or score."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.model import FileRecord
from leaktriage.report.registry import Output, register

if TYPE_CHECKING:
    from leaktriage.store import Store

FILE_NAME = "files.csv"

COLUMNS = (
    "record_id",
    "path",
    "parent_id",
    "depth",
    "size",
    "sha256",
    "md5",
    "mime",
    "extension",
    "extension_mismatch",
    "status",
    "verdict",
    "score",
    "doc.title",
    "doc.author",
    "doc.last_modified_by",
    "doc.company",
    "doc.application",
    "doc.producer",
    "doc.created",
    "doc.modified",
    "meta.scripts",
    "issues",
)
"""Columns of ``files.csv``: the record's identity, then the facts journalists sort by."""

_VERDICT = COLUMNS.index("verdict")
_SCORE = COLUMNS.index("score")


def header() -> bytes:
    """The header row, with the ``scan_state`` column the export adds, and its CRLF."""
    return (line([*COLUMNS, "scan_state"]) + "\r\n").encode("utf-8")


def row(record: FileRecord, data: dict[str, Any] | None = None) -> bytes:
    """The record's row in UTF-8, without the ``scan_state`` cell and line ending the export
    adds (``data``: the record's JSON form, when already made)."""
    data = record.to_json() if data is None else data
    cells: list[str] = []
    for column in COLUMNS:
        if column == "issues":
            value: object = "; ".join(f"{i.code}: {i.message}" for i in record.issues)
        elif "." in column:
            value = data["fields"].get(column)
            if isinstance(value, list):
                value = ", ".join(value)
        else:
            value = data[column]
        cells.append(cell(value))
    return line(cells).encode("utf-8")


def patched(cached: bytes, verdict: str | None, score: float | None) -> bytes:
    """A cached row with the record's current verdict and score. Where no cell up to the
    score is quoted, a comma there always ends a cell, and the row is cut at the commas
    (the path is the only cell before it a dump names, and few paths hold a comma or a
    quote); otherwise it is parsed."""
    text = cached.decode("utf-8")
    head = text.split(",", _SCORE + 1)
    if len(head) == _SCORE + 2 and '"' not in text[: len(text) - len(head[-1])]:
        return ",".join([*head[:_VERDICT], line([cell(verdict), cell(score)]), head[-1]]).encode(
            "utf-8"
        )
    cells = next(csv.reader(io.StringIO(text, newline="")))
    cells[_VERDICT] = cell(verdict)
    cells[_SCORE] = cell(score)
    return line(cells).encode("utf-8")


def cell(value: object) -> str:
    """One cell's text; a leaked file's title ``=HYPERLINK(...)`` must stay text in a
    spreadsheet (formula injection), so a leading ``= + - @`` or control gets a quote."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def line(cells: list[str]) -> str:
    """One RFC 4180 row without its line ending.

    The writer must be told the real line ending: it quotes a cell only for the characters
    of its ``lineterminator``, so with ``""`` a title holding a line break went out
    unquoted and split the row in two."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2]


def write(store: Store, path: Path) -> int:
    """Write ``files.csv`` from the store; returns the record count."""
    from leaktriage.store import export_files

    return export_files(store, None, path)


register(Output("csv", FILE_NAME, write))
