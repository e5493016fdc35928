"""PDF digital signatures verified offline with pyHanko: intact, valid when signed, trusted.

A signature that still verifies is the strongest evidence a PDF can carry in its favour: the
signed revision is byte for byte what the signer's key signed. One that no longer verifies,
or whose signed revision was followed by changes its permissions do not allow, is strong
evidence of alteration. Each signature is judged as of its signing time (the RFC 3161
timestamp token's time when there is one, else the time the signer's software wrote), so a
certificate that merely expired since is not a failure.

Nothing goes online and nothing depends on the machine: chains are built only to the roots
given with ``--trust-roots`` (none: "not checked"), from the certificates the file embeds
(the signature's CMS set and the Document Security Store), with the CRLs and OCSP responses
it embeds; revocation is "not checked" without them. pyHanko is imported on first use, only
for a file that has a signature value, and every failure of it on a hostile file becomes an
issue on the record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import warnings
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaktriage.errors import EXIT_MALFORMED, LeakTriageError
from leaktriage.extractors import Extraction

log = logging.getLogger(__name__)

MAX_SIGNATURES = 16
"""Signature fields verified per file; the others are counted and said in an issue."""
MAX_SIGNED_BYTES = 64 * 1024 * 1024
"""Larger PDFs keep their signature count but are not verified (pyHanko holds the file and
the difference analysis walks every object of every later revision)."""
MAX_CHANGED_OBJECTS = 40
"""Object numbers listed per later revision in ``pdf.sig_changed_objects``."""
MAX_ROOTS = 1000
"""Certificates read from a ``--trust-roots`` bundle at most."""
NONE = "-"
"""A per-signature list entry with no value (lists keep one entry per signature)."""
NOT_CHECKED = "not checked"


class TrustRootsError(LeakTriageError):
    """The ``--trust-roots`` file is unreadable or holds no usable certificate."""

    exit_code = EXIT_MALFORMED


@lru_cache(maxsize=4)
def trust_roots(path: str | None) -> tuple[bytes, ...]:
    """The DER certificates of the PEM bundle at ``path``, read once per process (none for
    None); raises :class:`TrustRootsError` naming what is wrong."""
    if not path:
        return ()
    from asn1crypto import pem, x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TrustRootsError(f"{path}: unreadable: {exc.strerror or exc}") from exc
    roots: list[bytes] = []
    try:
        for kind, _, der in pem.unarmor(data, multiple=True):
            if kind != "CERTIFICATE":
                continue
            cert = x509.Certificate.load(der)
            cert.subject.human_friendly  # noqa: B018  (parses now, not during a scan)
            roots.append(der)
            if len(roots) >= MAX_ROOTS:
                break
    except (ValueError, TypeError) as exc:
        raise TrustRootsError(f"{path}: not a PEM certificate bundle: {exc}") from exc
    if not roots:
        raise TrustRootsError(f"{path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
    return tuple(roots)


@dataclass(slots=True)
class Checked:
    """What the verification of one signature field found; strings as the facts hold them."""

    name: str
    revision: int = 1 << 30
    """The revision the signature signed (pyHanko's count from 0); unknown ones sort last."""
    kind: str = NONE
    signer: str = NONE
    subject: str = NONE
    issuer: str = NONE
    serial: str = NONE
    not_before: str = NONE
    not_after: str = NONE
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    byte_range: str = NONE
    intact: str = "unknown"
    """true, false (digest mismatch, or a signature value that cannot be read at all), or
    unknown (the verifier failed on the file after reading the signature)."""
    valid: str = "unknown"
    trusted: str = NOT_CHECKED
    whole_file: bool = False
    coverage: str = NONE
    modification_level: str = NONE
    docmdp_ok: str = NONE
    revocation: str = NOT_CHECKED
    cert_at_signing: str = "unknown"
    changed: list[str] = field(default_factory=list)
    problem: str = ""


def put_signatures(data: bytes, roots_file: str | None, out: Extraction) -> None:
    """Verify every signature field of the PDF ``data`` and write the ``pdf.sig_*`` facts;
    any failure is an issue on the record, never an exception."""
    if len(data) > MAX_SIGNED_BYTES:
        out.note("limit", f"signatures not verified: file over {MAX_SIGNED_BYTES} bytes")
        return
    try:
        roots = trust_roots(roots_file)
    except TrustRootsError as exc:
        out.note("trust_roots", str(exc)[:500])
        roots = ()
    try:
        found = _verify_file(data, roots, roots_file is not None and bool(roots), out)
    except Exception as exc:
        log.debug("pdf signatures unreadable", exc_info=True)
        out.note("signature", f"signatures unreadable: {type(exc).__name__}: {exc}"[:2000])
        return
    _put(found, out)


def _verify_file(
    data: bytes, roots: tuple[bytes, ...], with_roots: bool, out: Extraction
) -> list[Checked]:
    import io

    _quiet_pyhanko()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    if reader.encrypted:
        out.note("encrypted", "signatures not verified: the PDF is encrypted")
        return []
    filled = [(name, sig_field) for name, value, sig_field in enumerate_sig_fields(reader) if value]
    if len(filled) > MAX_SIGNATURES:
        out.note(
            "limit", f"{len(filled)} signatures, only the first {MAX_SIGNATURES} were verified"
        )
    found: list[Checked] = []
    for name, sig_field in filled[:MAX_SIGNATURES]:
        checked = Checked(name=str(name))
        try:
            _verify_field(reader, sig_field, checked, roots, with_roots)
        except Exception as exc:
            log.debug("pdf signature %s unreadable", name, exc_info=True)
            checked.problem = f"{type(exc).__name__}: {exc}"
            out.note("signature", f"signature {name!r} not verifiable: {checked.problem}"[:2000])
        found.append(checked)
    return sorted(found, key=lambda c: c.revision)


def _quiet_pyhanko() -> None:
    """pyHanko logs every failed path and odd file with a traceback; here each one becomes
    an issue on the record instead of noise in the scan's log."""
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # pyHanko imports cryptography's DSA module, which warns on import in recent versions.
    warnings.filterwarnings("ignore", message="DSA is deprecated")


def _verify_field(
    reader: Any, sig_field: Any, checked: Checked, roots: tuple[bytes, ...], with_roots: bool
) -> None:
    from pyhanko.sign.validation import EmbeddedPdfSignature

    checked.intact = checked.valid = "false"  # until the signature value is read
    emb = EmbeddedPdfSignature(reader, sig_field, checked.name)
    checked.revision = int(emb.signed_revision)
    checked.byte_range = " ".join(str(int(n)) for n in emb.byte_range)
    timestamp = emb.sig_object_type == "/DocTimeStamp"
    checked.kind = "timestamp" if timestamp else "approval"
    if not timestamp and emb.docmdp_level is not None:
        checked.kind = "certification"
    cert = emb.signer_cert
    _describe_cert(cert, checked)
    checked.intact = checked.valid = "unknown"
    reported = None if timestamp else emb.self_reported_timestamp
    checked.signing_time = _utc(reported) if reported is not None else None
    checked.timestamp_time = _token_time(emb, timestamp)
    moment = checked.timestamp_time or checked.signing_time
    checked.cert_at_signing = _window(cert, moment)
    # Without any signing time, chains are built as of the certificate's first day: never
    # the clock of the machine that scans.
    context = _context(reader, emb, roots, moment or _utc(cert.not_valid_before))
    status = _run(_validate(emb, context, timestamp))
    checked.intact = _flag(bool(status.intact))
    # A signature without any signing time (no /M, no signingTime, no token) is judged on
    # its cryptography alone: no time, no date to find the certificate outside of.
    dates_ok = checked.cert_at_signing in ("valid", "unknown")
    valid = bool(status.intact and status.valid) and dates_ok
    checked.valid = _flag(valid)
    checked.trusted = str(bool(status.trusted)).lower() if with_roots else NOT_CHECKED
    if timestamp and status.timestamp is not None:
        checked.timestamp_time = _utc(status.timestamp)
    coverage = status.coverage
    checked.coverage = coverage.name if coverage is not None else NONE
    checked.whole_file = coverage is not None and coverage.name == "ENTIRE_FILE"
    level = status.modification_level
    checked.modification_level = level.name if level is not None else NONE
    checked.docmdp_ok = NONE if status.docmdp_ok is None else str(status.docmdp_ok).lower()
    checked.revocation = _revocation(status, context, with_roots)
    if status.docmdp_ok is False or checked.modification_level == "OTHER":
        checked.changed = _changed_objects(reader, checked.revision)


def _describe_cert(cert: Any, checked: Checked) -> None:
    """Signer, subject, issuer, serial and validity window of the signer's certificate."""
    from cryptography import x509

    parsed = x509.load_der_x509_certificate(cert.dump())
    names = parsed.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    checked.signer = str(names[0].value) if names else NONE
    checked.subject = parsed.subject.rfc4514_string() or NONE
    checked.issuer = parsed.issuer.rfc4514_string() or NONE
    checked.serial = f"{parsed.serial_number:X}"
    checked.not_before = _iso(parsed.not_valid_before_utc)
    checked.not_after = _iso(parsed.not_valid_after_utc)


def _token_time(emb: Any, timestamp: bool) -> datetime | None:
    """The time in the signature's RFC 3161 timestamp token (or the document timestamp's)."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    if timestamp:
        tokens = [emb.signed_data]
    else:
        try:
            tokens = list(extract_tst_data_iter(emb.signer_info, signed=False))
        except (KeyError, ValueError):
            return None
    for token in tokens:
        info = token["encap_content_info"]["content"].parsed
        return _utc(info["gen_time"].native)
    return None


def _window(cert: Any, moment: datetime | None) -> str:
    """Whether the certificate was within its validity window at ``moment``."""
    if moment is None:
        return "unknown"
    if moment < _utc(cert.not_valid_before):
        return "not yet valid"
    if moment > _utc(cert.not_valid_after):
        return "expired"
    return "valid"


def _context(reader: Any, emb: Any, roots: tuple[bytes, ...], moment: datetime) -> Any:
    """A validation context that never fetches and never falls back to the system's roots."""
    from asn1crypto import x509
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError

    crls, ocsps = _embedded_revocation(emb)
    kwargs: dict[str, Any] = {
        # An empty list, never None: None means the operating system's roots.
        "trust_roots": [x509.Certificate.load(der) for der in roots],
        "allow_fetching": False,
        "other_certs": [*emb.other_embedded_certs, emb.signer_cert],
        "moment": moment,
        "revocation_mode": "soft-fail",
        "crls": crls,
        "ocsps": ocsps,
    }
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except NoDSSFoundError:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(**kwargs)


def _embedded_revocation(emb: Any) -> tuple[list[Any], list[Any]]:
    """CRLs and OCSP responses inside the signature (CMS set and Adobe's signed attribute)."""
    from pyhanko.sign.general import NonexistentAttributeError, find_unique_cms_attribute

    crls = [c.chosen for c in emb.signed_data["crls"] or () if c.name == "crl"]
    ocsps: list[Any] = []
    try:
        archival = find_unique_cms_attribute(
            emb.signer_info["signed_attrs"], "adobe_revocation_info_archival"
        )
        crls.extend(archival["crl"] or ())
        ocsps.extend(archival["ocsp"] or ())
    except (NonexistentAttributeError, KeyError, ValueError):
        pass
    return crls, ocsps


async def _validate(emb: Any, context: Any, timestamp: bool) -> Any:
    from pyhanko.sign.validation import pdf_embedded

    if timestamp:
        return await pdf_embedded.async_validate_pdf_timestamp(emb, validation_context=context)
    return await pdf_embedded.async_validate_pdf_signature(emb, signer_validation_context=context)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run pyHanko's coroutine to its end, also when the caller is inside an event loop
    (``triage_file`` called from a notebook): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _revocation(status: Any, context: Any, with_roots: bool) -> str:
    """``revoked``, ``good`` (embedded CRL/OCSP checked) or ``not checked``."""
    indication = getattr(status, "trust_problem_indic", None)
    if indication is not None and "REVOKED" in indication.name:
        return "revoked"
    manager = context.revinfo_manager
    embedded = bool(manager.crls or manager.ocsps)
    return "good" if with_roots and embedded and status.trusted else NOT_CHECKED


def _changed_objects(reader: Any, signed_revision: int) -> list[str]:
    """The object numbers each later revision's cross-reference section writes or frees."""
    xrefs = reader.xrefs
    lines: list[str] = []
    for revision in range(signed_revision + 1, xrefs.total_revisions):
        refs = xrefs.explicit_refs_in_revision(revision) | xrefs.refs_freed_in_revision(revision)
        numbers = sorted({ref.idnum for ref in refs})
        shown = ", ".join(str(n) for n in numbers[:MAX_CHANGED_OBJECTS])
        more = (
            f" (+{len(numbers) - MAX_CHANGED_OBJECTS} more)"
            if len(numbers) > MAX_CHANGED_OBJECTS
            else ""
        )
        lines.append(f"revision {revision + 1}: objects {shown or 'none'}{more}")
    return lines


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else NONE


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _put(found: list[Checked], out: Extraction) -> None:
    """The ``pdf.sig_*`` facts: one list entry per signature field, in signing order."""
    if not found:
        return

    def each(name: str, values: Iterable[str]) -> None:
        out.put(name, tuple(values))

    out.put("pdf.sig_checked", len(found))
    out.put("pdf.sig_verified", sum(c.valid == "true" for c in found))
    each("pdf.sig_fields", (c.name for c in found))
    each("pdf.sig_kind", (c.kind for c in found))
    each("pdf.sig_signer", (c.signer for c in found))
    each("pdf.sig_cert_subject", (c.subject for c in found))
    each("pdf.sig_cert_issuer", (c.issuer for c in found))
    each("pdf.sig_cert_serial", (c.serial for c in found))
    each("pdf.sig_cert_not_before", (c.not_before for c in found))
    each("pdf.sig_cert_not_after", (c.not_after for c in found))
    each("pdf.sig_cert_at_signing", (c.cert_at_signing for c in found))
    each("pdf.sig_signing_time", (_iso(c.signing_time) for c in found))
    each("pdf.sig_timestamp_time", (_iso(c.timestamp_time) for c in found))
    each("pdf.sig_byte_range", (c.byte_range for c in found))
    each("pdf.sig_intact", (c.intact for c in found))
    each("pdf.sig_valid", (c.valid for c in found))
    each("pdf.sig_trusted", (c.trusted for c in found))
    each("pdf.sig_covers_whole_file", (_flag(c.whole_file) for c in found))
    each("pdf.sig_coverage", (c.coverage for c in found))
    each("pdf.sig_modification_level", (c.modification_level for c in found))
    each("pdf.sig_docmdp_ok", (c.docmdp_ok for c in found))
    each("pdf.sig_revocation", (c.revocation for c in found))
    each(
        "pdf.sig_changed_objects",
        (f"{c.name}, {line}" for c in found for line in c.changed),
    )
    times = [t for c in found for t in (c.timestamp_time or c.signing_time,) if t is not None]
    if times:
        out.put("pdf.sig_last_signed_at", max(times))
    out.put("pdf.sig_whole_file_verified", any(c.valid == "true" and c.whole_file for c in found))
