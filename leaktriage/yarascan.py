"""A newsroom's YARA rules (``--yara DIR``) over each item's bytes and decompressed parts.

Decoy markers and canary URLs often sit inside compressed parts a plain byte scan cannot
see: the XML parts of an OOXML or ODF zip, the Flate streams of a PDF, the base64 or
quoted-printable bodies of an e-mail. This module yields those parts (bounded in number
and size, since the item is attacker-made) and runs the compiled rules over each, in the
worker process that parsed the item. Matches become the ``yara.matches`` fact, which the
bundled ``yara-match`` rule turns into a finding. Requires the optional ``yara-python``.
"""

from __future__ import annotations

import email
import io
import logging
import zipfile
from collections.abc import Iterator
from email import policy
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaktriage.detect import ZIP_READ_ERRORS
from leaktriage.errors import LeakTriageError
from leaktriage.extractors import Source

log = logging.getLogger(__name__)

MAX_PARTS = 2000
"""Decompressed parts scanned per item, beyond the raw bytes."""
MAX_PART_BYTES = 64 * 1024 * 1024
"""Largest decompressed part scanned; a larger one is cut at this size."""
MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""Decompressed bytes scanned per item, all parts together."""
MATCH_TIMEOUT_S = 10
"""Seconds YARA may spend on one part."""
RULE_SUFFIXES = (".yar", ".yara")

_ZIP_TYPES = ("application/vnd.openxmlformats-", "application/vnd.oasis.opendocument.")
_ZIP_EXACT = frozenset(
    {
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    }
)
_MAIL_TYPES = frozenset({"message/rfc822"})


class YaraError(LeakTriageError):
    """The YARA rule folder cannot be used (missing module, no rules, a syntax error)."""

    exit_code = 4


def _module() -> Any:
    try:
        import yara
    except ImportError as exc:
        raise YaraError(
            "--yara needs the yara-python package: pip install 'leaktriage[yara]'"
        ) from exc
    return yara


def rule_files(folder: str | Path) -> dict[str, str]:
    """Namespace -> path of every ``.yar``/``.yara`` file under ``folder``, sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise YaraError(f"{root}: not a folder of YARA rules")
    found = {
        str(p.relative_to(root)): str(p)
        for p in sorted(root.rglob("*"))
        if p.suffix.lower() in RULE_SUFFIXES and p.is_file()
    }
    if not found:
        raise YaraError(f"{root}: no .yar or .yara files")
    return found


@lru_cache(maxsize=4)
def compile_rules(folder: str) -> Any:
    """Compile every rule file of ``folder`` once per process; a syntax error names its file
    and line. External includes are refused: a rule file may not read other paths."""
    yara = _module()
    files = rule_files(folder)
    try:
        return yara.compile(filepaths=files, includes=False)
    except yara.SyntaxError as exc:
        raise YaraError(f"{folder}: {exc}") from exc
    except yara.Error as exc:
        raise YaraError(f"{folder}: {exc}") from exc


def parts(source: Source, data: bytes) -> Iterator[tuple[str, bytes]]:
    """``(where, bytes)`` of the item: ``raw`` first, then its decompressed parts."""
    yield "raw", data
    mime = source.mime
    budget = [MAX_TOTAL_BYTES, MAX_PARTS]
    if mime.startswith(_ZIP_TYPES) or mime in _ZIP_EXACT:
        yield from _limited(_zip_parts(data, budget), budget)
    elif mime == "application/pdf":
        yield from _limited(_pdf_parts(data), budget)
    elif mime in _MAIL_TYPES:
        yield from _limited(_mail_parts(data), budget)


def _limited(found: Iterator[tuple[str, bytes]], budget: list[int]) -> Iterator[tuple[str, bytes]]:
    for where, blob in found:
        if budget[0] <= 0 or budget[1] <= 0:
            return
        blob = blob[: min(MAX_PART_BYTES, budget[0])]
        budget[0] -= len(blob)
        budget[1] -= 1
        yield where, blob


def _zip_parts(data: bytes, budget: list[int]) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()[:MAX_PARTS]
    except ZIP_READ_ERRORS:
        return
    for info in members:
        if info.is_dir() or info.flag_bits & 0x1:
            continue
        try:
            with archive.open(info) as handle:
                # Read what is really there, never more than the budget: sizes in the
                # directory are the attacker's word.
                blob = handle.read(min(MAX_PART_BYTES, max(budget[0], 0)) + 1)
        except ZIP_READ_ERRORS:
            continue
        yield f"zip:{info.filename}", blob


def _pdf_parts(data: bytes) -> Iterator[tuple[str, bytes]]:
    from leaktriage.extractors._pdf_common import _MUPDF_ERRORS as MUPDF_ERRORS
    from leaktriage.extractors._pdf_common import pymupdf

    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except MUPDF_ERRORS:
        return
    try:
        count = min(doc.xref_length(), 200_000)
        for xref in range(1, count):
            try:
                if not doc.xref_is_stream(xref):
                    continue
                blob = doc.xref_stream(xref)
            except MUPDF_ERRORS:
                continue
            if blob:
                yield f"pdf-stream:{xref}", bytes(blob)
    finally:
        doc.close()


def _mail_parts(data: bytes) -> Iterator[tuple[str, bytes]]:
    message = email.message_from_bytes(data, policy=policy.compat32)
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            return
        if part.is_multipart():
            continue
        try:
            blob = part.get_payload(decode=True)
        except (ValueError, LookupError, AssertionError):
            continue
        if isinstance(blob, bytes) and blob:
            yield f"mail-part:{number}:{part.get_content_type()}", blob


def scan(source: Source, folder: str) -> tuple[list[str], list[str]]:
    """Run the rules of ``folder`` over the item; returns (matches as ``rule|where``, problems).

    A part YARA cannot finish (timeout, too many matches) is reported, never fatal."""
    yara = _module()
    rules = compile_rules(folder)
    data = source.read()
    found: set[str] = set()
    problems: list[str] = []
    for where, blob in parts(source, data):
        try:
            hits = rules.match(data=blob, timeout=MATCH_TIMEOUT_S)
        except yara.TimeoutError:
            problems.append(f"{where}: YARA timed out after {MATCH_TIMEOUT_S} s")
            continue
        except yara.Error as exc:
            problems.append(f"{where}: {exc}")
            continue
        found.update(f"{hit.rule}|{where}" for hit in hits)
    return sorted(found), problems
