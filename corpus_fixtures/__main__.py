"""``python -m corpus_fixtures build DIR`` (test fixtures) or ``sample DIR`` (the sample leak)."""

from __future__ import annotations

import argparse
from pathlib import Path

from corpus_fixtures.build import build_fixtures, build_sample_leak
from corpus_fixtures.synthetic import build_synthetic_leak


def main() -> int:
    """Parse argv and build."""
    parser = argparse.ArgumentParser(prog="python -m corpus_fixtures")
    parser.add_argument(
        "what",
        choices=("build", "sample", "synthetic"),
        help="build: every test fixture; sample: the small sample leak; synthetic: a labeled "
        "synthetic leak (labels in OUT.labels.csv, beside it)",
    )
    parser.add_argument("out", type=Path, help="folder to write into (created)")
    parser.add_argument(
        "--files", type=int, default=1000, help="items in the synthetic leak (default 1000)"
    )
    args = parser.parse_args()
    if args.what == "synthetic":
        planted = build_synthetic_leak(args.out, args.files)
        print(f"wrote {len(planted.labels)} labeled items under {args.out}")
        print(f"labels: {args.out.parent / (args.out.name + '.labels.csv')}")
        return 0
    written = build_fixtures(args.out) if args.what == "build" else build_sample_leak(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


raise SystemExit(main())
