"""Every other archive and compressed stream (tar.*, gz, bz2, xz, zst, 7z, rar, cpio, iso)
through libarchive, read as streams, names taken as bytes and decoded."""

from __future__ import annotations

import bz2
import contextlib
import ctypes
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import libarchive
import libarchive.entry
import libarchive.exception
import libarchive.ffi
import libarchive.read

from leaktriage.config import Limits
from leaktriage.model import Issue, Status
from leaktriage.safetext import Name, decode_name, guess_encoding
from leaktriage.walk.budget import (
    ArchiveStats,
    CorruptArchive,
    _Budget,
    _member_item,
    _skip,
)
from leaktriage.walk.content import (
    _COMPRESSED_STREAM_SUFFIXES,
    CHUNK,
    Content,
    Item,
    Spool,
    _fs_time,
)


def _raw_member_name(container_name: str) -> str:
    lowered = container_name.lower()
    if lowered.endswith((".tgz", ".taz")):
        return container_name[:-4] + ".tar"
    for suffix in _COMPRESSED_STREAM_SUFFIXES:
        if lowered.endswith(suffix) and len(container_name) > len(suffix):
            return container_name[: -len(suffix)]
    return container_name + ".data"


@contextlib.contextmanager
def _open_libarchive(
    content: Content, format_name: str, filter_name: str = "all"
) -> Iterator[libarchive.read.ArchiveRead]:
    if content.data is not None:
        with libarchive.memory_reader(
            content.data, format_name=format_name, filter_name=filter_name
        ) as archive:
            yield archive
        return
    # Through a descriptor checked by diskfile, never by libarchive opening the path itself.
    with (
        content.open() as handle,
        libarchive.fd_reader(
            handle.fileno(), format_name=format_name, filter_name=filter_name
        ) as archive,
    ):
        yield archive


def _iter_libarchive(
    content: Content,
    container: Item,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool,
    mime: str = "",
) -> Iterator[Item]:
    # One layer of compression at a time: libarchive would strip every filter it knows in
    # a row, and the inner notes.txt.gz of notes.txt.gz.gz would have no record of its own.
    unpack = _OUTER_FILTER.get(mime, "all")
    try:
        yield from _libarchive_entries(
            content, container, limits, tmpdir, stats, with_md5, "all", unpack
        )
    except _NotAnArchive:
        # A bare compressed stream (report.pdf.gz): one member, named after the container.
        if mime in _ONE_LAYER:
            member = _one_layer(content, container, limits, tmpdir, stats, with_md5, mime)
            if member is not None:
                yield member
            return
        yield from _libarchive_entries(
            content, container, limits, tmpdir, stats, with_md5, "raw", unpack
        )


_ONE_LAYER = frozenset(
    {"application/gzip", "application/x-bzip2", "application/x-xz", "application/x-lzma"}
)
"""Compressed streams the standard library decodes one layer at a time, with bounded reads
(libarchive strips every layer it recognises, even with one filter named, so the inner
notes.txt.gz of notes.txt.gz.gz would have no record of its own)."""


def _decoder(mime: str, raw: BinaryIO) -> io.BufferedIOBase:
    if mime == "application/gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if mime == "application/x-bzip2":
        return bz2.BZ2File(raw, mode="rb")
    return lzma.LZMAFile(raw, mode="rb")


