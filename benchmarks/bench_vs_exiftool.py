"""leaktriage against ExifTool, side by side in one run, plus memory, re-scan and Dask checks.

    python benchmarks/bench_vs_exiftool.py [--files 5000] [--repeat 3] [--workers N]
        [--large-mb 1024 --large-count 3] [--giant-gb 2] [--growth 1000,5000,20000]
        [--no-dask] [--dask-files 1000] [--work DIR] [--folder DIR] [--throughput-only]

Everything is generated under a temporary folder (``--work`` to choose it) and removed at the
end. Each figure is the median of ``--repeat`` runs, ExifTool and leaktriage alternating:

1. throughput: ``exiftool -j -r -n DIR > /dev/null`` (metadata only) against a full
   ``leaktriage scan DIR --out OUT`` (walk, archives, extraction, rules, store, exports and
   whatever corpus and report steps ``run_scan`` runs) on the mixed corpus of
   ``python -m corpus_fixtures mixed``; files/s of each and the ratio;
2. incremental: ``leaktriage scan`` again into a copy of that OUT, nothing changed, twice:
   the first re-scan rewrites the exports (their scan_state becomes ``reused``), the next
   one has nothing to rewrite;
3. hashing-bound: a few large incompressible files, against this machine's raw read+sha256
   speed (and read+sha256+md5, since leaktriage also computes md5 unless ``--no-md5``);
4. memory: peak resident memory of the scan's whole process tree (scanner, forkserver and
   workers, sampled from /proc every 20 ms), on the mixed corpus, on a corpus with one sparse
   ``--giant-gb`` file, and for growing corpus sizes;
5. Dask: the same scan with ``--executor dask`` on a ``distributed.LocalCluster`` of two
   worker processes; files.jsonl must be byte-identical to the local run's.

``--folder DIR`` times section 1 again on any folder (read only; the scan writes under the
scratch folder), for instance the real third-party files of ``python -m corpus_fixtures real
DIR``, and prints its ratio beside the generated mix's. ``--throughput-only`` stops after
sections 1 and 2 (and the folder).

Wall times on a shared machine are noisy; CPU seconds (user+sys of the whole process tree)
are printed beside them as a steadier measure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures.mixed import build_large, build_mixed, build_sparse

CLOCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One timed command."""

    seconds: float
    cpu: float
    """user+sys seconds of the process and all its descendants."""
    peak_mib: float
    """Peak resident memory of the process tree (sum of RSS: shared pages counted in every
    process that maps them, so an upper bound)."""
    peak_pss_mib: float
    """Peak proportional set size of the tree (shared pages split between the processes
    that share them): the memory the scan really takes."""


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, RSS KiB, CPU seconds) for every process."""
    table: dict[int, tuple[int, int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with Path(f"/proc/{entry.name}/stat").open(
                encoding="ascii", errors="replace"
            ) as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 of proc(5): state; ppid=4, utime=14, stime=15, rss=24 (pages).
        ppid = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK
        rss = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        table[int(entry.name)] = (ppid, rss, cpu)
    return table


def _pss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/smaps_rollup").open(encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(command: list[str], ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``command`` (output discarded); sample the memory and CPU of its process tree
    every 20 ms. An exit code outside ``ok`` stops the benchmark. Dirty pages (of the copy
    or the removal just made) are written out first, so no run pays for an earlier one's."""
    os.sync()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0
    peak_pss = 0
    cpu_seen: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not stop.is_set():
            table = _proc_table()
            tree = {process.pid}
            grew = True
            while grew:
                grew = False
                for pid, (ppid, _, _) in table.items():
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        grew = True
            peak = max(peak, sum(table[p][1] for p in tree if p in table))
            peak_pss = max(peak_pss, sum(_pss_kib(p) for p in tree if p in table))
            for pid in tree:
                if pid in table:
                    cpu_seen[pid] = table[pid][2]
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{command[:4]} failed with exit code {code}")
    # Each process's own CPU as last sampled (at most one interval lost per process). Not
    # wait4's figure: it adds every descendant reaped inside the tree (the fork server reaps
    # the workers, the scan reaps the fork server), which the samples already count.
    cpu = sum(cpu_seen.values())
    if cpu == 0.0:  # a command too short to be sampled: wait4's figure is then exact enough
        cpu = usage.ru_utime + usage.ru_stime
    return Run(elapsed, cpu, peak / 1024, peak_pss / 1024)


