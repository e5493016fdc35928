"""Image fixtures: camera JPEGs with hand-built EXIF, an edited photo, XMP history, TIFF, PNG, WebP.

Pixels are drawn with Pillow from fixed shapes and encoded at fixed quality, so the bytes are
the same on every build. The EXIF block (IFD0, Exif IFD, GPS IFD and IFD1 with its JPEG
thumbnail) is written here by a small TIFF writer, because Pillow does not write IFD1
thumbnails; ExifTool reads it back as ``IFD1:ThumbnailImage``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from corpus_fixtures import PEOPLE

# TIFF field types used here.
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
_TYPE_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1}

# Pointer tags whose value is the offset of another block in the TIFF structure.
EXIF_IFD_POINTER = 0x8769
GPS_IFD_POINTER = 0x8825
THUMBNAIL_OFFSET = 0x0201
THUMBNAIL_LENGTH = 0x0202

Value = str | bytes | Sequence[int] | Sequence[tuple[int, int]]
Entry = tuple[int, int, Value]
"""One IFD entry: tag, field type, value (text, raw bytes, integers or rationals)."""

CAMERA_MAKE = "Nordvik"
CAMERA_MODEL = "Nordvik K-20"
CAMERA_SOFTWARE = "K-20 Firmware 1.02"
CAMERA_SERIAL = "NK20-004217"
TAKEN = "2017:03:12 14:05:09"
"""DateTimeOriginal of the camera photos, local time at +01:00 (13:05:09 UTC)."""
TAKEN_OFFSET = "+01:00"
TAKEN_SUBSEC = "42"
GPS_LAT = ((48, 1), (51, 1), (2964, 100))
"""48°51'29.64" N: the Champ de Mars in Paris (48.858233...)."""
GPS_LON = ((2, 1), (17, 1), (4020, 100))
"""2°17'40.20" E (2.2945)."""
GPS_DATE = "2017:03:12"
GPS_TIME = ((13, 1), (5, 1), (9, 1))
EDITOR = "Adobe Photoshop CC 2017 (Windows)"
EDITED = "2017:03:13 10:12:44"
"""Last save by the editor, local time at +01:00."""
SCANNER_MAKE = "Numerix"
SCANNER_MODEL = "DocuScan 600"
SCANNER_SOFTWARE = "ScanStation 4.2"
SCANNED = "2017:03:10 08:45:12"
XMP_DOCUMENT_ID = "xmp.did:8a1f0c3e-5b2d-4c71-9e0a-6d3b2f1e4c57"
XMP_ORIGINAL_ID = "xmp.did:1c9e7b42-0d3a-4f86-b5e1-2a7c9d8e0f13"
XMP_ANCESTOR = "xmp.did:f03b6e21-9c4d-4a58-8e17-5b2a0c3d9e64"
XMP_HISTORY = (
    ("created", "2017-03-12T14:05:09+01:00", EDITOR),
    ("saved", "2017-03-13T10:11:02+01:00", EDITOR),
    ("converted", "", ""),
    ("saved", "2017-03-13T10:12:44+01:00", EDITOR),
)
"""xmpMM:History events planted in photo_xmp_history.jpg (action, when, software agent)."""
LICENCE_URL = "https://photos.campagne-exemple.fr/licence"


@dataclass(frozen=True, slots=True)
class _Ifd:
    entries: list[Entry]
    offset: int = 0


def _encode(field_type: int, value: Value) -> tuple[int, bytes]:
    """Count and little-endian bytes of one entry value."""
    if isinstance(value, str):
        data = value.encode("utf-8") + b"\x00"
        return len(data), data
    if isinstance(value, bytes):
        return len(value), value
    if field_type == RATIONAL:
        pairs = [pair for pair in value if isinstance(pair, tuple)]
        return len(pairs), b"".join(struct.pack("<II", num, den) for num, den in pairs)
    numbers = [number for number in value if isinstance(number, int)]
    code = {BYTE: "B", SHORT: "H", LONG: "I"}[field_type]
    return len(numbers), struct.pack(f"<{len(numbers)}{code}", *numbers)


