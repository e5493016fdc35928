"""Names in provenance chains: the separator, the escaping of a name's own ``!`` and ``%``,
and the issues a member name raises (traversal, control characters, encodings)."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from leaktriage.model import Issue
from leaktriage.safetext import Name

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