def leaktriage(path: Path, out: Path, workers: int | None, *extra: str) -> Run:
    """Time ``leaktriage -q scan PATH --out OUT``."""
    command = [sys.executable, "-m", "leaktriage", "-q", "scan", str(path), "--out", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    return run(command + list(extra))


def machine() -> str:
    """nproc, CPU model and RAM of this machine."""
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with Path("/proc/meminfo").open(encoding="utf-8") as handle:
        total_kib = int(handle.readline().split()[1])
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {model}, "
        f"{total_kib / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, "
        f"load average at start {load:.1f}"
    )


def exiftool_version() -> str:
    """ExifTool's version, or exit when it is not installed."""
    if shutil.which("exiftool") is None:
        raise SystemExit("exiftool not found: apt-get install libimage-exiftool-perl")
    return subprocess.run(
        ["exiftool", "-ver"], capture_output=True, text=True, check=True
    ).stdout.strip()


def raw_hash_speed(paths: list[Path], md5: bool) -> float:
    """MB/s of reading ``paths`` and hashing them with sha256 (and md5) in one stream."""
    started = time.perf_counter()
    total = 0
    for path in paths:
        sha = hashlib.sha256()
        other = hashlib.md5(usedforsecurity=False) if md5 else None
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
                if other is not None:
                    other.update(chunk)
                total += len(chunk)
    return total / 1e6 / (time.perf_counter() - started)


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def compare(
    corpus: Path, out: Path, repeat: int, workers: int | None
) -> tuple[list[Run], list[Run]]:
    """ExifTool and a full leaktriage scan of ``corpus``, alternating, ``repeat`` times each;
    the scan writes into ``out`` (the last run's output is kept)."""
    exif: list[Run] = []
    ours: list[Run] = []
    for _ in range(repeat):
        # ExifTool exits with 1 when some file gave an error (it still reports the rest).
        exif.append(run(["exiftool", "-j", "-r", "-n", str(corpus)], ok=(0, 1)))
        shutil.rmtree(out, ignore_errors=True)
        ours.append(leaktriage(corpus, out, workers))
    return exif, ours


def throughput(corpus: Path, work: Path, files: int, repeat: int, workers: int | None) -> Path:
    """Section 1 and 2; returns the output folder of the last full scan."""
    out = work / "out-local"
    exif, ours = compare(corpus, out, repeat, workers)
    items = sum(1 for _ in (out / "files.jsonl").open(encoding="utf-8"))
    t_exif = median([r.seconds for r in exif])
    t_ours = median([r.seconds for r in ours])
    print(f"\n[1] throughput, {files} files on disk ({items} items with archive members)")
    print(
        f"    exiftool -j -r -n : {t_exif:6.2f} s  {files / t_exif:7.1f} files/s  "
        f"cpu {median([r.cpu for r in exif]):6.2f} s   runs {_list(exif)}"
    )
    print(
        f"    leaktriage scan   : {t_ours:6.2f} s  {files / t_ours:7.1f} files/s  "
        f"cpu {median([r.cpu for r in ours]):6.2f} s   runs {_list(ours)}"
    )
    print(
        f"    leaktriage items/s: {items / t_ours:.1f} (ExifTool reads {files} files and no "
        "archive member or attachment)"
    )
    print(f"    ratio leaktriage/exiftool files/s: {t_exif / t_ours:.2f}")
    print(f"    leaktriage time by stage (last run): {_phases(out)}")
    peak_pss = max(r.peak_pss_mib for r in ours)
    print(
        f"    peak memory of the scan's process tree: PSS {peak_pss:.0f}"
        f" MiB (RSS sum {max(r.peak_mib for r in ours):.0f} MiB)"
    )
    # The first re-scan after a scan rewrites the exports (every line's scan_state becomes
    # "reused"); later ones find not one line to change. Both are timed, each on fresh
    # copies of the first scan's output, and the first one is the figure held to the target.
    first_again: list[Run] = []
    later_again: list[Run] = []
    phases_first = phases_later = ""
    for _ in range(repeat):
        copy = work / "out-again"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(out, copy)
        first_again.append(leaktriage(corpus, copy, workers))
        phases_first = _phases(copy)
        later_again.append(leaktriage(corpus, copy, workers))
        phases_later = _phases(copy)
    states = _states(work / "out-again" / "files.jsonl")
    t_first = median([r.seconds for r in first_again])
    t_later = median([r.seconds for r in later_again])
    print("\n[2] incremental re-scan of the unchanged corpus into the same --out")
    print(
        f"    first re-scan after the scan: {t_first:.2f} s (runs {_list(first_again)}); "
        f"speed-up over the first scan {t_ours / t_first:.1f}x; stages: {phases_first}"
    )
    print(
        f"    next re-scan (nothing left to rewrite): {t_later:.2f} s (runs "
        f"{_list(later_again)}); speed-up {t_ours / t_later:.1f}x; stages: {phases_later}"
    )
    print(f"    scan_state counts after them: {states}")
    shutil.rmtree(work / "out-again", ignore_errors=True)
    RESULTS["ratio"] = t_exif / t_ours
    RESULTS["peak_pss"] = peak_pss
    RESULTS["speedup"] = t_ours / t_first
    RESULTS["speedup_later"] = t_ours / t_later
    return out