def _ifd_size(entries: Sequence[Entry]) -> int:
    """Bytes taken by an IFD and its out-of-line values (each value word-aligned)."""
    size = 2 + 12 * len(entries) + 4
    for field_type, value in ((entry[1], entry[2]) for entry in entries):
        count, _ = _encode(field_type, value)
        length = count * _TYPE_SIZE[field_type]
        if length > 4:
            size += length + (length & 1)
    return size


def _ifd_bytes(entries: Sequence[Entry], offset: int, next_ifd: int) -> bytes:
    """An IFD at ``offset`` (from the TIFF header), its values following its entry table."""
    table = struct.pack("<H", len(entries))
    data = b""
    data_start = offset + 2 + 12 * len(entries) + 4
    for tag, field_type, value in sorted(entries, key=lambda entry: entry[0]):
        count, raw = _encode(field_type, value)
        if len(raw) <= 4:
            table += struct.pack("<HHI", tag, field_type, count) + raw.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, field_type, count, data_start + len(data))
            data += raw + b"\x00" * (len(raw) & 1)
    return table + struct.pack("<I", next_ifd) + data


def tiff_block(
    ifd0: list[Entry],
    exif: list[Entry] | None = None,
    gps: list[Entry] | None = None,
    thumbnail: bytes | None = None,
) -> bytes:
    """A little-endian TIFF structure as EXIF stores it: IFD0, Exif IFD, GPS IFD, IFD1.

    Pointer entries (ExifOffset, GPSInfo, JPEGInterchangeFormat) are added and filled in
    here; offsets count from the ``II*`` header, as EXIF requires.
    """
    ifd0 = list(ifd0)
    if exif is not None:
        ifd0.append((EXIF_IFD_POINTER, LONG, [0]))
    if gps is not None:
        ifd0.append((GPS_IFD_POINTER, LONG, [0]))
    ifd1: list[Entry] | None = None
    if thumbnail is not None:
        ifd1 = [
            (0x0103, SHORT, [6]),  # Compression: old-style JPEG, i.e. a JPEG thumbnail
            (0x011A, RATIONAL, [(72, 1)]),
            (0x011B, RATIONAL, [(72, 1)]),
            (0x0128, SHORT, [2]),
            (THUMBNAIL_OFFSET, LONG, [0]),
            (THUMBNAIL_LENGTH, LONG, [len(thumbnail)]),
        ]
    # Offsets of each block: sizes do not depend on pointer values (LONGs sit inline).
    blocks = [("ifd0", ifd0), ("exif", exif), ("gps", gps), ("ifd1", ifd1)]
    offsets: dict[str, int] = {}
    position = 8
    for name, entries in blocks:
        if entries is not None:
            offsets[name] = position
            position += _ifd_size(entries)
    thumbnail_at = position

    def filled(entries: list[Entry]) -> list[Entry]:
        targets = {
            EXIF_IFD_POINTER: offsets.get("exif", 0),
            GPS_IFD_POINTER: offsets.get("gps", 0),
            THUMBNAIL_OFFSET: thumbnail_at,
        }
        return [
            (tag, kind, [targets[tag]]) if tag in targets else (tag, kind, value)
            for tag, kind, value in entries
        ]

    out = b"II*\x00" + struct.pack("<I", 8)
    for name, entries in blocks:
        if entries is None:
            continue
        next_ifd = offsets.get("ifd1", 0) if name == "ifd0" else 0
        out += _ifd_bytes(filled(entries), offsets[name], next_ifd)
    assert len(out) == thumbnail_at
    return out + (thumbnail or b"")


def _segment(marker: int, payload: bytes) -> bytes:
    """A JPEG marker segment; the length counts itself and the payload."""
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("JPEG segment payload too large")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_with_segments(image: Image.Image, segments: Sequence[bytes], keep_jfif: bool) -> bytes:
    """Pillow's JPEG of ``image`` with ``segments`` inserted after SOI (APP0 JFIF optional)."""
    data = _jpeg(image, quality=88)
    body = data[2:]
    if not keep_jfif and body[:2] == b"\xff\xe0":
        body = body[2 + struct.unpack(">H", body[2:4])[0] :]
    return b"\xff\xd8" + b"".join(segments) + body


