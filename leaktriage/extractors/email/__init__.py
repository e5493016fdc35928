"""Email: RFC 822 messages (.eml), mbox mailboxes and Outlook .msg files.

A message gives its header facts (addresses, dates, ids, the client, the Received chain,
DKIM signature presence, Outlook's Thread-Index) and hands every attachment back to the
pipeline as a child item, so an attached spreadsheet gets the spreadsheet extractor. A
mailbox hands back each message. An Outlook .msg is read property by property with olefile;
its transport headers (``PR_TRANSPORT_MESSAGE_HEADERS``) are the real Internet headers and go
through the same header code as an .eml.

Common facts, since ExifTool reads none of these formats (it types .eml as TXT and .msg as
FPX, with no metadata):
``doc.title`` is the Subject, ``doc.author`` the From display name (else the address),
``doc.application`` the X-Mailer / User-Agent. For .eml ``doc.created`` is the Date header;
for .msg ``doc.created``/``doc.modified`` are the MAPI creation and last-modification times
of the stored item, and the sending time is ``email.date``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import io
import itertools
import logging
import re
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import errors as email_errors
from email import policy
from email.generator import BytesGenerator
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses, parseaddr
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, BinaryIO

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Child, Extraction, Source, _dkim, register
from leaktriage.extractors._codepage import codec_for
from leaktriage.extractors._dates import Stamp, from_filetime, parse_rfc5322
from leaktriage.extractors._links import find_links, merge
from leaktriage.model import Issue, Status

log = logging.getLogger(__name__)

MAX_HEADERS = 1000
"""Headers read per message; a spam-cannon message with more is hostile."""
MAX_RAW_VALUE = 4096
"""Characters kept per raw value."""
MAX_RAW_ENTRIES = 400
"""Raw entries kept per item."""
MAX_PARTS = 5000
"""MIME parts walked per message."""
MAX_ATTACHMENTS = 2000
"""Attachments handed back per message."""
MAX_MESSAGES = 200_000
"""Messages handed back per mailbox (the pipeline applies its own, lower, child limit)."""
MAX_LINE = 1 << 20
"""Longest mbox line read at once; longer lines are read in pieces."""
MAX_BODY_CHARS = 4 << 20
"""Body characters scanned for links per part."""
MAX_HTML_STRIP = 512 << 10
"""HTML characters turned into text for the sample."""
MAX_LIST = 500
"""Addresses, references or hops kept per header."""
MAX_NAME = 200
"""Characters kept of an attachment name or message id used as a child name."""
MAX_MSG_NESTING = 4
"""Embedded .msg messages converted inside one another."""
MAX_MSG_STRING = 8 << 20
"""Largest MAPI string property read (bodies included)."""
MAX_HEADER_CHARS = 64 << 10
"""Characters of one header value decoded; a longer value is cut (and noted)."""
MAX_STRICT_ADDRESS = 8 << 10
"""Longer address headers skip the policy's parser, which slows down badly on huge lists."""


@lru_cache(maxsize=512)
def _parse_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


class _CachingPolicy(EmailPolicy):
    """``policy.default`` that parses each distinct header once.

    The parser and ``Message`` re-parse Content-Type on every access (several times per
    part while parsing); header objects are immutable, so a small cache saves most of it.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or len(value) > 1024:
            return super().header_fetch_parse(name, value)
        return _parse_header(name, value)


_POLICY = _CachingPolicy()
_GEN_POLICY = policy.default.clone(refold_source="none")
# Everything the stdlib header and MIME code raises on hostile input; one bad header or part
# becomes an issue and the rest of the message is still read.
_PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    KeyError,
    LookupError,
    UnicodeError,
    AssertionError,
    email_errors.MessageError,
)
_SURROGATES = re.compile("[\udc80-\udcff]")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MSG_IDS = re.compile(r"<[^<>\s]{1,998}>")
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.IGNORECASE)
_RECEIVED_FROM = re.compile(r"(?<![\w.-])from\s+([^\s;()]+)", re.IGNORECASE)
_RECEIVED_BY = re.compile(r"(?<![\w.-])by\s+([^\s;()]+)", re.IGNORECASE)
_ENVELOPE = re.compile(rb"^From \S*.*\d{1,2}:\d{2}")
_MBOX_MESSAGE_ID = re.compile(
    rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE
)
_ANGLE_ID = re.compile(rb"<([!-;=?-~]{1,250})>")
_BARE_ID = re.compile(rb"^[!-~]{1,250}$")


@register(
    name="email",
    version=1,
    mime_types={
        "message/rfc822",
        "application/mbox",
        "application/vnd.ms-outlook",
        "application/vnd.ms-outlook-pst",
    },
)
def extract(source: Source) -> Extraction:
    """Read an .eml message, an mbox mailbox or an Outlook .msg file."""
    if source.mime == "application/mbox":
        return _extract_mbox(source)
    if source.mime == "application/vnd.ms-outlook":
        return _extract_msg(source)
    if source.mime == "application/vnd.ms-outlook-pst":
        return _extract_pst(source)
    return _extract_eml(source)


# --- text helpers -------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Text safe to store: bytes the parser escaped are decoded, control characters dropped."""
    if _LONE_SURROGATES.search(text):
        if _SURROGATES.search(text):
            try:
                data = text.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                data = b""
            if data:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = data.decode("cp1252", "replace")
        text = _LONE_SURROGATES.sub("\ufffd", text)
    return _CONTROL.sub("", text)


def _note_once(extraction: Extraction, code: str, message: str) -> None:
    if not any(issue.code == code for issue in extraction.issues):
        extraction.note(code, message)


def _unfold(text: str) -> str:
    return _FOLD.sub("", text).strip()


