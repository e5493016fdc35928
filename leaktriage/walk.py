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

import bz2
import concurrent.futures
import contextlib
import copy
import ctypes
import functools
import hashlib
import io
import logging
import lzma
import os
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO, cast

import libarchive
import libarchive.entry
import libarchive.exception
import libarchive.ffi
import libarchive.read

from leaktriage.config import Limits
from leaktriage.detect import ZIP_READ_ERRORS
from leaktriage.diskfile import Identity, identity_of, open_regular
from leaktriage.model import Issue, Status
from leaktriage.safetext import Name, decode_name, disk_name, guess_encoding

log = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Read size for hashing and decompression."""

SEP = "!"
"""Separator between the levels of a provenance chain: ``dump/a.zip!inbox/b.eml``."""

ESCAPE = "%"
"""Escape character of names in a provenance chain: a ``!`` inside a name is written
``%21`` and a ``%`` is written ``%25``, so a loose file named ``a.zip!b.txt`` (path
``dump/a.zip%21b.txt``) is never taken for member ``b.txt`` of ``a.zip``."""


def path_part(name: str) -> str:
    """``name`` as one level of a provenance chain (see ``ESCAPE``)."""
    if SEP not in name and ESCAPE not in name:
        return name
    return name.replace(ESCAPE, "%25").replace(SEP, "%21")


def unescape_part(part: str) -> str:
    """The name behind one level of a provenance chain."""
    if ESCAPE not in part:
        return part
    return part.replace("%21", SEP).replace("%25", ESCAPE)


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
    sha, md5 = hasher.digests()
    if keeping:
        return Content(data=bytes(keep), size=hasher.size, sha256=sha, md5=md5)
    return Content(path=path, owned=False, size=hasher.size, sha256=sha, md5=md5, identity=identity)


def _fs_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def iter_tree(root: Path) -> Iterator[Item]:
    """Yield every file under ``root`` (or ``root`` itself), sorted, never following symlinks.

    Folders are walked through their descriptors (``os.fwalk``), so a folder swapped for a
    symlink while the scan runs is not entered; each file's identity is kept so that it is
    read only if it is still the file listed (see ``diskfile``). Symlinks, sockets, FIFOs and
    devices are yielded as ``skipped`` items with the reason, so they are accounted for
    without being opened.
    """
    decoded = disk_name(root.name or str(root))
    base = path_part(decoded.text)
    try:
        info = root.lstat()
    except OSError as exc:
        yield _unreadable(base, decoded.text, f"cannot stat: {exc.strerror}")
        return
    if not stat.S_ISDIR(info.st_mode):
        yield _disk_item(root, base, decoded, info)
        return
    failures: list[OSError] = []
    prefixes = {os.fspath(root): base}
    for folder, subfolders, files, folder_fd in os.fwalk(
        root, topdown=True, onerror=failures.append, follow_symlinks=False
    ):
        yield from _listing_failures(failures, prefixes)
        prefix = prefixes.pop(folder)
        listed: list[tuple[str, os.stat_result | OSError]] = []
        for name in subfolders + files:
            try:
                listed.append((name, os.stat(name, dir_fd=folder_fd, follow_symlinks=False)))
            except OSError as exc:
                listed.append((name, exc))
        entered: list[str] = []
        for name, found in sorted(listed, key=lambda pair: pair[0]):
            decoded = disk_name(name)
            logical = f"{prefix}/{path_part(decoded.text)}"
            if isinstance(found, OSError):
                yield _unreadable(logical, decoded.text, f"cannot stat: {found.strerror}")
            elif stat.S_ISDIR(found.st_mode):
                entered.append(name)
                prefixes[os.fspath(Path(folder, name))] = logical
            else:
                yield _disk_item(Path(folder, name), logical, decoded, found)
        # Depth-first in name order; a listed folder that is no longer one is not entered.
        subfolders[:] = entered
    yield from _listing_failures(failures, prefixes)


def _listing_failures(failures: list[OSError], prefixes: dict[str, str]) -> Iterator[Item]:
    for exc in failures:
        folder = os.fspath(exc.filename) if exc.filename is not None else "?"
        logical = prefixes.pop(folder, path_part(disk_name(Path(folder).name).text))
        name = logical.rsplit("/", 1)[-1]
        yield _unreadable(logical, name, f"folder cannot be listed: {exc.strerror}")
    failures.clear()


def _unreadable(logical: str, name: str, text: str) -> Item:
    return Item(
        path=logical,
        name=name,
        depth=0,
        status=Status.ERROR,
        issues=[Issue("walk", "unreadable", text)],
    )


def _disk_item(path: Path, logical: str, decoded: Name, info: os.stat_result) -> Item:
    name = decoded.text
    mtime = _fs_time(info.st_mtime)
    item = Item(path=logical, name=name, depth=0, mtime=mtime, outer_mtime=mtime)
    item.issues.extend(_encoding_issues(decoded, "file name on disk"))
    item.name_bytes = decoded.hex
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
    else:
        item.disk_path = path
        item.identity = identity_of(info)
    return item


def _encoding_issues(name: Name, what: str) -> list[Issue]:
    if name.raw is None:
        return []
    if name.encoding == "undecodable":
        text = f"{what} is not valid UTF-8 nor in a known code page; shown with U+FFFD"
    else:
        text = f"{what} is not UTF-8; read as {name.encoding}"
    return [Issue("walk", "name_encoding", f"{text} (bytes: {name.hex})")]


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
    name_encoding: str | None = None
    """Encoding of the member names that are not plain ASCII (``utf-8`` or a code page);
    None when every name is ASCII."""

    def hit(self, code: str) -> None:
        """Note a limit that left part of the archive unread (the archive is then partial)."""
        if code not in self.limits_hit:
            self.limits_hit.append(code)

    def saw_name(self, name: Name) -> None:
        """Track the encoding of the members' names (the first non-ASCII one decides)."""
        if self.name_encoding is None and name.encoding != "ascii":
            self.name_encoding = name.encoding

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


