"""Attachments of an RFC 822 message: what a part's Content-Type and Content-Disposition say,
attached files and attached messages as child items (bytes as sent, names as given)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message

from leaktriage.extractors import Child, Extraction
from leaktriage.extractors._dates import parse_rfc5322
from leaktriage.extractors.email._common import (
    GEN_POLICY,
    MAX_ATTACHMENTS,
    PARSE_ERRORS,
    child_name,
    clean,
    note_once,
    unfold,
)


@dataclass(frozen=True, slots=True)
class PartInfo:
    """What one MIME part's Content-Type and Content-Disposition say (each parsed once)."""

    ctype: str
    filename: str | None
    disposition: str | None
    charset: str | None
    modified: str | None


def part_info(part: Message) -> PartInfo:
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
    except PARSE_ERRORS:
        pass
    return PartInfo(
        clean(str(ctype)).lower() if ctype else part.get_default_type(),
        clean(str(filename)) if filename else None,
        clean(str(disposition)).lower() if disposition else None,
        clean(str(charset)) if charset else None,
        clean(str(modified)) if modified else None,
    )


def attach_part(part: Message, info: PartInfo, extraction: Extraction, names: list[str]) -> None:
    if len(names) >= MAX_ATTACHMENTS:
        note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
        extraction.skip_child("limit.attachments", MAX_ATTACHMENTS)
        return
    try:
        payload = part.get_payload(decode=True)
    except PARSE_ERRORS:
        payload = None
    if not isinstance(payload, bytes):
        payload = b""
    name = child_name(info.filename or "") or f"part-{len(names) + 1}"
    names.append(name)
    # Content-Disposition modification-date (RFC 2183), when the sender's client set it.
    stamp = parse_rfc5322(info.modified) if info.modified else None
    mtime = stamp.utc if stamp and stamp.tz_known else None
    extraction.children.append(Child(f"attachment:{name}", payload, mtime))


def attach_message(
    part: Message, info: PartInfo, extraction: Extraction, names: list[str], linesep: str
) -> None:
    """An attached message: its bytes become a child .eml, read again by this extractor."""
    if len(names) >= MAX_ATTACHMENTS:
        note_once(extraction, "limit.attachments", f"more than {MAX_ATTACHMENTS} attachments")
        extraction.skip_child("limit.attachments", MAX_ATTACHMENTS)
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
            buffer, mangle_from_=False, policy=GEN_POLICY.clone(linesep=linesep)
        )
        generator.flatten(inner)  # type: ignore[arg-type]  # typeshed wants EmailMessage
    except PARSE_ERRORS as exc:
        extraction.note("malformed", f"attached message not serialisable: {exc}")
        return
    subject = ""
    try:
        subject = clean(unfold(str(inner.get("subject", "") or "")))
    except PARSE_ERRORS:
        subject = ""
    base = child_name(info.filename or "")
    if not base:
        base = (child_name(subject) or f"message-{len(names) + 1}") + ".eml"
    names.append(base)
    extraction.children.append(Child(f"attachment:{base}", buffer.getvalue()))
