"""A leak-shaped dump of real third-party files, for the scale benchmark (issue 19).

    python benchmarks/scale_dump.py --items N --out DIR [--real REALDIR] [--seed 20170505]

Builds a folder whose ``leaktriage scan`` gives about ``N`` items (lines of ``files.jsonl``:
every file, archive member, mail and attachment), from the real files of ``python -m
corpus_fixtures real REALDIR`` (genuine ones, by its ``MANIFEST.csv``, none above 5 MB),
shaped like a leak rather than like a test suite:

- documents (PDF, DOCX, XLSX, PPTX, ODT/ODS/ODP, DOC, XLS, RTF, text, CSV, HTML) in families
  of 5-40 re-saved variants of one real original, each with the same text and other bytes:
  OOXML ``docProps/core.xml`` and ODF ``meta.xml`` rewritten with another modification date
  and last editor (every other member the same, re-zipped with :mod:`zipfile`), PDFs with an
  incremental update appended (a new Info dictionary with another ``/ModDate`` and
  ``/Producer``, a new cross-reference section chained to the previous one by ``/Prev``),
  Word and Excel 97 files with their summary's last-saved time patched in place, text with
  other trailing newlines; about one variant in ten of the OOXML, ODF, text and CSV families
  is *altered*: same lineage (creation date and ids kept), one number or word of the text
  changed;
- exact duplicates (the same bytes under other folders and names), about 10 % of the files;
- mails (``.eml``, and a few ``.mbox`` of 20-50 messages) built with :mod:`email`, forwarding
  and answering one another, with 1-3 base64 attachments drawn from the documents so the
  same attachments travel many times, Received chains, offsets, French names; the real
  folder's own ``.eml``/``.mbox`` files as they are;
- real JPEG and PNG photos and their duplicates;
- zip archives, one top-level file in 20, of 10-50 of the files above;

in folders named like a mailbox export and a shared drive (``Boite de reception/``,
``Documents/Finances/2017/`` ...). The same seed and real folder give the same bytes (sorted
inputs, one seeded :class:`random.Random`, fixed dates in zips and mails, no clock), and file
modification times are set from the same generator.

Writes ``DIR/SCALE_MANIFEST.csv`` (each file written: path, kind, real source and its sha256
from the real folder's manifest, sha256 and size of the file written, estimated items, what
it contains) and ``DIR/SCALE_BUILD.json`` (the parameters and the summary), and prints the
files written, bytes and the expected item count. The estimate counts one item per file,
member, mail and attachment; it was checked against scans (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import re
import struct
import sys
import time
import zipfile
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast

DEFAULT_REAL = Path("/tmp/refdir2")
DEFAULT_SEED = 20170505
MANIFEST_NAME = "SCALE_MANIFEST.csv"
BUILD_NAME = "SCALE_BUILD.json"
BUILDER_VERSION = 2
"""Bumped whenever the same parameters would give other bytes (the runner then rebuilds)."""

MAX_SOURCE_BYTES = 5_000_000
MAX_ATTACHMENT_BYTES = 2_000_000
ZIP_EVERY = 20
ZIP_MEMBERS = (10, 50)
FAMILY_SIZE = (5, 40)
MBOX_MESSAGES = (20, 50)
DUPLICATE_SHARE = 0.10
ALTERED_SHARE = 0.10
MBOX_FIRST = 100
MBOX_EVERY = 500
"""The first mailbox after this many top-level files, then one every MBOX_EVERY."""
FILE_SHARES = (0.62, 0.17, 0.09)
"""Shares of the top-level files that are documents of a family, mails and photos; the
rest, about 10 %, are duplicates (zips and mailboxes aside)."""

KINDS = ("original", "variant", "altered", "duplicate", "mail", "mbox", "archive")

FAMILY_WEIGHTS: dict[str, float] = {
    "pdf": 0.34,
    "docx": 0.15,
    "xlsx": 0.12,
    "pptx": 0.05,
    "odt": 0.04,
    "ods": 0.02,
    "odp": 0.01,
    "doc": 0.06,
    "xls": 0.05,
    "rtf": 0.01,
    "txt": 0.06,
    "csv": 0.04,
    "html": 0.05,
}
"""Share of document families per type (a leak holds more Word and PDF than slides)."""

OOXML_MAIN = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
}
ODF_TYPES = {"odt": "text", "ods": "spreadsheet", "odp": "presentation"}
IMAGE_EXTS = ("jpg", "jpeg", "png")
TEXT_EXTS = ("txt", "csv", "html")
ALTERABLE = ("docx", "xlsx", "pptx", "odt", "ods", "odp", "txt", "csv")

MIME = {
    "pdf": ("application", "pdf"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": ("application", "vnd.openxmlformats-officedocument.presentationml.presentation"),
    "odt": ("application", "vnd.oasis.opendocument.text"),
    "ods": ("application", "vnd.oasis.opendocument.spreadsheet"),
    "odp": ("application", "vnd.oasis.opendocument.presentation"),
    "doc": ("application", "msword"),
    "xls": ("application", "vnd.ms-excel"),
    "rtf": ("application", "rtf"),
    "txt": ("text", "plain"),
    "csv": ("text", "csv"),
    "html": ("text", "html"),
    "jpg": ("image", "jpeg"),
    "jpeg": ("image", "jpeg"),
    "png": ("image", "png"),
}

FIRST = (
    "Camille", "Julien", "Sophie", "Mathieu", "Émilie", "Nicolas", "Claire", "Thomas",
    "Laurence", "Pierre", "Aurélie", "François", "Hélène", "Benoît", "Céline", "Jérôme",
    "Isabelle", "Stéphane", "Nathalie", "Olivier", "Agnès", "Grégoire", "Sandrine", "Loïc",
)  # fmt: skip
LAST = (
    "Durand", "Lefèvre", "Moreau", "Girard", "Lambert", "Bonnet", "Fontaine", "Rousseau",
    "Vincent", "Muller", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "Legrand", "Marchetti", "Vasseur", "Arnaudet", "Roux", "Perrin",
)  # fmt: skip
DOMAINS = ("mouvement-horizon.fr", "horizon-conseil.fr", "cabinet-lemaire.fr", "gmail.com")
OUTSIDE = ("agence-ouest-presse.fr", "imprimerie-dupuis.fr", "mairie-exemple.fr")
SUBJECTS = (
    "Budget prévisionnel", "Compte rendu de la réunion", "Note pour le comité",
    "Documents à relire", "Contrat prestataire", "Planning des déplacements",
    "Facture et devis", "Éléments de langage", "Revue de presse", "Point trésorerie",
    "Version corrigée", "Tableau des dons", "Projet de communiqué", "Ordre du jour",
    "Relevé de décisions", "Convention de partenariat", "Dossier pour demain",
)  # fmt: skip
BODY = (
    "Bonjour,", "Ci-joint le document dont nous avons parlé ce matin.",
    "Merci de me faire vos retours avant jeudi.", "Je te transfère pour information.",
    "Voici la dernière version, avec les corrections de l'équipe.",
    "Peux-tu vérifier les chiffres de la page 3 ?", "Bien reçu, je regarde ce soir.",
    "À valider par le comité avant diffusion.", "Attention, document interne.",
)  # fmt: skip
WORDS = ("budget", "comité", "réunion", "dépenses", "calendrier", "mandat", "trésorier")
MAILERS = (
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3273)",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; rv:45.0) Gecko/20100101 Thunderbird/45.8.0",
    "Microsoft Outlook 14.0",
)
PRODUCERS = (
    "Adobe Acrobat Pro DC 15.23.20053",
    "Adobe Acrobat 11.0.19",
    "PDF-XChange Editor 6.0.321.0",
    "Foxit PhantomPDF 8.2.1.6871",
    "Nitro Pro 11 (11. 0. 3. 173)",
)
DOC_FOLDERS = (
    "Documents/Finances/2016", "Documents/Finances/2017", "Documents/Juridique/Contrats",
    "Documents/Communication/Presse", "Documents/RH/Recrutement", "Documents/Direction/Comités",
    "Partage/Equipe projet", "Partage/Réunions/2017", "Bureau", "Téléchargements",
)  # fmt: skip
MAIL_FOLDERS = (
    "Boite de reception", "Boite de reception/Finances", "Elements envoyes",
    "Archives/2016", "Archives/2017",
)  # fmt: skip
IMAGE_FOLDERS = ("Images", "Documents/Photos/2016", "Partage/Communication/Visuels")
ZIP_FOLDERS = ("Archives/Exports", "Partage/Envois", "Téléchargements")
VARIANT_SUFFIXES = (" (1)", " (2)", " - Copie", "_v2", "_v3", "_relu", "_final", "_VF", "_corrigé")
UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
HEADERISH = re.compile(rb"^[!-9;-~]{1,40}:[ \t]")
LEAK = datetime(2017, 5, 5, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Source:
    """One file of the real folder."""

    rel: str
    path: Path
    sha256: str
    size: int
    ext: str
    origin: str


@dataclass(slots=True)
class Written:
    """One top-level file written (or a candidate for a mail or a zip)."""

    rel: str
    kind: str
    ext: str
    sha256: str
    size: int
    items: int
    mtime: datetime
    source: Source | None = None
    contains: tuple[str, ...] = ()
    prefix: str | None = None
    """The family whose original's bytes this file starts with (a PDF update, a text
    with trailing newlines): its deflated form in a zip continues the original's."""


