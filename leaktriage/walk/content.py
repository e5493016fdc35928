"""The bytes of an item - in memory, in the input read in place, or spooled to the scan's
private temp folder - hashed as they are read; ``Item``, what the walk hands the pipeline."""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NamedTuple

from leaktriage.config import Limits
from leaktriage.diskfile import Identity, open_regular
from leaktriage.model import Issue, Status

log = logging.getLogger(__name__)


CHUNK = 1 << 20
"""Read size for hashing and decompression."""


_COMPRESSED_STREAM_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".lzma", ".z", ".lz")


@dataclass(slots=True)
class Content:
    """The bytes of an item, held in memory or in a file (read-only on the input side).

    ``owned`` files live in the scan's private temp dir and are deleted by :meth:`release`.
    """

    data: bytes | None = None
    path: Path | None = None
    owned: bool = False
    size: int = 0
    sha256: str | None = None
    sha1: str | None = None
    md5: str | None = None
    identity: Identity | None = None
    """For a file of the dump read in place: the file listed (``diskfile``)."""

    def open(self) -> BinaryIO:
        """A fresh seekable read handle."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        if self.owned:
            return self.path.open("rb")
        return open_regular(self.path, self.identity)

    def head(self, count: int) -> bytes:
        """The first ``count`` bytes."""
        if self.data is not None:
            return self.data[:count]
        with self.open() as handle:
            return handle.read(count)

    def spill(self, tmpdir: Path) -> None:
        """Move bytes held in memory to a private temp file (``owned``), so that a worker
        process can be handed a path instead of the bytes through its pipe."""
        if self.data is None:
            return
        fd, name = tempfile.mkstemp(prefix="handoff-", dir=tmpdir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.data)
        self.path, self.owned, self.data = Path(name), True, None

    def release(self) -> None:
        """Delete a spooled temp file; the input is never touched."""
        if self.owned and self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None
        self.data = None


@dataclass(slots=True)
class Item:
    """One thing found in the dump, before it is typed and parsed."""

    path: str
    """Provenance chain."""
    name: str
    """Last element of the chain."""
    depth: int
    mtime: datetime | None = None
    mtime_zone_known: bool = True
    outer_mtime: datetime | None = None
    content: Content | None = None
    """None when the walker did not (or could not) read the bytes; ``status`` then says why."""
    disk_path: Path | None = None
    """For files on disk: read lazily by the pipeline (hashing streams from here)."""
    status: Status | None = None
    """Set when the walker already decided the outcome (symlink, limit, encrypted member)."""
    declared_size: int | None = None
    """Size as the container declared it, for items not read."""
    issues: list[Issue] = field(default_factory=list)
    """Walk-stage issues (traversal names, odd characters) attached to the record."""
    tree: TreeBudget | None = None
    """Decompression budget shared by everything inside one file on disk."""
    name_bytes: str | None = None
    """The name's bytes as hex when they were not UTF-8 (``name`` is then decoded text)."""
    identity: Identity | None = None
    """``(st_dev, st_ino)`` of a file on disk as listed: it is read only if still the same."""


@dataclass(slots=True)
class TreeBudget:
    """Bytes decompressed out of one file on disk, through every level of nesting.

    A 42.zip-style bomb keeps each archive's own ratio modest by nesting; measured against
    the size of the outermost file it is obvious.
    """

    compressed_size: int
    bytes_out: int = 0


_PARALLEL_BYTES = 1 << 18


@functools.lru_cache(maxsize=1)
def _helper() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="leaktriage-hash")


