"""A labeled synthetic leak for ``leaktriage eval``: ``python -m corpus_fixtures synthetic DIR``.

One invented French campaign (the same few staff, one company, Office 2016, cp1252, fr-FR,
Paris time): genuine documents of several formats, loose and nested in zip and tar.gz,
emails with attachments; and planted among them what a forger or the victim leaves:

- altered copies: a genuine note copied with one figure changed, re-saved later by another
  account (label ``altered``; the original stays ``genuine``);
- foreign-fingerprint files: last saved by a Cyrillic-named account, code page 1251, ru-RU
  (``altered``);
- an edit burst: spreadsheets with unrelated histories re-saved within four minutes by one
  Russian-language Excel (``altered``);
- single-file alterations: a PDF whose later revision changes a figure, a backdated and
  repacked docx, a Word file whose storages were written weeks after its stated last save
  (``altered``);
- decoys: a remote template, a read-tracking pixel (``decoy``); truncated files
  (``unreadable``).

Everything comes from a seeded ``random.Random``: the same ``files`` gives the same bytes.
The labels go to ``DIR.labels.csv``, beside the dump so a scan of DIR does not read them.
"""

from __future__ import annotations

import csv
import random
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from corpus_fixtures import FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders import pdf as pdf_builders
from corpus_fixtures.builders._cfb import build_cfb
from corpus_fixtures.builders.archive import tar_gz_bytes, zip_bytes
from corpus_fixtures.builders.email import DOMAIN, address
from corpus_fixtures.builders.ole2 import (
    EXCEL_CLSID,
    WORD_CLSID,
    cyclic_fat_doc,
    document_summary,
    protege_docx,
    summary_information,
    word_streams,
    workbook_stream,
)
from corpus_fixtures.builders.ooxml import (
    CT_PREFIX,
    OFFICE_DOS_TIME,
    REL,
    SML_NS,
    _app,
    _content_types,
    _core,
    _document,
    _package_rels,
    _paragraph,
    _rels,
    _run,
    _settings,
    _sheet,
    _styles,
    _word_app,
    _word_content_types,
    _xml,
)

SEED = 2017
START = datetime(2017, 1, 9, 8, 0, tzinfo=UTC)
"""First day of the invented campaign's documents."""
DAYS = 100
SERVICES = ("finances", "communication", "terrain", "juridique", "presse")
CITIES = ("Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Rennes", "Dijon")
TOPICS = (
    "la location des salles",
    "l'impression des affiches",
    "les déplacements en région",
    "la sécurité des meetings",
    "la prestation audiovisuelle",
    "les frais de bouche",
    "la tournée des comités locaux",
    "les abonnements de presse",
)
SENTENCES = (
    "Le comité de {city} demande un point sur {topic} avant la fin du mois.",
    "Pour {topic}, le budget prévu est de € {amount} sur le trimestre.",
    "La réunion publique de {city} réunira environ {people} personnes le {day} {month}.",
    "Merci de transmettre vos remarques sur {topic} à l'équipe {service}.",
    "Le devis reçu pour {topic} s'élève à € {amount}, hors taxes.",
    "Nous proposons de reporter la décision sur {topic} à la prochaine réunion.",
    "Les bénévoles de {city} ont distribué {people} tracts samedi dernier.",
    "Le trésorier rappelle que toute dépense au-delà de € {amount} doit être validée.",
    "L'équipe {service} coordonnera {topic} avec les référents de {city}.",
    "Le calendrier des déplacements à {city} sera diffusé le {day} {month}.",
    "Une note détaillée sur {topic} sera jointe au compte rendu.",
    "La préfecture de {city} a confirmé les conditions d'accueil du public.",
)
MONTHS = ("janvier", "février", "mars", "avril")
TRACKER = "http://t.yesware.com/t/5f3a9c/{n}/pixel.gif"
"""A read-tracking host from rules/data/beacon_hosts.yaml (invented path)."""
REMOTE_TEMPLATE = "http://modeles.partage-bureau.example/t/{n}/normal.dotm"
PARIS = timedelta(hours=1)


