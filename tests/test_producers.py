"""Producer knowledge (rules/producers.yaml): what known writers do by themselves is kept as
an informational finding that names the producer, and weighs nothing in the verdict.

Each entry is tested on a file its producer wrote: XlsxWriter and openpyxl write their own
files here; Office's "Save as PDF" closing section and a DKIM-signed mail are built to the
byte layout those producers use."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pymupdf
import pytest

from corpus_fixtures.builders import dkim as dkim_fx
from leaktriage.api import triage_file
from leaktriage.config import ScanConfig
from leaktriage.model import FileRecord, Finding, Severity
from leaktriage.rules import load_rules


def _finding(record: FileRecord, rule_id: str) -> Finding:
    return next(f for f in record.findings if f.rule_id == rule_id)


def _triage(path: Path, **options: object) -> FileRecord:
    return triage_file(path, config=ScanConfig(workers=0, **options))[0]  # type: ignore[arg-type]


def test_every_entry_loads_and_names_known_rules() -> None:
    ruleset = load_rules()
    assert [e.id for e in ruleset.explanations] == [
        "xlsxwriter-fixed-zip-times",
        "openpyxl-application",
        "office-save-as-pdf-closing-section",
        "closing-xref-section",
        "dkim-signed-date-and-message-id",
        "hosted-mail-message-ids",
        "relays-stamp-utc",
        "publisher-first-author-in-info",
        "libreoffice-totaltime-in-seconds",
        "pdf-whole-file-signature",
        "pdf-signature-permitted-updates",
    ]
    rule_ids = {r.id for r in ruleset.rules}
    assert all(e.explains <= rule_ids for e in ruleset.explanations)


def test_xlsxwriter_zip_times_are_its_own(tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "budget_lyon.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"author": "Claire Martin"})
    book.add_worksheet().write(0, 0, "Budget")
    book.close()
    record = _triage(path)
    found = _finding(record, "ooxml-zip-repacked")
    assert found.severity is Severity.INFO
    assert "not counted: XlsxWriter (Python library)" in found.message
    assert ("doc.application", "Microsoft Excel") in {(e.field, e.value) for e in found.evidence}
    assert record.verdict == "no_signal"


def test_openpyxl_names_itself(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "tresorerie.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "Trésorerie"
    book.properties.creator = "Julien Petit"
    book.save(path)
    record = _triage(path)
    found = _finding(record, "ooxml-zip-repacked")
    assert found.severity is Severity.INFO
    assert "not counted: openpyxl (Python library)" in found.message
    assert record.verdict == "no_signal"


def _office_pdf(extra_object: bool, producer: str = "Microsoft® Word 2016") -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Compte rendu de la réunion du 3 mai")
    doc.set_metadata(
        {
            "producer": producer,
            "creator": producer,
            "creationDate": "D:20170315225615+01'00'",
            "modDate": "D:20170315225615+01'00'",
        }
    )
    first = doc.tobytes(no_new_id=False)
    start = int(re.findall(rb"startxref\s+(\d+)", first)[-1])
    trailer = re.findall(rb"trailer\s*(<<.*?>>)\s*startxref", first, re.S)
    body = b""
    if extra_object:  # a later edit: an object added after the first save
        body = b"99 0 obj\n(changed)\nendobj\n"
    # Word's closing section: an empty cross-reference section pointing back to the first.
    section = (
        body
        + b"xref\n0 0\ntrailer\n"
        + (trailer[-1][:-2] if trailer else b"<<")
        + b"/Prev "
        + str(start).encode()
        + b">>\nstartxref\n"
    )
    offset = len(first) + len(body)
    return first + section + str(offset).encode() + b"\n%%EOF\n"


def test_office_save_as_pdf_closing_section_is_one_save(tmp_path: Path) -> None:
    path = tmp_path / "compte_rendu.pdf"
    path.write_bytes(_office_pdf(extra_object=False))
    record = _triage(path)
    assert record.fields["pdf.incremental_updates"] == 1
    assert record.fields["pdf.last_update_same_info"] is True
    found = _finding(record, "pdf-incremental-update-once")
    assert found.severity is Severity.INFO
    assert 'Microsoft Office "Save as PDF"' in found.message


def test_a_closing_section_from_another_writer_is_one_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "converti.pdf"
    path.write_bytes(_office_pdf(extra_object=False, producer="convertonlinefree.com"))
    record = _triage(path)
    assert record.fields["doc.producer"] == "convertonlinefree.com"
    found = _finding(record, "pdf-incremental-update-once")
    assert found.severity is Severity.INFO
    assert "not counted: PDF writers that end the file with a closing" in found.message


def test_an_update_that_adds_an_object_is_not_a_closing_section(tmp_path: Path) -> None:
    path = tmp_path / "compte_rendu.pdf"
    path.write_bytes(_office_pdf(extra_object=True))
    record = _triage(path)
    assert record.fields["pdf.last_update_objects"] == 1
    found = _finding(record, "pdf-incremental-update-once")
    assert found.severity is Severity.LOW
    assert "not counted" not in found.message


def _signed_mail(date: str) -> bytes:
    message = dkim_fx._message(
        dkim_fx.address(dkim_fx.PEOPLE[1]),
        "Salles",
        date,
        f"<20170504080000.3001@{dkim_fx.DOMAIN}>",
        dkim_fx.BODY,
    ).as_bytes()
    signed = dkim_fx.sign(message)
    relay = (
        b"Received: from mx.campagne-exemple.fr by mail.exemple.net;"
        b" Thu, 04 May 2017 09:00:05 +0100\r\n"
    )
    return relay + signed


def test_dkim_signature_covering_date_shields_the_offset_rule(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_bytes(dkim_fx.key_store())
    mail = tmp_path / "salles.eml"
    # The sender's clock in Moscow time, the relay in Central European time: the offset
    # rule's fact.
    mail.write_bytes(_signed_mail("Thu, 04 May 2017 10:59:00 +0300"))
    record = _triage(mail, dkim_keys=str(keys))
    assert record.fields["email.dkim_result"] == "pass"
    found = _finding(record, "email-date-offset-outside-chain")
    assert found.severity is Severity.INFO
    assert "not counted: A verified DKIM signature" in found.message


def test_the_same_mail_unsigned_keeps_the_finding(tmp_path: Path) -> None:
    mail = tmp_path / "salles.eml"
    unsigned = _signed_mail("Thu, 04 May 2017 10:59:00 +0300")
    unsigned = re.sub(rb"DKIM-Signature:.*?\r?\n(?=\S)", b"", unsigned, flags=re.S)
    mail.write_bytes(unsigned)
    record = _triage(mail)
    assert "email.dkim_result" not in record.fields or record.fields["email.dkim_result"] != "pass"
    found = _finding(record, "email-date-offset-outside-chain")
    assert found.severity is Severity.LOW
    assert "not counted" not in found.message


def _plain_mail(message_id: str, date: str, received: list[str]) -> bytes:
    lines = [
        f"Received: from relay{n}.exemple.net by mx.exemple.net; {r}"
        for n, r in enumerate(received)
    ]
    lines += [
        "From: Lettre de campagne <info@campagne-exemple.fr>",
        "To: Claire Martin <claire.martin@exemple.fr>",
        "Subject: Programme de la semaine",
        f"Date: {date}",
        f"Message-ID: {message_id}",
        "",
        "Bonjour, voici le programme.",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_a_bulk_mail_service_writes_its_own_message_id(tmp_path: Path) -> None:
    mail = tmp_path / "programme.eml"
    mail.write_bytes(
        _plain_mail(
            "<0100017f2c1e3a4b-5c6d7e8f-1234-5678-9abc-def012345678-000000@email.amazonses.com>",
            "Mon, 24 Apr 2017 09:00:00 +0200",
            ["Mon, 24 Apr 2017 07:00:03 +0000"],
        )
    )
    found = _finding(_triage(mail), "email-message-id-domain-mismatch")
    assert found.severity is Severity.INFO
    assert "not counted: Hosted mail services and bulk-mail senders" in found.message


def test_an_unknown_host_in_the_message_id_keeps_the_finding(tmp_path: Path) -> None:
    mail = tmp_path / "programme.eml"
    mail.write_bytes(
        _plain_mail(
            "<5e1f0c2a.1c69fb81.7d1f.3a2b@mx1.mailhost-24.ru>",
            "Mon, 24 Apr 2017 09:00:00 +0200",
            ["Mon, 24 Apr 2017 09:00:03 +0200"],
        )
    )
    found = _finding(_triage(mail), "email-message-id-domain-mismatch")
    assert found.severity is Severity.LOW
    assert "not counted" not in found.message


def test_relays_in_utc_say_nothing_of_the_senders_zone(tmp_path: Path) -> None:
    mail = tmp_path / "programme.eml"
    received = ["Mon, 24 Apr 2017 07:00:03 +0000", "Mon, 24 Apr 2017 07:00:01 +0000"]
    mail.write_bytes(
        _plain_mail("<abc@campagne-exemple.fr>", "Mon, 24 Apr 2017 09:00:00 +0200", received)
    )
    record = _triage(mail)
    assert record.fields["email.received_offsets"] == ("+00:00",)
    found = _finding(record, "email-date-offset-outside-chain")
    assert found.severity is Severity.INFO
    assert "not counted: Mail relays that stamp UTC" in found.message


def _pdf_with_authors(info_author: str, xmp_authors: list[str]) -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Actes du colloque")
    doc.set_metadata({"author": info_author, "title": "Actes du colloque"})
    items = "".join(f"<rdf:li>{a}</rdf:li>" for a in xmp_authors)
    doc.set_xml_metadata(
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:creator><rdf:Seq>{items}</rdf:Seq></dc:creator>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return bytes(doc.tobytes())


def test_a_publisher_puts_the_first_author_in_the_properties(tmp_path: Path) -> None:
    path = tmp_path / "actes.pdf"
    path.write_bytes(_pdf_with_authors("Claire Martin", ["Claire Martin", "Julien Petit"]))
    record = _triage(path)
    found = _finding(record, "pdf-info-xmp-author-mismatch")
    assert found.severity is Severity.INFO
    assert "not counted: Publishers and LaTeX" in found.message


def test_another_name_in_the_properties_keeps_the_finding(tmp_path: Path) -> None:
    path = tmp_path / "actes.pdf"
    path.write_bytes(_pdf_with_authors("Georges Leroy", ["Claire Martin", "Julien Petit"]))
    found = _finding(_triage(path), "pdf-info-xmp-author-mismatch")
    assert found.severity is Severity.MEDIUM
    assert "not counted" not in found.message


def _calc_xlsx(path: Path, workbook_app: str) -> None:
    """A workbook as an old LibreOffice Calc writes it: fileVersion appName="Calc" and the
    editing time in seconds (4,288 s = 71 min) in app.xml, between a creation and a last
    save 25 hours apart."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active["A1"] = "Date"
    plain = io.BytesIO()
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/app.xml":
                data = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.'
                    b'openxmlformats.org/officeDocument/2006/extended-properties">'
                    b"<TotalTime>4288</TotalTime></Properties>"
                )
            elif info.filename == "docProps/core.xml":
                for tag, when in (
                    (b"created", b"2014-09-26T21:04:00Z"),
                    (b"modified", b"2014-09-27T22:23:18Z"),
                ):
                    data = re.sub(
                        rb"(<dcterms:" + tag + rb"[^>]*>)[^<]*(</dcterms:" + tag + rb">)",
                        lambda m, w=when: m.group(1) + w + m.group(2),
                        data,
                    )
            elif info.filename == "xl/workbook.xml":
                version = b'<fileVersion appName="' + workbook_app.encode() + b'"/>'
                data = re.sub(
                    rb"(<workbook [^>]*>)", lambda m, v=version: m.group(1) + v, data, count=1
                )
            target.writestr(info, data)


def test_libreoffice_writes_editing_time_in_seconds(tmp_path: Path) -> None:
    path = tmp_path / "dates.xlsx"
    _calc_xlsx(path, "Calc")
    record = _triage(path)
    assert record.fields["ooxml.workbook_app"] == "Calc"
    assert record.fields["doc.edit_time_s"] == 4288 * 60
    found = _finding(record, "edit-time-exceeds-span")
    assert found.severity is Severity.INFO
    assert "not counted: LibreOffice (Office Open XML export)" in found.message


def test_excel_editing_time_longer_than_its_span_keeps_the_finding(tmp_path: Path) -> None:
    path = tmp_path / "dates.xlsx"
    _calc_xlsx(path, "xl")
    found = _finding(_triage(path), "edit-time-exceeds-span")
    assert found.severity is Severity.LOW
    assert "not counted" not in found.message
