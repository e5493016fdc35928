"""Image extractor: planted EXIF/XMP/PNG values come back exactly; hostile files stay contained."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import leaktriage
from corpus_fixtures import PEOPLE
from corpus_fixtures.builders import image as fixtures
from leaktriage import detect
from leaktriage.errors import CorruptFileError, ExtractionError
from leaktriage.extractors import Extraction, Source, for_mime
from leaktriage.extractors.image import iptc
from leaktriage.extractors.image.thumbnail import THUMBNAIL_MATCH_DISTANCE
from leaktriage.model import FileRecord, Status

TAKEN_UTC = datetime(2017, 3, 12, 13, 5, 9, 420000, tzinfo=UTC)
"""DateTimeOriginal 14:05:09 at +01:00 with SubSecTimeOriginal 42."""
LATITUDE = 48 + 51 / 60 + 29.64 / 3600
LONGITUDE = 2 + 17 / 60 + 40.2 / 3600


def _build(name: str) -> bytes:
    return fixtures.FIXTURES[name]()


def extract(source: Source) -> Extraction:
    """Run the image extractor registered for the source's type (one per format)."""
    extractor = for_mime(source.mime)
    assert extractor is not None and extractor.family == "image", source.mime
    return extractor.function(source)


def _extract(name: str, data: bytes | None = None) -> Extraction:
    data = _build(name) if data is None else data
    return extract(Source(name=name, mime=detect.sniff(data), size=len(data), data=data))


def _triage(name: str) -> FileRecord:
    records = leaktriage.triage_file(_build(name), name=name)
    assert len(records) == 1
    return records[0]


def test_fixtures_are_deterministic_and_sniffed_as_images() -> None:
    expected = {
        "photo_camera.jpg": "image/jpeg",
        "photo_edited.jpg": "image/jpeg",
        "photo_xmp_history.jpg": "image/jpeg",
        "photo_shared.webp": "image/webp",
        "photo_phone.heic": "image/heic",
        "scan.tiff": "image/tiff",
        "diagram.png": "image/png",
        "corrupt.jpg": "image/jpeg",
        "photo_truncated.jpg": "image/jpeg",
        "exif_ifd_bomb.jpg": "image/jpeg",
    }
    assert set(fixtures.FIXTURES) == set(expected)
    for name, mime in expected.items():
        data = _build(name)
        assert data == _build(name), name
        assert detect.sniff(data) == mime, name


def test_each_format_is_registered_on_its_own_and_records_say_image() -> None:
    formats = {
        "image/jpeg": "image.jpeg",
        "image/png": "image.png",
        "image/webp": "image.webp",
        "image/tiff": "image.tiff",
        "image/heic": "image.heif",
        "image/heif": "image.heif",
        "image/avif": "image.heif",
    }
    for mime, name in formats.items():
        extractor = for_mime(mime)
        assert extractor is not None and extractor.name == name, mime
        assert extractor.label == "image@1", mime


def test_camera_photo_through_the_pipeline() -> None:
    record = _triage("photo_camera.jpg")
    assert record.status is Status.OK
    assert record.extractor == "image@1"
    f = record.fields
    assert f["image.make"] == "Nordvik"
    assert f["image.model"] == "Nordvik K-20"
    assert f["image.software"] == "K-20 Firmware 1.02"
    assert f["doc.application"] == "K-20 Firmware 1.02"
    assert f["image.serial"] == "NK20-004217"
    assert f["doc.author"] == PEOPLE[2]
    assert f["image.datetime_original"] == TAKEN_UTC
    assert f["image.datetime_digitized"] == TAKEN_UTC
    assert f["image.datetime"] == datetime(2017, 3, 12, 13, 5, 9, tzinfo=UTC)
    assert f["image.offset_time"] == "+01:00"
    assert f["doc.created"] == TAKEN_UTC
    assert f["doc.created_offset"] == "+01:00"
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == datetime(2017, 3, 12, 13, 5, 9, tzinfo=UTC)
    assert f["image.gps_lat"] == pytest.approx(LATITUDE, abs=1e-6)
    assert f["image.gps_lon"] == pytest.approx(LONGITUDE, abs=1e-6)
    assert f["image.gps_datetime"] == datetime(2017, 3, 12, 13, 5, 9, tzinfo=UTC)
    assert (f["image.width"], f["image.height"]) == (640, 480)
    assert f["image.has_thumbnail"] is True
    assert f["image.thumbnail_matches"] is True
    assert isinstance(f["image.thumbnail_distance"], int)
    assert f["image.thumbnail_distance"] <= 4
    assert f["image.jpeg_segments"] == ("APP1 Exif",)
    assert record.raw["IFD0:Make"] == "Nordvik"
    assert record.raw["ExifIFD:SubSecTimeOriginal"] == "42"
    assert record.raw["GPS:GPSLatitude"] == "48, 51, 741/25"
    assert "meta.scripts" in f


