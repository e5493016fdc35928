"""XMP: a packet parsed safely into flat ``prefix:name`` properties, the xmpMM:History events
and Photoshop's DocumentAncestors.

Prefixes are the standard ones whatever a packet declares (Photoshop CS wrote ``xap:`` for
``xmp:``); rdf:Alt values give their x-default entry, rdf:Seq and rdf:Bag are joined as
ExifTool joins them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from leaktriage.extractors import Extraction, _xml

MAX_XMP_BYTES = 16 * 1024 * 1024
"""Larger XMP packets are not parsed (Photoshop's runaway DocumentAncestors bloat them)."""
MAX_XMP_ELEMENTS = 50_000
"""XML elements walked in one XMP packet."""
MAX_HISTORY = 500
"""xmpMM:History events kept."""
MAX_ANCESTORS = 200
"""photoshop:DocumentAncestors ids kept."""
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]{0,40})\s*=\s*["']([^"']{1,300})["']""")
_XMP_PREFIXES_BY_NAMESPACE = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
}
"""Standard prefixes, whatever a packet declares (Photoshop CS wrote ``xap:`` for ``xmp:``)."""


@dataclass(slots=True)
class Xmp:
    values: dict[str, str] = field(default_factory=dict)
    """Flattened properties by ``prefix:name``."""
    history: list[str] = field(default_factory=list)
    ancestors: list[str] = field(default_factory=list)


def read_xmp(packet: bytes, result: Extraction) -> Xmp:
    """Parse an XMP packet (safely) into flat properties, the history and the ancestors."""
    xmp = Xmp()
    if len(packet) > MAX_XMP_BYTES:
        result.note("limit.xmp", f"XMP packet of {len(packet)} bytes not parsed")
        return xmp
    packet = packet.rstrip(b"\x00 \t\r\n")
    try:
        root = _xml.parse(packet)
    except _xml.UnsafeXmlError as exc:
        result.note("xml_unsafe", f"XMP packet refused: {exc}")
        return xmp
    except ET.ParseError as exc:
        result.note("xmp_malformed", f"XMP packet is not well-formed XML: {exc}")
        return xmp
    prefixes = dict(_XMP_PREFIXES_BY_NAMESPACE)
    for match in _NS_XMLNS.finditer(packet[:65536]):
        prefixes.setdefault(match.group(2).decode("utf-8", "replace"), match.group(1).decode())

    def name_of(tag: str) -> str:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        return f"{prefixes.get(namespace, namespace)}:{local}"

    for count, element in enumerate(root.iter()):
        if count >= MAX_XMP_ELEMENTS:
            result.note("limit.xmp", f"XMP packet has over {MAX_XMP_ELEMENTS} elements")
            break
        if element.tag != f"{{{_RDF}}}Description":
            continue
        for attribute, value in element.attrib.items():
            if not attribute.startswith(f"{{{_RDF}}}"):
                xmp.values.setdefault(name_of(attribute), value)
        for child in element:
            key = name_of(child.tag)
            if key == "xmpMM:History":
                xmp.history.extend(islice(_history(child, name_of), MAX_HISTORY))
            items = list(islice(child.iter(f"{{{_RDF}}}li"), MAX_ANCESTORS))
            if items and all(
                len(li) == 0 and not li.attrib.get(f"{{{_RDF}}}parseType") for li in items
            ):
                texts = [(li.text or "").strip() for li in items]
                if key == "photoshop:DocumentAncestors":
                    xmp.ancestors.extend(text for text in texts if text)
                xmp.values.setdefault(key, _list_value(child, items, texts))
            elif len(child) == 0 and child.text and child.text.strip():
                xmp.values.setdefault(key, child.text.strip())
            elif len(child) == 0 and child.get(f"{{{_RDF}}}resource"):
                xmp.values.setdefault(key, child.get(f"{{{_RDF}}}resource", ""))
    del xmp.history[MAX_HISTORY:]
    return xmp


def _list_value(element: ET.Element, items: list[ET.Element], texts: list[str]) -> str:
    """An rdf:Alt as its x-default (else first) entry; an rdf:Seq/Bag joined as ExifTool does."""
    if element.find(f"{{{_RDF}}}Alt") is not None:
        for li, text in zip(items, texts, strict=True):
            if li.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default":
                return text
        return texts[0]
    return ", ".join(texts)


def _history(element: ET.Element, name_of: Any) -> Iterator[str]:
    """xmpMM:History events as ``action|when|softwareAgent``, whichever RDF form they use."""
    for li in element.iter(f"{{{_RDF}}}li"):
        event: dict[str, str] = {}
        for node in (li, *li.iter(f"{{{_RDF}}}Description")):
            for attribute, value in node.attrib.items():
                event.setdefault(name_of(attribute).rpartition(":")[2], value.strip())
            for child in node:
                if child.text and child.text.strip():
                    event.setdefault(name_of(child.tag).rpartition(":")[2], child.text.strip())
        if event.get("action") or event.get("when"):
            yield "|".join(event.get(key, "") for key in ("action", "when", "softwareAgent"))
