"""Legacy Office fixtures (doc, xls, ppt, encrypted docx) built with the compound-file writer.

Property sets are written from [MS-OLEPS], the Word File Information Block and piece table
from [MS-DOC], the Excel globals records from [MS-XLS]. Each fixture plants values the tests
read back exactly: Cyrillic names in code page 1251, a Russian FIB language id, Word's
saved-by history, directory times that differ from the property times.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from corpus_fixtures import EPOCH, FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders._cfb import SECTOR, build_cfb, filetime

SUMMARY_FMTID = uuid.UUID("F29F85E0-4FF9-1068-AB91-08002B27B3D9").bytes_le
DOCSUMMARY_FMTID = uuid.UUID("D5CDD502-2E9C-101B-9397-08002B2CF9AE").bytes_le
USER_DEFINED_FMTID = uuid.UUID("D5CDD505-2E9C-101B-9397-08002B2CF9AE").bytes_le
WORD_CLSID = uuid.UUID("00020906-0000-0000-C000-000000000046").bytes_le
EXCEL_CLSID = uuid.UUID("00020820-0000-0000-C000-000000000046").bytes_le
POWERPOINT_CLSID = uuid.UUID("64818D10-4F9B-11CF-86EA-00AA00B929E8").bytes_le

VT_I2, VT_I4, VT_BOOL, VT_VARIANT, VT_LPSTR, VT_LPWSTR = 2, 3, 11, 12, 30, 31
VT_FILETIME, VT_BLOB, VT_VECTOR = 64, 65, 0x1000

Value = tuple[str, object]
"""A typed property value: ``("lpstr", b"...")`` (bytes already in the set's code page),
``("lpstr16", "...")`` (UTF-16 for code page 1200), ``("i2"|"i4", n)``, ``("bool", b)``,
``("lpwstr", "...")``, ``("filetime", datetime)``,
``("duration", seconds)``, ``("blob", b"...")``, ``("variants", [Value, ...])`` for
VT_VECTOR|VT_VARIANT and ``("lpstrs", [b"...", ...])`` for a string vector."""


def _align(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _scalar(kind: str, value: object) -> tuple[int, bytes]:
    if kind == "i2":
        assert isinstance(value, int)
        return VT_I2, _align(struct.pack("<h", value))
    if kind == "i4":
        assert isinstance(value, int)
        return VT_I4, struct.pack("<i", value)
    if kind == "bool":
        assert isinstance(value, bool)
        return VT_BOOL, _align(struct.pack("<h", -1 if value else 0))
    if kind == "lpstr":
        assert isinstance(value, bytes)
        raw = value + b"\0"
        return VT_LPSTR, _align(struct.pack("<I", len(raw)) + raw)
    if kind == "lpstr16":
        # In a CP_WINUNICODE (1200) set, VT_LPSTR holds UTF-16LE and its size counts bytes.
        assert isinstance(value, str)
        raw = (value + "\0").encode("utf-16-le")
        return VT_LPSTR, _align(struct.pack("<I", len(raw)) + raw)
    if kind == "lpwstr":
        assert isinstance(value, str)
        raw = (value + "\0").encode("utf-16-le")
        return VT_LPWSTR, _align(struct.pack("<I", len(raw) // 2) + raw)
    if kind == "filetime":
        assert isinstance(value, datetime)
        return VT_FILETIME, struct.pack("<Q", filetime(value))
    if kind == "duration":
        # TotalEditTime: a FILETIME holding a duration in 100-ns ticks.
        assert isinstance(value, int)
        return VT_FILETIME, struct.pack("<Q", value * 10_000_000)
    assert kind == "blob" and isinstance(value, bytes), kind
    return VT_BLOB, _align(struct.pack("<I", len(value)) + value)


def _typed(value: Value) -> bytes:
    kind, payload = value
    if kind == "variants":
        assert isinstance(payload, Sequence)
        body = struct.pack("<I", len(payload))
        for item_kind, item in payload:
            vt, data = _scalar(item_kind, item)
            body += struct.pack("<HH", vt, 0) + data
        return struct.pack("<HH", VT_VECTOR | VT_VARIANT, 0) + _align(body)
    if kind == "lpstrs":
        assert isinstance(payload, Sequence)
        body = struct.pack("<I", len(payload))
        for text in payload:
            assert isinstance(text, bytes)
            body += _scalar("lpstr", text)[1]
        return struct.pack("<HH", VT_VECTOR | VT_LPSTR, 0) + body
    vt, data = _scalar(kind, payload)
    return struct.pack("<HH", vt, 0) + data


def _section(props: Mapping[int, Value], names: Mapping[int, bytes] | None = None) -> bytes:
    values: list[tuple[int, bytes]] = []
    if names is not None:
        # The dictionary (property 0) names user-defined properties; code-page strings here.
        body = struct.pack("<I", len(names))
        for pid, name in names.items():
            raw = name + b"\0"
            body += struct.pack("<II", pid, len(raw)) + raw
        values.append((0, _align(body)))
    values.extend((pid, _typed(value)) for pid, value in props.items())
    offset = 8 + 8 * len(values)
    index = b""
    data = b""
    for pid, blob in values:
        index += struct.pack("<II", pid, offset + len(data))
        data += blob
    return struct.pack("<II", 8 + len(index) + len(data), len(values)) + index + data


def hyperlinks(links: Sequence[tuple[str, str]]) -> bytes:
    """A _PID_HLINKS blob ([MS-OSHARED] VtVecHyperlink): six typed values per link."""
    body = struct.pack("<I", 6 * len(links))
    for target, location in links:
        for number in (0, 0, 0, 5):  # dwHash, dwApp, dwOfficeInstance, dwInfo
            body += _typed(("i4", number))
        body += _typed(("lpwstr", target)) + _typed(("lpwstr", location))
    return body


def property_set_stream(sections: Sequence[tuple[bytes, bytes]]) -> bytes:
    """A property set stream ([MS-OLEPS]) from ``(fmtid, section bytes)`` pairs."""
    header = struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, b"\0" * 16, len(sections))
    offset = len(header) + 20 * len(sections)
    body = b""
    for fmtid, section in sections:
        header += fmtid + struct.pack("<I", offset + len(body))
        body += section
    return header + body


def summary_information(codepage: int, props: Mapping[int, Value]) -> bytes:
    """``\\x05SummaryInformation`` with the code page (property 1) first."""
    return property_set_stream(
        [(SUMMARY_FMTID, _section({1: ("i2", _signed16(codepage)), **props}))]
    )


def document_summary(
    codepage: int,
    props: Mapping[int, Value],
    user: Mapping[int, Value] | None = None,
    names: Mapping[int, bytes] | None = None,
) -> bytes:
    """``\\x05DocumentSummaryInformation``, with a user-defined section when ``user`` is set."""
    sections = [(DOCSUMMARY_FMTID, _section({1: ("i2", _signed16(codepage)), **props}))]
    if user is not None:
        user_props: dict[int, Value] = {1: ("i2", _signed16(codepage)), **user}
        sections.append((USER_DEFINED_FMTID, _section(user_props, names or {})))
    return property_set_stream(sections)


def _signed16(value: int) -> int:
    # Code pages are written as VT_I2: 1200 fits, 65001 wraps negative.
    return value - 0x10000 if value >= 0x8000 else value


# --- Word -------------------------------------------------------------------------------------

FC_TEXT = 0x800
"""Where the text starts in the WordDocument stream (Word puts it after the FIB)."""
FLAG_ENCRYPTED = 0x0100
FLAG_TABLE1 = 0x0200


def _sttb(strings: Sequence[str]) -> bytes:
    # Extended STTB: fExtend 0xFFFF, count, cbExtra 0, then UTF-16 strings with char counts.
    out = struct.pack("<HHH", 0xFFFF, len(strings), 0)
    for text in strings:
        out += struct.pack("<H", len(text)) + text.encode("utf-16-le")
    return out


def word_streams(
    *,
    text: str,
    lid: int,
    nfib_new: int | None = 0x0101,
    saved_by: Sequence[tuple[str, str]] = (),
    encrypted: bool = False,
) -> dict[str, bytes]:
    """``WordDocument`` and ``1Table`` streams: a FIB, one cp1252 text piece, a CLX, SttbSavedBy.

    Args:
        text: main-document text; ``\\r`` ends paragraphs as in Word.
        lid: install language id written in the FIB.
        nfib_new: FibRgCswNew.nFibNew (None writes a Word 97 FIB without it).
        saved_by: ``(author, path)`` saves, oldest first.
        encrypted: set fEncrypted (the rest stays readable, as a forged flag would).
    """
    encoded = text.encode("cp1252")
    table = b""
    # CLX: one piece covering the whole text, compressed (8-bit) at FC_TEXT.
    plc = struct.pack("<II", 0, len(encoded))
    pcd = struct.pack("<HIH", 0, (FC_TEXT * 2) | 0x40000000, 0)
    clx = b"\x02" + struct.pack("<I", len(plc) + len(pcd)) + plc + pcd
    fc_clx, table = len(table), table + clx
    sttb = _sttb([item for pair in saved_by for item in pair]) if saved_by else b""
    fc_saved, table = len(table), table + sttb

    fc_lcb = [(0, 0)] * 0x5D
    fc_lcb[33] = (fc_clx, len(clx))
    if sttb:
        fc_lcb[71] = (fc_saved, len(sttb))
    flags = FLAG_TABLE1 | (FLAG_ENCRYPTED if encrypted else 0)
    base = struct.pack(
        "<HHHHHHHIBBHHII", 0xA5EC, 0x00C1, 0, lid, 0, flags, 0x00BF, 0, 0, 0, 0, 0, 0, 0
    )
    rg_w = struct.pack("<14H", *([0] * 13), lid)
    rg_lw = [0] * 22
    rg_lw[0] = FC_TEXT + len(encoded)  # cbMac
    rg_lw[3] = len(encoded)  # ccpText
    fib = base + struct.pack("<H", 14) + rg_w + struct.pack("<H", 22)
    fib += struct.pack("<22i", *rg_lw)
    fib += struct.pack("<H", 0x5D) + b"".join(struct.pack("<II", fc, lcb) for fc, lcb in fc_lcb)
    fib += struct.pack("<HHH", 2, nfib_new, 0) if nfib_new else struct.pack("<H", 0)
    document = fib.ljust(FC_TEXT, b"\0") + encoded
    return {"WordDocument": document.ljust(4096, b"\0"), "1Table": table}


# --- Excel ------------------------------------------------------------------------------------


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _sst_records(strings: list[str]) -> list[bytes]:
    """An SST record whose last string is cut in the middle of its characters by a CONTINUE
    record (which restarts with its own high-byte flag), as Excel writes long tables."""
    items = []
    for text in strings:
        wide = any(ord(ch) > 0xFF for ch in text)
        chars = text.encode("utf-16-le" if wide else "latin-1")
        items.append((struct.pack("<HB", len(text), 1 if wide else 0), chars, wide))
    head = struct.pack("<II", len(strings), len(strings))
    if not items:
        return [_record(0x00FC, head)]
    body = head + b"".join(h + c for h, c, _ in items[:-1])
    last_head, last_chars, wide = items[-1]
    half = (len(last_chars) // 2) & ~1 if wide else len(last_chars) // 2
    sst = _record(0x00FC, body + last_head + last_chars[:half])
    cont = _record(0x003C, (b"\x01" if wide else b"\x00") + last_chars[half:])
    return [sst, cont]


def _rk_int(value: int) -> int:
    return ((value << 2) | 0x02) & 0xFFFFFFFF


def workbook_stream(
    user: str,
    codepage: int,
    *,
    encrypted: bool = False,
    rows: list[list[str | int | float]] | None = None,
) -> bytes:
    """A minimal BIFF8 workbook: globals (BOF, [FILEPASS], WRITEACCESS, CODEPAGE, [SST], EOF)
    and, with ``rows``, one worksheet whose strings are LABELSST cells, whole numbers RK cells
    (a row of several of them one MULRK record) and other figures NUMBER cells."""
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x2775, 0x07CD, 0x000080C9, 6))
    name = user.encode("utf-16-le")
    access = (struct.pack("<HB", len(user), 1) + name).ljust(112, b" ")
    records = [bof]
    if encrypted:
        records.append(_record(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\0" * 48))
    records += [_record(0x005C, access), _record(0x0042, struct.pack("<H", codepage))]
    if rows is None:
        records.append(_record(0x000A, b""))
        return b"".join(records).ljust(4096, b"\0")
    strings = list(dict.fromkeys(v for row in rows for v in row if isinstance(v, str)))
    records += _sst_records(strings)
    records.append(_record(0x000A, b""))
    sheet = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x2775, 0x07CD, 0, 6))]
    for r, row in enumerate(rows):
        ints = [v for v in row if isinstance(v, int)]
        if len(row) > 1 and len(ints) == len(row):
            cells = b"".join(struct.pack("<HI", 0x0F, _rk_int(v)) for v in ints)
            sheet.append(
                _record(0x00BD, struct.pack("<HH", r, 0) + cells + struct.pack("<H", len(row) - 1))
            )
            continue
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.append(
                    _record(0x00FD, struct.pack("<HHHI", r, c, 0x0F, strings.index(value)))
                )
            elif isinstance(value, int):
                sheet.append(_record(0x027E, struct.pack("<HHHI", r, c, 0x0F, _rk_int(value))))
            else:
                sheet.append(_record(0x0203, struct.pack("<HHHd", r, c, 0x0F, value)))
    sheet.append(_record(0x000A, b""))
    return b"".join(records + sheet).ljust(4096, b"\0")


# --- fixtures ---------------------------------------------------------------------------------

CREATED = EPOCH - timedelta(days=800)
SAVED = EPOCH + timedelta(days=13, hours=5, minutes=41, seconds=7)
PRINTED = EPOCH + timedelta(days=2)
DIR_TIME = SAVED + timedelta(days=40)
"""Directory times 40 days after the stated save: the backdating signal OLE-04 looks for."""


def rapport_doc() -> bytes:
    """A French Word 2002 document, code page 1252, lid 0x040C, plain metadata."""
    summary = summary_information(
        1252,
        {
            2: ("lpstr", "Rapport d'étape".encode("cp1252")),
            3: ("lpstr", b"Finances de campagne"),
            4: ("lpstr", PEOPLE[0].encode("cp1252")),
            5: ("lpstr", b"budget; dons"),
            6: ("lpstr", "Version préliminaire".encode("cp1252")),
            7: ("lpstr", b"Normal.dot"),
            8: ("lpstr", PEOPLE[1].encode("cp1252")),
            9: ("lpstr", b"7"),
            10: ("duration", 5400),
            11: ("filetime", PRINTED),
            12: ("filetime", CREATED),
            13: ("filetime", SAVED),
            14: ("i4", 3),
            15: ("i4", 412),
            16: ("i4", 2390),
            18: ("lpstr", b"Microsoft Word 10.0"),
            19: ("i4", 0),
        },
    )
    docsum = document_summary(
        1252,
        {
            2: ("lpstr", b"Interne"),
            14: ("lpstr", PEOPLE[2].encode("cp1252")),
            15: ("lpstr", ORGANISATION.encode("cp1252")),
            12: ("variants", [("lpstr", b"Titre"), ("i4", 1)]),
            13: ("lpstrs", ["Rapport d'étape".encode("cp1252")]),
            23: ("i4", 0x000A0000),
        },
        user={
            2: ("lpstr", b"Confidentiel"),
            3: ("i4", 42),
            4: ("blob", hyperlinks([("https://dons.example.org/campagne", "")])),
        },
        names={2: b"Classification", 3: b"Dossier", 4: b"_PID_HLINKS"},
    )
    text = (
        "Rapport d'étape sur les finances de la campagne.\r"
        "Les dépenses du premier trimestre sont conformes au budget.\r"
        'Voir \x13 HYPERLINK "https://intranet.example.org/finances" \x14le tableau\x15.\r'
    )
    streams = {
        **word_streams(text=text, lid=0x040C),
        "\x05SummaryInformation": summary,
        "\x05DocumentSummaryInformation": docsum,
        "ObjectPool/": b"",
    }
    return build_cfb(streams, root_clsid=WORD_CLSID, created=SAVED, modified=DIR_TIME)


def mac_word_doc(codepage: int, title: bytes, author: bytes, company: bytes) -> bytes:
    """A Word 98/2001 for Mac document: property sets in the Mac code page ``codepage``
    (10000 Mac Roman, 10001 Mac Japanese...), strings given as bytes already in it. Not in
    :data:`FIXTURES`: tests build it with the strings they check."""
    summary = summary_information(
        codepage,
        {
            2: ("lpstr", title),
            4: ("lpstr", author),
            8: ("lpstr", author),
            12: ("filetime", CREATED),
            13: ("filetime", SAVED),
            18: ("lpstr", b"Microsoft Word 98"),
        },
    )
    docsum = document_summary(codepage, {15: ("lpstr", company)})
    streams = {
        **word_streams(text="Mac memo.\r", lid=0x0409),
        "\x05SummaryInformation": summary,
        "\x05DocumentSummaryInformation": docsum,
    }
    return build_cfb(streams, root_clsid=WORD_CLSID, created=CREATED, modified=SAVED)


def budget_ru_xls() -> bytes:
    """The #MacronLeaks pattern: a workbook last saved by a Russian-language Excel (cp1251)."""
    summary = summary_information(
        1251,
        {
            4: ("lpstr", PEOPLE[3].encode("cp1251")),
            8: ("lpstr", FOREIGN_PEOPLE[0].encode("cp1251")),
            12: ("filetime", CREATED),
            13: ("filetime", SAVED),
            18: ("lpstr", b"Microsoft Excel"),
            19: ("i4", 0),
        },
    )
    docsum = document_summary(
        1251,
        {
            15: ("lpstr", ORGANISATION.encode("cp1251")),
            12: ("variants", [("lpstr", "Листы".encode("cp1251")), ("i4", 2)]),
            13: ("lpstrs", ["Лист1".encode("cp1251"), "Бюджет".encode("cp1251")]),
            23: ("i4", 0x000C0000),
        },
    )
    streams = {
        "Workbook": workbook_stream(FOREIGN_PEOPLE[0], 1251),
        "\x05SummaryInformation": summary,
        "\x05DocumentSummaryInformation": docsum,
    }
    return build_cfb(streams, root_clsid=EXCEL_CLSID, modified=SAVED)


NOTE_SAVES = (
    (PEOPLE[4], "C:\\Users\\echambreuil\\Documents\\note.doc"),
    (FOREIGN_PEOPLE[1], "C:\\Users\\Анна\\Desktop\\Копия note.doc"),
)


def note_ru_doc() -> bytes:
    """A Word note whose save history ends on a Russian-language Word, with a Macros storage."""
    summary = summary_information(
        1251,
        {
            2: ("lpstr", "Note interne".encode("cp1251")),
            4: ("lpstr", PEOPLE[4].encode("cp1251")),
            8: ("lpstr", FOREIGN_PEOPLE[1].encode("cp1251")),
            12: ("filetime", CREATED),
            13: ("filetime", SAVED),
            18: ("lpstr", b"Microsoft Office Word"),
        },
    )
    streams = {
        **word_streams(text="Note interne.\r", lid=0x0419, nfib_new=None, saved_by=NOTE_SAVES),
        "\x05SummaryInformation": summary,
        "Macros/VBA/dir": b"\x01" * 40,
        "Macros/PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n',
    }
    return build_cfb(streams, root_clsid=WORD_CLSID, created=CREATED, modified=SAVED)


def encrypted_doc() -> bytes:
    """A Word file with fEncrypted set; its SummaryInformation stays readable."""
    summary = summary_information(
        1252,
        {
            4: ("lpstr", PEOPLE[1].encode("cp1252")),
            8: ("lpstr", PEOPLE[2].encode("cp1252")),
            13: ("filetime", SAVED),
        },
    )
    streams = {
        **word_streams(text="chiffré\r", lid=0x040C, encrypted=True),
        "\x05SummaryInformation": summary,
    }
    return build_cfb(streams, root_clsid=WORD_CLSID, modified=SAVED)


def protege_docx() -> bytes:
    """An encrypted OOXML package: the zip lives, encrypted, inside a compound file."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    streams = {
        "EncryptionInfo": info,
        "EncryptedPackage": struct.pack("<Q", 5000) + bytes(range(256)) * 20,
        "\x06DataSpaces/Version": b"\0" * 76,
    }
    return build_cfb(streams, modified=SAVED)


def current_user(user: str) -> bytes:
    """PowerPoint's ``Current User`` stream ([MS-PPT] CurrentUserAtom), not encrypted."""
    ansi = user.encode("cp1252")
    body = struct.pack("<IIIHHBBH", 0x14, 0xE391C05F, 0, len(ansi), 0x03F4, 3, 0, 0)
    body += ansi + struct.pack("<I", 8) + user.encode("utf-16-le")
    return struct.pack("<HHI", 0, 0x0FF6, len(body)) + body


def diaporama_ppt() -> bytes:
    """A PowerPoint file whose property set uses code page 1200 (UTF-16 strings)."""

    def wide(text: str) -> Value:
        return ("lpstr16", text)

    summary = property_set_stream(
        [
            (
                SUMMARY_FMTID,
                _section(
                    {
                        1: ("i2", 1200),
                        2: wide("Présentation stratégique"),
                        4: wide(PEOPLE[2]),
                        8: wide(PEOPLE[0]),
                        12: ("filetime", CREATED),
                        13: ("filetime", SAVED),
                        18: wide("Microsoft Office PowerPoint"),
                    }
                ),
            )
        ]
    )
    streams = {
        "PowerPoint Document": b"\0" * 600,
        "Current User": current_user(PEOPLE[0]),
        "\x05SummaryInformation": summary,
    }
    return build_cfb(streams, root_clsid=POWERPOINT_CLSID, modified=SAVED)


def cyclic_fat_doc() -> bytes:
    """rapport.doc with its directory chain pointing back to itself: a reader must not hang."""
    data = bytearray(rapport_doc())
    dir_start = struct.unpack_from("<I", data, 48)[0]
    first_fat = struct.unpack_from("<I", data, 76)[0]
    data[
        SECTOR * (1 + first_fat) + 4 * dir_start : SECTOR * (1 + first_fat) + 4 * dir_start + 4
    ] = struct.pack("<I", dir_start)
    return bytes(data)


def truncated_xls() -> bytes:
    """budget_ru.xls cut after its directory: the property streams are gone."""
    return budget_ru_xls()[: 4 * SECTOR]


FIXTURES: dict[str, Callable[[], bytes]] = {
    "rapport.doc": rapport_doc,
    "budget_ru.xls": budget_ru_xls,
    "note_ru.doc": note_ru_doc,
    "encrypted.doc": encrypted_doc,
    "protege.docx": protege_docx,
    "diaporama.ppt": diaporama_ppt,
    "cyclic_fat.doc": cyclic_fat_doc,
    "truncated.xls": truncated_xls,
}
