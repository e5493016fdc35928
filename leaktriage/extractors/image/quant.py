"""JPEG quantisation tables: parsed, turned into a quality, and matched to the encoder family.

Every JPEG encoder divides the picture's frequencies by a table of 64 steps before rounding;
the tables travel in the file's DQT segments. Encoders built on the IJG code (libjpeg and
libjpeg-turbo: Pillow, GIMP, ImageMagick, cjpeg, most web back ends) all scale the two
example tables of ITU-T T.81 Annex K by the same formula, so their tables at a quality are
byte-identical and name the family, never the program. mozjpeg scales other base tables,
Photoshop has its own fixed set per quality, and cameras write tables of their own; those
are catalogued, with their sources, in ``rules/data/jpeg_encoders.yaml``.

Quality is estimated as libjpeg would have set it: the quality 1-100 whose IJG tables are
exactly the file's (``image.jpeg_standard_tables`` true), else ImageMagick's estimate from the
table sums (``image.jpeg_quality_estimated`` true), which is only a rough "equivalent" quality.
Segment markers can name an editor the tables cannot: APP12 "Ducky" is Photoshop's Save for
Web, APP13 "Photoshop 3.0" together with APP14 "Adobe" on non-IJG tables is Photoshop's
Save As.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from leaktriage.extractors import Extraction
from leaktriage.extractors.image.encoders import (
    Catalogue,
    CatalogueError,
    EncoderEntry,
    load_catalogue,
)

MAX_DQT_TABLES = 32
"""Table definitions read per file; a real file has 2-4 (redefinitions included)."""

ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip
"""ZIGZAG[k] is the natural (row-major) position of the k-th coefficient in a DQT segment."""

IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
"""ITU-T T.81 Annex K table K.1 (natural order): libjpeg's luminance base table."""

IJG_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip
"""ITU-T T.81 Annex K table K.2 (natural order): libjpeg's chrominance base table."""

Table = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class QuantTable:
    """One quantisation table as defined by a DQT segment."""

    table_id: int
    """Destination 0-3 (0 is the luminance table in every common encoder, 1 chrominance)."""
    precision: int
    """8 or 16 bits per value."""
    values: Table
    """The 64 steps in natural (row-major) order."""


@dataclass(frozen=True, slots=True)
class QuantReport:
    """What the tables say about the encoder that wrote the file."""

    quality: int | None = None
    estimated: bool = False
    standard: bool = False
    family: str | None = None
    encoder: str | None = None
    basis: str | None = None


def parse_dqt(payloads: Iterable[bytes], result: Extraction) -> dict[int, QuantTable]:
    """The tables of DQT segment payloads by id (a later definition replaces an earlier one).

    A segment may hold several tables; each starts with a byte Pq<<4 | Tq (Pq 0: 8-bit
    values, 1: 16-bit; Tq the id 0-3) and its 64 values in zigzag order. A malformed
    or cut table becomes an issue on ``result`` and ends that segment, never an exception.
    """
    tables: dict[int, QuantTable] = {}
    count = 0
    for payload in payloads:
        pos = 0
        while pos < len(payload):
            if count >= MAX_DQT_TABLES:
                result.note("limit.dqt", f"more than {MAX_DQT_TABLES} JPEG quantisation tables")
                return tables
            precision, table_id = payload[pos] >> 4, payload[pos] & 0x0F
            if precision > 1 or table_id > 3:
                result.note(
                    "corrupt",
                    f"JPEG DQT table header 0x{payload[pos]:02X} invalid "
                    f"(precision {precision}, id {table_id})",
                )
                break
            width = 2 if precision else 1
            body = payload[pos + 1 : pos + 1 + 64 * width]
            if len(body) < 64 * width:
                result.note(
                    "corrupt", f"JPEG DQT table {table_id} cut short ({len(body)} of {64 * width})"
                )
                break
            if width == 2:
                zigzag = [int.from_bytes(body[i : i + 2], "big") for i in range(0, 128, 2)]
            else:
                zigzag = list(body)
            natural = [0] * 64
            for k, value in enumerate(zigzag):
                natural[ZIGZAG[k]] = value
            tables[table_id] = QuantTable(table_id, 8 * width, tuple(natural))
            count += 1
            pos += 1 + 64 * width
    return tables


