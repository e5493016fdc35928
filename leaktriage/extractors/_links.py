"""Collect the external references a document points to: URLs, UNC paths, remote templates.

They are collected as text and never fetched: a canary token or tracking pixel would tell
whoever planted the file that someone opened it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_URL = re.compile(
    r"""(?i)\b(?:https?|ftp|file|smb|webdav|ldap)://[^\s"'<>\\^`{|}\x00-\x1f]{2,2000}"""
)
_UNC = re.compile(r"""\\\\[A-Za-z0-9._$-]{1,255}\\[^\s"'<>|\x00-\x1f]{1,1000}""")
_TRAILING = ".,;:)]}'\""
MAX_LINKS = 500
"""At most this many distinct links are kept per file."""


def find_links(text: str) -> list[str]:
    """URLs and UNC paths in ``text``, in order of appearance, without duplicates."""
    found: dict[str, None] = {}
    for match in _URL.finditer(text):
        found.setdefault(match.group(0).rstrip(_TRAILING), None)
    for match in _UNC.finditer(text):
        found.setdefault(match.group(0).rstrip(_TRAILING), None)
    return list(found)[:MAX_LINKS]


def merge(*groups: Iterable[str]) -> tuple[str, ...]:
    """Sorted distinct links from several sources, capped at ``MAX_LINKS``."""
    links = {link.strip() for group in groups for link in group if link and link.strip()}
    return tuple(sorted(links)[:MAX_LINKS])
