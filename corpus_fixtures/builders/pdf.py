"""PDF fixtures written with PyMuPDF (and one by hand), with fixed metadata, /ID and dates.

PyMuPDF stamps a random trailer /ID on every save unless ``no_new_id`` is given, so each
fixture sets its /ID pair itself and saves with ``no_new_id=True``. Its encryption also
draws a random /ID, so the encrypted fixtures are written here byte by byte with the
standard security handler (RC4 128-bit, revision 3, ISO 32000-1 §7.6.3): same bytes on
every build, and an independent check that the extractor reads files PyMuPDF did not write.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf as _pymupdf

from corpus_fixtures import FOREIGN_PEOPLE, ORGANISATION, PEOPLE

pymupdf: Any = _pymupdf
"""PyMuPDF as ``Any``: its functions carry no annotations, which strict mypy refuses to call."""

BEACON_URL = "http://canary.tracker.example/c/ab12"
"""Invented tracking host the beacon fixture's link annotation points at."""
BEACON_JS_URL = "http://canary.tracker.example/c/ab12?src=open"
"""URL the beacon fixture's /OpenAction JavaScript opens."""
BUDGET_BEFORE = "Total communication : 1 200 000 €"
BUDGET_AFTER = "Total communication : 12 000 000 €"
USER_PASSWORD = "lecture"
OWNER_PASSWORD = "proprietaire"
A4 = (595, 842)

_HELVETICA = "<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>"