def _cap(text: str) -> str:
    return text[:MAX_RAW_VALUE]


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Body bytes as text in their declared charset (UTF-8 when unknown)."""
    codec = "utf-8"
    if charset:
        try:
            codec = codecs.lookup(charset.strip().strip('"')).name
        except (LookupError, ValueError):
            codec = "utf-8"
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


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


def _html_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html[:MAX_HTML_STRIP])
        parser.close()
    except (AssertionError, ValueError):
        pass
    text = "".join(parser.parts)
    return re.sub(r"[ \t\r\f\v]*\n\s*", "\n", re.sub(r"[ \t\xa0]+", " ", text)).strip()


# --- headers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
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
    text = _clean(_unfold(raw))
    if "=?" not in text:
        return text, True
    try:
        chunks = decode_header(text)
    except _PARSE_ERRORS:
        return text, False
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        name = (charset or "utf-8").lower()
        out.append(_decode_bytes(chunk, _CHARSET_SUPERSETS.get(name, name)))
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


def _read_headers(pairs: Iterable[tuple[str, Any]], extraction: Extraction) -> list[_Header]:
    """Decode raw header pairs; a header that cannot be decoded keeps its raw text.

    Values are the text as written with encoded words decoded. Only address headers go
    through the policy's parser, for their mailboxes: its rendering of the value drops
    comments and, for ``name@a <real@b>``, the real address (and parsing every header with
    it would cost most of the extraction time).
    """
    found: list[_Header] = []
    failed: list[str] = []
    for index, (name, raw_value) in enumerate(pairs):
        if index >= MAX_HEADERS:
            extraction.note("limit.headers", f"more than {MAX_HEADERS} headers; the rest ignored")
            break
        raw = _clean(raw_value if isinstance(raw_value, str) else str(raw_value))
        if len(raw) > MAX_HEADER_CHARS:
            extraction.note("limit.header_size", f"{_clean(name)[:60]}: {len(raw)} characters cut")
            raw = raw[:MAX_HEADER_CHARS]
        value, decoded = _decode_words(raw)
        if not decoded:
            failed.append(name)
        mailboxes: tuple[tuple[str, str], ...] | None = None
        if name.lower() in _ADDRESS_HEADERS and len(raw) <= MAX_STRICT_ADDRESS:
            try:
                parsed = _POLICY.header_fetch_parse(name, raw)
                addresses = getattr(parsed, "addresses", None)
                invalid = any(type(d).__name__ == "InvalidHeaderDefect" for d in parsed.defects)
                if addresses is not None and not invalid:
                    mailboxes = _with_comment_names(
                        tuple(
                            (_clean(a.display_name or ""), _clean(a.addr_spec or ""))
                            for a in addresses[:MAX_LIST]
                        ),
                        value,
                    )
            except _PARSE_ERRORS:
                mailboxes = None
        if name.lower() in _ADDRESS_HEADERS and mailboxes is None:
            mailboxes = _loose_mailboxes(value)
        found.append(_Header(_clean(name), raw, value, mailboxes))
    if failed:
        names = ", ".join(sorted({_clean(n) for n in failed}))[:500]
        extraction.note("bad_header", f"encoded words not decodable, kept as written: {names}")
    return found


def _mailbox_text(display: str, address: str) -> str:
    if display and address and display.strip("'\"").lower() != address.lower():
        return f"{display} <{address}>"
    return display or address


@dataclass(slots=True)
class _Hop:
    by: str
    sender: str
    stamp: Stamp | None


def _parse_received(value: str) -> _Hop:
    """One Received header: the receiving host (by), the sending host (from) and the time."""
    head, semicolon, when = value.rpartition(";")
    if not semicolon:
        head, when = value, ""
    by = _RECEIVED_BY.search(head)
    sender = _RECEIVED_FROM.search(head)
    return _Hop(
        by.group(1) if by else "",
        sender.group(1) if sender else "",
        parse_rfc5322(when) if when.strip() else None,
    )


def _local_iso(stamp: Stamp) -> str:
    """The time as written: ISO 8601 with the offset it carried (none when it had no zone)."""
    if not stamp.tz_known or not stamp.offset:
        return stamp.utc.replace(tzinfo=None).isoformat()
    sign = -1 if stamp.offset.startswith("-") else 1
    hours, _, minutes = stamp.offset[1:].partition(":")
    zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
    return stamp.utc.astimezone(zone).isoformat()


def _put_thread_index(extraction: Extraction, data: bytes) -> None:
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


def _put_headers(extraction: Extraction, headers: list[_Header]) -> None:
    """Header facts shared by .eml messages and the transport headers of .msg files."""
    by_name: dict[str, list[_Header]] = {}
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
            extraction.raw[f"header:{header.name}{suffix}"] = _cap(header.raw)

    def first(name: str) -> _Header | None:
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
                recipients.extend(_mailbox_text(d, a) for d, a in header.mailboxes)
            elif header.value:
                recipients.append(header.value)
        extraction.put(f"email.{name}", tuple(recipients[:MAX_LIST]))
    subject = first("subject")
    if subject:
        extraction.put("email.subject", subject.value)
        extraction.put("doc.title", subject.value)
    date = first("date")
    if date:
        stamp = parse_rfc5322(_unfold(date.raw))
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
            extraction.put(fact, _unfold(identifier.raw))
    references = [ref for h in by_name.get("references", []) for ref in _MSG_IDS.findall(h.raw)]
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
            _put_thread_index(extraction, data)
    _put_received(extraction, by_name.get("received", []))
    signatures = by_name.get("dkim-signature", [])
    if signatures:
        extraction.put("email.dkim_signatures", len(signatures))
        domains = [m.group(1) for h in signatures if (m := _DKIM_DOMAIN.search(_unfold(h.raw)))]
        extraction.put("email.dkim_domains", tuple(dict.fromkeys(d.lower() for d in domains)))


def _put_received(extraction: Extraction, received: list[_Header]) -> None:
    """The Received chain, newest (top) first; first/last are the bottom and top hop times."""
    if not received:
        return
    hops = [_parse_received(_unfold(h.raw)) for h in received[:MAX_LIST]]
    extraction.put("email.received_hops", len(received))
    extraction.put(
        "email.received",
        tuple(
            f"{hop.by} | {hop.sender} | {_local_iso(hop.stamp) if hop.stamp else ''}"
            for hop in hops
        ),
    )
    times = [hop.stamp.utc for hop in hops if hop.stamp]
    if times:
        extraction.put("email.received_first", times[-1])
        extraction.put("email.received_last", times[0])
    if len(times) > 1:
        # Oldest hop first: each hop should be stamped no earlier than the one below it.
        oldest_first = times[::-1]
        steps = [
            (older - newer).total_seconds() for older, newer in itertools.pairwise(oldest_first)
        ]
        extraction.put("email.received_max_backstep_s", max(0, int(max(steps))))
    offsets = [hop.stamp.offset for hop in reversed(hops) if hop.stamp and hop.stamp.tz_known]
    extraction.put("email.received_offsets", tuple(dict.fromkeys(o for o in offsets if o)))


# --- DKIM and ARC ---------------------------------------------------------------------------

RENDERED_HEADER = "X-Leaktriage-Rendered"
"""Header leaktriage writes on messages it rebuilt (an Outlook item as .eml): their bodies are
not the bytes that were signed, so their signatures are not verified."""
_MAILDIR_FLAGS = re.compile(r"^\d{9,10}\.[^/]*:2,([A-Za-z]{1,26})$")
_SIGNATURE_HEADERS = frozenset({"dkim-signature", "arc-seal", "arc-message-signature"})


def _put_dkim(
    extraction: Extraction, data: bytes, source: Source, rendered: bool, sealed: bool
) -> None:
    """Verify the message's DKIM signatures and ARC sets; facts in ``email.dkim_*``/``arc_*``."""
    if rendered:
        extraction.put("email.dkim_result", "unsupported")
        extraction.put("email.dkim_reason", "message rebuilt from Outlook properties")
        return
    try:
        store = _dkim.key_store(source.dkim_keys)
    except _dkim.KeyStoreError as exc:
        extraction.note("dkim_keys", str(exc)[:500])
        store = _dkim.KeyStore({})
    keys = _dkim.KeySource(store, source.dkim_dns)
    try:
        message = _dkim.parse(data)
    except _dkim.PARSE_ERRORS as exc:
        extraction.put("email.dkim_result", "invalid")
        extraction.put("email.dkim_reason", f"headers not readable by the verifier: {exc}"[:300])
        return
    date = extraction.fields.get("email.date")
    when = date if isinstance(date, datetime) else None
    checks = _dkim.verify_signatures(message, data, keys, when)
    sender = extraction.fields.get("email.from")
    from_domain = None
    if isinstance(sender, str) and "@" in sender:
        from_domain = sender.rsplit("@", 1)[1].strip(" >").lower() or None
    best = _dkim.summary(checks, from_domain)
    if best is not None:
        extraction.put("email.dkim_result", best.result)
        extraction.put("email.dkim_reason", best.reason)
        extraction.put("email.dkim_domain", best.domain)
        extraction.put("email.dkim_selector", best.selector)
        extraction.put("email.dkim_algorithm", best.algorithm)
        extraction.put("email.dkim_key_bits", best.key_bits)
        extraction.put("email.dkim_signed_headers", best.signed_headers)
        extraction.put("email.dkim_body_length", best.body_length)
        extraction.put("email.dkim_unsigned_bytes", best.unsigned_bytes)
        extraction.put("email.dkim_signed_at", best.signed_at)
        extraction.put("email.dkim_expires", best.expires)
        extraction.put("email.dkim_headers_valid", best.headers_valid)
        extraction.put("email.dkim_warnings", tuple(best.warnings))
        if best.result == "pass":
            extraction.put("email.dkim_grade", _dkim.grade(best))
        extraction.put("email.dkim_verdicts", tuple(c.label() for c in checks))
    arc = None
    if sealed:
        arc = _dkim.verify_arc(
            data, _dkim.KeySource(store, source.dkim_dns, keys.used, keys.problems)
        )
    if arc is not None:
        extraction.put("email.arc_result", arc.result)
        extraction.put("email.arc_instances", arc.instances)
        extraction.put("email.arc_reason", arc.reason)
        extraction.put("email.arc_domains", arc.domains)
    for problem in dict.fromkeys(keys.problems):
        extraction.issues.append(Issue("extract", "dkim_dns", problem[:500]))
    for name, record in sorted(keys.used.items()):
        extraction.raw[f"{_dkim.KEY_RAW_PREFIX}{name}"] = record[:MAX_RAW_VALUE]


