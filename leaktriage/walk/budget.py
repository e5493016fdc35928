"""What reading one archive may cost: the member, archive and ratio limits counted on the
bytes actually decompressed, and what the walk learned about the archive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from leaktriage.config import Limits
from leaktriage.model import Issue, Status
from leaktriage.safetext import Name
from leaktriage.walk.content import (
    Item,
    TreeBudget,
)
from leaktriage.walk.names import (
    SEP,
    _encoding_issues,
    name_issues,
    path_part,
)


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


class CorruptArchive(Exception):
    """The container itself cannot be listed; the pipeline records it as an error."""
