"""Compare the records of two scans' stores and print every difference.

    python benchmarks/compare_stores.py BASE/triage.sqlite NEW/triage.sqlite [--limit N]

For every record, matched by its path (the same input folder scanned twice), it compares:
mime, status, extractor, size, sha256, extension_mismatch, verdict and score from `files`;
every row of `fields` (name, ord, value, value_type); every row of `raw_fields` (key,
value); every row of `issues` (ord, stage, code, message); and the `findings` (rule_id,
severity, grade, message, with their evidence rows). Records present in one store only are
differences too.

Exit status 0 when the two stores hold identical records, 1 when anything differs (the
first --limit differences are printed, default 50). Used to check that a speed-up of the
extractors changes no extracted value: scan the same folder with the old and the new code
(--no-reuse) and compare.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import defaultdict
from typing import Any

Record = dict[str, Any]


def _load(path: str) -> dict[str, list[Record]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ids: dict[str, str] = {}
    records: dict[str, Record] = {}
    for rid, rpath, mime, status, extractor, size, sha256, mismatch, verdict, score in con.execute(
        "SELECT record_id, path, mime, status, extractor, size, sha256, extension_mismatch,"
        " verdict, score FROM files"
    ):
        ids[rid] = rpath
        records[rid] = {
            "path": rpath,
            "file": (mime, status, extractor, size, sha256, mismatch, verdict, score),
            "fields": [],
            "raw_fields": [],
            "issues": [],
            "findings": [],
        }
    for rid, *row in con.execute(
        "SELECT record_id, name, ord, value, value_type FROM fields ORDER BY record_id, name, ord"
    ):
        records[rid]["fields"].append(tuple(row))
    for rid, *row in con.execute(
        "SELECT record_id, key, value FROM raw_fields ORDER BY record_id, key"
    ):
        records[rid]["raw_fields"].append(tuple(row))
    for rid, *row in con.execute(
        "SELECT record_id, ord, stage, code, message FROM issues ORDER BY record_id, ord"
    ):
        records[rid]["issues"].append(tuple(row))
    evidence: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for fid, *row in con.execute(
        "SELECT finding_id, ord, field, value, note FROM evidence ORDER BY finding_id, ord"
    ):
        evidence[fid].append(tuple(row))
    for fid, rid, *row in con.execute(
        "SELECT finding_id, record_id, rule_id, severity, grade, message FROM findings"
    ):
        records[rid]["findings"].append((*row, tuple(evidence.get(fid, ()))))
    con.close()
    by_path: dict[str, list[Record]] = defaultdict(list)
    for rec in records.values():
        rec["findings"].sort()
        by_path[rec["path"]].append(rec)
    for recs in by_path.values():
        recs.sort(key=lambda r: repr((r["file"], r["fields"], r["raw_fields"])))
    return by_path


def _diff_rows(label: str, path: str, old: list[Any], new: list[Any]) -> list[str]:
    if old == new:
        return []
    gone = [r for r in old if r not in new]
    added = [r for r in new if r not in old]
    out = [f"{path}: {label} differ"]
    out += [f"    - {r!r}" for r in gone]
    out += [f"    + {r!r}" for r in added]
    if not gone and not added:
        out.append("    (same rows, different order)")
    return out


def compare(base: str, new: str) -> list[str]:
    """Every difference between the records of two stores, one block of lines each."""
    a, b = _load(base), _load(new)
    diffs: list[str] = []
    for path in sorted(set(a) | set(b)):
        ra, rb = a.get(path, []), b.get(path, [])
        if len(ra) != len(rb):
            diffs.append(f"{path}: {len(ra)} record(s) in base, {len(rb)} in new")
            continue
        for old, cur in zip(ra, rb, strict=True):
            block: list[str] = []
            if old["file"] != cur["file"]:
                block.append(f"{path}: files row {old['file']!r} -> {cur['file']!r}")
            for key in ("fields", "raw_fields", "issues", "findings"):
                block += _diff_rows(key, path, old[key], cur[key])
            if block:
                diffs.append("\n".join(block))
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(argv)
    diffs = compare(args.base, args.new)
    n_paths = len(_load(args.base))
    for block in diffs[: args.limit]:
        print(block)
    if diffs:
        print(f"{len(diffs)} record(s) differ ({n_paths} paths in base)")
        return 1
    print(f"no difference ({n_paths} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
