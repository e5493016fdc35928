"""Wiring: walk -> detect -> extract, streamed as records, and the one per-item error boundary.

``scan()`` yields a :class:`~leaktriage.model.FileRecord` for every item as soon as it is
made; ``triage_file()`` handles one file arriving in an ingestion pipeline; ``run_scan()``
writes a whole scan into an output folder (SQLite store, JSONL, CSV).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.errors import (
    InputError,
)
from leaktriage.model import FileRecord
from leaktriage.pipeline.extract import Outcome, extract_item, run_extractor
from leaktriage.pipeline.items import Pipeline, extension_of, record_id_for
from leaktriage.pipeline.run import RunSummary, _config, _pool, run_scan
from leaktriage.walk import (
    Item,
    Spool,
    iter_tree,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


__all__ = [
    "Outcome",
    "Pipeline",
    "RunSummary",
    "extension_of",
    "extract_item",
    "record_id_for",
    "run_extractor",
    "run_scan",
    "scan",
    "triage_file",
]


def scan(path: str | Path, **options: Any) -> Iterator[FileRecord]:
    """Yield a record for every file, archive member, email and attachment under ``path``.

    Records stream out as they are finished (in completion order when workers parse in
    parallel; with ``workers=0`` in walk order). Options are
    :class:`~leaktriage.config.ScanConfig` fields (``leak_date``, ``workers``, ``timeout_s``)
    or :class:`~leaktriage.config.Limits` fields (``max_depth``, ``max_ratio``...), or a whole
    ``config=ScanConfig(...)``.

    Raises:
        InputError: ``path`` does not exist or cannot be read.
    """
    config = _config(dict(options))
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        raise InputError(f"no such file or folder: {root}")
    with tempfile.TemporaryDirectory(prefix="leaktriage-") as tmp, _pool(config) as pool:
        yield from Pipeline(config, Path(tmp), pool).records(root)


def triage_file(
    path_or_bytes: str | Path | bytes, name: str | None = None, **options: Any
) -> list[FileRecord]:
    """Triage one file arriving in a pipeline; returns its record first, then its contents'.

    Args:
        path_or_bytes: a path to read, or the file's bytes.
        name: the name to record (defaults to the path's name; required for bytes).
        **options: as for :func:`scan`; ``workers=0`` parses in the calling process (faster
            to start, but a parser crash or hang then hits the caller), the default uses one
            isolated worker process.
    """
    options.setdefault("workers", 1)
    config = _config(dict(options))
    with tempfile.TemporaryDirectory(prefix="leaktriage-") as tmp, _pool(config) as pool:
        pipeline = Pipeline(config, Path(tmp), pool)
        if isinstance(path_or_bytes, bytes):
            if not name:
                raise ValueError("name= is required when passing bytes")
            spool = Spool(len(path_or_bytes) + 1, Path(tmp), config.hash_md5)
            spool.write(path_or_bytes)
            item = Item(path=name, name=name, depth=0, content=spool.finish())
        else:
            file_path = Path(path_or_bytes)
            if not file_path.is_file():
                raise InputError(f"not a readable file: {file_path}")
            item = next(iter_tree(file_path))
            if name:
                item.path = item.name = name
        records = [*pipeline.process(item, None, ()), *pipeline.drain()]
    top = next(r for r in records if r.parent_id is None)
    return [top, *(r for r in records if r is not top)]
