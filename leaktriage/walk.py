"""Folders and archives -> items with provenance chains, under safety limits. Parses no documents.

The walker never extracts to a path built from a member's name and never writes to the input:
files on disk are opened read-only, archive members are read as streams into memory (or,
past ``Limits.memory_spool_bytes``, into the scan's private temp dir). Every limit is counted
on the bytes actually decompressed, never trusted from a header.

Zip archives are read with the standard library's ``zipfile``, which gives the central
directory's exact DOS times and encryption flags; every other archive and compressed stream
(tar.*, gz, bz2, xz, zst, 7z, rar, cpio, iso) goes through libarchive.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import hashlib
import logging
import os
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import libarchive
import libarchive.entry
import libarchive.exception
import libarchive.ffi
import libarchive.read

from leaktriage.config import Limits
from leaktriage.detect import ZIP_READ_ERRORS
from leaktriage.model import Issue, Status

log = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Read size for hashing and decompression."""

SEP = "!"
"""Separator between the levels of a provenance chain: ``dump/a.zip!inbox/b.eml``."""

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
    md5: str | None = None

    def open(self) -> BinaryIO:
        """A fresh seekable read handle."""
        import io

        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def head(self, count: int) -> bytes:
        """The first ``count`` bytes."""
        if self.data is not None:
            return self.data[:count]
        with self.open() as handle:
            return handle.read(count)

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
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="leaktriage-md5")


