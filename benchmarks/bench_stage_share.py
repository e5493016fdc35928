"""Share of a scan's time taken by the rule stage and the corpus stage together.

    python benchmarks/bench_stage_share.py FOLDER [--out DIR] [--leak-date 2017-05-05]

Scans FOLDER with the command line's defaults, reads the stage times the scan recorded in
``manifest.json`` (``phases``: extract, corpus, threads, exports, report), then times the
rule stage on the same records in this process: ``RuleSet.evaluate`` and the verdict for
every stored record, as the scan's parent runs them between the workers' results (the
scan's ``extract`` phase includes that time, so it is taken out of it here). Prints seconds
and shares; the target is rules + corpus under 20 % of the whole scan.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leaktriage.api import run_scan
from leaktriage.config import ScanConfig
from leaktriage.rules import load_rules
from leaktriage.rules.verdict import family_of
from leaktriage.store import DB_NAME, Store


def main() -> int:
    """Scan, time the rules again, print the shares."""
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, help="keep the scan here (default: a temp dir)")
    parser.add_argument("--leak-date", type=date.fromisoformat, default=date(2017, 5, 5))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-share-") as tmp:
        out = args.out or Path(tmp) / "out"
        started = time.perf_counter()
        run_scan(args.folder, out, ScanConfig(leak_date=args.leak_date, reuse=False))
        wall = time.perf_counter() - started
        phases = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["phases"]
        ruleset = load_rules()
        ctx = ruleset.context(args.leak_date)
        weigher = ruleset.weigher()
        store = Store(out / DB_NAME, readonly=True)
        try:
            records = list(store.iter_records())
        finally:
            store.close()
        started = time.perf_counter()
        for record in records:
            findings = ruleset.evaluate(record, ctx)
            weigher.judge(record.status, findings, family_of(record.mime, record.extension))
        rules = time.perf_counter() - started
    corpus = float(phases.get("corpus", 0.0)) + float(phases.get("threads", 0.0))
    print(f"folder {args.folder}: {len(records):,} records, scan {wall:.1f} s wall")
    print("phases: " + ", ".join(f"{k} {float(v):.2f} s" for k, v in phases.items()))
    print(f"rule stage (re-timed in-process): {rules:.2f} s = {100 * rules / wall:.1f} %")
    print(f"corpus + threads: {corpus:.2f} s = {100 * corpus / wall:.1f} %")
    print(f"rules + corpus: {100 * (rules + corpus) / wall:.1f} % of the scan (target < 20 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