@dataclass
class Summary:
    """What a build wrote."""

    files: int = 0
    bytes: int = 0
    items: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "items": self.items,
            "kinds": dict(sorted(self.kinds.items())),
            "seconds": round(self.seconds, 2),
        }


# --- the real folder ---------------------------------------------------------------------


def load_sources(real: Path) -> dict[str, list[Source]]:
    """The real folder's usable files by extension (lower case, no dot), sorted by path:
    genuine ones when the manifest has any of that type, none above MAX_SOURCE_BYTES."""
    with (real / "MANIFEST.csv").open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["path"])
    wanted = set(FAMILY_WEIGHTS) | set(IMAGE_EXTS) | {"eml", "mbox"}
    by_ext: dict[str, list[Source]] = {}
    fallback: dict[str, list[Source]] = {}
    for row in rows:
        ext = row["path"].rsplit(".", 1)[-1].lower() if "." in row["path"] else ""
        size = int(row["size"] or 0)
        path = real / row["path"]
        if ext not in wanted or size > MAX_SOURCE_BYTES or row.get("crafted") == "yes":
            continue
        source = Source(row["path"], path, row["sha256"], size, ext, row.get("origin", ""))
        target = by_ext if row.get("genuine") == "yes" else fallback
        target.setdefault(ext, []).append(source)
    for ext, sources in fallback.items():
        by_ext.setdefault(ext, sources)
    return {ext: [s for s in sources if s.path.is_file()] for ext, sources in by_ext.items()}


# --- dates ---------------------------------------------------------------------------------


def paris(when: datetime) -> timezone:
    """France's offset at ``when`` (summer time from the last Sunday of March to that of
    October, taken as April-October here: good enough for mail headers)."""
    return timezone(timedelta(hours=2 if 4 <= when.month <= 10 else 1))


def parse_date(text: str) -> datetime | None:
    """An ISO-8601 or PDF date as UTC (its offset ignored), when it parses and falls between
    1995 and 2026; else None (a real file's 1601 or 2099 is no base for re-saves)."""
    found = re.match(
        r"(?:D:)?(\d{4})-?(\d{2})-?(\d{2})T?(\d{2})?:?(\d{2})?:?(\d{2})?", text.strip()
    )
    if not found:
        return None
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in found.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return moment if 1995 <= moment.year <= 2026 else None


def ooxml_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pdf_date(when: datetime) -> str:
    """A PDF date in France's local time, with its offset (``D:20170302101500+01'00'``)."""
    zone = paris(when)
    hours = int(when.astimezone(zone).utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]
    return when.astimezone(zone).strftime("D:%Y%m%d%H%M%S") + f"+{hours:02d}'00'"


# --- OOXML and ODF ---------------------------------------------------------------------------