def folder_throughput(folder: Path, work: Path, repeat: int, workers: int | None) -> None:
    """Section 1 on a folder given with ``--folder``, its ratio printed beside the mix's."""
    files = sum(1 for path in folder.rglob("*") if path.is_file() and not path.is_symlink())
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    out = work / "out-folder"
    exif, ours = compare(folder, out, repeat, workers)
    items = sum(1 for _ in (out / "files.jsonl").open(encoding="utf-8"))
    t_exif = median([r.seconds for r in exif])
    t_ours = median([r.seconds for r in ours])
    print(f"\n[1b] throughput on --folder {folder}: {files} files, {size / 1e6:.1f} MB")
    print(f"    {items} items with archive members and attachments; statuses {_statuses(out)}")
    print(
        f"    exiftool -j -r -n : {t_exif:6.2f} s  {files / t_exif:7.1f} files/s  "
        f"cpu {median([r.cpu for r in exif]):6.2f} s   runs {_list(exif)}"
    )
    print(
        f"    leaktriage scan   : {t_ours:6.2f} s  {files / t_ours:7.1f} files/s  "
        f"cpu {median([r.cpu for r in ours]):6.2f} s   runs {_list(ours)}"
    )
    print(f"    leaktriage time by stage (last run): {_phases(out)}")
    print(
        f"    peak memory of the scan's process tree: PSS "
        f"{max(r.peak_pss_mib for r in ours):.0f} MiB"
    )
    ratio = t_exif / t_ours
    mixed = RESULTS.get("ratio")
    beside = f"; generated mix: {mixed:.2f}" if isinstance(mixed, float) else ""
    print(f"    ratio leaktriage/exiftool files/s: {ratio:.2f} on the folder{beside}")
    RESULTS["folder_ratio"] = ratio
    shutil.rmtree(out, ignore_errors=True)


def _statuses(out: Path) -> str:
    import json

    counts = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("counts", {})
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


RESULTS: dict[str, float | bool] = {}
"""The figures the issue sets targets for, gathered for the closing summary."""


def _phases(out: Path) -> str:
    import json

    phases = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("phases", {})
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())


def _list(runs: list[Run]) -> str:
    return ", ".join(f"{r.seconds:.2f}" for r in runs)


def _states(jsonl: Path) -> dict[str, int]:
    import json

    counts: dict[str, int] = {}
    with jsonl.open(encoding="utf-8") as handle:
        for line in handle:
            state = json.loads(line)["scan_state"]
            counts[state] = counts.get(state, 0) + 1
    return dict(sorted(counts.items()))


