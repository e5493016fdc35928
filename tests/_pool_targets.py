"""Extract functions that misbehave on purpose, run inside worker processes by test_workers."""

from __future__ import annotations

import ctypes
import time

from leaktriage.extractors import Extraction, Source
from leaktriage.model import Status


def misbehave(source: Source) -> tuple[Extraction, str | None, Status]:
    """Hang, crash, exhaust memory or succeed, depending on the item's name."""
    if source.name == "hang":
        time.sleep(600)
    elif source.name == "crash":
        ctypes.string_at(0)  # reads address 0: SIGSEGV inside C code
    elif source.name == "memory":
        hoard = bytearray(8 * 1024 * 1024 * 1024)
        return Extraction(raw={"size": str(len(hoard))}), "test@1", Status.OK
    return Extraction(raw={"echo": source.name}), "test@1", Status.OK
