"""Size of report.html and its time to first screen in headless Chromium.

    python benchmarks/bench_report.py [--files 20000 1000] [--sample] [--keep DIR]

For each ``--files`` count, writes a synthetic store directly through the Store writer
(records shaped like a real dump's: documents with authors, applications and dates, emails,
archive members; one in twelve flagged with findings and evidence; a cluster of files
modified after the leak date), renders ``report.html`` from it and loads it in headless
Chromium (Debian ``chromium``/``chromium-driver``). With ``--sample`` it also scans the
sample leak and measures its report. Prints, per report: records, file size, Python render
time (wall and CPU seconds) and peak RSS of a fresh interpreter rendering it, and in the
browser (unless ``--no-browser``) DOMContentLoaded, the first table render (the report's own
``performance.now()`` once its script has drawn the summary and the table's first page)
the load event and the first contentful paint, best of three cold loads.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leaktriage.config import ScanConfig
from leaktriage.model import Evidence, FieldValue, FileRecord, Finding, Severity, Status
from leaktriage.store import DB_NAME, Store
from tests._chromium import MISSING, chromium, requests_seen

LEAK = date(2017, 5, 5)
AUTHORS = ("Camille Durand-Lefort", "Julien Marchetti", "Sophie Arnaudet", "Mathieu Vasseur")
APPS = ("Microsoft Office Word", "Microsoft Excel", "LibreOffice/5.2", "Acrobat PDFMaker 15")
MIMES = (
    ("application/pdf", "pdf"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("message/rfc822", "eml"),
    ("image/jpeg", "jpg"),
    ("text/plain", "txt"),
)


def synthetic_records(count: int, seed: int = 7) -> list[FileRecord]:
    """``count`` records of an invented dump: 1 in 20 an archive member, 1 in 12 flagged."""
    rng = random.Random(seed)
    base = datetime(2016, 9, 1, tzinfo=UTC)
    records = []
    for n in range(count):
        mime, ext = MIMES[n % len(MIMES)]
        folder = f"dump/dept_{n % 37:02d}/year_{2015 + n % 3}"
        name = f"document_{n:05d}.{ext}"
        created = base + timedelta(days=rng.uniform(0, 240), hours=rng.uniform(0, 24))
        modified = created + timedelta(days=rng.uniform(0, 20))
        flagged = n % 12 == 0
        if flagged and n % 24 == 0:
            modified = datetime(2017, 5, 6, tzinfo=UTC) + timedelta(hours=rng.uniform(0, 30))
        fields: dict[str, FieldValue] = {
            "doc.author": AUTHORS[n % len(AUTHORS)],
            "doc.last_modified_by": AUTHORS[(n + int(flagged)) % len(AUTHORS)],
            "doc.application": APPS[n % len(APPS)],
            "doc.title": f"Note de service {n}",
            "doc.created": created,
            "doc.modified": modified,
            "doc.page_count": 1 + n % 9,
            "doc.languages": ("fr-FR",),
            "text.sample": "Compte rendu de la réunion du comité. " * 8,
        }
        if mime == "message/rfc822":
            fields = {
                "email.from": f"{AUTHORS[n % 4]} <agent{n % 50}@campagne-exemple.fr>",
                "email.to": ("equipe@campagne-exemple.fr",),
                "email.subject": f"Réunion {n}",
                "email.date": created,
                "email.message_id": f"<{n}.synthetic@campagne-exemple.fr>",
            }
        rid = f"{n:032x}"
        findings: tuple[Finding, ...] = ()
        if flagged:
            findings = (
                Finding(
                    rid,
                    "container-time-after-leak-date",
                    "T0089.003",
                    Severity.HIGH,
                    "B",
                    f"Container written after the leak date: {modified.isoformat()}",
                    (Evidence("doc.modified", modified.isoformat(), ""),),
                ),
                Finding(
                    rid,
                    "last-editor-differs-from-author",
                    "T0089.003",
                    Severity.LOW,
                    "C",
                    "Last saved by someone other than the author",
                    (
                        Evidence("doc.author", str(fields.get("doc.author", "")), ""),
                        Evidence(
                            "doc.last_modified_by", str(fields.get("doc.last_modified_by", "")), ""
                        ),
                    ),
                ),
            )
        records.append(
            FileRecord(
                record_id=rid,
                path=f"{folder}/{name}",
                name=name,
                parent_id=None,
                depth=0,
                size=10_000 + n,
                sha256=f"{n:064x}",
                md5=f"{n:032x}",
                mime=mime,
                extension=ext,
                extension_mismatch=False,
                mtime=modified,
                mtime_zone_known=True,
                outer_mtime=modified,
                status=Status.OK,
                extractor=f"{ext}@1",
                fields=fields,
                findings=findings,
                verdict="likely_altered"
                if flagged and n % 24 == 0
                else ("suspicious" if flagged else "no_signal"),
                score=48.0 if flagged else 0.0,
            )
        )
    return records


def build_store(folder: Path, count: int) -> Path:
    """A store of ``count`` synthetic records in ``folder``; returns the store path."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / DB_NAME)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    run = store.start_run(ScanConfig(leak_date=LEAK), Path("dump"), started)
    with store.writer(run) as write:
        for record in synthetic_records(count):
            write(record)
    store.finish_run(run, started + timedelta(minutes=5), {"ok": count}, count)
    store.close()
    return folder / DB_NAME


