"""DKIM and ARC verification of one message, offline from a key store (DNS only when asked).

A valid DKIM signature proves that the signing domain's server produced exactly the signed
headers and body; a broken one says which part changed: the body hash (``fail_body``, the
text was altered) or the header signature (``fail_signature``, a signed header such as
From, Date or Subject was altered). Old keys are rotated out of DNS, so keys come from a key
store file (one ``selector._domainkey.domain`` TXT record per line, the format archived key
collections use); DNS is used only when the scan was started with ``--dkim-dns``. Every key
used is kept in the record's raw values (``dkim_key:<name>``) so the run can be repeated.

dkimpy does the cryptography; this module decides which part failed, grades the evidence
(``l=``, unsigned From/Subject/Date, weak keys, ``x=`` before the Date) and never raises on
a hostile header or key record.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import dkim
import dkim.util

from leaktriage.errors import EXIT_MALFORMED, LeakTriageError, NetworkBlockedError

log = logging.getLogger(__name__)
_DKIM_LOG = logging.getLogger("leaktriage.dkimpy")
_DKIM_LOG.addHandler(logging.NullHandler())
_DKIM_LOG.propagate = False  # dkimpy logs every failed check as an error; results say it all

MAX_SIGNATURES = 20
"""DKIM-Signature headers verified per message; more are counted, not verified."""
MAX_KEYS_PER_NAME = 20
"""Records tried per selector name (a key archive may hold several over the years)."""
WEAK_KEY_BITS = 1024
"""RSA keys below this size can be factored (512-bit keys cheaply): a pass proves little."""

RESULT_ORDER = (
    "pass",
    "fail_body",
    "fail_signature",
    "key_revoked",
    "no_key",
    "unsupported",
    "invalid",
)
"""Per-signature results, from the most to the least telling; the message's summary is the
first one any of its signatures reached."""

_ERRORS: tuple[type[Exception], ...] = (
    dkim.DKIMException,
    dkim.util.InvalidTagValueList,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    binascii.Error,
    UnicodeError,
    OverflowError,
    AssertionError,
)
PARSE_ERRORS = _ERRORS
"""What parsing or verifying hostile input may raise; each becomes a result, never a crash."""
KEY_RAW_PREFIX = "dkim_key:"
"""Raw-value key under which each DKIM key used is kept (``dkim_key:<selector name>``)."""
_KEY_NAME = re.compile(r"^[a-z0-9_.-]{1,200}\._domainkey\.[a-z0-9_.-]{1,253}$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FROM_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)


class KeyStoreError(LeakTriageError):
    """The ``--dkim-keys`` file has malformed lines; ``errors`` lists ``path:line: what``."""

    exit_code = EXIT_MALFORMED

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def key_name(selector: str, domain: str) -> str:
    """``selector._domainkey.domain``, lower case, no trailing dot."""
    return f"{selector}._domainkey.{domain}".lower().rstrip(".")


def parse_key_line(line: str) -> tuple[str, str] | None:
    """(name, TXT record) from one key-store line; None for a blank or ``#`` line.

    Accepts ``name record``, ``name TXT record`` and zone-file lines with quoted chunks
    (``name. 3600 IN TXT "v=DKIM1; k=rsa; " "p=MIIB..."``), which are joined.

    Raises:
        ValueError: the line names no ``selector._domainkey.domain`` or has no record.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split(None, 1)
    name, rest = parts[0].lower().rstrip("."), parts[1] if len(parts) > 1 else ""
    if not _KEY_NAME.match(name):
        raise ValueError(f"{name[:80]!r} is not a selector._domainkey.domain name")
    rest = rest.strip()
    chunks = _QUOTED.findall(rest)
    if chunks:
        record = "".join(c.replace('\\"', '"').replace("\\\\", "\\") for c in chunks)
    else:
        words = rest.split()
        while words and (words[0].isdigit() or words[0].upper() in ("IN", "TXT")):
            words.pop(0)
        record = " ".join(words)
    if not record.strip():
        raise ValueError(f"{name}: no TXT record after the name")
    return name, record.strip()


