"""The CPU shortcuts of issue 10 give exactly what the plain code they replace gave.

Each test keeps the previous implementation as the reference and compares on generated and
hostile inputs: PDF string tokens and PDFDocEncoding, the C-parser path of ``_xml.parse``
against defusedxml, the ASCII shortcut of ``scripts_of``, and the libmagic answer cache.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml
import defusedxml.ElementTree as DET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaktriage import detect, textfacts
from leaktriage.extractors import _pdf_common as pdf
from leaktriage.extractors import _xml


def _old_read_string(text: str, pos: int) -> tuple[bytes, int] | None:
    """``pdf.read_string`` before the plain-run copy: one character at a time."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] == "<" and not text.startswith("<<", pos):
        end = text.find(">", pos)
        if end < 0:
            return None
        digits = re.sub(r"[^0-9A-Fa-f]", "", text[pos + 1 : end])
        if len(digits) % 2:
            digits += "0"
        return bytes.fromhex(digits), end + 1
    if text[pos] != "(":
        return None
    out = bytearray()
    depth, i = 1, pos + 1
    escapes = {"n": 10, "r": 13, "t": 9, "b": 8, "f": 12, "(": 40, ")": 41, "\\": 92}
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
            elif nxt in "01234567":
                digits_match = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
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


_PDF_CHARS = st.sampled_from(
    [*"()\\nrtbf0123456789<>aZ \r\n\t", "\u00e9", "\u0100", "\udc80", "\x00", "\xff"]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PDF_CHARS, max_size=24).map("".join), st.integers(0, 3))
def test_read_string_matches_the_character_loop(body: str, pos: int) -> None:
    for text in (body, "(" + body, "<" + body, " (" + body):
        assert pdf.read_string(text, pos) == _old_read_string(text, pos)


def _old_decode_text(raw: bytes) -> str:
    """``pdf.decode_text`` before PDFDocEncoding went through ``str.translate``."""
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
        text = text or "".join(pdf._PDFDOC.get(byte) or chr(byte) for byte in raw)
    return text.rstrip("\x00")


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=16))
def test_pdfdoc_decoding_matches_the_byte_loop(raw: bytes) -> None:
    assert pdf.decode_text(raw) == _old_decode_text(raw)


def test_every_pdfdoc_byte_decodes_as_before() -> None:
    for byte in range(256):
        for raw in (bytes([byte]), bytes([0x41, byte]), bytes([byte]) * 3):
            assert pdf.decode_text(raw) == _old_decode_text(raw)


def _defused(data: bytes) -> ET.Element:
    try:
        root: ET.Element = DET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise _xml.UnsafeXmlError(f"refused unsafe XML: {type(exc).__name__}") from exc
    return root


def _dump(element: ET.Element) -> Any:
    return (
        element.tag,
        list(element.attrib.items()),
        element.text,
        element.tail,
        [_dump(child) for child in element],
    )


def _outcome(parse: Any, data: bytes) -> Any:
    try:
        return "ok", _dump(parse(data))
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return "error", type(exc).__name__, str(exc), getattr(exc, "code", None)


XML_CASES = [
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><r>&b;</r>',
    b'<!DOCTYPE a [<!ENTITY x SYSTEM "http://example.com/x">]><a>&x;</a>',
    b'<!DOCTYPE a [<!NOTATION n SYSTEM "x"><!ENTITY e SYSTEM "y" NDATA n>]><a/>',
    b'<!DOCTYPE a [<!ENTITY % p "x">]><a/>',
    b'<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a>&undefined;</a>',
    b'<!DOCTYPE a PUBLIC "-//x//y" "a.dtd"><a>x</a>',
    b'<!DOCTYPE a [<!ATTLIST a b CDATA "dflt">]><a/>',
    b"<a>&undefined;</a>",
    b"<a>&amp;&lt;&#65;&#x42;</a>",
    b"<a><b></a>",
    b"",
    b"<a/>junk",
    b'<p:a xmlns:p="urn:x"><q:b/></p:a>',
    b'<a xmlns="urn:d" xml:lang="fr" z="1" b="2"><!-- c --><?pi x?>'
    b'<![CDATA[<x>]]>t<b xmlns=""/></a>',
    '<?xml version="1.0" encoding="utf-16"?><a>é</a>'.encode("utf-16"),
    b'<?xml version="1.0" encoding="iso-8859-1"?><a>\xe9</a>',
    b'<?xml version="1.0" encoding="bogus"?><a/>',
    b"<a>\xff\xfe</a>",
    b"\xef\xbb\xbf<a>x</a>",
    b'<a b="1" b="2"/>',
    b"<a>\x00</a>",
    b"<a>" * 3000 + b"</a>" * 3000,
]


@pytest.mark.parametrize("data", XML_CASES)
def test_xml_parse_matches_defusedxml(data: bytes) -> None:
    assert _outcome(_xml.parse, data) == _outcome(_defused, data)


def test_xml_plain_path_refuses_declarations() -> None:
    assert _xml._parse_plain(XML_CASES[0]) is None
    assert _xml._parse_plain(XML_CASES[1]) is None
    assert _xml._parse_plain(b'<a xmlns="urn:x"><b c="d">t</b></a>') is not None


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_ascii_scripts_shortcut(text: str) -> None:
    expected = sorted({s for ch in set(text) if (s := textfacts.char_script(ch))})
    assert textfacts.scripts_of(text) == expected


@pytest.mark.parametrize(
    "head",
    [b"hello world\n", b"<html><body>x</body></html>", b"\x00\x01\x02binary", b"a" * 9000],
)
def test_magic_cache_gives_libmagic_answer(head: bytes) -> None:
    direct = str(detect._magic().from_buffer(head))
    assert detect._magic_mime(head) == direct
    assert detect._magic_mime(head) == direct  # second time from the cache