def exif_segment(tiff: bytes) -> bytes:
    """APP1 ``Exif`` segment around a TIFF structure."""
    return _segment(0xE1, b"Exif\x00\x00" + tiff)


def xmp_segment(packet: str) -> bytes:
    """APP1 XMP segment (Adobe's namespace prefix, then the packet)."""
    return _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode("utf-8"))


def scene(edited: bool = False) -> Image.Image:
    """A 640x480 street scene; ``edited`` is the same photo after a heavy retouch and crop.

    The retouch replaces the left building by sky and crops to the right half, as an
    editor would, so the old thumbnail no longer shows what the main image shows.
    """
    image = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(image)
    for row in range(480):
        shade = 90 + row * 150 // 480
        draw.line([(0, row), (639, row)], fill=(shade // 2, shade // 2 + 30, 200))
    draw.rectangle([0, 330, 639, 479], fill=(70, 90, 60))
    draw.ellipse([500, 40, 580, 120], fill=(250, 220, 90))
    draw.rectangle([60, 120, 260, 400], fill=(180, 70, 50))
    for column in range(80, 240, 40):
        for row in range(140, 380, 50):
            draw.rectangle([column, row, column + 20, row + 30], fill=(240, 240, 200))
    draw.rectangle([330, 220, 440, 400], fill=(40, 40, 60))
    if edited:
        draw.rectangle([0, 0, 639, 329], fill=(120, 150, 210))
        draw.rectangle([360, 150, 620, 420], fill=(20, 20, 20))
        image = image.crop((320, 0, 640, 480)).resize((640, 480), Image.Resampling.LANCZOS)
    return image


def thumbnail_of(image: Image.Image) -> bytes:
    """A 160x120 JPEG thumbnail, as cameras embed in IFD1."""
    return _jpeg(image.resize((160, 120), Image.Resampling.LANCZOS), quality=75)


def _camera_ifd0(software: str, modified: str) -> list[Entry]:
    return [
        (0x010F, ASCII, CAMERA_MAKE),
        (0x0110, ASCII, CAMERA_MODEL),
        (0x0112, SHORT, [1]),
        (0x011A, RATIONAL, [(300, 1)]),
        (0x011B, RATIONAL, [(300, 1)]),
        (0x0128, SHORT, [2]),
        (0x0131, ASCII, software),
        (0x0132, ASCII, modified),
        (0x013B, ASCII, PEOPLE[2]),
    ]


def _camera_exif(offset_time: str = TAKEN_OFFSET) -> list[Entry]:
    return [
        (0x9000, UNDEFINED, b"0231"),
        (0x9003, ASCII, TAKEN),
        (0x9004, ASCII, TAKEN),
        (0x9010, ASCII, offset_time),
        (0x9011, ASCII, TAKEN_OFFSET),
        (0x9012, ASCII, TAKEN_OFFSET),
        (0x9291, ASCII, TAKEN_SUBSEC),
        (0x9292, ASCII, TAKEN_SUBSEC),
        (0xA002, LONG, [640]),
        (0xA003, LONG, [480]),
        (0xA431, ASCII, CAMERA_SERIAL),
    ]


def _gps() -> list[Entry]:
    return [
        (0x0000, BYTE, [2, 3, 0, 0]),
        (0x0001, ASCII, "N"),
        (0x0002, RATIONAL, list(GPS_LAT)),
        (0x0003, ASCII, "E"),
        (0x0004, RATIONAL, list(GPS_LON)),
        (0x0007, RATIONAL, list(GPS_TIME)),
        (0x001D, ASCII, GPS_DATE),
    ]


def photo_camera() -> bytes:
    """A camera original: EXIF with GPS near Paris and a thumbnail of the same picture."""
    image = scene()
    tiff = tiff_block(
        _camera_ifd0(CAMERA_SOFTWARE, TAKEN), _camera_exif(), _gps(), thumbnail_of(image)
    )
    return jpeg_with_segments(image, [exif_segment(tiff)], keep_jfif=False)


def photo_edited() -> bytes:
    """The camera photo retouched by a tool that kept the EXIF block and its old thumbnail."""
    tiff = tiff_block(
        _camera_ifd0(CAMERA_SOFTWARE, TAKEN), _camera_exif(), _gps(), thumbnail_of(scene())
    )
    return jpeg_with_segments(scene(edited=True), [exif_segment(tiff)], keep_jfif=False)


def photo_times(taken: str, modified: str, modified_offset: str | None = None) -> bytes:
    """A camera photo with the EXIF times given: DateTimeOriginal ``taken`` without
    OffsetTimeOriginal (its zone unknown) and DateTime ``modified``, with OffsetTime
    ``modified_offset`` when set. Not in :data:`FIXTURES`: tests pick the times."""
    exif: list[Entry] = [(0x9000, UNDEFINED, b"0231"), (0x9003, ASCII, taken)]
    if modified_offset is not None:
        exif.append((0x9010, ASCII, modified_offset))
    ifd0: list[Entry] = [
        (0x010F, ASCII, CAMERA_MAKE),
        (0x0110, ASCII, CAMERA_MODEL),
        (0x0132, ASCII, modified),
    ]
    return jpeg_with_segments(scene(), [exif_segment(tiff_block(ifd0, exif))], keep_jfif=True)


def _xmp_packet() -> str:
    events = "".join(
        "<rdf:li rdf:parseType='Resource'>"
        f"<stEvt:action>{action}</stEvt:action>"
        + (f"<stEvt:when>{when}</stEvt:when>" if when else "")
        + (f"<stEvt:softwareAgent>{agent}</stEvt:softwareAgent>" if agent else "")
        + ("<stEvt:parameters>from image/tiff to image/jpeg</stEvt:parameters>" if not when else "")
        + "</rdf:li>"
        for action, when, agent in XMP_HISTORY
    )
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        "<rdf:Description rdf:about=''"
        " xmlns:xmp='http://ns.adobe.com/xap/1.0/'"
        " xmlns:dc='http://purl.org/dc/elements/1.1/'"
        " xmlns:xmpMM='http://ns.adobe.com/xap/1.0/mm/'"
        " xmlns:stEvt='http://ns.adobe.com/xap/1.0/sType/ResourceEvent#'"
        " xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'"
        " xmlns:xmpRights='http://ns.adobe.com/xap/1.0/rights/'"
        f" xmp:CreatorTool='{EDITOR}'"
        " xmp:CreateDate='2017-03-12T14:05:09+01:00'"
        " xmp:ModifyDate='2017-03-13T10:12:44+01:00'"
        " xmp:MetadataDate='2017-03-13T10:12:44+01:00'"
        f" xmpMM:DocumentID='{XMP_DOCUMENT_ID}'"
        " xmpMM:InstanceID='xmp.iid:2d4f6a8c-1e3b-4d5f-a7c9-0b2d4f6a8c1e'"
        f" xmpMM:OriginalDocumentID='{XMP_ORIGINAL_ID}'"
        f" xmpRights:WebStatement='{LICENCE_URL}'>"
        f"<dc:creator><rdf:Seq><rdf:li>{PEOPLE[1]}</rdf:li></rdf:Seq></dc:creator>"
        "<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Meeting du 12 mars</rdf:li>"
        "</rdf:Alt></dc:title>"
        f"<photoshop:DocumentAncestors><rdf:Bag><rdf:li>{XMP_ANCESTOR}</rdf:li></rdf:Bag>"
        "</photoshop:DocumentAncestors>"
        f"<xmpMM:History><rdf:Seq>{events}</rdf:Seq></xmpMM:History>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        "<?xpacket end='w'?>"
    )


def photo_xmp_history() -> bytes:
    """The camera photo opened, edited and saved in an editor: XMP history, no thumbnail."""
    tiff = tiff_block(_camera_ifd0(EDITOR, EDITED), _camera_exif(), None, None)
    photoshop = _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x00")
    segments = [exif_segment(tiff), xmp_segment(_xmp_packet()), photoshop]
    return jpeg_with_segments(scene(), segments, keep_jfif=True)


def scan_tiff() -> bytes:
    """A grey-scale document scan as a scanner driver writes it (IFD0 tags only)."""
    page = Image.new("L", (300, 400), 245)
    draw = ImageDraw.Draw(page)
    for line in range(40, 360, 24):
        draw.rectangle([30, line, 270 - (line % 3) * 30, line + 8], fill=40)
    info = {
        0x010E: "Releve bancaire mars 2017",
        0x010F: SCANNER_MAKE,
        0x0110: SCANNER_MODEL,
        0x0131: SCANNER_SOFTWARE,
        0x0132: SCANNED,
        0x013B: PEOPLE[4],
    }
    buffer = io.BytesIO()
    page.save(buffer, "TIFF", tiffinfo=info, dpi=(150, 150))
    return buffer.getvalue()


def diagram_png() -> bytes:
    """A PNG chart with tEXt/iTXt chunks as an office suite's export writes them."""
    image = Image.new("RGB", (200, 120), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for index, height in enumerate((30, 70, 50, 95)):
        draw.rectangle([20 + index * 45, 110 - height, 50 + index * 45, 110], fill=(30, 60, 150))
    info = PngInfo()
    info.add_text("Title", "Sondage interne")
    info.add_text("Author", PEOPLE[0])
    info.add_text("Software", "Chartwell 3.1")
    info.add_text("Creation Time", "Tue, 14 Mar 2017 10:30:00 +0100")
    info.add_itxt("Description", "Intentions de vote, vague 3", lang="fr")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def photo_webp() -> bytes:
    """The camera photo re-encoded as WebP by a messaging app that kept the EXIF block."""
    tiff = tiff_block(_camera_ifd0(CAMERA_SOFTWARE, TAKEN), _camera_exif(), _gps(), None)
    buffer = io.BytesIO()
    scene().resize((320, 240), Image.Resampling.LANCZOS).save(
        buffer, "WEBP", quality=70, method=4, exif=b"Exif\x00\x00" + tiff
    )
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes, version: int | None = None) -> bytes:
    """An ISO-BMFF box; a full box when ``version`` is given (flags 0)."""
    if version is not None:
        payload = bytes([version, 0, 0, 0]) + payload
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def photo_heic() -> bytes:
    """A phone photo's HEIF container: primary item size (ispe) and an Exif item in mdat.

    The coded image itself is left out (no encoder is needed to test metadata reading);
    ExifTool reads the container the same way.
    """
    tiff = tiff_block(
        [*_camera_ifd0("17.2.1", TAKEN)[:2], (0x0131, ASCII, "17.2.1")], _camera_exif(), _gps()
    )
    return heic_with_exif(tiff)


def heic_with_exif(tiff: bytes) -> bytes:
    """A HEIF container whose Exif item holds the TIFF structure ``tiff``."""
    exif_item = struct.pack(">I", 6) + b"Exif\x00\x00" + tiff
    ftyp = _box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic")

    def meta(exif_offset: int) -> bytes:
        infe_image = _box(b"infe", struct.pack(">HH", 1, 0) + b"hvc1" + b"\x00", version=2)
        infe_exif = _box(b"infe", struct.pack(">HH", 2, 0) + b"Exif" + b"\x00", version=2)
        iloc = _box(
            b"iloc",
            bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 2, 0, 1, exif_offset, len(exif_item)),
            version=0,
        )
        ispe = _box(b"ispe", struct.pack(">II", 4032, 3024), version=0)
        ipma = _box(b"ipma", struct.pack(">IHBB", 1, 1, 1, 0x81), version=0)
        return _box(
            b"meta",
            _box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, version=0)
            + _box(b"pitm", struct.pack(">H", 1), version=0)
            + _box(b"iinf", struct.pack(">H", 2) + infe_image + infe_exif, version=0)
            + iloc
            + _box(b"iprp", _box(b"ipco", ispe) + ipma),
            version=0,
        )

    head = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(head) + _box(b"mdat", exif_item)


