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

from collections.abc import Iterator
from pathlib import Path

from leaktriage.config import Limits
from leaktriage.walk.budget import ArchiveStats, CorruptArchive
from leaktriage.walk.content import (
    CHUNK,
    Content,
    Item,
    Spool,
    TreeBudget,
    adopt_file,
    read_disk_file,
)
from leaktriage.walk.names import ESCAPE, SEP, name_issues, path_part, unescape_part
from leaktriage.walk.streams import _iter_libarchive
from leaktriage.walk.tree import iter_tree
from leaktriage.walk.zip import _iter_zip

__all__ = [
    "CHUNK",
    "ESCAPE",
    "SEP",
    "ArchiveStats",
    "Content",
    "CorruptArchive",
    "Item",
    "Spool",
    "TreeBudget",
    "adopt_file",
    "iter_archive",
    "iter_tree",
    "name_issues",
    "path_part",
    "read_disk_file",
    "unescape_part",
]


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
        yield from _iter_libarchive(content, container, limits, tmpdir, stats, with_md5, mime)
