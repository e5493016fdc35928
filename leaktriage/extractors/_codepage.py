"""Code page numbers <-> Python codecs, for every format that records one: the one table.

OLE property sets, RTF ``\\ansicpg`` and ``\\mac``, MAPI ``PR_MESSAGE_CODEPAGE``, Excel's
CODEPAGE record and friends say which code page their 8-bit strings use; decoding with it
makes a cp1251 name read as Cyrillic and a Mac Word title as Mac Roman instead of cp1252
mojibake.

Windows and OEM code pages are Python's ``cpNNNN`` (1250-1258, 874, 932, 936, 949, 950, 437,
850, 866...); the Mac code pages (100xx) and the others are listed in ``_NAMED``. Two Mac
code pages have no Python codec and are registered here from Apple's mapping tables
(https://www.unicode.org/Public/MAPPINGS/VENDORS/APPLE/HEBREW.TXT and JAPANESE.TXT), with
Apple's private transcoding hints (U+F86A, U+F87F) left out: ``mac-hebrew`` and
``mac-japanese`` (Shift-JIS with Apple's five single-byte differences; Apple's additions in
the unused Shift-JIS rows read as U+FFFD).
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_NAMED: dict[int, str] = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    1361: "johab",
    10000: "mac_roman",
    10001: "mac-japanese",
    10002: "big5",  # Mac Chinese Traditional: Big5 plus a few Apple symbols
    10003: "euc_kr",  # Mac Korean: EUC-KR plus Apple symbols
    10004: "mac_arabic",
    10005: "mac-hebrew",
    10006: "mac_greek",
    10007: "mac_cyrillic",
    10008: "gb2312",  # Mac Chinese Simplified: EUC-CN
    10010: "mac_romanian",
    10017: "mac_cyrillic",  # Mac Ukrainian: Mac Cyrillic as revised for Mac OS 9
    10029: "mac_latin2",
    10079: "mac_iceland",
    10081: "mac_turkish",
    10082: "mac_croatian",
    20127: "ascii",
    20866: "koi8_r",
    21866: "koi8_u",
    32768: "mac_roman",  # Excel CODEPAGE 0x8000: Apple Roman (Mac Excel, BIFF2-BIFF5)
    32769: "cp1252",  # Excel CODEPAGE 0x8001: ANSI Latin I (BIFF2-BIFF3)
    65001: "utf-8",
    **{28590 + n: f"iso8859-{n}" for n in range(1, 16) if n != 12},
}

DEFAULT = "cp1252"
"""What Western Windows writes; used when a file names no code page or an unknown one."""


def codec_for(codepage: int | None, default: str = DEFAULT) -> str:
    """Python codec name for a code page number; ``default`` when absent or unknown."""
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
    "cp437": 437,
    "cp850": 850,
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
    "mac-japanese": 10001,
    "mac-arabic": 10004,
    "mac-hebrew": 10005,
    "mac-greek": 10006,
    "mac-cyrillic": 10007,
    "mac-romanian": 10010,
    "mac-latin2": 10029,
    "mac-iceland": 10079,
    "mac-turkish": 10081,
    "mac-croatian": 10082,
}
"""Python codec names (as ``codecs.lookup(...).name`` spells them) -> code page ids."""


def codepage_of(codec: str) -> int | None:
    """Code page id of a Python codec name (``cp1251`` -> 1251); None when unknown."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return None
    return CODEPAGES.get(name)


# --- the two Mac code pages Python lacks ----------------------------------------------------

