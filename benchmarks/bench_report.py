"""Size of report.html and its time to first screen in headless Chromium.

    python benchmarks/bench_report.py [--files 20000 1000] [--shape leak|plain] [--sample]
        [--limit N] [--keep DIR] [--no-browser]

For each ``--files`` count, writes a synthetic store directly through the Store writer and
renders ``report.html`` from it, then loads it in headless Chromium (Debian
``chromium``/``chromium-driver``).

``--shape plain`` (the shape of the figures before issue 19): documents with authors,
applications and dates, emails, archive members; one in twelve flagged with two findings; a
cluster of files modified after the leak date.

``--shape leak`` (the default): the same records, plus what made the report of a real
50,000-file dump weigh 307 MB: the corpus results of a dump full of re-saved variants.
Families of 12 to 36 versions of one document (one ``copies`` group each, every member with a
finding naming ten related files and three differing passages); in each family one in six
members an altered copy of the family's first file (a ``corpus_pairs`` row with up to 20
differing passages of up to 600 characters a side, an ``altered copies`` group, and findings
of 15-20 evidence items on both files); edit bursts of 30 files (15 evidence items each);
shared-identifier groups; 30 fingerprint clusters over every document; outlier scores; decoys.

With ``--sample`` it also scans the sample leak and measures its report. Prints, per report:
records, file size, Python render time (wall and CPU seconds) and peak RSS of a fresh
interpreter rendering it, and in the browser (unless ``--no-browser``) DOMContentLoaded, the
first table render (the report's own ``performance.now()`` once its script has drawn the
table's first page) the load event and the first contentful paint, best of three cold loads.
"""

from __future__ import annotations

import argparse
import hashlib
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


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijlmnoprstuvéè"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(size)]


def synthetic_records(count: int, seed: int = 7, real: bool = False) -> list[FileRecord]:
    """``count`` records of an invented dump, 1 in 12 flagged. With ``real``, values as
    varied as a real dump's: record ids and hashes as random as real ones, distinct titles
    and text samples drawn from a vocabulary of 3,000 words, and more facts per document."""
    rng = random.Random(seed)
    words = _vocabulary(random.Random(seed + 2))
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
        if real:
            fields["doc.title"] = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
            fields["text.sample"] = " ".join(rng.choice(words) for _ in range(60))[:300]
            fields["doc.company"] = "Campagne " + words[n % 40]
            fields["doc.template"] = "Normal.dotm"
            fields["doc.revision"] = 1 + n % 23
            fields["doc.editing_minutes"] = n % 517
            fields["doc.word_count"] = 100 + n % 4000
        if mime == "message/rfc822":
            fields = {
                "email.from": f"{AUTHORS[n % 4]} <agent{n % 50}@campagne-exemple.fr>",
                "email.to": ("equipe@campagne-exemple.fr",),
                "email.subject": f"Réunion {n}",
                "email.date": created,
                "email.message_id": f"<{n}.synthetic@campagne-exemple.fr>",
            }
            if real:
                fields["email.subject"] = " ".join(rng.choice(words) for _ in range(5))
                fields["email.message_id"] = f"<{rng.getrandbits(64):016x}@campagne-exemple.fr>"
                fields["email.received"] = tuple(
                    f"from mx{k}.campagne-exemple.fr by relay{rng.randint(1, 9)} at "
                    f"{(created + timedelta(seconds=k)).isoformat()}"
                    for k in range(3)
                )
                fields["text.sample"] = " ".join(rng.choice(words) for _ in range(60))[:300]
        rid = f"{n:032x}"
        sha256, md5 = f"{n:064x}", f"{n:032x}"
        if real:
            # One file in 25 a copy of one a thousand files earlier.
            key = str(n - 1000 if n % 25 == 7 and n >= 1000 else n).encode()
            rid = hashlib.sha256(b"id%d" % n).hexdigest()[:32]
            sha256, md5 = hashlib.sha256(key).hexdigest(), hashlib.md5(key).hexdigest()
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
                sha256=sha256,
                md5=md5,
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