# --- .eml -------------------------------------------------------------------------------------


def _extract_eml(source: Source) -> Extraction:
    extraction = Extraction()
    data = source.read()
    try:
        message = BytesParser(policy=_POLICY).parsebytes(data)
    except _PARSE_ERRORS as exc:
        raise CorruptFileError(f"message not parseable: {exc}", partial=extraction) from exc
    headers = _read_headers(message.raw_items(), extraction)
    if not headers:
        raise CorruptFileError("no RFC 822 header found", partial=extraction)
    _put_headers(extraction, headers)
    flags = _MAILDIR_FLAGS.search(source.name)
    if flags:
        extraction.put("email.maildir_flags", flags.group(1))
    names = {h.name.lower() for h in headers}
    if names & _SIGNATURE_HEADERS:
        _put_dkim(extraction, data, source, RENDERED_HEADER.lower() in names, "arc-seal" in names)
    linesep = "\r\n" if b"\r\n" in data[: data.find(b"\n") + 1 or 4096] else "\n"
    _read_body(message, extraction, source.text_sample_bytes, linesep)
    return extraction


@dataclass(slots=True)
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    defects: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _PartInfo:
    """What one MIME part's Content-Type and Content-Disposition say (each parsed once)."""

    ctype: str
    filename: str | None
    disposition: str | None
    charset: str | None
    modified: str | None


