"""Coverage-guided fuzzing of the walker and the whole per-item pipeline with atheris.

    pip install atheris
    python fuzz/fuzz_walk.py -max_total_time=3600 -max_len=500000 fuzz/corpus/walk

Each input is treated as one file arriving in a dump (archives are opened, members and
attachments go back through detection and extraction, in-process). It fails only if an
exception escapes, or if the records do not account for the item: exactly one top-level
record, every parent id known, every status declared.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from leaktriage import triage_file
    from leaktriage.extractors import discover
    from leaktriage.model import Status

    discover()  # import every extractor inside the block, so they are instrumented too


def one_input(data: bytes) -> None:
    """Triage the bytes in-process with small limits and check the accounting."""
    records = triage_file(
        data,
        name="input.bin",
        workers=0,
        max_depth=3,
        ratio_grace_bytes=1 << 20,
        max_archive_bytes=64 << 20,
    )
    ids = {r.record_id for r in records}
    assert len(ids) == len(records)
    assert sum(1 for r in records if r.parent_id is None) == 1
    assert all(r.parent_id in ids for r in records if r.parent_id)
    assert all(isinstance(r.status, Status) for r in records)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
