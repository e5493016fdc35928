"""``python -m corpus_fixtures build DIR`` (test fixtures) or ``sample DIR`` (the sample leak)."""

from __future__ import annotations

import argparse
from pathlib import Path

from corpus_fixtures.build import build_fixtures, build_sample_leak


def main() -> int:
    """Parse argv and build."""
    parser = argparse.ArgumentParser(prog="python -m corpus_fixtures")
    parser.add_argument(
        "what",
        choices=("build", "sample"),
        help="build: every test fixture; sample: the small sample leak",
    )
    parser.add_argument("out", type=Path, help="folder to write into (created)")
    args = parser.parse_args()
    written = build_fixtures(args.out) if args.what == "build" else build_sample_leak(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


raise SystemExit(main())