def pdf_string(text: str) -> str:
    """``text`` as a PDF string token: PDFDocEncoding literal when it fits, else UTF-16BE hex."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"
    body = "".join(
        f"\\{byte:03o}" if byte < 32 or byte > 126 or chr(byte) in "()\\" else chr(byte)
        for byte in raw
    )
    return f"({body})"


def _content_string(text: str) -> str:
    """A WinAnsi (cp1252) literal for a content stream: the euro sign is byte 0x80."""
    return (
        "("
        + "".join(
            f"\\{byte:03o}" if byte < 32 or byte > 126 or chr(byte) in "()\\" else chr(byte)
            for byte in text.encode("cp1252")
        )
        + ")"
    )


def _text_stream(lines: list[str], top: int = 770) -> bytes:
    body = [f"BT /F1 11 Tf 14 TL 72 {top} Td"]
    body += [f"{_content_string(line)} Tj T*" for line in lines]
    body.append("ET")
    return ("\n".join(body) + "\n").encode("ascii")


def _new_doc() -> Any:
    doc = pymupdf.open()
    info = doc.get_new_xref()
    doc.update_object(info, "<<>>")
    doc.xref_set_key(-1, "Info", f"{info} 0 R")
    return doc


def _text_page(doc: Any, lines: list[str]) -> int:
    """Add an A4 page showing ``lines`` in Helvetica (not embedded); returns its content xref."""
    page = doc.new_page(width=A4[0], height=A4[1])
    font = doc.get_new_xref()
    doc.update_object(font, _HELVETICA)
    doc.xref_set_key(page.xref, "Resources", f"<</Font<</F1 {font} 0 R>>>>")
    content = doc.get_new_xref()
    doc.update_object(content, "<<>>")
    doc.update_stream(content, _text_stream(lines))
    doc.xref_set_key(page.xref, "Contents", f"{content} 0 R")
    return int(content)


def _set_info(doc: Any, entries: dict[str, str]) -> None:
    """Write Info entries as raw PDF strings (dates exactly as given)."""
    info = int(doc.xref_get_key(-1, "Info")[1].split()[0])
    for key, value in entries.items():
        doc.xref_set_key(info, key, pdf_string(value))


def _set_id(doc: Any, first: str, second: str) -> None:
    doc.xref_set_key(-1, "ID", f"[<{first}><{second}>]")


def _finish(doc: Any) -> bytes:
    data: bytes = doc.tobytes(garbage=1, deflate=True, no_new_id=True)
    doc.close()
    return data


def damaged_stream_pdf(title: str) -> bytes:
    """A page whose Flate content stream lost its last bytes (MuPDF shows what it could
    inflate and warns "premature end of data in flate filter"), then an incremental update
    with another damaged stream: the earlier revision, reopened last, warns again."""
    doc = _new_doc()
    content = _text_page(doc, [title])

    def damage(lines: list[str]) -> None:
        whole = zlib.compress(_text_stream(lines))
        doc.update_stream(content, whole[: len(whole) // 2], compress=False)
        doc.xref_set_key(content, "Filter", "/FlateDecode")

    damage([title, "Ordre du jour du comite de pilotage."])
    _set_info(doc, {"Title": title, "Author": PEOPLE[1]})
    with tempfile.TemporaryDirectory(prefix="leaktriage-fixture-") as folder:
        path = Path(folder) / "damaged.pdf"
        doc.save(path, garbage=1, no_new_id=True)
        doc.close()
        doc = pymupdf.open(path)
        damage([title, "Ordre du jour du comite de direction."])
        _set_info(doc, {"Title": f"{title} (relu)"})
        doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP, no_new_id=True)
        doc.close()
        return path.read_bytes()


REPORT_ID = "5A1E6C0F2B9D4E7A8C3B1D0E9F2A4B6C"


def report_pdf() -> bytes:
    """Two-page French report: Info with +01:00 dates, /Lang fr-FR, an embedded subset font."""
    doc = _new_doc()
    _text_page(
        doc,
        [
            f"{ORGANISATION} - Rapport mensuel de la campagne",
            "Le comité de campagne s'est réuni à Paris le 13 mars 2017.",
            "Les équipes régionales ont présenté leurs priorités pour avril.",
            "Contact : https://campagne-exemple.fr/rapport",
        ],
    )
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_font(fontname="F0", fontbuffer=pymupdf.Font("cjk").buffer)
    page.insert_text((72, 72), "Annexe : calendrier des réunions régionales.", fontname="F0")
    doc.subset_fonts()
    _set_info(
        doc,
        {
            "Title": "Rapport mensuel — mars 2017",
            "Author": PEOPLE[0],
            "Subject": "Campagne 2017",
            "Keywords": "rapport; campagne",
            "Creator": "Microsoft® Word 2016",
            "Producer": "Microsoft® Word 2016",
            "CreationDate": "D:20170314093000+01'00'",
            "ModDate": "D:20170315181200+01'00'",
        },
    )
    doc.xref_set_key(doc.pdf_catalog(), "Lang", "(fr-FR)")
    _set_id(doc, REPORT_ID, REPORT_ID)
    return _finish(doc)


BUDGET_ID = "0B7D3E5F19A24C6E8D0F2A4C6E8B1D3F"
BUDGET_UPDATES = (
    ("0B7D3E5F19A24C6E8D0F2A4C6E8B1D40", "D:20170302091500+01'00'", "LibreOffice 5.2"),
    ("0B7D3E5F19A24C6E8D0F2A4C6E8B1D41", "D:20170410223000+03'00'", "iLovePDF"),
)
"""Second /ID element, ModDate and Producer each incremental update writes."""


def budget_two_updates_pdf() -> bytes:
    """Saved once, then updated twice; the second update raises a figure tenfold."""
    lines = ["Budget prévisionnel 2017", BUDGET_BEFORE, "Validé par le trésorier."]
    doc = _new_doc()
    content = _text_page(doc, lines)
    _set_info(
        doc,
        {
            "Title": "Budget prévisionnel 2017",
            "Author": PEOPLE[1],
            "Creator": "Writer",
            "Producer": "LibreOffice 5.2",
            "CreationDate": "D:20170301100000+01'00'",
            "ModDate": "D:20170301100000+01'00'",
        },
    )
    _set_id(doc, BUDGET_ID, BUDGET_ID)
    with tempfile.TemporaryDirectory(prefix="leaktriage-fixture-") as folder:
        path = Path(folder) / "budget.pdf"
        doc.save(path, garbage=1, deflate=True, no_new_id=True)
        doc.close()
        for number, (second_id, moddate, producer) in enumerate(BUDGET_UPDATES):
            doc = pymupdf.open(path)
            if number == 1:
                edited = [BUDGET_AFTER if line == BUDGET_BEFORE else line for line in lines]
                doc.update_stream(content, _text_stream(edited))
            _set_info(doc, {"ModDate": moddate, "Producer": producer})
            _set_id(doc, BUDGET_ID, second_id)
            doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP, no_new_id=True)
            doc.close()
        return path.read_bytes()


MEMO_ID = "3C5E7A9B1D2F4A6C8E0B2D4F6A8C0E1F"
MEMO_BEFORE = "Montant engagé : 45 000 €"
MEMO_AFTER = "Montant engagé : 450 000 €"


def memo_revisions() -> tuple[bytes, bytes]:
    """A one-page memo saved once, then updated incrementally with a figure raised
    tenfold: the file's bytes after the first save and after the update (the update only
    appends, so the second starts with the first)."""
    lines = ["Note de frais - comité de campagne", MEMO_BEFORE]
    doc = _new_doc()
    content = _text_page(doc, lines)
    _set_info(
        doc,
        {
            "Title": "Note de frais",
            "Author": PEOPLE[2],
            "Producer": "LibreOffice 5.2",
            "CreationDate": "D:20170306140000+01'00'",
            "ModDate": "D:20170306140000+01'00'",
        },
    )
    _set_id(doc, MEMO_ID, MEMO_ID)
    with tempfile.TemporaryDirectory(prefix="leaktriage-fixture-") as folder:
        path = Path(folder) / "memo.pdf"
        doc.save(path, garbage=1, deflate=True, no_new_id=True)
        doc.close()
        first = path.read_bytes()
        doc = pymupdf.open(path)
        doc.update_stream(content, _text_stream([lines[0], MEMO_AFTER]))
        _set_info(doc, {"ModDate": "D:20170412231500+03'00'", "Producer": "iLovePDF"})
        _set_id(doc, MEMO_ID, "3C5E7A9B1D2F4A6C8E0B2D4F6A8C0E20")
        doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP, no_new_id=True)
        doc.close()
        return first, path.read_bytes()


XMP_MISMATCH = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmp:CreatorTool="Microsoft® Word 2016"
    pdf:Producer="Adobe PDF Library 15.0"
    xmpMM:DocumentID="uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301">
   <dc:creator><rdf:Seq><rdf:li>{FOREIGN_PEOPLE[0]}</rdf:li></rdf:Seq></dc:creator>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Note interne</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>2017-03-20T10:00:00+01:00</xmp:CreateDate>
   <xmp:ModifyDate>2017-04-28T23:15:00+03:00</xmp:ModifyDate>
   <xmp:MetadataDate>2017-04-28T23:15:00+03:00</xmp:MetadataDate>
   <xmpMM:InstanceID>uuid:7d1c0b9a-2e3f-4a5b-8c6d-9e0f1a2b3c4d</xmpMM:InstanceID>
   <xmpMM:OriginalDocumentID>uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301</xmpMM:OriginalDocumentID>
   <xmpMM:History>
    <rdf:Seq>
     <rdf:li stEvt:action="created" stEvt:when="2017-03-20T10:00:00+01:00"
        stEvt:softwareAgent="Microsoft® Word 2016"/>
     <rdf:li rdf:parseType="Resource">
      <stEvt:action>saved</stEvt:action>
      <stEvt:when>2017-04-28T23:15:00+03:00</stEvt:when>
      <stEvt:softwareAgent>Adobe Acrobat Pro DC 15.0</stEvt:softwareAgent>
     </rdf:li>
    </rdf:Seq>
   </xmpMM:History>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def xmp_mismatch_pdf() -> bytes:
    """Info says one author and producer, the XMP packet another (a partial rewrite)."""
    doc = _new_doc()
    _text_page(doc, ["Note interne", "Diffusion restreinte au bureau de campagne."])
    _set_info(
        doc,
        {
            "Title": "Note interne",
            "Author": PEOPLE[2],
            "Creator": "Microsoft® Word 2016",
            "Producer": "Microsoft® Word 2016",
            "CreationDate": "D:20170320100000+01'00'",
            "ModDate": "D:20170320100500+01'00'",
        },
    )
    doc.set_xml_metadata(XMP_MISMATCH)
    _set_id(doc, "9C2E4A6B8D0F1E3C5A7B9D1F3E5C7A9B", "1F3E5C7A9B2D4F6E8A0C2E4A6C8E0A2C")
    return _finish(doc)


def beacon_pdf() -> bytes:
    """A tracking link, an /OpenAction JavaScript beacon, a form with a signature, an attachment."""
    doc = _new_doc()
    _text_page(doc, ["Invitation au meeting du 1er mai", "Cliquez pour confirmer."])
    page = doc[0]
    page.insert_link(
        {"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(72, 60, 300, 90), "uri": BEACON_URL}
    )
    for field_type, name, top in (
        (pymupdf.PDF_WIDGET_TYPE_TEXT, "nom", 200),
        (pymupdf.PDF_WIDGET_TYPE_SIGNATURE, "signature", 260),
    ):
        widget = pymupdf.Widget()
        widget.field_type = field_type
        widget.field_name = name
        widget.rect = pymupdf.Rect(72, top, 300, top + 40)
        page.add_widget(widget)
    script = f'app.launchURL("{BEACON_JS_URL}", true);'
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"<</S/JavaScript/JS{pdf_string(script)}>>")
    attachment = b"Merci de confirmer votre presence.\n"
    stream = doc.embfile_add("confirmation.txt", attachment, desc="Confirmation")
    # PyMuPDF stamps the attachment with the clock; fixed times keep the build reproducible.
    doc.xref_set_key(
        stream,
        "Params",
        f"<</Size {len(attachment)}/CreationDate(D:20170428090000+02'00')"
        "/ModDate(D:20170428090000+02'00')>>",
    )
    _set_info(doc, {"Author": PEOPLE[3], "Producer": "Acrobat PDFMaker 15"})
    _set_id(doc, "2B4D6F8A0C1E3A5C7E9B1D3F5A7C9E0B", "2B4D6F8A0C1E3A5C7E9B1D3F5A7C9E0B")
    return _finish(doc)


def scan_ocr_pdf() -> bytes:
    """Page 1 is a full-page image with an invisible OCR text layer; page 2 is plain text."""
    doc = _new_doc()
    page = doc.new_page(width=A4[0], height=A4[1])
    pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 16, 16), False)
    pixmap.clear_with(230)
    page.insert_image(page.rect, stream=pixmap.tobytes("png"), keep_proportion=False)
    page.insert_text((72, 100), "Facture 2017-031 : 48 500 euros", fontname="helv", render_mode=3)
    _text_page(doc, ["Bordereau de transmission."])
    _set_info(doc, {"Producer": "Scanner ScanSnap Manager", "Author": PEOPLE[4]})
    _set_id(doc, "7E9A1C3E5B7D9F1A3C5E7B9D1F3A5C7E", "7E9A1C3E5B7D9F1A3C5E7B9D1F3A5C7E")
    return _finish(doc)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><r>&b;</r></x:xmpmeta>"""