def test_edited_photo_thumbnail_shows_another_picture() -> None:
    f = _extract("photo_edited.jpg").fields
    assert f["image.has_thumbnail"] is True
    assert f["image.thumbnail_matches"] is False
    assert isinstance(f["image.thumbnail_distance"], int)
    assert f["image.thumbnail_distance"] > THUMBNAIL_MATCH_DISTANCE
    # The rest of the camera's EXIF survived the edit unchanged.
    assert f["image.datetime_original"] == TAKEN_UTC


def test_an_image_past_the_pixel_limit_is_not_decoded_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _build("photo_edited.jpg")
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", width * height - 1)
    result = _extract("photo_edited.jpg", data)
    assert "image.thumbnail_matches" not in result.fields
    assert [(i.code, i.message) for i in result.issues if i.code == "limit.decode_pixels"] == [
        (
            "limit.decode_pixels",
            f"main image of {width}x{height} pixels not decoded "
            f"(over Pillow's MAX_IMAGE_PIXELS {width * height - 1})",
        )
    ]


def test_xmp_history_of_an_editor() -> None:
    result = _extract("photo_xmp_history.jpg")
    f = result.fields
    assert result.status is Status.OK
    assert f["image.xmp_history"] == (
        "created|2017-03-12T14:05:09+01:00|Adobe Photoshop CC 2017 (Windows)",
        "saved|2017-03-13T10:11:02+01:00|Adobe Photoshop CC 2017 (Windows)",
        "converted||",
        "saved|2017-03-13T10:12:44+01:00|Adobe Photoshop CC 2017 (Windows)",
    )
    assert f["image.xmp_creator_tool"] == fixtures.EDITOR
    assert f["image.software"] == fixtures.EDITOR
    assert f["image.xmp_document_id"] == fixtures.XMP_DOCUMENT_ID
    assert f["image.xmp_original_document_id"] == fixtures.XMP_ORIGINAL_ID
    assert f["image.xmp_ancestors"] == (fixtures.XMP_ANCESTOR,)
    assert f["doc.title"] == "Meeting du 12 mars"
    assert f["doc.author"] == PEOPLE[2]  # EXIF Artist wins over XMP dc:creator
    assert result.raw["XMP:dc:creator"] == PEOPLE[1]
    assert f["doc.modified"] == datetime(2017, 3, 13, 9, 12, 44, tzinfo=UTC)
    assert f["doc.modified_offset"] == "+01:00"
    assert f["links.external"] == (fixtures.LICENCE_URL,)
    assert f["image.has_thumbnail"] is False
    assert "image.thumbnail_matches" not in f
    assert f["image.jpeg_segments"] == ("APP1 Exif", "APP1 XMP", "APP13 Photoshop 3.0", "APP0 JFIF")


def test_tiff_scan() -> None:
    f = _extract("scan.tiff").fields
    assert f["image.make"] == fixtures.SCANNER_MAKE
    assert f["image.model"] == fixtures.SCANNER_MODEL
    assert f["doc.application"] == fixtures.SCANNER_SOFTWARE
    assert f["doc.author"] == PEOPLE[4]
    # ImageDescription is the description, in TIFF as in every format (MWG), not a title.
    assert f["doc.comments"] == "Releve bancaire mars 2017"
    assert "doc.title" not in f
    assert f["image.datetime"] == datetime(2017, 3, 10, 8, 45, 12, tzinfo=UTC)
    assert f["doc.modified_tz_known"] is False
    assert "doc.modified_offset" not in f
    assert (f["image.width"], f["image.height"]) == (300, 400)
    assert f["image.has_thumbnail"] is False


def test_png_text_chunks() -> None:
    f = _extract("diagram.png").fields
    assert f["doc.title"] == "Sondage interne"
    assert f["doc.author"] == PEOPLE[0]
    assert f["image.software"] == "Chartwell 3.1"
    assert f["doc.comments"] == "Intentions de vote, vague 3"
    assert f["doc.created"] == datetime(2017, 3, 14, 9, 30, tzinfo=UTC)
    assert f["doc.created_offset"] == "+01:00"
    assert (f["image.width"], f["image.height"]) == (200, 120)


def test_png_hex_raw_profile_exif() -> None:
    """ImageMagick/GIMP keep EXIF as hex in a zTXt 'Raw profile type exif' chunk."""
    block = b"Exif\x00\x00" + fixtures.tiff_block([(0x010F, fixtures.ASCII, "Nordvik")])
    text = f"\nexif\n{len(block):8d}\n{block.hex()}\n"
    info = PngInfo()
    info.add_text("Raw profile type exif", text, zip=True)
    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(buffer, "PNG", pnginfo=info)
    f = _extract("profile.png", buffer.getvalue()).fields
    assert f["image.make"] == "Nordvik"


