"""Windows code page numbers <-> Python codecs, for every format that records one.

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


CODEPAGES: dict[str, int] = {
    "utf-8": 65001,
    "utf-16-le": 1200,
    "utf-16-be": 1201,
    "utf-32-le": 12000,
    "utf-32-be": 12001,
    "cp1250": 1250,
    "cp1251": 1251,
    "cp1252": 1252,
    "cp1253": 1253,
    "cp1254": 1254,
    "cp1255": 1255,
    "cp1256": 1256,
    "cp1257": 1257,
    "cp1258": 1258,
    "cp866": 866,
    "cp874": 874,
    "cp932": 932,
    "cp936": 936,
    "gbk": 936,
    "gb2312": 936,
    "cp949": 949,
    "euc_kr": 949,
    "cp950": 950,
    "big5": 950,
    "shift_jis": 932,
    "koi8-r": 20866,
    "koi8-u": 21866,
    "latin-1": 28591,
    "iso8859-1": 28591,
    "iso8859-2": 28592,
    "iso8859-5": 28595,
    "iso8859-15": 28605,
    "mac-roman": 10000,
    "mac-cyrillic": 10007,
}
"""Python codec names (as ``codecs.lookup(...).name`` spells them) -> Windows code page ids."""


def codepage_of(codec: str) -> int | None:
    """Windows code page id of a Python codec name (``cp1251`` -> 1251); None when unknown."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return None
    return CODEPAGES.get(name)
