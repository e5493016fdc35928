"""Collect the external references a document points to: URLs, UNC paths, remote templates.

They are collected as text and never fetched: a canary token or tracking pixel would tell
whoever planted the file that someone opened it. :class:`Contacts` keeps, beside each
reference, the mechanism that would follow it (a linked image, an automatic PDF action, a
field code) and whether opening the file is enough; :func:`host_of` names the machine it
would reach, and :func:`is_share` says whether that is a Windows network share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from leaktriage.extractors import Extraction

_URL = re.compile(
    r"""(?i)\b(?:https?|ftp|file|smb|webdav|ldap)://[^\s"'<>\\^`{|}\x00-\x1f]{2,2000}"""
)
_UNC = re.compile(r"""\\\\[A-Za-z0-9._$-]{1,255}\\[^\s"'<>|\x00-\x1f]{1,1000}""")
_TRAILING = ".,;:)]}'\""
MAX_LINKS = 500
"""At most this many distinct links are kept per file."""
MAX_TARGET = 4096
"""Characters of a target kept in a mechanism entry."""
ARROW = " → "
"""Between a mechanism and its target in ``links.on_open`` and ``links.network_shares``;
mechanism names never contain it, so the first one splits an entry."""
_SCHEME_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,30}://")
_DRIVE = re.compile(r"^[A-Za-z][:|]?$")
_THIS_MACHINE = frozenset({"", ".", "?", "localhost", "127.0.0.1", "::1", "[::1]"})


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


def _machine(name: str) -> str | None:
    """A server name as written in a path, lower-cased; None when it is this machine."""
    name = name.split("@", 1)[0].strip().rstrip(".").lower()  # WebDAV: host@SSL@443
    if name in _THIS_MACHINE or _DRIVE.match(name):
        return None
    return name


def _unc_server(path: str) -> str | None:
    """Server of ``\\\\server\\share`` (also ``\\\\?\\UNC\\server\\share``), slashes either way."""
    parts = path.replace("/", "\\").lstrip("\\").split("\\")
    if len(parts) >= 3 and parts[0] == "?" and parts[1].upper() == "UNC":
        return _machine(parts[2])
    return _machine(parts[0])


def _file_host(rest: str) -> str | None:
    """Server a ``file:`` URL names (``rest`` follows ``file:``): ``file://host/share``,
    ``file:////host/share`` and ``file:\\\\host\\share`` name one; ``file:///C:/...``,
    ``file:///home/...`` and ``file://localhost/...`` are this machine."""
    rest = rest.replace("\\", "/")
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        if authority:
            return _machine(authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority)
        rest = "/" + path
    if rest.startswith("//"):
        return _machine(rest.lstrip("/").split("/", 1)[0])
    return None


def host_of(target: str) -> str | None:
    """The machine that following ``target`` would contact: a URL's host, the server of a UNC
    path or of a ``file://host/`` URL. None for local and relative paths, this machine, and
    anything that is no address (a program name, a script)."""
    text = target.strip()
    if text.startswith("\\\\"):
        return _unc_server(text)
    if text[:5].lower() == "file:":
        return _file_host(text[5:])
    if text.startswith("//") and not text.startswith("///"):
        text = "http:" + text  # protocol-relative: the page's own scheme, the same host
    elif not _SCHEME_URL.match(text):
        return None
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return _machine(host) if host else None


def is_share(target: str) -> bool:
    """True for a Windows network share: ``\\\\host\\share`` or a ``file:`` URL naming a
    host (``file://host/share``). A web address or a local ``file:///C:/...`` is not one."""
    text = target.strip()
    if text.startswith("\\\\"):
        return _unc_server(text) is not None
    return text[:5].lower() == "file:" and _file_host(text[5:]) is not None


class Contacts:
    """References with the mechanism that would follow them, in the order found.

    ``on_open`` says that opening the file (showing it, printing it, updating its fields) is
    enough, with no click: a linked image, a remote template, an automatic PDF action.
    """

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], bool] = {}

    def add(self, mechanism: str, target: str, *, on_open: bool = True) -> None:
        """Remember that ``mechanism`` points to ``target`` (kept when it names a host)."""
        target = target.strip()[:MAX_TARGET]
        if not target or len(self.found) >= MAX_LINKS:
            return
        key = (mechanism, target)
        self.found[key] = self.found.get(key, False) or on_open

    def extend(self, other: Contacts) -> None:
        """Add what another collection found (the bodies of one mail)."""
        for (mechanism, target), on_open in other.found.items():
            self.add(mechanism, target, on_open=on_open)

    def put(self, out: Extraction, links: Iterable[str] = ()) -> None:
        """Write ``links.external`` (``links`` and every target that is an address),
        ``links.on_open`` with ``links.on_open_hosts``, and ``links.network_shares`` (the
        shares among all of them; one found only as a plain link is a ``link``)."""
        plain = [link.strip() for link in links if link and link.strip()]
        addresses = [t for (_, t) in self.found if host_of(t) is not None]
        out.put("links.external", merge(plain, addresses))
        on_open: dict[str, None] = {}
        hosts: set[str] = set()
        shares: dict[str, None] = {}
        named: set[str] = set()
        for (mechanism, target), automatic in self.found.items():
            host = host_of(target)
            if host is None:
                continue
            named.add(target)
            entry = f"{mechanism}{ARROW}{target}"
            if automatic:
                on_open[entry] = None
                hosts.add(host)
            if is_share(target):
                shares[entry] = None
        for link in plain:
            if link not in named and is_share(link):
                shares[f"link{ARROW}{link}"] = None
        out.put("links.on_open", tuple(on_open)[:MAX_LINKS])
        out.put("links.on_open_hosts", tuple(sorted(hosts))[:MAX_LINKS])
        out.put("links.network_shares", tuple(shares)[:MAX_LINKS])