def iptc_block(datasets: Sequence[tuple[int, int, bytes]]) -> bytes:
    """An IPTC-IIM block: ``(record, dataset, value)`` as ``1C rr dd LLLL value``."""
    return b"".join(
        b"\x1c" + bytes([record, dataset]) + struct.pack(">H", len(value)) + value
        for record, dataset, value in datasets
    )


def iptc_segment(block: bytes) -> bytes:
    """APP13 ``Photoshop 3.0`` with the IIM block as image resource 0x0404 (empty name)."""
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(block))
    return _segment(0xED, b"Photoshop 3.0\x00" + resource + block + b"\x00" * (len(block) % 2))


def _xmp_description(caption: str) -> str:
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        "<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>{caption}</rdf:li>"
        "</rdf:Alt></dc:description>"
        "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    )


def captioned_images(caption: str) -> dict[str, bytes]:
    """The same caption (ASCII) in every place each image format keeps one: EXIF
    ImageDescription (JPEG, TIFF, WebP, HEIC), XMP dc:description (JPEG, TIFF tag 700),
    IPTC Caption-Abstract (JPEG APP13, TIFF tag 33723) and PNG's Description chunk."""
    exif = tiff_block([(0x010E, ASCII, caption)])
    xmp = _xmp_description(caption)
    iim = iptc_block([(1, 90, b"\x1b%G"), (2, 120, caption.encode("utf-8"))])
    picture = scene().resize((64, 48))

    def jpeg(segment: bytes) -> bytes:
        return jpeg_with_segments(picture, [segment], keep_jfif=True)

    def tiff(info: dict[int, object]) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, "TIFF", tiffinfo=info)
        return buffer.getvalue()

    png_info = PngInfo()
    png_info.add_itxt("Description", caption, lang="fr")
    png = io.BytesIO()
    picture.save(png, "PNG", pnginfo=png_info)
    webp = io.BytesIO()
    picture.save(webp, "WEBP", quality=70, exif=b"Exif\x00\x00" + exif)
    return {
        "exif.jpg": jpeg(exif_segment(exif)),
        "xmp.jpg": jpeg(xmp_segment(xmp)),
        "iptc.jpg": jpeg(iptc_segment(iim)),
        "exif.tiff": tiff({0x010E: caption}),
        "xmp.tiff": tiff({0x02BC: xmp.encode("utf-8")}),
        "iptc.tiff": tiff({0x83BB: iim}),
        "description.png": png.getvalue(),
        "exif.webp": webp.getvalue(),
        "exif.heic": heic_with_exif(exif),
    }


