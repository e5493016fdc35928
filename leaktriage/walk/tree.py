"""Folders on disk walked through their descriptors: every file, symlink and special file
becomes an item, sorted, with the identity it is read under (``diskfile``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from leaktriage.diskfile import identity_of
from leaktriage.model import Issue, Status
from leaktriage.safetext import Name, disk_name
from leaktriage.walk.content import (
    Item,
    _fs_time,
)
from leaktriage.walk.names import (
    _encoding_issues,
    path_part,
)


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