def hostile_xmp_pdf() -> bytes:
    """An XMP packet declaring entities (billion-laughs shape): refused, Info still read."""
    doc = _new_doc()
    _text_page(doc, ["Compte rendu."])
    doc.set_xml_metadata(LAUGHS)
    _set_info(doc, {"Author": PEOPLE[1], "Producer": "Writer"})
    _set_id(doc, "3C5E7A9C1E3B5D7F9A1C3E5B7D9F1A3C", "3C5E7A9C1E3B5D7F9A1C3E5B7D9F1A3C")
    return _finish(doc)


def truncated_pdf() -> bytes:
    """report.pdf cut before its cross-reference table: MuPDF has to rebuild it."""
    data = report_pdf()
    return data[: data.rindex(b"xref") - 200]


# --- hand-written encrypted files -----------------------------------------------------------

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
ENCRYPTED_ID = bytes.fromhex("A1B2C3D4E5F60718293A4B5C6D7E8F90")
RESTRICTED_PERMISSIONS = -3904
"""/P with printing, copying and changing refused (bits 3-6 clear), as an owner lock sets."""


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _rc4_rounds(key: bytes, data: bytes) -> bytes:
    """RC4 with the key, then 19 more passes with the key XOR 1..19 (revision 3)."""
    for round_ in range(20):
        data = _rc4(bytes(byte ^ round_ for byte in key), data)
    return data


