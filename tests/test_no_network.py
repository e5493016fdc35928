"""No network: scanning fixtures full of canary links, remote templates and tracking pixels
makes no connection, in the scanning process or in its workers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import leaktriage
from leaktriage.cli import main


def test_scan_never_connects(
    sample_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args)[:200])
        raise OSError("network disabled by the test")

    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family == socket.AF_UNIX:  # multiprocessing talking to its own processes
            real_connect(sock, address)  # type: ignore[arg-type]
            return
        refuse(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # In-process parsing: the patched socket module is the one every extractor sees.
    records = list(leaktriage.scan(sample_leak, workers=0))
    links = [link for r in records for link in r.fields.get("links.external", ())]
    assert any(link.startswith("http") for link in links), "fixtures must carry external links"
    assert attempts == []
    # Worker processes: their sandbox refuses any attempt and records it on the item.
    out = tmp_path / "out"
    assert main(["-q", "scan", str(sample_leak), "--out", str(out), "--workers", "2"]) == 0
    assert attempts == []
    assert "network_blocked" not in (out / "files.jsonl").read_text()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare(1) not available")
def test_scan_inside_a_network_namespace(sample_leak: Path, tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("user/network namespaces not permitted here")
    done = subprocess.run(
        [
            "unshare",
            "-rn",
            sys.executable,
            "-m",
            "leaktriage",
            "-q",
            "scan",
            str(sample_leak),
            "--out",
            str(tmp_path / "o"),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "files.jsonl").read_text().count("\n") > 10


def test_what_loads_on_first_use_loads_under_the_console_scripts_sandbox() -> None:
    # The console script arms the hook right after importing its modules; everything a
    # scan imports later (on first use) must load without starting a process.
    code = "\n".join(
        (
            "import leaktriage.cli",
            "from leaktriage.execute.sandbox import forbid_network",
            "forbid_network()",
            "from leaktriage import detect",
            "assert detect.sniff(b'Compte rendu de la reunion.\\n', None) == 'text/plain'",
            "import sklearn.cluster, sklearn.ensemble, sklearn.neighbors, sklearn.preprocessing",
            "import leaktriage.corpus",
            "from leaktriage.report.html import _env",
            "_env().get_template('report.html.j2')",
            "from xml.sax.saxutils import escape",
            "from leaktriage.extractors import _dkim",
            "print('ok')",
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