def _part_info(part: Message) -> _PartInfo:
    ctype = filename = disposition = charset = modified = None
    try:
        content_type = part.get("content-type")
        if content_type is not None:
            ctype = getattr(content_type, "content_type", None)
            params = getattr(content_type, "params", {})
            charset, filename = params.get("charset"), params.get("name")
        content_disposition = part.get("content-disposition")
        if content_disposition is not None:
            disposition = getattr(content_disposition, "content_disposition", None)
            params = getattr(content_disposition, "params", {})
            filename = params.get("filename") or filename
            modified = params.get("modification-date")
    except _PARSE_ERRORS:
        pass
    return _PartInfo(
        _clean(str(ctype)).lower() if ctype else part.get_default_type(),
        _clean(str(filename)) if filename else None,
        _clean(str(disposition)).lower() if disposition else None,
        _clean(str(charset)) if charset else None,
        _clean(str(modified)) if modified else None,
    )


def _read_body(message: Message, extraction: Extraction, sample_chars: int, linesep: str) -> None:
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
        info = _part_info(part)
        if part is not message and info.ctype in ("message/rfc822", "message/global"):
            _attach_message(part, info, extraction, names, linesep)
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        if part is not message and (info.filename or info.disposition == "attachment"):
            _attach_part(part, info, extraction, names)
            continue
        if info.ctype in ("text/plain", "text/html"):
            _read_text(part, info, body)
    if body.defects:
        extraction.note("malformed", "MIME defects: " + ", ".join(sorted(body.defects)))
    if names:
        extraction.put("email.attachments", tuple(names))
        extraction.put("email.attachment_count", len(names))
    sample = body.plain[0] if body.plain else (_html_text(body.html[0]) if body.html else "")
    extraction.put("text.sample", sample.replace("\r\n", "\n").strip()[:sample_chars])
    extraction.put("links.external", merge(*(find_links(t) for t in body.plain + body.html)))


def _read_text(part: Message, info: _PartInfo, body: _Body) -> None:
    try:
        payload = part.get_payload(decode=True)
    except _PARSE_ERRORS:
        body.defects.add("UndecodablePayload")
        return
    if not isinstance(payload, bytes):
        return
    text = _clean(_decode_bytes(payload, info.charset))[:MAX_BODY_CHARS]
    (body.plain if info.ctype == "text/plain" else body.html).append(text)


def _child_name(name: str) -> str:
    name = _clean(name).strip().replace("\n", " ")[:MAX_NAME]
    return name


def _attach_part(part: Message, info: _PartInfo, extraction: Extraction, names: list[str]) -> None:
    if len(names) >= MAX_ATTACHMENTS:
        _note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
        return
    try:
        payload = part.get_payload(decode=True)
    except _PARSE_ERRORS:
        payload = None
    if not isinstance(payload, bytes):
        payload = b""
    name = _child_name(info.filename or "") or f"part-{len(names) + 1}"
    names.append(name)
    # Content-Disposition modification-date (RFC 2183), when the sender's client set it.
    stamp = parse_rfc5322(info.modified) if info.modified else None
    mtime = stamp.utc if stamp and stamp.tz_known else None
    extraction.children.append(Child(f"attachment:{name}", payload, mtime))


def _attach_message(
    part: Message, info: _PartInfo, extraction: Extraction, names: list[str], linesep: str
) -> None:
    """An attached message: its bytes become a child .eml, read again by this extractor."""
    if len(names) >= MAX_ATTACHMENTS:
        _note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
        return
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        extraction.note("malformed", "message/rfc822 part without a message")
        return
    buffer = io.BytesIO()
    try:
        # The parser keeps no byte offsets; the generator writes headers as found
        # (refold_source="none") and keeps boundaries, so only line endings may differ.
        generator = BytesGenerator(
            buffer, mangle_from_=False, policy=_GEN_POLICY.clone(linesep=linesep)
        )
        generator.flatten(inner)  # type: ignore[arg-type]  # typeshed wants EmailMessage
    except _PARSE_ERRORS as exc:
        extraction.note("malformed", f"attached message not serialisable: {exc}")
        return
    subject = ""
    try:
        subject = _clean(_unfold(str(inner.get("subject", "") or "")))
    except _PARSE_ERRORS:
        subject = ""
    base = _child_name(info.filename or "")
    if not base:
        base = (_child_name(subject) or f"message-{len(names) + 1}") + ".eml"
    names.append(base)
    extraction.children.append(Child(f"attachment:{base}", buffer.getvalue()))


# --- mbox -------------------------------------------------------------------------------------


def _split_mbox(handle: BinaryIO) -> Iterator[bytes]:
    """Messages of an mbox, split on ``From `` envelope lines, without their envelope line.

    A separator is a line starting with ``From `` that looks like an envelope (it carries a
    time); mboxo/mboxrd writers escape body lines as ``>From ``, which are left as they are.
    """
    current: bytearray | None = None
    at_line_start = True
    while True:
        line = handle.readline(MAX_LINE)
        if not line:
            break
        if at_line_start and line.startswith(b"From ") and _ENVELOPE.match(line[:512]):
            if current is not None:
                yield _strip_separator(current)
            current = bytearray()
        elif current is not None:
            current += line
        at_line_start = line.endswith(b"\n")
    if current is not None:
        yield _strip_separator(current)


def _strip_separator(message: bytearray) -> bytes:
    # The empty line before the next envelope belongs to the mbox format, not the message.
    if message.endswith(b"\r\n\r\n"):
        del message[-2:]
    elif message.endswith(b"\n\n"):
        del message[-1:]
    return bytes(message)


def _mbox_message_id(message: bytes) -> str | None:
    end = message.find(b"\n\n")
    crlf = message.find(b"\r\n\r\n")
    if crlf != -1 and (end == -1 or crlf < end):
        end = crlf
    head = message[: end if end != -1 else 256 << 10][: 256 << 10]
    found = _MBOX_MESSAGE_ID.search(head)
    if not found:
        return None
    value = re.sub(rb"\s+", b" ", found.group(1)).strip()
    angle = _ANGLE_ID.search(value)
    token = angle.group(1) if angle else (value if _BARE_ID.match(value) else None)
    return token.decode("ascii") if token else None