@dataclass(frozen=True, slots=True)
class KeyStore:
    """Archived DKIM public keys by ``selector._domainkey.domain`` (several per name allowed)."""

    records: dict[str, tuple[str, ...]]
    source: str = ""

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Read a key-store file; raise KeyStoreError listing every malformed line."""
        found: dict[str, list[str]] = {}
        errors: list[str] = []
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise KeyStoreError([f"{path}: unreadable: {exc}"]) from exc
        for number, line in enumerate(text.splitlines(), 1):
            try:
                parsed = parse_key_line(line)
            except ValueError as exc:
                errors.append(f"{path}:{number}: {exc}")
                continue
            if parsed is not None:
                records = found.setdefault(parsed[0], [])
                if parsed[1] not in records:
                    records.append(parsed[1])
        if errors:
            raise KeyStoreError(errors)
        return cls({k: tuple(v) for k, v in sorted(found.items())}, str(path))

    def get(self, name: str) -> tuple[str, ...]:
        """The records archived for ``name`` (empty when none)."""
        return self.records.get(name.lower().rstrip("."), ())[:MAX_KEYS_PER_NAME]


@lru_cache(maxsize=4)
def key_store(path: str | None) -> KeyStore:
    """The key store at ``path``, read once per process (empty for None)."""
    if not path:
        return KeyStore({})
    return KeyStore.load(Path(path))


@lru_cache(maxsize=4096)
def _dns_txt(name: str) -> tuple[str | None, str]:
    """One live DNS TXT look-up (only with ``--dkim-dns``): (record or None, problem)."""
    from leaktriage.execute.sandbox import dns_allowed

    try:
        from dkim.dnsplug import get_txt_dnspython
    except ImportError:  # pragma: no cover - dnspython comes with dkimpy
        return None, "dnspython is not installed"
    try:
        with dns_allowed():
            answer = get_txt_dnspython(name + ".", timeout=5)
    except (dkim.DnsTimeoutError, NetworkBlockedError, OSError) as exc:
        return None, f"DNS look-up of {name} failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - a resolver library failing must not stop a scan
        return None, f"DNS look-up of {name} failed: {type(exc).__name__}: {exc}"
    if answer is None:
        return None, ""
    text = answer.decode("ascii", "replace") if isinstance(answer, bytes) else str(answer)
    return text, ""


@dataclass(slots=True)
class KeySource:
    """Where keys come from for one message, and which were used (to be saved with the run)."""

    store: KeyStore
    dns: bool = False
    used: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Names looked up for which no key was found."""

    def lookup(self, name: str) -> tuple[str, ...]:
        """Records for ``name``: the key store first, then DNS when allowed."""
        name = name.lower().rstrip(".")
        found = self.store.get(name)
        if not found and self.dns:
            record, problem = _dns_txt(name)
            if problem:
                self.problems.append(problem)
            found = (record,) if record else ()
        if not found and name not in self.missing:
            self.missing.append(name)
        return found

    def dnsfunc(self) -> Callable[..., bytes | None]:
        """A dkimpy ``dnsfunc`` over this source (for ARC), noting the keys it hands out."""

        def get(name: bytes | str, timeout: int = 5) -> bytes | None:
            text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
            records = self.lookup(text)
            if not records:
                return None
            self.used.setdefault(text.lower().rstrip("."), records[0])
            return records[0].encode("ascii", "replace")

        return get


@dataclass(slots=True)
class SignatureCheck:
    """What one DKIM-Signature header says and how its verification ended."""

    result: str
    reason: str = ""
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    key_bits: int | None = None
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    unsigned_bytes: int | None = None
    signed_at: datetime | None = None
    expires: datetime | None = None
    headers_valid: bool | None = None
    """For ``fail_body``: True when the header signature still verifies (only the body changed)."""
    warnings: list[str] = field(default_factory=list)

    def label(self) -> str:
        """``d=domain s=selector: result`` for the per-signature list."""
        return f"d={self.domain or '?'} s={self.selector or '?'}: {self.result}"


@dataclass(slots=True)
class ArcCheck:
    """The ARC chain's verification (RFC 8617)."""

    result: str
    """pass, fail, no_key, or none (the chain ended with cv=fail upstream)."""
    instances: int
    reason: str
    domains: tuple[str, ...] = ()


def _text(value: bytes) -> str:
    return value.decode("ascii", "replace").strip()


def _timestamp(value: bytes | None) -> datetime | None:
    if value is None or not re.fullmatch(rb"\d{1,12}", value.strip()):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _record_problem(record: str) -> str | None:
    """'key_revoked' for an empty ``p=``, 'unsupported' for another key type, else None."""
    try:
        tags = dkim.util.parse_tag_value(record.encode("ascii", "replace"))
    except _ERRORS:
        return None
    if b"p" in tags and not tags[b"p"].strip():
        return "key_revoked"
    if tags.get(b"k", b"rsa") not in (b"rsa", b"ed25519"):
        return "unsupported"
    return None


def verify_signatures(
    message: Any, data: bytes, keys: KeySource, date: datetime | None
) -> list[SignatureCheck]:
    """Verify every DKIM-Signature of a parsed dkimpy message (``dkim.DKIM(data)``)."""
    headers = [(n, v) for n, v in message.headers if n.lower() == b"dkim-signature"]
    return [_verify_one(message, header, keys, date) for header in headers[:MAX_SIGNATURES]]


