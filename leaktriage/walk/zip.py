"""Zip archives through the standard library's directory reader (exact DOS times, flags),
their members decoded here with bounded output, names in their real code page."""

from __future__ import annotations

import bz2
import copy
import io
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from leaktriage.config import Limits
from leaktriage.detect import ZIP_READ_ERRORS
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
    CHUNK,
    Content,
    Item,
    Spool,
)
from leaktriage.walk.streams import (
    _libarchive_entries,
    _NotAnArchive,
)


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
        concat = start - end[zipfile._ECD_OFFSET]  # type: ignore[attr-defined]  # data before
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
                # zipfile checks the local header's name under the local header's flag too.
                local = int.from_bytes(directory[at + 42 : at + 46], "little") + concat
                handle.seek(local)
                header = handle.read(8)
                if header[:4] == b"PK\x03\x04":
                    self._patches[local + 7] = header[7] & ~0x08
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
