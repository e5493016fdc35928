"""The EXIF thumbnail: where IFD1 says it is, and whether it still shows the main image.

An editor that rewrites the pixels but keeps the old EXIF block leaves a thumbnail that shows
the scene as it was (signal IMG-03). Pillow decodes only the thumbnail and a reduced copy of
the main image, and only when there is a thumbnail to compare; both are reduced to a 64-bit
difference hash, compared by Hamming distance.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
from collections.abc import Iterator
from typing import Any

from PIL import Image, JpegImagePlugin

from leaktriage.extractors import Extraction
from leaktriage.extractors.image._common import Parts

MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024
"""A larger "thumbnail" is a preview image; it is not decoded."""
HASH_SIZE = 8
"""Difference hash of HASH_SIZE x HASH_SIZE bits (64): compared by Hamming distance."""
THUMBNAIL_MATCH_DISTANCE = 16
"""At most this many of the 64 hash bits may differ for the thumbnail to match the image.

Re-encoding, resampling and letterboxing move a few bits (0-8 on camera files); a
different picture moves about half of them (~32). Flat, near-uniform images (a blank page)
hash unstably, which is why the distance is reported alongside the verdict."""
ASPECT_TOLERANCE = 0.03
"""Relative difference of width/height ratios taken as rounding (a phone's 4208x3120 frame
has a 320x240 thumbnail: 1.2 % apart)."""
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_PIL_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    ZeroDivisionError,
    struct.error,
    Image.DecompressionBombError,
)


def exif_thumbnail(blob: bytes, tags: dict[str, Any], result: Extraction) -> bytes | None:
    """The JPEG thumbnail IFD1 points to (JPEGInterchangeFormat/Length), if it is there."""
    start, length = (
        tags.get("Thumbnail JPEGInterchangeFormat"),
        tags.get("Thumbnail JPEGInterchangeFormatLength"),
    )
    if start is None or length is None:
        return None
    try:
        offset, size = int(start.values[0]), int(length.values[0])
    except (IndexError, TypeError, ValueError):
        return None
    if size <= 0 or offset <= 0 or offset + size > len(blob):
        result.note("thumbnail_out_of_range", f"IFD1 thumbnail at {offset}+{size} lies outside")
        return None
    return blob[offset : offset + size]


class PixelLimit(Image.DecompressionBombError):
    """An image past Pillow's ``MAX_IMAGE_PIXELS``, refused before a pixel is decoded; its
    message is "WxH pixels"."""


@contextlib.contextmanager
def opened(data: bytes, pil_format: str) -> Iterator[Image.Image]:
    """An encoded image opened for decoding with Pillow's ``pil_format`` reader (JPEG with
    the plain JPEG reader: ``Image.open`` would promote a JPEG with a broken MPF segment to
    MPO), Pillow's warnings silenced (the extractor stays silent on odd files), and refused
    with :class:`PixelLimit` when it has more pixels than Pillow's bomb limit."""
    handle = io.BytesIO(data)
    with warnings.catch_warnings(action="ignore"):
        if pil_format == "JPEG":
            image: Image.Image = JpegImagePlugin.JpegImageFile(handle)
        else:
            image = Image.open(handle, formats=[pil_format])
        with image:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and image.width * image.height > limit:
                raise PixelLimit(f"{image.width}x{image.height} pixels")
            yield image


def _dhash(image: Image.Image) -> int:
    """64-bit difference hash: is each of 8x8 cells brighter than its right neighbour."""
    small = image.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.BOX)
    pixels = small.tobytes()
    bits = 0
    for row in range(HASH_SIZE):
        base = row * (HASH_SIZE + 1)
        for column in range(HASH_SIZE):
            bits = (bits << 1) | (pixels[base + column] > pixels[base + column + 1])
    return bits


def _fit_aspect(thumbnail: Image.Image, width: int, height: int) -> Image.Image:
    """Crop the letterbox bars a camera adds when the photo's aspect differs (16:9 in 4:3)."""
    tw, th = thumbnail.size
    if not (tw and th and width and height):
        return thumbnail
    target = width / height
    if abs(tw / th - target) / target < 0.03:
        return thumbnail
    if tw / th < target:
        keep = max(1, round(tw / target))
        top = (th - keep) // 2
        return thumbnail.crop((0, top, tw, top + keep))
    keep = max(1, round(th * target))
    left = (tw - keep) // 2
    return thumbnail.crop((left, 0, left + keep, th))