def _extract_mbox(source: Source) -> Extraction:
    extraction = Extraction()
    seen: set[str] = set()
    count = 0
    with source.open() as handle:
        for message in _split_mbox(handle):
            count += 1
            if count > MAX_MESSAGES:
                continue
            message_id = _mbox_message_id(message)
            if message_id and message_id not in seen:
                seen.add(message_id)
                name = f"<{message_id}>"
            else:
                name = f"message:{count}"
            extraction.children.append(Child(name, message))
    if count == 0:
        raise CorruptFileError("no 'From ' envelope line: not an mbox", partial=extraction)
    if count > MAX_MESSAGES:
        extraction.note("limit.messages", f"{count} messages; only {MAX_MESSAGES} handed on")
    extraction.put("email.message_count", count)
    return extraction


# --- Outlook .msg -----------------------------------------------------------------------------

PT_SHORT, PT_LONG, PT_BOOLEAN, PT_I8 = 0x0002, 0x0003, 0x000B, 0x0014
PT_OBJECT, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x000D, 0x001E, 0x001F, 0x0040, 0x0102
_SUBSTG = re.compile(r"^__substg1\.0_([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})$")
_PROPS = "__properties_version1.0"
_TOP_HEADER, _EMBEDDED_HEADER, _SUB_HEADER = 32, 24, 8
"""Size of the header before the 16-byte entries of a properties stream (MS-OXMSG 2.4)."""

PR_SUBJECT = 0x0037
PR_SENT_REPRESENTING_NAME = 0x0042
PR_SENT_REPRESENTING_EMAIL = 0x0065
PR_CONVERSATION_INDEX = 0x0071
PR_TRANSPORT_MESSAGE_HEADERS = 0x007D
PR_CLIENT_SUBMIT_TIME = 0x0039
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL = 0x0C1F
PR_RECIPIENT_TYPE = 0x0C15
PR_DISPLAY_CC = 0x0E03
PR_DISPLAY_TO = 0x0E04
PR_MESSAGE_DELIVERY_TIME = 0x0E06
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_BODY_HTML = 0x1013
PR_INTERNET_MESSAGE_ID = 0x1035
PR_INTERNET_REFERENCES = 0x1039
PR_IN_REPLY_TO_ID = 0x1042
PR_DISPLAY_NAME = 0x3001
PR_EMAIL_ADDRESS = 0x3003
PR_CREATION_TIME = 0x3007
PR_LAST_MODIFICATION_TIME = 0x3008
PR_ATTACH_DATA = 0x3701
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_SMTP_ADDRESS = 0x39FE
PR_INTERNET_CPID = 0x3FDE
PR_LAST_MODIFIER_NAME = 0x3FFA
PR_MESSAGE_CODEPAGE = 0x3FFD
PR_SENDER_SMTP_ADDRESS = 0x5D01
ATTACH_EMBEDDED_MSG = 5
_BODY_PROPS = frozenset({PR_BODY, PR_BODY_HTML, PR_RTF_COMPRESSED, PR_TRANSPORT_MESSAGE_HEADERS})
_OLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    IndexError,
    TypeError,
    KeyError,
    AttributeError,
    struct.error,
    EOFError,
    OverflowError,
    MemoryError,
)


@dataclass(slots=True)
class _Props:
    """The MAPI properties of one storage (message, recipient or attachment)."""

    strings: dict[int, str] = field(default_factory=dict)
    binaries: dict[int, bytes] = field(default_factory=dict)
    fixed: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    """Property id -> (type, 8-byte value) from the properties stream."""
    streams: dict[int, str] = field(default_factory=dict)
    """Property id -> stream name, for the raw record."""

    def long(self, prop: int) -> int | None:
        entry = self.fixed.get(prop)
        if entry is None or entry[0] not in (PT_LONG, PT_SHORT, PT_BOOLEAN):
            return None
        return int.from_bytes(entry[1][:4], "little", signed=True)

    def time(self, prop: int) -> datetime | None:
        entry = self.fixed.get(prop)
        if entry is None or entry[0] != PT_SYSTIME:
            return None
        return from_filetime(int.from_bytes(entry[1], "little"))


class _MsgReader:
    """Property access over an Outlook .msg compound file (MS-OXMSG)."""

    def __init__(self, ole: Any, extraction: Extraction) -> None:
        self.ole = ole
        self.extraction = extraction
        self.kids: dict[tuple[str, ...], list[str]] = {}
        for entry in ole.listdir(streams=True, storages=True):
            path = tuple(str(p) for p in entry)
            self.kids.setdefault(path[:-1], []).append(path[-1])

    def read(self, path: tuple[str, ...], cap: int) -> bytes | None:
        """A stream's bytes; None (and an issue) when it is unreadable or over ``cap``."""
        where = "/".join(path)
        try:
            size = int(self.ole.get_size(list(path)))
            if size > cap:
                self.extraction.note("limit.property", f"{where}: {size} bytes skipped")
                return None
            data = bytes(self.ole.openstream(list(path)).read())
        except _OLE_ERRORS as exc:
            self.extraction.note("corrupt", f"{where} unreadable: {exc}")
            return None
        if len(data) < size:
            self.extraction.note("corrupt", f"{where}: {len(data)} of {size} bytes readable")
        return data

    def props(self, prefix: tuple[str, ...], header: int) -> _Props:
        found = _Props()
        names = self.kids.get(prefix, [])
        if _PROPS in names:
            data = self.read((*prefix, _PROPS), 1 << 20) or b""
            for offset in range(header, len(data) - 15, 16):
                ptype, pid = struct.unpack_from("<HH", data, offset)
                found.fixed[pid] = (ptype, data[offset + 8 : offset + 16])
        codec = codec_for(found.long(PR_MESSAGE_CODEPAGE) or found.long(PR_INTERNET_CPID))
        for name in names:
            match = _SUBSTG.match(name)
            if not match:
                continue
            pid, ptype = int(match.group(1), 16), int(match.group(2), 16)
            if ptype not in (PT_UNICODE, PT_STRING8, PT_BINARY):
                continue
            if ptype == PT_BINARY and pid not in (PR_CONVERSATION_INDEX, PR_BODY_HTML):
                continue  # attachment data is read only when handed on
            content = self.read((*prefix, name), MAX_MSG_STRING)
            if content is None:
                continue
            found.streams[pid] = name
            if ptype == PT_BINARY:
                found.binaries[pid] = content
            elif ptype == PT_UNICODE:
                found.strings[pid] = _clean(content.decode("utf-16-le", "replace")).rstrip("\x00")
            else:
                found.strings[pid] = _clean(content.decode(codec, "replace")).rstrip("\x00")
        return found

    def storages(self, prefix: tuple[str, ...], kind: str) -> list[tuple[str, ...]]:
        return [(*prefix, n) for n in sorted(self.kids.get(prefix, [])) if n.startswith(kind)]


