"""DKIM and ARC facts of a message: the glue between the email formats and ``extractors._dkim``
(the verifier, its key store and its DNS access).

Messages leaktriage rebuilt itself (an Outlook item rendered as .eml, see
``RENDERED_HEADER``) are not verified: their bodies are not the bytes that were signed.
"""

from __future__ import annotations

from datetime import datetime

from leaktriage.extractors import Extraction, Source, _dkim
from leaktriage.extractors.email._common import MAX_RAW_VALUE
from leaktriage.model import Issue

SIGNATURE_HEADERS = frozenset({"dkim-signature", "arc-seal", "arc-message-signature"})


def put_dkim(
    extraction: Extraction, data: bytes, source: Source, rendered: bool, sealed: bool
) -> None:
    """Verify the message's DKIM signatures and ARC sets; facts in ``email.dkim_*``/``arc_*``."""
    if rendered:
        extraction.put("email.dkim_result", "unsupported")
        extraction.put("email.dkim_reason", "message rebuilt from Outlook properties")
        return
    try:
        store = _dkim.key_store(source.dkim_keys)
    except _dkim.KeyStoreError as exc:
        extraction.note("dkim_keys", str(exc)[:500])
        store = _dkim.KeyStore({})
    keys = _dkim.KeySource(store, source.dkim_dns)
    try:
        message = _dkim.parse(data)
    except _dkim.PARSE_ERRORS as exc:
        extraction.put("email.dkim_result", "invalid")
        extraction.put("email.dkim_reason", f"headers not readable by the verifier: {exc}"[:300])
        return
    date = extraction.fields.get("email.date")
    when = date if isinstance(date, datetime) else None
    checks = _dkim.verify_signatures(message, data, keys, when)
    sender = extraction.fields.get("email.from")
    from_domain = None
    if isinstance(sender, str) and "@" in sender:
        from_domain = sender.rsplit("@", 1)[1].strip(" >").lower() or None
    best = _dkim.summary(checks, from_domain)
    if best is not None:
        extraction.put("email.dkim_result", best.result)
        extraction.put("email.dkim_reason", best.reason)
        extraction.put("email.dkim_domain", best.domain)
        extraction.put("email.dkim_selector", best.selector)
        extraction.put("email.dkim_algorithm", best.algorithm)
        extraction.put("email.dkim_key_bits", best.key_bits)
        extraction.put("email.dkim_signed_headers", best.signed_headers)
        extraction.put("email.dkim_body_length", best.body_length)
        extraction.put("email.dkim_unsigned_bytes", best.unsigned_bytes)
        extraction.put("email.dkim_signed_at", best.signed_at)
        extraction.put("email.dkim_expires", best.expires)
        extraction.put("email.dkim_headers_valid", best.headers_valid)
        extraction.put("email.dkim_warnings", tuple(best.warnings))
        if best.result == "pass":
            extraction.put("email.dkim_grade", _dkim.grade(best))
        extraction.put("email.dkim_verdicts", tuple(c.label() for c in checks))
    arc = None
    if sealed:
        arc = _dkim.verify_arc(
            data, _dkim.KeySource(store, source.dkim_dns, keys.used, keys.problems)
        )
    if arc is not None:
        extraction.put("email.arc_result", arc.result)
        extraction.put("email.arc_instances", arc.instances)
        extraction.put("email.arc_reason", arc.reason)
        extraction.put("email.arc_domains", arc.domains)
    for problem in dict.fromkeys(keys.problems):
        extraction.issues.append(Issue("extract", "dkim_dns", problem[:500]))
    for name, record in sorted(keys.used.items()):
        extraction.raw[f"{_dkim.KEY_RAW_PREFIX}{name}"] = record[:MAX_RAW_VALUE]