def _image_hash(
    data: bytes, pil_format: str, fit: tuple[int, int] | None, what: str, result: Extraction
) -> int | None:
    """dHash of an encoded image (JPEG decoded at 1/8 scale or less), or None with an issue.

    Args:
        data: the encoded image.
        pil_format: Pillow's name for its format (JPEG, TIFF, PNG, WEBP).
        fit: the main image's size, to crop letterbox bars off a thumbnail first.
        what: "main image" or "EXIF thumbnail", for the issue message.
        result: where issues go.
    """
    try:
        with opened(data, pil_format) as image:
            if pil_format == "JPEG":
                image.draft("L", (64, 64))
            return _dhash(_fit_aspect(image, *fit) if fit else image)
    except PixelLimit as exc:
        limit = Image.MAX_IMAGE_PIXELS
        text = f"{what} of {exc} not decoded (over Pillow's MAX_IMAGE_PIXELS {limit})"
        result.note("limit.decode_pixels", text)
        return None
    except _PIL_ERRORS as exc:
        result.note("decode_failed", f"{what} not decodable: {type(exc).__name__}: {exc}")
        return None


def compare_thumbnail(
    data: bytes, pil_format: str | None, thumbnail: bytes, parts: Parts, result: Extraction
) -> None:
    """Set image.thumbnail_matches/_distance from the hashes of thumbnail and main image.

    ``pil_format`` is Pillow's reader for the main image (None: not decoded, as for HEIC).
    """
    if pil_format is None or not parts.decodable:
        return
    fit = (parts.width or 0, parts.height or 0)
    thumb_hash = _image_hash(thumbnail, "JPEG", fit, "EXIF thumbnail", result)
    if thumb_hash is None:
        return
    main_hash = _image_hash(data, pil_format, None, "main image", result)
    if main_hash is None:
        return
    distance = (thumb_hash ^ main_hash).bit_count()
    result.put("image.thumbnail_distance", distance)
    result.put("image.thumbnail_matches", distance <= THUMBNAIL_MATCH_DISTANCE)


def jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first frame header (SOF), or None; bounded walk."""
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    for _ in range(256):
        if pos + 4 > len(data) or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF and pos + 9 <= len(data):
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return (width, height) if width and height else None
        if marker in (0xDA, 0xD9) or length < 2:
            return None
        pos += 2 + length
    return None


def aspect_differs(width: int, height: int, thumb_width: int, thumb_height: int) -> bool:
    """The thumbnail's shape is not the picture's (more than 3 % apart), and not the way a
    camera letterboxes a wide picture (3:2, 16:9) into its fixed 4:3 thumbnail (160x120).

    A thumbnail cropped or scaled to another shape by an editor differs, and so does a
    landscape thumbnail of a portrait frame (the pixels were rotated, the thumbnail not).
    """
    if min(width, height, thumb_width, thumb_height) <= 0:
        return False
    picture, thumb = width / height, thumb_width / thumb_height
    if abs(thumb - picture) / picture <= ASPECT_TOLERANCE:
        return False
    letterbox = abs(thumb - 4 / 3) / (4 / 3) <= ASPECT_TOLERANCE
    return not (letterbox and picture > 4 / 3)


def put_thumbnail_size(thumbnail: bytes, parts: Parts, result: Extraction) -> None:
    """image.thumbnail_width/_height from the thumbnail's frame header, and whether its
    shape differs from the main image's (image.thumbnail_aspect_differs)."""
    size = jpeg_frame_size(thumbnail[:65536])
    if size is None:
        return
    result.put("image.thumbnail_width", size[0])
    result.put("image.thumbnail_height", size[1])
    if parts.width and parts.height:
        result.put(
            "image.thumbnail_aspect_differs", aspect_differs(parts.width, parts.height, *size)
        )
