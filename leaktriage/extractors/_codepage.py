"""Windows code page numbers -> Python codecs, for every format that records one.

OLE property sets, RTF ``\\ansicpg``, MAPI ``PR_MESSAGE_CODEPAGE`` and friends say which code
page their 8-bit strings use; decoding with it makes a cp1251 name read as Cyrillic instead
of mojibake. Most Windows code pages are Python's ``cpNNNN``; the rest are listed here.
"""

from __future__ import annotations

import codecs

_NAMED: dict[int, str] = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    1361: "johab",
    10000: "mac_roman",
    10006: "mac_greek",
    10007: "mac_cyrillic",
    10029: "mac_latin2",
    20127: "ascii",
    20866: "koi8_r",
    21866: "koi8_u",
    65001: "utf-8",
    **{28590 + n: f"iso8859-{n}" for n in range(1, 16) if n != 12},
}

DEFAULT = "cp1252"
"""What Western Windows writes; used when a file names no code page or an unknown one."""


def codec_for(codepage: int | None, default: str = DEFAULT) -> str:
    """Python codec name for a Windows code page; ``default`` when absent or unknown."""
    if codepage is None:
        return default
    name = _NAMED.get(codepage, f"cp{codepage}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return default
