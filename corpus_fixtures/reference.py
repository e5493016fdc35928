"""What the genuine reference corpus is made of: files, sources, split and producers.

``reference_stats(folder, records)`` reads ``folder/MANIFEST.csv`` (written by ``python -m
corpus_fixtures real`` or ``reference``) and the ``files.jsonl`` of a ``leaktriage scan`` of
that folder, and counts the genuine files per source and side, and the producer families
their metadata names. ``benchmarks/reference_stats.py DIR`` runs the scan and prints it.

A producer family is the product that wrote a file, without its version: read from
``doc.application`` (Office's AppName, a PDF's Creator), ``doc.producer`` (a PDF's Producer),
the XMP creator tool and producer, ``image.make`` (the camera or phone maker, as
``<Maker> camera``), ``image.software``, ``email.x_mailer``, and the mail service a
Message-ID names (Gmail, Yahoo, Outlook.com...: only services listed in ``MAIL_SERVICES``,
never any domain). Known products are named by ``FAMILIES`` (so ``Microsoft Macintosh Word``
and ``Microsoft® Word 2016`` are one family, Microsoft Word); any other value is cut at its
first word holding a digit (``Pixelmator 3.6`` is Pixelmator). Placeholders (``none``,
``Unknown``, a bare version) name no family. Only the files themselves (the scan's top-level
records) count: an archive's members and a mail's attachments do not.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus_fixtures.real import MANIFEST, MAX_SHARE, read_manifest

PRODUCER_FIELDS = (
    "doc.application",
    "doc.producer",
    "pdf.creator",
    "pdf.xmp_creator_tool",
    "pdf.xmp_producer",
    "image.software",
    "image.xmp_creator_tool",
    "email.x_mailer",
)
"""Facts that name the software that wrote a file."""

FAMILIES: tuple[tuple[str, str], ...] = (
    # TeX and friends
    (r"pdf-?e?tex", "pdfTeX"),
    (r"luatex|luahbtex", "LuaTeX"),
    (r"xdvipdfmx|xetex", "XeTeX"),
    (r"dvipdfm", "dvipdfmx"),
    (r"dvips", "dvips"),
    (r"metapost|^mpost", "MetaPost"),
    (r"dblatex", "dblatex"),
    (r"^tex$|latex|hyperref|^tex output|\bcontext\b", "LaTeX"),
    (r"docbook", "DocBook XSL"),
    (r"apache fop|^fop", "Apache FOP"),
    (r"groff|gropdf", "groff"),
    (r"texinfo|texi2", "Texinfo"),
    (r"sphinx", "Sphinx"),
    # PDF writers
    (r"ghostscript|artifex|ps2pdf", "Ghostscript"),
    (r"acrobat distiller|distiller", "Acrobat Distiller"),
    (r"pdfmaker", "Acrobat PDFMaker"),
    (r"adobe pdf library|pdf library", "Adobe PDF Library"),
    (r"acrobat", "Adobe Acrobat"),
    (r"livecycle|^designer \d", "Adobe LiveCycle Designer"),
    (r"quartz", "macOS Quartz"),
    (r"skia|chromium|chrome", "Skia (Chrome)"),
    (r"reportlab", "ReportLab"),
    (r"itext|lowagie", "iText"),
    (r"cairo", "cairo"),
    (r"fpdf", "FPDF"),
    (r"tcpdf", "TCPDF"),
    (r"pdfium", "PDFium"),
    (r"mupdf|pymupdf|fitz", "MuPDF"),
    (r"qpdf|pikepdf", "qpdf"),
    (r"pypdf", "pypdf"),
    (r"pdftk", "pdftk"),
    (r"poppler|pdftocairo|xpdf", "Poppler"),
    (r"ocrmypdf|tesseract", "OCRmyPDF"),
    (r"img2pdf", "img2pdf"),
    (r"tiff2pdf|libtiff", "libtiff"),
    (r"imagemagick|graphicsmagick", "ImageMagick"),
    (r"pdfsharp", "PDFsharp"),
    (r"aspose", "Aspose"),
    (r"nitro", "Nitro PDF"),
    (r"foxit|福昕", "Foxit"),
    (r"pdf-xchange|pdfxchange|tracker software", "PDF-XChange"),
    (r"ilovepdf", "iLovePDF"),
    (r"smallpdf", "Smallpdf"),
    (r"pdfcreator|pdf creator", "PDFCreator"),
    (r"primopdf|nuance|omnipage|paperport", "Nuance"),
    (r"abbyy|finereader", "ABBYY FineReader"),
    (r"kofax", "Kofax"),
    (r"print to pdf", "Microsoft Print to PDF"),
    (r"pscript", "Windows PostScript driver"),
    (r"3-heights|pdf-tools", "PDF Tools 3-Heights"),
    (r"pdfsam", "PDFsam"),
    (r"google docs|google", "Google"),
    # Office suites
    (r"libreoffice", "LibreOffice"),
    (r"openoffice|staroffice|^writer$|^calc$|^impress$|^draw$", "OpenOffice.org"),
    (r"neooffice", "NeoOffice"),
    (r"wps", "WPS Office"),
    (r"kingsoft", "WPS Office"),
    (r"koffice|calligra|kword", "Calligra"),
    (r"abiword", "AbiWord"),
    (r"gnumeric", "Gnumeric"),
    (r"^pages|^keynote|^numbers", "Apple iWork"),
    (r"outlook express|windows mail|windows live mail", "Outlook Express"),
    (r"outlook", "Microsoft Outlook"),
    (r"internet mail service|exchange", "Microsoft Exchange"),
    (r"\bcdo\b", "Microsoft CDO"),
    (r"powerpoint", "Microsoft PowerPoint"),
    (r"excel", "Microsoft Excel"),
    (r"\bword\b|msword|winword", "Microsoft Word"),
    (r"visio", "Microsoft Visio"),
    (r"publisher", "Microsoft Publisher"),
    (r"microsoft ?office|microsoftoffice", "Microsoft Office"),
    (r"xlsxwriter", "XlsxWriter"),
    (r"openpyxl", "openpyxl"),
    (r"python-docx|python-pptx", "python-docx"),
    (r"apache poi|\bpoi\b", "Apache POI"),
    (r"sheetjs|js-xlsx", "SheetJS"),
    # image editors
    (r"photoshop", "Adobe Photoshop"),
    (r"illustrator", "Adobe Illustrator"),
    (r"indesign", "Adobe InDesign"),
    (r"framemaker", "Adobe FrameMaker"),
    (r"imageready", "Adobe ImageReady"),
    (r"lightroom", "Adobe Lightroom"),
    (r"gimp", "GIMP"),
    (r"inkscape", "Inkscape"),
    (r"paint\.net", "Paint.NET"),
    (r"picasa", "Picasa"),
    (r"autocad", "AutoCAD"),
    # mail clients and servers
    (r"thunderbird|icedove|seamonkey", "Thunderbird"),
    (r"^mozilla|netscape", "Netscape/Mozilla"),
    (r"yahoo", "Yahoo Mail"),
    (r"smtp32|imail", "Ipswitch IMail"),
    (r"groupwise", "Novell GroupWise"),
    (r"apple mail|iphone mail|ipad mail", "Apple Mail"),
    (r"lotus notes|ibm notes|domino", "Lotus Notes"),
    (r"mailchimp", "Mailchimp"),
    (r"zimbra", "Zimbra"),
    (r"roundcube", "Roundcube"),
    (r"squirrelmail", "SquirrelMail"),
    (r"kmail", "KMail"),
    (r"evolution", "Evolution"),
    (r"\bmutt\b|neomutt", "Mutt"),
    (r"\bpine\b|alpine", "Pine"),
    (r"eudora", "Eudora"),
    (r"the bat", "The Bat!"),
    (r"mime::lite", "MIME::Lite"),
    (r"phpmailer", "PHPMailer"),
    (r"sylpheed|claws", "Sylpheed"),
)
"""Known products, as (regular expression over the lowercased value, family), first match."""

CAMERA_MAKERS: tuple[tuple[str, str], ...] = (
    (r"nikon", "Nikon"),
    (r"canon", "Canon"),
    (r"sony", "Sony"),
    (r"apple", "Apple"),
    (r"samsung", "Samsung"),
    (r"casio", "Casio"),
    (r"olympus|om digital", "Olympus"),
    (r"panasonic", "Panasonic"),
    (r"pentax|ricoh", "Ricoh/Pentax"),
    (r"fuji", "Fujifilm"),
    (r"kodak", "Kodak"),
    (r"konica|minolta", "Konica Minolta"),
    (r"leica", "Leica"),
    (r"sigma", "Sigma"),
    (r"xiaomi", "Xiaomi"),
    (r"huawei", "Huawei"),
    (r"nokia|hmd", "Nokia"),
    (r"google", "Google"),
    (r"hewlett|^hp\b", "HP"),
    (r"kyocera", "Kyocera"),
    (r"motorola", "Motorola"),
    (r"\blg\b|lge", "LG"),
    (r"htc", "HTC"),
    (r"oneplus", "OnePlus"),
    (r"epson", "Epson"),
    (r"nintendo", "Nintendo"),
    (r"dji", "DJI"),
    (r"gopro", "GoPro"),
)
"""Camera and phone makers as EXIF writes them, first match; any other maker by its first
word."""

MAIL_SERVICES: tuple[tuple[str, str], ...] = (
    (r"mail\.gmail\.com$|\.google\.com$", "Gmail"),
    (r"yahoo", "Yahoo Mail"),
    (r"aol\.com$", "AOL Mail"),
    (r"hotmail|outlook\.com$|\.prod\.outlook\.com$|\.phx\.gbl$", "Outlook.com"),
    (r"mailchimp|mcsv\.net$|rsgsv\.net$|mcdlv\.net$", "Mailchimp"),
    (r"amazonses", "Amazon SES"),
    (r"sendgrid", "SendGrid"),
    (r"mailgun", "Mailgun"),
    (r"mandrill|mandrillapp", "Mandrill"),
    (r"sparkpost", "SparkPost"),
    (r"constantcontact", "Constant Contact"),
    (r"mail\.ru$", "Mail.Ru"),
    (r"yandex", "Yandex Mail"),
    (r"icloud\.com$|\.me\.com$|\.mac\.com$", "iCloud Mail"),
)
"""Mail services a Message-ID's domain names (only these: a domain alone is no producer)."""

