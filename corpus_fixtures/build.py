"""Write the fixtures and the sample leak to a folder."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from corpus_fixtures import builders
from corpus_fixtures.builders.archive import gzip_bytes, tar_gz_bytes, zip_bytes
from corpus_fixtures.planted import PLANTED_FILES, labels_csv

Builder = Callable[[], bytes]

PLANTED_ONLY = frozenset({"pdf_signed"})
"""Fixture families the sample leak takes only through :mod:`corpus_fixtures.planted`,
labeled, instead of every family's loose, tar.gz and gzip copies."""


def builder_modules() -> list[ModuleType]:
    """Every module in ``corpus_fixtures.builders``, sorted by name."""
    return [
        importlib.import_module(f"{builders.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(builders.__path__), key=lambda m: m.name)
        if not info.name.startswith("_")
    ]


def all_fixtures() -> dict[str, dict[str, Builder]]:
    """``{family: {file name: builder}}`` over every builder module."""
    found: dict[str, dict[str, Builder]] = {}
    for module in builder_modules():
        fixtures = getattr(module, "FIXTURES", None)
        if fixtures:
            found[module.__name__.rsplit(".", 1)[-1]] = dict(fixtures)
    return found


def build_fixtures(out: Path) -> dict[str, Path]:
    """Write every fixture to ``out/<family>/<name>``; returns ``{"family/name": path}``."""
    written: dict[str, Path] = {}
    for family, fixtures in all_fixtures().items():
        folder = out / family
        folder.mkdir(parents=True, exist_ok=True)
        for name, build in sorted(fixtures.items()):
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(build())
            written[f"{family}/{name}"] = target
    return written


def build_sample_leak(out: Path) -> dict[str, Path]:
    """A small leak laid out the way dumps arrive: loose files, mail, nested archives.

    Loose documents by family under ``documents/``, ``photos/`` and ``mail/``; the same
    families again inside ``archives/campagne_2017.zip``, where documents sit in a tar.gz
    (zip > tar.gz > file) and PDFs in gzip streams; plus the archive fixtures themselves and
    the planted forgeries and decoys of :mod:`corpus_fixtures.planted`. Their labels go to
    ``<out>.labels.csv`` beside the dump (not inside it, so they are not scanned), in the
    form ``leaktriage eval`` reads.
    """
    fixtures = all_fixtures()
    placement = {
        "image": "photos",
        "image_tables": "photos",
        "email": "mail",
        "dkim": "mail",
        "archive": "archives",
    }
    written: dict[str, Path] = {}
    nested: list[tuple[str, bytes]] = []
    for family, items in fixtures.items():
        if family in PLANTED_ONLY:
            continue
        folder = out / placement.get(family, f"documents/{family}")
        folder.mkdir(parents=True, exist_ok=True)
        for name, build in sorted(items.items()):
            data = build()
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written[str(target.relative_to(out))] = target
            if family != "archive":
                nested.append((f"{family}/{name}", data))
    inner = tar_gz_bytes([(f"finances/{name}", data) for name, data in nested])
    gz_members = [
        (f"{name}.gz", gzip_bytes(data)) for name, data in nested if name.endswith(".pdf")
    ]
    bundle = zip_bytes([("campagne/dossier.tar.gz", inner), *gz_members])
    target = out / "archives" / "campagne_2017.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bundle)
    written[str(target.relative_to(out))] = target
    for relative, build_planted in sorted(PLANTED_FILES.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(build_planted())
        written[relative] = target
    labels_path(out).write_text(labels_csv(), encoding="utf-8")
    return written


def labels_path(out: Path) -> Path:
    """Where the labels of a sample leak written to ``out`` go: ``<out>.labels.csv``."""
    return out.with_name(out.name + ".labels.csv")