def _padded(password: str) -> bytes:
    return (password.encode("latin-1") + _PAD)[:32]


def _security(user: str, owner: str, permissions: int) -> tuple[bytes, bytes, bytes]:
    """/O, /U and the file key of the standard security handler, revision 3, 128-bit."""
    digest = _md5(_padded(owner))
    for _ in range(50):
        digest = _md5(digest)
    owner_entry = _rc4_rounds(digest[:16], _padded(user))
    digest = _md5(_padded(user) + owner_entry + struct.pack("<i", permissions) + ENCRYPTED_ID)
    for _ in range(50):
        digest = _md5(digest[:16])
    key = digest[:16]
    user_entry = _rc4_rounds(key, _md5(_PAD + ENCRYPTED_ID)) + _PAD[:16]
    return owner_entry, user_entry, key


def _encrypted_pdf(user: str, owner: str, permissions: int) -> bytes:
    owner_entry, user_entry, key = _security(user, owner, permissions)

    def seal(number: int, data: bytes) -> bytes:
        object_key = _md5(key + number.to_bytes(3, "little") + b"\x00\x00")[:16]
        return _rc4(object_key, data)

    def hex_string(number: int, text: str) -> str:
        raw = pdf_string(text)
        plain = bytes.fromhex(raw[1:-1]) if raw.startswith("<") else text.encode("latin-1")
        return "<" + seal(number, plain).hex().upper() + ">"

    content = _text_stream(["Compte rendu confidentiel du bureau politique."])
    info = {
        "Title": "Compte rendu confidentiel",
        "Author": PEOPLE[0],
        "Producer": "Acrobat Distiller 11.0",
        "CreationDate": "D:20170412080000+02'00'",
    }
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]"
        b"/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>",
        b"<</Length %d>>\nstream\n%s\nendstream" % (len(content), seal(4, content)),
        _HELVETICA.encode("ascii"),
        ("<<" + "".join(f"/{k}{hex_string(6, v)}" for k, v in info.items()) + ">>").encode(),
        (
            f"<</Filter/Standard/V 2/R 3/Length 128/P {permissions}"
            f"/O<{owner_entry.hex().upper()}>/U<{user_entry.hex().upper()}>>>"
        ).encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    file_id = ENCRYPTED_ID.hex().upper().encode("ascii")
    out += b"trailer\n<</Size %d/Root 1 0 R/Info 6 0 R/Encrypt 7 0 R/ID[<%s><%s>]>>\n" % (
        len(objects) + 1,
        file_id,
        file_id,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % table
    return bytes(out)


def encrypted_pdf() -> bytes:
    """Needs the user password to open: only the unencrypted structure is readable."""
    return _encrypted_pdf(USER_PASSWORD, OWNER_PASSWORD, -4)


def owner_locked_pdf() -> bytes:
    """Encrypted with an owner password only: opens without one, copying refused."""
    return _encrypted_pdf("", OWNER_PASSWORD, RESTRICTED_PERMISSIONS)


FIXTURES: dict[str, Callable[[], bytes]] = {
    "report.pdf": report_pdf,
    "budget_two_updates.pdf": budget_two_updates_pdf,
    "xmp_mismatch.pdf": xmp_mismatch_pdf,
    "beacon.pdf": beacon_pdf,
    "scan_ocr.pdf": scan_ocr_pdf,
    "hostile_xmp.pdf": hostile_xmp_pdf,
    "encrypted.pdf": encrypted_pdf,
    "owner_locked.pdf": owner_locked_pdf,
    "truncated.pdf": truncated_pdf,
}
