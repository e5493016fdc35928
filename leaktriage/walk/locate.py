"""One item of a finished scan found again in its dump by walking only its provenance chain.

``leaktriage evidence`` must hand over the very bytes a record was made from, and every
container they came out of, without scanning the dump again. The chain is followed level by
level, the way the scan reached it: the outermost file is opened read-only through
``diskfile`` (folders through their descriptors, no symlink followed), an archive's member
is found by name with the walk's own readers (``iter_archive``: zip and libarchive, names
decoded as in the scan, counted against the scan's limits), and an email's or mailbox's
inner item is taken from the extractor run on the container, as the scan named it
(``pipeline.items``: the child's name cleaned and escaped with ``path_part``).

Each level's bytes are copied to a file the caller names (the pack's own file), hashed on
the way, and the next level is read from that copy: nothing is ever written into the dump,
and what the pack holds is exactly what was walked. Two members of one name are told apart
by the sha256 the store recorded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from leaktriage import detect
from leaktriage.config import Limits, ScanConfig
from leaktriage.diskfile import SwappedFile, open_regular
from leaktriage.extractors import Extraction, Source
from leaktriage.model import Status
from leaktriage.safetext import clean, disk_name
from leaktriage.walk.budget import ArchiveStats, CorruptArchive
from leaktriage.walk.content import CHUNK, Content, Hasher, Item, Spool, TreeBudget
from leaktriage.walk.names import SEP, path_part, unescape_part

from . import iter_archive

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class Link:
    """One level of a provenance chain as the store recorded it."""

    path: str
    """Provenance path (``dump/a.zip!b.tar.gz!c.pdf``), as ``files.jsonl`` shows it."""
    name: str
    """The level's own name (the last element of ``path``, unescaped)."""
    sha256: str | None
    """The bytes' sha256 the scan recorded (None when it did not read them)."""
    mime: str
    """The type the scan sniffed: an archive is opened with the walk's readers, anything
    else with children through its extractor."""


@dataclass(slots=True)
class Located:
    """What was found for one level of the chain."""

    link: Link
    target: Path
    """Where its bytes were (or would have been) written."""
    size: int | None = None
    sha256: str | None = None
    """The sha256 of the bytes found (None when none were)."""
    problem: str | None = None
    """Why the bytes are missing, or how they differ from the record's; None when they match."""

    @property
    def found(self) -> bool:
        """Bytes were found and written to ``target``."""
        return self.sha256 is not None

    @property
    def verified(self) -> bool:
        """The bytes found are the ones the scan recorded."""
        return self.found and self.problem is None


ExtractFn = Callable[[Source], tuple[Extraction, Status]]
"""How an email or mailbox container's inner items are taken out: the extraction and its
status (``pipeline.extract``, run in this process or in a worker under the scan's time and
memory limits, as the caller chooses)."""