PLACEHOLDERS = frozenset(
    {"", "none", "null", "unknown", "unknownapplication", "unspecified", "make", "model"}
)
"""Values that name nothing."""

STOP_WORDS = frozenset({"version", "ver", "v", "firmware", "build", "release", "for", "by"})
"""Where the name of an unknown product ends (as at its first word holding a digit)."""

VENDORS = frozenset({"adobe", "microsoft", "apple", "google", "ibm", "windows", "novell"})
"""Makers whose unknown products are named by two words (``Adobe Scan``), not the first."""


def _compile(table: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), name) for pattern, name in table)


_FAMILIES = _compile(FAMILIES)
_MAKERS = _compile(CAMERA_MAKERS)
_SERVICES = _compile(MAIL_SERVICES)


def product_family(value: str) -> str | None:
    """The family of a software name (``Microsoft® Word 2016`` is Microsoft Word), or
    ``None`` for a placeholder."""
    text = " ".join(value.split()).strip(" <>\"'()[]")
    lowered = text.lower()
    if lowered in PLACEHOLDERS or not re.search(r"[a-z]{2}", lowered):
        return None
    for pattern, name in _FAMILIES:
        if pattern.search(lowered):
            return name
    if re.match(r"^[a-z]:|^created by", lowered):
        return None  # a path or a person, not a program
    words = []
    cleaned = re.sub(r"\([^)]*\)?|https?://\S+|www\.\S+", " ", text)
    for word in re.split(r"[\s/;,(]+", cleaned):
        if re.search(r"\d", word) or word.lower() in STOP_WORDS:
            break
        if word and word not in ("-", "--"):
            words.append(word)
    keep = 2 if words and words[0].lower() in VENDORS else 1
    name = " ".join(words[:keep]).strip(" -:")
    if name.lower() in PLACEHOLDERS or not re.search(r"[^\W\d_]{2}", name):
        return None
    return name


