"""A small compound-file (MS-CFB, OLE2) writer for fixtures: olefile can read but not create.

Written from the published layout ([MS-CFB] version 3): a 512-byte header, 512-byte sectors,
a FAT (with DIFAT sectors past 109 FAT sectors), a directory of 128-byte entries whose
siblings form a binary search tree (all black, balanced), and a mini stream of 64-byte
sectors for streams under 4096 bytes. The output is deterministic: the same streams and
times give the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
ENTRY_SIZE = 128
HEADER_DIFAT = 109
"""FAT sector locations held in the header itself."""

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
DIFSECT = 0xFFFFFFFC
NOSTREAM = 0xFFFFFFFF

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

_STORAGE, _STREAM, _ROOT = 1, 2, 5
_BLACK = 1


def filetime(value: datetime | None) -> int:
    """A timezone-aware datetime as a Windows FILETIME (100-ns ticks since 1601); 0 for None."""
    if value is None:
        return 0
    if value.tzinfo is None:
        raise ValueError("FILETIME needs an aware datetime")
    delta = value.astimezone(UTC) - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def name_key(name: str) -> tuple[int, str]:
    """MS-CFB sibling order: shorter names first, then by upper-cased UTF-16 code units."""
    return (len(name.encode("utf-16-le")) // 2, name.upper())


@dataclass(slots=True)
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = ENDOFCHAIN


def _tree(streams: Mapping[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", _ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        is_storage = parts[-1] == ""
        if is_storage:
            parts = parts[:-1]
        if not parts or any(not part for part in parts):
            raise ValueError(f"bad stream path {path!r}")
        node = root
        for part in parts[:-1]:
            found = node.children.setdefault(part, _Entry(part, _STORAGE))
            if found.kind != _STORAGE:
                raise ValueError(f"{part!r} is both a stream and a storage")
            node = found
        leaf = parts[-1]
        if len(leaf.encode("utf-16-le")) > 62:
            raise ValueError(f"name {leaf!r} is over 31 UTF-16 code units")
        if leaf in node.children:
            raise ValueError(f"duplicate entry {path!r}")
        node.children[leaf] = (
            _Entry(leaf, _STORAGE) if is_storage else _Entry(leaf, _STREAM, data=bytes(data))
        )
    return root


def _number(root: _Entry) -> list[_Entry]:
    """Directory order: root first, then each storage's children, breadth-first in key order."""
    order = [root]
    pending = [root]
    while pending:
        node = pending.pop(0)
        for child in sorted(node.children.values(), key=lambda e: name_key(e.name)):
            child.sid = len(order)
            order.append(child)
            if child.kind == _STORAGE:
                pending.append(child)
    return order


def _link(node: _Entry) -> None:
    """Make each storage's children a balanced search tree (all black, so it is valid)."""
    ordered = sorted(node.children.values(), key=lambda e: name_key(e.name))

    def build(low: int, high: int) -> int:
        if low >= high:
            return NOSTREAM
        middle = (low + high) // 2
        entry = ordered[middle]
        entry.left = build(low, middle)
        entry.right = build(middle + 1, high)
        return entry.sid

    node.child = build(0, len(ordered))
    for child in ordered:
        if child.kind == _STORAGE:
            _link(child)


def _sectors(size: int, unit: int) -> int:
    return -(-size // unit)


def _pad(data: bytes, unit: int) -> bytes:
    return data + b"\0" * (-len(data) % unit)


def _chain(fat: list[int], start: int, count: int) -> None:
    for index in range(count):
        fat[start + index] = start + index + 1 if index + 1 < count else ENDOFCHAIN


def _dir_entry(entry: _Entry, clsid: bytes, created: int, modified: int, size: int) -> bytes:
    encoded = entry.name.encode("utf-16-le") + b"\0\0"
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        encoded,
        len(encoded),
        entry.kind,
        _BLACK,
        entry.left,
        entry.right,
        entry.child,
        clsid,
        0,
        created,
        modified,
        entry.start,
        size,
    )


_EMPTY_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
)


