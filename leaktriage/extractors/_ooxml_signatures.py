"""Office XML digital signatures (``_xmlsignatures/sigN.xml`` in a docx, xlsx or pptx):
their presence, who signed and when, as the package says. Not verified.

An Office signature is an XML-DSig ``Signature`` over a list of the package's parts
(``Object/Manifest``), with the signer's certificate in ``KeyInfo/X509Data`` and the signing
time twice: the OPC ``mdssi:SignatureTime`` and, in XAdES signatures (Office 2010 and later),
``xades:SigningTime``. Verifying one means canonicalising every listed part, which is left for
later; what is recorded here is what a reader of the file can check by hand, and a signature
the package still carries after its parts changed is exactly what a later verification would
catch. ``ECMA-376 Part 2, 13`` (Digital Signatures) and ``XAdES (ETSI EN 319 132-1)``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from xml.etree import ElementTree as ET

from leaktriage.extractors import Extraction

SIGNATURE_PREFIX = "_xmlsignatures/"
"""Where Office keeps signature parts (lower case, as the package's member index is)."""
MAX_SIGNATURES = 16
"""Signature parts read per package (a package with more is said to have them all)."""
CERT_BYTES = 64 * 1024
"""Longest base64 certificate decoded for its subject."""

_DSIG = "{http://www.w3.org/2000/09/xmldsig#}"
_MDSSI = "{http://schemas.openxmlformats.org/package/2006/digital-signature}"
_XADES = ("{http://uri.etsi.org/01903/v1.3.2#}", "{http://uri.etsi.org/01903/v1.4.1#}")
_OFFICE = "{http://schemas.microsoft.com/office/2006/digsig}"


def signature_parts(names: Iterable[str]) -> list[str]:
    """The package's signature parts (``_xmlsignatures/sig1.xml`` ...), sorted."""
    return sorted(
        n
        for n in names
        if n.startswith(SIGNATURE_PREFIX) and n.endswith(".xml") and "/_rels/" not in n
    )


def put_xml_signatures(
    names: Iterable[str], parse: Callable[[str], ET.Element | None], out: Extraction
) -> None:
    """Facts of the package's XML signatures: how many, and each one's signer, certificate
    issuer, signing time and comment as the signature part states them (``-`` where absent).
    ``parse`` reads one part safely (it notes its own problems)."""
    parts = signature_parts(names)
    if not parts:
        return
    out.put("ooxml.xml_signature_count", len(parts))
    if len(parts) > MAX_SIGNATURES:
        out.note("limit.signatures", f"{len(parts)} signature parts; first {MAX_SIGNATURES} read")
    signers: list[str] = []
    issuers: list[str] = []
    times: list[str] = []
    comments: list[str] = []
    for name in parts[:MAX_SIGNATURES]:
        root = parse(name)
        if root is None or root.tag != f"{_DSIG}Signature":
            continue
        signer, issuer = _certificate(root)
        signers.append(signer or "-")
        issuers.append(issuer or "-")
        times.append(_signing_time(root) or "-")
        comments.append(_text(root, f".//{_OFFICE}SignatureComments") or "-")
    if signers:
        out.put("ooxml.xml_signature_signers", tuple(signers))
        out.put("ooxml.xml_signature_issuers", tuple(issuers))
        out.put("ooxml.xml_signature_times", tuple(times))
    if any(c != "-" for c in comments):
        out.put("ooxml.xml_signature_comments", tuple(comments))


def _text(root: ET.Element, path: str) -> str | None:
    element = root.find(path)
    text = (element.text or "").strip() if element is not None else ""
    return text[:500] or None


def _signing_time(root: ET.Element) -> str | None:
    """XAdES ``SigningTime`` when present (it is inside the signed properties), else the OPC
    ``SignatureTime`` value."""
    for namespace in _XADES:
        found = _text(root, f".//{namespace}SigningTime")
        if found:
            return found
    return _text(root, f".//{_MDSSI}SignatureTime/{_MDSSI}Value")


def _certificate(root: ET.Element) -> tuple[str | None, str | None]:
    """(subject, issuer) of the signer's certificate: from the embedded certificate when it
    decodes, else the ``X509SubjectName`` / ``X509IssuerName`` the signature states."""
    subject = _text(root, f".//{_DSIG}X509Data/{_DSIG}X509SubjectName")
    issuer = _text(root, f".//{_DSIG}X509IssuerSerial/{_DSIG}X509IssuerName")
    encoded = _text_all(root, f".//{_DSIG}X509Data/{_DSIG}X509Certificate")
    if encoded and len(encoded) <= CERT_BYTES:
        try:
            from cryptography import x509

            cert = x509.load_der_x509_certificate(base64.b64decode("".join(encoded.split())))
            return cert.subject.rfc4514_string()[:500], cert.issuer.rfc4514_string()[:500]
        except (ValueError, binascii.Error):
            pass  # a certificate that does not decode: the stated names, if any
    return subject, issuer


def _text_all(root: ET.Element, path: str) -> str | None:
    element = root.find(path)
    return (element.text or "").strip() or None if element is not None else None