def _member_item(
    container: Item, decoded: Name | str, mtime: datetime | None, zone_known: bool
) -> Item:
    if isinstance(decoded, str):
        decoded = Name(decoded, "ascii" if decoded.isascii() else "utf-8")
    name = decoded.text
    item = Item(
        path=f"{container.path}{SEP}{path_part(name)}",
        name=name,
        depth=container.depth + 1,
        mtime=mtime,
        mtime_zone_known=zone_known,
        outer_mtime=container.outer_mtime,
        tree=container.tree,
        name_bytes=decoded.hex,
    )
    if decoded.encoding == "undecodable":
        item.issues.extend(_encoding_issues(decoded, "member name"))
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
    handle: BinaryIO = content.open()
    try:
        try:
            archive = zipfile.ZipFile(handle)
        except UnicodeDecodeError:
            # A name flagged UTF-8 that is not: zipfile refuses the whole directory. Read
            # those names as undeclared bytes instead (the flag bit cleared in a view of the
            # central directory; the input is never written) and keep every member.
            view = _Unflagged(handle)
            handle = cast(BinaryIO, view)
            archive = zipfile.ZipFile(handle)
            stats.issues.append(
                Issue(
                    "walk",
                    "name_encoding",
                    "member names flagged UTF-8 are not valid UTF-8: "
                    + ", ".join(sorted(n.hex(" ") for n in view.names)),
                )
            )
    except ZIP_READ_ERRORS as exc:
        directory = _has_directory(handle)
        handle.close()
        if not directory:  # cut before its central directory: not walked as a zip
            raise CorruptArchive(f"zip directory unreadable: {exc}") from exc
        # zipfile refuses a whole archive for one entry it does not support (a version it
        # does not know, a damaged entry); libarchive reads what it can, member by member.
        stats.issues.append(
            Issue(
                "walk",
                "zip_directory",
                f"zip central directory not readable by zipfile ({type(exc).__name__}: "
                f"{exc}); members read by libarchive instead",
            )
        )
        try:
            yield from _libarchive_entries(
                content, container, limits, tmpdir, stats, with_md5, "zip"
            )
        except _NotAnArchive as inner:
            raise CorruptArchive(f"zip directory unreadable: {exc}") from inner
        return
    budget = _Budget(limits, stats, lambda: content.size, container.tree)
    spans: list[tuple[int, int, str]] = []
    infos = archive.infolist()
    # Names without the UTF-8 flag are in whatever code page the packing machine used;
    # zipfile reads them as cp437 (a bijection), so their bytes come back exactly.
    guess = guess_encoding(
        info.orig_filename.encode("cp437") for info in infos if not info.flag_bits & 0x800
    )
    try:
        for index, info in enumerate(infos):
            if info.filename.endswith("/"):  # ZipInfo.is_dir() fails on an empty name
                stats.dirs += 1
                continue
            stats.members += 1
            when = _dos_time(info)
            stats.saw_time(when)
            decoded = _zip_name(info, guess)
            stats.saw_name(decoded)
            if not decoded.text:
                decoded = Name(f"member-{stats.members}", "ascii")
            item = _member_item(container, decoded, when, zone_known=False)
            if budget.tripped:
                yield _skip(
                    item,
                    budget.tripped,
                    "not read: " + budget.describe(budget.tripped),
                    info.file_size,
                )
                continue
            if stats.members > limits.max_members:
                stats.hit("limit.members")
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


