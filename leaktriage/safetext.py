"""Text from the dump, made storable once, where it enters.

Every string a dump hands us (file and member names, metadata keys and values, headers,
text samples) may hold what UTF-8 cannot store: lone surrogates (Python's
``surrogateescape`` form of undecodable bytes, or a UTF-16 value cut in half) and names
that are bytes in a code page nobody declared. Left in, they stop the store, the JSON
writer or the terminal. This module is the one place that decides what such text becomes:

- :func:`clean` keeps every character that can be stored (control characters included:
  they are escaped by each output, never removed from the data) and replaces each lone
  surrogate by U+FFFD, visibly; :func:`raw_hex` gives the original bytes as hex for the
  record's ``raw`` map, so nothing that was there is lost.
- :func:`decode_name` turns the bytes of a name into text: UTF-8 when they are, otherwise
  the code page they fit best among those that archives are written in (``NAME_ENCODINGS``),
  detected by ``charset-normalizer`` over all the names of one archive at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from charset_normalizer import from_bytes

from leaktriage.unicode_script import NEUTRAL, script

NAME_ENCODINGS = ("cp437", "cp866", "cp1251", "cp1252", "shift_jis", "gbk", "big5")
"""Code pages archive and file names are found in, besides UTF-8: the DOS code pages zip
tools use (Western cp437, Russian cp866), the Windows ANSI pages (Cyrillic cp1251, Western
cp1252) and the East Asian ones (Japanese Shift-JIS, simplified Chinese GBK, traditional
Chinese Big5)."""

REPLACEMENT = "\ufffd"

_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD; the rest is kept as it is."""
    if not _SURROGATES.search(text):
        return text
    # A well-formed pair (text decoded from UTF-16 with surrogatepass) is one character.
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return _SURROGATES.sub(REPLACEMENT, text)


def raw_hex(text: str) -> str | None:
    """The bytes behind ``text`` as hex when it holds undecodable bytes (``surrogateescape``
    form) or lone surrogates; None when the text is clean."""
    if not _SURROGATES.search(text):
        return None
    return text.encode("utf-8", "surrogateescape" if _escaped_only(text) else "surrogatepass").hex(
        " "
    )


def _escaped_only(text: str) -> bool:
    return all("\udc80" <= ch <= "\udcff" for ch in _SURROGATES.findall(text))


@dataclass(frozen=True, slots=True)
class Name:
    """A name as text, with the encoding it was read in and its bytes when they were not
    UTF-8."""

    text: str
    encoding: str
    """``ascii``, ``utf-8``, one of ``NAME_ENCODINGS``, or ``undecodable`` (U+FFFD shown)."""
    raw: bytes | None = None
    """The bytes as found, when they were not valid UTF-8."""

    @property
    def hex(self) -> str | None:
        """The raw bytes as spaced hex, for the record's ``raw`` map."""
        return self.raw.hex(" ") if self.raw is not None else None


def guess_encoding(samples: Iterable[bytes]) -> str | None:
    """The encoding that the non-UTF-8 names among ``samples`` fit best, or None when every
    name is UTF-8. Names are judged together: one name is too short to tell cp866 from
    cp1251, the names of one archive rarely mix code pages."""
    foreign = [s for s in samples if not _is_utf8(s)]
    if not foreign:
        return None
    blob = b"\n".join(foreign[:200])[:8192]
    ranked = [m.encoding for m in from_bytes(blob, cp_isolation=list(NAME_ENCODINGS))]
    ranked = [e for e in ranked if e in NAME_ENCODINGS]
    ranked += [e for e in NAME_ENCODINGS if e not in ranked and _fits(blob, e)]
    if not ranked:
        return "cp437"  # decodes every byte: the zip format's own default
    # Few bytes say little: "caf\xe9" is as good cp1251 ("cafй") as cp1252 ("café") to a
    # statistical detector. A word mixing two alphabets is a wrong reading, whatever rank.
    return min(ranked, key=lambda e: (_oddness(blob.decode(e, "replace")), ranked.index(e)))


_WORD = re.compile(r"\w+")


def _oddness(text: str) -> int:
    """How unlike a name ``text`` reads: words mixing letters of two scripts (Latin with
    Cyrillic...) and non-ASCII characters that are neither letters nor digits (the box
    drawing of cp866 read as cp437, the half-width marks of a misread Shift-JIS)."""
    mixed = sum(
        1
        for ch in text
        if not ch.isascii() and unicodedata.category(ch)[0] not in "LMN" and ch != "\n"
    )
    for word in _WORD.findall(text):
        scripts = {_script(ch) for ch in word if ch.isalpha()}
        scripts.discard("")
        if len(scripts) > 1:
            mixed += 1
    return mixed


_JAPANESE = frozenset({"Han", "Hiragana", "Katakana"})


def _script(ch: str) -> str:
    """The Unicode Script of a letter, with kanji and kana as one (a Japanese name mixes
    them); "" for the scripts every text shares (Common, Inherited)."""
    if ch.isascii():
        return "Latin"
    found = script(ch)
    if found in NEUTRAL:
        return ""
    return "Han+kana" if found in _JAPANESE else found


def decode_name(raw: bytes, encoding: str | None = None) -> Name:
    """``raw`` as text: UTF-8 when valid, else ``encoding`` (or the best guess for this name
    alone); bytes that fit no encoding are shown as U+FFFD."""
    if raw.isascii():
        return Name(raw.decode("ascii"), "ascii")
    if _is_utf8(raw):
        return Name(raw.decode("utf-8"), "utf-8")
    chosen = encoding or guess_encoding([raw]) or "cp437"
    try:
        return Name(raw.decode(chosen), chosen, raw)
    except UnicodeDecodeError:
        return Name(raw.decode(chosen, "replace"), "undecodable", raw)


def disk_name(name: str) -> Name:
    """A name from ``os.scandir`` (``surrogateescape`` form of the bytes on disk)."""
    if not _SURROGATES.search(name):
        return Name(name, "ascii" if name.isascii() else "utf-8")
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates that are not escaped bytes
        return Name(clean(name), "undecodable", name.encode("utf-8", "surrogatepass"))
    return decode_name(raw)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fits(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def clean_value(value: Any) -> Any:
    """A fact with its strings cleaned (:func:`clean`); other types are returned as they are."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, tuple):
        return tuple(clean(v) if isinstance(v, str) else v for v in value)
    return value


def clean_facts(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with keys and values cleaned."""
    return {clean(k): clean_value(v) for k, v in fields.items()}


def clean_raw(raw: Mapping[str, str]) -> dict[str, str]:
    """``raw`` with keys and values cleaned; a value that held undecodable bytes keeps them,
    as hex, under ``KEY#bytes`` (the key's own bytes likewise under ``#key-bytes``)."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = clean(key)
        text = value if isinstance(value, str) else str(value)
        out[name] = clean(text)
        if (found := raw_hex(text)) is not None:
            out[f"{name}#bytes"] = found
        if (found := raw_hex(key)) is not None:
            out[f"{name}#key-bytes"] = found
    return out
