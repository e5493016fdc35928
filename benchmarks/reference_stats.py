"""What the genuine reference corpus holds: files, sources, split and producer families.

    python -m corpus_fixtures reference DIR        # or: real DIR
    python benchmarks/reference_stats.py DIR [--out SCAN] [--top 40]

Reads ``DIR/MANIFEST.csv`` (its ``genuine`` and ``split`` columns), scans DIR with the command
line (``python -m leaktriage scan DIR --out SCAN -q``; ``--out`` keeps the scan, and an
existing scan there is read again with ``--no-scan``), and prints the number of genuine files,
each source's count, share and side, the held-out share, and the producer families the files'
metadata names (``corpus_fixtures.reference`` says how a family is normalised). Exits 1 when
the corpus misses a rule of the reference corpus: at least 2,000 genuine files, no source
over 10 % of them, 30-40 % held out, at least 25 producer families.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures.real import MAX_SHARE
from corpus_fixtures.reference import ReferenceStats, format_stats, reference_stats

MIN_FILES = 2000
MIN_FAMILIES = 25
HELDOUT_RANGE = (0.30, 0.40)


def scan(folder: Path, out: Path) -> None:
    """``leaktriage scan`` of ``folder`` into ``out``, by the command line."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "leaktriage", "scan", str(folder), "--out", str(out), "-q"],
        check=True,
        cwd=root,
    )


def problems(stats: ReferenceStats) -> list[str]:
    """The rules of the reference corpus that ``stats`` breaks."""
    found = []
    if stats.total < MIN_FILES:
        found.append(f"{stats.total} genuine files, fewer than {MIN_FILES}")
    source, share = stats.max_share()
    if share > MAX_SHARE:
        found.append(f"{source} gives {share:.1%} of the genuine files, over {MAX_SHARE:.0%}")
    heldout = stats.heldout() / (stats.total or 1)
    if not HELDOUT_RANGE[0] <= heldout <= HELDOUT_RANGE[1]:
        found.append(f"{heldout:.1%} held out, outside 30-40 %")
    if stats.scanned and len(stats.families) < MIN_FAMILIES:
        found.append(f"{len(stats.families)} producer families, fewer than {MIN_FAMILIES}")
    return found


def main() -> int:
    """Scan (unless told not to), count, print; exit 1 on a broken rule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder built by corpus_fixtures")
    parser.add_argument("--out", type=Path, help="keep the scan here (default: a temp dir)")
    parser.add_argument("--no-scan", action="store_true", help="read the scan kept in --out")
    parser.add_argument("--top", type=int, default=40, help="producer families listed")
    args = parser.parse_args()
    if args.no_scan and args.out is None:
        parser.error("--no-scan needs --out")
    with tempfile.TemporaryDirectory(prefix="reference-stats-") as tmp:
        out = args.out or Path(tmp) / "scan"
        if not args.no_scan:
            scan(args.folder, out)
        stats = reference_stats(args.folder, out / "files.jsonl")
        for line in format_stats(stats, top=args.top):
            print(line)
    broken = problems(stats)
    for problem in broken:
        print(f"not a reference corpus: {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
