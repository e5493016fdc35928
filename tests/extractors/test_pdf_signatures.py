"""PDF signatures verified offline: each signed fixture gives its exact facts, trust only
with --trust-roots, an expired-since certificate still verifies, changes after signing are
named, a damaged signature is an issue and never an exception, and nothing goes online."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from corpus_fixtures import signing_keys
from corpus_fixtures.builders import pdf_signed as fx
from leaktriage.extractors import Extraction, Source
from leaktriage.extractors._pdf_signatures import TrustRootsError, trust_roots
from leaktriage.extractors.pdf import extract
from leaktriage.model import Status

SUBJECT = "CN=Camille Martin,O=En Avant Ensemble (test),C=FR"
ISSUER = "CN=Test Root CA,O=Exemple Confiance (test),C=FR"


@cache
def _bytes(name: str) -> bytes:
    return fx.FIXTURES[name]()


def _roots(tmp_path: Path) -> str:
    path = tmp_path / "roots.pem"
    path.write_text(signing_keys.ROOT_CERT, encoding="ascii")
    return str(path)


def _extract(data: bytes, roots: str | None = None) -> Extraction:
    source = Source(
        name="x.pdf", mime="application/pdf", size=len(data), data=data, trust_roots=roots
    )
    return extract(source)


def _sig(out: Extraction) -> dict[str, object]:
    return {k: v for k, v in out.fields.items() if k.startswith("pdf.sig_")}


def test_signed_whole_file_exact_facts() -> None:
    out = _extract(_bytes("signed.pdf"))
    assert out.status is Status.OK and out.issues == []
    byte_range = _sig(out)["pdf.sig_byte_range"]
    assert _sig(out) == {
        "pdf.sig_checked": 1,
        "pdf.sig_verified": 1,
        "pdf.sig_whole_file_verified": True,
        "pdf.sig_last_signed_at": datetime(2017, 4, 12, 10, 0, tzinfo=UTC),
        "pdf.sig_fields": ("Signature1",),
        "pdf.sig_kind": ("certification",),
        "pdf.sig_signer": ("Camille Martin",),
        "pdf.sig_cert_subject": (SUBJECT,),
        "pdf.sig_cert_issuer": (ISSUER,),
        "pdf.sig_cert_serial": ("2002",),
        "pdf.sig_cert_not_before": ("2016-01-01T00:00:00Z",),
        "pdf.sig_cert_not_after": ("2040-01-01T00:00:00Z",),
        "pdf.sig_cert_at_signing": ("valid",),
        "pdf.sig_signing_time": ("2017-04-12T10:00:00Z",),
        "pdf.sig_timestamp_time": ("-",),
        "pdf.sig_byte_range": byte_range,
        "pdf.sig_intact": ("true",),
        "pdf.sig_valid": ("true",),
        "pdf.sig_trusted": ("not checked",),
        "pdf.sig_covers_whole_file": ("true",),
        "pdf.sig_coverage": ("ENTIRE_FILE",),
        "pdf.sig_modification_level": ("NONE",),
        "pdf.sig_docmdp_ok": ("true",),
        "pdf.sig_revocation": ("not checked",),
    }
    # The byte range ends at the end of the file: the signature covers every byte.
    start, _, second, length = (int(n) for n in str(byte_range[0]).split())  # type: ignore[index]
    assert start == 0 and second + length == len(_bytes("signed.pdf"))


def test_trusted_only_with_the_given_roots(tmp_path: Path) -> None:
    data = _bytes("signed.pdf")
    assert _extract(data).fields["pdf.sig_trusted"] == ("not checked",)
    assert _extract(data, _roots(tmp_path)).fields["pdf.sig_trusted"] == ("true",)
    other = tmp_path / "other.pem"  # a bundle holding an unrelated certificate: no chain
    other.write_text(signing_keys.EXPIRED_CERT, encoding="ascii")
    trust_roots.cache_clear()
    out = _extract(data, str(other))
    assert out.fields["pdf.sig_trusted"] == ("false",)
    assert out.fields["pdf.sig_valid"] == ("true",)  # untrusted is not "no longer verifies"


def test_a_bundle_without_certificates_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n", encoding="ascii")
    with pytest.raises(TrustRootsError, match="not a PEM certificate bundle"):
        trust_roots(str(bad))


def test_form_filled_after_signing_is_permitted(tmp_path: Path) -> None:
    out = _extract(_bytes("signed_form_filled.pdf"), _roots(tmp_path))
    facts = _sig(out)
    assert facts["pdf.sig_valid"] == ("true",)
    assert facts["pdf.sig_trusted"] == ("true",)
    assert facts["pdf.sig_coverage"] == ("ENTIRE_REVISION",)
    assert facts["pdf.sig_covers_whole_file"] == ("false",)
    assert facts["pdf.sig_modification_level"] == ("FORM_FILLING",)
    assert facts["pdf.sig_docmdp_ok"] == ("true",)
    assert facts["pdf.sig_whole_file_verified"] is False
    assert "pdf.sig_changed_objects" not in facts


def test_changed_outside_the_permissions_names_the_objects() -> None:
    out = _extract(_bytes("signed_then_changed.pdf"))
    facts = _sig(out)
    assert facts["pdf.sig_intact"] == ("true",)  # the signed revision itself is untouched
    assert facts["pdf.sig_modification_level"] == ("OTHER",)
    assert facts["pdf.sig_docmdp_ok"] == ("false",)
    # Revision 3 (pyHanko's 2): the new content stream, the page pointing at it, the Info.
    assert facts["pdf.sig_changed_objects"] == ("Signature1, revision 3: objects 3, 5, 18",)
    assert out.fields["pdf.revision_count"] == 3


def test_certificate_expired_since_signing_still_verifies(tmp_path: Path) -> None:
    out = _extract(_bytes("signed_expired_cert.pdf"), _roots(tmp_path))
    facts = _sig(out)
    assert facts["pdf.sig_signer"] == ("Bastien Roussel",)
    assert facts["pdf.sig_cert_not_after"] == ("2018-06-01T00:00:00Z",)
    assert facts["pdf.sig_cert_at_signing"] == ("valid",)
    assert facts["pdf.sig_valid"] == ("true",)
    assert facts["pdf.sig_trusted"] == ("true",)  # the chain is checked as of 2017-04-12
    assert facts["pdf.sig_whole_file_verified"] is True


def _damage_contents(data: bytes, at: int) -> bytes:
    """Flip one hex digit of the signature's /Contents, ``at`` digits into it."""
    start = data.index(b"/Contents <") + len(b"/Contents <") + at
    digit = data[start : start + 1]
    return data[:start] + (b"1" if digit != b"1" else b"2") + data[start + 1 :]


