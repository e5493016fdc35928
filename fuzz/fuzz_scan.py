"""Long-running whole-scan fuzzing: hypothesis-planned dumps, scanned and checked one by one.

    python fuzz/fuzz_scan.py --examples 5000 --seed 1 --out fuzz/failures
    python fuzz/fuzz_scan.py --replay fuzz/failures/<code>/<n>/plan.pickle

The same strategies and checks as ``tests/test_fuzz_scan.py`` (``tests/fuzzdump.py``,
``tests/fuzzcheck.py``), without stopping at the first failure and without shrinking: every
dump is scanned in-process (every ``--cli-every``-th one also through the CLI with a worker
process), every violation is counted by code, and the first ``--keep`` dumps of each code are
saved under ``--out/<code>/<n>/``: ``dump.tar`` (the folder, raw names kept), ``plan.pickle``
(to replay), ``outline.txt`` (what the dump holds) and ``violations.txt`` (with the
traceback). A summary of codes, counts and first examples is printed every ``--every`` dumps
and at the end, and written to ``--out/summary.json``.

The process's address space is capped (``--memory-mb`` above its size after a warm-up scan)
so that a decompression that is not bounded fails with MemoryError instead of swapping the
machine; bombs include a 512 MiB bzip2 zip member unless ``--no-big-bombs``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzzcheck import (  # noqa: E402
    Result,
    Violation,
    address_space_limit,
    check_dump,
    finding,
    warm_up,
)
from tests.fuzzdump import PROFILES, Dump, Node, dumps, write_dump  # noqa: E402


class Campaign:
    """Counts, saved examples and the summary of one run."""

    def __init__(self, out: Path, keep: int, cli_every: int, slow: float = 30.0) -> None:
        self.out = out
        self.slow = slow
        self.keep = keep
        self.cli_every = cli_every
        self.done = 0
        self.cli_runs = 0
        self.dumps_failing = 0
        self.counts: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self.seconds = 0.0
        self.slowest = (0.0, "")
        self.by_profile: Counter[str] = Counter()
        self.started = time.time()

    def one(self, dump: Dump) -> None:
        """Write, scan and check one dump; save it if anything failed."""
        cli = self.cli_every > 0 and self.done % self.cli_every == self.cli_every - 1
        self.done += 1
        self.by_profile[dump.profile] += 1
        with tempfile.TemporaryDirectory(prefix="fuzz-scan-") as tmp:
            root = write_dump(dump, Path(tmp) / "in")
            result = check_dump(dump, root, Path(tmp) / "out", cli=cli)
            self.cli_runs += cli
            self.seconds += result.seconds
            if result.seconds > self.slow:
                # Not a failure in itself (the machine may be busy), but worth a look.
                result.violations.append(
                    Violation("slow", f"scan took {result.seconds:.0f} s ({dump.profile})")
                )
            if result.seconds > self.slowest[0]:
                self.slowest = (result.seconds, dump.profile)
            if result.violations:
                self.dumps_failing += 1
                self.save(dump, root, result, cli)

    def save(self, dump: Dump, root: Path, result: Result, cli: bool) -> None:
        """Count the violations; keep the first dumps of each code."""
        codes = sorted({v.code for v in result.violations})
        if result.cause:
            codes = [
                f"{code} [{result.cause}]" if "UnicodeEncodeError" in code else code
                for code in codes
            ]
        for code in codes:
            self.counts[code] += 1
            self.first.setdefault(
                code, str(next(v for v in result.violations if code.startswith(v.code)))
            )
        for code in codes:
            if self.counts[code] > self.keep:
                continue
            folder = self.out / _slug(code) / str(self.counts[code])
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(
                folder / "dump.tar", "w", format=tarfile.PAX_FORMAT, errors="surrogateescape"
            ) as archive:
                archive.add(root, arcname=dump.root_name)
            (folder / "plan.pickle").write_bytes(pickle.dumps(dump))
            (folder / "outline.txt").write_text(
                dump.describe(), encoding="utf-8", errors="backslashreplace"
            )
            text = "\n".join(str(v) for v in result.violations)
            text += f"\n\nvia {'CLI' if cli else 'run_scan'}\n\n{result.trace}"
            (folder / "violations.txt").write_text(
                text, encoding="utf-8", errors="backslashreplace"
            )

    def summary(self) -> dict[str, Any]:
        """Everything counted so far."""
        return {
            "dumps": self.done,
            "cli_runs": self.cli_runs,
            "dumps_with_violations": self.dumps_failing,
            "scan_seconds": round(self.seconds, 1),
            "wall_seconds": round(time.time() - self.started, 1),
            "slowest_scan": [round(self.slowest[0], 1), self.slowest[1]],
            "profiles": dict(sorted(self.by_profile.items())),
            "codes": {
                code: {
                    "dumps": n,
                    "known": finding(code.split(" [")[0]) or "",
                    "first": self.first[code][:600],
                }
                for code, n in self.counts.most_common()
            },
        }

    def report(self) -> None:
        """Print the summary and write it to ``summary.json``."""
        data = self.summary()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "summary.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
        print(
            f"{data['dumps']} dumps ({data['cli_runs']} via the CLI), "
            f"{data['dumps_with_violations']} with violations, "
            f"{data['wall_seconds']} s",
            flush=True,
        )
        for code, info in data["codes"].items():
            print(f"  {info['dumps']:5d}  {code}  {info['known']}".rstrip(), flush=True)


def _slug(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", code)[:100]


def main(argv: list[str] | None = None) -> int:
    """Run a campaign (or replay one saved plan); returns 1 when anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=1000, help="dumps to scan")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    parser.add_argument("--profile", action="append", choices=PROFILES, help="repeatable")
    parser.add_argument("--out", type=Path, default=Path("fuzz/failures"))
    parser.add_argument("--keep", type=int, default=5, help="dumps saved per violation code")
    parser.add_argument("--cli-every", type=int, default=50, help="every Nth dump via the CLI")
    parser.add_argument("--every", type=int, default=100, help="print the summary every N")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address space allowed")
    parser.add_argument("--slow", type=float, default=30.0, help="save dumps slower than this")
    parser.add_argument("--no-big-bombs", action="store_true")
    parser.add_argument("--replay", type=Path, help="a saved plan.pickle to scan again")
    args = parser.parse_args(argv)

    if args.replay:
        dump: Dump = pickle.loads(args.replay.read_bytes())
        print(dump.describe())
        with tempfile.TemporaryDirectory(prefix="fuzz-replay-") as tmp:
            root = write_dump(dump, Path(tmp) / "in")
            result = check_dump(dump, root, Path(tmp) / "out")
        for violation in result.violations:
            print(violation)
        print(result.trace)
        return 1 if result.violations else 0

    profiles = args.profile or list(PROFILES)
    campaign = Campaign(args.out, args.keep, args.cli_every, args.slow)
    strategy = st.sampled_from(profiles).flatmap(
        lambda profile: dumps(profile, big_bombs=not args.no_big_bombs)
    )

    @seed(args.seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def campaign_run(dump: Dump) -> None:
        campaign.one(dump)
        if campaign.done % args.every == 0:
            campaign.report()

    import pymupdf

    tools: Any = pymupdf.TOOLS  # untyped
    tools.mupdf_display_errors(False)  # thousands of lines about broken PDFs otherwise
    warm_up()
    with address_space_limit(args.memory_mb << 20):
        try:
            campaign_run()
        finally:
            campaign.report()
    return 1 if campaign.counts else 0


__all__ = ["Campaign", "Node", "main"]

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