_HEBREW_HIGH: tuple[str, ...] = (
    # 0x80-0x9F: Mac Roman's accented Latin letters, but 0x81 is the Yiddish yod yod patah.
    *"Ä",
    "\u05f2\u05b7",
    *"ÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü",
    # 0xA0-0xBF: right-to-left duplicates of ASCII 0x20-0x3F (same characters in Unicode),
    # except the new sheqel sign and the parentheses, swapped as Apple's table has them.
    *" !\"#$%\u20aa')(*+,-./0123456789:;<=>?",
    # 0xC0-0xDF: a ligature, punctuation, four obsolete canorals (no Unicode character),
    # Hebrew points and presentation forms.
    "\u05dc\u05b9",
    *"\u201e\ufffd\ufffd\ufffd\ufffd\u05bc\ufb4b\ufb35\u2026\u00a0\u05b8\u05b7\u05b5\u05b6\u05b4",
    *"\u2013\u2014\u201c\u201d\u2018\u2019\ufb2a\ufb2b\u05bf\u05b0\u05b2\u05b1\u05bb\u05b9",
    *"\u05c7\u05b3",
    # 0xE0-0xFA: the 27 Hebrew letters, as in ISO 8859-8; then right-to-left brackets.
    *(chr(code) for code in range(0x05D0, 0x05EB)),
    *"}]{[|",
)
_HEBREW_DECODE: dict[int, str] = {
    **{byte: chr(byte) for byte in range(0x80)},
    **{0x80 + index: text for index, text in enumerate(_HEBREW_HIGH)},
}
_JAPANESE_SINGLES = {0x5C: "\u00a5", 0x80: "\\", 0xA0: "\u00a0", 0xFD: "©", 0xFE: "™", 0xFF: "…"}
"""Where Mac Japanese differs from Shift-JIS: yen at 0x5C, backslash at 0x80, and four
single bytes Shift-JIS leaves undefined."""
_JAPANESE_ESCAPED = {0xDC00 + byte: text for byte, text in _JAPANESE_SINGLES.items()}


class _Decode(Protocol):
    def __call__(self, data: ReadableBuffer, errors: str = ..., /) -> tuple[str, int]: ...


def _unmapped(text: str, errors: str, codec: str, data: bytes) -> str:
    """Apply ``errors`` to the bytes left as lone surrogates (``surrogateescape`` form)."""
    escaped = [i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"]
    if not escaped or errors == "surrogateescape":
        return text
    if errors == "strict":
        raise UnicodeDecodeError(codec, data, 0, len(data), "byte not in the code page")
    keep = "" if errors == "ignore" else "\ufffd"
    return "".join(keep if "\udc80" <= ch <= "\udcff" else ch for ch in text)


def _decode_hebrew(data: ReadableBuffer, errors: str = "strict") -> tuple[str, int]:
    raw = bytes(data)
    return "".join(_HEBREW_DECODE[byte] for byte in raw), len(raw)


def _decode_japanese(data: ReadableBuffer, errors: str = "strict") -> tuple[str, int]:
    raw = bytes(data)
    # Shift-JIS with the single bytes it cannot read escaped, those of Apple's table
    # replaced, the rest left to ``errors``. 0x5C is ASCII in Shift-JIS and is swapped here.
    text = raw.decode("shift_jis", "surrogateescape").replace("\\", "\udc5c")
    text = text.translate(_JAPANESE_ESCAPED)
    return _unmapped(text, errors, "mac-japanese", raw), len(raw)


def _encode_unsupported(text: str, errors: str = "strict") -> tuple[bytes, int]:
    raise UnicodeEncodeError("mac", text, 0, len(text), "decoding only")


def _incremental(decode: _Decode) -> type[codecs.BufferedIncrementalDecoder]:
    class Decoder(codecs.BufferedIncrementalDecoder):
        def _buffer_decode(self, data: ReadableBuffer, errors: str, final: bool) -> tuple[str, int]:
            # Whole strings only: property values and names are decoded in one call.
            return decode(data, errors) if final else ("", 0)

    return Decoder


_MAC_CODECS: dict[str, _Decode] = {
    "mac-hebrew": _decode_hebrew,
    "mac-japanese": _decode_japanese,
}


MAC_LABELS: dict[str, str] = {
    "x-mac-roman": "mac_roman",
    "x-mac-ce": "mac_latin2",
    "x-mac-centraleurroman": "mac_latin2",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-mac-arabic": "mac_arabic",
    "x-mac-hebrew": "mac-hebrew",
    "x-mac-croatian": "mac_croatian",
    "x-mac-romanian": "mac_romanian",
    "x-mac-chinesetrad": "big5",
    "x-mac-chinesesimp": "gb2312",
}
"""Charset labels of the Mac code pages (Microsoft's code page names, as HTML and mail
declare them) that Python does not know. "x-mac-japanese" and "x-mac-korean" Python already
aliases to shift_jis and euc_kr."""


def _search(name: str) -> codecs.CodecInfo | None:
    key = name.replace("_", "-")
    decode = _MAC_CODECS.get(key)
    if decode is not None:
        return codecs.CodecInfo(
            _encode_unsupported, decode, name=key, incrementaldecoder=_incremental(decode)
        )
    target = MAC_LABELS.get(key)
    return codecs.lookup(target) if target is not None else None


codecs.register(_search)
