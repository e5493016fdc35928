"""TIFF (and the raw camera formats built on it): the file is one EXIF structure, and the TIFF
extractor."""

from __future__ import annotations

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.image import jpeg
from leaktriage.extractors.image._common import Parts
from leaktriage.extractors.image.exif import endian
from leaktriage.extractors.image.facts import extract_image


@register(name="image.tiff", family="image", version=1, mime_types={"image/tiff"})
def extract(source: Source) -> Extraction:
    """Read camera, time, GPS, software and editing-history facts from a TIFF image."""
    return extract_image(source, jpeg.or_jpeg(walk), "TIFF")


def walk(data: bytes, result: Extraction) -> Parts:
    """The whole file as the EXIF structure, its size from IFD0; BigTIFF is not readable."""
    if data[:4] in (b"II+\x00", b"MM\x00+"):
        result.note("unsupported", "BigTIFF: exifread cannot read its 64-bit directories")
        return Parts(decodable=False)
    if endian(data) is None:
        raise CorruptFileError("TIFF header missing", partial=result)
    return Parts(exif=data, size_from_exif=True)
