"""CPU seconds of a command's whole process tree, workers included.

    python benchmarks/cpu_tree.py -- leaktriage scan DUMP --out OUT --no-reuse

``/usr/bin/time`` counts only children that were waited for, and a scan's workers are
children of the multiprocessing forkserver, which is never reaped by the scan: their CPU is
missing from its figure. This script polls every process of the tree (psutil) every
``--interval`` seconds and adds up each one's own user+system time as last seen, so at most
one interval per process is lost. Prints wall, user, system and the per-process split.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import psutil


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    seen: dict[int, tuple[str, float, float]] = {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in tree:
            try:
                times = member.cpu_times()
                name = " ".join(member.cmdline())[:60]
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            seen[member.pid] = (name, times.user, times.system)
        time.sleep(args.interval)
    wall = time.perf_counter() - started
    user = sum(u for _, u, _ in seen.values())
    system = sum(s for _, _, s in seen.values())
    print(f"wall {wall:.2f} s  cpu {user + system:.2f} s (user {user:.2f} s, sys {system:.2f} s)")
    for pid, (name, u, s) in sorted(seen.items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
        if u + s >= 0.05:
            print(f"  {pid:7d} {u + s:7.2f} s  {name}")
    return proc.returncode or 0


if __name__ == "__main__":
    raise SystemExit(main())