class Hasher:
    """sha256 (and md5, to match other tools) over a stream of chunks."""

    def __init__(self, with_md5: bool = True) -> None:
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk (large chunks: md5 in a helper thread beside sha256, as
        hashlib releases the GIL; a large file then costs the slower hash, not the sum)."""
        if self._md5 is not None and len(chunk) >= _PARALLEL_BYTES:
            pending = _helper().submit(self._md5.update, chunk)
            self._sha.update(chunk)
            pending.result()
        else:
            self._sha.update(chunk)
            if self._md5 is not None:
                self._md5.update(chunk)
        self.size += len(chunk)

    def digests(self) -> tuple[str, str | None]:
        """(sha256, md5) hex digests."""
        return self._sha.hexdigest(), self._md5.hexdigest() if self._md5 else None


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
        sha, md5 = self.hasher.digests()
        if self._file is not None:
            self._file.close()
            return Content(path=self._path, owned=True, size=self.size, sha256=sha, md5=md5)
        return Content(data=bytes(self._buffer), size=self.size, sha256=sha, md5=md5)

    def discard(self) -> None:
        """Drop what was collected (a member past a limit)."""
        if self._file is not None:
            self._file.close()
            assert self._path is not None
            self._path.unlink(missing_ok=True)
        self._buffer = bytearray()


def read_disk_file(path: Path, limits: Limits, with_md5: bool = True) -> Content:
    """Hash a file on disk in one streaming pass; keep its bytes only if small enough.

    The file is opened read-only; larger files stay on disk and are read again by the
    extractor from the same path.
    """
    hasher = Hasher(with_md5)
    keep = bytearray()
    keeping = True
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
            if keeping:
                if len(keep) + len(chunk) > limits.memory_spool_bytes:
                    keeping = False
                    keep = bytearray()
                else:
                    keep += chunk
    sha, md5 = hasher.digests()
    if keeping:
        return Content(data=bytes(keep), size=hasher.size, sha256=sha, md5=md5)
    return Content(path=path, owned=False, size=hasher.size, sha256=sha, md5=md5)


def _fs_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def iter_tree(root: Path) -> Iterator[Item]:
    """Yield every file under ``root`` (or ``root`` itself), sorted, never following symlinks.

    Symlinks, sockets, FIFOs and devices are yielded as ``skipped`` items with the reason, so
    they are accounted for without being opened (opening a FIFO would hang the scan).
    """
    base = root.name or str(root)
    if not root.is_dir():
        yield _disk_item(root, base)
        return
    stack: list[tuple[Path, str]] = [(root, base)]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield Item(
                path=prefix,
                name=folder.name,
                depth=0,
                status=Status.ERROR,
                issues=[Issue("walk", "unreadable", f"folder cannot be listed: {exc.strerror}")],
            )
            continue
        subfolders: list[tuple[Path, str]] = []
        for entry in entries:
            logical = f"{prefix}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                subfolders.append((Path(entry.path), logical))
            else:
                yield _disk_item(Path(entry.path), logical, entry)
        # Depth-first in name order: push in reverse so the first name is visited first.
        stack.extend(reversed(subfolders))


def _disk_item(path: Path, logical: str, entry: os.DirEntry[str] | None = None) -> Item:
    name = logical.rsplit("/", 1)[-1]
    try:
        info = entry.stat(follow_symlinks=False) if entry is not None else path.lstat()
    except OSError as exc:
        return Item(
            path=logical,
            name=name,
            depth=0,
            status=Status.ERROR,
            issues=[Issue("walk", "unreadable", f"cannot stat: {exc.strerror}")],
        )
    mtime = _fs_time(info.st_mtime)
    item = Item(path=logical, name=name, depth=0, mtime=mtime, outer_mtime=mtime)
    item.declared_size = info.st_size
    if stat.S_ISLNK(info.st_mode):
        try:
            target = str(path.readlink())
        except OSError:
            target = "?"
        item.status = Status.SKIPPED
        item.issues.append(Issue("walk", "symlink", f"symbolic link to {target!r}, not followed"))
    elif not stat.S_ISREG(info.st_mode):
        item.status = Status.SKIPPED
        item.issues.append(
            Issue(
                "walk", "special_file", f"not a regular file (mode {stat.filemode(info.st_mode)})"
            )
        )
    elif not os.access(path, os.R_OK):
        item.status = Status.ERROR
        item.issues.append(Issue("walk", "unreadable", "permission denied"))
    else:
        item.disk_path = path
    return item


def name_issues(name: str) -> list[Issue]:
    """Issues a member name raises: traversal, absolute paths, control characters."""
    found: list[Issue] = []
    normalized = name.replace("\\", "/")
    parts = PurePosixPath(normalized).parts
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        found.append(Issue("walk", "traversal", f"absolute member name {name!r}"))
    if ".." in parts:
        found.append(Issue("walk", "traversal", f"member name climbs out with '..': {name!r}"))
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        found.append(Issue("walk", "odd_name", f"control or format characters in name {name!r}"))
    if "\ufffd" in name:
        found.append(Issue("walk", "odd_name", f"name is not valid in its encoding: {name!r}"))
    return found


@dataclass(slots=True)
class ArchiveStats:
    """What the walker learned about one archive while reading it."""

    format: str = ""
    filters: list[str] = field(default_factory=list)
    members: int = 0
    dirs: int = 0
    bytes_out: int = 0
    mtime_min: datetime | None = None
    mtime_max: datetime | None = None
    zone_known: bool = True
    limits_hit: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def saw_time(self, when: datetime | None) -> None:
        """Track the span of member times."""
        if when is None:
            return
        if self.mtime_min is None or when < self.mtime_min:
            self.mtime_min = when
        if self.mtime_max is None or when > self.mtime_max:
            self.mtime_max = when


class _Budget:
    """Counts decompressed bytes against the member, archive and ratio limits.

    The ratio is measured on what was actually read, never on header claims: output bytes
    over the compressed bytes consumed so far (libarchive's running count for streamed
    formats; the archive size for zip), and for zip also per member over its compressed
    span, so a member that inflates 1000x trips once it has produced ``ratio_grace_bytes``.
    """

    def __init__(
        self,
        limits: Limits,
        stats: ArchiveStats,
        consumed: Callable[[], int],
        tree: TreeBudget | None = None,
    ) -> None:
        self.limits = limits
        self.stats = stats
        self.consumed = consumed
        self.tree = tree
        self.tripped: str | None = None
        self._ratio_text = ""

    def charge(self, member_out: int, chunk: int, member_in: int | None = None) -> str | None:
        """Account for ``chunk`` new bytes; return the limit's code when one is passed."""
        self.stats.bytes_out += chunk
        if self.tree is not None:
            self.tree.bytes_out += chunk
        if member_out > self.limits.max_member_bytes:
            return "limit.member_size"
        if self.stats.bytes_out > self.limits.max_archive_bytes:
            self.tripped = "limit.archive_size"
            return self.tripped
        grace = self.limits.ratio_grace_bytes
        checks = [(self.stats.bytes_out, max(self.consumed(), 1), "archive")]
        if self.tree is not None:
            checks.append(
                (self.tree.bytes_out, max(self.tree.compressed_size, 1), "outermost file")
            )
        if member_in is not None:
            checks.append((member_out, max(member_in, 1), "member"))
        for out, into, what in checks:
            if out > grace and out / into > self.limits.max_ratio:
                self.tripped = "limit.ratio"
                self._ratio_text = (
                    f"{what} expanded {out} bytes from {into} (ratio {out / into:.0f})"
                )
        return self.tripped

    def describe(self, code: str) -> str:
        """Human text for a tripped limit, with the numbers."""
        if code == "limit.member_size":
            return f"member larger than {self.limits.max_member_bytes} bytes; not read further"
        if code == "limit.archive_size":
            return (
                f"archive produced more than {self.limits.max_archive_bytes} bytes; "
                "rest of the archive not read"
            )
        return (
            f"compression ratio over {self.limits.max_ratio:g}: {self._ratio_text}; "
            "likely a decompression bomb; rest of the archive not read"
        )


