"""The facts every image gives, whatever its container, and the extraction all formats run.

A photo in a leak carries its own account of where it came from: the camera (make, model,
serial), when it was taken (three EXIF times, their offsets and a GPS clock), where (GPS),
and who touched it afterwards (Software, XMP history). Each format module walks its container
into :class:`Parts` and calls :func:`extract_image`, which reads the EXIF block (exif.py), the
XMP packet (xmp.py) and the thumbnail (thumbnail.py) and puts the catalogue facts.

Field choices, following ExifTool's names: ``doc.author`` is EXIF Artist (else XMP
dc:creator, else IPTC By-line, else PNG Author). The description or caption is one fact in
every format, as the Metadata Working Group reconciles it: ``doc.comments`` is EXIF
ImageDescription, else XMP dc:description, else IPTC Caption-Abstract, else PNG Description
(then PNG Comment, JPEG COM). It is metadata, never body text: an image has no
``text.sample``, so a caption gives no ``text.language`` and no copy matches. ``doc.title``
is XMP dc:title, else IPTC ObjectName, else PNG Title. ``doc.created`` is DateTimeOriginal (else
DateTimeDigitized, XMP CreateDate, PNG Creation Time); ``doc.modified`` is DateTime
(ExifTool's ModifyDate; else XMP ModifyDate, else PNG tIME). ``image.software`` and
``doc.application`` are EXIF Software, else XMP CreatorTool, else PNG Software; the XMP
CreatorTool is also kept on its own as ``image.xmp_creator_tool``, because an editor named
there under a camera's Software string is the point of IMG-02. EXIF SubSecTime* digits are
added to the EXIF times as fractions of a second; ``image.offset_time`` is OffsetTimeOriginal
(else OffsetTime, else OffsetTimeDigitized), as written.
"""

from __future__ import annotations

import hashlib

from leaktriage.extractors import Extraction, Source
from leaktriage.extractors._dates import Stamp, parse_exif, parse_iso, parse_rfc5322
from leaktriage.extractors._links import Contacts, find_links, merge
from leaktriage.extractors.image import exif, iptc, quant
from leaktriage.extractors.image._common import MAX_RAW_KEYS, MAX_RAW_VALUE, Walk
from leaktriage.extractors.image.thumbnail import (
    MAX_THUMBNAIL_BYTES,
    compare_thumbnail,
    exif_thumbnail,
    put_thumbnail_size,
)
from leaktriage.extractors.image.xmp import Xmp, read_xmp


