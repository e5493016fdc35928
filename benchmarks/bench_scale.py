"""The scale benchmark of issue 19: a leak-shaped dump of real files at growing sizes, scanned.

    python benchmarks/bench_scale.py --sizes 5000 20000 50000 100000 [--workers 2]
        [--work DIR] [--exiftool-up-to 20000] [--keep] [--browser] [--json FILE]
        [--real REALDIR] [--seed 20170505]

For each size, builds the dump of ``benchmarks/scale_dump.py`` with that many items (or
re-uses one already in ``--work`` built with the same parameters), then runs ``leaktriage
scan DUMP --out OUT --workers W --leak-date 2017-05-05`` in a subprocess, this checkout's code
(``python -m leaktriage`` with the checkout first on ``PYTHONPATH``), while a thread samples
every process of its tree from /proc every 50 ms: resident memory (``statm``) and CPU time of
each process, named by its command line, and the sum over the tree. Then prints, per size:

- items (lines of ``files.jsonl``), wall time, items/s, CPU seconds of the tree;
- each stage's wall time (``OUT/manifest.json``) and time per item, and after the first
  size the ratio of that time per item to the smallest size's (issue 19: at most 1.5 for
  every stage above 5 s);
- peak RSS of the largest processes and of the whole tree;
- sizes of ``files.jsonl`` (and its lines: median, 99th percentile, largest),
  ``triage.sqlite``, ``report.html`` and ``files.csv``;
- up to ``--exiftool-up-to`` items, the time of ``exiftool -j -r -n DUMP > /dev/null`` and
  the ratio ExifTool time / leaktriage time;
- with ``--browser``, the report's first screen in headless Chromium
  (``bench_report.measure``: best of three cold loads).

Ends with one table over the sizes, and writes every figure as JSON with ``--json FILE``.
Dumps and scans are written under ``--work`` (a temporary folder by default) and removed
after their size is measured unless ``--keep`` (a re-used dump is never removed). A 100,000
item dump takes about 16 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scale_dump
from bench_vs_exiftool import machine

ROOT = Path(__file__).resolve().parents[1]

LEAK_DATE = "2017-05-05"
STAGE_FLOOR_S = 5.0
RATIO_LIMIT = 1.5
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    """One process of the scan's tree as sampled."""

    pid: int
    ppid: int
    name: str
    peak_kib: int = 0
    cpu_s: float = 0.0
    role: str = ""
    peak_at: float = 0.0
    """Seconds from the command's start to this process's peak."""
    timeline: list[tuple[float, int]] = field(default_factory=list)
    """(seconds from the start, RSS KiB), about once a second: where the peak was reached."""


@dataclass
class Sampled:
    """What the sampler saw of one command's process tree."""

    processes: dict[int, Process] = field(default_factory=dict)
    peak_tree_kib: int = 0
    peak_tree_at: float = 0.0
    samples: int = 0


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a process, None when it is gone."""
    try:
        with Path(f"/proc/{pid}/stat").open(encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK


def _rss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/statm").open(encoding="ascii") as handle:
            return int(handle.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = raw.rstrip(b"\0").split(b"\0")
    text = " ".join(w.decode("utf-8", "replace") for w in words)
    return text.replace(sys.executable, "python")


class TreeSampler(threading.Thread):
    """Samples a process and all its descendants every ``interval`` seconds."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.stop = threading.Event()
        self.seen = Sampled()
        self.started = time.perf_counter()

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def _role(self, pid: int, ppid: int) -> str:
        """What a process of a scan's tree is, from where it sits: the forkserver's
        children carry its command line, so their parent tells them apart."""
        if pid == self.root:
            return "scan"
        name = _cmdline(pid)
        if "forkserver" in name:
            return "worker" if "forkserver" in _cmdline(ppid) else "forkserver"
        if "spawn_main" in name:
            return "spawned helper"
        return "child"

    def sample(self) -> None:
        table: dict[int, tuple[int, float]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                found = _stat(entry.name)
                if found is not None:
                    table[int(entry.name)] = found
        tree = {self.root}
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _) in table.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        total = 0
        for pid in tree:
            if pid not in table:
                continue
            rss = _rss_kib(pid)
            total += rss
            process = self.seen.processes.get(pid)
            if process is None or not process.name:
                ppid = table[pid][0]
                peak = process.peak_kib if process else 0
                process = Process(pid, ppid, _cmdline(pid), peak, role=self._role(pid, ppid))
                self.seen.processes[pid] = process
            now = time.perf_counter() - self.started
            if rss > process.peak_kib:
                process.peak_kib, process.peak_at = rss, now
            if not process.timeline or now - process.timeline[-1][0] >= 1.0:
                process.timeline.append((round(now, 1), rss))
            process.cpu_s = table[pid][1]
        if total > self.seen.peak_tree_kib:
            self.seen.peak_tree_kib = total
            self.seen.peak_tree_at = time.perf_counter() - self.started
        self.seen.samples += 1


