"""MAPI properties of an Outlook .msg compound file (MS-OXMSG): property ids and types, and a
reader that gives each storage's strings, binaries and fixed-size values."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leaktriage.extractors import Extraction
from leaktriage.extractors._codepage import codec_for
from leaktriage.extractors._dates import from_filetime
from leaktriage.extractors.email._common import clean

MAX_MSG_STRING = 8 << 20
"""Largest MAPI string property read (bodies included)."""

PT_SHORT, PT_LONG, PT_BOOLEAN, PT_I8 = 0x0002, 0x0003, 0x000B, 0x0014
PT_OBJECT, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x000D, 0x001E, 0x001F, 0x0040, 0x0102
_SUBSTG = re.compile(r"^__substg1\.0_([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})$")
PROPS = "__properties_version1.0"
TOP_HEADER, EMBEDDED_HEADER, SUB_HEADER = 32, 24, 8
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
BODY_PROPS = frozenset({PR_BODY, PR_BODY_HTML, PR_RTF_COMPRESSED, PR_TRANSPORT_MESSAGE_HEADERS})
OLE_ERRORS: tuple[type[Exception], ...] = (
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
class Props:
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


class MsgReader:
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
        except OLE_ERRORS as exc:
            self.extraction.note("corrupt", f"{where} unreadable: {exc}")
            return None
        if len(data) < size:
            self.extraction.note("corrupt", f"{where}: {len(data)} of {size} bytes readable")
        return data

    def props(self, prefix: tuple[str, ...], header: int) -> Props:
        found = Props()
        names = self.kids.get(prefix, [])
        if PROPS in names:
            data = self.read((*prefix, PROPS), 1 << 20) or b""
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
                found.strings[pid] = clean(content.decode("utf-16-le", "replace")).rstrip("\x00")
            else:
                found.strings[pid] = clean(content.decode(codec, "replace")).rstrip("\x00")
        return found

    def storages(self, prefix: tuple[str, ...], kind: str) -> list[tuple[str, ...]]:
        return [(*prefix, n) for n in sorted(self.kids.get(prefix, [])) if n.startswith(kind)]
