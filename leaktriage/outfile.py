"""Output files written whole or not at all.

A scan's outputs are read by scripts that trust them: a ``files.jsonl`` cut mid-line by a
full disk, or a ``manifest.json`` describing files that were not finished, is worse than
none. Every output is written under a temporary name beside its target (same folder, so
the rename is atomic on one file system) and renamed over the target only once complete;
on any error the temporary file is removed and the previous output, if any, stays.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def partial_name(path: Path) -> Path:
    """Where ``path`` is written until it is complete."""
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """``path`` opened for UTF-8 text, written through a temporary file renamed on success."""
    tmp = partial_name(path)
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            yield handle
            _sync(handle)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_bytes(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for bytes, written through a temporary file renamed on success."""
    tmp = partial_name(path)
    try:
        with tmp.open("wb") as handle:
            yield handle
            _sync(handle)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync(handle: IO[str] | IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