def hashing(work: Path, count: int, size_mb: int, repeat: int, workers: int | None) -> None:
    """Section 3."""
    folder = work / "large"
    total = build_large(folder, count, size_mb * 1024 * 1024)
    paths = sorted(folder.iterdir())
    raw_hash_speed(paths, md5=False)  # warm the page cache
    sha_only = median([raw_hash_speed(paths, md5=False) for _ in range(repeat)])
    sha_md5 = median([raw_hash_speed(paths, md5=True) for _ in range(repeat)])
    # Start-up baseline: a scan of one small file starts everything a scan starts (command,
    # rules, worker processes, store, exports) and hashes next to nothing.
    empty = work / "one-file"
    empty.mkdir()
    (empty / "note.txt").write_text("Compte rendu de la réunion du 3 mars.\n", encoding="utf-8")
    fixed: list[float] = []
    default: list[float] = []
    no_md5: list[float] = []
    for _ in range(repeat):
        shutil.rmtree(work / "out-one", ignore_errors=True)
        fixed.append(leaktriage(empty, work / "out-one", workers).seconds)
        shutil.rmtree(work / "out-large", ignore_errors=True)
        default.append(leaktriage(folder, work / "out-large", workers).seconds)
        shutil.rmtree(work / "out-large", ignore_errors=True)
        no_md5.append(leaktriage(folder, work / "out-large", workers, "--no-md5").seconds)
    start = median(fixed)
    mb = total / 1e6
    print(f"\n[3] hashing-bound: {count} files of {size_mb} MiB ({mb:.0f} MB)")
    print(f"    raw read+sha256 (one stream)    : {sha_only:7.0f} MB/s")
    print(f"    raw read+sha256+md5 (one stream): {sha_md5:7.0f} MB/s")
    print(f"    leaktriage scan of one small file (start-up, workers, exports): {start:.2f} s")
    for label, times, limit, limit_name in (
        ("--no-md5 (sha256)", no_md5, sha_only, "raw sha256"),
        ("default (sha256+md5)", default, sha_md5, "raw sha256+md5"),
    ):
        whole = mb / median(times)
        steady = mb / max(median(times) - start, 1e-3)
        print(
            f"    leaktriage {label:21}: {whole:6.0f} MB/s whole command "
            f"({100 * whole / sha_only:.0f}% of raw sha256), {steady:6.0f} MB/s less start-up "
            f"({100 * steady / sha_only:.0f}% of raw sha256, {100 * steady / limit:.0f}% "
            f"of {limit_name})"
        )
        key = "hash_share" if label.startswith("--no-md5") else "hash_share_md5"
        RESULTS[key] = 100 * whole / sha_only
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work / "out-large", ignore_errors=True)


def memory(work: Path, giant_gb: float, growth: list[int], workers: int | None) -> None:
    """Section 4 (the 5,000-file figure is printed with section 1)."""
    print("\n[4] memory")
    giant = work / "giant"
    build_mixed(giant, 200)
    build_sparse(giant / "disque_image.raw", int(giant_gb * 1024**3))
    result = leaktriage(giant, work / "out-giant", workers)
    print(
        f"    200 files + one sparse {giant_gb:g} GiB file: peak PSS {result.peak_pss_mib:.0f} MiB"
        f" (RSS sum {result.peak_mib:.0f} MiB), {result.seconds:.1f} s"
    )
    RESULTS["giant_pss"] = result.peak_pss_mib
    peaks: list[float] = []
    shutil.rmtree(giant, ignore_errors=True)
    shutil.rmtree(work / "out-giant", ignore_errors=True)
    for count in growth:
        corpus = work / f"grow-{count}"
        build_mixed(corpus, count)
        result = leaktriage(corpus, work / f"out-grow-{count}", workers)
        print(
            f"    {count:6d} files: peak PSS {result.peak_pss_mib:4.0f} MiB (RSS sum "
            f"{result.peak_mib:4.0f} MiB), {result.seconds:6.1f} s, "
            f"{count / result.seconds:6.1f} files/s"
        )
        peaks.append(result.peak_pss_mib)
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(work / f"out-grow-{count}", ignore_errors=True)
    if len(peaks) > 1:
        RESULTS["growth"] = peaks[-1] / peaks[0]
        print(
            f"    growth of the peak from {growth[0]} to {growth[-1]} files: "
            f"x{peaks[-1] / peaks[0]:.2f}"
        )