def _extract_msg(source: Source) -> Extraction:
    import olefile

    extraction = Extraction()
    try:
        with source.open() as handle:
            ole = olefile.OleFileIO(handle)
            try:
                reader = _MsgReader(ole, extraction)
                props = reader.props((), _TOP_HEADER)
                if not any(props.strings.values()) and not props.fixed:
                    raise CorruptFileError("no MAPI property found", partial=extraction)
                _put_msg_facts(extraction, props, source.text_sample_bytes)
                _msg_recipients(extraction, reader, (), props)
                _msg_attachments(extraction, reader, (), 0)
            finally:
                ole.close()
    except CorruptFileError:
        raise
    except _OLE_ERRORS as exc:
        raise CorruptFileError(f"compound file unreadable: {exc}", partial=extraction) from exc
    return extraction


def _put_msg_facts(extraction: Extraction, props: _Props, sample_chars: int) -> None:
    """Transport headers first, then the MAPI properties Outlook shows, which take precedence."""
    strings = props.strings
    headers_text = strings.get(PR_TRANSPORT_MESSAGE_HEADERS)
    extraction.put("email.has_transport_headers", bool(headers_text))
    if headers_text:
        try:
            parsed = Parser(policy=_POLICY).parsestr(headers_text, headersonly=True)
            _put_headers(extraction, _read_headers(parsed.raw_items(), extraction))
        except _PARSE_ERRORS as exc:
            extraction.note("bad_header", f"transport headers not parseable: {exc}")
        if "email.dkim_signatures" in extraction.fields:
            # Outlook keeps the headers but not the MIME body that was signed.
            extraction.put("email.dkim_result", "unsupported")
            extraction.put("email.dkim_reason", "Outlook .msg keeps no original MIME body")
    for pid, name in sorted(props.streams.items()):
        if pid in strings and pid not in _BODY_PROPS and len(extraction.raw) < MAX_RAW_ENTRIES:
            extraction.raw[name] = _cap(strings[pid])
    for pid, (ptype, _value) in sorted(props.fixed.items()):
        if ptype == PT_SYSTIME and (when := props.time(pid)):
            extraction.raw[f"{_PROPS}:{pid:04X}{ptype:04X}"] = when.isoformat()
        elif ptype in (PT_LONG, PT_BOOLEAN, PT_SHORT):
            extraction.raw[f"{_PROPS}:{pid:04X}{ptype:04X}"] = str(props.long(pid))
    subject = strings.get(PR_SUBJECT)
    if subject:
        extraction.put("email.subject", subject)
        extraction.put("doc.title", subject)
    name = strings.get(PR_SENDER_NAME) or strings.get(PR_SENT_REPRESENTING_NAME) or ""
    address = (
        strings.get(PR_SENDER_SMTP_ADDRESS)
        or strings.get(PR_SENDER_EMAIL)
        or strings.get(PR_SENT_REPRESENTING_EMAIL)
        or ""
    )
    if name or address:
        extraction.put("email.from", _mailbox_text(name, address))
        extraction.put("doc.author", name or address)
    extraction.put("email.message_id", strings.get(PR_INTERNET_MESSAGE_ID))
    extraction.put("email.in_reply_to", strings.get(PR_IN_REPLY_TO_ID))
    references = _MSG_IDS.findall(strings.get(PR_INTERNET_REFERENCES, ""))
    extraction.put("email.references", tuple(dict.fromkeys(references[:MAX_LIST])))
    if props.binaries.get(PR_CONVERSATION_INDEX):
        _put_thread_index(extraction, props.binaries[PR_CONVERSATION_INDEX])
    submitted = props.time(PR_CLIENT_SUBMIT_TIME)
    extraction.put("email.submit_time", submitted)
    extraction.put("email.delivery_time", props.time(PR_MESSAGE_DELIVERY_TIME))
    if "email.date" not in extraction.fields and submitted:
        extraction.put("email.date", submitted)
    # The .msg item's own times replace the Date header as the document times (see module doc).
    for prop, fact in (
        (PR_CREATION_TIME, "doc.created"),
        (PR_LAST_MODIFICATION_TIME, "doc.modified"),
    ):
        when = props.time(prop)
        if when:
            extraction.put(fact, when)
            extraction.put(f"{fact}_offset", "+00:00")
            extraction.put(f"{fact}_tz_known", True)
    extraction.put("doc.last_modified_by", strings.get(PR_LAST_MODIFIER_NAME))
    extraction.put("doc.codepage", props.long(PR_MESSAGE_CODEPAGE) or props.long(PR_INTERNET_CPID))
    plain = strings.get(PR_BODY, "")
    html = strings.get(PR_BODY_HTML, "")
    if not html and PR_BODY_HTML in props.binaries:
        html = _clean(_decode_bytes(props.binaries[PR_BODY_HTML], _charset_of_html(props)))
    sample = plain or (_html_text(html) if html else "")
    extraction.put("text.sample", sample.replace("\r\n", "\n").strip()[:sample_chars])
    links = [find_links(plain[:MAX_BODY_CHARS]), find_links(html[:MAX_BODY_CHARS])]
    extraction.put("links.external", merge(*links))


def _charset_of_html(props: _Props) -> str:
    return codec_for(props.long(PR_INTERNET_CPID) or props.long(PR_MESSAGE_CODEPAGE))


