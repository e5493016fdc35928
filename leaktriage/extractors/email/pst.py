"""Outlook .pst/.ost personal folders (optional: libpff): every message rendered as a child
.eml (``mail.pst!Inbox/<message-id>``); and the .pst extractor."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email.message import EmailMessage
from email.parser import Parser
from email.utils import format_datetime
from typing import Any

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Child, Extraction, Source, register
from leaktriage.extractors.email._common import (
    GEN_POLICY,
    MAX_ATTACHMENTS,
    MAX_MESSAGES,
    POLICY,
    RENDERED_HEADER,
    child_name,
    clean,
    note_once,
)
from leaktriage.extractors.email.mbox import message_id_of
from leaktriage.model import Issue, Status

PST_EXTRA = "pip install 'leaktriage[pst]'"
MAX_PST_FOLDERS = 10_000
"""Folders walked per .pst."""
MAX_PST_ATTACHMENT = 256 << 20
"""Largest .pst attachment handed on; larger ones are noted and skipped."""


@register(
    name="email.pst", family="email", version=1, mime_types={"application/vnd.ms-outlook-pst"}
)
def extract(source: Source) -> Extraction:
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
            note_once(extraction, "limit.folders", f"more than {MAX_PST_FOLDERS} folders")
            break
        for index in range(int(current.get_number_of_sub_messages() or 0)):
            counts[0] += 1
            if counts[0] > MAX_MESSAGES:
                note_once(extraction, "limit.messages", f"more than {MAX_MESSAGES} messages")
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
            name = child_name(str(sub.get_name() or f"folder-{index + 1}")).replace("!", "_")
            stack.append((sub, f"{where}/{name}" if where else name))
    return counts[0]


def _pst_message(extraction: Extraction, message: Any, where: str, seen: set[str]) -> Child:
    """One .pst message rendered as RFC 822 bytes, marked as rebuilt (see ``RENDERED_HEADER``)."""
    transport = clean(str(message.get_transport_headers() or ""))
    lines: list[str] = [f"{RENDERED_HEADER}: outlook-pst"]
    if transport:
        parsed = Parser(policy=POLICY).parsestr(transport, headersonly=True)
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
                lines.append(f"{header}: {' '.join(clean(value).split())}")
    raw_body = message.get_plain_text_body() or b""
    body = clean(
        raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else str(raw_body)
    )
    mime = EmailMessage(policy=POLICY)
    mime.set_content(body, cte="base64")
    digest = hashlib.sha256(body.encode("utf-8", "replace"))
    for index in range(min(int(message.get_number_of_attachments() or 0), MAX_ATTACHMENTS)):
        attachment = message.get_attachment(index)
        size = int(attachment.get_size() or 0)
        label = child_name(str(attachment.get_long_filename() or "")) or f"part-{index + 1}"
        if size > MAX_PST_ATTACHMENT:
            extraction.note("limit.attachment", f"{label}: {size} bytes not read")
            continue
        data = bytes(attachment.read_buffer(size)) if size else b""
        digest.update(hashlib.sha256(data).digest())
        mime.add_attachment(data, maintype="application", subtype="octet-stream", filename=label)
    if mime.is_multipart():
        mime.set_boundary(f"=_leaktriage_{digest.hexdigest()[:32]}")
    head = "\r\n".join(clean(line).replace("\r", " ").replace("\n", " ") for line in lines)
    data = (head + "\r\n").encode("utf-8", "replace") + mime.as_bytes(
        policy=GEN_POLICY.clone(linesep="\r\n")
    )
    found = message_id_of(data)
    label = f"<{found}>" if found and found not in seen else f"message:{len(seen) + 1}"
    seen.add(found or label)
    return Child(f"{where}/{label}" if where else label, data)
