"""Mutation tests: truncated, bit-flipped and spliced fixtures never break the accounting.

For every fixture family, hypothesis derives broken variants of the family's fixtures and runs
each through the whole per-item pipeline in-process (walker, detection, extraction,
attachments). Whatever the bytes, no exception escapes, exactly one top-level record comes
out, every parent id is known, every status is a declared one, and the input bytes are not
changed.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_fixtures.build import all_fixtures
from leaktriage import triage_file
from leaktriage.model import Status

FAMILIES = sorted(all_fixtures())


@cache
def _blobs(family: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, build()) for name, build in sorted(all_fixtures()[family].items()))


@st.composite
def _mutant(draw: st.DrawFn, family: str) -> tuple[str, bytes]:
    blobs = _blobs(family)
    name, data = blobs[draw(st.integers(0, len(blobs) - 1))]
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "zero"]))
    if not data:
        return name, data
    if kind == "truncate":
        return name, data[: draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 16))):
            at = draw(st.integers(0, len(mutable) - 1))
            mutable[at] ^= 1 << draw(st.integers(0, 7))
        return name, bytes(mutable)
    if kind == "zero":
        start = draw(st.integers(0, len(data) - 1))
        length = draw(st.integers(1, 4096))
        return name, data[:start] + bytes(min(length, len(data) - start)) + data[start + length :]
    _other_name, other = blobs[draw(st.integers(0, len(blobs) - 1))]
    cut = draw(st.integers(0, len(data)))
    cut_other = draw(st.integers(0, len(other)))
    return name, data[:cut] + other[cut_other:]


@pytest.mark.parametrize("family", FAMILIES)
def test_broken_variants_are_accounted_for(family: str) -> None:
    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_mutant(family))
    def check(mutant: tuple[str, bytes]) -> None:
        name, data = mutant
        before = hashlib.sha256(data).hexdigest()
        records = triage_file(
            data,
            name=name,
            workers=0,
            max_depth=3,
            ratio_grace_bytes=1 << 20,
            max_archive_bytes=64 << 20,
        )
        assert hashlib.sha256(data).hexdigest() == before
        assert records[0].parent_id is None and records[0].sha256 == before
        ids = {r.record_id for r in records}
        assert len(ids) == len(records)
        assert all(r.parent_id in ids for r in records[1:])
        assert all(isinstance(r.status, Status) for r in records)
        unexpected = [i for r in records for i in r.issues if i.code == "unexpected"]
        assert not unexpected, unexpected

    check()