def _one_layer(
    content: Content,
    container: Item,
    limits: Limits,
    tmpdir: Path,
    stats: ArchiveStats,
    with_md5: bool,
    mime: str,
) -> Item | None:
    """The one member of a compressed stream, decoded by the standard library; None for a
    compressed empty tar (nothing but end-of-archive zero blocks: an archive with no
    member, which libarchive lists as such)."""
    stats.format = "raw"
    stats.filters = [_OUTER_FILTER[mime]]
    stats.members = 1
    item = _member_item(container, Name(_raw_member_name(container.name), "ascii"), None, True)
    raw = content.open()
    budget = _Budget(limits, stats, raw.tell, container.tree)
    spool = Spool(limits.memory_spool_bytes, tmpdir, with_md5)
    zeros = True
    try:
        with raw, _decoder(mime, raw) as stream:
            while block := stream.read(CHUNK):
                zeros = zeros and not block.strip(b"\0")
                spool.write(block)
                code = budget.charge(spool.size, len(block))
                if code:
                    spool.discard()
                    stats.hit(code)
                    return _skip(item, code, budget.describe(code))
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        # Whatever came out before the damage is what the file holds: kept, and said.
        stats.issues.append(Issue("walk", "corrupt", f"compressed stream cut or damaged: {exc}"))
        if spool.size == 0:
            spool.discard()
            item.status = Status.ERROR
            item.issues.append(Issue("walk", "corrupt", f"nothing could be decompressed: {exc}"))
            return item
    if zeros and spool.size >= 1024 and spool.size % 512 == 0:
        spool.discard()
        stats.format, stats.members = "tar (empty: end-of-archive blocks only)", 0
        return None
    item.content = spool.finish()
    return item


_OUTER_FILTER = {
    "application/gzip": "gzip",
    "application/x-bzip2": "bzip2",
    "application/x-xz": "xz",
    "application/zstd": "zstd",
    "application/x-lzma": "lzma",
    "application/x-compress": "compress",
}
"""The one compression filter a stream of each type is opened with."""


class _NotAnArchive(Exception):
    pass


_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x5d\x00\x00")
"""The first bytes of a gzip, bzip2, xz or lzma stream."""
_MIME_OF_FILTER = {name: mime for mime, name in _OUTER_FILTER.items()}


def _stacked(content: Content, filter_name: str) -> bool:
    """Whether the stream's outer layer, one the standard library decodes, decompresses to
    another compressed stream (read: its first bytes only)."""
    mime = _MIME_OF_FILTER.get(filter_name, "")
    if mime not in _ONE_LAYER:
        return False
    try:
        with content.open() as raw, _decoder(mime, raw) as stream:
            head = stream.read(6)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return False
    return head.startswith(_COMPRESSED_MAGIC)


_STREAMED_ARCHIVES = ("tar", "pax", "ustar", "cpio")
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
    filter_name: str = "all",
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
        with _open_libarchive(content, format_name, filter_name) as archive:
            reader.append(archive)
            entries = iter(archive)
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    packed = _text(archive.format_name).lower()
                    generic = packed in ("tar", "empty file", "") or not any(
                        kind in packed for kind in _STREAMED_ARCHIVES
                    )
                    if not seen_any and format_name == "all" and _filters(archive) and generic:
                        # A compressed stream whose content merely looks like an empty tar
                        # (it starts with zero blocks): its payload is one member, unless it
                        # is nothing but zero blocks (see _one_layer). A tar that says what
                        # it is (a pax global header) and holds nothing is an empty archive.
                        raise _NotAnArchive from None
                    if not seen_any:
                        stats.format = _text(archive.format_name)
                    break
                except libarchive.exception.ArchiveError as exc:
                    if not seen_any and format_name == "all" and "Unrecognized" in str(exc):
                        raise _NotAnArchive from exc
                    if not seen_any and format_name == "all" and _filters(archive):
                        # An archive libarchive cannot read through a compression filter
                        # (7-Zip needs to seek): the stream's payload is its one member.
                        raise _NotAnArchive from exc
                    if not seen_any:
                        raise CorruptArchive(str(exc)) from exc
                    stats.issues.append(Issue("walk", "corrupt", f"archive listing stopped: {exc}"))
                    break
                if not seen_any and format_name == "all" and _filters(archive):
                    packed = _text(archive.format_name).lower()
                    # Two layers (x.tar.gz.gz): libarchive strips both; one at a time here.
                    stacked = len(_filters(archive)) > 1
                    if stacked or not any(kind in packed for kind in _STREAMED_ARCHIVES):
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
                if entry.mtime and mtime is None:
                    text = f"member time {entry.mtime} s since 1970 is out of any date's range"
                    item.issues.append(Issue("walk", "odd_time", text))
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
            if format_name == "all" and _stacked(content, filter_name):
                # x.tar.xz.xz whose inner stream is damaged: libarchive fails through both
                # layers at once; the outer layer alone still holds one member (its record
                # then says what is wrong with it).
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
