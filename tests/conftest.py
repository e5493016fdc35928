"""Shared fixtures: the generated corpus and sample leak, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_fixtures.build import build_fixtures, build_sample_leak


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture of every builder, under ``<family>/<name>``."""
    out = tmp_path_factory.mktemp("fixtures")
    build_fixtures(out)
    return out


@pytest.fixture(scope="session")
def sample_leak(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample leak, as ``python -m corpus_fixtures sample`` writes it."""
    out = tmp_path_factory.mktemp("leak") / "sample_leak"
    build_sample_leak(out)
    return out
