"""Camera photos and their re-saves, told apart by their JPEG quantisation tables.

The invented Nordvik K-20 encodes with a camera's own tables (not libjpeg's) and writes a
MakerNote; the re-saves keep its EXIF block but not its tables: Pillow at quality 85 writes
the IJG tables behind a JFIF header, Photoshop its own tables with its APP13 "Photoshop 3.0"
resources and APP14 "Adobe" segment. The camera-like and Photoshop tables are taken from the
encoder catalogue (``rules/data/jpeg_encoders.yaml``: a Sony ILCE-6000 original and a
Photoshop CC 2017 file), so the extractor's match is exercised on tables real encoders
wrote; every other byte is invented and deterministic (Pillow's encoder, fixed pictures).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from PIL import Image

from corpus_fixtures.builders import image
from leaktriage.extractors.image.encoders import EncoderEntry, load_catalogue

CAMERA_TABLES = "sony-ilce-6000"
"""Catalogue entry whose tables the invented camera uses."""
PHOTOSHOP_TABLES = "adobe-photoshop-cc2017"
"""Catalogue entry whose tables the invented Photoshop save uses."""
MAKERNOTE = b"NORDVIK\x00\x02\x00" + struct.pack("<HHII", 0x0001, 7, 4, 0x20170312) + b"\x00" * 8
"""An invented maker's private block (a header and one IFD entry), as EXIF tag 0x927C."""
RESAVE_QUALITY = 85


def _entry(name: str) -> EncoderEntry:
    return next(entry for entry in load_catalogue().entries if entry.name == name)


def _tables(name: str) -> list[list[int]]:
    entry = _entry(name)
    chrominance = entry.chrominance or entry.luminance
    return [list(entry.luminance), list(chrominance)]


def _camera_tiff(software: str, modified: str) -> bytes:
    """The Nordvik's EXIF block with its MakerNote and the 160x120 thumbnail of the scene."""
    exif = [*image._camera_exif(), (0x927C, image.UNDEFINED, MAKERNOTE)]
    return image.tiff_block(
        image._camera_ifd0(software, modified),
        sorted(exif, key=lambda entry: entry[0]),
        image._gps(),
        image.thumbnail_of(image.scene()),
    )


def _encode(picture: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _after_soi(jpeg: bytes, segments: list[bytes], keep_jfif: bool) -> bytes:
    """``segments`` inserted after SOI; Pillow's APP0 JFIF dropped unless ``keep_jfif``."""
    body = jpeg[2:]
    if not keep_jfif and body[:2] == b"\xff\xe0":
        body = body[2 + struct.unpack(">H", body[2:4])[0] :]
    return b"\xff\xd8" + b"".join(segments) + body


def photo_camera_tables() -> bytes:
    """A Nordvik K-20 original: APP1 Exif first, MakerNote, the camera's own tables."""
    jpeg = _encode(image.scene(), qtables=_tables(CAMERA_TABLES), subsampling=2)
    tiff = _camera_tiff(image.CAMERA_SOFTWARE, image.TAKEN)
    return _after_soi(jpeg, [image.exif_segment(tiff)], keep_jfif=False)


def photo_resaved_pillow() -> bytes:
    """The original re-saved by Pillow at quality 85 with its EXIF kept (as a web export
    does): APP0 JFIF, then the camera's APP1 Exif; the IJG tables at quality 85."""
    original = Image.open(io.BytesIO(photo_camera_tables()))
    exif = b"Exif\x00\x00" + _camera_tiff(image.CAMERA_SOFTWARE, image.TAKEN)
    return _encode(original.convert("RGB"), quality=RESAVE_QUALITY, exif=exif)


def _photoshop_irb() -> bytes:
    """APP13 "Photoshop 3.0" image resources: 0x0406 JPEG quality (8, baseline standard)."""
    quality = struct.pack(">hHH", 8 - 4, 0x0000, 0x0001)
    resource = b"8BIM" + struct.pack(">H", 0x0406) + b"\x00\x00"
    resource += struct.pack(">I", len(quality)) + quality
    return image._segment(0xED, b"Photoshop 3.0\x00" + resource)


ADOBE_APP14 = image._segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0x8000, 0, 1))
"""APP14 "Adobe": version 100, flags, colour transform 1 (YCbCr), as Photoshop writes it."""


def photo_resaved_photoshop() -> bytes:
    """The original opened in Photoshop and saved again: Software names Photoshop, APP13
    Photoshop 3.0 and APP14 Adobe segments, Photoshop's own tables."""
    original = Image.open(io.BytesIO(photo_camera_tables())).convert("RGB")
    jpeg = _encode(original, qtables=_tables(PHOTOSHOP_TABLES), subsampling=0)
    tiff = _camera_tiff(image.EDITOR, image.EDITED)
    segments = [image.exif_segment(tiff), _photoshop_irb(), ADOBE_APP14]
    return _after_soi(jpeg, segments, keep_jfif=False)


FIXTURES: dict[str, Callable[[], bytes]] = {
    "photo_camera_tables.jpg": photo_camera_tables,
}
"""The camera original; its re-saves are planted (corpus_fixtures.planted), with labels."""