def _msg_recipients(
    extraction: Extraction, reader: _MsgReader, prefix: tuple[str, ...], message: _Props
) -> None:
    """To and Cc from the recipient storages (else from PR_DISPLAY_TO / PR_DISPLAY_CC)."""
    kinds: dict[int, list[str]] = {1: [], 2: []}
    for storage in reader.storages(prefix, "__recip_version1.0_#")[:MAX_LIST]:
        props = reader.props(storage, _SUB_HEADER)
        kind = props.long(PR_RECIPIENT_TYPE)
        name = props.strings.get(PR_DISPLAY_NAME, "")
        address = props.strings.get(PR_SMTP_ADDRESS) or props.strings.get(PR_EMAIL_ADDRESS, "")
        if kind in kinds and (name or address):
            kinds[kind].append(_mailbox_text(name, address))
    from_storages = any(kinds.values())
    for kind, fact, display in ((1, "email.to", PR_DISPLAY_TO), (2, "email.cc", PR_DISPLAY_CC)):
        values = kinds[kind]
        if not from_storages:
            values = [v.strip() for v in message.strings.get(display, "").split(";") if v.strip()]
        if values:
            extraction.put(fact, tuple(values[:MAX_LIST]))


def _msg_attachments(
    extraction: Extraction, reader: _MsgReader, prefix: tuple[str, ...], depth: int
) -> None:
    names: list[str] = []
    for storage in reader.storages(prefix, "__attach_version1.0_#"):
        if len(names) >= MAX_ATTACHMENTS:
            _note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
            break
        child = _msg_attachment(extraction, reader, storage, depth, len(names) + 1)
        if child is not None:
            names.append(child.name.removeprefix("attachment:"))
            extraction.children.append(child)
    if names:
        extraction.put("email.attachments", tuple(names))
        extraction.put("email.attachment_count", len(names))


def _msg_attachment(
    extraction: Extraction, reader: _MsgReader, storage: tuple[str, ...], depth: int, index: int
) -> Child | None:
    props = reader.props(storage, _SUB_HEADER)
    strings = props.strings
    label = (
        strings.get(PR_ATTACH_LONG_FILENAME)
        or strings.get(PR_ATTACH_FILENAME)
        or strings.get(PR_DISPLAY_NAME)
        or ""
    )
    embedded = (*storage, f"__substg1.0_{PR_ATTACH_DATA:04X}{PT_OBJECT:04X}")
    if props.long(PR_ATTACH_METHOD) == ATTACH_EMBEDDED_MSG or embedded[-1] in reader.kids.get(
        storage, []
    ):
        if embedded[-1] not in reader.kids.get(storage, []):
            extraction.note("corrupt", f"{'/'.join(storage)}: embedded message storage missing")
            return None
        if depth >= MAX_MSG_NESTING:
            extraction.note("limit.depth", f"{'/'.join(storage)}: embedded messages too deep")
            return None
        try:
            data, inner_subject = _embedded_as_eml(extraction, reader, embedded, depth + 1)
        except _PARSE_ERRORS as exc:
            extraction.note("corrupt", f"{'/'.join(storage)}: embedded message unreadable: {exc}")
            return None
        base = _child_name(label) or _child_name(inner_subject) or f"message-{index}"
        if not base.lower().endswith((".eml", ".msg")):
            base += ".eml"
        return Child(f"attachment:{base}", data)
    stream = (*storage, f"__substg1.0_{PR_ATTACH_DATA:04X}{PT_BINARY:04X}")
    if stream[-1] not in reader.kids.get(storage, []):
        # Attachments by reference or OLE objects carry no file bytes of their own.
        extraction.note("attachment_without_data", f"{'/'.join(storage)} ({label or 'no name'})")
        return None
    content = reader.read(stream, 1 << 40)
    if content is None:
        return None
    return Child(f"attachment:{_child_name(label) or f'part-{index}'}", content)


def _embedded_as_eml(
    extraction: Extraction, reader: _MsgReader, prefix: tuple[str, ...], depth: int
) -> tuple[bytes, str]:
    """An embedded Outlook message rendered as RFC 822 bytes (and its subject).

    The pipeline reads the rendering like any .eml.

    Its transport headers are kept as found (MIME headers excepted); without them, From, To,
    Cc, Subject, Date and Message-ID are written from the MAPI properties. The body and the
    attachments (bytes unchanged, so hashes still match loose copies) form the MIME part.
    """
    props = reader.props(prefix, _EMBEDDED_HEADER)
    strings = props.strings
    lines: list[str] = []
    transport = strings.get(PR_TRANSPORT_MESSAGE_HEADERS)
    if transport:
        try:
            parsed = Parser(policy=_POLICY).parsestr(transport, headersonly=True)
            lines = [
                f"{name}: {value}"
                for name, value in parsed.raw_items()
                if not name.lower().startswith("content-") and name.lower() != "mime-version"
            ]
        except _PARSE_ERRORS:
            lines = []
    if not lines:
        name = strings.get(PR_SENDER_NAME) or strings.get(PR_SENT_REPRESENTING_NAME) or ""
        address = strings.get(PR_SENDER_SMTP_ADDRESS) or strings.get(PR_SENDER_EMAIL) or ""
        submitted = props.time(PR_CLIENT_SUBMIT_TIME)
        for header, value in (
            ("From", _mailbox_text(name, address)),
            ("To", strings.get(PR_DISPLAY_TO, "")),
            ("Cc", strings.get(PR_DISPLAY_CC, "")),
            ("Subject", strings.get(PR_SUBJECT, "")),
            ("Date", format_datetime(submitted) if submitted else ""),
            ("Message-ID", strings.get(PR_INTERNET_MESSAGE_ID, "")),
        ):
            if value:
                lines.append(f"{header}: {' '.join(value.split())}")
    inner = Extraction()
    _msg_attachments(inner, reader, prefix, depth)
    extraction.issues.extend(inner.issues)
    mime = EmailMessage(policy=_POLICY)
    mime.set_content(strings.get(PR_BODY, ""), cte="base64")
    for child in inner.children:
        filename = child.name.removeprefix("attachment:")
        mime.add_attachment(
            child.data, maintype="application", subtype="octet-stream", filename=filename
        )
    digest = hashlib.sha256(strings.get(PR_BODY, "").encode("utf-8", "replace"))
    for child in inner.children:
        digest.update(hashlib.sha256(child.data).digest())
    if mime.is_multipart():
        mime.set_boundary(f"=_leaktriage_{digest.hexdigest()[:32]}")
    lines.insert(0, f"{RENDERED_HEADER}: outlook-msg")
    head = "\r\n".join(_clean(line).replace("\r", " ").replace("\n", " ") for line in lines)
    body = mime.as_bytes(policy=_GEN_POLICY.clone(linesep="\r\n"))
    data = (head + "\r\n").encode("utf-8", "replace") + body if head else body
    return data, strings.get(PR_SUBJECT, "")


