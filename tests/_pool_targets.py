"""Extract functions that misbehave on purpose, run inside worker processes by test_workers."""

from __future__ import annotations

import ctypes
import socket
import subprocess
import time
import urllib.request

from leaktriage.extractors import Extraction, Source
from leaktriage.model import Status


def misbehave(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Hang, crash, exhaust memory or succeed, depending on the item's name."""
    if source.name == "hang":
        time.sleep(600)
    elif source.name == "crash":
        ctypes.string_at(0)  # reads address 0: SIGSEGV inside C code
    elif source.name == "raise":
        raise ValueError("a bug outside the extractor boundary")
    elif source.name == "memory":
        hoard = bytearray(8 * 1024 * 1024 * 1024)
        return Extraction(raw={"size": str(len(hoard))}), "test@1", Status.OK, "x/test"
    return Extraction(raw={"echo": source.name}), "test@1", Status.OK, "x/test"


def phone_home(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Try to go online the way a careless library would; the worker's sandbox must refuse."""
    from leaktriage.api import run_extractor  # noqa: F401 - imported like a real worker does
    from leaktriage.errors import NetworkBlockedError

    attempts = []
    for attempt in (
        lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
        lambda: socket.getaddrinfo("canary.tracker.example", 80),
        lambda: urllib.request.urlopen("http://127.0.0.1:9/beacon.png", timeout=1),
        lambda: subprocess.run(["true"], check=False),
    ):
        try:
            attempt()
            attempts.append("went through")
        except NetworkBlockedError:
            attempts.append("blocked")
        except OSError as exc:
            attempts.append(f"os error {exc}")
    return Extraction(raw={"attempts": ",".join(attempts)}), "test@1", Status.OK, "x/test"


def mirror(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Hand the whole content back as one child, as a mailbox hands back its messages."""
    from leaktriage.extractors import Child

    return Extraction(children=[Child("copy", source.read())]), "test@1", Status.OK, "x/test"


def echo_large(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Answer with a result larger than a pipe's buffer (as an email with attachments does)."""
    time.sleep(0.05)
    size = len(source.data or b"")
    return Extraction(raw={"echo": source.name, "pad": "x" * 2_000_000}), str(size), Status.OK, ""


def logged_echo(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Note ``<pid> <name>`` in the log file ``source.path`` as the item begins, take a few
    milliseconds (the length is in the name's last field), then echo the name."""
    import os
    from pathlib import Path

    assert source.path is not None
    with Path(source.path).open("a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {source.name}\n")
    time.sleep(int(source.name.rsplit("-", 1)[-1]) / 1000)
    return Extraction(raw={"echo": source.name}), "test@1", Status.OK, "x/test"


def kill_self(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """SIGKILL the worker on an item named ``kill...`` (as the kernel's OOM killer would);
    echo any other name."""
    import os
    import signal

    if source.name.startswith("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    return Extraction(raw={"echo": source.name}), "test@1", Status.OK, "x/test"


def hoard(source: Source) -> tuple[Extraction, str | None, Status, str]:
    """Allocate without bound on an item named ``hoard...``; echo any other name."""
    if source.name.startswith("hoard"):
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
    return Extraction(raw={"echo": source.name}), "test@1", Status.OK, "x/test"


def _refuse_to_start() -> None:
    raise RuntimeError("this extractor cannot be loaded in a worker")


class Unstartable:
    """An extract function that pickles in the parent but cannot be unpickled in a worker:
    every worker dies on start, before it begins any item."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_refuse_to_start, ())

    def __call__(self, source: Source) -> tuple[Extraction, str | None, Status, str]:
        raise AssertionError("never called")
