"""Opening files of the dump without following what was swapped in after they were listed.

A dump is a folder somebody else controls while the scan runs (a synced share, a mounted
image, a hostile unpacker). Between listing a file and reading it, it can be replaced by a
symlink to ``/etc/passwd`` or by a FIFO that blocks any reader. Every open of a dump file
goes through :func:`open_regular`: no symlink is followed at the last component
(``O_NOFOLLOW``), nothing blocks on open (``O_NONBLOCK``: a FIFO opens at once and is then
refused), the descriptor is checked with ``fstat`` to be a regular file, and, when the file
was listed before, to be the same file (``st_dev``, ``st_ino``) - which also catches a
folder higher up swapped for a symlink.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

Identity = tuple[int, int]
"""``(st_dev, st_ino)`` of a file as listed."""

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class SwappedFile(OSError):
    """The path no longer names the regular file that was listed."""


def identity_of(info: os.stat_result) -> Identity:
    """The identity of a listed file."""
    return (info.st_dev, info.st_ino)


def open_regular(
    path: str | Path, identity: Identity | None = None, dir_fd: int | None = None
) -> BinaryIO:
    """``path`` opened for reading, refused unless it is (still) the regular file listed."""
    try:
        fd = os.open(path, _FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symbolic link now
            raise SwappedFile(exc.errno, "replaced by a symbolic link since it was listed") from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SwappedFile(
                0, f"no longer a regular file (mode {stat.filemode(info.st_mode)}); not read"
            )
        if identity is not None and identity_of(info) != identity:
            raise SwappedFile(0, "replaced by another file since it was listed; not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, both resolved (False when either
    cannot be resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True
