"""JPEG quantisation tables: parsing, quality, the encoder catalogue and the planted re-saves."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from corpus_fixtures.builders import image_tables
from leaktriage import detect
from leaktriage.extractors import Extraction, Source
from leaktriage.extractors.image import quant
from leaktriage.extractors.image.encoders import (
    CatalogueError,
    load_catalogue,
    parse_catalogue,
)
from leaktriage.extractors.image.jpeg import extract, walk
from leaktriage.extractors.image.thumbnail import aspect_differs


def _facts(data: bytes) -> dict[str, object]:
    source = Source(name="photo.jpg", mime=detect.sniff(data), size=len(data), data=data)
    return dict(extract(source).fields)


def _dqt_payload(table_id: int, natural: list[int], sixteen: bool = False) -> bytes:
    """A DQT table as a file holds it: Pq/Tq byte, then the values in zigzag order."""
    zigzag = [natural[quant.ZIGZAG[k]] for k in range(64)]
    head = bytes([(1 << 4 if sixteen else 0) | table_id])
    if sixteen:
        return head + b"".join(struct.pack(">H", v) for v in zigzag)
    return head + bytes(zigzag)


def _pillow(quality: int, grey: bool = False) -> bytes:
    picture = Image.new("L" if grey else "RGB", (48, 32), 90 if grey else (120, 60, 200))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_dqt_parsed_into_natural_order() -> None:
    natural = list(range(1, 65))
    result = Extraction()
    tables = quant.parse_dqt([_dqt_payload(0, natural) + _dqt_payload(3, natural[::-1])], result)
    assert sorted(tables) == [0, 3]
    assert tables[0].values == tuple(range(1, 65))
    assert tables[0].precision == 8
    assert tables[3].values == tuple(range(64, 0, -1))
    assert result.issues == []


def test_sixteen_bit_tables() -> None:
    natural = [300 + i for i in range(64)]
    result = Extraction()
    tables = quant.parse_dqt([_dqt_payload(1, natural, sixteen=True)], result)
    assert tables[1].precision == 16
    assert tables[1].values == tuple(natural)
    assert result.issues == []


def test_truncated_dqt_is_a_note_not_an_exception() -> None:
    result = Extraction()
    payload = _dqt_payload(0, list(range(1, 65)))[:40]
    tables = quant.parse_dqt([payload], result)
    assert tables == {}
    assert [(i.code, i.message) for i in result.issues] == [
        ("corrupt", "JPEG DQT table 0 cut short (39 of 64)")
    ]
    report = quant.identify([payload], [], Extraction())
    assert report == quant.QuantReport()


def test_bad_table_header_is_a_note() -> None:
    result = Extraction()
    assert quant.parse_dqt([bytes([0x25]) + bytes(64)], result) == {}
    assert result.issues[0].message == "JPEG DQT table header 0x25 invalid (precision 2, id 5)"


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_pillow_quality_is_exact_with_standard_tables(quality: int) -> None:
    facts = _facts(_pillow(quality))
    assert facts["image.jpeg_quality"] == quality
    assert facts["image.jpeg_standard_tables"] is True
    assert facts["image.jpeg_quality_estimated"] is False
    assert facts["image.jpeg_encoder_family"] == "libjpeg"
    assert "image.jpeg_encoder" not in facts
    assert facts["image.jpeg_encoder_basis"] == f"IJG standard tables at quality {quality}"


def test_greyscale_single_table() -> None:
    facts = _facts(_pillow(60, grey=True))
    assert facts["image.jpeg_quality"] == 60
    assert facts["image.jpeg_standard_tables"] is True


def test_scaled_table_matches_libjpeg() -> None:
    assert quant.scaled_table(quant.IJG_LUMINANCE, 50) == quant.IJG_LUMINANCE
    assert quant.scaled_table(quant.IJG_LUMINANCE, 100) == (1,) * 64
    assert quant.scaled_table(quant.IJG_LUMINANCE, 1)[0] == 255
    assert quant.scaled_table(quant.IJG_LUMINANCE, 1, baseline=False)[0] == 800


def test_imagemagick_estimate_for_foreign_tables() -> None:
    # IJG tables at quality 80 with one step changed: not standard, estimated near 80.
    luminance = list(quant.scaled_table(quant.IJG_LUMINANCE, 80))
    luminance[63] += 1
    chrominance = list(quant.scaled_table(quant.IJG_CHROMINANCE, 80))
    payloads = [_dqt_payload(0, luminance), _dqt_payload(1, chrominance)]
    report = quant.identify(payloads, [], Extraction())
    assert (report.quality, report.estimated, report.standard) == (80, True, False)
    assert report.family is None


def test_catalogue_loads_and_every_entry_has_a_source() -> None:
    catalogue = load_catalogue()
    names = [entry.name for entry in catalogue.entries]
    assert names[:2] == ["ijg", "mozjpeg"]
    assert {"sony-ilce-6000", "adobe-photoshop-cc2017", "adobe-save-for-web-a"} <= set(names)
    assert all(len(entry.source) > 20 for entry in catalogue.entries)
    assert all("sha256" in entry.source for entry in catalogue.entries if not entry.scaled)
    ijg = catalogue.entries[0]
    assert (ijg.luminance, ijg.chrominance) == (quant.IJG_LUMINANCE, quant.IJG_CHROMINANCE)
    families = {entry.family for entry in catalogue.entries}
    assert families == {"libjpeg", "mozjpeg", "photoshop", "camera", "phone"}


def test_no_exact_entry_is_an_ijg_table() -> None:
    """An exact entry equal to IJG tables at some quality would never be reached."""
    ijg = {quant.scaled_table(quant.IJG_LUMINANCE, q) for q in range(1, 101)}
    exact = [e for e in load_catalogue().entries if not e.scaled]
    assert exact and not [e.name for e in exact if e.luminance in ijg]


def test_bad_catalogue_is_refused() -> None:
    with pytest.raises(CatalogueError, match="every entry needs a 'source'"):
        parse_catalogue(
            "source: x\nentries:\n  a: {family: camera, luminance: [" + "1, " * 63 + "1]}\n"
        )
    with pytest.raises(CatalogueError, match="list of 64 numbers"):
        parse_catalogue("source: x\nentries:\n  a: {family: camera, source: y, luminance: [1]}\n")
    with pytest.raises(CatalogueError, match="family must be one of"):
        parse_catalogue("source: x\nentries:\n  a: {family: gimp, source: y}\n")


def test_mozjpeg_scaled_tables() -> None:
    moz = next(e for e in load_catalogue().entries if e.name == "mozjpeg")
    tables = [quant.scaled_table(moz.luminance, 80), quant.scaled_table(moz.luminance, 80)]
    payloads = [_dqt_payload(0, list(tables[0])) + _dqt_payload(1, list(tables[1]))]
    report = quant.identify(payloads, ["APP0 JFIF"], Extraction())
    assert (report.quality, report.estimated, report.family, report.encoder) == (
        80,
        False,
        "mozjpeg",
        "mozjpeg",
    )


def test_ducky_names_save_for_web_on_foreign_tables() -> None:
    luminance = [7 + (i % 5) for i in range(64)]
    report = quant.identify([_dqt_payload(0, luminance)], ["APP12 Ducky"], Extraction())
    assert (report.family, report.encoder) == ("photoshop", "Adobe Photoshop (Save for Web)")
    assert report.basis == "marker APP12 Ducky (Photoshop Save for Web)"


def test_planted_camera_original() -> None:
    facts = _facts(image_tables.photo_camera_tables())
    assert facts["image.jpeg_encoder_family"] == "camera"
    assert facts["image.jpeg_encoder_basis"] == "tables of sony-ilce-6000"
    assert facts["image.jpeg_standard_tables"] is False
    assert facts["image.jpeg_quality_estimated"] is True
    assert facts["image.has_makernote"] is True
    assert facts["image.jpeg_first_segment"] == "APP1 Exif"
    assert "image.jpeg_encoder" not in facts


def test_planted_pillow_resave() -> None:
    facts = _facts(image_tables.photo_resaved_pillow())
    assert facts["image.make"] == "Nordvik"
    assert facts["image.has_makernote"] is True
    assert facts["image.jpeg_quality"] == 85
    assert facts["image.jpeg_standard_tables"] is True
    assert facts["image.jpeg_encoder_family"] == "libjpeg"
    assert facts["image.jpeg_first_segment"] == "APP0 JFIF"


def test_planted_photoshop_resave() -> None:
    facts = _facts(image_tables.photo_resaved_photoshop())
    assert facts["image.jpeg_encoder_family"] == "photoshop"
    assert facts["image.jpeg_encoder"] == "Adobe Photoshop"
    assert facts["image.jpeg_encoder_basis"] == (
        "tables of adobe-photoshop-cc2017; markers APP13 Photoshop 3.0 and APP14 Adobe"
    )
    assert facts["image.jpeg_segments"] == ("APP1 Exif", "APP13 Photoshop 3.0", "APP14 Adobe")


def test_makernote_absent_and_thumbnail_size() -> None:
    facts = _facts(image_tables.photo_resaved_pillow())
    assert (facts["image.thumbnail_width"], facts["image.thumbnail_height"]) == (160, 120)
    assert facts["image.thumbnail_aspect_differs"] is False
    from corpus_fixtures.builders import image

    camera = _facts(image.photo_camera())
    assert camera["image.has_makernote"] is False


@pytest.mark.parametrize(
    ("size", "thumb", "differs"),
    [
        ((640, 480), (160, 120), False),
        ((4208, 3120), (320, 240), False),  # phone: 1.2 % apart, rounding
        ((6000, 4000), (160, 120), False),  # 3:2 letterboxed into 4:3
        ((6000, 4000), (160, 107), False),
        ((800, 800), (160, 120), True),  # cropped square, camera thumbnail kept
        ((3000, 4000), (160, 120), True),  # rotated pixels, landscape thumbnail
    ],
)
def test_thumbnail_aspect(size: tuple[int, int], thumb: tuple[int, int], differs: bool) -> None:
    assert aspect_differs(*size, *thumb) is differs


def test_walker_feeds_the_tables() -> None:
    data = _pillow(75)
    parts = walk(data, Extraction())
    assert len(parts.quant_tables) == 2  # Pillow writes one DQT segment per table