def ifd_bomb() -> bytes:
    """Hostile EXIF: about 1,300 IFDs chained through overlapping tables of 5,000 entries.

    Each IFD claims 5,000 entries; their tables overlap, and every next-IFD pointer sits near
    the end of the 64 kB segment, pointing back 4 bytes further on. A reader that trusts the
    chain parses millions of entries for one 64 kB segment.
    """
    size = 65000
    entries = 5000
    blob = bytearray(size)
    blob[:8] = b"II*\x00" + struct.pack("<I", 8)
    index = 0
    while True:
        ifd = 8 + 4 * index
        pointer = ifd + 2 + 12 * entries
        if pointer + 4 > size:
            break
        struct.pack_into("<H", blob, ifd, entries)
        struct.pack_into("<I", blob, pointer, ifd + 4)
        index += 1
    return jpeg_with_segments(
        scene().resize((64, 48)), [exif_segment(bytes(blob))], keep_jfif=False
    )


def corrupt_header() -> bytes:
    """photo_camera.jpg cut inside its EXIF segment: no frame header is left."""
    return photo_camera()[:300]


def truncated_scan_data() -> bytes:
    """photo_camera.jpg cut in the middle of its compressed pixels (an interrupted copy)."""
    data = photo_camera()
    return data[: len(data) * 3 // 4]


FIXTURES: dict[str, Callable[[], bytes]] = {
    "photo_camera.jpg": photo_camera,
    "photo_edited.jpg": photo_edited,
    "photo_xmp_history.jpg": photo_xmp_history,
    "photo_shared.webp": photo_webp,
    "photo_phone.heic": photo_heic,
    "scan.tiff": scan_tiff,
    "diagram.png": diagram_png,
    "corrupt.jpg": corrupt_header,
    "photo_truncated.jpg": truncated_scan_data,
    "exif_ifd_bomb.jpg": ifd_bomb,
}
