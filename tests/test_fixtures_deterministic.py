"""Two builds of the fixtures are byte-identical (except those that say why they cannot be)."""

from __future__ import annotations

import hashlib

from corpus_fixtures.build import all_fixtures, builder_modules


def test_two_builds_are_identical() -> None:
    exempt = {
        name
        for module in builder_modules()
        for name in getattr(module, "NONDETERMINISTIC", frozenset())
    }
    first = {
        (family, name): hashlib.sha256(build()).hexdigest()
        for family, items in all_fixtures().items()
        for name, build in items.items()
    }
    second = {
        (family, name): hashlib.sha256(build()).hexdigest()
        for family, items in all_fixtures().items()
        for name, build in items.items()
    }
    differing = sorted(key for key in first if first[key] != second[key] and key[1] not in exempt)
    assert differing == []
    assert len(first) > 50