def ijg_scale(quality: int) -> int:
    """libjpeg's jpeg_quality_scaling: the percentage the Annex K tables are scaled by."""
    quality = min(max(quality, 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def scaled_table(base: Sequence[int], quality: int, baseline: bool = True) -> Table:
    """libjpeg's jpeg_add_quant_table: ``base`` scaled for ``quality``, clamped to 1..255
    (``baseline``, every common encoder's default) or 1..32767."""
    scale = ijg_scale(quality)
    top = 255 if baseline else 32767
    return tuple(min(max((value * scale + 50) // 100, 1), top) for value in base)


@lru_cache(maxsize=16)
def _qualities_of(base: Table, baseline: bool) -> dict[Table, tuple[int, ...]]:
    """Every table ``base`` scales to, with the qualities that give it (computed once per
    base table: a dump has thousands of JPEGs, the catalogue a handful of scaled bases)."""
    found: dict[Table, list[int]] = {}
    for quality in range(1, 101):
        found.setdefault(scaled_table(base, quality, baseline), []).append(quality)
    return {table: tuple(qualities) for table, qualities in found.items()}


def _scaled_quality(
    tables: dict[int, QuantTable], luminance: Table, chrominance: Table | None
) -> int | None:
    """The lowest quality 1-100 at which ``luminance``/``chrominance`` scaled by the IJG
    formula give exactly tables 0 and 1 (table 1 only when the file has it), or None."""
    first = tables.get(0)
    if first is None:
        return None
    second = tables.get(1)
    baseline = all(t.precision == 8 for t in tables.values())
    candidates = _qualities_of(luminance, baseline).get(first.values, ())
    if second is None or chrominance is None:
        return candidates[0] if candidates else None
    matching = _qualities_of(chrominance, baseline).get(second.values, ())
    return next((quality for quality in candidates if quality in matching), None)


def _im_reference(single: bool) -> tuple[list[int], list[int]]:
    """ImageMagick's ``hash``/``sums`` reference columns: for each quality 1..100 the probe
    sum and the table sum of the IJG tables at that quality (they are these numbers)."""
    hashes: list[int] = []
    sums: list[int] = []
    for quality in range(1, 101):
        lum = scaled_table(IJG_LUMINANCE, quality)
        chrom = scaled_table(IJG_CHROMINANCE, quality)
        if single:
            hashes.append(lum[2] + lum[53])
            sums.append(sum(lum))
        else:
            hashes.append(lum[2] + lum[53] + chrom[0] + chrom[63])
            sums.append(sum(lum) + sum(chrom))
    return hashes, sums


_IM_TWO = _im_reference(single=False)
_IM_ONE = _im_reference(single=True)


def imagemagick_quality(tables: dict[int, QuantTable]) -> int | None:
    """ImageMagick's estimate (coders/jpeg.c, JPEGSetImageQuality) for any tables.

    It compares a probe (four or two table entries) and the sum of every table with the same
    numbers for the IJG tables at each quality, from the worst: the first quality whose
    reference is not above both gives the estimate.
    """
    first = tables.get(0)
    if first is None:
        return None
    total = sum(sum(t.values) for t in tables.values())
    second = tables.get(1)
    if second is not None:
        probe = first.values[2] + first.values[53] + second.values[0] + second.values[63]
        hashes, sums = _IM_TWO
    else:
        probe = first.values[2] + first.values[53]
        hashes, sums = _IM_ONE
    for index in range(100):
        if probe < hashes[index] and total < sums[index]:
            continue
        if (probe <= hashes[index] and total <= sums[index]) or index >= 50:
            return index + 1
        return None
    return None


_ADOBE_MARKS = frozenset({"APP13 Photoshop 3.0", "APP14 Adobe"})
"""Photoshop's image resources and Adobe's colour-transform segment: together, on tables
that are not libjpeg's, they are Adobe's own encoder (Photoshop, Lightroom, Camera Raw).
Either alone is not: libjpeg writes APP14 Adobe for CMYK, and IPTC tools write APP13."""


def _match_catalogue(
    tables: dict[int, QuantTable], catalogue: Catalogue
) -> tuple[EncoderEntry, int | None] | None:
    """The first catalogue entry whose tables are the file's, with the quality of a scaled
    entry (None for exact tables)."""
    second = tables.get(1)
    for entry in catalogue.entries:
        if entry.scaled:
            found = _scaled_quality(tables, entry.luminance, entry.chrominance)
            if found is not None:
                return entry, found
            continue
        if tables[0].values != entry.luminance:
            continue
        if entry.chrominance is None or second is None or second.values == entry.chrominance:
            return entry, None
    return None


def _by_markers(segments: Sequence[str]) -> tuple[str, str] | None:
    """An Adobe editor named by its segments alone (on non-IJG tables), and why."""
    labels = set(segments)
    if "APP12 Ducky" in labels:
        return "Adobe Photoshop (Save for Web)", "marker APP12 Ducky (Photoshop Save for Web)"
    if labels >= _ADOBE_MARKS:
        return "Adobe Photoshop", "markers APP13 Photoshop 3.0 and APP14 Adobe"
    return None


def identify(
    payloads: Sequence[bytes],
    segments: Sequence[str],
    result: Extraction,
    catalogue: Catalogue | None = None,
) -> QuantReport:
    """Quality and encoder family of a JPEG from its DQT payloads and segment labels.

    Args:
        payloads: the DQT segment payloads before the first scan, in file order.
        segments: the walker's APPn/COM labels in order ("APP1 Exif", "APP14 Adobe").
        result: where malformed tables and an unreadable catalogue become issues.
        catalogue: the encoder catalogue (default: the bundled one).
    """
    tables = parse_dqt(payloads, result)
    if 0 not in tables:
        if payloads:
            result.note("corrupt", "JPEG has quantisation tables but no table 0")
        return QuantReport()
    quality = _scaled_quality(tables, IJG_LUMINANCE, IJG_CHROMINANCE)
    if quality is not None:
        standard = f"IJG standard tables at quality {quality}"
        return QuantReport(quality, False, True, "libjpeg", None, standard)
    if catalogue is None:
        try:
            catalogue = load_catalogue()
        except CatalogueError as exc:
            result.note("jpeg_catalogue", f"JPEG encoder catalogue not loaded: {exc}")
            catalogue = Catalogue(())
    quality = imagemagick_quality(tables)
    estimated = quality is not None
    family: str | None = None
    encoder: str | None = None
    basis: str | None = None
    match = _match_catalogue(tables, catalogue)
    if match is not None:
        entry, scaled_at = match
        family, encoder = entry.family, entry.encoder
        basis = f"tables of {entry.name}"
        if scaled_at is not None:
            quality, estimated = scaled_at, False
            basis = f"tables of {entry.name} at quality {scaled_at}"
        elif entry.quality is not None:
            basis = f"tables of {entry.name} (its own quality setting {entry.quality})"
    marked = _by_markers(segments)
    if marked is not None and family in (None, "photoshop"):
        family, why = "photoshop", marked[1]
        encoder = marked[0] if encoder is None else encoder
        basis = why if basis is None else f"{basis}; {why}"
    return QuantReport(quality, estimated, False, family, encoder, basis)


def put_facts(report: QuantReport, result: Extraction) -> None:
    """Write the report's facts (absent values are left out)."""
    if report.quality is None:
        return
    result.put("image.jpeg_quality", report.quality)
    result.put("image.jpeg_quality_estimated", report.estimated)
    result.put("image.jpeg_standard_tables", report.standard)
    result.put("image.jpeg_encoder_family", report.family)
    result.put("image.jpeg_encoder", report.encoder)
    result.put("image.jpeg_encoder_basis", report.basis)
