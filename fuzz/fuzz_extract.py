"""Coverage-guided fuzzing of one extractor (or all of them) with atheris.

    pip install atheris
    python fuzz/fuzz_extract.py pdf  -atheris_runs=0 -max_total_time=3600 fuzz/corpus/pdf
    python fuzz/fuzz_extract.py ooxml -max_len=200000 fuzz/corpus/ooxml

The first argument names the extractor (``leaktriage formats`` lists them), or a family of
extractors registered one per format (``image``: image.jpeg, image.png...). Seed the corpus
folder with fixtures: ``python -m corpus_fixtures build /tmp/fx``, then copy
``/tmp/fx/pdf/*`` into ``fuzz/corpus/pdf``.
The harness fails only on what a scan must never see: an exception escaping the extractor
boundary (``run_extractor``), or an outcome that is not one of the declared statuses.
Crashes and hangs inside C libraries are what the worker isolation contains; run with
``-timeout=30 -rss_limit_mb=2048`` to find them anyway.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from leaktriage.extractors import Source, discover
    from leaktriage.model import Status
    from leaktriage.pipeline.extract import extract_item

    discover()  # import every extractor inside the block, so they are instrumented too


def main() -> None:
    """Pick the extractor from argv[1], hand the rest to libFuzzer."""
    registry = discover()
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    targets = [e for e in registry.values() if wanted in (e.name, e.family)]
    if targets:
        sys.argv.pop(1)
    else:
        targets = list(registry.values())
    mimes = [sorted(e.mime_types)[0] for e in targets]

    def one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        mime = mimes[fdp.ConsumeIntInRange(0, len(mimes) - 1)] if len(mimes) > 1 else mimes[0]
        payload = fdp.ConsumeBytes(fdp.remaining_bytes())
        source = Source(name="fuzz.bin", mime=mime, size=len(payload), data=payload)
        extraction, _label, status = extract_item(source)
        assert isinstance(status, Status)
        for child in extraction.children:
            assert isinstance(child.data, bytes)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
