"""Header parsing and decoding shared by every format, and the header facts.

Raw header pairs become :class:`Header` values (RFC 2047 encoded words decoded, address
headers parsed into mailboxes, tolerantly); :func:`put_headers` turns them into the common
facts: ``doc.title`` is the Subject, ``doc.author`` the From display name (else the address),
``doc.application`` the X-Mailer / User-Agent, ``doc.created`` the Date header (an Outlook
.msg replaces it with the stored item's times afterwards). An .eml's headers and the transport
headers of an Outlook .msg go through the same code.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any

from leaktriage.extractors import Extraction
from leaktriage.extractors._dates import from_filetime, parse_rfc5322
from leaktriage.extractors.email._common import (
    MAX_LIST,
    MAX_RAW_ENTRIES,
    PARSE_ERRORS,
    POLICY,
    cap,
    clean,
    decode_bytes,
    unfold,
)
from leaktriage.extractors.email.received import put_received

MAX_HEADERS = 1000
"""Headers read per message; a spam-cannon message with more is hostile."""
MAX_HEADER_CHARS = 64 << 10
"""Characters of one header value decoded; a longer value is cut (and noted)."""
MAX_STRICT_ADDRESS = 8 << 10
"""Longer address headers skip the policy's parser, which slows down badly on huge lists."""
MSG_IDS = re.compile(r"<[^<>\s]{1,998}>")
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Header:
    """One header: its name, the value as found, the decoded value and any parsed mailboxes."""

    name: str
    raw: str
    value: str
    mailboxes: tuple[tuple[str, str], ...] | None = None
    """(display name, address) pairs for address headers the policy could parse."""


_ADDRESS_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to", "resent-cc"}
)
_CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
}
"""Charsets mail clients declare for text written in a larger superset (as browsers do)."""
_LOOSE_MAILBOX = re.compile(r"^\s*(.*?)\s*<([^<>]*)>\s*$", re.DOTALL)


def _decode_words(raw: str) -> tuple[str, bool]:
    """The header text with RFC 2047 encoded words decoded, everything else as written.

    Returns the text and False when an encoded word was broken (the raw text is kept then).
    A leak repeats its headers (the same From, Subject and Received lines in a thread, the
    same long recipient list), and the decoding depends on the text alone: each value is
    decoded once per process (a few long ones are remembered, many short ones).
    """
    if len(raw) <= 1024:
        return _decode_words_cached(raw)
    return _decode_words_long(raw)


@lru_cache(maxsize=4096)
def _decode_words_cached(raw: str) -> tuple[str, bool]:
    return _decode_words_uncached(raw)


@lru_cache(maxsize=32)
def _decode_words_long(raw: str) -> tuple[str, bool]:
    return _decode_words_uncached(raw)


def _decode_words_uncached(raw: str) -> tuple[str, bool]:
    text = clean(unfold(raw))
    if "=?" not in text:
        return text, True
    try:
        chunks = decode_header(text)
    except PARSE_ERRORS:
        return text, False
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        name = (charset or "utf-8").lower()
        out.append(decode_bytes(chunk, _CHARSET_SUPERSETS.get(name, name)))
    decoded = "".join(out)
    if "\ufffd" in decoded and "\ufffd" not in text:
        return text, False
    return decoded, True


def _loose_mailboxes(text: str) -> tuple[tuple[str, str], ...]:
    """Mailboxes of an address header the strict parser rejected, split on commas.

    ``alice@example.com <bob@example.com>`` is a display name hiding the real address: kept
    as display ``alice@example.com`` and address ``bob@example.com``, as mail clients show it.
    """
    found: list[tuple[str, str]] = []
    for piece in text.split(",")[:MAX_LIST]:
        match = _LOOSE_MAILBOX.match(piece)
        if match:
            found.append((match.group(1).strip().strip('"').strip(), match.group(2).strip()))
        elif piece.strip():
            display, address = parseaddr(piece)
            found.append((display, address or piece.strip()))
    return tuple(found)


def _with_comment_names(
    mailboxes: tuple[tuple[str, str], ...], text: str
) -> tuple[tuple[str, str], ...]:
    """Fill empty display names from old-style comments (``addr (Full Name)``)."""
    if "(" not in text or all(display for display, _ in mailboxes):
        return mailboxes
    loose = getaddresses([text])
    if [a for _, a in loose] != [a for _, a in mailboxes]:
        return mailboxes
    return tuple((d or ld, a) for (d, a), (ld, _) in zip(mailboxes, loose, strict=True))