def camera_family(make: str) -> str | None:
    """``<Maker> camera`` for an EXIF Make, or ``None`` for a placeholder."""
    lowered = " ".join(make.split()).lower()
    if lowered in PLACEHOLDERS or not re.search(r"[a-z]{2}", lowered):
        return None
    for pattern, name in _MAKERS:
        if pattern.search(lowered):
            return f"{name} camera"
    first = re.split(r"[\s,.]+", make.strip())[0]
    return f"{first.capitalize()} camera" if re.search(r"[A-Za-z]{2}", first) else None


def mail_service(message_id: str) -> str | None:
    """The mail service a Message-ID's domain names, if it is one of ``MAIL_SERVICES``."""
    domain = message_id.strip().strip("<>").rpartition("@")[2].lower().rstrip(".")
    if not domain:
        return None
    for pattern, name in _SERVICES:
        if pattern.search(domain):
            return name
    return None


def families(fields: dict[str, Any]) -> set[str]:
    """The producer families one record's facts name."""
    found: set[str] = set()
    for name in PRODUCER_FIELDS:
        value = fields.get(name)
        if isinstance(value, str):
            family = product_family(value)
            if family:
                found.add(family)
    make = fields.get("image.make")
    if isinstance(make, str):
        family = camera_family(make)
        if family:
            found.add(family)
    message_id = fields.get("email.message_id")
    if isinstance(message_id, str):
        service = mail_service(message_id)
        if service:
            found.add(service)
    return found


