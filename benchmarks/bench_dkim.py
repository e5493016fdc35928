"""DKIM verification throughput: N signed messages verified offline from a key store.

    python benchmarks/bench_dkim.py [--n 20000] [--workers 2] [--key-bits 2048]
                                    [--per-mbox 1000] [--keep DIR]

Signs ``--n`` distinct messages with dkimpy under one RSA key (every 10th copy then has its
body changed, every 10th+1 its Subject, so the failure paths are timed too), writes them into
mbox files of ``--per-mbox`` messages, and runs ``leaktriage scan --dkim-keys`` on them in a
subprocess: the real scan path (walk, split, worker processes, verification, rules, store,
exports). Prints the signing time (not part of the figure), the scan time, messages/s, and
checks that every message got the result planted.

Latest figures (2 cores shared with four other scans, load average ~6, so pessimistic):
``--n 20000``: signing 199.7 s (not counted); scan with verification 185.6 s, 108 messages/s
with 2 workers; 16,000 pass, 2,000 fail_body, 2,000 fail_signature, none wrong.
``--n 5000 --baseline``: 29.3 s with verification (170 messages/s) against 25.2 s for the
same scan without keys: verification costs 0.83 ms per message; the rest is the pipeline.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dkim

from corpus_fixtures.builders.dkim import rsa_key

DOMAIN = "campagne-exemple.fr"
SELECTOR = "bench"
_KEY: bytes = b""


def _message(index: int) -> bytes:
    return (
        f"From: Julien Marchetti <julien.marchetti@{DOMAIN}>\r\n"
        f"To: Camille Durand-Lefort <camille.durand-lefort@{DOMAIN}>\r\n"
        f"Subject: Point budget {index}\r\n"
        f"Date: Thu, 04 May 2017 10:{index % 60:02d}:00 +0200\r\n"
        f"Message-ID: <bench-{index:06d}@{DOMAIN}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Bonjour Camille,\r\n\r\nLe poste {index} du budget est de {index * 7} euros.\r\n"
        + "Ligne de texte pour donner au message une taille ordinaire.\r\n"
        * 20
    ).encode("utf-8")


def _init(key: bytes) -> None:
    global _KEY
    _KEY = key


def _sign(index: int) -> bytes:
    data = _message(index)
    signed = bytes(dkim.sign(data, SELECTOR.encode(), DOMAIN.encode(), _KEY)) + data
    if index % 10 == 0:
        signed = signed.replace(f"est de {index * 7} euros".encode(), b"est de 1 euro")
    elif index % 10 == 1:
        signed = signed.replace(b"Subject: Point budget", b"Subject: Point budget revu")
    return signed


def expected(index: int) -> str:
    """The DKIM result planted in message ``index``."""
    return {0: "fail_body", 1: "fail_signature"}.get(index % 10, "pass")


def build(out: Path, count: int, per_mbox: int, bits: int, workers: int) -> float:
    """Write the mboxes and the key store; returns the signing time in seconds."""
    pem, record = rsa_key(bits, 20_000)
    (out / "keys.txt").write_text(f"{SELECTOR}._domainkey.{DOMAIN} {record}\n", encoding="utf-8")
    dump = out / "dump"
    dump.mkdir()
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(workers, _init, (pem,)) as pool:
        messages = pool.map(_sign, range(count), chunksize=200)
    seconds = time.monotonic() - started
    for start in range(0, count, per_mbox):
        with (dump / f"box{start // per_mbox:04d}.mbox").open("wb") as handle:
            for data in messages[start : start + per_mbox]:
                handle.write(b"From julien.marchetti@" + DOMAIN.encode())
                handle.write(b" Thu May  4 08:00:00 2017\r\n" + data + b"\r\n")
    return seconds


def main() -> int:
    """Build, scan, check, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="signed messages (default 20000)")
    parser.add_argument("--workers", type=int, default=2, help="scan worker processes")
    parser.add_argument("--key-bits", type=int, default=2048, help="RSA key size")
    parser.add_argument("--per-mbox", type=int, default=1000, help="messages per mbox file")
    parser.add_argument("--keep", type=Path, help="keep the corpus and the output here")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also scan the same mailboxes without a key store (no RSA work), for comparison",
    )
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="leaktriage-bench-dkim-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        signing = build(base, args.n, args.per_mbox, args.key_bits, args.workers)
        print(f"signed {args.n} messages ({args.key_bits}-bit key) in {signing:.1f} s")
        command = [
            sys.executable,
            "-m",
            "leaktriage",
            "-q",
            "scan",
            str(base / "dump"),
            "--out",
            str(base / "out"),
            "--dkim-keys",
            str(base / "keys.txt"),
            "--workers",
            str(args.workers),
        ]
        started = time.monotonic()
        subprocess.run(command, check=True)
        seconds = time.monotonic() - started
        results: Counter[str] = Counter()
        wrong = 0
        with (base / "out" / "files.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                result = row["fields"].get("email.dkim_result")
                if result is None:
                    continue
                results[result] += 1
                index = int(row["fields"]["email.message_id"].split("-")[1].split("@")[0])
                wrong += result != expected(index)
        print(
            f"scan with verification: {seconds:.1f} s for {args.n} messages, "
            f"{args.n / seconds:.0f} messages/s with {args.workers} workers"
        )
        print(f"results: {dict(sorted(results.items()))}; wrong: {wrong}")
        if args.baseline:
            plain = [c for c in command if c not in ("--dkim-keys", str(base / "keys.txt"))]
            plain[plain.index(str(base / "out"))] = str(base / "out-baseline")
            started = time.monotonic()
            subprocess.run(plain, check=True)
            other = time.monotonic() - started
            print(
                f"same scan without keys (all no_key): {other:.1f} s, "
                f"{args.n / other:.0f} messages/s; verification adds "
                f"{(seconds - other) / args.n * 1000:.2f} ms per message"
            )
        return 1 if wrong or sum(results.values()) != args.n else 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