@dataclass(slots=True)
class Planted:
    """What the generator planted, for tests and the closing note."""

    labels: dict[str, str] = field(default_factory=dict)
    """Path inside DIR (containers joined with ``!``) -> label."""
    rules: dict[str, list[str]] = field(default_factory=dict)
    """Path -> rule ids expected to fire."""
    copies: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(original path, altered copy path, figure before, figure after)."""
    foreign: list[str] = field(default_factory=list)
    burst: list[str] = field(default_factory=list)
    burst_account: str = FOREIGN_PEOPLE[0]


def _money(rng: random.Random) -> str:
    value = rng.choice((1, 2, 3, 4, 5, 6, 8, 9, 12, 15, 24, 35, 48)) * rng.choice(
        (500, 1000, 2500, 10_000, 100_000)
    )
    return f"{value:,}".replace(",", " ")


def _text(rng: random.Random, service: str, count: int) -> list[str]:
    return [
        template.format(
            city=rng.choice(CITIES),
            topic=rng.choice(TOPICS),
            amount=_money(rng),
            people=rng.randrange(40, 3000),
            day=rng.randrange(1, 29),
            month=rng.choice(MONTHS),
            service=service,
        )
        for template in rng.sample(SENTENCES, count)
    ]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}X}"


def _guid(rng: random.Random) -> str:
    return "{" + str(uuid.UUID(int=rng.getrandbits(128))).upper() + "}"


@dataclass(slots=True)
class Meta:
    """Authoring metadata of one generated document."""

    title: str
    author: str
    last_by: str
    created: datetime
    modified: datetime
    lang: str = "fr-FR"


def docx(
    rng: random.Random,
    meta: Meta,
    lines: list[str],
    *,
    rsid_root: str | None = None,
    rsids: tuple[str, ...] | None = None,
    doc_id: str | None = None,
    template_url: str | None = None,
    dos_time: tuple[int, int, int, int, int, int] = OFFICE_DOS_TIME,
    create_system: int = 0,
) -> bytes:
    """A Word 2016 document with the given metadata and paragraphs (ooxml builder parts)."""
    root = rsid_root or _hex(rng, 8)
    sessions = rsids or tuple(sorted({root, *(_hex(rng, 8) for _ in range(rng.randrange(2, 6)))}))
    paragraphs = [
        _paragraph(_run(line, meta.lang, sessions[i % len(sessions)]), rsid=sessions[0])
        for i, line in enumerate(lines)
    ]
    settings_extra = '<w:attachedTemplate r:id="rId1"/>' if template_url else ""
    parts = [
        ("[Content_Types].xml", _word_content_types()),
        ("_rels/.rels", _package_rels("word/document.xml")),
        ("word/document.xml", _document(paragraphs)),
        (
            "word/_rels/document.xml.rels",
            _rels(
                [
                    ("rId1", REL + "styles", "styles.xml", False),
                    ("rId2", REL + "settings", "settings.xml", False),
                ]
            ),
        ),
        ("word/settings.xml", _settings(root, sessions, doc_id or _guid(rng), settings_extra)),
    ]
    if template_url:
        parts.append(
            (
                "word/_rels/settings.xml.rels",
                _rels([("rId1", REL + "attachedTemplate", template_url, True)]),
            )
        )
    words = sum(len(line.split()) for line in lines)
    parts += [
        ("word/styles.xml", _styles(meta.lang)),
        (
            "docProps/core.xml",
            _core(meta.title, meta.author, meta.last_by, meta.created, meta.modified),
        ),
        (
            "docProps/app.xml",
            _word_app(
                "Normal.dotm",
                rng.randrange(5, 240),
                words,
                sum(len(x) for x in lines),
                meta.title,
            ),
        ),
    ]
    return zip_bytes(parts, date_time=dos_time, create_system=create_system)


def xlsx(meta: Meta, rows: list[tuple[str, str]], sheet_label: str = "Feuilles de calcul") -> bytes:
    """An Excel 2016 workbook whose cells are shared strings (labels and amounts as text)."""
    sml = CT_PREFIX + "spreadsheetml."
    strings = [s for row in rows for s in row]
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    cells = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>{2 * (r - 1)}</v></c>'
        f'<c r="B{r}" t="s"><v>{2 * (r - 1) + 1}</v></c></row>'
        for r in range(1, len(rows) + 1)
    )
    workbook = _xml(
        f'<workbook xmlns="{SML_NS}" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="18129"/>'
        '<sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = [
        (
            "[Content_Types].xml",
            _content_types(
                [
                    ("/xl/workbook.xml", sml + "sheet.main+xml"),
                    ("/xl/worksheets/sheet1.xml", sml + "worksheet+xml"),
                    ("/xl/sharedStrings.xml", sml + "sharedStrings+xml"),
                    (
                        "/docProps/core.xml",
                        "application/vnd.openxmlformats-package.core-properties+xml",
                    ),
                    ("/docProps/app.xml", CT_PREFIX + "extended-properties+xml"),
                ]
            ),
        ),
        ("_rels/.rels", _package_rels("xl/workbook.xml")),
        (
            "xl/_rels/workbook.xml.rels",
            _rels(
                [
                    ("rId1", REL + "worksheet", "worksheets/sheet1.xml", False),
                    ("rId2", REL + "sharedStrings", "sharedStrings.xml", False),
                ]
            ),
        ),
        ("xl/workbook.xml", workbook),
        ("xl/worksheets/sheet1.xml", _sheet(cells)),
        (
            "xl/sharedStrings.xml",
            _xml(
                f'<sst xmlns="{SML_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">'
                f"{shared}</sst>"
            ),
        ),
        (
            "docProps/core.xml",
            _core(meta.title, meta.author, meta.last_by, meta.created, meta.modified),
        ),
        (
            "docProps/app.xml",
            _app(
                "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>"
                "<ScaleCrop>false</ScaleCrop>",
                [(sheet_label, 1)],
                ["Budget"],
                f"<Company>{escape(ORGANISATION)}</Company><LinksUpToDate>false</LinksUpToDate>"
                "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
                "<AppVersion>16.0300</AppVersion>",
            ),
        ),
    ]
    return zip_bytes(parts, date_time=OFFICE_DOS_TIME, create_system=0)


def word_doc(
    meta: Meta, lines: list[str], *, codepage: int = 1252, lid: int = 0x040C, dir_time: Any = None
) -> bytes:
    """A Word 97-2003 document (ole2 builder streams) in the given code page and language."""
    enc = f"cp{codepage}"
    summary = summary_information(
        codepage,
        {
            2: ("lpstr", meta.title.encode(enc, "replace")),
            4: ("lpstr", meta.author.encode(enc, "replace")),
            7: ("lpstr", b"Normal.dot"),
            8: ("lpstr", meta.last_by.encode(enc, "replace")),
            9: ("lpstr", b"3"),
            12: ("filetime", meta.created),
            13: ("filetime", meta.modified),
            18: ("lpstr", b"Microsoft Office Word"),
            19: ("i4", 0),
        },
    )
    docsum = document_summary(
        codepage,
        {
            15: ("lpstr", ORGANISATION.encode(enc)),
            12: ("variants", [("lpstr", b"Titre"), ("i4", 1)]),
            13: ("lpstrs", [meta.title.encode(enc, "replace")]),
            23: ("i4", 0x000E0000),
        },
    )
    body = "\r".join(line.replace("€", "EUR") for line in lines) + "\r"
    streams = {
        **word_streams(text=body, lid=lid),
        "\x05SummaryInformation": summary,
        "\x05DocumentSummaryInformation": docsum,
    }
    return build_cfb(
        streams, root_clsid=WORD_CLSID, created=meta.created, modified=dir_time or meta.modified
    )


def excel_xls(meta: Meta, codepage: int, user: str) -> bytes:
    """An Excel 97-2003 workbook saved in the given code page by ``user``."""
    enc = f"cp{codepage}"
    label = "Листы" if codepage == 1251 else "Feuilles de calcul"
    summary = summary_information(
        codepage,
        {
            2: ("lpstr", meta.title.encode(enc, "replace")),
            4: ("lpstr", meta.author.encode(enc, "replace")),
            8: ("lpstr", meta.last_by.encode(enc, "replace")),
            12: ("filetime", meta.created),
            13: ("filetime", meta.modified),
            18: ("lpstr", b"Microsoft Excel"),
            19: ("i4", 0),
        },
    )
    docsum = document_summary(
        codepage,
        {
            15: ("lpstr", ORGANISATION.encode(enc)),
            12: ("variants", [("lpstr", label.encode(enc)), ("i4", 1)]),
            13: ("lpstrs", [b"Budget"]),
            23: ("i4", 0x000E0000),
        },
    )
    streams = {
        "Workbook": workbook_stream(user, codepage),
        "\x05SummaryInformation": summary,
        "\x05DocumentSummaryInformation": docsum,
    }
    return build_cfb(streams, root_clsid=EXCEL_CLSID, modified=meta.modified)


def _pdf_date(value: datetime) -> str:
    local = value + PARIS
    return local.strftime("D:%Y%m%d%H%M%S+01'00'")


def pdf(
    rng: random.Random, meta: Meta, lines: list[str], edit: tuple[str, str] | None = None
) -> bytes:
    """A PDF printed from Word (Paris time); with ``edit``, a second revision replaces a line."""
    pymupdf = pdf_builders.pymupdf
    doc = pdf_builders._new_doc()
    content = pdf_builders._text_page(doc, lines)
    pdf_builders._set_info(
        doc,
        {
            "Title": meta.title,
            "Author": meta.author,
            "Creator": "Microsoft® Word 2016",
            "Producer": "Microsoft® Word 2016",
            "CreationDate": _pdf_date(meta.created),
            "ModDate": _pdf_date(meta.modified),
        },
    )
    first = _hex(rng, 32)
    pdf_builders._set_id(doc, first, first)
    if edit is None:
        return pdf_builders._finish(doc)
    with tempfile.TemporaryDirectory(prefix="leaktriage-fixture-") as folder:
        path = Path(folder) / "revised.pdf"
        doc.save(path, garbage=1, deflate=True, no_new_id=True)
        doc.close()
        doc = pymupdf.open(path)
        edited = [edit[1] if line == edit[0] else line for line in lines]
        doc.update_stream(content, pdf_builders._text_stream(edited))
        pdf_builders._set_info(doc, {"ModDate": _pdf_date(meta.modified + timedelta(days=9))})
        pdf_builders._set_id(doc, first, _hex(rng, 32))
        doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP, no_new_id=True)
        doc.close()
        return path.read_bytes()


def tracking_html(n: int, lines: list[str], author: str) -> bytes:
    """A campaign newsletter carrying a read-tracking pixel."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>Lettre aux sympathisants n° {n}</title>"
        f'<meta name="author" content="{escape(author)}"></head><body>{body}'
        f'<img src="{TRACKER.format(n=n)}" width="1" height="1" alt=""></body></html>\n'
    ).encode()