@dataclass
class ReferenceStats:
    """What the genuine reference corpus of a folder holds."""

    files: int
    """Files in the folder's manifest."""
    genuine: Counter[str] = field(default_factory=Counter)
    """Genuine files per source."""
    sides: dict[str, str] = field(default_factory=dict)
    """Each source's side (fit / heldout)."""
    families: Counter[str] = field(default_factory=Counter)
    """Genuine files per producer family."""
    families_by_side: dict[str, Counter[str]] = field(default_factory=dict)
    """The same, per side."""
    with_producer: int = 0
    """Genuine files whose metadata names at least one family."""
    scanned: int = 0
    """Genuine files the scan recorded."""

    @property
    def total(self) -> int:
        """Genuine files."""
        return sum(self.genuine.values())

    def heldout(self) -> int:
        """Genuine files held out."""
        return sum(n for source, n in self.genuine.items() if self.sides[source] == "heldout")

    def max_share(self) -> tuple[str, float]:
        """The source with the largest share of the genuine files, and that share."""
        source, count = max(self.genuine.items(), key=lambda item: (item[1], item[0]))
        return source, count / (self.total or 1)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                yield record


def reference_stats(folder: Path, records: Path | None = None) -> ReferenceStats:
    """Count the genuine files of ``folder`` (its ``MANIFEST.csv``) per source and side, and,
    given the ``files.jsonl`` of a scan of ``folder``, their producer families."""
    rows = read_manifest(folder / MANIFEST)
    stats = ReferenceStats(files=len(rows))
    genuine_paths: dict[str, str] = {}
    for row in rows:
        if row.get("genuine") != "yes":
            continue
        stats.genuine[row["source"]] += 1
        stats.sides[row["source"]] = row["split"]
        genuine_paths[row["path"]] = row["split"]
    if records is None:
        return stats
    for name in sorted(set(stats.sides.values())):
        stats.families_by_side[name] = Counter()
    for record in _records(records):
        if record.get("parent_id") is not None:
            continue
        # The scan names each file under the scanned folder's own name.
        relative = str(record["path"]).split("/", 1)[-1]
        side = genuine_paths.get(relative)
        if side is None:
            continue
        stats.scanned += 1
        found = families(record.get("fields") or {})
        if found:
            stats.with_producer += 1
        stats.families.update(found)
        stats.families_by_side[side].update(found)
    return stats


def format_stats(stats: ReferenceStats, top: int = 40) -> Iterable[str]:
    """The report's lines."""
    total = stats.total
    yield f"files in the folder: {stats.files}; genuine: {total}"
    source, share = stats.max_share() if stats.genuine else ("-", 0.0)
    limit = "ok" if share <= MAX_SHARE else f"OVER {MAX_SHARE:.0%}"
    yield (
        f"sources with genuine files: {len(stats.genuine)}; largest: {source} {share:.1%} ({limit})"
    )
    heldout = stats.heldout()
    yield (
        f"held out: {heldout} files ({heldout / (total or 1):.1%}) from "
        f"{sum(side == 'heldout' for side in stats.sides.values())} sources; fit: "
        f"{total - heldout} files"
    )
    yield ""
    yield f"{'source':40} {'files':>6} {'share':>6}  split"
    for name, count in sorted(stats.genuine.items(), key=lambda item: (-item[1], item[0])):
        yield f"{name:40} {count:6d} {count / (total or 1):6.1%}  {stats.sides[name]}"
    if not stats.scanned:
        return
    yield ""
    yield (
        f"producer families: {len(stats.families)} (from {stats.with_producer} of the "
        f"{stats.scanned} genuine files scanned; a file may name several)"
    )
    for side, counter in sorted(stats.families_by_side.items()):
        yield f"  {side}: {len(counter)} families"
    yield f"top {min(top, len(stats.families))}:"
    for name, count in sorted(stats.families.items(), key=lambda item: (-item[1], item[0]))[:top]:
        yield f"  {count:5d}  {name}"
