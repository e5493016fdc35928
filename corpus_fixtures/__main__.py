"""``python -m corpus_fixtures build DIR`` (test fixtures), ``sample DIR`` (the sample leak),
``synthetic DIR --files 1000`` (the labeled synthetic leak) or ``mixed DIR --files 5000`` (the
benchmarks' mixed dump)."""

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
        choices=("build", "sample", "synthetic", "mixed"),
        help="build: every test fixture; sample: the small sample leak; synthetic: a labeled "
        "synthetic leak (labels in OUT.labels.csv, beside it); mixed: a large mixed dump for "
        "the benchmarks",
    )
    parser.add_argument("out", type=Path, help="folder to write into (created)")
    parser.add_argument(
        "--files",
        type=int,
        default=None,
        help="items in the synthetic leak (default 1000) or files in the mixed dump (5000)",
    )
    args = parser.parse_args()
    if args.what == "mixed":
        from corpus_fixtures.mixed import build_mixed

        count, size = build_mixed(args.out, args.files or 5000)
        print(f"wrote {count} files ({size / 1e6:.1f} MB) under {args.out}")
        return 0
    if args.what == "synthetic":
        planted = build_synthetic_leak(args.out, args.files or 1000)
        print(f"wrote {len(planted.labels)} labeled items under {args.out}")
        print(f"labels: {args.out.parent / (args.out.name + '.labels.csv')}")
        return 0
    written = build_fixtures(args.out) if args.what == "build" else build_sample_leak(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


raise SystemExit(main())