def email_bytes(
    rng: random.Random,
    n: int,
    sender: str,
    to: str,
    when: datetime,
    lines: list[str],
    attachment: tuple[str, bytes],
) -> bytes:
    """A plain campaign email with one attachment (Paris time, the campaign's domain)."""
    message = EmailMessage(policy=policy.default.clone(linesep="\r\n"))
    local = when + PARIS
    message["From"] = address(sender)
    message["To"] = address(to)
    message["Subject"] = f"Document pour l'équipe ({n})"
    message["Date"] = local.strftime("%a, %d %b %Y %H:%M:%S +0100")
    message["Message-ID"] = f"<{when:%Y%m%d%H%M%S}.{n:05d}@{DOMAIN}>"
    message["X-Mailer"] = "Microsoft Outlook 16.0"
    message.set_content("Bonjour,\n\n" + "\n".join(lines) + "\n\nBien cordialement,\n")
    name, data = attachment
    maintype, subtype = (
        ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
        if name.endswith(".docx")
        else ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    message.set_boundary(f"=_part_{n:05d}_{rng.getrandbits(32):08x}")
    return message.as_bytes()


class _Leak:
    """Accumulates files (loose or in containers) with their labels."""

    def __init__(self, files: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.total = files
        self.loose: dict[str, bytes] = {}
        self.archives: dict[str, list[tuple[str, bytes]]] = {}
        self.planted = Planted()
        self.count = 0

    def when(self) -> datetime:
        minutes = self.rng.randrange(DAYS * 10 * 60)
        day, minute = divmod(minutes, 10 * 60)
        return START + timedelta(days=day, minutes=minute, seconds=self.rng.randrange(60))

    def meta(self, title: str, *, last_by: str | None = None) -> Meta:
        created = self.when()
        modified = created + timedelta(
            hours=self.rng.randrange(1, 96), minutes=self.rng.randrange(60)
        )
        author = self.rng.choice(PEOPLE)
        return Meta(title, author, last_by or self.rng.choice(PEOPLE), created, modified)

    def put(
        self,
        path: str,
        data: bytes,
        label: str,
        rules: tuple[str, ...] = (),
        archive: str | None = None,
    ) -> str:
        """Add a file (at ``path``, or as member ``path`` of ``archive``); returns its label
        path."""
        if archive:
            self.archives.setdefault(archive, []).append((path, data))
            key = f"{archive}!{path}"
        else:
            self.loose[path] = data
            key = path
        self.planted.labels[key] = label
        if rules:
            self.planted.rules[key] = list(rules)
        self.count += 1
        return key


def build_synthetic_leak(out: Path, files: int = 1000, seed: int = SEED) -> Planted:
    """Write a labeled synthetic leak of about ``files`` items into ``out`` and its labels to
    ``out.labels.csv`` beside it; returns what was planted."""
    leak = _Leak(files, seed)
    rng = leak.rng
    n = max(files, 60)
    share = {
        "copies": max(2, n * 3 // 100),
        # Small leaks get fewer Cyrillic-handled files, so that they stay rare (under 5 %).
        "foreign": n * 25 // 1000 if n >= 400 else 2,
        "burst": 5 if n >= 400 else 3,
        "single": max(1, n // 200),
        "decoys": max(1, n // 200),
        "unreadable": max(1, n // 250),
        "emails": max(3, n * 7 // 100),
    }
    archives = [f"archives/{s}_2017.zip" for s in SERVICES[:3]]
    archives.append("archives/export_terrain.tar.gz")

    def place(i: int) -> tuple[str, str | None]:
        service = SERVICES[i % len(SERVICES)]
        if i % 7 == 3:
            return service, archives[i % len(archives)]
        return service, None

    serial = 0

    def name(stem: str, ext: str) -> str:
        nonlocal serial
        serial += 1
        return f"{stem}_{serial:04d}.{ext}"

    # Altered copies: a genuine original and, elsewhere, its copy with one figure changed.
    for i in range(share["copies"]):
        service, _ = place(i)
        lines = _text(rng, service, 6)
        number = _money(rng)
        bigger = f"{int(number.replace(' ', '')) * 10:,}".replace(",", " ")
        topic = TOPICS[i % len(TOPICS)]
        amount_line = 2 + i % 4
        lines.insert(amount_line, f"Pour {topic}, le montant engagé est de € {number} au total.")
        meta = leak.meta(f"Note {service} : {topic}")
        root, doc_id = _hex(rng, 8), _guid(rng)
        sessions = tuple(sorted({root, _hex(rng, 8), _hex(rng, 8)}))
        original = docx(rng, meta, lines, rsid_root=root, rsids=sessions, doc_id=doc_id)
        altered_lines = list(lines)
        altered_lines[amount_line] = lines[amount_line].replace(f"€ {number}", f"€ {bigger}", 1)
        other = next(p for p in PEOPLE if p not in (meta.last_by, meta.author))
        copy_meta = Meta(
            meta.title, meta.author, other, meta.created, meta.modified + timedelta(days=11)
        )
        copy = docx(
            rng,
            copy_meta,
            altered_lines,
            rsid_root=root,
            rsids=(*sessions, _hex(rng, 8)),
            doc_id=doc_id,
        )
        stem = name(f"note_{service}", "docx")
        a = leak.put(f"documents/{service}/{stem}", original, "genuine")
        other_service = SERVICES[(i + 2) % len(SERVICES)]
        b = leak.put(
            f"documents/{other_service}/copie_{stem}",
            copy,
            "altered",
            ("corpus-altered-copy",),
        )
        leak.planted.copies.append((a, b, f"€ {number}", f"€ {bigger}"))

    # Foreign fingerprints: handled on a Russian-language machine.
    for i in range(share["foreign"]):
        service, archive = place(i + 1)
        person = FOREIGN_PEOPLE[i % len(FOREIGN_PEOPLE)]
        lines = _text(rng, service, 6)
        meta = leak.meta(f"Document {service} {i}", last_by=person)
        kind = i % 3
        if kind == 0:
            meta.lang = "ru-RU"
            data, ext = docx(rng, meta, lines), "docx"
        elif kind == 1:
            data, ext = word_doc(meta, lines, codepage=1251, lid=0x0419), "doc"
        else:
            data, ext = excel_xls(meta, 1251, person), "xls"
        stem = name(f"doc_{service}", ext)
        key = leak.put(
            stem if archive else f"documents/{service}/{stem}",
            data,
            "altered",
            ("corpus-fingerprint-outlier",),
            archive,
        )
        leak.planted.foreign.append(key)

    # The edit burst: spreadsheets made months apart, all re-saved within four minutes.
    burst_start = START + timedelta(days=61, hours=7, minutes=12)
    for i in range(share["burst"]):
        created = START + timedelta(days=3 + 11 * i, hours=i, minutes=7 * i)
        meta = Meta(
            f"Budget {CITIES[i]}",
            PEOPLE[i % len(PEOPLE)],
            FOREIGN_PEOPLE[0],
            created,
            burst_start + timedelta(seconds=53 * i),
        )
        rows = [("Poste", "Montant")] + [
            (topic.capitalize(), f"€ {_money(rng)}") for topic in rng.sample(TOPICS, 5)
        ]
        key = leak.put(
            f"documents/finances/budget_{CITIES[i].lower()}.xlsx",
            xlsx(meta, rows, sheet_label="Листы"),
            "altered",
            ("corpus-edit-burst",),
        )
        leak.planted.burst.append(key)

    # Single-file alterations.
    for i in range(share["single"]):
        service = SERVICES[i % len(SERVICES)]
        lines = _text(rng, service, 6)
        meta = leak.meta(f"Rapport {service} {i}")
        kind = i % 3
        if kind == 0:
            target = next(line for line in lines)
            edited = target + " Montant révisé : € 9 900 000."
            data, ext, rule = (
                pdf(rng, meta, lines, (target, edited)),
                "pdf",
                "pdf-revision-text-changed",
            )
        elif kind == 1:
            backdated = Meta(meta.title, meta.author, meta.last_by, meta.modified, meta.created)
            data = docx(rng, backdated, lines, dos_time=(2017, 4, 2, 23, 14, 8), create_system=3)
            ext, rule = "docx", "modified-before-created"
        else:
            backdated = Meta(meta.title, meta.author, meta.last_by, meta.modified, meta.created)
            data = word_doc(backdated, lines, dir_time=meta.modified + timedelta(days=40))
            ext, rule = "doc", "ole-directory-time-after-saved"
        leak.put(f"documents/{service}/{name(f'rapport_{service}', ext)}", data, "altered", (rule,))

    # Decoys planted by the victim.
    for i in range(share["decoys"]):
        service = SERVICES[(i + 1) % len(SERVICES)]
        lines = _text(rng, service, 5)
        if i % 2 == 0:
            meta = leak.meta(f"Note confidentielle {i}")
            data = docx(rng, meta, lines, template_url=REMOTE_TEMPLATE.format(n=i))
            leak.put(
                f"documents/{service}/{name('confidentiel', 'docx')}",
                data,
                "decoy",
                ("decoy-remote-template",),
            )
        else:
            leak.put(
                f"documents/{service}/{name('lettre', 'html')}",
                tracking_html(i, lines, rng.choice(PEOPLE)),
                "decoy",
                ("decoy-beacon-host",),
            )

    # Unreadable: password-protected and corrupt files (the ole2 fixtures' bytes).
    for i in range(share["unreadable"]):
        if i % 2 == 0:
            leak.put(f"documents/juridique/{name('protege', 'docx')}", protege_docx(), "unreadable")
        else:
            leak.put(f"documents/presse/{name('abime', 'doc')}", cyclic_fat_doc(), "unreadable")

    # Emails, each with one genuine attachment.
    for i in range(share["emails"]):
        sender, to = rng.sample(PEOPLE, 2)
        service = SERVICES[i % len(SERVICES)]
        meta = leak.meta(f"Pièce jointe {service} {i}", last_by=sender)
        attachment_name = name(f"piece_{service}", "docx")
        attachment = docx(rng, meta, _text(rng, service, 5))
        mailbox = sender.split()[0].lower()
        path = f"mail/{mailbox}/{name('message', 'eml')}"
        body = _text(rng, service, 3)
        data = email_bytes(
            rng,
            i,
            sender,
            to,
            meta.modified + timedelta(minutes=5),
            body,
            (attachment_name, attachment),
        )
        leak.put(path, data, "genuine")
        leak.planted.labels[f"{path}!attachment:{attachment_name}"] = "genuine"
        leak.count += 1

    # Genuine documents fill the rest.
    i = 0
    while leak.count + len(leak.archives) < files:
        service, archive = place(i)
        draw = rng.random()
        lines = _text(rng, service, rng.randrange(5, 10))
        meta = leak.meta(f"{('Note', 'Compte rendu', 'Point', 'Synthèse')[i % 4]} {service} {i}")
        if draw < 0.55:
            data, ext = docx(rng, meta, lines), "docx"
        elif draw < 0.75:
            rows = [("Poste", "Montant")] + [
                (topic.capitalize(), f"€ {_money(rng)}") for topic in rng.sample(TOPICS, 6)
            ]
            data, ext = xlsx(meta, rows), "xlsx"
        elif draw < 0.88:
            data, ext = word_doc(meta, lines), "doc"
        else:
            data, ext = pdf(rng, meta, lines), "pdf"
        stem = name(f"{service}", ext)
        if archive:
            leak.put(stem, data, "genuine", archive=archive)
        else:
            leak.put(f"documents/{service}/{stem}", data, "genuine")
        i += 1

    return _write(out, leak)


def _write(out: Path, leak: _Leak) -> Planted:
    out.mkdir(parents=True, exist_ok=True)
    for path, data in sorted(leak.loose.items()):
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for archive, members in sorted(leak.archives.items()):
        target = out / archive
        target.parent.mkdir(parents=True, exist_ok=True)
        if archive.endswith(".tar.gz"):
            target.write_bytes(tar_gz_bytes(members, mtime=1_491_000_000))
        else:
            target.write_bytes(zip_bytes(members, date_time=(2017, 4, 28, 18, 2, 0)))
        leak.planted.labels[archive] = "genuine"
    labels = out.parent / f"{out.name}.labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "rules"])
        for path in sorted(leak.planted.labels):
            writer.writerow(
                [path, leak.planted.labels[path], ";".join(leak.planted.rules.get(path, []))]
            )
    return leak.planted