def _verify_one(
    message: Any, header: tuple[bytes, bytes], keys: KeySource, date: datetime | None
) -> SignatureCheck:
    try:
        sig = dkim.util.parse_tag_value(re.sub(rb"\r?\n(?=[ \t])", b"", header[1]))
    except _ERRORS as exc:
        return SignatureCheck("invalid", f"tag list not parseable: {exc}")
    check = SignatureCheck(
        "invalid",
        domain=_text(sig.get(b"d", b"")).lower(),
        selector=_text(sig.get(b"s", b"")),
        algorithm=_text(sig.get(b"a", b"")).lower(),
        signed_headers=tuple(
            dict.fromkeys(
                _text(h).lower() for h in re.split(rb"\s*:\s*", sig.get(b"h", b"")) if h.strip()
            )
        ),
        signed_at=_timestamp(sig.get(b"t")),
        expires=_timestamp(sig.get(b"x")),
    )
    if b"l" in sig and re.fullmatch(rb"\d{1,18}", sig[b"l"].strip()):
        check.body_length = int(sig[b"l"])
    _grade_tags(check, date)
    # x= is judged against the message's Date (above), never against today's clock: a leak's
    # old mail is always past its expiry by now.
    fields = {k: v for k, v in sig.items() if k != b"x"}
    try:
        dkim.validate_signature_fields(fields)
        policy = dkim.CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
    except dkim.InvalidCanonicalizationPolicyError as exc:
        check.result, check.reason = "unsupported", f"canonicalization {exc}"
        return check
    except _ERRORS as exc:
        text = str(exc)
        check.result = "unsupported" if "unknown signature algorithm" in text else "invalid"
        check.reason = text[:300]
        return check
    if check.body_length is not None:
        length = len(policy.canonicalize_body(message.body))
        if length > check.body_length:
            check.unsigned_bytes = length - check.body_length
            check.warnings.append(f"unsigned_tail:{check.unsigned_bytes}")
    name = key_name(check.selector, check.domain)
    if not _KEY_NAME.match(name):
        check.result, check.reason = "invalid", f"d= or s= is not a domain name: {name[:120]!r}"
        return check
    records = keys.lookup(name)
    if not records:
        check.result = "no_key"
        check.reason = f"no key for {name} in the key store" + (
            " or DNS" if keys.dns else " (DNS not asked: --dkim-dns)"
        )
        return check
    outcomes: list[SignatureCheck] = []
    for record in records:
        attempt = _with_key(message, header, fields, record, _copy(check))
        outcomes.append(attempt)
        if attempt.result == "pass":
            break
    best = min(outcomes, key=lambda c: RESULT_ORDER.index(c.result))
    keys.used.setdefault(name, records[outcomes.index(best)])
    return best


def _copy(check: SignatureCheck) -> SignatureCheck:
    return SignatureCheck(
        check.result,
        check.reason,
        check.domain,
        check.selector,
        check.algorithm,
        check.key_bits,
        check.signed_headers,
        check.body_length,
        check.unsigned_bytes,
        check.signed_at,
        check.expires,
        check.headers_valid,
        list(check.warnings),
    )


def _with_key(
    message: Any,
    header: tuple[bytes, bytes],
    sig: dict[bytes, bytes],
    record: str,
    check: SignatureCheck,
) -> SignatureCheck:
    name = key_name(check.selector, check.domain)
    problem = _record_problem(record)
    if problem:
        check.result = problem
        check.reason = (
            "the key record has an empty p= (key revoked)"
            if problem == "key_revoked"
            else ("key type not supported")
        )
        return check
    try:
        pk, bits, ktag, tlsrpt = dkim.evaluate_pk(name, record.encode("ascii", "replace"))
    except dkim.NaClNotFoundError as exc:
        check.result, check.reason = "unsupported", str(exc)[:300]
        return check
    except _ERRORS as exc:
        check.result, check.reason = "invalid", f"key record unusable: {str(exc)[:300]}"
        return check
    if tlsrpt or pk is None:
        check.result, check.reason = "unsupported", "key is for another service (s= tag)"
        return check
    message.pk, message.keysize, message.ktag, message.seqtlsrpt = pk, bits, ktag, False
    check.key_bits = int(bits) if bits else None
    if ktag == b"rsa" and check.key_bits is not None and check.key_bits < WEAK_KEY_BITS:
        check.warnings.append(f"weak_key:{check.key_bits}")
    body = message.body
    try:
        if _process(message, sig, header):
            check.result = "pass"
            return check
        check.result, check.reason = "fail_signature", "header signature does not verify"
        return check
    except dkim.ValidationError as exc:
        if "body hash mismatch" not in str(exc):
            check.result, check.reason = "invalid", str(exc)[:300]
            return check
    except _ERRORS as exc:
        check.result, check.reason = "invalid", str(exc)[:300]
        return check
    # Body hash mismatch. An mbox writer may have escaped body lines as ">From ": undo it once.
    if _FROM_ESCAPED.search(body):
        message.body = _FROM_ESCAPED.sub(rb"\1", body)
        try:
            verified = _process(message, sig, header)
        except _ERRORS:
            verified = None  # still a body mismatch: the escaping was not the cause
        finally:
            message.body = body
        if verified is not None:
            check.warnings.append("mbox_from_unescaped")
            check.result = "pass" if verified else "fail_signature"
            check.reason = "" if verified else "header signature does not verify"
            return check
    check.result = "fail_body"
    check.reason = "body hash mismatch: the body was changed after signing"
    try:
        without_body = {k: v for k, v in sig.items() if k != b"bh"}
        check.headers_valid = bool(_process(message, without_body, header))
    except _ERRORS:
        check.headers_valid = False
    return check