def run_sampled(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, Sampled]:
    """Run ``command`` (stdout and stderr to ``log``), sampling its tree: (exit code, wall
    seconds, what was sampled)."""
    os.sync()  # the dump just written does not slow the scan down
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        sampler = TreeSampler(process.pid)
        sampler.start()
        code = process.wait()
        wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    return code, wall, sampler.seen


def scan_env() -> dict[str, str]:
    """The environment that makes ``python -m leaktriage`` run this checkout's code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def leaktriage_version(env: dict[str, str]) -> str:
    """Version and location of the leaktriage the scans run, and this checkout's commit."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import leaktriage; print(leaktriage.__version__, leaktriage.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    version, where = done.stdout.split(maxsplit=1)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    location = Path(where.strip())
    if location.is_relative_to(ROOT):
        location = location.relative_to(ROOT)  # this checkout: no machine path in the figures
    return f"leaktriage {version} from {location} (commit {commit or 'unknown'})"


def dump_for(work: Path, size: int, real: Path, seed: int) -> tuple[Path, float | None, bool]:
    """The dump of ``size`` items: (folder, build seconds or None when re-used, built now)."""
    folder = work / f"dump_{size}_{seed}"
    wanted = {
        "items": size,
        "seed": seed,
        "real": str(real.resolve()),
        "version": scale_dump.BUILDER_VERSION,
        "family_size": list(scale_dump.FAMILY_SIZE),
    }
    stamp = folder / scale_dump.BUILD_NAME
    if stamp.is_file():
        params = json.loads(stamp.read_text(encoding="utf-8"))
        if {k: params.get(k) for k in wanted} == wanted:
            return folder, None, False
    if folder.exists():
        shutil.rmtree(folder)
    summary = scale_dump.build(folder, size, real, seed)
    return folder, summary.seconds, True


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    files = total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            files += 1
            total += path.stat().st_size
    return files, total


def jsonl_lines(path: Path) -> tuple[int, list[int]]:
    """(lines, sorted line sizes in bytes) of a JSON-lines file."""
    sizes = []
    with path.open("rb") as handle:
        sizes = [len(line) for line in handle]
    sizes.sort()
    return len(sizes), sizes


def percentile(values: list[int], share: float) -> int:
    if not values:
        return 0
    return values[min(len(values) - 1, int(share * len(values)))]