class _Unflagged(io.RawIOBase):
    """A read-only view of a zip file in which the central directory entries whose names are
    flagged UTF-8 (general purpose bit 11) but are not valid UTF-8 lose that flag."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self._handle = handle
        self._patches: dict[int, int] = {}
        self.names: list[bytes] = []
        end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
        if end is None:
            return
        size = end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
        start = end[zipfile._ECD_LOCATION] - size  # type: ignore[attr-defined]
        handle.seek(max(start, 0))
        directory = handle.read(min(size, 1 << 26))
        at = 0
        while directory[at : at + 4] == b"PK\x01\x02" and at + 46 <= len(directory):
            flags = _u16(directory, at + 8)
            lengths = [
                int.from_bytes(directory[at + o : at + o + 2], "little") for o in (28, 30, 32)
            ]
            name = directory[at + 46 : at + 46 + lengths[0]]
            if flags & 0x800 and not _utf8(name):
                self._patches[start + at + 9] = directory[at + 9] & ~0x08
                self.names.append(name)
            at += 46 + sum(lengths)
        handle.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def readinto(self, buffer: Any) -> int:
        at = self._handle.tell()
        data = self._handle.read(len(buffer))
        if self._patches and data:
            patched = bytearray(data)
            for offset, value in self._patches.items():
                if at <= offset < at + len(data):
                    patched[offset - at] = value
            data = bytes(patched)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()


def _has_directory(handle: BinaryIO) -> bool:
    """Whether a zip's end-of-central-directory record is there (it is not when cut)."""
    try:
        return zipfile._EndRecData(handle) is not None  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return False


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _zip_name(info: zipfile.ZipInfo, guess: str | None) -> Name:
    if info.flag_bits & 0x800:
        return decode_name(info.orig_filename.encode("utf-8", "surrogatepass"))
    # zipfile cuts a name at its first NUL byte and so do we (it is never a real name).
    return decode_name(info.orig_filename.encode("cp437"), guess)


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
        for chunk, consumed in _zip_chunks(archive, info):
            spool.write(chunk)
            code = budget.charge(spool.size, len(chunk), consumed)
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