def _process(message: Any, sig: dict[bytes, bytes], header: tuple[bytes, bytes]) -> bool:
    include = [h.lower() for h in re.split(rb"\s*:\s*", sig[b"h"]) if h]
    return bool(message.verify_sig_process(dict(sig), include, header, None))


WEAKENING = ("weak_key", "unsigned_header", "unsigned_tail", "sha1", "expired_before_date")
"""Warnings that make a pass weak evidence (``body_length`` alone with nothing after it, or
``mbox_from_unescaped``, an mbox writer's artefact, do not)."""


def grade(check: SignatureCheck) -> str:
    """strong, or weak when a warning limits what the pass proves."""
    weak = any(w.split(":", 1)[0] in WEAKENING for w in check.warnings)
    return "weak" if weak else "strong"


def _grade_tags(check: SignatureCheck, date: datetime | None) -> None:
    for name in ("from", "subject", "date"):
        if check.signed_headers and name not in check.signed_headers:
            check.warnings.append(f"unsigned_header:{name}")
    if check.body_length is not None:
        check.warnings.append(f"body_length:{check.body_length}")
    if check.algorithm == "rsa-sha1":
        check.warnings.append("sha1")
    if check.expires is not None and date is not None and check.expires < date:
        check.warnings.append(f"expired_before_date:{check.expires.isoformat()}")


def verify_arc(message_bytes: bytes, keys: KeySource) -> ArcCheck | None:
    """Verify the ARC sets of a message; None when it has none."""
    try:
        arc = dkim.ARC(message_bytes, logger=_DKIM_LOG, minkey=0)
        highest, _sets = arc.sorted_arc_headers()
    except _ERRORS as exc:
        return ArcCheck("fail", 0, f"ARC headers unreadable: {str(exc)[:300]}")
    if not highest:
        return None
    try:
        cv, results, reason = arc.verify(dnsfunc=keys.dnsfunc())
    except _ERRORS as exc:
        return ArcCheck("fail", int(highest), str(exc)[:300])
    domains = tuple(
        dict.fromkeys(
            _text(r[k]).lower()
            for r in results
            for k in ("as-domain", "ams-domain")
            if isinstance(r.get(k), bytes)
        )
    )
    label = {dkim.CV_Pass: "pass", dkim.CV_Fail: "fail"}.get(cv, "none")
    text = _text(str(reason).encode("ascii", "replace"))
    if label == "fail" and keys.missing:
        label, text = "no_key", "no key for " + ", ".join(keys.missing)
    return ArcCheck(label, int(highest), text, domains)


def parse(data: bytes) -> Any:
    """A dkimpy message over the raw bytes (raises on headers it cannot read)."""
    return dkim.DKIM(data, logger=_DKIM_LOG, minkey=0)


def summary(checks: list[SignatureCheck], from_domain: str | None) -> SignatureCheck | None:
    """The signature that speaks for the message: a pass (aligned with From first), else the
    most telling failure."""
    if not checks:
        return None

    mine = from_domain or ""

    def rank(check: SignatureCheck) -> tuple[int, int, int]:
        aligned = bool(mine) and (check.domain == mine or mine.endswith("." + check.domain))
        return (RESULT_ORDER.index(check.result), 0 if aligned else 1, len(check.warnings))

    return min(checks, key=rank)


def public_record(der: bytes) -> str:
    """The TXT record publishing an RSA public key (SubjectPublicKeyInfo DER)."""
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")
