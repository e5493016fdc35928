"""Cost of the rule stage per record, with every bundled rule on.

    python benchmarks/bench_rules.py [--repeat 20] [--out DIR]

Scans the sample leak (``python -m corpus_fixtures sample``) once to get real records, then
times ``RuleSet.evaluate`` over all of them ``--repeat`` times in this process (no workers,
no I/O) and prints the microseconds per record, the per-rule share of the time, and how that
compares with the scan's own time per record. Rule evaluation must not dominate a scan.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures.build import build_sample_leak
from leaktriage.api import run_scan
from leaktriage.config import ScanConfig
from leaktriage.rules import load_rules, record_facts
from leaktriage.store import DB_NAME, Store


def main() -> int:
    """Build, scan, time the rules; print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", type=Path, help="keep the scan here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        leak = Path(tmp) / "sample_leak"
        build_sample_leak(leak)
        out = args.out or Path(tmp) / "out"
        config = ScanConfig(leak_date=date(2017, 5, 5))
        started = time.perf_counter()
        summary = run_scan(leak, out, config)
        scan_s = time.perf_counter() - started
        store = Store.open_existing(out) if (out / DB_NAME).exists() else None
        assert store is not None
        records = list(store.iter_records())
        store.close()
    ruleset = load_rules()
    ctx = ruleset.context(date(2017, 5, 5))
    ruleset.evaluate(records[0], ctx)  # warm caches (regexes)
    started = time.perf_counter()
    findings = 0
    for _ in range(args.repeat):
        for record in records:
            findings += len(ruleset.evaluate(record, ctx))
    total_s = time.perf_counter() - started
    evaluations = args.repeat * len(records)
    per_record_us = total_s / evaluations * 1e6
    per_rule: Counter[str] = Counter()
    facts = [(r.record_id, record_facts(r)) for r in records]
    for rule in ruleset.rules:
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            for record_id, fact in facts:
                rule.apply(record_id, fact, ctx)
        per_rule[rule.id] = time.perf_counter() - t0
    scan_per_record_ms = scan_s / max(summary.items, 1) * 1e3
    print(f"records: {len(records)} from the sample leak, {len(ruleset.rules)} rules")
    print(f"rules: {per_record_us:.0f} µs per record ({findings // args.repeat} findings per pass)")
    print(f"scan: {scan_per_record_ms:.2f} ms per record end to end ({summary.items} items)")
    print(f"rule share of scan time: {per_record_us / 1e3 / scan_per_record_ms:.1%}")
    print("costliest rules (share of rule time):")
    spent = sum(per_rule.values())
    for rule_id, seconds in per_rule.most_common(5):
        print(f"  {rule_id:<45} {seconds / spent:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