# --- Outlook .pst (optional: libpff) -----------------------------------------------------------

PST_EXTRA = "pip install 'leaktriage[pst]'"
MAX_PST_FOLDERS = 10_000
"""Folders walked per .pst."""
MAX_PST_ATTACHMENT = 256 << 20
"""Largest .pst attachment handed on; larger ones are noted and skipped."""


def _extract_pst(source: Source) -> Extraction:
    """Every message of an Outlook .pst as a child .eml (``mail.pst!Inbox/<message-id>``)."""
    try:
        import pypff  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        extraction = Extraction(status=Status.UNSUPPORTED)
        extraction.issues.append(
            Issue(
                "extract",
                "dependency_missing",
                f"Outlook .pst needs the optional libpff reader: {PST_EXTRA}",
            )
        )
        return extraction
    extraction = Extraction()
    pst = pypff.file()
    with source.open() as handle:
        try:
            pst.open_file_object(handle)
        except (OSError, ValueError, TypeError) as exc:
            raise CorruptFileError(f"pst not readable: {exc}", partial=extraction) from exc
        try:
            seen: set[str] = set()
            count = _pst_folder(extraction, pst.get_root_folder(), "", seen, [0, 0])
        except (OSError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            extraction.note("corrupt", f"pst reading stopped: {exc}")
            count = len(extraction.children)
        finally:
            pst.close()
    extraction.put("email.message_count", count)
    return extraction


def _pst_folder(
    extraction: Extraction, folder: Any, path: str, seen: set[str], counts: list[int]
) -> int:
    """Walk a folder and its sub-folders (iteratively bounded); returns messages found."""
    stack: list[tuple[Any, str]] = [(folder, path)]
    while stack:
        current, where = stack.pop()
        counts[1] += 1
        if counts[1] > MAX_PST_FOLDERS:
            _note_once(extraction, "limit.folders", f"more than {MAX_PST_FOLDERS} folders")
            break
        for index in range(int(current.get_number_of_sub_messages() or 0)):
            counts[0] += 1
            if counts[0] > MAX_MESSAGES:
                _note_once(extraction, "limit.messages", f"more than {MAX_MESSAGES} messages")
                return counts[0]
            try:
                child = _pst_message(extraction, current.get_sub_message(index), where, seen)
            except (OSError, ValueError, TypeError, AttributeError, OverflowError) as exc:
                extraction.note("corrupt", f"{where or '/'} message {index + 1}: {exc}")
                continue
            extraction.children.append(child)
        subs = int(current.get_number_of_sub_folders() or 0)
        for index in reversed(range(subs)):
            sub = current.get_sub_folder(index)
            name = _child_name(str(sub.get_name() or f"folder-{index + 1}")).replace("!", "_")
            stack.append((sub, f"{where}/{name}" if where else name))
    return counts[0]


def _pst_message(extraction: Extraction, message: Any, where: str, seen: set[str]) -> Child:
    """One .pst message rendered as RFC 822 bytes, marked as rebuilt (see ``RENDERED_HEADER``)."""
    transport = _clean(str(message.get_transport_headers() or ""))
    lines: list[str] = [f"{RENDERED_HEADER}: outlook-pst"]
    if transport:
        parsed = Parser(policy=_POLICY).parsestr(transport, headersonly=True)
        lines += [
            f"{name}: {value}"
            for name, value in parsed.raw_items()
            if not name.lower().startswith("content-") and name.lower() != "mime-version"
        ]
    else:
        submitted = message.get_client_submit_time()
        for header, value in (
            ("From", str(message.get_sender_name() or "")),
            ("Subject", str(message.get_subject() or "")),
            ("Date", format_datetime(submitted.replace(tzinfo=UTC)) if submitted else ""),
        ):
            if value:
                lines.append(f"{header}: {' '.join(_clean(value).split())}")
    raw_body = message.get_plain_text_body() or b""
    body = _clean(
        raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else str(raw_body)
    )
    mime = EmailMessage(policy=_POLICY)
    mime.set_content(body, cte="base64")
    digest = hashlib.sha256(body.encode("utf-8", "replace"))
    for index in range(min(int(message.get_number_of_attachments() or 0), MAX_ATTACHMENTS)):
        attachment = message.get_attachment(index)
        size = int(attachment.get_size() or 0)
        label = _child_name(str(attachment.get_long_filename() or "")) or f"part-{index + 1}"
        if size > MAX_PST_ATTACHMENT:
            extraction.note("limit.attachment", f"{label}: {size} bytes not read")
            continue
        data = bytes(attachment.read_buffer(size)) if size else b""
        digest.update(hashlib.sha256(data).digest())
        mime.add_attachment(data, maintype="application", subtype="octet-stream", filename=label)
    if mime.is_multipart():
        mime.set_boundary(f"=_leaktriage_{digest.hexdigest()[:32]}")
    head = "\r\n".join(_clean(line).replace("\r", " ").replace("\n", " ") for line in lines)
    data = (head + "\r\n").encode("utf-8", "replace") + mime.as_bytes(
        policy=_GEN_POLICY.clone(linesep="\r\n")
    )
    found = _mbox_message_id(data)
    label = f"<{found}>" if found and found not in seen else f"message:{len(seen) + 1}"
    seen.add(found or label)
    return Child(f"{where}/{label}" if where else label, data)
