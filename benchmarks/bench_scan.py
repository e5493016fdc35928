"""Scan throughput and peak memory on a generated mixed corpus.

    python benchmarks/bench_scan.py [--files 2000] [--workers N] [--keep DIR] [--hostile]

Builds a corpus of ``--files`` files by cycling through every fixture of
``corpus_fixtures`` (PDF, Office, legacy OLE, images, mail, archives), one tenth of
them packed into zip archives of 20 members, then runs ``leaktriage scan`` on it in a
subprocess and prints files/s, MB/s and the peak resident memory of the whole process
tree (scanner and its workers), sampled from /proc every 20 ms. With ``--hostile`` it scans
the hostile corpus of ``tests/hostile`` (bombs, traps, malformed files) instead.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures.build import all_fixtures
from corpus_fixtures.builders.archive import zip_bytes

HOSTILE_WORDS = ("bomb", "truncated", "corrupt", "bitflip", "cyclic", "broken")
"""Fixtures left out of the throughput corpus: a real leak is not one third decompression
bombs (the hostile corpus has its own test, tests/test_hostile.py)."""


def build_corpus(out: Path, count: int) -> tuple[int, int]:
    """Write ``count`` files under ``out``; returns (files on disk, bytes on disk)."""
    blobs = [
        (f"{family}_{name}".replace("/", "_"), builder())
        for family, items in sorted(all_fixtures().items())
        for name, builder in sorted(items.items())
        if not any(word in name for word in HOSTILE_WORDS)
    ]
    written = 0
    total = 0
    index = 0
    while written < count:
        folder = out / f"batch{index // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if index % 10 == 9:
            members = [
                (f"{i}_{blobs[(index + i) % len(blobs)][0]}", blobs[(index + i) % len(blobs)][1])
                for i in range(20)
            ]
            data = zip_bytes(members)
            (folder / f"bundle{index:05d}.zip").write_bytes(data)
        else:
            name, data = blobs[index % len(blobs)]
            (folder / f"{index:05d}_{name}").write_bytes(data)
        total += len(data)
        written += 1
        index += 1
    return written, total


def _tree_rss_kib(root_pid: int) -> int:
    """Resident memory (KiB) of ``root_pid`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            with (entry / "status").open(encoding="ascii", errors="replace") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0) for pid in tree)


def run_scan(corpus: Path, out: Path, workers: int | None) -> tuple[float, int]:
    """Run the CLI; returns (seconds, peak tree RSS in KiB)."""
    command = [sys.executable, "-m", "leaktriage", "-q", "scan", str(corpus), "--out", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"scan failed with exit code {code}")
    return elapsed, peak


def main() -> int:
    """Build, scan, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    parser.add_argument(
        "--hostile", action="store_true", help="scan the hostile corpus of tests/hostile instead"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lt-bench-"))
    corpus = args.keep or work / "corpus"
    try:
        if args.hostile:
            from tests.hostile.build import build_hostile

            build_hostile(corpus)
            files = len(list(corpus.iterdir()))
            size = sum(p.stat().st_size for p in corpus.iterdir() if p.is_file())
        else:
            files, size = build_corpus(corpus, args.files)
        seconds, peak_kib = run_scan(corpus, work / "out", args.workers)
        items = sum(1 for _ in (work / "out" / "files.jsonl").open(encoding="utf-8"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"corpus: {files} files on disk, {size / 1e6:.1f} MB, {items} items scanned")
    print(
        f"time: {seconds:.2f} s  ->  {files / seconds:.1f} files/s, "
        f"{items / seconds:.1f} items/s, {size / 1e6 / seconds:.2f} MB/s"
    )
    print(f"peak RSS of the process tree: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
