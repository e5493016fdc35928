"""Whole-scan fuzzing: hypothesis plans hostile dumps, the scan must account for every item.

Each profile (see :data:`tests.fuzzdump.PROFILES`) is a bounded hypothesis run, fixed seed,
over dumps of folders, documents with hostile metadata, mutants, nested archives and bombs
(:mod:`tests.fuzzdump`), each scanned in-process and a few through the CLI, and checked by
:mod:`tests.fuzzcheck`: no crash, one record per item, the same count and well-formed data
in ``files.jsonl``, ``files.csv``, ``triage.sqlite`` and ``report.html``.

A violation whose code is in :data:`tests.fuzzcheck.KNOWN` (a finding listed in
``fuzz/README.md``, not fixed yet) is counted and the run goes on, so that one known crash
does not hide the rest of the profile; the test fails at its end, naming the findings, until
they are fixed. Any other violation fails at once, and hypothesis shrinks the dump.

The long run, with the same strategies and checks: ``fuzz/fuzz_scan.py``.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.fuzzcheck import address_space_limit, check_dump, finding, known, warm_up
from tests.fuzzdump import BIG_BOMB, PROFILES, Dump, dumps, write_dump

EXAMPLES = {
    "names": 100,
    "archives": 100,
    "metadata": 100,
    "broken": 100,
    "bombs": 40,
    "mixed": 100,
}
"""Dumps per profile, 540 in all: about a minute and a half on two cores with every dump
scanned whole (a failing one costs minutes more: hypothesis shrinks it). The long run
(``fuzz/fuzz_scan.py``) draws thousands."""
SEEDS = {profile: 1000 + number for number, profile in enumerate(PROFILES)}
"""Fixed seeds: CI runs the same dumps every time."""
CLI_EVERY = 60
"""Every 60th dump of a profile (the first included) is scanned through the CLI instead."""


@pytest.mark.parametrize("profile", PROFILES)
def test_scan_accounts_for_every_item(profile: str) -> None:
    hits: Counter[str] = Counter()
    first: dict[str, str] = {}
    seen = [0]

    # A seed of the profile's own, not derandomize: the inner test is the same function for
    # every profile, and derandomized runs then depend on which profiles ran before.
    @seed(SEEDS[profile])
    @settings(
        max_examples=EXAMPLES[profile],
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
    @given(dumps(profile, big_bombs=profile == "bombs"))
    def check(dump: Dump) -> None:
        cli = seen[0] % CLI_EVERY == 0
        seen[0] += 1
        with tempfile.TemporaryDirectory(prefix="fuzz-scan-") as tmp:
            root = write_dump(dump, Path(tmp) / "in")
            result = check_dump(dump, root, Path(tmp) / "out", cli=cli)
        old, new = known(result.violations)
        for violation in old:
            first.setdefault(violation.code, f"{violation}\n{dump.describe()}"[:3000])
        hits.update({violation.code for violation in old})
        assert not new, (
            f"via {'the CLI' if cli else 'run_scan'}:\n"
            + "\n".join(map(str, new))
            + f"\n{result.cause}\n{result.trace}\n{dump.describe()}"
        )

    if profile == "bombs":
        # The big bzip2 bomb (BIG_BOMB bytes from 800) must not take the machine's memory:
        # past this cap (set once every library is loaded) an unbounded decompression fails
        # with MemoryError instead.
        warm_up()
        with address_space_limit(BIG_BOMB + (256 << 20)):
            check()
    else:
        check()
    assert not hits, "known findings (fuzz/README.md) still occur:\n" + "\n\n".join(
        f"{finding(code)} [{code}] in {count} dumps; first:\n{first[code]}"
        for code, count in hits.most_common()
    )
