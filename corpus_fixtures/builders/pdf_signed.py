"""Signed PDF fixtures: a quote signed with pyHanko by the invented test CA, then left alone,
filled in, altered, or signed with a certificate that has expired since.

The unsigned document is written with PyMuPDF (fixed /ID and dates, as in ``builders.pdf``),
then signed in an incremental update with pyHanko's ``PdfSigner`` and the keys of
:mod:`corpus_fixtures.signing_keys`, no timestamp server. pyHanko takes the signing time from
the clock and draws the second /ID element at random: both are fixed here (the clock patched
for the signing call, the writer's /ID set), so every build gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from typing import Any
from unittest import mock

from asn1crypto import pem, x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from corpus_fixtures import ORGANISATION
from corpus_fixtures import signing_keys as keys
from corpus_fixtures.builders import pdf

SIGNED_AT = datetime(2017, 4, 12, 10, 0, tzinfo=UTC)
"""When every fixture is signed (inside both certificates' validity)."""
FILE_ID = "5D1B0E6A9C3F47B2A8E41C7D20F96B13"
"""First trailer /ID element of every fixture (the document's permanent identifier)."""
FIELD = "Signature1"
FORM_FIELD = "Visa"
LINES = [
    "Devis n° 2017-118",
    f"Client : {ORGANISATION}",
    "Impression de 20 000 tracts A5",
    "Montant total : 24 000 € TTC",
]
CHANGED_LINE = "Montant total : 240 000 € TTC"
VISA_LINES = [
    "Convention de mise à disposition de salle",
    "Salle du Nouveau Siècle, Lille, jeudi 20 avril 2017 de 18 h à 23 h",
    "Capacité : 1 800 personnes assises ; sonorisation et régie fournies",
    "Le preneur remet les clés au gardien à la fin de la soirée",
]
"""The form-filled fixture's own text (the sample leak's corpus stage must not take the
three signed files for copies of one another)."""
ROUSSEL_LINES = [
    "Attestation de livraison",
    "Quarante cartons d'affiches A2 livrés au local de campagne de Roubaix",
    "Réceptionnés par le responsable logistique, sans réserve",
]
FILLED_VALUE = "Bon pour accord"


def cert(text: str) -> x509.Certificate:
    """A PEM certificate of :mod:`corpus_fixtures.signing_keys` as asn1crypto reads it."""
    return x509.Certificate.load(pem.unarmor(text.encode("ascii"))[2])


def _unsigned(lines: list[str]) -> bytes:
    """The quote as PyMuPDF writes it: one page of text and an empty text field."""
    doc = pdf._new_doc()
    pdf._text_page(doc, lines)
    widget = pdf.pymupdf.Widget()
    widget.field_type = pdf.pymupdf.PDF_WIDGET_TYPE_TEXT
    widget.field_name = FORM_FIELD
    widget.rect = pdf.pymupdf.Rect(72, 200, 320, 222)
    widget.field_value = ""
    doc[0].add_widget(widget)
    pdf._set_info(
        doc,
        {
            "Title": "Devis 2017-118",
            "Author": "Imprimerie du Nord (test)",
            "Producer": "Microsoft® Word 2016",
            "Creator": "Microsoft® Word 2016",
            "CreationDate": "D:20170410090000+02'00'",
            "ModDate": "D:20170410090000+02'00'",
        },
    )
    pdf._set_id(doc, FILE_ID, FILE_ID)
    return pdf._finish(doc)


def _writer(data: bytes, update: int) -> IncrementalPdfFileWriter:
    """An incremental writer on ``data`` whose new /ID second element is fixed."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer._document_id = generic.ArrayObject(
        [
            generic.ByteStringObject(bytes.fromhex(FILE_ID)),
            generic.ByteStringObject(bytes([update]) * 16),
        ]
    )
    return writer


class _Clock(datetime):
    """``datetime`` whose ``now`` is :data:`SIGNED_AT` in UTC, whatever zone is asked for:
    pyHanko asks for the machine's own zone (tzlocal), which must not reach the bytes."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        return SIGNED_AT


@contextmanager
def _fixed_clock() -> Iterator[None]:
    """pyHanko's clock readings (signing time, the Info /ModDate and XMP dates it updates)."""
    with (
        mock.patch("pyhanko.sign.signers.pdf_signer.datetime", _Clock),
        mock.patch("pyhanko.pdf_utils.metadata.info.datetime", _Clock),
        mock.patch("pyhanko.pdf_utils.metadata.xmp_xml.datetime", _Clock),
    ):
        yield


def sign(data: bytes, key_pem: str, cert_pem: str, *, certify: bool = True) -> bytes:
    """``data`` signed in an incremental update (a certification allowing form filling)."""
    key = load_pem_private_key(key_pem.encode("ascii"), None)
    signer = signers.SimpleSigner(
        signing_cert=cert(cert_pem),
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore.from_certs([cert(keys.ROOT_CERT)]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        reason="Bon pour accord",
        location="Lille",
    )
    spec = fields.SigFieldSpec(FIELD, box=(320, 60, 520, 120))
    out = io.BytesIO()
    with _fixed_clock():
        signers.PdfSigner(meta, signer, new_field_spec=spec).sign_pdf(_writer(data, 1), output=out)
    return out.getvalue()


def signed_pdf() -> bytes:
    """Signed by Camille Martin and never touched again: the signature covers the file."""
    return sign(_unsigned(LINES), keys.SIGNER_KEY, keys.SIGNER_CERT)


def signed_form_filled_pdf() -> bytes:
    """Signed, then the "Visa" text field filled in a later update: allowed by /DocMDP 2."""
    signed = sign(_unsigned(VISA_LINES), keys.SIGNER_KEY, keys.SIGNER_CERT)
    writer = _writer(signed, 2)
    for ref in writer.root["/AcroForm"]["/Fields"]:
        form_field = ref.get_object()
        if form_field.get("/T") == FORM_FIELD:
            form_field[generic.pdf_name("/V")] = generic.TextStringObject(FILLED_VALUE)
            writer.mark_update(ref)
    out = io.BytesIO()
    with _fixed_clock():
        writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def signed_then_changed_pdf() -> bytes:
    """Signed, then the amount changed in the page content in a later update: a change no
    signature permission allows (pyHanko: modification level OTHER)."""
    writer = _writer(signed_pdf(), 3)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    lines = [CHANGED_LINE if line.startswith("Montant") else line for line in LINES]
    stream = generic.StreamObject(stream_data=pdf._text_stream(lines))
    page[generic.pdf_name("/Contents")] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    with _fixed_clock():
        writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def signed_expired_cert_pdf() -> bytes:
    """Signed in 2017 by Bastien Roussel, whose certificate ran out in June 2018: valid when
    signed, so the signature still verifies."""
    return sign(_unsigned(ROUSSEL_LINES), keys.EXPIRED_KEY, keys.EXPIRED_CERT)


FIXTURES: dict[str, Callable[[], bytes]] = {
    "signed.pdf": signed_pdf,
    "signed_form_filled.pdf": signed_form_filled_pdf,
    "signed_then_changed.pdf": signed_then_changed_pdf,
    "signed_expired_cert.pdf": signed_expired_cert_pdf,
}
"""Written to ``fixtures/pdf_signed/``; the sample leak takes the three later ones from
:mod:`corpus_fixtures.planted`, labeled, instead of every family's copies."""
