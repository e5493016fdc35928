"""Images: EXIF, XMP and text chunks of JPEG, TIFF, PNG, WebP and HEIC files, one module per
format, each registered on its own (their records all say ``image@1``).

Each container is walked by a small bounded parser (JPEG markers, PNG chunks, RIFF chunks,
HEIF boxes) to find the EXIF block, the XMP packet and the pixel size; ``facts`` then reads
them (``exif``, ``xmp``, ``thumbnail``) into the same facts whatever the format.
"""

from leaktriage.extractors.image import heif, jpeg, png, tiff, webp

__all__ = ["heif", "jpeg", "png", "tiff", "webp"]