def _zip_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[tuple[bytes, int]]:
    """The decompressed bytes of a zip member, at most ``CHUNK`` at a time, each with the
    compressed bytes consumed so far: the ratio is judged on what came out of what went in,
    so a member of zeros is cut within its first megabytes, not after 200 times its size.

    zipfile reads a whole megabyte of compressed input ahead, and bounds its output only for
    deflate: for bzip2 and lzma it hands a whole read to ``decompress`` with no limit, and a
    bzip2 bomb then asks for gigabytes in one call. Compressed members are therefore decoded
    here from their raw bytes with ``max_length``, and checked against the CRC as zipfile
    would; stored ones and methods zipfile refuses go through zipfile."""
    if info.compress_type not in _DECODED_HERE:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                yield chunk, max(1, member.tell())
        return
    raw = copy.copy(info)
    raw.compress_type = zipfile.ZIP_STORED
    raw.file_size = info.compress_size
    del raw.CRC  # the stored CRC is the decompressed bytes'; checked below instead
    crc = 0
    with archive.open(raw) as member:
        for out, consumed in _bounded_decompress(member, info.compress_type):
            crc = zlib.crc32(out, crc)
            yield out, max(1, consumed)
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


_DECODED_HERE = (zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

RAW_READ = 1 << 18
"""Compressed bytes read at a time from a zip member (the ratio's denominator moves by
at most this much)."""


def _bounded_decompress(member: IO[bytes], method: int) -> Iterator[tuple[bytes, int]]:
    """``(output, compressed bytes consumed)`` pieces of a raw deflate, bzip2 or zip-lzma
    stream, never more than ``CHUNK`` of output per call."""
    if method == zipfile.ZIP_DEFLATED:
        yield from _inflate(member)
        return
    decompressor: Any
    fed = 0
    if method == zipfile.ZIP_BZIP2:
        decompressor = bz2.BZ2Decompressor()
    else:
        # zip's lzma members: 2 bytes of version, 2 of properties size, the properties,
        # then a raw LZMA1 stream (APPNOTE 5.8.8), as zipfile.LZMADecompressor reads them.
        header = member.read(4)
        if len(header) < 4:
            raise EOFError("lzma member header cut short")
        props = member.read(int.from_bytes(header[2:4], "little"))
        fed = 4 + len(props)
        decode_props = lzma._decode_filter_properties  # type: ignore[attr-defined]
        decompressor = lzma.LZMADecompressor(
            lzma.FORMAT_RAW, filters=[decode_props(lzma.FILTER_LZMA1, props)]
        )
    while not decompressor.eof:
        data = member.read(RAW_READ)
        fed += len(data)
        if not data and decompressor.needs_input:
            raise EOFError("compressed member data cut short")
        while True:
            out = decompressor.decompress(data, CHUNK)
            data = b""
            if out:
                yield out, fed
            if decompressor.eof or decompressor.needs_input:
                break


def _inflate(member: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    fed = 0
    while not inflater.eof:
        data = member.read(RAW_READ)
        fed += len(data)
        pending = data
        while True:  # until this input is used up and nothing more comes out of it
            out = inflater.decompress(pending, CHUNK)
            pending = inflater.unconsumed_tail
            if out:
                yield out, fed - len(pending)
            if inflater.eof or (not pending and not out):
                break
        if not data and not inflater.eof:
            raise EOFError("compressed member data cut short")


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


@contextlib.contextmanager
def _open_libarchive(content: Content, format_name: str) -> Iterator[libarchive.read.ArchiveRead]:
    if content.data is not None:
        with libarchive.memory_reader(content.data, format_name=format_name) as archive:
            yield archive
        return
    # Through a descriptor checked by diskfile, never by libarchive opening the path itself.
    with (
        content.open() as handle,
        libarchive.fd_reader(handle.fileno(), format_name=format_name) as archive,
    ):
        yield archive


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


_STREAMED_ARCHIVES = ("tar", "cpio")
"""Archive formats that are read as one with the compression around them (``.tar.gz``);
anything else inside a compressed stream is that stream's one member."""


def _filters(archive: libarchive.read.ArchiveRead) -> list[str]:
    return [name for f in archive.filter_names if (name := _text(f)) != "none"]


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
    names = _EntryNames()
    try:
        with _open_libarchive(content, format_name) as archive:
            reader.append(archive)
            entries = iter(archive)
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    if not seen_any and format_name == "all" and _filters(archive):
                        # A compressed stream whose content merely looks like an empty tar
                        # (it starts with 512 zero bytes): its payload is one member.
                        raise _NotAnArchive from None
                    break
                except libarchive.exception.ArchiveError as exc:
                    if not seen_any and format_name == "all" and "Unrecognized" in str(exc):
                        raise _NotAnArchive from exc
                    if not seen_any:
                        raise CorruptArchive(str(exc)) from exc
                    stats.issues.append(Issue("walk", "corrupt", f"archive listing stopped: {exc}"))
                    break
                if not seen_any and format_name == "all" and _filters(archive):
                    packed = _text(archive.format_name).lower()
                    if not any(kind in packed for kind in _STREAMED_ARCHIVES):
                        # A compressed stream is typed by what it decompresses to: a
                        # .docx.gz is a docx (one member), not the zip of its XML parts.
                        raise _NotAnArchive
                seen_any = True
                stats.format = _text(archive.format_name)
                stats.filters = [_text(f) for f in archive.filter_names if _text(f) != "none"]
                if entry.isdir:
                    stats.dirs += 1
                    continue
                stats.members += 1
                if format_name == "raw":
                    decoded = Name(_raw_member_name(container.name), "ascii")
                else:
                    decoded = names.decode(entry)
                    stats.saw_name(decoded)
                if not decoded.text:
                    decoded = Name(f"member-{stats.members}", "ascii")
                mtime = _fs_time(entry.mtime) if entry.mtime else None
                stats.saw_time(mtime)
                item = _member_item(container, decoded, mtime, format_name != "zip")
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
                    stats.hit("limit.members")
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
    except (_NotAnArchive, CorruptArchive):
        raise
    except libarchive.exception.ArchiveError as exc:
        if not seen_any:
            if format_name == "all" and "Unrecognized" in str(exc):
                raise _NotAnArchive from exc
            raise CorruptArchive(str(exc)) from exc
        stats.issues.append(Issue("walk", "corrupt", f"archive reading stopped: {exc}"))
    if budget.tripped and budget.tripped not in stats.limits_hit:
        stats.limits_hit.append(budget.tripped)


class _EntryNames:
    """Decodes the names of one archive's entries from their bytes.

    libarchive-c gives text only when the name converts in the process's locale, and bytes
    otherwise; the bytes are taken here, always, and decoded in the encoding that the first
    non-ASCII names fit best (names are streamed: after ``GUESS_FROM`` the guess stays)."""

    GUESS_FROM = 8

    def __init__(self) -> None:
        self.guess: str | None = None
        self._samples: list[bytes] = []

    def decode(self, entry: libarchive.entry.ArchiveEntry) -> Name:
        raw = libarchive.ffi.entry_pathname(entry._entry_p)
        if raw is None:
            wide = libarchive.ffi.entry_pathname_w(entry._entry_p)
            raw = wide.encode("utf-8", "surrogatepass") if wide else b""
        if not raw.isascii() and len(self._samples) < self.GUESS_FROM:
            self._samples.append(raw)
            self.guess = guess_encoding(self._samples)
        return decode_name(raw, self.guess)


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
    if spool.size == 0 and declared is None and "rar" in budget.stats.format.lower():
        # A RAR5 "file copy" entry (a reference to an earlier member's data) or another
        # feature libarchive lists without reading: no bytes and no size. It is not an empty
        # file, and the hash of nothing must not stand for it.
        spool.discard()
        item.status = Status.ERROR
        item.issues.append(
            Issue(
                "walk",
                "unsupported_entry",
                "RAR entry listed without its data (a RAR5 file-copy reference or another "
                "feature libarchive does not read): content unknown, not an empty file",
            )
        )
        return item
    item.content = spool.finish()
    return item


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