def extract_image(source: Source, walk: Walk, pil_format: str | None) -> Extraction:
    """Read camera, time, GPS, software and editing-history facts from one image.

    Args:
        source: the image.
        walk: its format's container walk (segments, chunks or boxes into :class:`Parts`).
        pil_format: Pillow's reader for the main image, for the thumbnail comparison (None:
            the main image is not decoded).
    """
    result = Extraction()
    data = source.read()
    parts = walk(data, result)
    for name, value in parts.texts.items():
        _put_raw(result, name, value)

    tags = exif.read(parts.exif, parts, result) if parts.exif else {}
    for key, tag in tags.items():
        raw_key = exif.raw_key(key)
        if raw_key is not None and hasattr(tag, "values"):
            _put_raw(result, raw_key, exif.raw_value(tag))
    if parts.size_from_exif and parts.width is None:
        parts.width = exif.tag_int(tags, "Image ImageWidth")
        parts.height = exif.tag_int(tags, "Image ImageLength")

    iim = iptc.read(parts.iptc) if parts.iptc else {}
    for key, value in iim.items():
        _put_raw(result, f"IPTC:{key}", value)
    xmp = read_xmp(parts.xmp, result) if parts.xmp else Xmp()
    for key, value in xmp.values.items():
        _put_raw(result, f"XMP:{key}", value)
    for index, event in enumerate(xmp.history):
        _put_raw(result, f"XMP:xmpMM:History[{index}]", event)

    def exif_text(key: str) -> str | None:
        return exif.tag_text(tags, key)

    texts, values = parts.texts, xmp.values
    software = _first(
        exif_text("Image Software"), values.get("xmp:CreatorTool"), texts.get("PNG:Software")
    )
    result.put("image.make", exif_text("Image Make"))
    result.put("image.model", exif_text("Image Model"))
    result.put("image.software", software)
    result.put("image.serial", exif_text("EXIF BodySerialNumber"))
    result.put("image.unique_id", exif_text("EXIF ImageUniqueID"))
    result.put("image.owner_name", exif_text("EXIF CameraOwnerName"))
    result.put("image.host_computer", exif_text("Image HostComputer"))
    result.put("image.has_makernote", parts.has_makernote)
    result.put("image.width", parts.width)
    result.put("image.height", parts.height)
    if parts.segments:
        result.put("image.jpeg_segments", tuple(parts.segments[:64]))
        result.put("image.jpeg_first_segment", parts.segments[0])
    if parts.quant_tables:
        digest = hashlib.sha256(b"".join(parts.quant_tables)).hexdigest()[:16]
        result.put("image.jpeg_quant_hash", digest)
        quant.put_facts(quant.identify(parts.quant_tables, parts.segments, result), result)

    modified = exif.timestamp(tags, "Image DateTime", "EXIF OffsetTime", "EXIF SubSecTime")
    original = exif.timestamp(
        tags, "EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal", "EXIF SubSecTimeOriginal"
    )
    digitized = exif.timestamp(
        tags, "EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized", "EXIF SubSecTimeDigitized"
    )
    for name, stamp in (
        ("image.datetime", modified),
        ("image.datetime_original", original),
        ("image.datetime_digitized", digitized),
    ):
        if stamp is not None:
            result.put(name, stamp.utc)
            result.put(f"{name}_tz_known", stamp.tz_known)
    result.put(
        "image.offset_time",
        _first(
            exif_text("EXIF OffsetTimeOriginal"),
            exif_text("EXIF OffsetTime"),
            exif_text("EXIF OffsetTimeDigitized"),
        ),
    )
    latitude, longitude = (
        exif.degrees(tags, "GPSLatitude", "S"),
        exif.degrees(tags, "GPSLongitude", "W"),
    )
    if latitude is not None and longitude is not None:
        if abs(latitude) <= 90 and abs(longitude) <= 180:
            result.put("image.gps_lat", round(latitude, 9))
            result.put("image.gps_lon", round(longitude, 9))
        else:
            result.note("bad_value", f"GPS position out of range: {latitude}, {longitude}")
    result.put("image.gps_datetime", exif.gps_time(tags))

    result.put("image.xmp_creator_tool", values.get("xmp:CreatorTool"))
    result.put("image.xmp_document_id", values.get("xmpMM:DocumentID"))
    result.put("image.xmp_original_document_id", values.get("xmpMM:OriginalDocumentID"))
    result.put("image.xmp_history", tuple(xmp.history))
    result.put("image.xmp_ancestors", tuple(dict.fromkeys(xmp.ancestors)))

    png_created = texts.get("PNG:Creation Time")
    created = (
        original
        or digitized
        or parse_iso(values.get("xmp:CreateDate"))
        or parse_rfc5322(png_created)
        or parse_iso(png_created)
        or parse_exif(png_created)
    )
    _put_time(result, "doc.created", created)
    png_modified = Stamp(parts.png_time, "+00:00", True) if parts.png_time else None
    _put_time(
        result, "doc.modified", modified or parse_iso(values.get("xmp:ModifyDate")) or png_modified
    )
    result.put(
        "doc.author",
        _first(
            exif_text("Image Artist"),
            values.get("dc:creator"),
            iim.get("By-line"),
            texts.get("PNG:Author"),
        ),
    )
    result.put(
        "doc.title", _first(values.get("dc:title"), iim.get("ObjectName"), texts.get("PNG:Title"))
    )
    result.put(
        "doc.comments",
        _first(
            exif_text("Image ImageDescription"),
            values.get("dc:description"),
            iim.get("Caption-Abstract"),
            texts.get("PNG:Description"),
            texts.get("PNG:Comment"),
            texts.get("JPEG:Comment"),
        ),
    )
    result.put("doc.keywords", _first(values.get("dc:subject"), iim.get("Keywords")))
    result.put("doc.application", software)

    strings = [tag.values for tag in tags.values() if isinstance(getattr(tag, "values", None), str)]
    Contacts().put(
        result,
        merge(
            *(
                find_links(text)
                for text in (*strings, *values.values(), *iim.values(), *texts.values())
            )
        ),
    )

    thumbnail = exif_thumbnail(parts.exif, tags, result) if parts.exif and tags else None
    result.put("image.has_thumbnail", thumbnail is not None)
    if thumbnail is not None:
        put_thumbnail_size(thumbnail, parts, result)
    if thumbnail is not None and len(thumbnail) <= MAX_THUMBNAIL_BYTES:
        compare_thumbnail(data, pil_format, thumbnail, parts, result)
        if result.fields.get("image.thumbnail_matches") is False:
            result.picture_inputs["thumbnail"] = thumbnail  # drawn beside the picture
    return result


def _put_time(result: Extraction, prefix: str, stamp: Stamp | None) -> None:
    if stamp is not None:
        result.put(prefix, stamp.utc)
        result.put(f"{prefix}_offset", stamp.offset)
        result.put(f"{prefix}_tz_known", stamp.tz_known)


def _put_raw(result: Extraction, key: str, value: str) -> None:
    if len(result.raw) < MAX_RAW_KEYS and value:
        result.raw.setdefault(key, value[:MAX_RAW_VALUE])


def _first(*values: str | None) -> str | None:
    return next((value.strip() for value in values if value and value.strip()), None)