def dask_check(work: Path, files: int) -> None:
    """Section 5: a local scan and a Dask scan of the same corpus, outputs compared."""
    try:
        from distributed import LocalCluster
    except ImportError:
        print("\n[5] dask: skipped, the distributed package is not installed (pip install .[dask])")
        return
    import dask

    corpus = work / "dask-corpus"
    build_mixed(corpus, files)
    local = leaktriage(corpus, work / "out-dask-local", None)
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        remote = leaktriage(
            corpus,
            work / "out-dask",
            None,
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        )
    same = all(
        (work / "out-dask" / name).read_bytes() == (work / "out-dask-local" / name).read_bytes()
        for name in ("files.jsonl", "files.csv")
    )
    print(f"\n[5] dask: LocalCluster of 2 worker processes, {files} files")
    print(f"    local scan {local.seconds:.2f} s, --executor dask {remote.seconds:.2f} s")
    print(f"    files.jsonl and files.csv identical to the local run: {same}")
    RESULTS["dask_same"] = same


def summary() -> None:
    """Each target of the issue against the figure measured in this run."""
    print("\n[summary] target -> measured")
    checks = (
        ("ratio", "files/s against ExifTool >= 2", lambda v: v >= 2, "{:.2f}"),
        ("peak_pss", "peak PSS, 5,000 files < 500 MiB", lambda v: v < 500, "{:.0f} MiB"),
        ("giant_pss", "peak PSS, one 2 GiB member < 500 MiB", lambda v: v < 500, "{:.0f} MiB"),
        ("growth", "peak PSS flat (x1.25 at most) over the series", lambda v: v <= 1.25, "x{:.2f}"),
        ("speedup", "first unchanged re-scan >= 20x faster", lambda v: v >= 20, "{:.1f}x"),
        ("speedup_later", "next unchanged re-scan >= 20x faster", lambda v: v >= 20, "{:.1f}x"),
        (
            "hash_share",
            "hashing-bound, --no-md5 >= 70% of raw sha256",
            lambda v: v >= 70,
            "{:.0f}%",
        ),
        (
            "hash_share_md5",
            "hashing-bound, default (+md5) >= 70% of raw sha256",
            lambda v: v >= 70,
            "{:.0f}%",
        ),
        ("dask_same", "Dask output identical", lambda v: v is True, "{}"),
        ("folder_ratio", "files/s against ExifTool on --folder >= 2", lambda v: v >= 2, "{:.2f}"),
    )
    for key, label, ok, shown in checks:
        if key not in RESULTS:
            print(f"    {label:52}: not measured")
            continue
        value = RESULTS[key]
        print(f"    {label:52}: {shown.format(value):>10}  {'met' if ok(value) else 'NOT met'}")


def main() -> int:
    """Build the corpora, run every section, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--large-mb", type=int, default=1024)
    parser.add_argument("--large-count", type=int, default=3)
    parser.add_argument("--giant-gb", type=float, default=2.0)
    parser.add_argument("--growth", default="1000,5000,20000")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--dask-files", type=int, default=1000)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp dir)")
    parser.add_argument(
        "--folder",
        type=Path,
        help="also time section 1 on this folder (e.g. python -m corpus_fixtures real DIR)",
    )
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="stop after sections 1 and 2 (and --folder): no hashing, memory or Dask runs",
    )
    args = parser.parse_args()
    if args.folder is not None and not args.folder.is_dir():
        parser.error(f"--folder {args.folder}: not a folder")
    work = Path(tempfile.mkdtemp(prefix="lt-vs-exif-", dir=args.work))
    # An installed wheel has its modules byte-compiled; an editable checkout under
    # PYTHONDONTWRITEBYTECODE would compile every edited module again at each run.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(Path(__file__).resolve().parents[1] / "leaktriage"),
        ],
        check=True,
    )
    try:
        print(f"machine: {machine()}")
        print(f"exiftool {exiftool_version()}; leaktriage workers: {args.workers or 'default'}")
        corpus = work / "corpus"
        files, size = build_mixed(corpus, args.files)
        print(f"corpus: {files} files, {size / 1e6:.1f} MB (python -m corpus_fixtures mixed)")
        throughput(corpus, work, files, args.repeat, args.workers)
        if args.folder is not None:
            folder_throughput(args.folder.resolve(), work, args.repeat, args.workers)
        if not args.throughput_only:
            hashing(work, args.large_count, args.large_mb, args.repeat, args.workers)
            growth = [int(n) for n in args.growth.split(",") if n.strip()]
            memory(work, args.giant_gb, growth, args.workers)
            if not args.no_dask:
                dask_check(work, args.dask_files)
        summary()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
