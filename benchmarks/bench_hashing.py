"""What the SHA-1 (FollowTheMoney's ``contentHash``) costs on hashing-bound work.

    python benchmarks/bench_hashing.py [--folder DIR] [--big-mib 256] [--repeat 5]

Every item's bytes are hashed once, as they are read (``walk.content.Hasher``): sha256 always,
SHA-1 always (Aleph keys its archive by it), md5 unless ``--no-md5``. This script measures the
hashing alone, on the page cache, so that nothing but hashing is timed:

- a real folder (``--folder``, default ``/tmp/refdir2``, the real third-party folder of
  ``python -m corpus_fixtures real``): every file read with ``read_disk_file`` as the scan
  reads a file of the dump;
- one large generated file (``--big-mib``), where a chunk is hashed on two threads.

For each, the median of ``--repeat`` passes with the product's ``Hasher`` and with the
hasher as it was before SHA-1 was added (sha256, and md5 on a helper thread for large chunks;
reproduced below as ``WithoutSha1``), with md5 on and off. It prints MB/s and the cost of
SHA-1 in per cent. Nothing is timed in a test; this is a measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leaktriage.config import Limits
from leaktriage.walk import content


class WithoutSha1(content.Hasher):
    """The hasher before SHA-1: sha256, and md5 beside it on the helper thread."""

    def __init__(self, with_md5: bool = True) -> None:
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
        self.size = 0

    def update(self, chunk: bytes) -> None:
        if self._md5 is not None and len(chunk) >= content._PARALLEL_BYTES:
            pending = content._helper().submit(self._md5.update, chunk)
            self._sha.update(chunk)
            pending.result()
        else:
            self._sha.update(chunk)
            if self._md5 is not None:
                self._md5.update(chunk)
        self.size += len(chunk)

    def digests(self) -> content.Digests:
        md5 = self._md5.hexdigest() if self._md5 else None
        return content.Digests(self._sha.hexdigest(), "", md5)


def _pass(files: list[Path], hasher: type[content.Hasher], with_md5: bool) -> float:
    """Seconds to read and hash every file as the scan does, with ``hasher``."""
    limits = Limits()
    saved = content.Hasher
    content.Hasher = hasher  # type: ignore[misc]
    try:
        start = time.perf_counter()
        for path in files:
            content.read_disk_file(path, limits, with_md5)
        return time.perf_counter() - start
    finally:
        content.Hasher = saved  # type: ignore[misc]


def _median(run: Callable[[], float], repeat: int) -> float:
    return statistics.median(run() for _ in range(repeat))


def measure(name: str, files: list[Path], repeat: int) -> None:
    """Print the product's hasher against the one without SHA-1, md5 on and off."""
    total = sum(p.stat().st_size for p in files)
    _pass(files, content.Hasher, True)  # warm the page cache and the helper thread
    print(f"\n{name}: {len(files):,} files, {total / 1e6:,.1f} MB")
    print("   md5    without SHA-1        with SHA-1           SHA-1 costs")
    for with_md5 in (True, False):
        before = _median(lambda: _pass(files, WithoutSha1, with_md5), repeat)  # noqa: B023
        after = _median(lambda: _pass(files, content.Hasher, with_md5), repeat)  # noqa: B023
        print(
            f"   {'on ' if with_md5 else 'off'}    {before:6.3f} s {total / before / 1e6:6.0f} MB/s"
            f"   {after:6.3f} s {total / after / 1e6:6.0f} MB/s"
            f"   {(after / before - 1) * 100:+5.1f} %"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/refdir2"))
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, OpenSSL {__import__('ssl').OPENSSL_VERSION}"
    )
    if args.folder.is_dir():
        files = sorted(p for p in args.folder.rglob("*") if p.is_file() and not p.is_symlink())
        measure(f"real folder {args.folder}", files, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.bin"
        with big.open("wb") as handle:
            for _ in range(args.big_mib):
                handle.write(os.urandom(1 << 20))
        measure(f"one generated file of {args.big_mib} MiB", [big], args.repeat)


if __name__ == "__main__":
    main()