def test_unparsable_signature_value_is_not_intact_and_an_issue() -> None:
    out = _extract(_damage_contents(_bytes("signed.pdf"), 0))  # the DER header itself
    assert out.fields["pdf.sig_intact"] == ("false",)
    assert out.fields["pdf.sig_valid"] == ("false",)
    assert out.fields["pdf.sig_verified"] == 0
    assert out.fields["pdf.sig_whole_file_verified"] is False
    assert [i.code for i in out.issues] == ["signature"]
    assert out.status is Status.PARTIAL


def test_bytes_changed_inside_the_signed_range_are_not_intact() -> None:
    data = _bytes("signed.pdf")
    # The /Reason of the signature dictionary lies inside the signed range; same length.
    changed = data.replace(b"/Reason (Bon pour accord)", b"/Reason (Bon pour accorD)", 1)
    assert changed != data
    out = _extract(changed)
    assert out.fields["pdf.sig_intact"] == ("false",)
    assert out.fields["pdf.sig_valid"] == ("false",)
    assert out.issues == []


def test_unsigned_pdf_never_imports_pyhanko() -> None:
    code = (
        "import sys\n"
        "from corpus_fixtures.builders import pdf\n"
        "from leaktriage.extractors import Source\n"
        "from leaktriage.extractors.pdf import extract\n"
        "data = pdf.report_pdf()\n"
        "extract(Source(name='r.pdf', mime='application/pdf', size=len(data), data=data))\n"
        "print('pyhanko' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_verification_runs_under_the_no_network_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "changed.pdf"
    path.write_bytes(_bytes("signed_then_changed.pdf"))
    roots = _roots(tmp_path)
    code = (
        "from leaktriage.execute.sandbox import forbid_network\n"
        "forbid_network()\n"
        "from pathlib import Path\n"
        "from leaktriage.extractors import Source\n"
        "from leaktriage.extractors.pdf import extract\n"
        f"data = Path({str(path)!r}).read_bytes()\n"
        "out = extract(Source(name='c.pdf', mime='application/pdf', size=len(data), data=data,"
        f" trust_roots={roots!r}))\n"
        "print(out.fields['pdf.sig_trusted'], [i.code for i in out.issues])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "('true',) []"
