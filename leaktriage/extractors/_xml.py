"""Safe XML for attacker-made documents: defusedxml with entities and external access refused.

A billion-laughs DOCX or an XML part that points at a remote DTD must never expand or fetch:
``parse`` raises :class:`UnsafeXmlError` instead, which extractors turn into an issue.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

import defusedxml
import defusedxml.ElementTree as DET

MAX_XML_BYTES = 64 * 1024 * 1024
"""Larger XML parts are not parsed (a metadata part is a few kB; a 64 MB one is hostile)."""


class UnsafeXmlError(Exception):
    """The XML declares entities or external references, or is too large to parse safely."""


def parse(data: bytes) -> ET.Element:
    """Parse bytes into an Element with entity expansion, DTD fetching and external access off.

    Raises:
        UnsafeXmlError: entities, external references, or a part over ``MAX_XML_BYTES``.
        ET.ParseError: malformed XML.
    """
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXmlError(f"XML part of {len(data)} bytes exceeds {MAX_XML_BYTES}")
    fast = _parse_plain(data)
    if fast is not None:
        return fast
    try:
        root: ET.Element = DET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXmlError(f"refused unsafe XML: {type(exc).__name__}") from exc
    return root


class _Declared(Exception):
    """An entity declaration or external reference was seen by the pre-pass."""


def _refuse(*_: object) -> None:
    raise _Declared


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise _Declared


def _parse_plain(data: bytes) -> ET.Element | None:
    """The tree of a plain document with the C parser, or None when defusedxml must decide.

    defusedxml parses with the pure-Python ``XMLParser`` (one Python call per element and
    attribute name: most of the time an OOXML metadata part takes). The same tree comes out
    of the C parser when nothing could make defusedxml refuse or fail: a pre-pass of expat
    (same namespace handling, no tree) checks that the bytes are well-formed and declare no
    entity and reference nothing external; then the C parser builds the tree. Anything else
    (a declaration, malformed bytes, an undefined entity, any error of either pass) returns
    None, and defusedxml's own parse gives its exact answer or error.
    """
    checker = expat.ParserCreate(None, "}")
    checker.EntityDeclHandler = _refuse
    checker.UnparsedEntityDeclHandler = _refuse
    checker.ExternalEntityRefHandler = _refuse_external
    try:
        checker.Parse(data, True)
        builder = ET.XMLParser(target=ET.TreeBuilder())
        builder.feed(data)
        root: ET.Element = builder.close()
    except Exception:  # noqa: BLE001 - any failure here is defusedxml's to judge and report
        return None
    return root


def local(tag: str) -> str:
    """Tag name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def text_of(element: ET.Element | None) -> str | None:
    """Stripped text of an element, or None."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None
