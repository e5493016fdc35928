"""No network, no subprocesses: an audit hook that refuses them inside a scan.

A document in a leak may point at a canary token, a tracking pixel or a remote template;
fetching any of them would tell whoever planted it that the file was opened. leaktriage's
own code never fetches, and this hook makes sure no library does it behind its back: every
socket connection, DNS look-up, URL open and process start raises
:class:`~leaktriage.errors.NetworkBlockedError` instead. It is installed in every worker
process, in the scan's helper processes (:func:`spawn_helper`) and in the ``leaktriage``
command's own process; audit hooks cannot be removed, so the library never installs it in a
caller's process on its own.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from leaktriage.errors import NetworkBlockedError

BLOCKED_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "urllib.Request",
        "http.client.connect",
        "ftplib.connect",
        "smtplib.connect",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "webbrowser.open",
    }
)
"""Audit events refused while the hook is installed."""

_ALLOWED_SOCKET_FAMILIES = {1}  # AF_UNIX: multiprocessing's own pipes between processes
_INSTALLED = False
_DNS = threading.local()
_DNS_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"})


@contextmanager
def dns_allowed() -> Iterator[None]:
    """Let this thread reach DNS servers (port 53) and nothing else, for ``--dkim-dns`` only."""
    _DNS.on = True
    try:
        yield
    finally:
        _DNS.on = False


def _is_dns(event: str, args: tuple[Any, ...]) -> bool:
    if event not in _DNS_EVENTS or not getattr(_DNS, "on", False):
        return False
    if event == "socket.getaddrinfo":
        return len(args) > 1 and str(args[1]) in ("53", "domain")
    address = args[-1] if args else None
    if isinstance(address, list) and address:  # sendmsg: (sock, buffers, ancdata, flags, addr)
        address = address[0]
    return isinstance(address, tuple) and len(address) >= 2 and address[1] == 53


_THREAD_HOOK_INSTALLED = False
_ALLOWED_HOSTS: set[str] = set()
"""Host names that may be resolved (the Dask scheduler's, after ``allow_endpoint``)."""
_ALLOWED_ENDPOINTS: set[tuple[str, int]] = set()
"""(address, port) pairs this process may connect to."""
_THREAD = threading.local()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in BLOCKED_EVENTS:
        return
    if _is_dns(event, args):
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg") and args:
        family = getattr(args[0], "family", None)
        if family is not None and int(family) in _ALLOWED_SOCKET_FAMILIES:
            return
        if event == "socket.connect" and len(args) > 1 and _endpoint(args[1]) in _ALLOWED_ENDPOINTS:
            return
    if event == "socket.getaddrinfo" and args and _host(args[0]) in _ALLOWED_HOSTS:
        return
    raise NetworkBlockedError(f"refused {event} during a scan: leaktriage never goes online")


def _host(value: object) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _endpoint(address: object) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return str(address[0]), address[1]
    return None


def allow_endpoint(host: str, port: int) -> None:
    """Let this process reach one ``host:port`` (the Dask scheduler) and nothing else.

    The name is resolved here, once; connections to the addresses it resolves to on that
    port pass the hook, every other connection, look-up and process start is still refused.
    """
    _ALLOWED_HOSTS.add(host)
    for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
        _ALLOWED_ENDPOINTS.add((str(info[4][0]), port))


def _thread_hook(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_THREAD, "refused", False):
        _hook(event, args)


@contextmanager
def network_refused_in_this_thread() -> Iterator[None]:
    """Refuse network and process starts in the calling thread only, for the block's time.

    For a process that must keep its own connections (a Dask worker parsing in one of its
    threads): the hook is process-wide but only acts for threads inside this block.
    """
    global _THREAD_HOOK_INSTALLED
    if not _THREAD_HOOK_INSTALLED:
        sys.addaudithook(_thread_hook)
        _THREAD_HOOK_INSTALLED = True
    _THREAD.refused = True
    try:
        yield
    finally:
        _THREAD.refused = False


def forbid_network() -> None:
    """Install the hook in this process (once; it stays for the life of the process)."""
    global _INSTALLED
    if not _INSTALLED:
        sys.addaudithook(_hook)
        _INSTALLED = True


def spawn_helper(
    target: Callable[..., None], *args: Any, name: str | None = None
) -> tuple[Connection, BaseProcess]:
    """Start one of a scan's helper processes (store writer, corpus models, report) running
    ``target(conn, *args)``; returns the scan's end of the pipe and the process.

    It is a fresh interpreter (``spawn``: none of the scan's threads, locks or parsers is
    inherited), it leaves Ctrl-C to the scanning process, which then stops it, and it runs
    with the network and process starts refused like the workers. Raises ``OSError`` when
    the system will not start it."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_confined, args=(target, theirs, *args), name=name, daemon=True
    )
    process.start()
    theirs.close()
    return ours, process


def _confined(target: Callable[..., None], conn: Connection, *args: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    forbid_network()
    target(conn, *args)
