"""mbox mailboxes: split on ``From `` envelope lines, each message a child item named by its
Message-ID; and the mbox extractor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Child, Extraction, Source, register
from leaktriage.extractors.email._common import MAX_MESSAGES

MAX_LINE = 1 << 20
"""Longest mbox line read at once; longer lines are read in pieces."""
_ENVELOPE = re.compile(rb"^From \S*.*\d{1,2}:\d{2}")
_MBOX_MESSAGE_ID = re.compile(
    rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE
)
_ANGLE_ID = re.compile(rb"<([!-;=?-~]{1,250})>")
_BARE_ID = re.compile(rb"^[!-~]{1,250}$")


@register(name="email.mbox", family="email", version=1, mime_types={"application/mbox"})
def extract(source: Source) -> Extraction:
    """Hand every message of an mbox mailbox back to the pipeline as a child item."""
    extraction = Extraction()
    seen: set[str] = set()
    count = 0
    with source.open() as handle:
        for message in _split_mbox(handle):
            count += 1
            if count > MAX_MESSAGES:
                extraction.skip_child("limit.messages", MAX_MESSAGES)
                continue
            message_id = message_id_of(message)
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


def message_id_of(message: bytes) -> str | None:
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
