"""Aggregate a py-spy raw profile of a scan's worker processes, by extractor and by function.

    py-spy record --subprocesses -r 100 -f raw -o prof.txt -- \
        leaktriage scan DUMP --out OUT --no-reuse
    python benchmarks/profile_workers.py prof.txt [--top 30] [--rate 100]

Only stacks that pass through the worker loop (workers._worker_main) are counted. Prints:
the worker samples (and seconds at --rate Hz) per extractor module (the innermost
leaktriage/extractors/<name>.py frame, a package such as image/ or email/ counting as one
module, or detect.sniff, textfacts, the pipe to the scanning
process, or "other"); then the --top
functions by inclusive and by self samples (line numbers dropped).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frames(stack: str) -> list[str]:
    out = []
    for part in stack.split(";"):
        m = _FRAME.match(part)
        out.append(f"{m['func']} ({m['file']})" if m else part)
    return out


def _bucket(frames: list[str]) -> str:
    if any("multiprocessing/connection.py" in f for f in frames):
        return "ipc (pipe send/recv, mostly waiting)"
    for frame in reversed(frames):
        if "leaktriage/extractors/" in frame:
            return frame.split("leaktriage/extractors/")[1].rstrip(")").split("/")[0]
    for frame in frames:
        if frame.startswith("sniff ") and "leaktriage/detect.py" in frame:
            return "detect.sniff"
    if any("leaktriage/textfacts.py" in f for f in frames):
        return "textfacts.py"
    return "other"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args(argv)
    buckets: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    with Path(args.profile).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if "_worker_main" not in stack or not count.isdigit():
                continue
            n = int(count)
            frames = _frames(stack)
            start = next(i for i, f in enumerate(frames) if "_worker_main" in f)
            frames = frames[start:]
            total += n
            buckets[_bucket(frames)] += n
            for frame in set(frames):
                incl[frame] += n
            self_[frames[-1]] += n
    print(f"worker samples: {total} ({total / args.rate:.1f} s at {args.rate:g} Hz)")
    print("\nby extractor:")
    for name, n in buckets.most_common():
        print(f"  {n:6d}  {n / args.rate:6.1f} s  {name}")
    for title, counter in (("inclusive", incl), ("self", self_)):
        print(f"\ntop {args.top} {title}:")
        for name, n in counter.most_common(args.top):
            print(f"  {n:6d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