def iter_archive(
    content: Content,
    container: Item,
    mime: str,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool = True,
) -> Iterator[Item]:
    """Yield the members of an archive as items (content read under the limits).

    Members past a limit are still yielded, as ``skipped`` with the reason; traversal names
    are kept as they are (nothing is ever written under them) and flagged.
    """
    if mime == "application/zip":
        yield from _iter_zip(content, container, limits, tmpdir, stats, with_md5)
    else:
        yield from _iter_libarchive(content, container, limits, tmpdir, stats, with_md5)


def _member_item(container: Item, name: str, mtime: datetime | None, zone_known: bool) -> Item:
    item = Item(
        path=f"{container.path}{SEP}{name}",
        name=name,
        depth=container.depth + 1,
        mtime=mtime,
        mtime_zone_known=zone_known,
        outer_mtime=container.outer_mtime,
        tree=container.tree,
    )
    item.issues.extend(name_issues(name))
    return item


def _skip(item: Item, code: str, message: str, size: int | None = None) -> Item:
    item.status = Status.SKIPPED
    item.declared_size = size
    item.issues.append(Issue("walk", code, message))
    return item


def _dos_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=UTC)
    except ValueError:
        return None


def _iter_zip(
    content: Content,
    container: Item,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool,
) -> Iterator[Item]:
    stats.format = "zip"
    stats.zone_known = False  # DOS times are local wall-clock with no zone
    handle = content.open()
    try:
        archive = zipfile.ZipFile(handle)
    except ZIP_READ_ERRORS as exc:
        handle.close()
        raise CorruptArchive(f"zip directory unreadable: {exc}") from exc
    budget = _Budget(limits, stats, lambda: content.size, container.tree)
    spans: list[tuple[int, int, str]] = []
    try:
        for index, info in enumerate(archive.infolist()):
            if info.filename.endswith("/"):  # ZipInfo.is_dir() fails on an empty name
                stats.dirs += 1
                continue
            stats.members += 1
            when = _dos_time(info)
            stats.saw_time(when)
            item = _member_item(
                container, info.filename or f"member-{stats.members}", when, zone_known=False
            )
            if budget.tripped:
                yield _skip(
                    item,
                    budget.tripped,
                    "not read: " + budget.describe(budget.tripped),
                    info.file_size,
                )
                continue
            if stats.members > limits.max_members:
                yield _skip(
                    item,
                    "limit.members",
                    f"archive has more than {limits.max_members} members; not read",
                    info.file_size,
                )
                continue
            if info.flag_bits & 0x1 or info.compress_type == 99:
                item.status = Status.ENCRYPTED
                item.declared_size = info.file_size
                item.issues.append(Issue("walk", "encrypted", "member is password-protected"))
                yield item
                continue
            overlap = _overlaps(spans, info)
            if overlap:
                item.issues.append(
                    Issue(
                        "walk",
                        "zip_overlap",
                        f"member data overlaps member {overlap!r} "
                        "(overlapping-entry zip bomb or doctored archive)",
                    )
                )
            spans.append(
                (info.header_offset, info.header_offset + max(info.compress_size, 1), info.filename)
            )
            yield _read_zip_member(archive, info, item, budget, limits, tmpdir, with_md5, index)
    finally:
        archive.close()
        handle.close()
    if budget.tripped:
        stats.limits_hit.append(budget.tripped)


