"""The MIME tree of a parsed message: text bodies for the sample and the links (HTML reduced
to its visible text), attachments and attached messages handed to ``attachments``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

from leaktriage.extractors import Extraction
from leaktriage.extractors._links import find_links, merge
from leaktriage.extractors.email._common import MAX_BODY_CHARS, PARSE_ERRORS, clean, decode_bytes
from leaktriage.extractors.email.attachments import PartInfo, attach_message, attach_part, part_info
from leaktriage.extractors.html import put_remote_content

MAX_PARTS = 5000
"""MIME parts walked per message."""
MAX_HTML_STRIP = 512 << 10
"""HTML characters turned into text for the sample."""


@dataclass(slots=True)
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    defects: set[str] = field(default_factory=set)


def read_body(message: Message, extraction: Extraction, sample_chars: int, linesep: str) -> None:
    """Walk the MIME tree: text bodies for the sample and links, attachments as children."""
    body = _Body()
    names: list[str] = []
    stack: list[Message] = [message]
    seen = 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            extraction.note("limit.parts", f"more than {MAX_PARTS} MIME parts; the rest ignored")
            break
        body.defects.update(type(d).__name__ for d in getattr(part, "defects", ()))
        info = part_info(part)
        if part is not message and info.ctype in ("message/rfc822", "message/global"):
            attach_message(part, info, extraction, names, linesep)
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        if part is not message and (info.filename or info.disposition == "attachment"):
            attach_part(part, info, extraction, names)
            continue
        if info.ctype in ("text/plain", "text/html"):
            _read_text(part, info, body)
    if body.defects:
        extraction.note("malformed", "MIME defects: " + ", ".join(sorted(body.defects)))
    if names:
        extraction.put("email.attachments", tuple(names))
        extraction.put("email.attachment_count", len(names))
    sample = body.plain[0] if body.plain else (html_text(body.html[0]) if body.html else "")
    extraction.put("text.sample", sample.replace("\r\n", "\n").strip()[:sample_chars])
    links = merge(*(find_links(t) for t in body.plain + body.html))
    put_remote_content(extraction, body.html, links)


def _read_text(part: Message, info: PartInfo, body: _Body) -> None:
    try:
        payload = part.get_payload(decode=True)
    except PARSE_ERRORS:
        body.defects.add("UndecodablePayload")
        return
    if not isinstance(payload, bytes):
        return
    text = clean(decode_bytes(payload, info.charset))[:MAX_BODY_CHARS]
    (body.plain if info.ctype == "text/plain" else body.html).append(text)


class _HtmlText(HTMLParser):
    """Visible text of an HTML body (script and style dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html[:MAX_HTML_STRIP])
        parser.close()
    except (AssertionError, ValueError):
        pass
    text = "".join(parser.parts)
    return re.sub(r"[ \t\r\f\v]*\n\s*", "\n", re.sub(r"[ \t\xa0]+", " ", text)).strip()