def build_cfb(
    streams: Mapping[str, bytes],
    *,
    root_clsid: bytes = b"\0" * 16,
    created: datetime | None = None,
    modified: datetime | None = None,
) -> bytes:
    """A version-3 compound file holding ``streams``.

    Args:
        streams: stream paths to contents, in any order. ``"WordDocument"`` is a stream at the
            top; ``"Macros/VBA/dir"`` creates the storages ``Macros`` and ``Macros/VBA``; a
            path ending in ``/`` (``"ObjectPool/"``) is an empty storage. Names are at most 31
            UTF-16 code units and may start with control characters (``"\\x05Summary..."``).
        root_clsid: the CLSID of the root storage (Word writes 00020906-...).
        created: creation time of every storage below the root (MS-CFB requires the root's
            own creation time to be zero, and streams carry no times).
        modified: modification time of the root and of every storage.

    Returns:
        The file's bytes.
    """
    if len(root_clsid) != 16:
        raise ValueError("root_clsid must be 16 bytes")
    root = _tree(streams)
    entries = _number(root)
    _link(root)
    created_ft, modified_ft = filetime(created), filetime(modified)

    mini_entries = [e for e in entries if e.kind == _STREAM and 0 < len(e.data) < MINI_CUTOFF]
    big_entries = [e for e in entries if e.kind == _STREAM and len(e.data) >= MINI_CUTOFF]

    # Mini stream: every small stream in 64-byte mini sectors, chained in the mini FAT.
    minifat: list[int] = []
    mini_stream = bytearray()
    for entry in mini_entries:
        count = _sectors(len(entry.data), MINI_SECTOR)
        entry.start = len(minifat)
        minifat.extend(range(entry.start + 1, entry.start + count))
        minifat.append(ENDOFCHAIN)
        mini_stream += _pad(entry.data, MINI_SECTOR)

    dir_count = _sectors(len(entries) * ENTRY_SIZE, SECTOR)
    minifat_count = _sectors(len(minifat) * 4, SECTOR)
    ministream_count = _sectors(len(mini_stream), SECTOR)
    big_counts = [_sectors(len(e.data), SECTOR) for e in big_entries]
    content = dir_count + minifat_count + ministream_count + sum(big_counts)

    # FAT sectors must also map themselves and the DIFAT sectors: iterate to a fixed point.
    fat_count, difat_count = 1, 0
    while True:
        difat_count = _sectors(max(0, fat_count - HEADER_DIFAT), SECTOR // 4 - 1)
        needed = _sectors(content + fat_count + difat_count, SECTOR // 4)
        if needed <= fat_count:
            break
        fat_count = needed
    total = fat_count + difat_count + content

    fat = [FREESECT] * (fat_count * SECTOR // 4)
    fat_start, difat_start = 0, fat_count
    for index in range(fat_count):
        fat[fat_start + index] = FATSECT
    for index in range(difat_count):
        fat[difat_start + index] = DIFSECT
    position = fat_count + difat_count
    dir_start = position
    _chain(fat, dir_start, dir_count)
    position += dir_count
    minifat_start = position if minifat_count else ENDOFCHAIN
    _chain(fat, position, minifat_count)
    position += minifat_count
    root.start = position if ministream_count else ENDOFCHAIN
    _chain(fat, position, ministream_count)
    position += ministream_count
    for entry, count in zip(big_entries, big_counts, strict=True):
        entry.start = position
        _chain(fat, position, count)
        position += count
    assert position == total

    header = bytearray(SECTOR)
    struct.pack_into(
        "<8s16sHHHHH6sIIIIIIIII",
        header,
        0,
        SIGNATURE,
        b"\0" * 16,
        0x003E,
        0x0003,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        fat_count,
        dir_start,
        0,
        MINI_CUTOFF,
        minifat_start,
        minifat_count,
        difat_start if difat_count else ENDOFCHAIN,
        difat_count,
    )
    fat_locations = [fat_start + i for i in range(fat_count)]
    head_difat = fat_locations[:HEADER_DIFAT] + [FREESECT] * (HEADER_DIFAT - min(fat_count, 109))
    struct.pack_into(f"<{HEADER_DIFAT}I", header, 76, *head_difat)

    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    rest = fat_locations[HEADER_DIFAT:]
    per = SECTOR // 4 - 1
    for index in range(difat_count):
        chunk = rest[index * per : (index + 1) * per]
        chunk += [FREESECT] * (per - len(chunk))
        following = difat_start + index + 1 if index + 1 < difat_count else ENDOFCHAIN
        out += struct.pack(f"<{per + 1}I", *chunk, following)

    directory = bytearray()
    for entry in entries:
        if entry.kind == _ROOT:
            directory += _dir_entry(entry, root_clsid, 0, modified_ft, len(mini_stream))
        elif entry.kind == _STORAGE:
            directory += _dir_entry(entry, b"\0" * 16, created_ft, modified_ft, 0)
        else:
            directory += _dir_entry(entry, b"\0" * 16, 0, 0, len(entry.data))
    while len(directory) % SECTOR:
        directory += _EMPTY_ENTRY
    out += directory
    if minifat:
        out += _pad(struct.pack(f"<{len(minifat)}I", *minifat), SECTOR)
        tail = len(minifat) % (SECTOR // 4)
        if tail:
            # Unused mini FAT slots are FREESECT, not zero (zero would chain to sector 0).
            out[-(SECTOR - tail * 4) :] = b"\xff" * (SECTOR - tail * 4)
    out += _pad(bytes(mini_stream), SECTOR)
    for entry in big_entries:
        out += _pad(entry.data, SECTOR)
    assert len(out) == SECTOR * (1 + total)
    return bytes(out)
