"""RFC 822 messages (.eml, Maildir files): headers, DKIM/ARC, bodies and attachments, and the
.eml extractor.

A message gives its header facts (addresses, dates, ids, the client, the Received chain,
DKIM signatures, Outlook's Thread-Index) and hands every attachment back to the pipeline as a
child item, so an attached spreadsheet gets the spreadsheet extractor. ``doc.created`` is the
Date header.
"""

from __future__ import annotations

import re
from email.parser import BytesParser

from leaktriage.errors import CorruptFileError
from leaktriage.extractors import Extraction, Source, register
from leaktriage.extractors.email._common import PARSE_ERRORS, POLICY, RENDERED_HEADER
from leaktriage.extractors.email.dkim import SIGNATURE_HEADERS, put_dkim
from leaktriage.extractors.email.headers import put_headers, read_headers
from leaktriage.extractors.email.mime import read_body

_MAILDIR_FLAGS = re.compile(r"^\d{9,10}\.[^/]*:2,([A-Za-z]{1,26})$")


@register(name="email.eml", family="email", version=1, mime_types={"message/rfc822"})
def extract(source: Source) -> Extraction:
    """Read an RFC 822 message: header facts, signatures, body sample and links; its
    attachments become children."""
    extraction = Extraction()
    data = source.read()
    try:
        message = BytesParser(policy=POLICY).parsebytes(data)
    except PARSE_ERRORS as exc:
        raise CorruptFileError(f"message not parseable: {exc}", partial=extraction) from exc
    headers = read_headers(message.raw_items(), extraction)
    if not headers:
        raise CorruptFileError("no RFC 822 header found", partial=extraction)
    put_headers(extraction, headers)
    flags = _MAILDIR_FLAGS.search(source.name)
    if flags:
        extraction.put("email.maildir_flags", flags.group(1))
    names = {h.name.lower() for h in headers}
    if names & SIGNATURE_HEADERS:
        put_dkim(extraction, data, source, RENDERED_HEADER.lower() in names, "arc-seal" in names)
    linesep = "\r\n" if b"\r\n" in data[: data.find(b"\n") + 1 or 4096] else "\n"
    read_body(message, extraction, source.text_sample_bytes, linesep)
    return extraction
