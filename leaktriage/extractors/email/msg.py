"""Outlook .msg files: MAPI facts, recipients, attachments and embedded messages, and the .msg
extractor.

An Outlook .msg is read property by property with olefile (``mapi``); its transport headers
(``PR_TRANSPORT_MESSAGE_HEADERS``) are the real Internet headers and go through the same
header code as an .eml. ``doc.created``/``doc.modified`` are the MAPI creation and
last-modification times of the stored item, and the sending time is ``email.date``. An
embedded message is rendered as an .eml child.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.parser import Parser
from email.utils import format_datetime

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Child, Extraction, Source, register
from leaktriage.extractors._codepage import codec_for
from leaktriage.extractors._links import find_links, merge
from leaktriage.extractors.email._common import (
    GEN_POLICY,
    MAX_ATTACHMENTS,
    MAX_BODY_CHARS,
    MAX_LIST,
    MAX_RAW_ENTRIES,
    PARSE_ERRORS,
    POLICY,
    RENDERED_HEADER,
    cap,
    child_name,
    clean,
    decode_bytes,
    note_once,
)
from leaktriage.extractors.email.headers import (
    MSG_IDS,
    mailbox_text,
    put_headers,
    put_thread_index,
    read_headers,
)
from leaktriage.extractors.email.mapi import (
    ATTACH_EMBEDDED_MSG,
    BODY_PROPS,
    EMBEDDED_HEADER,
    OLE_ERRORS,
    PR_ATTACH_DATA,
    PR_ATTACH_FILENAME,
    PR_ATTACH_LONG_FILENAME,
    PR_ATTACH_METHOD,
    PR_BODY,
    PR_BODY_HTML,
    PR_CLIENT_SUBMIT_TIME,
    PR_CONVERSATION_INDEX,
    PR_CREATION_TIME,
    PR_DISPLAY_CC,
    PR_DISPLAY_NAME,
    PR_DISPLAY_TO,
    PR_EMAIL_ADDRESS,
    PR_IN_REPLY_TO_ID,
    PR_INTERNET_CPID,
    PR_INTERNET_MESSAGE_ID,
    PR_INTERNET_REFERENCES,
    PR_LAST_MODIFICATION_TIME,
    PR_LAST_MODIFIER_NAME,
    PR_MESSAGE_CODEPAGE,
    PR_MESSAGE_DELIVERY_TIME,
    PR_RECIPIENT_TYPE,
    PR_SENDER_EMAIL,
    PR_SENDER_NAME,
    PR_SENDER_SMTP_ADDRESS,
    PR_SENT_REPRESENTING_EMAIL,
    PR_SENT_REPRESENTING_NAME,
    PR_SMTP_ADDRESS,
    PR_SUBJECT,
    PR_TRANSPORT_MESSAGE_HEADERS,
    PROPS,
    PT_BINARY,
    PT_BOOLEAN,
    PT_LONG,
    PT_OBJECT,
    PT_SHORT,
    PT_SYSTIME,
    SUB_HEADER,
    TOP_HEADER,
    MsgReader,
    Props,
)
from leaktriage.extractors.email.mime import html_text
from leaktriage.extractors.html import put_remote_content

MAX_MSG_NESTING = 4
"""Embedded .msg messages converted inside one another."""


@register(name="email.msg", family="email", version=1, mime_types={"application/vnd.ms-outlook"})
def extract(source: Source) -> Extraction:
    """Read an Outlook .msg file: header and MAPI facts, body sample and links; its
    attachments and embedded messages become children."""
    import olefile

    extraction = Extraction()
    try:
        with source.open() as handle:
            ole = olefile.OleFileIO(handle)
            try:
                reader = MsgReader(ole, extraction)
                props = reader.props((), TOP_HEADER)
                if not any(props.strings.values()) and not props.fixed:
                    raise CorruptFileError("no MAPI property found", partial=extraction)
                _put_msg_facts(extraction, props, source.text_sample_bytes)
                _msg_recipients(extraction, reader, (), props)
                _msg_attachments(extraction, reader, (), 0)
            finally:
                ole.close()
    except CorruptFileError:
        raise
    except OLE_ERRORS as exc:
        raise CorruptFileError(f"compound file unreadable: {exc}", partial=extraction) from exc
    return extraction


def _put_msg_facts(extraction: Extraction, props: Props, sample_chars: int) -> None:
    """Transport headers first, then the MAPI properties Outlook shows, which take precedence."""
    strings = props.strings
    headers_text = strings.get(PR_TRANSPORT_MESSAGE_HEADERS)
    extraction.put("email.has_transport_headers", bool(headers_text))
    if headers_text:
        try:
            parsed = Parser(policy=POLICY).parsestr(headers_text, headersonly=True)
            put_headers(extraction, read_headers(parsed.raw_items(), extraction))
        except PARSE_ERRORS as exc:
            extraction.note("bad_header", f"transport headers not parseable: {exc}")
        if "email.dkim_signatures" in extraction.fields:
            # Outlook keeps the headers but not the MIME body that was signed.
            extraction.put("email.dkim_result", "unsupported")
            extraction.put("email.dkim_reason", "Outlook .msg keeps no original MIME body")
    for pid, name in sorted(props.streams.items()):
        if pid in strings and pid not in BODY_PROPS and len(extraction.raw) < MAX_RAW_ENTRIES:
            extraction.raw[name] = cap(strings[pid])
    for pid, (ptype, _value) in sorted(props.fixed.items()):
        if ptype == PT_SYSTIME and (when := props.time(pid)):
            extraction.raw[f"{PROPS}:{pid:04X}{ptype:04X}"] = when.isoformat()
        elif ptype in (PT_LONG, PT_BOOLEAN, PT_SHORT):
            extraction.raw[f"{PROPS}:{pid:04X}{ptype:04X}"] = str(props.long(pid))
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
        extraction.put("email.from", mailbox_text(name, address))
        extraction.put("doc.author", name or address)
    extraction.put("email.message_id", strings.get(PR_INTERNET_MESSAGE_ID))
    extraction.put("email.in_reply_to", strings.get(PR_IN_REPLY_TO_ID))
    references = MSG_IDS.findall(strings.get(PR_INTERNET_REFERENCES, ""))
    extraction.put("email.references", tuple(dict.fromkeys(references[:MAX_LIST])))
    if props.binaries.get(PR_CONVERSATION_INDEX):
        put_thread_index(extraction, props.binaries[PR_CONVERSATION_INDEX])
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
        html = clean(decode_bytes(props.binaries[PR_BODY_HTML], _charset_of_html(props)))
    sample = plain or (html_text(html) if html else "")
    extraction.put("text.sample", sample.replace("\r\n", "\n").strip()[:sample_chars])
    links = [find_links(plain[:MAX_BODY_CHARS]), find_links(html[:MAX_BODY_CHARS])]
    put_remote_content(extraction, [html[:MAX_BODY_CHARS]] if html else [], merge(*links))


def _charset_of_html(props: Props) -> str:
    return codec_for(props.long(PR_INTERNET_CPID) or props.long(PR_MESSAGE_CODEPAGE))


def _msg_recipients(
    extraction: Extraction, reader: MsgReader, prefix: tuple[str, ...], message: Props
) -> None:
    """To and Cc from the recipient storages (else from PR_DISPLAY_TO / PR_DISPLAY_CC)."""
    kinds: dict[int, list[str]] = {1: [], 2: []}
    for storage in reader.storages(prefix, "__recip_version1.0_#")[:MAX_LIST]:
        props = reader.props(storage, SUB_HEADER)
        kind = props.long(PR_RECIPIENT_TYPE)
        name = props.strings.get(PR_DISPLAY_NAME, "")
        address = props.strings.get(PR_SMTP_ADDRESS) or props.strings.get(PR_EMAIL_ADDRESS, "")
        if kind in kinds and (name or address):
            kinds[kind].append(mailbox_text(name, address))
    from_storages = any(kinds.values())
    for kind, fact, display in ((1, "email.to", PR_DISPLAY_TO), (2, "email.cc", PR_DISPLAY_CC)):
        values = kinds[kind]
        if not from_storages:
            values = [v.strip() for v in message.strings.get(display, "").split(";") if v.strip()]
        if values:
            extraction.put(fact, tuple(values[:MAX_LIST]))


def _msg_attachments(
    extraction: Extraction, reader: MsgReader, prefix: tuple[str, ...], depth: int
) -> None:
    names: list[str] = []
    for storage in reader.storages(prefix, "__attach_version1.0_#"):
        if len(names) >= MAX_ATTACHMENTS:
            note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
            extraction.skip_child("limit.attachments", MAX_ATTACHMENTS)
            continue
        child = _msg_attachment(extraction, reader, storage, depth, len(names) + 1)
        if child is not None:
            names.append(child.name.removeprefix("attachment:"))
            extraction.children.append(child)
    if names:
        extraction.put("email.attachments", tuple(names))
        extraction.put("email.attachment_count", len(names))


def _msg_attachment(
    extraction: Extraction, reader: MsgReader, storage: tuple[str, ...], depth: int, index: int
) -> Child | None:
    props = reader.props(storage, SUB_HEADER)
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
        except PARSE_ERRORS as exc:
            extraction.note("corrupt", f"{'/'.join(storage)}: embedded message unreadable: {exc}")
            return None
        base = child_name(label) or child_name(inner_subject) or f"message-{index}"
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
    return Child(f"attachment:{child_name(label) or f'part-{index}'}", content)


def _embedded_as_eml(
    extraction: Extraction, reader: MsgReader, prefix: tuple[str, ...], depth: int
) -> tuple[bytes, str]:
    """An embedded Outlook message rendered as RFC 822 bytes (and its subject).

    The pipeline reads the rendering like any .eml.

    Its transport headers are kept as found (MIME headers excepted); without them, From, To,
    Cc, Subject, Date and Message-ID are written from the MAPI properties. The body and the
    attachments (bytes unchanged, so hashes still match loose copies) form the MIME part.
    """
    props = reader.props(prefix, EMBEDDED_HEADER)
    strings = props.strings
    lines: list[str] = []
    transport = strings.get(PR_TRANSPORT_MESSAGE_HEADERS)
    if transport:
        try:
            parsed = Parser(policy=POLICY).parsestr(transport, headersonly=True)
            lines = [
                f"{name}: {value}"
                for name, value in parsed.raw_items()
                if not name.lower().startswith("content-") and name.lower() != "mime-version"
            ]
        except PARSE_ERRORS:
            lines = []
    if not lines:
        name = strings.get(PR_SENDER_NAME) or strings.get(PR_SENT_REPRESENTING_NAME) or ""
        address = strings.get(PR_SENDER_SMTP_ADDRESS) or strings.get(PR_SENDER_EMAIL) or ""
        submitted = props.time(PR_CLIENT_SUBMIT_TIME)
        for header, value in (
            ("From", mailbox_text(name, address)),
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
    mime = EmailMessage(policy=POLICY)
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
    head = "\r\n".join(clean(line).replace("\r", " ").replace("\n", " ") for line in lines)
    body = mime.as_bytes(policy=GEN_POLICY.clone(linesep="\r\n"))
    data = (head + "\r\n").encode("utf-8", "replace") + body if head else body
    return data, strings.get(PR_SUBJECT, "")