_RENDER = """
import json, sys, time
from pathlib import Path
from leaktriage.report import write_html
from leaktriage.store import Store
store = Store(Path(sys.argv[1]))
wall, cpu = time.monotonic(), time.process_time()
write_html(store, Path(sys.argv[2]))
wall, cpu = time.monotonic() - wall, time.process_time() - cpu
# VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork into the child's ru_maxrss.
status = Path("/proc/self/status").read_text()
hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps([wall, cpu, hwm]))
"""


def render(db: Path, report: Path) -> tuple[float, float, float]:
    """Render ``report`` from the store ``db`` in a fresh interpreter: (wall s, CPU s, peak
    RSS MiB of that process, interpreter and imports included)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(db), str(report)],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    )
    wall, cpu, peak_kib = json.loads(done.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu), float(peak_kib) / 1024


def measure(report: Path, profile: Path, loads: int = 3) -> dict[str, float]:
    """Best-of-``loads`` browser timings (ms) of one report; fails if it made a request."""
    best: dict[str, float] = {}
    for n in range(loads):
        with chromium(profile / str(n)) as driver:
            driver.get("about:blank")
            requests_seen(driver)
            driver.get(report.as_uri())
            timing = driver.execute_script(
                "var t = performance.getEntriesByType('navigation')[0];"
                "return {dcl: t.domContentLoadedEventEnd, table: window.__leaktriageReady,"
                " load: t.loadEventEnd, rows: document.querySelectorAll('#rows tr').length,"
                " fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {})"
                ".startTime};"
            )
            for _ in range(30):  # the paint entry can arrive after the load event
                if timing["fcp"] is not None:
                    break
                time.sleep(0.1)
                timing["fcp"] = driver.execute_script(
                    "return (performance.getEntriesByName('first-contentful-paint')[0]"
                    " || {}).startTime;"
                )
            timing["fcp"] = float("nan") if timing["fcp"] is None else timing["fcp"]
            sent = requests_seen(driver)
            if sent != [report.as_uri()]:
                raise SystemExit(f"the report made requests: {sent}")
        for key in ("dcl", "table", "load", "fcp"):
            best[key] = min(best.get(key, 1e12), float(timing[key]))
        best["rows"] = float(timing["rows"])
    return best


def main() -> None:
    """Build, render, load, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, nargs="*", default=[20_000, 1_000])
    parser.add_argument("--sample", action="store_true", help="also the sample leak's report")
    parser.add_argument("--keep", type=Path, help="keep the stores and reports here")
    parser.add_argument(
        "--no-browser", action="store_true", help="render only (no Chromium timings)"
    )
    args = parser.parse_args()
    if MISSING and not args.no_browser:
        raise SystemExit(MISSING)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    targets = [(f"synthetic {n}", build_store(work / f"store_{n}", n)) for n in args.files]
    if args.sample:
        from corpus_fixtures.build import build_sample_leak
        from leaktriage.api import run_scan

        leak = work / "sample_leak"
        if leak.exists():
            shutil.rmtree(leak)
        build_sample_leak(leak)
        run_scan(leak, work / "sample_out", ScanConfig(leak_date=LEAK, workers=2))
        targets.append(("sample leak", work / "sample_out" / DB_NAME))
    print(
        f"{'report':<18} {'records':>8} {'size MB':>8} {'render s':>9} {'CPU s':>6} "
        f"{'peak MiB':>9} {'DCL ms':>8} {'table ms':>9} {'load ms':>8} {'paint ms':>9}"
    )
    for label, db in targets:
        store = Store(db)
        records = len(store.record_ids())
        store.close()
        report = db.parent / "report.html"
        wall, cpu, peak = render(db, report)
        size = report.stat().st_size / 1e6
        nan = float("nan")
        t = {"dcl": nan, "table": nan, "load": nan, "fcp": nan}
        if not args.no_browser:
            t = measure(report, work / f"profile_{label.replace(' ', '_')}")
        print(
            f"{label:<18} {records:>8} {size:>8.2f} {wall:>9.2f} {cpu:>6.2f} {peak:>9.0f} "
            f"{t['dcl']:>8.0f} {t['table']:>9.0f} {t['load']:>8.0f} {t['fcp']:>9.0f}"
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
