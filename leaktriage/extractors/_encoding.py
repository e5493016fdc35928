"""The encoding of text that does not declare one: byte-order marks, UTF-16/UTF-8 tests and the
single-byte code page guess (Windows-1252 unless the words say Cyrillic).

Shared by the text and HTML extractors (an HTML page's declared charset, when it has one, wins
over the guess). The Windows code page id of a codec is ``_codepage.codepage_of``.
"""

from __future__ import annotations

import codecs
import re

PROBE_BYTES = 64 << 10
"""Bytes looked at to guess an encoding."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HIGH_WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
"""A word holding at least one byte over 0x80."""
_ASCII_LETTER = re.compile(rb"[A-Za-z]")
_BLOCKS = tuple(bytes(range(start, start + 16)) for start in (0xC0, 0xD0, 0xE0, 0xF0))
_MIDDLE = bytes(range(0x80, 0xC0))


def _count(data: bytes, members: bytes) -> int:
    """How many bytes of ``data`` are among ``members`` (bytes.translate runs in C)."""
    return len(data) - len(data.translate(None, members))


def bom_codec(data: bytes) -> tuple[str, int] | None:
    """(codec, length of the mark) when ``data`` starts with a Unicode byte-order mark."""
    for mark, codec in _BOMS:
        if data.startswith(mark):
            return codec, len(mark)
    return None


def guess_encoding(data: bytes) -> tuple[str, int]:
    """(codec, length of its byte-order mark) for bytes of unknown encoding.

    The rules, in order: a byte-order mark; UTF-16 without one (NUL on every other byte);
    strict UTF-8 (a sequence cut at the end of the probe is allowed); otherwise a single-byte
    code page, Windows-1252 unless the words say Cyrillic. A French or German word holds a
    few accented bytes among ASCII letters ("r\xe9union"); a Russian word in Windows-1251 or
    KOI8-R is made of bytes over 0x80 only. When most words that contain such bytes have no
    ASCII letter, the text is Cyrillic (markup around it does not count, as it would in a
    plain letter ratio). Russian is mostly lower case, which Windows-1251 puts at 0xE0-0xFF,
    KOI8-R at 0xC0-0xDF and ISO 8859-5 at 0xD0-0xEF: the busiest range names the code page
    (ties go to Windows-1251, by far the most common). Double-byte CJK text is
    also made of high bytes, but half of them are 0x80-0xBF, where Cyrillic code pages keep
    only rare letters: it is not guessed. Greek or Hebrew single-byte text without a declared
    charset would be read as Cyrillic; a declared charset (HTML, RTF) always wins over this.
    """
    found = bom_codec(data)
    if found:
        return found
    probe = data[:PROBE_BYTES]
    if len(probe) >= 4:
        even_nul = probe[0::2].count(0)
        odd_nul = probe[1::2].count(0)
        half = len(probe) // 2
        if odd_nul > half * 0.4 and even_nul < half * 0.05:
            return "utf-16-le", 0
        if even_nul > half * 0.4 and odd_nul < half * 0.05:
            return "utf-16-be", 0
    try:
        codecs.getincrementaldecoder("utf-8")().decode(probe, final=len(probe) == len(data))
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", 0
    words = _HIGH_WORD.findall(probe)
    pure = b"".join(word for word in words if not _ASCII_LETTER.search(word))
    cyrillic = pure and sum(map(len, words)) < 2 * len(pure)
    if cyrillic and _count(pure, _MIDDLE) < 0.25 * len(pure):
        c, d, e, f = (_count(pure, block) for block in _BLOCKS)
        scores = {"cp1251": e + f, "koi8-r": c + d, "iso8859-5": d + e}
        return max(scores, key=lambda codec: scores[codec]), 0
    return "cp1252", 0


def decode(data: bytes, codec: str | None = None) -> tuple[str, str]:
    """(text, codec used): ``codec`` when given and known, else :func:`guess_encoding`'s."""
    skip = 0
    if codec:
        try:
            codec = codecs.lookup(codec).name
        except LookupError:
            codec = None
    if not codec:
        codec, skip = guess_encoding(data)
    text = data[skip:].decode(codec, errors="replace")
    return text.replace("\x00", ""), codec