@dataclass(slots=True)
class Locator:
    """Follows provenance chains under one dump root, within the limits of the scan."""

    root: Path
    """The dump as the scan was given it (the ``runs`` table's ``input_path``)."""
    config: ScanConfig
    tmpdir: Path
    """A private folder for archive members spooled past ``Limits.memory_spool_bytes``."""
    extract: ExtractFn
    _tree: TreeBudget | None = field(default=None, init=False)

    @property
    def limits(self) -> Limits:
        """The scan's limits (sizes, ratios, members, depth)."""
        return self.config.limits

    def locate(self, chain: list[Link], targets: list[Path]) -> list[Located]:
        """Write the bytes of every level of ``chain`` (outermost first) to ``targets``.

        Stops at the first level that cannot be found (the dump is gone, a member is no
        longer there): the levels below it are returned with the reason and no bytes. A
        level whose bytes differ from the record's sha256 is still written, and still
        opened for the next level (the record's bytes may be unchanged inside it)."""
        out: list[Located] = []
        content: Content | None = None
        for depth, (link, target) in enumerate(zip(chain, targets, strict=True)):
            if depth == 0:
                found = self._outermost(link, target)
            elif content is None:
                found = Located(link, target, problem="its container could not be read")
            else:
                found = self._inner(chain[depth - 1], content, link, target, depth)
            out.append(found)
            content = _copied(found) if found.found else None
        return out

    # --- the outermost file --------------------------------------------------------------------

    def _outermost(self, link: Link, target: Path) -> Located:
        try:
            with self._open_on_disk(link.path) as handle:
                size = os.fstat(handle.fileno()).st_size
                self._tree = TreeBudget(size)
                digest = _copy(handle, target)
        except (OSError, LookupError) as exc:
            return Located(link, target, problem=f"not found in the dump: {_why(exc)}")
        return _checked(Located(link, target, target.stat().st_size, digest))

    @contextlib.contextmanager
    def _open_on_disk(self, logical: str) -> Iterator[BinaryIO]:
        """The dump file at provenance path ``logical`` (no ``!``), opened read-only: each
        folder through the descriptor of the one above it, none of them a symlink."""
        parts = logical.split("/")
        base = path_part(disk_name(self.root.name or str(self.root)).text)
        if clean(parts[0]) != parts[0] or parts[0] != clean(base):
            raise LookupError(f"{logical!r} is not under the scanned root {str(self.root)!r}")
        if len(parts) == 1:
            yield open_regular(self.root)
            return
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for part in parts[1:-1]:
                name = _entry(fd, part)
                inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = inner
            handle = open_regular(_entry(fd, parts[-1]), dir_fd=fd)
        finally:
            os.close(fd)
        with handle:
            yield handle

    # --- one level inside a container ----------------------------------------------------------

    def _inner(
        self, parent: Link, content: Content, link: Link, target: Path, depth: int
    ) -> Located:
        container = Item(path=parent.path, name=parent.name, depth=depth - 1, tree=self._tree)
        try:
            if detect.is_archive(parent.mime):
                member = self._member(content, container, parent.mime, link)
            else:
                member = self._child(content, parent, link)
        except CorruptArchive as exc:
            return Located(link, target, problem=f"its container cannot be listed: {exc}")
        if isinstance(member, str):
            return Located(link, target, problem=member)
        try:
            with member.open() as handle:
                digest = _copy(handle, target)
        finally:
            member.release()
        return _checked(Located(link, target, target.stat().st_size, digest))

    def _member(self, content: Content, container: Item, mime: str, link: Link) -> Content | str:
        """The archive member at ``link``, read with the walk's readers under the limits; or
        why it is not there."""
        stats = ArchiveStats()
        chosen: Content | None = None
        reason = ""
        for member in iter_archive(
            content, container, mime, self.limits, self.tmpdir, stats, with_md5=False
        ):
            if clean(member.path) != link.path:
                if member.content is not None:
                    member.content.release()
                continue
            if member.content is None:
                reason = _not_read(member)
                continue
            if member.content.sha256 == link.sha256 or chosen is None:
                if chosen is not None:
                    chosen.release()
                chosen = member.content
                if chosen.sha256 == link.sha256:
                    break  # the generator is closed: the rest of the archive is not read
            else:
                member.content.release()
        if chosen is not None:
            return chosen
        if reason:
            return reason
        if stats.limits_hit:
            return "not reached: the archive hit the scan's limit " + ", ".join(stats.limits_hit)
        return "no member of that name in its container"

    def _child(self, content: Content, parent: Link, link: Link) -> Content | str:
        """The inner item at ``link`` of an email, mailbox or other container that is not an
        archive, taken out by its extractor as the scan took it."""
        if content.size > self.limits.max_parse_bytes:
            return "its container is over the scan's parse limit; the scan did not open it"
        source = Source(
            name=parent.name,
            mime=parent.mime,
            size=content.size,
            path=content.path,
            text_sample_bytes=self.config.text_sample_bytes,
        )
        extraction, status = self.extract(source)
        chosen: bytes | None = None
        for index, child in enumerate(extraction.children):
            data = child.path.read_bytes() if child.path is not None else child.data
            if child.path is not None:
                child.path.unlink(missing_ok=True)
            if index >= self.limits.max_children or chosen is not None:
                continue
            path = f"{parent.path}{SEP}{path_part(clean(child.name))}"
            if clean(path) != link.path:
                continue
            if link.sha256 is None or hashlib.sha256(data).hexdigest() == link.sha256:
                chosen = data
            elif chosen is None:
                chosen = data  # kept unless a later child of the same name matches
        if chosen is None:
            if status is Status.ERROR:
                return "its container could not be parsed again; " + "; ".join(
                    f"{i.code}: {i.message}" for i in extraction.issues[:3]
                )
            return "no inner item of that name in its container"
        spool = Spool(self.limits.memory_spool_bytes, self.tmpdir, with_md5=False)
        spool.write(chosen)
        return spool.finish()


def _entry(dir_fd: int, part: str) -> str:
    """The name in folder ``dir_fd`` that the scan wrote as ``part`` of a provenance path
    (names not in UTF-8 were decoded in their code page: the folder is listed to find
    them back)."""
    name = unescape_part(part)
    if clean(path_part(disk_name(name).text)) == part:
        with contextlib.suppress(OSError):
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            return name
    for entry in sorted(os.listdir(dir_fd)):
        if clean(path_part(disk_name(entry).text)) == part:
            return entry
    raise FileNotFoundError(errno.ENOENT, "no such file or folder", part)


def _copy(handle: BinaryIO, target: Path) -> str:
    """Copy ``handle`` to a new file ``target``; its sha256."""
    hasher = Hasher(with_md5=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as out:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    return hasher.digests()[0]


def _copied(found: Located) -> Content:
    """The bytes written for ``found``, as the content the next level is read from."""
    info = found.target.stat()
    if not stat.S_ISREG(info.st_mode):  # pragma: no cover - our own file
        raise SwappedFile(0, "the pack's own copy is not a regular file")
    return Content(path=found.target, owned=False, size=info.st_size, sha256=found.sha256)


def _checked(found: Located) -> Located:
    expected = found.link.sha256
    if expected is None:
        found.problem = "the scan did not read these bytes; nothing to check them against"
    elif found.sha256 != expected:
        found.problem = (
            f"the bytes found differ from the scan's: sha256 {found.sha256}, "
            f"the record says {expected}"
        )
    return found


def _not_read(member: Item) -> str:
    status = member.status.value if member.status else "not read"
    why = "; ".join(issue.message for issue in member.issues if issue.stage == "walk")
    return f"{status} in its container: {why}" if why else f"{status} in its container"


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