def exiftool(dump: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``exiftool -j -r -n DUMP > /dev/null``."""
    os.sync()
    started = time.perf_counter()
    process = subprocess.Popen(
        ["exiftool", "-j", "-r", "-n", str(dump)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def first_screen(report: Path, profile: Path) -> dict[str, float]:
    """The report in headless Chromium, as ``bench_report.py`` measures it (ms)."""
    from bench_report import measure

    from tests._chromium import MISSING

    if MISSING:
        print(f"   no browser: {MISSING}")
        return {key: float("nan") for key in ("dcl", "table", "load", "fcp")}
    return measure(report, profile)


def measure_size(args: argparse.Namespace, size: int, env: dict[str, str]) -> dict[str, Any]:
    """Build (or re-use), scan and measure one size; prints as it goes."""
    work: Path = args.work
    dump, build_s, built = dump_for(work, size, args.real, args.seed)
    files, size_bytes = folder_size(dump)
    build_note = "re-used" if build_s is None else f"built in {build_s:.1f} s"
    gigabytes = size_bytes / 1e9
    print(f"\n== {size:,} items asked: {dump} ({files:,} files, {gigabytes:.2f} GB, {build_note})")
    out = work / f"out_{size}"
    if out.exists():
        shutil.rmtree(out)
    command = [sys.executable, "-m", "leaktriage", "-q", "scan", str(dump), "--out", str(out)]
    command += ["--workers", str(args.workers), "--leak-date", LEAK_DATE]
    code, wall, seen = run_sampled(command, env, work / f"scan_{size}.log")
    result: dict[str, Any] = {
        "asked": size,
        "dump": str(dump),
        "files": files,
        "dump_bytes": size_bytes,
        "build_s": build_s,
        "exit_code": code,
        "wall_s": round(wall, 2),
    }
    if code != 0:
        tail = (work / f"scan_{size}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        print(f"   scan exited {code}:\n{tail}")
        return result
    items, line_sizes = jsonl_lines(out / "files.jsonl")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    stages = {name: float(seconds) for name, seconds in manifest.get("phases", {}).items()}
    cpu = sum(p.cpu_s for p in seen.processes.values())
    result.update(
        items=items,
        items_per_s=round(items / wall, 1),
        cpu_s=round(cpu, 1),
        stages=stages,
        counts=manifest.get("counts", {}),
        peak_tree_mib=round(seen.peak_tree_kib / 1024, 1),
        peak_tree_at=round(seen.peak_tree_at, 1),
        processes=[
            {
                "pid": p.pid,
                "role": p.role,
                "name": p.name,
                "peak_mib": round(p.peak_kib / 1024, 1),
                "peak_at": round(p.peak_at, 1),
                "cpu_s": p.cpu_s,
                "timeline": p.timeline,
            }
            for p in sorted(seen.processes.values(), key=lambda p: -p.peak_kib)
        ],
        samples=seen.samples,
        outputs={
            name: (out / name).stat().st_size
            for name in ("files.jsonl", "triage.sqlite", "report.html", "files.csv")
            if (out / name).exists()
        },
        jsonl_line_bytes={
            "median": int(statistics.median(line_sizes)) if line_sizes else 0,
            "p99": percentile(line_sizes, 0.99),
            "max": line_sizes[-1] if line_sizes else 0,
        },
    )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result["counts"].items()))
    print(
        f"   scan: {items:,} items in {wall:.1f} s, {items / wall:.1f} items/s, "
        f"CPU {cpu:.1f} s of the tree ({counts})"
    )
    if args.exiftool_up_to and size <= args.exiftool_up_to:
        ex_wall, ex_cpu = exiftool(dump)
        result.update(exiftool_s=round(ex_wall, 2), exiftool_cpu_s=round(ex_cpu, 2))
        result["exiftool_ratio"] = round(ex_wall / wall, 4)
        print(
            f"   exiftool -j -r -n: {ex_wall:.1f} s (CPU {ex_cpu:.1f} s); "
            f"exiftool time / leaktriage time = {ex_wall / wall:.2f}"
        )
    if args.browser:
        timing = first_screen(out / "report.html", work / f"chromium_{size}")
        result["browser_ms"] = timing
        shown = ", ".join(f"{k} {timing[k]:.0f} ms" for k in ("dcl", "table", "load", "fcp"))
        print(f"   report in Chromium (best of 3 cold loads): {shown}")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
        if built:
            shutil.rmtree(dump, ignore_errors=True)
    return result


def print_size(result: dict[str, Any], base: dict[str, Any] | None) -> None:
    """The stages, memory and outputs of one measured size."""
    if "items" not in result:
        return
    items = result["items"]
    base_items = base["items"] if base and "items" in base else None
    print("   stage          wall s    ms/item" + ("   x smallest" if base_items else ""))
    result["stage_ratios"] = {}
    for name, seconds in result["stages"].items():
        per_item = seconds / items * 1000
        line = f"   {name:<12} {seconds:>8.2f} {per_item:>10.3f}"
        if base_items and base is not None:
            before = base["stages"].get(name, 0.0) / base_items * 1000
            if before > 0:
                ratio = per_item / before
                result["stage_ratios"][name] = round(ratio, 2)
                over = seconds > STAGE_FLOOR_S and ratio > RATIO_LIMIT
                note = "  OVER 1.5x (stage > 5 s)" if over else ""
                line += f" {ratio:>11.2f}{note}"
        print(line)
    tree, at = result["peak_tree_mib"], result["peak_tree_at"]
    print(
        f"   peak RSS of the tree: {tree:.0f} MiB at {at:.0f} s {stage_at(result, at)} "
        f"({result['samples']} samples; shared pages counted in every process)"
    )
    scan = next((p for p in result["processes"] if p["role"] == "scan"), None)
    if scan is not None and scan.get("timeline"):
        by_stage: dict[str, int] = {}
        for at, kib in scan["timeline"]:
            where = stage_at(result, at).strip("()")
            by_stage[where] = max(by_stage.get(where, 0), kib)
        print(
            "   scan process, peak RSS by stage: "
            + ", ".join(f"{name} {kib / 1024:.0f} MiB" for name, kib in by_stage.items())
        )
    for process in result["processes"][:5]:
        name = process["name"]
        name = name if len(name) <= 72 else name[:69] + "..."
        mib, cpu, role, at = (process[k] for k in ("peak_mib", "cpu_s", "role", "peak_at"))
        where = f"at {at:.0f} s {stage_at(result, at)}"
        print(f"     {mib:>5.0f} MiB {where:<18} cpu {cpu:>6.1f} s  {role:<14} {name}")
    outputs = result["outputs"]
    lines = result["jsonl_line_bytes"]
    print(
        "   outputs: "
        + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in outputs.items())
        + f"; files.jsonl lines: median {lines['median']:,} B, p99 {lines['p99']:,} B, "
        f"max {lines['max']:,} B"
    )


def stage_at(result: dict[str, Any], seconds: float) -> str:
    """The stage the scan was in ``seconds`` after its command started: the stages' wall
    times laid end to end after the interpreter's start-up (the command's wall time less
    the stages')."""
    names = list(result["stages"])
    elapsed = result["wall_s"] - sum(result["stages"].values())
    if seconds <= elapsed:
        return "(start-up)"
    for name in names:
        elapsed += result["stages"][name]
        if seconds <= elapsed:
            return f"({name})"
    return f"({names[-1]})" if names else ""


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| asked | items | files | dump GB | scan s | items/s | CPU s | peak tree MiB "
        "| largest process MiB | worst ratio, stage > 5 s | exiftool s | exiftool / leaktriage |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for r in results:
        if "items" not in r:
            print(f"| {r['asked']:,} | scan exited {r['exit_code']} | | | | | | | | | | |")
            continue
        ratios = {
            name: ratio
            for name, ratio in r.get("stage_ratios", {}).items()
            if r["stages"].get(name, 0.0) > STAGE_FLOOR_S
        }
        worst = max(ratios.items(), key=lambda kv: kv[1], default=None)
        worst_text = f"{worst[0]} {worst[1]:.2f}" if worst else "-"
        largest = r["processes"][0]["peak_mib"] if r["processes"] else 0
        ex = f"{r['exiftool_s']:.1f}" if "exiftool_s" in r else "-"
        exr = f"{r['exiftool_ratio']:.2f}" if "exiftool_ratio" in r else "-"
        print(
            f"| {r['asked']:,} | {r['items']:,} | {r['files']:,} | {r['dump_bytes'] / 1e9:.2f} "
            f"| {r['wall_s']:.1f} | {r['items_per_s']:.1f} | {r['cpu_s']:.1f} "
            f"| {r['peak_tree_mib']:.0f} | {largest:.0f} | {worst_text} | {ex} | {exr} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 50000, 100000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, help="dumps and scans here (default: a temp folder)")
    parser.add_argument("--exiftool-up-to", type=int, default=20000, help="0: never")
    parser.add_argument("--keep", action="store_true", help="keep the dumps and scans")
    parser.add_argument("--browser", action="store_true", help="the report in headless Chromium")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--real", type=Path, default=scale_dump.DEFAULT_REAL)
    parser.add_argument("--seed", type=int, default=scale_dump.DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.exiftool_up_to and shutil.which("exiftool") is None:
        raise SystemExit("exiftool not found (apt-get install libimage-exiftool-perl)")
    temporary = args.work is None
    args.work = Path(tempfile.mkdtemp(prefix="bench-scale-")) if temporary else args.work
    args.work.mkdir(parents=True, exist_ok=True)
    env = scan_env()
    about = {"machine": machine(), "leaktriage": leaktriage_version(env)}
    if args.exiftool_up_to:
        ver = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True, check=False)
        about["exiftool"] = ver.stdout.strip()
    print(f"machine: {about['machine']}")
    print(f"{about['leaktriage']}; workers {args.workers}; leak date {LEAK_DATE}")
    if "exiftool" in about:
        print(f"exiftool {about['exiftool']}")
    print(f"real folder: {args.real}; seed {args.seed}; work: {args.work}")
    results: list[dict[str, Any]] = []
    try:
        for size in sorted(args.sizes):
            result = measure_size(args, size, env)
            base = next((r for r in results if "items" in r), None)
            print_size(result, base)
            results.append(result)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    print_table(results)
    if args.json:
        payload = {**about, "workers": args.workers, "seed": args.seed, "sizes": results}
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    return 0 if all(r.get("exit_code") == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