class Hasher:
    """sha256, SHA-1 (the ``contentHash`` Aleph and FollowTheMoney key files by) and md5 (to
    match the hashes leak indexes publish) over one stream of chunks, in the same read."""

    def __init__(self, with_md5: bool = True) -> None:
        self._sha = hashlib.sha256()
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk. A large chunk is hashed on two threads, as hashlib releases
        the GIL: md5, the slowest of the three, on a helper thread while this one does sha256
        and SHA-1 (without md5, SHA-1 goes to the helper), so a large file costs about the
        slower side, not the sum (``benchmarks/bench_hashing.py``)."""
        if len(chunk) >= _PARALLEL_BYTES:
            if self._md5 is not None:
                pending = _helper().submit(self._md5.update, chunk)
                self._sha.update(chunk)
                self._sha1.update(chunk)
            else:
                pending = _helper().submit(self._sha1.update, chunk)
                self._sha.update(chunk)
            pending.result()
        else:
            self._sha.update(chunk)
            self._sha1.update(chunk)
            if self._md5 is not None:
                self._md5.update(chunk)
        self.size += len(chunk)

    def digests(self) -> Digests:
        """The hex digests of everything fed so far."""
        return Digests(
            self._sha.hexdigest(),
            self._sha1.hexdigest(),
            self._md5.hexdigest() if self._md5 else None,
        )


class Digests(NamedTuple):
    """An item's hex digests."""

    sha256: str
    sha1: str
    md5: str | None


class Spool:
    """Collects a stream into memory, moving it to a private temp file past a threshold."""

    def __init__(self, memory_limit: int, tmpdir: Path, with_md5: bool = True) -> None:
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._limit = memory_limit
        self._tmpdir = tmpdir
        self.hasher = Hasher(with_md5)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self.hasher.size

    def write(self, chunk: bytes) -> None:
        """Append a chunk."""
        self.hasher.update(chunk)
        if self._file is None and len(self._buffer) + len(chunk) > self._limit:
            fd, name = tempfile.mkstemp(prefix="member-", dir=self._tmpdir)
            self._file = os.fdopen(fd, "wb")
            self._path = Path(name)
            self._file.write(self._buffer)
            self._buffer = bytearray()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._buffer += chunk

    def finish(self) -> Content:
        """The collected bytes as a Content with their hashes."""
        sums = self.hasher.digests()
        if self._file is not None:
            self._file.close()
            return Content(path=self._path, owned=True, size=self.size, **sums._asdict())
        return Content(data=bytes(self._buffer), size=self.size, **sums._asdict())

    def discard(self) -> None:
        """Drop what was collected (a member past a limit)."""
        if self._file is not None:
            self._file.close()
            assert self._path is not None
            self._path.unlink(missing_ok=True)
        self._buffer = bytearray()


def adopt_file(path: Path, with_md5: bool = True) -> Content:
    """A private temp file of this scan (an inner item a worker wrote), hashed in one pass
    and owned from now on: :meth:`Content.release` deletes it."""
    hasher = Hasher(with_md5)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return Content(path=path, owned=True, size=hasher.size, **hasher.digests()._asdict())


def read_disk_file(
    path: Path, limits: Limits, with_md5: bool = True, identity: Identity | None = None
) -> Content:
    """Hash a file on disk in one streaming pass; keep its bytes only if small enough.

    The file is opened read-only; larger files stay on disk and are read again by the
    extractor from the same path.
    """
    hasher = Hasher(with_md5)
    keep = bytearray()
    keeping = True
    with open_regular(path, identity) as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
            if keeping:
                if len(keep) + len(chunk) > limits.memory_spool_bytes:
                    keeping = False
                    keep = bytearray()
                else:
                    keep += chunk
    sums = hasher.digests()._asdict()
    if keeping:
        # The path is kept beside the bytes: a worker process is handed the path (and the
        # file's identity) rather than the bytes through its pipe.
        return Content(
            data=bytes(keep),
            path=path,
            size=hasher.size,
            identity=identity,
            **sums,
        )
    return Content(path=path, owned=False, size=hasher.size, identity=identity, **sums)


def _fs_time(seconds: float) -> datetime | None:
    """A file-system or archive-header time as aware UTC; None when it is outside what a
    date can hold (a forged tar header says year 36812)."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
