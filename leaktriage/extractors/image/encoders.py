"""The catalogue of JPEG encoders' quantisation tables (``rules/data/jpeg_encoders.yaml``).

Each entry names an encoder family (and an editor only where its tables are its own), the
tables in natural order, and where they were measured: a real file's sha256 or the tool and
version that produced them. ``scaled`` entries give base tables that the encoder scales by
the IJG quality formula (mozjpeg); the others are exact tables (a camera, Photoshop at one
quality). The file is validated on load and kept for the life of the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FAMILIES = frozenset({"libjpeg", "mozjpeg", "photoshop", "camera", "phone", "app"})
"""Encoder families an entry may name."""
MAX_STEP = 32767
"""Largest quantisation step a 16-bit table may hold in libjpeg."""


class CatalogueError(ValueError):
    """The catalogue file is missing or malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class EncoderEntry:
    """One catalogued table set."""

    name: str
    family: str
    encoder: str | None
    """The program or maker, only where these tables are unique to it."""
    scaled: bool
    """The tables are base tables the encoder scales by the IJG quality formula."""
    luminance: tuple[int, ...]
    chrominance: tuple[int, ...] | None
    quality: int | None
    """The encoder's own quality setting for exact tables (Photoshop 0-12), if known."""
    source: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The validated entries, in file order (the first match wins)."""

    entries: tuple[EncoderEntry, ...]


def catalogue_path() -> Path:
    """The bundled catalogue, in the bundled rules' ``data`` folder (inside the wheel or the
    checkout's ``rules/``)."""
    from leaktriage.rules.loader import bundled_rules_dir

    return bundled_rules_dir() / "data" / "jpeg_encoders.yaml"


def _table(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != 64:
        raise CatalogueError(f"{where}: a table is a list of 64 numbers in natural order")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CatalogueError(f"{where}: table values must be whole numbers")
    if not all(1 <= v <= MAX_STEP for v in value):
        raise CatalogueError(f"{where}: table values must lie in 1..{MAX_STEP}")
    return tuple(value)


def _entry(name: str, data: Any) -> EncoderEntry:
    where = f"entry {name!r}"
    if not isinstance(data, dict):
        raise CatalogueError(f"{where}: must be a mapping")
    unknown = set(data) - {
        "family",
        "encoder",
        "scaled",
        "luminance",
        "chrominance",
        "quality",
        "source",
        "seen_in",
    }
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    family = data.get("family")
    if family not in FAMILIES:
        raise CatalogueError(f"{where}: family must be one of {sorted(FAMILIES)}")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CatalogueError(f"{where}: every entry needs a 'source'")
    encoder = data.get("encoder")
    if encoder is not None and not isinstance(encoder, str):
        raise CatalogueError(f"{where}: 'encoder' must be text")
    quality = data.get("quality")
    if quality is not None and (not isinstance(quality, int) or isinstance(quality, bool)):
        raise CatalogueError(f"{where}: 'quality' must be a whole number")
    scaled = data.get("scaled", False)
    if not isinstance(scaled, bool):
        raise CatalogueError(f"{where}: 'scaled' must be true or false")
    chrominance = data.get("chrominance")
    return EncoderEntry(
        name=name,
        family=str(family),
        encoder=encoder,
        scaled=scaled,
        luminance=_table(data.get("luminance"), f"{where} luminance"),
        chrominance=None if chrominance is None else _table(chrominance, f"{where} chrominance"),
        quality=quality,
        source=source.strip(),
    )


def parse_catalogue(text: str) -> Catalogue:
    """Validate a catalogue's YAML text; raise CatalogueError naming the first problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"not YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise CatalogueError("needs 'description', 'source' and an 'entries' mapping")
    if not isinstance(data.get("source"), str):
        raise CatalogueError("needs a 'source' text")
    return Catalogue(tuple(_entry(str(k), v) for k, v in data["entries"].items()))


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The bundled catalogue, read and validated once per process."""
    try:
        text = catalogue_path().read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read {catalogue_path()}: {exc}") from exc
    return parse_catalogue(text)
