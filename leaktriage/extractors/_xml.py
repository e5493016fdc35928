"""Safe XML for attacker-made documents: defusedxml with entities and external access refused.

A billion-laughs DOCX or an XML part that points at a remote DTD must never expand or fetch:
``parse`` raises :class:`UnsafeXmlError` instead, which extractors turn into an issue.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

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
    try:
        root: ET.Element = DET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXmlError(f"refused unsafe XML: {type(exc).__name__}") from exc
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