def read_headers(pairs: Iterable[tuple[str, Any]], extraction: Extraction) -> list[Header]:
    """Decode raw header pairs; a header that cannot be decoded keeps its raw text.

    Values are the text as written with encoded words decoded. Only address headers go
    through the policy's parser, for their mailboxes: its rendering of the value drops
    comments and, for ``name@a <real@b>``, the real address (and parsing every header with
    it would cost most of the extraction time).
    """
    found: list[Header] = []
    failed: list[str] = []
    for index, (name, raw_value) in enumerate(pairs):
        if index >= MAX_HEADERS:
            extraction.note("limit.headers", f"more than {MAX_HEADERS} headers; the rest ignored")
            break
        raw = clean(raw_value if isinstance(raw_value, str) else str(raw_value))
        if len(raw) > MAX_HEADER_CHARS:
            extraction.note("limit.header_size", f"{clean(name)[:60]}: {len(raw)} characters cut")
            raw = raw[:MAX_HEADER_CHARS]
        value, decoded = _decode_words(raw)
        if not decoded:
            failed.append(name)
        mailboxes: tuple[tuple[str, str], ...] | None = None
        if name.lower() in _ADDRESS_HEADERS and len(raw) <= MAX_STRICT_ADDRESS:
            try:
                parsed = POLICY.header_fetch_parse(name, raw)
                addresses = getattr(parsed, "addresses", None)
                invalid = any(type(d).__name__ == "InvalidHeaderDefect" for d in parsed.defects)
                if addresses is not None and not invalid:
                    mailboxes = _with_comment_names(
                        tuple(
                            (clean(a.display_name or ""), clean(a.addr_spec or ""))
                            for a in addresses[:MAX_LIST]
                        ),
                        value,
                    )
            except PARSE_ERRORS:
                mailboxes = None
        if name.lower() in _ADDRESS_HEADERS and mailboxes is None:
            mailboxes = _loose_mailboxes(value)
        found.append(Header(clean(name), raw, value, mailboxes))
    if failed:
        names = ", ".join(sorted({clean(n) for n in failed}))[:500]
        extraction.note("bad_header", f"encoded words not decodable, kept as written: {names}")
    return found


def mailbox_text(display: str, address: str) -> str:
    if display and address and display.strip("'\"").lower() != address.lower():
        return f"{display} <{address}>"
    return display or address


def put_thread_index(extraction: Extraction, data: bytes) -> None:
    """Outlook's conversation index: a 22-byte header block then 5-byte reply blocks.

    The first 6 bytes are the high 48 bits of the FILETIME of the thread's first message and
    the next 16 the conversation GUID (Windows byte order); each reply adds 5 bytes.
    """
    extraction.put("email.thread_index", data[:2048].hex())
    if len(data) < 22:
        extraction.note("bad_thread_index", f"Thread-Index of {len(data)} bytes (expected >= 22)")
        return
    extraction.put("email.thread_index_time", from_filetime(int.from_bytes(data[:6], "big") << 16))
    extraction.put("email.thread_index_guid", str(uuid.UUID(bytes_le=data[6:22])))
    extraction.put("email.thread_index_children", (len(data) - 22) // 5)


def put_headers(extraction: Extraction, headers: list[Header]) -> None:
    """Header facts shared by .eml messages and the transport headers of .msg files."""
    by_name: dict[str, list[Header]] = {}
    counts: dict[str, int] = {}
    for header in headers:
        key = header.name.lower()
        by_name.setdefault(key, []).append(header)
    for header in headers:
        key = header.name.lower()
        total = len(by_name[key])
        counts[key] = counts.get(key, 0) + 1
        suffix = f"#{counts[key]}" if total > 1 else ""
        if len(extraction.raw) < MAX_RAW_ENTRIES:
            extraction.raw[f"header:{header.name}{suffix}"] = cap(header.raw)

    def first(name: str) -> Header | None:
        found = by_name.get(name)
        return found[0] if found else None

    sender = first("from")
    if sender:
        extraction.put("email.from", sender.value)
        if sender.mailboxes:
            display, address = sender.mailboxes[0]
            extraction.put("doc.author", display or address)
        else:
            extraction.put("doc.author", sender.value)
    for name in ("to", "cc"):
        recipients: list[str] = []
        for header in by_name.get(name, []):
            if header.mailboxes:
                recipients.extend(mailbox_text(d, a) for d, a in header.mailboxes)
            elif header.value:
                recipients.append(header.value)
        extraction.put(f"email.{name}", tuple(recipients[:MAX_LIST]))
    subject = first("subject")
    if subject:
        extraction.put("email.subject", subject.value)
        extraction.put("doc.title", subject.value)
    date = first("date")
    if date:
        stamp = parse_rfc5322(unfold(date.raw))
        if stamp is None:
            extraction.note("bad_date", f"Date header not understood: {date.raw[:200]!r}")
        else:
            extraction.put("email.date", stamp.utc)
            extraction.put("email.date_offset", stamp.offset)
            extraction.put("doc.created", stamp.utc)
            extraction.put("doc.created_offset", stamp.offset)
            extraction.put("doc.created_tz_known", stamp.tz_known)
    for name, fact in (("message-id", "email.message_id"), ("in-reply-to", "email.in_reply_to")):
        identifier = first(name)
        if identifier:
            extraction.put(fact, unfold(identifier.raw))
    references = [ref for h in by_name.get("references", []) for ref in MSG_IDS.findall(h.raw)]
    extraction.put("email.references", tuple(dict.fromkeys(references[:MAX_LIST])))
    mailer = first("x-mailer") or first("user-agent")
    if mailer:
        extraction.put("email.x_mailer", mailer.value)
        extraction.put("doc.application", mailer.value)
    language = first("content-language")
    if language:
        tags = [t.strip() for t in language.value.split(",") if t.strip()]
        extraction.put("doc.languages", tuple(tags[:20]))
    thread = first("thread-index")
    if thread:
        try:
            data = base64.b64decode("".join(thread.raw.split()), validate=True)
        except (binascii.Error, ValueError):
            extraction.note("bad_thread_index", f"Thread-Index is not base64: {thread.raw[:80]!r}")
        else:
            put_thread_index(extraction, data)
    put_received(extraction, [h.raw for h in by_name.get("received", [])])
    signatures = by_name.get("dkim-signature", [])
    if signatures:
        extraction.put("email.dkim_signatures", len(signatures))
        domains = [m.group(1) for h in signatures if (m := _DKIM_DOMAIN.search(unfold(h.raw)))]
        extraction.put("email.dkim_domains", tuple(dict.fromkeys(d.lower() for d in domains)))