def read_zip(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    """Every member of a zip with its content (CRC checked), or None when it is not a clean
    zip (encrypted, other compression than stored/deflated, backslash names, bad CRC)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = []
            for info in archive.infolist():
                if info.flag_bits & 1 or "\\" in info.filename:
                    return None
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    return None
                members.append((info, archive.read(info)))
            return members
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def write_zip(members: Iterable[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    """A zip of ``members`` in that order, each with its name, date, method and attributes;
    the content as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in members:
            fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            fresh.compress_type = info.compress_type
            fresh.external_attr = info.external_attr
            fresh.create_system = info.create_system
            archive.writestr(fresh, data)
    return buffer.getvalue()


def _xml_text(value: str) -> bytes:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def _set_element(
    xml: bytes, local: bytes, value: bytes, insert: bytes, before: bytes
) -> tuple[bytes, bytes | None]:
    """``xml`` with the text of the element named ``local`` (any prefix) set to ``value``;
    when it is missing, ``insert`` (a whole element) is put before the closing tag named
    ``before``. Also returns the old text (None when the element was missing)."""
    full = re.compile(
        rb"(<(?:[\w.-]+:)?" + local + rb"\b[^>]*>)([^<]*)(</(?:[\w.-]+:)?" + local + rb">)"
    )
    found = full.search(xml)
    if found:
        return xml[: found.start(2)] + value + xml[found.end(2) :], found.group(2)
    empty = re.compile(rb"<((?:[\w.-]+:)?" + local + rb")\b([^>]*)/>")
    found = empty.search(xml)
    if found:
        element = (
            b"<" + found.group(1) + found.group(2) + b">" + value + b"</" + found.group(1) + b">"
        )
        return xml[: found.start()] + element + xml[found.end() :], None
    closing = re.compile(rb"</(?:[\w.-]+:)?" + before + rb"\s*>")
    found = closing.search(xml)
    if found:
        return xml[: found.start()] + insert + xml[found.start() :], None
    self_closed = re.compile(rb"<((?:[\w.-]+:)?" + before + rb")\b([^>]*)/>")
    found = self_closed.search(xml)
    if found:
        opened = (
            b"<" + found.group(1) + found.group(2) + b">" + insert + b"</" + found.group(1) + b">"
        )
        return xml[: found.start()] + opened + xml[found.end() :], None
    return xml, None


CP = b"http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DCTERMS = b"http://purl.org/dc/terms/"
XSI = b"http://www.w3.org/2001/XMLSchema-instance"
DC = b"http://purl.org/dc/elements/1.1/"
META = b"urn:oasis:names:tc:opendocument:xmlns:meta:1.0"


def resave_core(xml: bytes, modified: datetime, editor: str) -> bytes:
    """``docProps/core.xml`` as saved again by ``editor`` at ``modified``: modification date,
    last editor and revision changed; creation date, author, title and ids kept."""
    stamp = ooxml_date(modified).encode()
    insert = (
        b'<dcterms:modified xmlns:dcterms="' + DCTERMS + b'" xmlns:xsi="' + XSI
        + b'" xsi:type="dcterms:W3CDTF">' + stamp + b"</dcterms:modified>"
    )  # fmt: skip
    xml, _ = _set_element(xml, b"modified", stamp, insert, b"coreProperties")
    who = _xml_text(editor)
    insert = b'<cp:lastModifiedBy xmlns:cp="' + CP + b'">' + who + b"</cp:lastModifiedBy>"
    xml, _ = _set_element(xml, b"lastModifiedBy", who, insert, b"coreProperties")
    return _bump(xml, b"revision")


def resave_meta(xml: bytes, modified: datetime, editor: str) -> bytes:
    """ODF ``meta.xml`` saved again: ``dc:date``, ``dc:creator`` (the last editor in ODF)
    and the editing cycles changed; ``meta:creation-date`` and ``meta:initial-creator`` kept."""
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S").encode()
    insert = b'<dc:date xmlns:dc="' + DC + b'">' + stamp + b"</dc:date>"
    xml, _ = _set_element(xml, b"date", stamp, insert, b"meta")
    who = _xml_text(editor)
    insert = b'<dc:creator xmlns:dc="' + DC + b'">' + who + b"</dc:creator>"
    xml, _ = _set_element(xml, b"creator", who, insert, b"meta")
    return _bump(xml, b"editing-cycles")


def _bump(xml: bytes, element: bytes) -> bytes:
    """The count in ``element`` (OOXML's revision, ODF's editing cycles) plus one."""
    found = re.search(rb"<(?:[\w.-]+:)?" + element + rb"\b[^>]*>(\d{1,6})<", xml)
    if not found:
        return xml
    bumped = str(int(found.group(1)) + 1).encode()
    return xml[: found.start(1)] + bumped + xml[found.end(1) :]


TEXT_NODES = {
    "docx": re.compile(rb"(<w:t(?:\s[^>]*)?>)([^<]+)(</w:t>)"),
    "pptx": re.compile(rb"(<a:t>)([^<]+)(</a:t>)"),
    "xlsx": re.compile(rb"(<t(?:\s[^>]*)?>)([^<]+)(</t>)"),
    "odf": re.compile(rb"(<text:(?:p|h|span)\b[^>/]*>)([^<]+)(<)"),
}
XLSX_NUMBER = re.compile(
    rb'(<c\b(?:(?!\bt=")[^>])*><v>|<c\b[^>]*\bt="n"[^>]*><v>)(-?\d+(?:\.\d+)?)(</v>)'
)
"""A number typed in a cell (no formula; a cell without type or of type "n"; a shared
string's index is left alone)."""
TOKEN = re.compile(rb"&[^;]{1,10};|\d+|[A-Za-z]{4,}")


def change_token(text: bytes, rng: random.Random) -> bytes | None:
    """``text`` with one number or word changed (never inside an entity), or None."""
    tokens = [t for t in TOKEN.finditer(text) if not t.group().startswith(b"&")]
    numbers = [t for t in tokens if t.group().isdigit()]
    pool = numbers or tokens
    if not pool:
        return None
    token = rng.choice(pool)
    old = token.group()
    if old.isdigit():
        new = str(int(old) + rng.randint(1, 9) * 10 ** max(0, len(old) - 2)).encode()
    else:
        choices = [w.encode("utf-8") for w in WORDS if w.encode("utf-8").lower() != old.lower()]
        new = rng.choice(choices)
    return text[: token.start()] + new + text[token.end() :]


def alter_part(xml: bytes, pattern: re.Pattern[bytes], rng: random.Random) -> bytes | None:
    """``xml`` with one text node's number or word changed (nodes with a number first)."""
    nodes = list(pattern.finditer(xml))
    with_digits = [n for n in nodes if re.search(rb"\d", n.group(2))]
    for node in rng.sample(with_digits, len(with_digits)) + rng.sample(nodes, len(nodes)):
        changed = change_token(node.group(2), rng)
        if changed is not None:
            return xml[: node.start(2)] + changed + xml[node.end(2) :]
    return None


def alter_package(ext: str, members: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """The parts to replace for an altered OOXML/ODF variant (empty when nothing is safe)."""
    if ext == "docx":
        candidates = [("word/document.xml", TEXT_NODES["docx"])]
    elif ext == "pptx":
        slides = sorted(n for n in members if re.fullmatch(r"ppt/slides/slide\d+\.xml", n))
        candidates = [(n, TEXT_NODES["pptx"]) for n in slides]
    elif ext == "xlsx":
        sheets = sorted(n for n in members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        candidates = [(n, XLSX_NUMBER) for n in sheets]
        candidates.append(("xl/sharedStrings.xml", TEXT_NODES["xlsx"]))
        candidates += [(n, TEXT_NODES["xlsx"]) for n in sheets]  # inline strings
    else:
        candidates = [("content.xml", TEXT_NODES["odf"])]
    for name, pattern in candidates:
        if name not in members:
            continue
        if pattern is XLSX_NUMBER:
            numbers = list(pattern.finditer(members[name]))
            if numbers:
                cell = rng.choice(numbers)
                old = cell.group(2)
                new = str(
                    float(old) + rng.randint(1, 9) if b"." in old else int(old) + rng.randint(1, 9)
                )
                xml = members[name]
                return {name: xml[: cell.start(2)] + new.encode() + xml[cell.end(2) :]}
            continue
        changed = alter_part(members[name], pattern, rng)
        if changed is not None:
            return {name: changed}
    return {}


# --- PDF -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PdfTail:
    """What an incremental update needs from the last cross-reference section."""

    startxref: int
    size: int
    root: str
    file_id: str | None
    stream_xref: bool
    info: tuple[tuple[str, str], ...]
    """The current Info dictionary's entries as PDF source text (name, value)."""
    dates: tuple[datetime, ...]


def open_pdf(data: bytes) -> Any:
    """A PyMuPDF document over ``data`` (MuPDF's own warnings silenced)."""
    import pymupdf

    tools: Any = pymupdf.TOOLS
    tools.mupdf_display_errors(False)
    tools.mupdf_display_warnings(False)
    opener: Any = pymupdf.open
    return opener(stream=data, filetype="pdf")


_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF", re.S)


def _pdf_string(text: str) -> str:
    """A PDF text string: literal when ASCII, else UTF-16BE with its byte order mark."""
    if all(32 <= ord(c) < 127 for c in text):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return f"({escaped})"
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _pdf_name(name: str) -> str:
    return "/" + "".join(
        c
        if 33 <= ord(c) < 127 and c not in "#()<>[]{}/%"
        else "".join(f"#{b:02X}" for b in c.encode())
        for c in name
    )


def read_pdf_tail(data: bytes) -> PdfTail | None:
    """The facts an incremental update needs, or None for a PDF that cannot take one
    safely: encrypted, repaired on opening (its offsets are wrong), with embedded files (each
    would be an item of its own) or without ``startxref``."""
    tail = list(_STARTXREF.finditer(data[-4096:]))
    if not tail:
        return None
    startxref = int(tail[-1].group(1))
    if startxref >= len(data):
        return None
    at = data[startxref : startxref + 64].lstrip()
    stream_xref = not at.startswith(b"xref")
    if stream_xref and not re.match(rb"\d+\s+\d+\s+obj", at):
        return None
    try:
        doc = open_pdf(data)
    except (RuntimeError, ValueError):
        return None
    try:
        if doc.is_encrypted or doc.needs_pass or doc.is_repaired or doc.page_count == 0:
            return None
        if doc.embfile_count() or doc.xref_get_key(-1, "Encrypt")[0] != "null":
            return None
        kind, root = doc.xref_get_key(-1, "Root")
        if kind != "xref":
            return None
        size = doc.xref_length()
        declared = doc.xref_get_key(-1, "Size")
        if declared[0] == "int":
            size = max(size, int(declared[1]))
        ids = re.findall(r"<([0-9A-Fa-f]*)>", doc.xref_get_key(-1, "ID")[1])
        file_id = ids[0] if len(ids) == 2 else None
        entries: list[tuple[str, str]] = []
        dates: list[datetime] = []
        kind, ref = doc.xref_get_key(-1, "Info")
        if kind == "xref":
            number = int(ref.split()[0])
            for key in doc.xref_get_keys(number):
                vtype, value = doc.xref_get_key(number, key)
                if key in ("ModDate", "CreationDate") and vtype == "string":
                    parsed = parse_date(value)
                    if parsed:
                        dates.append(parsed)
                if key in ("ModDate", "Producer"):
                    continue
                if vtype == "string":
                    entries.append((key, _pdf_string(value)))
                elif vtype in ("name", "int", "float", "bool", "null", "xref", "array", "dict"):
                    entries.append((key, value))
        return PdfTail(startxref, size, root, file_id, stream_xref, tuple(entries), tuple(dates))
    finally:
        doc.close()


def pdf_update(data: bytes, tail: PdfTail, producer: str, modified: datetime, new_id: str) -> bytes:
    """``data`` with one incremental update appended: a new Info dictionary (the old
    entries, another ``/Producer`` and ``/ModDate``) as object ``tail.size``, and a new
    cross-reference section for it, of the same kind as the last one (a table, or a
    cross-reference stream as object ``tail.size + 1``), whose trailer keeps ``/Root``,
    chains to the previous section by ``/Prev`` and keeps the first ``/ID`` (the document's
    permanent identifier) with a new second one, as a re-saving program does."""
    out = bytearray(data)
    if not out.endswith((b"\n", b"\r")):
        out += b"\n"
    number = tail.size
    entries = "".join(f"{_pdf_name(k)} {v}" for k, v in tail.info)
    entries += f"/Producer {_pdf_string(producer)}/ModDate {_pdf_string(pdf_date(modified))}"
    info_at = len(out)
    out += f"{number} 0 obj\n<<{entries}>>\nendobj\n".encode("latin-1")
    ident = f"/ID [<{tail.file_id}> <{new_id}>]" if tail.file_id is not None else ""
    common = f"/Root {tail.root} /Info {number} 0 R /Prev {tail.startxref} {ident}"
    xref_at = len(out)
    if tail.stream_xref:
        rows = b"".join(
            b"\x01" + offset.to_bytes(4, "big") + b"\x00\x00" for offset in (info_at, xref_at)
        )
        head = (
            f"{number + 1} 0 obj\n<</Type /XRef /Size {number + 2} /Index [{number} 2] "
            f"/W [1 4 2] {common} /Length {len(rows)}>>\nstream\n"
        )
        out += head.encode("latin-1") + rows + b"\nendstream\nendobj\n"
    else:
        out += f"xref\n{number} 1\n{info_at:010d} 00000 n\r\n".encode("ascii")
        out += f"trailer\n<</Size {number + 1} {common}>>\n".encode("latin-1")
    out += f"startxref\n{xref_at}\n%%EOF\n".encode("ascii")
    return bytes(out)


# --- legacy Office -----------------------------------------------------------------------------


def ole_last_saved(data: bytes) -> int | None:
    """Offset in ``data`` of the 8 bytes of the summary's last-saved time (property 13 of
    ``\x05SummaryInformation``) when its type and value occur exactly once in the file, so
    they can be patched in place; else None."""
    import olefile

    if not data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return None
    try:
        ole = olefile.OleFileIO(data)
        try:
            if not ole.exists("\x05SummaryInformation"):
                return None
            stream = ole.openstream("\x05SummaryInformation").read()
        finally:
            ole.close()
        (section,) = struct.unpack_from("<I", stream, 44)
        _, count = struct.unpack_from("<II", stream, section)
        for n in range(min(count, 256)):
            prop, offset = struct.unpack_from("<II", stream, section + 8 + 8 * n)
            if prop == 13:
                raw = stream[section + offset : section + offset + 12]
                if len(raw) == 12 and raw[:4] == struct.pack("<I", 64) and data.count(raw) == 1:
                    return data.index(raw) + 4
    except (OSError, ValueError, IndexError, TypeError, struct.error):
        return None
    return None


def ole_dates(data: bytes) -> list[datetime]:
    """The creation and last-saved times of a compound file's summary (plausible ones)."""
    import olefile

    try:
        ole = olefile.OleFileIO(data)
        try:
            meta = ole.get_metadata()
        finally:
            ole.close()
    except (OSError, ValueError, IndexError, TypeError, struct.error):
        return []
    times = (meta.create_time, meta.last_saved_time)
    return [
        t.replace(tzinfo=UTC) for t in times if isinstance(t, datetime) and 1995 <= t.year <= 2026
    ]


def filetime(when: datetime) -> int:
    return int((when - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)


# --- archives and mails, fast enough for 100,000 items ------------------------------------


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One member of a zip, already deflated."""

    name: str
    when: datetime
    packed: bytes
    crc: int
    size: int


def zip_archive(entries: Iterable[ZipEntry]) -> bytes:
    """A zip (deflated members, UTF-8 names flagged, DOS dates from ``when``) of ``entries``,
    written here rather than by :mod:`zipfile` so that deflated data can be re-used: a
    member's bytes are deflated once however many zips hold it."""
    out = io.BytesIO()
    central = []
    count = 0
    for entry in entries:
        name = entry.name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800
        when = entry.when
        dos_time = when.hour << 11 | when.minute << 5 | when.second // 2
        dos_date = (when.year - 1980) << 9 | when.month << 5 | when.day
        fixed = (flags, 8, dos_time, dos_date, entry.crc, len(entry.packed), entry.size, len(name))
        offset = out.tell()
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, *fixed, 0) + name + entry.packed)
        tail = struct.pack("<3H2I", 0, 0, 0, 0o100644 << 16, offset)
        central.append(struct.pack("<4s6H3I2H", b"PK\x01\x02", 0x314, 20, *fixed, 0) + tail + name)
        count += 1
    directory = b"".join(central)
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


class Deflater:
    """Raw deflate (level 6) of zip members, remembered by sha256 within a memory budget; a
    file that starts with its family's original (a PDF variant is the original plus an
    update) continues a copy of the original's compressor instead of starting over."""

    def __init__(self, budget: int = 256 << 20) -> None:
        self.budget = budget
        self.done: OrderedDict[str, tuple[bytes, int]] = OrderedDict()
        self.held = 0
        self.bases: OrderedDict[str, bytes] = OrderedDict()
        self.started: OrderedDict[str, tuple[Any, bytes, int]] = OrderedDict()

    def base(self, key: str, data: bytes) -> None:
        """Register a family original that later files may start with."""
        self.bases[key] = data
        while len(self.bases) > 64:
            dropped, _ = self.bases.popitem(last=False)
            self.started.pop(dropped, None)

    def deflate(self, data: bytes, sha256: str, prefix: str | None) -> tuple[bytes, int]:
        """(deflated bytes, CRC-32) of ``data``."""
        known = self.done.get(sha256)
        if known is not None:
            self.done.move_to_end(sha256)
            return known
        base = self.bases.get(prefix) if prefix else None
        if prefix and base is not None and len(data) > len(base) and data.startswith(base):
            if prefix not in self.started:
                compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
                self.started[prefix] = (compressor, compressor.compress(base), zlib.crc32(base))
            compressor, head, crc = self.started[prefix]
            rest = data[len(base) :]
            going = compressor.copy()
            result = (head + going.compress(rest) + going.flush(), zlib.crc32(rest, crc))
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            result = (compressor.compress(data) + compressor.flush(), zlib.crc32(data))
        self.done[sha256] = result
        self.held += len(result[0])
        while self.held > self.budget and self.done:
            _, (dropped, _) = self.done.popitem(last=False)
            self.held -= len(dropped)
        return result


class FastGenerator(BytesGenerator):
    """:class:`email.generator.BytesGenerator` writing a body's lines in one call instead of
    two calls per line (base64 attachments are most of a dump's mail bytes); the output is
    the same."""

    def _write_lines(self, lines: str) -> None:
        if "\r" in lines:
            super()._write_lines(lines)  # type: ignore[misc]
        elif lines:
            self.write(lines.replace("\n", self._NL))  # type: ignore[attr-defined]


def mail_bytes(message: EmailMessage) -> bytes:
    """``message.as_bytes()``, faster (see :class:`FastGenerator`)."""
    out = io.BytesIO()
    FastGenerator(out, mangle_from_=False, policy=message.policy).flatten(message, unixfrom=False)
    return out.getvalue()


# --- the builder --------------------------------------------------------------------------------


class Builder:
    """Writes one dump; see the module's docstring."""

    def __init__(
        self,
        real: Path,
        out: Path,
        target: int,
        seed: int,
        family_size: tuple[int, int] = FAMILY_SIZE,
    ) -> None:
        self.family_size = family_size
        self.real = real
        self.out = out
        self.target = target
        self.rng = random.Random(seed)
        self.sources = load_sources(real)
        self.cursor: dict[str, int] = {}
        self.order: dict[str, list[Source]] = {}
        for ext, sources in sorted(self.sources.items()):
            shuffled = list(sources)
            self.rng.shuffle(shuffled)
            self.order[ext] = shuffled
        images = sorted(
            (s for e in IMAGE_EXTS for s in self.sources.get(e, [])), key=lambda s: s.rel
        )
        self.rng.shuffle(images)
        self.order["image"] = images
        self.bad: set[str] = set()
        self.used: set[str] = set()
        self.written: list[Written] = []
        self.attachable: list[Written] = []
        self.zippable: list[Written] = []
        self.message_ids: list[tuple[str, str, datetime]] = []
        self.items = 1  # SCALE_MANIFEST.csv is scanned too
        self.top_files = 0
        self.since_zip = 0
        self.mails = 0
        self.people = [
            (f"{first} {last}", self._login(first, last), DOMAINS[(i * 7 + j) % len(DOMAINS)])
            for i, first in enumerate(FIRST)
            for j, last in enumerate(LAST)
            if (i + j) % 5 == 0
        ]
        self.seen_images: set[str] = set()
        self.deflater = Deflater()
        self.parts: OrderedDict[str, tuple[MIMEPart, int]] = OrderedDict()
        self.parts_held = 0
        self.families = 0
        self.originals: set[str] = set()

    @staticmethod
    def _login(first: str, last: str) -> str:
        plain = (first + "." + last).lower()
        for accented, bare in zip("éèêëàâîïôöûüçœ", "eeeeaaiioouuco", strict=True):
            plain = plain.replace(accented, bare)
        return plain

    # -- naming and writing --

    def _unique(self, folder: str, stem: str, ext: str) -> str:
        stem = UNSAFE_NAME.sub("_", stem).strip(" .") or "document"
        stem = stem[:80]
        rel = f"{folder}/{stem}.{ext}" if ext else f"{folder}/{stem}"
        n = 2
        while rel.lower() in self.used:
            rel = f"{folder}/{stem} ({n}).{ext}" if ext else f"{folder}/{stem} ({n})"
            n += 1
        self.used.add(rel.lower())
        return rel

    def _write(
        self,
        rel: str,
        data: bytes,
        kind: str,
        ext: str,
        items: int,
        mtime: datetime,
        source: Source | None,
        contains: tuple[str, ...] = (),
        prefix: str | None = None,
    ) -> Written:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = mtime.timestamp()
        os.utime(path, (stamp, stamp))
        entry = Written(
            rel,
            kind,
            ext,
            hashlib.sha256(data).hexdigest(),
            len(data),
            items,
            mtime,
            source,
            contains,
            prefix,
        )
        self.written.append(entry)
        self.items += items
        self.top_files += 1
        self.since_zip += 1
        if kind not in ("archive", "mbox"):
            self.zippable.append(entry)
        return entry

    def _when(self, start: datetime, days: float) -> datetime:
        """A moment ``days`` at most after ``start``, on a working day's hours."""
        moment = start + timedelta(days=self.rng.uniform(0.0, days))
        return moment.replace(
            hour=self.rng.randint(7, 20),
            minute=self.rng.randint(0, 59),
            second=self.rng.randint(0, 59),
        )

    def _base_date(self) -> datetime:
        return self._when(datetime(2015, 1, 5, tzinfo=UTC), 800.0)

    def _editor(self) -> str:
        name, login, _ = self.rng.choice(self.people)
        return name if self.rng.random() < 0.6 else login.split(".")[0][0] + login.split(".")[1]

    def _next_source(self, ext: str) -> Source | None:
        """The next usable original of this type (cycling through the shuffled pool)."""
        pool = self.order.get(ext, [])
        for _ in range(len(pool)):
            at = self.cursor.get(ext, 0)
            self.cursor[ext] = at + 1
            source = pool[at % len(pool)]
            if source.rel not in self.bad:
                return source
        return None

    # -- document families --

    def family(self) -> None:
        """One original and its re-saved variants (a few altered) in a few folders."""
        exts = [e for e in FAMILY_WEIGHTS if self.order.get(e)]
        if not exts:
            return
        ext = self.rng.choices(exts, weights=[FAMILY_WEIGHTS[e] for e in exts])[0]
        source = self._next_source(ext)
        if source is None:
            return
        data = source.path.read_bytes()
        count = self.rng.randint(*self.family_size)
        makers = self._variant_maker(ext, data)
        if makers is None:
            self.bad.add(source.rel)
            return
        make, dates = makers
        fallback = self._base_date()  # drawn always: the draws do not depend on the files
        start = max(dates) if dates else fallback
        home = self.rng.choice(DOC_FOLDERS)
        stem = Path(source.rel).stem
        altered: set[int] = set()
        if ext in ALTERABLE and count >= 5:
            altered = set(self.rng.sample(range(1, count), max(1, round(count * ALTERED_SHARE))))
        saved = start
        self.families += 1
        key = f"{self.families}:{source.rel}"
        self.deflater.base(key, data)
        again = source.rel in self.originals
        self.originals.add(source.rel)
        for n in range(count):
            if n == 0:
                kind = "duplicate" if again else "original"
                body, when = data, start + timedelta(minutes=self.rng.randint(1, 600))
            else:
                saved = saved + timedelta(hours=self.rng.uniform(0.5, 24 * 20))
                body = make(saved, n in altered)
                kind = "altered" if n in altered and body is not None else "variant"
                if body is None:
                    body = make(saved, False)
                if body is None or body == data:
                    body, kind = data, "duplicate"
                when = saved
            folder = home if self.rng.random() < 0.6 else self._user_folder()
            suffix = "" if n == 0 else self.rng.choice(VARIANT_SUFFIXES)
            rel = self._unique(folder, stem + suffix, ext)
            prefix = key if len(body) > len(data) and body.startswith(data) else None
            entry = self._write(rel, body, kind, ext, 1, when, source, (), prefix)
            if entry.size <= MAX_ATTACHMENT_BYTES:
                self.attachable.append(entry)
            self._maybe_duplicate()

    def _user_folder(self) -> str:
        _, login, _ = self.rng.choice(self.people)
        where = self.rng.choice(("Mes documents", "Bureau", "Téléchargements"))
        return f"Utilisateurs/{login}/{where}"

    def _variant_maker(self, ext: str, data: bytes) -> tuple[Any, list[datetime]] | None:
        """(make(saved, altered) -> bytes | None, dates found in the original), or None when
        this original cannot be used."""
        if ext in OOXML_MAIN or ext in ODF_TYPES:
            return self._package_maker(ext, data)
        if ext == "pdf":
            tail = read_pdf_tail(data)
            if tail is None:
                return None
            first = pdf_update(data, tail, PRODUCERS[0], LEAK, "0" * 32)
            if not _pdf_check(first, pdf_date(LEAK)):
                return None

            def make_pdf(saved: datetime, altered: bool) -> bytes | None:
                new_id = f"{self.rng.getrandbits(128):032X}"
                return pdf_update(data, tail, self.rng.choice(PRODUCERS), saved, new_id)

            return make_pdf, list(tail.dates)
        if ext in ("doc", "xls"):
            if not data.startswith(b"\xd0\xcf\x11\xe0"):
                return None
            found = ole_last_saved(data)
            if found is None:
                return None

            def make_ole(saved: datetime, altered: bool) -> bytes | None:
                if altered or found is None:
                    return None
                return data[:found] + struct.pack("<Q", filetime(saved)) + data[found + 8 :]

            return make_ole, ole_dates(data)
        if ext == "rtf":
            if not data.startswith(b"{\\rtf"):
                return None

            def make_rtf(saved: datetime, altered: bool) -> bytes | None:
                return None if altered else data + b"\r\n" * self.rng.randint(1, 6)

            return make_rtf, []
        if ext in TEXT_EXTS:
            if not _plain_text(data):
                return None
            newline = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
            counter = iter(range(1, 10_000))

            def make_text(saved: datetime, altered: bool) -> bytes | None:
                tail = newline * next(counter)
                if altered:
                    changed = change_token(data, self.rng)
                    return None if changed is None else changed + tail
                return data + tail

            return make_text, []
        return None

    def _package_maker(self, ext: str, data: bytes) -> tuple[Any, list[datetime]] | None:
        members = read_zip(data)
        if members is None:
            return None
        names = [info.filename for info, _ in members]
        parts = {info.filename: body for info, body in members}
        # Embedded objects and macros would be items (or findings) of their own; printer
        # settings (.bin too) are in most real Office files and are not.
        embedded = ("embeddings/", "Object ", "vbaProject", "oleObject", "activeX")
        if any(mark in n for n in names for mark in embedded):
            return None
        if ext in OOXML_MAIN:
            if "[Content_Types].xml" not in parts or OOXML_MAIN[ext] not in parts:
                return None
            meta_name = "docProps/core.xml"
            resave = resave_core
        else:
            declared = parts.get("mimetype", b"")
            if names[0] != "mimetype" or not declared.startswith(
                b"application/vnd.oasis.opendocument"
            ):
                return None
            meta_name = "meta.xml"
            resave = resave_meta
        if meta_name not in parts:
            return None
        meta = parts[meta_name]
        dates = [
            d
            for d in (
                parse_date(m.decode("ascii", "replace"))
                for m in re.findall(rb">(\d{4}-\d{2}-\d{2}T[^<]{8,})<", meta)
            )
            if d is not None
        ]

        def make_package(saved: datetime, altered: bool) -> bytes | None:
            replaced = {meta_name: resave(meta, saved, self._editor())}
            if altered:
                changed = alter_package(ext, parts, self.rng)
                if not changed:
                    return None
                replaced.update(changed)
            return write_zip((info, replaced.get(info.filename, body)) for info, body in members)

        return make_package, dates

    # -- duplicates, images, mails, archives --

    def _maybe_duplicate(self) -> None:
        if self.rng.random() >= DUPLICATE_SHARE / (1 - DUPLICATE_SHARE):
            return
        candidates = self.zippable
        if not candidates:
            return
        copied = candidates[int(len(candidates) * self.rng.random() ** 0.5)]
        name = Path(copied.rel).name
        stem = (
            name[: -len(copied.ext) - 1] if copied.ext and name.endswith("." + copied.ext) else name
        )
        choice = self.rng.random()
        if choice < 0.4:
            folder = "Sauvegarde/" + copied.rel.rsplit("/", 1)[0]
        elif choice < 0.7:
            folder, stem = copied.rel.rsplit("/", 1)[0], "Copie de " + stem
        else:
            folder = self._user_folder()
        rel = self._unique(folder, stem, copied.ext)
        data = (self.out / copied.rel).read_bytes()
        when = copied.mtime + timedelta(days=self.rng.uniform(0, 30))
        kind, source = "duplicate", copied.source
        self._write(rel, data, kind, copied.ext, copied.items, when, source, (copied.rel,))

    def image(self) -> None:
        source = self._next_source("image")
        if source is None:
            return
        ext = source.ext
        data = source.path.read_bytes()
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
            self.bad.add(source.rel)
            return
        kind = "duplicate" if source.rel in self.seen_images else "original"
        self.seen_images.add(source.rel)
        rel = self._unique(self.rng.choice(IMAGE_FOLDERS), Path(source.rel).stem, ext)
        entry = self._write(rel, data, kind, ext, 1, self._base_date(), source)
        if entry.size <= MAX_ATTACHMENT_BYTES:
            self.attachable.append(entry)
        self._maybe_duplicate()

    def real_mail(self, source: Source) -> None:
        data = source.path.read_bytes()
        kind = "mbox" if source.ext == "mbox" else "mail"
        items = mbox_items(data) if kind == "mbox" else mail_items(data)
        rel = self._unique("Boite de reception/Import", Path(source.rel).stem, source.ext)
        self._write(rel, data, kind, source.ext, items, self._base_date(), source)

    def _pick_attachments(self) -> list[Written]:
        """1-3 documents; early ones come back often (forwarded again and again)."""
        if not self.attachable:
            return []
        count = self.rng.choice((1, 1, 1, 2, 2, 3))
        picked: dict[str, Written] = {}
        for _ in range(count):
            entry = self.attachable[int(len(self.attachable) * self.rng.random() ** 3)]
            picked[entry.rel] = entry
        return list(picked.values())

    def _message(self, number: int, linesep: str) -> tuple[EmailMessage, list[Written], datetime]:
        rng = self.rng
        sender = rng.choice(self.people)
        rcpts = rng.sample(self.people, rng.randint(1, 4))
        attachments = self._pick_attachments() if rng.random() < 0.85 else []
        after = [a.mtime for a in attachments] + [self._base_date()]
        subject = rng.choice(SUBJECTS)
        msg = EmailMessage(policy=policy.SMTP.clone(linesep=linesep))
        reply = self.message_ids and rng.random() < 0.5
        if reply:
            parent_id, parent_subject, parent_when = self.message_ids[
                -1 - int(min(len(self.message_ids), 300) * rng.random())
            ]
            subject = rng.choice(("RE: ", "TR: ", "Fwd: ")) + parent_subject
            after.append(parent_when)
        when = max(after) + timedelta(minutes=rng.randint(3, 4000))
        when = when.astimezone(paris(when) if rng.random() < 0.9 else timezone(timedelta(hours=-4)))
        domain = sender[2]
        message_id = f"<{rng.getrandbits(64):016X}.{number}@{domain}>"
        hops = [when + timedelta(seconds=rng.randint(1, 4))]
        for _ in range(rng.randint(0, 2)):
            hops.append(hops[-1] + timedelta(seconds=rng.randint(1, 40)))
        rcpt_domain = rcpts[0][2]
        for k, hop in reversed(list(enumerate(hops))):
            if k == 0:
                line = (
                    f"from [10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}] "
                    f"(unknown [198.51.100.{rng.randint(1, 254)}]) by smtp.{domain} (Postfix) "
                    f"with ESMTPSA id {rng.getrandbits(40):010X}"
                )
            else:
                line = (
                    f"from smtp.{domain} (smtp.{domain} [192.0.2.{rng.randint(1, 254)}]) by "
                    f"mx{k}.{rcpt_domain} (Postfix) with ESMTPS id {rng.getrandbits(40):010X} "
                    f"for <{rcpts[0][1]}@{rcpt_domain}>"
                )
            msg["Received"] = f"{line}; {format_datetime(hop)}"
        msg["From"] = f"{sender[0]} <{sender[1]}@{domain}>"
        msg["To"] = ", ".join(f"{p[0]} <{p[1]}@{p[2]}>" for p in rcpts)
        if rng.random() < 0.2:
            msg["Cc"] = f"{rng.choice(LAST)} <contact@{rng.choice(OUTSIDE)}>"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = message_id
        if reply:
            msg["In-Reply-To"] = parent_id
            msg["References"] = parent_id
        msg["MIME-Version"] = "1.0"
        msg["X-Mailer"] = rng.choice(MAILERS)
        lines = [BODY[0], *rng.sample(BODY[1:], 2), "", sender[0].split()[0]]
        msg.set_content("\n".join(lines) + "\n")
        if attachments:
            msg.make_mixed()
            for attachment in attachments:
                msg.attach(cast(EmailMessage, self._part(attachment)))
        if msg.is_multipart():
            msg.set_boundary(f"----=_Part_{number}_{rng.getrandbits(48):012x}")
        self.message_ids.append((message_id, subject.split(": ")[-1], when))
        return msg, attachments, when

    def _part(self, attachment: Written) -> MIMEPart:
        """The MIME part (base64) of one attachment, made once while it stays in a bounded
        cache: the same documents are forwarded again and again."""
        cached = self.parts.get(attachment.rel)
        if cached is not None:
            self.parts.move_to_end(attachment.rel)
            return cached[0]
        maintype, subtype = MIME.get(attachment.ext, ("application", "octet-stream"))
        part = MIMEPart(policy=policy.SMTP)
        part.set_content(
            (self.out / attachment.rel).read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=Path(attachment.rel).name,
        )
        self.parts[attachment.rel] = (part, attachment.size)
        self.parts_held += attachment.size
        while self.parts_held > 128 << 20:
            _, (_, size) = self.parts.popitem(last=False)
            self.parts_held -= size
        return part

    def mail(self) -> None:
        self.mails += 1
        msg, attachments, when = self._message(self.mails, "\r\n")
        folder = self.rng.choice(MAIL_FOLDERS)
        subject = str(msg["Subject"])
        rel = self._unique(folder, f"{self.mails:06d} - {subject}"[:70], "eml")
        contains = tuple(a.rel for a in attachments)
        self._write(rel, mail_bytes(msg), "mail", "eml", 1 + len(attachments), when, None, contains)

    def mbox(self) -> None:
        chunks: list[bytes] = []
        items = 1
        contains: list[str] = []
        last = LEAK
        for _ in range(self.rng.randint(*MBOX_MESSAGES)):
            self.mails += 1
            msg, attachments, when = self._message(self.mails, "\n")
            sender = str(msg["From"]).rsplit("<", 1)[-1].rstrip(">")
            stamp = when.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
            body = mail_bytes(msg)
            body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
            chunks.append(f"From {sender} {stamp}\n".encode() + body.rstrip(b"\n") + b"\n\n")
            items += 1 + len(attachments)
            contains.extend(a.rel for a in attachments)
            last = when
        rel = self._unique(
            "Boite de reception/Archives mbox", f"archive {last:%Y-%m} {self.mails}", "mbox"
        )
        self._write(
            rel, b"".join(chunks), "mbox", "mbox", items, last, None, tuple(dict.fromkeys(contains))
        )

    def archive(self) -> None:
        """A zip of 10-50 files written earlier (a folder sent or exported at once)."""
        if len(self.zippable) < ZIP_MEMBERS[0]:
            return
        count = min(len(self.zippable), self.rng.randint(*ZIP_MEMBERS))
        window = self.zippable[-max(count * 8, 400) :]
        members = sorted(self.rng.sample(window, count), key=lambda w: w.rel)
        entries = []
        for member in members:
            data = (self.out / member.rel).read_bytes()
            packed, crc = self.deflater.deflate(data, member.sha256, member.prefix)
            moment = member.mtime.astimezone(paris(member.mtime))
            entries.append(ZipEntry(member.rel, moment, packed, crc, len(data)))
        top = members[0].rel.split("/")[-2] if "/" in members[0].rel else "Dossier"
        when = max(m.mtime for m in members) + timedelta(hours=self.rng.uniform(1, 72))
        rel = self._unique(self.rng.choice(ZIP_FOLDERS), f"{top} {when:%Y-%m-%d}", "zip")
        items = 1 + sum(m.items for m in members)
        self._write(
            rel,
            zip_archive(entries),
            "archive",
            "zip",
            items,
            when,
            None,
            tuple(m.rel for m in members),
        )

    # -- the whole dump --

    def build(self) -> Summary:
        started = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        real_mails = self.order.get("eml", []) + self.order.get("mbox", [])
        pending = sorted(real_mails, key=lambda s: s.rel)[: max(1, self.target // 120)]
        next_mbox = MBOX_FIRST
        step = stalled = 0
        # The chance that a step writes a family (of family_size files), a mail or a photo.
        mean_family = sum(self.family_size) / 2
        weights = (FILE_SHARES[0] / mean_family, FILE_SHARES[1], FILE_SHARES[2])
        actions = [w / sum(weights) for w in weights]
        while self.items < self.target and stalled < 1000:
            before = self.items
            step += 1
            if pending and step % 7 == 3:
                self.real_mail(pending.pop(0))
            roll = self.rng.random()
            if roll < actions[0]:
                self.family()
            elif roll < actions[0] + actions[1]:
                self.mail()
                self._maybe_duplicate()
            else:
                self.image()
            if self.top_files >= next_mbox:
                next_mbox += MBOX_EVERY
                self.mbox()
            while self.since_zip >= ZIP_EVERY - 1 and self.items < self.target:
                self.since_zip -= ZIP_EVERY - 1
                self.archive()
            stalled = stalled + 1 if self.items == before else 0
        summary = self._finish()
        summary.seconds = time.perf_counter() - started
        return summary

    def _finish(self) -> Summary:
        summary = Summary()
        rows = []
        for entry in sorted(self.written, key=lambda w: w.rel):
            source = entry.source
            rows.append(
                {
                    "path": entry.rel,
                    "kind": entry.kind,
                    "source": source.rel if source else "",
                    "source_sha256": source.sha256 if source else "",
                    "origin": source.origin if source else "",
                    "sha256": entry.sha256,
                    "size": entry.size,
                    "items": entry.items,
                    "contains": ";".join(entry.contains),
                }
            )
            summary.kinds[entry.kind] += 1
            summary.bytes += entry.size
        summary.files = len(rows)
        summary.items = self.items
        with (self.out / MANIFEST_NAME).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["path"])
            writer.writeheader()
            writer.writerows(rows)
        return summary


def _plain_text(data: bytes) -> bool:
    """Text a scanner takes as text: no NUL, not a mail or mailbox by its first lines."""
    if b"\x00" in data[:65536] or not data.strip():
        return False
    head = data.lstrip()[:4096]
    if head.startswith(b"From "):
        return False
    lines = [line for line in head.splitlines()[:5] if line.strip()]
    return sum(1 for line in lines if HEADERISH.match(line)) < 2


def _pdf_check(data: bytes, moddate: str) -> bool:
    """The updated PDF opens without repair and shows the new ModDate."""
    try:
        doc = open_pdf(data)
    except (RuntimeError, ValueError):
        return False
    try:
        return not doc.is_repaired and doc.metadata.get("modDate") == moddate
    finally:
        doc.close()


def mail_items(data: bytes) -> int:
    """Items a scan makes of one message: itself and each attachment, nested ones too."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    count = 1
    for part in message.walk():
        if part is message or (part.is_multipart() and part.get_content_type() != "message/rfc822"):
            continue
        if (
            part.get_content_type() == "message/rfc822"
            or part.get_filename()
            or (part.get_content_disposition() == "attachment")
        ):
            count += 1
    return count


def mbox_items(data: bytes) -> int:
    """The mailbox, each message and its attachments."""
    messages = re.split(rb"(?m)^From \S+.*\r?\n", data)
    return 1 + sum(mail_items(m) for m in messages if m.strip())


def build(
    out: Path,
    items: int,
    real: Path = DEFAULT_REAL,
    seed: int = DEFAULT_SEED,
    family_size: tuple[int, int] = FAMILY_SIZE,
) -> Summary:
    """Write a dump of about ``items`` items under ``out``; returns what was written."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty")
    builder = Builder(real, out, items, seed, family_size)
    summary = builder.build()
    params = {
        "items": items,
        "seed": seed,
        "real": str(real.resolve()),
        "version": BUILDER_VERSION,
        "family_size": list(family_size),
    }
    (out / BUILD_NAME).write_text(
        json.dumps({**params, "summary": summary.as_dict()}, indent=1) + "\n", encoding="utf-8"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, required=True, help="items the scan should find")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (new or empty)")
    parser.add_argument(
        "--real", type=Path, default=DEFAULT_REAL, help="python -m corpus_fixtures real DIR"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    summary = build(args.out, args.items, args.real, args.seed)
    kinds = ", ".join(f"{k} {summary.kinds[k]}" for k in KINDS if summary.kinds[k])
    print(f"files written: {summary.files:,} ({kinds})")
    print(f"bytes: {summary.bytes:,} ({summary.bytes / 1e9:.2f} GB)")
    print(f"expected items: {summary.items:,} (asked {args.items:,})")
    print(f"built in {summary.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
