"""Corpus analysis time and peak memory at 2,000 / 5,000 / 20,000 records.

    python benchmarks/bench_corpus.py [--sizes 2000,5000,20000] [--text-bytes 4096]

For each size, one child process builds a store directly (synthetic FileRecords through the
Store writer, no extraction): French text samples of up to ``--text-bytes`` (the scan keeps
at most 8 KB), authoring facts of a coherent campaign, 1 % altered copies, 1 % foreign
fingerprints and one edit burst; then a second child times ``leaktriage.corpus.analyze`` on it
and reports its peak resident memory (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_fixtures import FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.synthetic import CITIES, SENTENCES, TOPICS, _money
from leaktriage.config import ScanConfig
from leaktriage.model import FieldValue, FileRecord, Status

START = datetime(2017, 1, 9, 8, 0, tzinfo=UTC)


SYLLABLES = ("ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo")
VOCABULARY = tuple(
    "".join(random.Random(n).choices(SYLLABLES, k=2 + n % 3)) + ("s" if n % 5 == 0 else "")
    for n in range(20_000)
)
"""Invented words: real documents share far fewer word triples than template sentences do."""


def _text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        if rng.random() < 0.6:
            words = [VOCABULARY[min(int(rng.paretovariate(0.8)), 19_999)] for _ in range(12)]
            parts.append(" ".join(words) + ".")
            length += len(parts[-1]) + 1
            continue
        sentence = rng.choice(SENTENCES).format(
            city=rng.choice(CITIES),
            topic=rng.choice(TOPICS),
            amount=_money(rng),
            people=rng.randrange(40, 3000),
            day=rng.randrange(1, 29),
            month="mars",
            service="finances",
        )
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)[:size]


def records(count: int, text_bytes: int, seed: int = 1) -> list[FileRecord]:
    """``count`` synthetic document records."""
    rng = random.Random(seed)
    out = []
    copies = count // 100
    foreign = count // 100
    for i in range(count):
        created = START + timedelta(minutes=rng.randrange(100 * 24 * 60))
        modified = created + timedelta(hours=rng.randrange(1, 96))
        author, last = rng.choice(PEOPLE), rng.choice(PEOPLE)
        fields: dict[str, FieldValue] = {
            "doc.author": author,
            "doc.last_modified_by": last,
            "doc.company": ORGANISATION,
            "doc.application": "Microsoft Office Word",
            "doc.app_version": "16.0000",
            "doc.template": "Normal.dotm",
            "doc.title": f"Note {i}",
            "doc.created": created,
            "doc.modified": modified,
            "doc.languages": ("fr-FR",),
            "meta.scripts": ("Latin",),
            "ooxml.rsid_root": f"{rng.getrandbits(32):08X}",
            "ooxml.rsids": tuple(f"{rng.getrandbits(32):08X}" for _ in range(4)),
            "text.language": "fr",
            "text.language_confidence": 0.99,
        }
        text = _text(rng, rng.randrange(text_bytes // 4, text_bytes))
        if i < foreign:
            fields.update(
                {
                    "doc.last_modified_by": FOREIGN_PEOPLE[i % 2],
                    "doc.codepage": 1251,
                    "doc.languages": ("ru-RU",),
                    "meta.scripts": ("Cyrillic", "Latin"),
                }
            )
        if i >= count - 5:
            fields["doc.last_modified_by"] = FOREIGN_PEOPLE[0]
            fields["doc.modified"] = START + timedelta(days=60, seconds=40 * (count - i))
        fields["text.sample"] = text
        fields["text.chars"] = len(text)
        out.append(_record(f"bench/documents/note_{i:06d}.docx", i, fields))
    for j in range(copies):
        source = out[foreign + j]
        fields = dict(source.fields)
        text = str(fields["text.sample"])
        marker = text.find("€ ")
        if marker < 0:
            continue
        fields["text.sample"] = text[: marker + 2] + "9" + text[marker + 2 :]
        fields["doc.last_modified_by"] = PEOPLE[(j + 1) % len(PEOPLE)]
        modified = source.fields["doc.modified"]
        assert isinstance(modified, datetime)
        fields["doc.modified"] = modified + timedelta(days=3)
        out.append(_record(f"bench/copies/copie_{j:06d}.docx", count + j, fields))
    return out


def _record(path: str, n: int, fields: dict[str, FieldValue]) -> FileRecord:
    return FileRecord(
        record_id=f"{n:032x}",
        path=path,
        name=path.rsplit("/", 1)[-1],
        parent_id=None,
        depth=0,
        size=10_000 + n,
        sha256=f"{n:064x}",
        md5=None,
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extension="docx",
        extension_mismatch=False,
        mtime=None,
        mtime_zone_known=False,
        outer_mtime=None,
        status=Status.OK,
        fields=fields,
        verdict="no_signal",
        score=0.0,
    )


def build(count: int, text_bytes: int, path: Path) -> None:
    """Write a store of ``count`` synthetic records to ``path`` (its own process)."""
    from leaktriage.store import Store

    store = Store(path)
    run = store.start_run(ScanConfig(), Path("bench"), START)
    with store.writer(run) as write:
        for record in records(count, text_bytes):
            write(record)
    store.close()


def measure(path: Path) -> dict[str, float]:
    """Time the analysis of the store at ``path`` (its own process, so the peak resident
    memory is the analysis's alone: interpreter, NumPy and scikit-learn included)."""
    from leaktriage.corpus import analyze
    from leaktriage.store import Store

    store = Store(path)
    started = time.perf_counter()
    summary = analyze(store, ScanConfig())
    seconds = time.perf_counter() - started
    store.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "records": summary.records,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_mib, 1),
        "copy_pairs": summary.copy_pairs,
        "fingerprint_outliers": summary.fingerprint_outliers,
        "bursts": summary.bursts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,5000,20000")
    parser.add_argument("--text-bytes", type=int, default=4096)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.text_bytes, args.store)
        return 0
    if args.measure:
        print(json.dumps(measure(args.store)))
        return 0
    print(f"{'records':>8} {'seconds':>8} {'peak RSS MiB':>13} {'pairs':>6} {'outliers':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="leaktriage-bench-") as folder:
            path = Path(folder) / "triage.sqlite"
            me = [
                sys.executable,
                __file__,
                "--store",
                str(path),
                "--text-bytes",
                str(args.text_bytes),
            ]
            subprocess.run([*me, "--build", str(size)], check=True)
            done = subprocess.run([*me, "--measure"], check=True, capture_output=True, text=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{row['records']:>8} {row['seconds']:>8} {row['peak_rss_mib']:>13} "
            f"{row['copy_pairs']:>6} {row['fingerprint_outliers']:>9}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