WORDS = (
    "budget",
    "communication",
    "campagne",
    "réunion",
    "comité",
    "région",
    "délégué",
    "total",
    "subvention",
    "prestataire",
    "facture",
    "montant",
    "accord",
    "calendrier",
    "presse",
)
Corpus = tuple[
    list[Finding],
    list[tuple[str, str, list[tuple[str, str]], dict[str, object]]],
    list[tuple[str, str, float, list[dict[str, str]]]],
    list[tuple[str, float | None, list[dict[str, object]]]],
]


def _passage(rng: random.Random, longest: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, max(5, longest // 9)))]
    return " ".join(words)[:longest]


def leak_shaped(count: int, seed: int = 7) -> tuple[list[FileRecord], Corpus]:
    """``count`` records shaped like a real dump full of re-saved variants, with the corpus
    results such a dump gets (see the module's docstring); verdicts set to match."""
    import dataclasses

    rng = random.Random(seed + 1)
    records = synthetic_records(count, seed, real=True)
    # Every twentieth record an archive, its next four records members of it.
    for n in range(count):
        if n % 20 == 0:
            records[n] = dataclasses.replace(
                records[n],
                mime="application/zip",
                extension="zip",
                extractor="zip@1",
                name=f"archive_{n:05d}.zip",
                path=records[n].path.rsplit("/", 1)[0] + f"/archive_{n:05d}.zip",
                fields={},
                findings=(),
                verdict="no_signal",
                score=0.0,
            )
        elif n % 20 <= 4 and n - n % 20 < count:
            top = records[n - n % 20]
            records[n] = dataclasses.replace(
                records[n],
                parent_id=top.record_id,
                depth=1,
                path=f"{top.path}!{records[n].name}",
            )
    findings: list[Finding] = []
    groups: Corpus[1] = []
    pairs: Corpus[2] = []
    verdicts: dict[int, str] = {}
    documents = [n for n in range(count) if records[n].extension in ("pdf", "docx", "xlsx")]
    # Families of versions: runs of 12 to 36 consecutive documents, every other run.
    start, family = 0, 0
    while start < len(documents):
        size = rng.randint(12, 36)
        members = documents[start : start + size]
        start += size
        family += 1
        if family % 2 or len(members) < 2:
            continue
        paths = [records[n].path for n in members]
        groups.append(
            (
                "copies",
                f"versions of one document: {len(members)} files",
                [(records[n].record_id, "versions") for n in members],
                {"relation": "versions", "contents": len(members), "paths": paths},
            )
        )
        for n in members:
            others = [m for m in members if m != n]
            shown = ", ".join(records[m].path for m in others[:3])
            evidence = [
                Evidence("corpus.related_file", records[m].path, f"record {records[m].record_id}")
                for m in others[:10]
            ] + [
                Evidence(
                    "corpus.similarity",
                    f"{rng.uniform(0.6, 0.85):.3f}",
                    f"with {records[m].path}; differs: «{_passage(rng, 120)}» → "
                    f"«{_passage(rng, 120)}»; «{_passage(rng, 120)}» → «{_passage(rng, 120)}»",
                )
                for m in others[:3]
            ]
            findings.append(
                Finding(
                    records[n].record_id,
                    "corpus-document-versions",
                    "T0089.003",
                    Severity.INFO,
                    "C",
                    f"Another version of the same document as {shown} and {len(others) - 3} "
                    "more: they share its origin but the text was reworked in many places. "
                    "Usually successive drafts.",
                    tuple(evidence),
                    "corpus",
                    float(len(members)),
                )
            )
        # One in six members an altered copy of the family's first file; in one family in
        # six, re-saved variants: every member an altered copy of every other.
        dense = family % 12 == 0
        altered = [
            (a, b)
            for i, a in enumerate(members)
            for k, b in enumerate(members[i + 1 :], i + 1)
            if (dense or (i == 0 and k % 6 == 0))
        ]
        for a, b in altered:
            first, later = records[a], records[b]
            hunks = [
                {"a": _passage(rng, rng.choice((40, 120, 240))), "b": _passage(rng, 240)}
                for _ in range(rng.randint(2, 12))
            ]
            pairs.append((first.record_id, later.record_id, rng.uniform(0.9, 0.99), hunks))
            shared = [
                Evidence("doc.created", "2016-10-02T08:14:00Z", "same in both copies"),
                Evidence("ooxml.doc_id", "{9C1D-44A2-B0F3}", "same in both copies"),
                Evidence("xmp.document_id", "uuid:5a4e-77c1-9d0b", "same in both copies"),
            ]
            passages = [
                Evidence("corpus.diff", f"{h['a']} → {h['b']}", f"passage {i} that differs")
                for i, h in enumerate(hunks[:6], 1)
            ]
            for me, other, role in ((later, first, "later"), (first, later, "earlier")):
                evidence = [
                    Evidence("corpus.copy_of", other.path, f"record {other.record_id}"),
                    Evidence("corpus.this_file", me.path, f"this copy ({role})"),
                    Evidence("corpus.similarity", "0.953", "difflib ratio of the word sequences"),
                    Evidence("corpus.jaccard", "0.870", "shared word 3-grams"),
                    *passages,
                    *shared,
                    Evidence("doc.modified", "2017-05-06T09:00:00Z", "other: 2016-11-02"),
                    Evidence("doc.last_modified_by", AUTHORS[2], f"other copy: {AUTHORS[0]}"),
                    Evidence("ooxml.rsids", " | ".join(f"00{i:06X}" for i in range(8)), "shared"),
                ]
                findings.append(
                    Finding(
                        me.record_id,
                        "corpus-altered-copy",
                        "T0089.003",
                        Severity.HIGH if role == "later" else Severity.INFO,
                        "B" if role == "later" else "C",
                        f"Altered copy of {other.path}: both come from the same original, and "
                        f"the text was changed in {len(hunks)} places: "
                        + "; ".join(f"«{h['a']}» → «{h['b']}»" for h in hunks[:3]),
                        tuple(evidence),
                        "corpus",
                        0.95,
                    )
                )
            verdicts[b] = "likely_altered"
        if altered:
            ends = sorted({n for pair in altered for n in pair})
            later_ones = {b for _, b in altered}
            groups.append(
                (
                    "copies",
                    f"altered copies: {records[members[0]].name}",
                    [
                        (records[n].record_id, "later" if n in later_ones else "earlier")
                        for n in ends
                    ],
                    {"contents": len(ends), "paths": [records[n].path for n in ends]},
                )
            )
    # Edit bursts: 30 documents saved within minutes by one program, one in 40 documents.
    for b, at in enumerate(range(0, len(documents) - 30, 1200)):
        members = documents[at : at + 30]
        groups.append(
            (
                "burst",
                f"30 files saved within 14 minutes by Microsoft Office Word ({b})",
                [(records[n].record_id, "member") for n in members],
                {"software": "Microsoft Office Word", "span": "14 minutes", "files": 30},
            )
        )
        for n in members:
            others = [m for m in members if m != n][:10]
            evidence = [
                Evidence("corpus.software", "Microsoft Office Word", "the software"),
                Evidence("doc.last_modified_by", AUTHORS[n % 4], "this file's last-saved-by"),
                Evidence("doc.modified", "2017-05-04T22:10:00Z", "this file's last save"),
                Evidence("doc.created", "2016-03-01T10:00:00Z", "this file's creation"),
                Evidence("corpus.burst_span", "14 minutes", "30 files"),
                *(
                    Evidence("corpus.burst_member", records[m].path, "saved 2017-05-04 22:0x")
                    for m in others
                ),
            ]
            findings.append(
                Finding(
                    records[n].record_id,
                    "corpus-edit-burst",
                    "T0089.003",
                    Severity.MEDIUM,
                    "C",
                    "One of 30 files with separate histories that were all last saved within "
                    "14 minutes (2017-05-04 22:00 to 22:14) by the same software: Microsoft "
                    "Office Word, which saved no other file here.",
                    tuple(evidence),
                    "corpus",
                    30.0,
                )
            )
            verdicts.setdefault(n, "suspicious")
    # Shared identifiers: 8 files, one in 60 records.
    for at in range(7, count - 8, 480):
        members = list(range(at, at + 8))
        groups.append(
            (
                "identifier",
                f"shared template identifier {{A1B2-{at:06d}}}",
                [(records[n].record_id, "member") for n in members],
                {"doc.template_id": f"{{A1B2-{at:06d}}}"},
            )
        )
        findings.extend(
            Finding(
                records[n].record_id,
                "corpus-shared-identifier",
                "T0089.003",
                Severity.LOW,
                "C",
                "Shares an identifier with 7 other files of the dump.",
                tuple(
                    Evidence("corpus.linked_file", records[m].path, records[m].record_id)
                    for m in members
                    if m != n
                ),
                "corpus",
                8.0,
            )
            for n in members
        )
    # Fingerprint clusters over every document; outlier scores for one record in 50.
    for c in range(30):
        members = [records[n].record_id for n in documents if n % 30 == c]
        groups.append(
            (
                "fingerprint_cluster",
                f"cluster {c}: {APPS[c % 4]} / {AUTHORS[c % 4]}",
                [(rid, "member") for rid in members],
                {"doc.application": APPS[c % 4], "doc.author": AUTHORS[c % 4], "n": len(members)},
            )
        )
    scores: Corpus[3] = [
        (
            records[n].record_id,
            rng.uniform(0.5, 0.9),
            [{"attribute": "doc.application", "value": "PDFsam 4.1", "count": 2, "total": count}],
        )
        for n in range(3, count, 50)
    ]
    for n in range(11, count, 500):
        verdicts[n] = "decoy_suspected"
    for n, verdict in verdicts.items():
        rank = ("likely_altered", "decoy_suspected", "suspicious", "no_signal").index
        if rank(verdict) < rank(records[n].verdict or "no_signal"):
            records[n] = dataclasses.replace(records[n], verdict=verdict, score=70.0)
    return records, (findings, groups, pairs, scores)


def build_store(folder: Path, count: int, shape: str = "leak") -> Path:
    """A store of ``count`` synthetic records of ``shape`` in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / DB_NAME)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    run = store.start_run(ScanConfig(leak_date=LEAK), Path("dump"), started)
    corpus: Corpus | None = None
    if shape == "leak":
        records, corpus = leak_shaped(count)
    else:
        records = synthetic_records(count)
    with store.writer(run) as write:
        for record in records:
            write(record)
    if corpus is not None:
        store.replace_corpus(*corpus)
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
write_html(store, Path(sys.argv[2]), *(int(a) for a in sys.argv[3:]))
wall, cpu = time.monotonic() - wall, time.process_time() - cpu
# VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork into the child's ru_maxrss.
status = Path("/proc/self/status").read_text()
hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps([wall, cpu, hwm]))
"""


def render(db: Path, report: Path, limit: int | None = None) -> tuple[float, float, float]:
    """Render ``report`` from the store ``db`` in a fresh interpreter (its table holding at
    most ``limit`` files, when given): (wall s, CPU s, peak RSS MiB of that process,
    interpreter and imports included)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(db), str(report), *([str(limit)] if limit else [])],
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
            driver.set_page_load_timeout(600)
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
            value = float("nan") if timing[key] is None else float(timing[key])
            best[key] = min(best.get(key, 1e12), value)
        best["rows"] = float(timing["rows"])
    return best


def main() -> None:
    """Build, render, load, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, nargs="*", default=[20_000, 1_000])
    parser.add_argument(
        "--shape", choices=("leak", "plain"), default="leak", help="synthetic records' shape"
    )
    parser.add_argument("--sample", action="store_true", help="also the sample leak's report")
    parser.add_argument("--limit", type=int, help="the report's --report-limit")
    parser.add_argument("--keep", type=Path, help="keep the stores and reports here")
    parser.add_argument(
        "--no-browser", action="store_true", help="render only (no Chromium timings)"
    )
    args = parser.parse_args()
    if MISSING and not args.no_browser:
        raise SystemExit(MISSING)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    targets = [
        (f"{args.shape} {n}", build_store(work / f"{args.shape}_{n}", n, args.shape))
        for n in args.files
    ]
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
        wall, cpu, peak = render(db, report, args.limit)
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