def test_webp_and_heic_exif() -> None:
    webp = _extract("photo_shared.webp").fields
    assert (webp["image.width"], webp["image.height"]) == (320, 240)
    assert webp["image.make"] == "Nordvik"
    assert webp["image.gps_lat"] == pytest.approx(LATITUDE, abs=1e-6)
    heic = _extract("photo_phone.heic").fields
    assert (heic["image.width"], heic["image.height"]) == (4032, 3024)
    assert heic["image.software"] == "17.2.1"
    assert heic["image.datetime_original"] == TAKEN_UTC
    assert heic["image.gps_lon"] == pytest.approx(LONGITUDE, abs=1e-6)


def test_corrupt_header_is_an_error_record() -> None:
    record = _triage("corrupt.jpg")
    assert record.status is Status.ERROR
    assert [issue.code for issue in record.issues] == ["truncated", "corrupt"]
    with pytest.raises(CorruptFileError) as caught:
        _extract("corrupt.jpg")
    assert isinstance(caught.value.partial, Extraction)


def test_truncated_pixels_keep_the_metadata() -> None:
    record = _triage("photo_truncated.jpg")
    assert record.status is Status.PARTIAL
    codes = [issue.code for issue in record.issues]
    assert codes[0] == "truncated"
    assert record.fields["image.make"] == "Nordvik"
    assert record.fields["image.datetime_original"] == TAKEN_UTC
    assert "image.thumbnail_matches" not in record.fields


def test_ifd_bomb_is_refused_quickly() -> None:
    started = time.perf_counter()
    result = _extract("exif_ifd_bomb.jpg")
    assert time.perf_counter() - started < 2.0
    assert result.status is Status.PARTIAL
    assert [issue.code for issue in result.issues] == ["exif_refused"]
    assert (result.fields["image.width"], result.fields["image.height"]) == (64, 48)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(
        ["photo_camera.jpg", "photo_xmp_history.jpg", "diagram.png", "photo_phone.heic"]
    ),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=6),
)
def test_damaged_files_only_raise_declared_errors(
    name: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(_CACHE.setdefault(name, _build(name)))
    for where, mask in flips:
        data[int(where * (len(data) - 1))] ^= mask
    data = data[: max(1, int(len(data) * cut))] if cut < 0.98 else data
    source = Source(name=name, mime=detect.sniff(bytes(data)), size=len(data), data=bytes(data))
    if source.mime not in ("image/jpeg", "image/png", "image/heic"):
        source = Source(name=name, mime="image/jpeg", size=len(data), data=bytes(data))
    try:
        result = extract(source)
    except ExtractionError:
        return
    assert result.status in (Status.OK, Status.PARTIAL)
    assert all(isinstance(value, str) for value in result.raw.values())


_CACHE: dict[str, bytes] = {}


CAPTION = "Manifestation place de la Republique le premier mai, vue depuis le toit"
"""Long enough (and in enough words) for a language, were it taken as body text."""


@pytest.mark.parametrize("name", sorted(fixtures.captioned_images(CAPTION)))
def test_a_caption_is_the_same_metadata_in_every_format_never_body_text(name: str) -> None:
    data = fixtures.captioned_images(CAPTION)[name]
    record = leaktriage.triage_file(data, name=name, workers=0)[0]
    f = record.fields
    assert record.status is Status.OK
    assert f["doc.comments"] == CAPTION
    assert "doc.title" not in f
    for body in ("text.sample", "text.chars", "text.language", "text.language_confidence"):
        assert body not in f
    assert f["meta.scripts"] == ("Latin",)


def test_iptc_caption_title_author_and_keywords() -> None:
    block = fixtures.iptc_block(
        [
            (1, 90, b"\x1b%G"),
            (2, 5, "Défilé".encode()),
            (2, 25, b"manifestation"),
            (2, 25, b"Paris"),
            (2, 80, PEOPLE[3].encode()),
            (2, 120, "Le cortège, boulevard Voltaire".encode()),
        ]
    )
    data = fixtures.jpeg_with_segments(
        fixtures.scene().resize((64, 48)), [fixtures.iptc_segment(block)], keep_jfif=True
    )
    result = _extract("iptc.jpg", data)
    f = result.fields
    assert f["doc.comments"] == "Le cortège, boulevard Voltaire"
    assert f["doc.title"] == "Défilé"
    assert f["doc.author"] == PEOPLE[3]
    assert f["doc.keywords"] == "manifestation, Paris"
    assert result.raw["IPTC:Caption-Abstract"] == "Le cortège, boulevard Voltaire"
    assert f["image.jpeg_segments"] == ("APP13 Photoshop 3.0", "APP0 JFIF")


def test_iptc_without_utf8_flag_reads_cp1252_and_survives_truncation() -> None:
    block = fixtures.iptc_block([(2, 120, "Défilé".encode("cp1252"))])
    assert iptc.read(block) == {"Caption-Abstract": "Défilé"}
    assert iptc.read(block[:-3]) == {"Caption-Abstract": "Déf"}
    assert iptc.read(b"\x1c\x02\x78\x80\x09" + b"\x00" * 4) == {}
    assert iptc.from_photoshop(b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00") is None
