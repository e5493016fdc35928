"""What every email module shares: limits, the parsing policy, text hygiene, child names.

Every header and body in a leak is attacker-made: :func:`clean` is applied to all text
before it is stored, and ``PARSE_ERRORS`` lists what the stdlib raises on hostile input (one
bad header or part becomes an issue, the rest of the message is still read).
"""

from __future__ import annotations

import codecs
import re
from email import errors as email_errors
from email import policy
from email.policy import EmailPolicy
from functools import lru_cache
from typing import Any

from leaktriage.extractors import Extraction

MAX_RAW_VALUE = 4096
"""Characters kept per raw value."""
MAX_RAW_ENTRIES = 400
"""Raw entries kept per item."""
MAX_ATTACHMENTS = 2000
"""Attachments handed back per message."""
MAX_MESSAGES = 200_000
"""Messages handed back per mailbox (the pipeline applies its own, lower, child limit)."""
MAX_BODY_CHARS = 4 << 20
"""Body characters scanned for links per part."""
MAX_LIST = 500
"""Addresses, references or hops kept per header."""
MAX_NAME = 200
"""Characters kept of an attachment name or message id used as a child name."""


@lru_cache(maxsize=512)
def _parse_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


class _CachingPolicy(EmailPolicy):
    """``policy.default`` that parses each distinct header once.

    The parser and ``Message`` re-parse Content-Type on every access (several times per
    part while parsing); header objects are immutable, so a small cache saves most of it.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or len(value) > 1024:
            return super().header_fetch_parse(name, value)
        return _parse_header(name, value)


POLICY = _CachingPolicy()
GEN_POLICY = policy.default.clone(refold_source="none")
# Everything the stdlib header and MIME code raises on hostile input; one bad header or part
# becomes an issue and the rest of the message is still read.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    KeyError,
    LookupError,
    UnicodeError,
    AssertionError,
    email_errors.MessageError,
)
_SURROGATES = re.compile("[\udc80-\udcff]")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")

RENDERED_HEADER = "X-Leaktriage-Rendered"
"""Header leaktriage writes on messages it rebuilt (an Outlook item as .eml): their bodies are
not the bytes that were signed, so their signatures are not verified."""


def clean(text: str) -> str:
    """Text safe to store: bytes the parser escaped are decoded, control characters dropped."""
    if _LONE_SURROGATES.search(text):
        if _SURROGATES.search(text):
            try:
                data = text.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                data = b""
            if data:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = data.decode("cp1252", "replace")
        text = _LONE_SURROGATES.sub("\ufffd", text)
    return _CONTROL.sub("", text)


def note_once(extraction: Extraction, code: str, message: str) -> None:
    if not any(issue.code == code for issue in extraction.issues):
        extraction.note(code, message)


def unfold(text: str) -> str:
    return _FOLD.sub("", text).strip()


def cap(text: str) -> str:
    return text[:MAX_RAW_VALUE]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Body bytes as text in their declared charset (UTF-8 when unknown)."""
    codec = "utf-8"
    if charset:
        try:
            codec = codecs.lookup(charset.strip().strip('"')).name
        except (LookupError, ValueError):
            codec = "utf-8"
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def child_name(name: str) -> str:
    name = clean(name).strip().replace("\n", " ")[:MAX_NAME]
    return name
