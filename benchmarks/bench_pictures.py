"""Cost of the pictures of the evidence (``report.pictures``, ``report.figures``).

    python benchmarks/bench_pictures.py [--repeat 5] [--keep DIR]

Prints the time to draw the pictures of one PDF with incremental updates (the fixture
``budget_two_updates_pdf``: its changed page beside the final one, two revision PDFs) and of
one image whose EXIF thumbnail does not match (``photo_edited``), best of ``--repeat`` runs
in this process (Pillow and PyMuPDF already imported, as in a warm worker); then scans the
sample leak and prints its ``report.html`` size with the pictures and without them (the
same store rendered again with ``figures.INLINE_BUDGET`` at 0), and what ``OUT/evidence``
holds.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from corpus_fixtures.build import build_sample_leak
from corpus_fixtures.builders import image, pdf
from leaktriage import ScanConfig, run_scan
from leaktriage.extractors import Source, for_mime
from leaktriage.report import figures, pictures, write_html
from leaktriage.store import Store


def _best(work: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _render_times(repeat: int) -> None:
    cases = (
        ("budget.pdf", pdf.budget_two_updates_pdf(), "application/pdf"),
        ("photo.jpg", image.photo_edited(), "image/jpeg"),
    )
    for name, data, mime in cases:
        # The extractor itself, not extract_item: its hand-over (the EXIF thumbnail) is kept.
        extractor = for_mime(mime)
        assert extractor is not None
        extraction = extractor.function(Source(name, mime, len(data), data))
        fields, thumbnail = extraction.fields, extraction.picture_inputs.get("thumbnail")
        drawn = pictures.render(data, mime, fields, thumbnail)
        seconds = _best(partial(pictures.render, data, mime, fields, thumbnail), repeat)
        sizes = ", ".join(
            f"{p.name} {p.width}x{p.height} {len(p.data):,} B" for p in drawn.pictures
        )
        print(f"{name}: {seconds * 1000:.1f} ms ({sizes})")


def _report_sizes(work: Path) -> None:
    leak = work / "sample_leak"
    build_sample_leak(leak)
    out = work / "out"
    start = time.perf_counter()
    run_scan(leak, out, ScanConfig())
    print(f"sample leak scanned in {time.perf_counter() - start:.1f} s")
    evidence = sorted(p for p in (out / "evidence").rglob("*") if p.is_file())
    print(
        f"OUT/evidence: {len(evidence)} files, {sum(p.stat().st_size for p in evidence):,} B, "
        f"{len({p.parent for p in evidence})} records"
    )
    with_pictures = (out / "report.html").stat().st_size
    budget = figures.INLINE_BUDGET
    figures.INLINE_BUDGET = 0
    store = Store.open_existing(out, readonly=True)
    try:
        without = write_html(store, work / "without.html").stat().st_size
    finally:
        store.close()
        figures.INLINE_BUDGET = budget
    print(f"report.html: {with_pictures:,} B with the pictures, {without:,} B without")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="folder to keep the scan in")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    _render_times(args.repeat)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        _report_sizes(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-pictures-") as folder:
            _report_sizes(Path(folder))


if __name__ == "__main__":
    main()
