"""What the PDF modules share: PyMuPDF (typed as ``Any``, its messages kept in its own store
for the extraction to read), the errors it raises on damaged objects, and PDF strings
(PDFDocEncoding, UTF-16 with a byte order mark, literal strings with their escapes)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pymupdf as _pymupdf

pymupdf: Any = _pymupdf
"""PyMuPDF as ``Any``: its functions carry no annotations, which strict mypy refuses to call."""

# MuPDF prints its errors on standard output by default, in the middle of the command's
# tables or of `export --out -`. They stay in its message store instead, which the
# extraction turns into the item's issues (see _mupdf_issue); PyMuPDF's own messages go to
# the log (shown with -v).
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)
if hasattr(pymupdf, "set_messages"):
    pymupdf.set_messages(pylogging_name="pymupdf", pylogging_level=logging.INFO)

MAX_RAW = 4096
"""Characters kept per raw value."""
_MUPDF_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    pymupdf.mupdf.FzErrorBase,
)
"""What PyMuPDF raises on damaged or hostile objects."""

_REF = re.compile(r"(\d+)\s+0\s+R")
_SPACES = re.compile(r"\s+")
# PDFDocEncoding where it differs from Latin-1 (ISO 32000-1 Annex D.2).
_PDFDOC = {
    0x18: "˘",
    0x19: "ˇ",
    0x1A: "ˆ",
    0x1B: "˙",
    0x1C: "˝",
    0x1D: "˛",
    0x1E: "˚",
    0x1F: "˜",
    **dict(enumerate("•†‡…—–ƒ⁄‹›−‰„“”‘’‚™ﬁﬂŁŒŠŸŽıłœšž", start=0x80)),
    0xA0: "€",
}


def decode_text(raw: bytes) -> str:
    """Decode a PDF text string the way readers do, trailing NULs dropped.

    UTF-16 and UTF-8 with their byte-order mark; then two repairs for what careless writers
    produce: UTF-16BE without a mark (every other byte zero, as ExifTool also reads it) and
    valid multi-byte UTF-8 without a mark (as MuPDF reads it: a Cyrillic or Japanese title
    written that way would otherwise turn into accented Latin garbage); else PDFDocEncoding.
    """
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        codec = "utf-16-be" if raw[:2] == b"\xfe\xff" else "utf-16-le"
        text = raw[2:].decode(codec, errors="replace")
    elif raw[:3] == b"\xef\xbb\xbf":
        text = raw[3:].decode("utf-8", errors="replace")
    elif len(raw) >= 2 and len(raw) % 2 == 0 and raw[0] == 0 and raw[0::2].count(0) * 2 >= len(raw):
        text = raw.decode("utf-16-be", errors="replace")
    else:
        try:
            text = raw.decode("utf-8") if not raw.isascii() else ""
        except UnicodeDecodeError:
            text = ""
        text = text or raw.decode("latin-1").translate(_PDFDOC)
    return text.rstrip("\x00")


def read_string(text: str, pos: int) -> tuple[bytes, int] | None:
    """The PDF string token (``(literal)`` or ``<hex>``) at ``pos`` of object text, and its end.

    Object text is what PyMuPDF prints for an object; each character stands for one byte.
    """
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] == "<" and not text.startswith("<<", pos):
        end = text.find(">", pos)
        if end < 0:
            return None
        digits = _NOT_HEX.sub("", text[pos + 1 : end])
        if len(digits) % 2:
            digits += "0"
        return bytes.fromhex(digits), end + 1
    if text[pos] != "(":
        return None
    out = bytearray()
    depth, i = 1, pos + 1
    size = len(text)
    while i < size:
        # A run of plain characters is copied in one go (one byte each, "?" above U+00FF).
        plain = _PLAIN_RUN.match(text, i)
        if plain is not None:
            out += plain.group(0).encode("latin-1", errors="replace")
            i = plain.end()
            if i >= size:
                break
        char = text[i]
        if char == "\\" and i + 1 < size:
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt in "01234567":
                digits_match = _OCTAL.match(text, i + 1, i + 4)
                assert digits_match is not None
                out.append(int(digits_match.group(0), 8) & 0xFF)
                i += 1 + len(digits_match.group(0))
            elif nxt in "\r\n":
                i += 3 if text.startswith("\r\n", i + 1) else 2
            else:
                out.append(ord(nxt) & 0xFF)
                i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.extend(char.encode("latin-1", errors="replace") if ord(char) < 256 else b"?")
        i += 1
    return None


_ESCAPES = {"n": 10, "r": 13, "t": 9, "b": 8, "f": 12, "(": 40, ")": 41, "\\": 92}
_PLAIN_RUN = re.compile(r"[^\\()]+")
_OCTAL = re.compile(r"[0-7]{1,3}")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def _value_text(doc: Any, kind: str, value: str) -> str | None:
    """A dictionary value as text: strings decoded, one level of indirection followed."""
    if kind == "xref":
        found = _REF.match(value)
        if not found:
            return None
        target = doc.xref_object(int(found.group(1)), compressed=True)
        token = read_string(target, 0)
        if token is not None:
            return decode_text(token[0])
        return target.strip() or None
    if kind == "null":
        return None
    return value


def _cap(text: str) -> str:
    return text[:MAX_RAW]


# --- trailer, Info, XMP -------------------------------------------------------------------