def _overlaps(spans: list[tuple[int, int, str]], info: zipfile.ZipInfo) -> str | None:
    start = info.header_offset
    # Small archives: a linear scan is cheap; large ones keep only the last spans checked.
    for begin, end, name in spans[-64:]:
        if begin <= start < end:
            return name
    return None


def _read_zip_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    item: Item,
    budget: _Budget,
    limits: Limits,
    tmpdir: Path,
    with_md5: bool,
    index: int,
) -> Item:
    spool = Spool(limits.memory_spool_bytes, tmpdir, with_md5)
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                spool.write(chunk)
                code = budget.charge(spool.size, len(chunk), info.compress_size)
                if code:
                    spool.discard()
                    return _skip(item, code, budget.describe(code), info.file_size)
    except ZIP_READ_ERRORS as exc:
        spool.discard()
        item.status = Status.ERROR
        item.declared_size = info.file_size
        item.issues.append(Issue("walk", "corrupt", f"member {index} unreadable: {exc}"))
        return item
    except RuntimeError as exc:  # zipfile raises this for a password it does not have
        spool.discard()
        item.status = Status.ENCRYPTED
        item.issues.append(Issue("walk", "encrypted", str(exc)))
        return item
    item.content = spool.finish()
    return item


class CorruptArchive(Exception):
    """The container itself cannot be listed; the pipeline records it as an error."""


def _raw_member_name(container_name: str) -> str:
    lowered = container_name.lower()
    if lowered.endswith((".tgz", ".taz")):
        return container_name[:-4] + ".tar"
    for suffix in _COMPRESSED_STREAM_SUFFIXES:
        if lowered.endswith(suffix) and len(container_name) > len(suffix):
            return container_name[: -len(suffix)]
    return container_name + ".data"


def _open_libarchive(content: Content, format_name: str) -> libarchive.read.ArchiveRead:
    if content.data is not None:
        return libarchive.memory_reader(content.data, format_name=format_name)
    assert content.path is not None
    return libarchive.file_reader(str(content.path), format_name=format_name)


def _iter_libarchive(
    content: Content,
    container: Item,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool,
) -> Iterator[Item]:
    try:
        yield from _libarchive_entries(content, container, limits, tmpdir, stats, with_md5, "all")
    except _NotAnArchive:
        # A bare compressed stream (report.pdf.gz): one member, named after the container.
        yield from _libarchive_entries(content, container, limits, tmpdir, stats, with_md5, "raw")


class _NotAnArchive(Exception):
    pass


