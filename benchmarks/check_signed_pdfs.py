"""What the signature verification says about signed PDFs nobody here made.

    python benchmarks/check_signed_pdfs.py FOLDER [--trust-roots FILE] [--csv OUT.csv]

Every PDF under ``FOLDER`` (for example the test data of pyHanko, ``internal/common-test-utils/
src/pyhanko_testing_commons/test_data/data/pdf`` of github.com/MatthiasValvekens/pyHanko,
MIT licence, exported from its git tree) is read by the PDF extractor exactly as a scan reads
it, in this process. For each file the script prints its sha256 (the manifest of what was
checked), its signature count and, per signature, whether it is intact, valid at its signing
time, what it covers, what changed after it and the objects named; then the totals, the
issues raised and the rules that fire. An exception escaping the extractor is counted as a
failure of ours. Nothing is timed in a test; this is a check on real files.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leaktriage.api import triage_file

SIG_FACTS = (
    "pdf.sig_intact",
    "pdf.sig_valid",
    "pdf.sig_cert_at_signing",
    "pdf.sig_coverage",
    "pdf.sig_modification_level",
    "pdf.sig_changed_objects",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--trust-roots", type=Path, default=None)
    parser.add_argument("--csv", type=Path, default=None, help="one row per file")
    args = parser.parse_args()
    files = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() == ".pdf")
    totals: collections.Counter[str] = collections.Counter()
    rules: collections.Counter[str] = collections.Counter()
    rows = []
    options = {"trust_roots": str(args.trust_roots)} if args.trust_roots else {}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            (record,) = (r for r in triage_file(path, **options) if r.depth == 0)
        except Exception as exc:  # noqa: BLE001  a failure of ours: counted, the check goes on
            totals["exception"] += 1
            print(f"{digest[:16]}  {path.relative_to(args.folder)}  EXCEPTION {exc!r}")
            continue
        facts = record.fields
        count = int(facts.get("pdf.sig_checked", 0) or 0)
        totals["files"] += 1
        totals["signed files"] += count > 0
        totals["signatures"] += count
        totals["files with an issue"] += bool(record.issues)
        fired = sorted({f.rule_id for f in record.findings if f.rule_id.startswith("pdf-sig")})
        rules.update(fired)
        values = {name: facts.get(name, ()) for name in SIG_FACTS}
        for name in ("pdf.sig_intact", "pdf.sig_valid", "pdf.sig_modification_level"):
            for value in values[name] or ():
                totals[f"{name.removeprefix('pdf.sig_')}={value}"] += 1
        shown = "  ".join(
            f"{k.removeprefix('pdf.sig_')}={'/'.join(v)}" for k, v in values.items() if v
        )
        codes = ",".join(sorted({i.code for i in record.issues}))
        print(
            f"{digest[:16]}  {path.relative_to(args.folder)}  signatures {count}  {shown}"
            + (f"  rules {','.join(fired)}" if fired else "")
            + (f"  issues {codes}" if codes else "")
        )
        rows.append(
            {
                "path": str(path.relative_to(args.folder)),
                "sha256": digest,
                "signatures": count,
                **{k: "/".join(v) for k, v in values.items()},
                "rules": " ".join(fired),
                "issues": " ".join(sorted({i.code for i in record.issues})),
            }
        )
    print("\ntotals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    print("rules fired: " + (", ".join(f"{k} {v}" for k, v in sorted(rules.items())) or "none"))
    if args.csv and rows:
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 1 if totals["exception"] else 0


if __name__ == "__main__":
    sys.exit(main())
