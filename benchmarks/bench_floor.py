"""How fast the whole triage could be on this machine at best: its own CPU, in one process.

    python benchmarks/bench_floor.py [--files 5000] [--repeat 3] [--dump DIR] [--work DIR]

A scan with ``workers=0`` does every step in one process: no worker to start, no job or
result to pickle, no process to wait for. Its CPU seconds are therefore the work the triage
itself costs, less every overhead of running it in parallel. Divided by the number of
cores, they are the wall time a perfectly parallel design with no overhead at all would
take: a lower bound for any design that keeps the same steps and libraries.

The script prints, for the mixed corpus of ``python -m corpus_fixtures mixed`` (or
``--dump``), the median of ``--repeat`` runs of:

- ExifTool's metadata pass (``exiftool -j -r -n``), wall and CPU;
- the one-process scan: wall, CPU (every thread of the process: the store's insert thread
  too), the CPU of the parsing itself (``extract_item``: the extractors, typing by libmagic,
  text facts and language), of the rules, and the stages' wall times;
- the bounds those give on this machine's cores: the best files/s ratio against ExifTool of
  any design doing the same work, and of a design in which nothing but parsing cost anything.

Each scan runs in a fresh interpreter (imports included, as in the CLI). Nothing is timed
in a test; this is a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures.mixed import build_mixed

_CHILD = r"""
import json, sys, time
from pathlib import Path


def main() -> None:
    import leaktriage.pipeline.items as items
    import leaktriage.pipeline.run as api
    from leaktriage.config import ScanConfig

    cpu = {"extract_item": 0.0, "rules": 0.0, "items": 0}
    extract_item, judge = items.extract_item, items.Pipeline._judge

    def timed_extract(source):
        start = time.process_time()
        try:
            return extract_item(source)
        finally:
            cpu["extract_item"] += time.process_time() - start
            cpu["items"] += 1

    def timed_judge(self, record):
        start = time.process_time()
        try:
            return judge(self, record)
        finally:
            cpu["rules"] += time.process_time() - start

    items.extract_item = timed_extract
    items.Pipeline._judge = timed_judge
    summary = api.run_scan(sys.argv[1], sys.argv[2], ScanConfig(workers=0))
    cpu["total"] = time.process_time()
    cpu["phases"] = summary.phases
    cpu["records"] = summary.items
    print(json.dumps(cpu))


if __name__ == "__main__":
    main()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _exiftool(dump: Path) -> tuple[float, float]:
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(
        ["exiftool", "-j", "-r", "-n", str(dump)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start, _children_cpu() - before


def _one_process_scan(dump: Path, out: Path, script: Path) -> tuple[float, dict[str, object]]:
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), str(dump), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dump", type=Path, help="an existing folder instead of the mix")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp dir)")
    args = parser.parse_args(argv)
    if shutil.which("exiftool") is None:
        print("exiftool not found (Debian: apt-get install libimage-exiftool-perl)")
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="leaktriage-floor-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        dump = args.dump
        if dump is None:
            dump = work / "dump"
            files, size = build_mixed(dump, args.files)
            print(f"corpus: {files} files, {size / 1e6:.1f} MB (python -m corpus_fixtures mixed)")
        script = work / "one_process_scan.py"
        script.write_text(_CHILD, encoding="utf-8")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "compileall",
                "-q",
                str(Path(__file__).parents[1] / "leaktriage"),
            ],
            check=False,
        )
        cores = len(os.sched_getaffinity(0))
        exif: list[tuple[float, float]] = []
        ours: list[tuple[float, dict[str, object]]] = []
        for _ in range(args.repeat):
            exif.append(_exiftool(dump))
            ours.append(_one_process_scan(dump, work / "out", script))
        exif_wall = statistics.median(w for w, _ in exif)
        exif_cpu = statistics.median(c for _, c in exif)
        totals = [float(str(run["total"])) for _, run in ours]
        wall, report = ours[totals.index(statistics.median_low(totals))]
        total = float(str(report["total"]))
        parsing = float(str(report["extract_item"]))
        rules = float(str(report["rules"]))
        print(f"cores usable: {cores}")
        print(
            f"exiftool -j -r -n       : {exif_wall:6.2f} s wall, {exif_cpu:6.2f} s CPU "
            f"(runs {', '.join(f'{w:.2f}' for w, _ in exif)})"
        )
        print(
            f"leaktriage, one process: {wall:6.2f} s wall, {total:6.2f} s CPU "
            f"(runs' CPU {', '.join(f'{t:.2f}' for t in totals)}), "
            f"{report['records']} records"
        )
        print(
            f"    of which parsing (extract_item, {report['items']} items): {parsing:.2f} s CPU; "
            f"rules: {rules:.2f} s CPU; everything else: {total - parsing - rules:.2f} s CPU"
        )
        print(f"    stages (wall): {report['phases']}")
        best = total / cores
        parse_only = parsing / cores
        print(
            f"best wall on {cores} cores, same work, perfect parallelism, no overhead: "
            f"{best:.2f} s -> at most {exif_wall / best:.2f}x ExifTool's files/s"
        )
        print(
            f"if nothing but parsing cost anything: {parse_only:.2f} s -> at most "
            f"{exif_wall / parse_only:.2f}x; 2x would leave "
            f"{exif_wall / 2 * cores - parsing:.2f} s of CPU for walking, hashing, store, rules, "
            "corpus, exports and report together"
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