def _libarchive_entries(
    content: Content,
    container: Item,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool,
    format_name: str,
) -> Iterator[Item]:
    reader: list[libarchive.read.ArchiveRead] = []
    budget = _Budget(
        limits,
        stats,
        lambda: int(reader[0].bytes_read) if reader else content.size,
        container.tree,
    )
    seen_any = False
    try:
        with _open_libarchive(content, format_name) as archive:
            reader.append(archive)
            entries = iter(archive)
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    break
                except libarchive.exception.ArchiveError as exc:
                    if not seen_any and format_name == "all" and "Unrecognized" in str(exc):
                        raise _NotAnArchive from exc
                    stats.issues.append(Issue("walk", "corrupt", f"archive listing stopped: {exc}"))
                    break
                seen_any = True
                stats.format = _text(archive.format_name)
                stats.filters = [_text(f) for f in archive.filter_names if _text(f) != "none"]
                if entry.isdir:
                    stats.dirs += 1
                    continue
                stats.members += 1
                name = entry.pathname or ""
                if format_name == "raw":
                    name = _raw_member_name(container.name)
                mtime = _fs_time(entry.mtime) if entry.mtime else None
                stats.saw_time(mtime)
                item = _member_item(container, name or f"member-{stats.members}", mtime, True)
                declared = entry.size if entry.size is not None else None
                if entry.issym or entry.islnk:
                    kind = "symbolic" if entry.issym else "hard"
                    yield _skip(
                        item,
                        "symlink",
                        f"{kind} link to {entry.linkpath or entry.linkname!r}, not followed",
                    )
                    continue
                if not entry.isreg and not entry.isfile:
                    yield _skip(
                        item,
                        "special_file",
                        f"device, FIFO or socket entry (type {entry.filetype:o}); not read",
                    )
                    continue
                if budget.tripped:
                    stats.limits_hit.append(budget.tripped)
                    yield _skip(item, budget.tripped, budget.describe(budget.tripped), declared)
                    # Streamed formats must decompress to skip; stop instead of chewing a bomb.
                    stats.issues.append(
                        Issue("walk", budget.tripped, "members after this one were not listed")
                    )
                    return
                if stats.members > limits.max_members:
                    yield _skip(
                        item,
                        "limit.members",
                        f"archive has more than {limits.max_members} members; not read",
                        declared,
                    )
                    continue
                if _entry_encrypted(entry):
                    item.status = Status.ENCRYPTED
                    item.declared_size = declared
                    item.issues.append(Issue("walk", "encrypted", "member is password-protected"))
                    yield item
                    continue
                yield _read_libarchive_member(
                    entry, item, budget, limits, tmpdir, with_md5, declared
                )
    except _NotAnArchive:
        raise
    except libarchive.exception.ArchiveError as exc:
        if not seen_any:
            if format_name == "all" and "Unrecognized" in str(exc):
                raise _NotAnArchive from exc
            raise CorruptArchive(str(exc)) from exc
        stats.issues.append(Issue("walk", "corrupt", f"archive reading stopped: {exc}"))
    if budget.tripped and budget.tripped not in stats.limits_hit:
        stats.limits_hit.append(budget.tripped)


def _is_encrypted_fn() -> Any:
    # libarchive-c does not wrap archive_entry_is_data_encrypted; declare it with ctypes.
    function = getattr(libarchive.ffi.libarchive, "archive_entry_is_data_encrypted", None)
    if function is not None:
        function.argtypes = [ctypes.c_void_p]
        function.restype = ctypes.c_int
    return function


_IS_ENCRYPTED = _is_encrypted_fn()


def _entry_encrypted(entry: libarchive.entry.ArchiveEntry) -> bool:
    if _IS_ENCRYPTED is None:
        return False
    return bool(_IS_ENCRYPTED(entry._entry_p) > 0)


def _block_size(declared: int | None) -> int:
    # libarchive-c allocates (and zeroes) one buffer of this size per member: 1 MiB for each
    # of thousands of small members is measurable. A header that lies costs only more reads.
    if declared is None or declared >= CHUNK:
        return CHUNK
    return max(1 << 14, declared + 1)


def _read_libarchive_member(
    entry: libarchive.entry.ArchiveEntry,
    item: Item,
    budget: _Budget,
    limits: Limits,
    tmpdir: Path,
    with_md5: bool,
    declared: int | None,
) -> Item:
    spool = Spool(limits.memory_spool_bytes, tmpdir, with_md5)
    try:
        for block in entry.get_blocks(_block_size(declared)):
            spool.write(block)
            code = budget.charge(spool.size, len(block))
            if code:
                spool.discard()
                return _skip(item, code, budget.describe(code), declared)
    except libarchive.exception.ArchiveError as exc:
        spool.discard()
        text = str(exc)
        if "ncrypt" in text or "assphrase" in text:
            item.status = Status.ENCRYPTED
            item.issues.append(Issue("walk", "encrypted", text))
        else:
            item.status = Status.ERROR
            item.issues.append(Issue("walk", "corrupt", f"member unreadable: {text}"))
        item.declared_size = declared
        return item
    item.content = spool.finish()
    return item


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
