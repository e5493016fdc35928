"""Hypothesis strategies that plan whole leaked-document dumps, and the writer that lays one out.

A dump is planned as data first: a :class:`Dump` holds the files on disk, each a tree of
:class:`Node` objects whose every byte and every name is decided. :func:`write_dump` then
writes it into a folder. The plan is what :mod:`tests.fuzzcheck` compares a scan with: the
files on disk, the members of every container written intact, the attachments of every intact
email, the type of every document written intact.

What the strategies draw:

* names (on disk and in archives): invalid UTF-8, Latin-1, cp1251, Shift-JIS and cp437/cp866
  bytes, newlines, ``\\r``, tabs, U+202E, zero-width characters, markup, ``!``, names of 255
  bytes on disk and 300 characters in archives, and a loose file named ``a.zip!b.txt`` beside
  an ``a.zip`` that holds ``b.txt``;
* documents from the fixture builders (PDF, docx, xlsx, pptx, odt, ods, eml, JPEG, doc, RTF,
  HTML, text) with random metadata values: control characters, lone surrogates (raw byte
  patches where a builder only takes valid text), 100 KB values, HTML/JS markup, CSV
  injection; every stock fixture as it is;
* truncated, bit-flipped, zeroed and spliced copies of any of them, containers included;
* containers nesting them: zip (a writer of its own: names with and without the UTF-8 flag,
  cp437/cp866 bytes, invalid bytes under the flag, stored/deflate/bzip2/LZMA), tar (GNU and pax,
  non-UTF-8 names, links, extreme times; plain, gz, bz2, xz), 7z (libarchive's writer),
  gz/bz2/xz streams of single documents (``memo.docx.gz``);
* small bombs: deflate, LZMA and bzip2 zip members of 4-32 MiB (1000:1 and more), nested
  zips of them, gz and bz2 streams of zeros; with ``big_bombs``, a 512 MiB bzip2 zip member
  (a 518-byte zip).

Each dump stays small (at most :data:`MAX_ITEMS` planned items and about :data:`MAX_BYTES`
bytes, bombs' nominal output aside) so that hundreds are scanned in minutes.
"""

from __future__ import annotations

import bz2
import contextlib
import functools
import io
import lzma
import os
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from corpus_fixtures.build import all_fixtures
from corpus_fixtures.builders import _cfb, ole2
from corpus_fixtures.builders import image as image_fx
from corpus_fixtures.builders import pdf as pdf_fx
from corpus_fixtures.builders.hostile_meta import CLOSE, IMG, JS_URL, SCRIPT
from corpus_fixtures.builders.misc import rtf_escape

MAX_ITEMS = 30
"""Items planned per dump (files on disk, members, attachments)."""
MAX_BYTES = 2 << 20
"""Bytes planned per dump, bombs' nominal output aside."""
PROFILES = ("names", "archives", "metadata", "broken", "bombs", "mixed")
"""What a dump stresses most; every profile draws from every shape, in other proportions."""
BIG_BOMB = 512 << 20
"""Nominal size of the big bzip2 zip bomb (``big_bombs=True``)."""

Meta = str | bytes
"""A metadata value: ``str`` is encoded by the format's own rules (lone surrogates kept with
``surrogatepass`` where the format is UTF-8 or UTF-16); ``bytes`` is patched in raw."""


# --- plan -------------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One file of the plan: a document, a container or a mutant, with its bytes."""

    kind: str
    """Short label for reports: ``pdf``, ``zip``, ``tar.gz``, ``gz``, ``bomb-zip-bzip2``..."""
    data: bytes
    ext: str = ""
    """Natural extension, with its dot (``.pdf``); names are drawn around it."""
    members: list[tuple[bytes, Node]] = field(default_factory=list)
    """Regular members written into a container, in order, with their raw name bytes."""
    links: int = 0
    """Link members of an intact tar (records without bytes)."""
    attachments: list[tuple[Meta, Node]] = field(default_factory=list)
    """Attachments written into an email, with their file names."""
    intact: bool = True
    """Written as planned (not mutated): members, attachments and type are predictable."""
    opens: bool = False
    """The walker opens it: an archive or a compressed stream."""
    stream: bool = False
    """A compressed stream (gz, bz2, xz): one member, the payload in ``members[0]``."""
    bomb: int = 0
    """Nominal bytes a bomb expands to (0: not a bomb)."""
    expands: int = 0
    """Bytes the walker decompresses inside this file, through every level it opens."""
    note: str = ""

    def walk(self) -> Iterator[Node]:
        """This node and every node planned inside it."""
        yield self
        for _, member in self.members:
            yield from member.walk()
        for _, attachment in self.attachments:
            yield from attachment.walk()

    def describe(self, indent: str = "") -> str:
        """Indented outline of the node and what it holds."""
        state = "" if self.intact else " (mutated)"
        lines = [f"{indent}{self.kind}{state} {len(self.data)} B {self.note}".rstrip()]
        for name, member in self.members:
            lines.append(f"{indent}  member {name!r}:")
            lines.append(member.describe(indent + "    "))
        for filename, attachment in self.attachments:
            lines.append(f"{indent}  attachment {filename!r}:")
            lines.append(attachment.describe(indent + "    "))
        return "\n".join(lines)


@dataclass(eq=False)
class DiskFile:
    """A file (or symbolic link) on disk."""

    parts: tuple[bytes, ...]
    """Path components under the dump's root, raw bytes."""
    node: Node | None
    """None for a symbolic link."""
    link: bytes = b""
    """Target of a symbolic link."""
    mtime: int | None = None
    """Modification time set on the file (seconds), None to leave it."""


@dataclass(eq=False)
class Dump:
    """A whole dump: its files, its folders (empty ones included) and the profile drawn."""

    profile: str
    files: list[DiskFile]
    folders: list[tuple[bytes, ...]]
    root_name: str = "dump"

    def describe(self) -> str:
        """Outline of every file and what it holds, for failure reports."""
        lines = [f"dump ({self.profile}): {len(self.files)} files"]
        for disk in self.files:
            where = b"/".join(disk.parts)
            if disk.node is None:
                lines.append(f"- {where!r} -> symlink to {disk.link!r}")
            else:
                lines.append(f"- {where!r} mtime={disk.mtime}:")
                lines.append(disk.node.describe("    "))
        return "\n".join(lines)

    def nodes(self) -> Iterator[Node]:
        """Every node of the plan."""
        for disk in self.files:
            if disk.node is not None:
                yield from disk.node.walk()


@dataclass
class _Budget:
    items: int = 0
    size: int = 0

    def take(self, count: int = 1) -> bool:
        if self.items + count > MAX_ITEMS:
            return False
        self.items += count
        return True

    @property
    def full(self) -> bool:
        return self.items >= MAX_ITEMS or self.size >= MAX_BYTES


def write_dump(dump: Dump, parent: Path) -> Path:
    """Write ``dump`` under ``parent``; returns its root folder."""
    root = Path(parent) / dump.root_name
    root.mkdir(parents=True)
    base = os.fsencode(root)
    for folder in dump.folders:
        os.makedirs(os.path.join(base, *folder), exist_ok=True)
    for disk in dump.files:
        target = os.path.join(base, *disk.parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if disk.node is None:
            os.symlink(disk.link, target)
            continue
        with open(target, "wb") as handle:
            handle.write(disk.node.data)
        if disk.mtime is not None:
            with contextlib.suppress(OSError, OverflowError, ValueError):
                os.utime(target, (disk.mtime, disk.mtime))  # the file system may refuse it
    return root


# --- names ------------------------------------------------------------------------------------

_WORDS = ["rapport", "budget", "notes", "memo", "scan", "IMG_0042", "final", "v2", "a", "b"]
_LATIN1 = [w.encode("latin-1") for w in ("café", "résumé", "Übersicht", "niño", "façade")]
_CP1251 = [w.encode("cp1251") for w in ("Бюджет", "отчёт", "Пётр", "секретно")]
_SJIS = [w.encode("shift_jis") for w in ("資料", "会議メモ", "ﾃｽﾄ", "表")]
_CP866 = [w.encode("cp866") for w in ("ДОКУМЕНТ", "приказ")]
_CP437 = [w.encode("cp437") for w in ("Ñoño", "Übung", "╬═╗")]
_UTF8 = [
    w.encode("utf-8")
    for w in (
        "\u202e",  # right-to-left override: "txt.exe" shown reversed
        "\u200b",
        "\u200d",
        "\ufeff",
        "e\u0301",  # decomposed é
        "é",
        "\u2028",
        "データ",
        "😀",
        "\u0627\u0644\u0639",
        "Ω",
        "\u00a0",
    )
]
_CONTROL = [b"\n", b"\r", b"\t", b"\r\n", b"\x1b[31m", b"\x7f", b"\x01", b"\x08"]
_PUNCT = [bytes([c]) for c in b" !.-_'\"$%&;,#~=+@()[]{}`\\*?|<>:^"]
_MARKUP_NAMES = [
    b"<script>alert(1)<\\script>",
    b'"><img src=x onerror=alert(1)>',
    b"=cmd|' /C calc'!A0",
    b"javascript:alert(1)",
    b"&lt;b&gt;",
    b"%s%n%x",
    b"..",
    b"!",
]
_EXTS = [
    ".pdf",
    ".docx",
    ".xlsx",
    ".doc",
    ".eml",
    ".jpg",
    ".zip",
    ".tar.gz",
    ".gz",
    ".7z",
    ".txt",
    ".PDF",
    ".pdf.exe",
    ".zip!x",
    ".",
    "",
]


def _fragment(wild: bool) -> st.SearchStrategy[bytes]:
    plain = st.sampled_from(_WORDS).map(str.encode)
    if not wild:
        return st.one_of(plain, st.sampled_from([b"-", b"_", b" ", b"."]))
    return st.one_of(
        plain,
        st.sampled_from(_PUNCT),
        st.sampled_from(_UTF8),
        st.sampled_from(_LATIN1 + _CP1251 + _SJIS + _CP866 + _CP437),
        st.sampled_from(_CONTROL),
        st.sampled_from(_MARKUP_NAMES),
        st.binary(min_size=1, max_size=3),
        st.text(min_size=1, max_size=4).map(lambda t: t.encode("utf-8")),
        st.integers(60, 300).map(lambda n: b"L" * n),
        st.integers(20, 100).map(lambda n: "é".encode() * n),
    )


@st.composite
def names(draw: st.DrawFn, ext: str = "", *, disk: bool, wild: bool = True) -> bytes:
    """A file name, raw bytes: on disk at most 255 bytes, without ``/`` or NUL; in an archive
    up to ~300 characters, ``/`` making folders, sometimes a traversal or an absolute path."""
    stem = b"".join(draw(st.lists(_fragment(wild), min_size=1, max_size=5)))
    suffix = (
        draw(st.sampled_from(_EXTS)) if wild and draw(st.integers(0, 4)) == 0 else ext
    ).encode()
    if disk:
        stem = stem.replace(b"/", b"\xe2\x88\x95").replace(b"\x00", b"0")  # U+2215 for "/"
        stem = stem[: 255 - len(suffix)] if len(suffix) < 255 else b"x"
        name = stem + suffix
        if name in (b"", b".", b".."):
            name = b"x" + name
        return name
    stem = stem.replace(b"\x00", b"0")
    if wild:
        prefix = draw(
            st.sampled_from([b"", b"", b"", b"dir/", b"a/b/", b"../", b"/", b"./", b"\\"])
        )
        stem = prefix + stem
    name = stem + suffix
    if name.endswith(b"/") or not name:
        name += b"f"
    return name


def _unique(name: bytes, taken: set[bytes], limit: int) -> bytes:
    """``name`` made unique in a folder (case kept: the file system of a dump is Linux's)."""
    candidate = name
    counter = 1
    while candidate in taken:
        tag = b"~%d" % counter
        candidate = name[: limit - len(tag)] + tag
        counter += 1
    taken.add(candidate)
    return candidate


# --- metadata values --------------------------------------------------------------------------

_LISTING = [
    b"budget.xlsx\n",
    b"minutes.docx size=120\n",
    b"./photos/IMG_0042.jpg\n",
    b"notes\n",
    b"drwxr-xr-x 2 staff staff 4096 Mar 14 09:30 dossier\n",
    b"/home/julien/Documents/rapport.pdf\n",
]
_MARKUP = [
    SCRIPT,
    IMG,
    JS_URL,
    CLOSE,
    "</textarea><svg onload=alert(1)>",
    "<!--",
    "]]>",
    "{{7*7}}${7*7}",
    "&amp;&#0;&#xD800;",
]
_CSV = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,1)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example","x")',
]
_ODD = [
    "a\nb",
    "a\r\nb\rc",
    "line1\u2028line2",
    "tab\there",
    '"quoted, comma"',
    "\u202eexe.pdf",
    "zero\u200bwidth",
    "\ufeffbom",
    "nul\x00byte",
    "\x1b[31mred",
    "\x7f\x01\x02",
    "\ud800",
    "a\udfffb",
    "\udcff",
    "",
    " ",
    "Георгий Петровский",
    "資料",
]


def meta_values(max_huge: int = 100_000) -> st.SearchStrategy[Meta]:
    """Metadata values: random text (control characters and lone surrogates included),
    markup, CSV injection, odd characters, 100 KB values, raw bytes in legacy encodings."""
    huge = st.builds(
        lambda seed, n: (seed * (n // max(len(seed), 1) + 1))[:n],
        st.sampled_from(["A", "é", "<b>", "\u202e", "x\n", "Ж", "\ud800"]),
        st.sampled_from([1000, 10_000, max_huge]),
    )
    return st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=30),
        st.sampled_from(_MARKUP + _CSV + _ODD),
        huge,
        st.binary(max_size=30),
        st.sampled_from(_LATIN1 + _CP1251 + _SJIS + [b"\xff\xfe\x00A", b"\xed\xa0\x80", b"\xc3"]),
    )


def _utf8(value: Meta) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def _xml_text(value: Meta) -> bytes:
    """Text for an XML element: escaped when ``str`` (surrogates kept), raw when ``bytes``."""
    if isinstance(value, bytes):
        return value
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.encode("utf-8", "surrogatepass")


def _clip(value: Meta, size: int) -> Meta:
    return value[:size]


# --- documents --------------------------------------------------------------------------------


@functools.cache
def _stock() -> dict[str, bytes]:
    """Every fixture of every builder, built once: ``family/name`` -> bytes."""
    return {
        f"{family}/{name}": build()
        for family, builders in sorted(all_fixtures().items())
        for name, build in sorted(builders.items())
    }


def _ext_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base[base.rfind(".") :] if "." in base else ""


def stock_node(key: str) -> Node:
    """A fixture exactly as its builder writes it."""
    return Node(f"stock:{key}", _stock()[key], _ext_of(key))


def _pdf_text_token(value: str) -> str:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "<FEFF" + value.encode("utf-16-be", "surrogatepass").hex().upper() + ">"
    return pdf_fx.pdf_string(value)


def _pdf_raw_string(value: bytes) -> bytes:
    return b"(" + value.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _pdf_raw_name(value: bytes, hex_all: bool) -> bytes:
    out = bytearray(b"/")
    for byte in value:
        regular = 0x21 <= byte <= 0x7E and byte not in b"()<>[]{}/%#"
        if regular or (byte > 0x7E and not hex_all):
            out.append(byte)
        else:
            out += b"#%02X" % byte
    return bytes(out)


def build_pdf(info: list[tuple[Meta, Meta]], hex_names: bool = True) -> Node:
    """A one-page PDF whose Info dictionary holds ``info``: standard or random keys (``bytes``
    keys are raw PDF names, ``#xx``-escaped or raw high bytes), values as text strings (Latin-1
    literal or UTF-16BE with lone surrogates) or raw bytes patched in, lengths kept."""
    doc = pdf_fx._new_doc()
    pdf_fx._text_page(doc, ["Fuzz page."])
    info_xref = int(doc.xref_get_key(-1, "Info")[1].split()[0])
    patches: list[tuple[bytes, bytes]] = []
    for index, (key, value) in enumerate(info):
        if isinstance(value, str):
            token = _pdf_text_token(value)
        else:
            raw = _pdf_raw_string(value)
            token = f"(V{index:03d}" + "Z" * max(len(raw) - 6, 0) + ")"
            patches.append((token.encode(), raw))
        if isinstance(key, str) and key.isascii() and key.isalnum() and key:
            name = key
        else:
            raw_key = _pdf_raw_name(_utf8(key) or b"?", hex_names)
            name = f"K{index:03d}" + "Q" * max(len(raw_key) - 5, 0)
            patches.append((b"/" + name.encode(), raw_key))
        doc.xref_set_key(info_xref, name, token)
    data = pdf_fx._finish(doc)
    for old, new in patches:
        data = data.replace(old, new.ljust(len(old), b" ") if len(new) < len(old) else new, 1)
    return Node("pdf", data, ".pdf", note=f"info keys {[k for k, _ in info]!r}"[:200])


_PDF_KEYS: list[Meta] = [
    "Title",
    "Author",
    "Subject",
    "Keywords",
    "Creator",
    "Producer",
    "CreationDate",
    "ModDate",
]
_PDF_ODD_KEYS: list[Meta] = [
    b"Auteur\xe9",
    b"Autor\xc3\xa9",
    b"\xd0\xe0\xe7",
    b"A B",
    b"Key#",
    b"\x00",
    "Ключ",
    "\ud800",
]


@st.composite
def pdf_docs(draw: st.DrawFn) -> Node:
    """PDFs with random Info keys and values (dates included)."""
    keys = st.one_of(
        st.sampled_from(_PDF_KEYS),
        st.sampled_from(_PDF_ODD_KEYS),
        st.binary(min_size=1, max_size=8),
    )
    values = st.one_of(
        meta_values(),
        st.sampled_from(["D:20170314093000+01'00'", "D:99999999999999+99'99'", "D:", "D:2017"]),
    )
    info = draw(st.lists(st.tuples(keys, values), max_size=6))
    return build_pdf(info, draw(st.booleans()))


_CORE_TAGS = (
    "dc:title",
    "dc:creator",
    "cp:lastModifiedBy",
    "dc:description",
    "cp:keywords",
    "dc:subject",
    "cp:category",
    "dcterms:created",
    "dcterms:modified",
)


def _core_xml(values: dict[str, Meta]) -> bytes:
    body = b"".join(
        b"<%s%s>%s</%s>"
        % (
            tag.encode(),
            b' xsi:type="dcterms:W3CDTF"' if tag.startswith("dcterms:") else b"",
            _xml_text(value),
            tag.encode(),
        )
        for tag, value in values.items()
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
        b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + body + b"</cp:coreProperties>"
    )


def _odf_meta(values: dict[str, Meta]) -> bytes:
    body = b"".join(
        b"<%s>%s</%s>" % (tag.encode(), _xml_text(value), tag.encode())
        for tag, value in values.items()
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"><office:meta>'
        + body
        + b"</office:meta></office:document-meta>"
    )


def _repack(package: bytes, replace: dict[str, bytes]) -> bytes:
    """The zip ``package`` with the parts in ``replace`` swapped (order and methods kept)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, replace.get(info.filename, source.read(info)))
    return out.getvalue()


_PACKAGES = {
    "docx": ("ooxml/memo.docx", "docProps/core.xml"),
    "xlsx": ("ooxml/budget_ru.xlsx", "docProps/core.xml"),
    "pptx": ("ooxml/slides.pptx", "docProps/core.xml"),
    "odt": ("misc/minutes.odt", "meta.xml"),
    "ods": ("misc/tableau.ods", "meta.xml"),
}
_ODF_TAGS = (
    "meta:generator",
    "dc:title",
    "dc:creator",
    "meta:initial-creator",
    "dc:description",
    "meta:keyword",
    "meta:creation-date",
    "dc:date",
    "meta:printed-by",
)


@st.composite
def package_docs(draw: st.DrawFn) -> Node:
    """docx, xlsx, pptx, odt and ods fixtures whose core properties or meta.xml are random."""
    kind = draw(st.sampled_from(sorted(_PACKAGES)))
    stock, part = _PACKAGES[kind]
    tags = _ODF_TAGS if part == "meta.xml" else _CORE_TAGS
    chosen = draw(st.lists(st.sampled_from(tags), min_size=1, max_size=5, unique=True))
    values = {tag: draw(meta_values()) for tag in chosen}
    xml = _odf_meta(values) if part == "meta.xml" else _core_xml(values)
    return Node(kind, _repack(_stock()[stock], {part: xml}), f".{kind}", note=f"{chosen}")


_MAIL_CHARSETS = ["utf-8", "iso-8859-1", "windows-1251", "shift_jis", "x-unknown", "utf-7"]


def _header_value(value: Meta, mode: int, charset: str) -> bytes:
    """A header value: raw 8-bit, an RFC 2047 encoded word (base64 or Q), folded newlines."""
    raw = _utf8(value)
    if mode == 1:
        import base64

        return b"=?%s?B?%s?=" % (charset.encode(), base64.b64encode(raw))
    if mode == 2:
        quoted = b"".join(
            bytes([c]) if 0x30 <= c <= 0x7A and c not in b"=?_" else b"=%02X" % c for c in raw
        )
        return b"=?%s?Q?%s?=" % (charset.encode(), quoted)
    # Raw: line breaks become folds, so the header block keeps its shape.
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n ")


def _filename_param(name: Meta, mode: int) -> bytes:
    raw = _utf8(name).replace(b"\r", b"").replace(b"\n", b"")
    if mode == 1:
        encoded = b"".join(b"%%%02X" % c for c in raw)
        return b"filename*=utf-8''" + encoded
    return b'filename="' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def build_eml(
    headers: list[tuple[bytes, Meta]],
    subject: Meta,
    body: Meta,
    attachments: list[tuple[Meta, Node]],
    modes: list[int],
    charset: str,
) -> Node:
    """A multipart message built byte by byte: fixed From/To/Date/Message-ID first (so it is
    still an email), random headers and subject, attachments as base64 octet-streams."""
    import base64

    mode = iter(modes * 8 or [0])
    boundary = b"=_fuzz_boundary_0001"
    lines = [
        b"From: Camille Durand-Lefort <camille.durand-lefort@campagne-exemple.fr>",
        b"To: Julien Marchetti <julien.marchetti@campagne-exemple.fr>",
        b"Date: Wed, 03 May 2017 14:05:00 +0200",
        b"Message-ID: <20170503120500.4821@campagne-exemple.fr>",
        b"Subject: " + _header_value(subject, next(mode), charset),
    ]
    for name, value in headers:
        lines.append(name + b": " + _header_value(value, next(mode), charset))
    lines += [
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"',
        b"",
        b"--" + boundary,
        b"Content-Type: text/plain; charset=" + charset.encode(),
        b"Content-Transfer-Encoding: base64",
        b"",
        base64.encodebytes(_utf8(body)).replace(b"\n", b"\r\n"),
    ]
    for filename, node in attachments:
        lines += [
            b"--" + boundary,
            b"Content-Type: application/octet-stream",
            b"Content-Disposition: attachment; " + _filename_param(filename, next(mode)),
            b"Content-Transfer-Encoding: base64",
            b"",
            base64.encodebytes(node.data).replace(b"\n", b"\r\n"),
        ]
    lines.append(b"--" + boundary + b"--")
    data = b"\r\n".join(lines) + b"\r\n"
    return Node(
        "eml",
        data,
        ".eml",
        attachments=list(attachments),
        expands=sum(n.expands for _, n in attachments),
        note=f"charset={charset}",
    )


_HEADER_NAMES = [
    b"X-Mailer",
    b"Organization",
    b"Cc",
    b"Reply-To",
    b"User-Agent",
    b"X-Fuzz",
    b"Comments",
]


@functools.cache
def _tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 30, 200)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


_EXIF_ASCII_TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x8298: "Copyright",
}
_XP_TAGS = (0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F)


def build_jpeg(ascii_tags: dict[int, Meta], xp: dict[int, Meta], xmp: Meta | None) -> Node:
    """A 16x16 JPEG with EXIF ASCII tags (raw bytes), Windows XP tags (UTF-16, surrogates
    kept) and an XMP packet (creator, title), each value clipped to fit a JPEG segment."""
    entries: list[image_fx.Entry] = [
        (tag, image_fx.ASCII, _utf8(_clip(value, 3000)) + b"\x00")
        for tag, value in sorted(ascii_tags.items())
    ]
    entries += [
        (
            tag,
            image_fx.BYTE,
            (
                value[:1500]
                if isinstance(value, bytes)
                else value[:700].encode("utf-16-le", "surrogatepass") + b"\x00\x00"
            ),
        )
        for tag, value in sorted(xp.items())
    ]
    segments = [image_fx.exif_segment(image_fx.tiff_block(entries))]
    if xmp is not None:
        text = _xml_text(_clip(xmp, 8000))
        packet = (
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            b'xmlns:xmp="http://ns.adobe.com/xap/1.0/"><rdf:Description rdf:about="" '
            b'xmp:CreatorTool="' + text.replace(b'"', b"&quot;") + b'">'
            b"<dc:creator><rdf:Seq><rdf:li>" + text + b"</rdf:li></rdf:Seq></dc:creator>"
            b"</rdf:Description></rdf:RDF></x:xmpmeta>"
        )
        segments.append(
            image_fx._segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet[:60000])
        )
    body = _tiny_jpeg()[2:]
    return Node("jpeg", b"\xff\xd8" + b"".join(segments) + body, ".jpg")


@st.composite
def jpeg_docs(draw: st.DrawFn) -> Node:
    """JPEGs with random EXIF, XP and XMP values."""
    tags = draw(st.lists(st.sampled_from(sorted(_EXIF_ASCII_TAGS)), max_size=4, unique=True))
    xps = draw(st.lists(st.sampled_from(_XP_TAGS), max_size=2, unique=True))
    values = meta_values(max_huge=10_000)
    xmp = draw(st.one_of(st.none(), values))
    return build_jpeg({t: draw(values) for t in tags}, {t: draw(values) for t in xps}, xmp)


_CODEPAGES = [1252, 1251, 932, 65001, 1200, 0, 37, 12345, 0x7FFF, 10000]


def _lpstr(value: Meta, codepage: int) -> ole2.Value:
    if isinstance(value, bytes):
        return ("lpstr", value.replace(b"\x00", b""))
    encoding = {1252: "cp1252", 1251: "cp1251", 932: "cp932", 10000: "mac_roman"}.get(codepage)
    if codepage == 1200:
        return ("lpstr", value.encode("utf-16-le", "surrogatepass"))
    if encoding is None:
        return ("lpstr", value.encode("utf-8", "surrogatepass").replace(b"\x00", b""))
    return ("lpstr", value.encode(encoding, "replace").replace(b"\x00", b""))


def build_doc(codepage: int, props: dict[int, Meta], lid: int) -> Node:
    """A Word 97 document whose SummaryInformation holds ``props`` in ``codepage`` (which
    may be one no reader knows)."""
    summary = ole2.summary_information(
        codepage, {pid: _lpstr(value, codepage) for pid, value in sorted(props.items())}
    )
    streams = {
        **ole2.word_streams(text="Fuzz document.\r", lid=lid),
        "\x05SummaryInformation": summary,
    }
    data = _cfb.build_cfb(streams, root_clsid=ole2.WORD_CLSID)
    return Node("doc", data, ".doc", note=f"codepage={codepage}")


@st.composite
def doc_docs(draw: st.DrawFn) -> Node:
    """Legacy Word documents with random summary properties and code pages."""
    pids = draw(st.lists(st.sampled_from([2, 3, 4, 5, 6, 8, 18]), max_size=4, unique=True))
    values = meta_values(max_huge=10_000)
    props = {pid: draw(values) for pid in pids}
    return build_doc(
        draw(st.sampled_from(_CODEPAGES)), props, draw(st.sampled_from([0x040C, 0x0419, 0, 0xFFFF]))
    )


def build_rtf(info: dict[str, Meta], codepage: int) -> Node:
    """An RTF letter whose info group holds ``info`` (escaped for ``codepage``, or raw)."""
    python_codepage = {1252: "cp1252", 1251: "cp1251", 932: "cp932"}.get(codepage, "cp1252")
    groups = b"".join(
        b"{\\%s %s}"
        % (
            key.encode(),
            value
            if isinstance(value, bytes)
            else rtf_escape(value, python_codepage).encode("utf-8", "surrogatepass"),
        )
        for key, value in info.items()
    )
    data = (
        b"{\\rtf1\\ansi\\ansicpg%d\\deff0{\\fonttbl{\\f0 Times;}}{\\info%s"
        b"{\\creatim\\yr2017\\mo3\\dy13\\hr18\\min5}}Lettre.\\par}" % (codepage, groups)
    )
    return Node("rtf", data, ".rtf", note=f"ansicpg={codepage}")


@st.composite
def rtf_docs(draw: st.DrawFn) -> Node:
    """RTF documents with random info values and code pages."""
    keys = draw(
        st.lists(
            st.sampled_from(["title", "author", "operator", "subject", "*\\company", "doccomm"]),
            max_size=4,
            unique=True,
        )
    )
    return build_rtf(
        {k: draw(meta_values(max_huge=10_000)) for k in keys},
        draw(st.sampled_from([1252, 1251, 932, 0, 65001, 99999])),
    )


def build_html(title: Meta, metas: Sequence[tuple[Meta, Meta]], charset: Meta) -> Node:
    """An HTML page with a random charset, title and ``<meta name content>`` pairs."""
    head = (
        b"<title>"
        + _xml_text(title)
        + b"</title>"
        + b"".join(
            b'<meta name="%s" content="%s">'
            % (_utf8(n).replace(b'"', b"&quot;"), _utf8(c).replace(b'"', b"&quot;"))
            for n, c in metas
        )
    )
    data = (
        b'<!DOCTYPE html><html><head><meta charset="%s">%s</head>'
        b"<body><p>Bulletin.</p></body></html>" % (_utf8(charset).replace(b'"', b""), head)
    )
    return Node("html", data, ".html")


@st.composite
def html_docs(draw: st.DrawFn) -> Node:
    """HTML pages with random head metadata."""
    values = meta_values(max_huge=10_000)
    names_ = st.sampled_from(["author", "generator", "description", "keywords", "ProgId"])
    metas = draw(st.lists(st.tuples(names_, values), max_size=3))
    charset = draw(st.sampled_from(["utf-8", "windows-1251", "shift_jis", "x-bogus", "", "utf-16"]))
    return build_html(draw(values), metas, charset)


@st.composite
def text_docs(draw: st.DrawFn) -> Node:
    """Plain text: random bytes, a metadata-like value, or text in a legacy encoding."""
    value = draw(
        st.one_of(
            st.binary(max_size=200),
            meta_values(),
            st.sampled_from(_CSV + _MARKUP).map(lambda s: s.encode() * 3),
            # A file listing (find, ls, a manifest): one path a line, sizes sometimes.
            st.lists(st.sampled_from(_LISTING), min_size=1, max_size=4).map(b"".join),
            # A note that mentions a PDF header, as forensic notes and mail about PDFs do.
            st.just(b"Le fichier commence par %PDF-1.7 et finit par %%EOF.\n"),
            # Starts with zero blocks, as disk images and sparse files do (and an empty tar).
            st.integers(512, 8192).map(lambda n: bytes(n) + b"tail of a disk image\n"),
        )
    )
    data = _utf8(value)
    return Node("note" if data.startswith(b"Le fichier commence") else "txt", data, ".txt")


@st.composite
def eml_docs(draw: st.DrawFn, level: int, budget: _Budget, profile: str) -> Node:
    """Emails with random headers and attachments (documents, containers, other emails)."""
    values = meta_values(max_huge=10_000)
    headers = draw(st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), values), max_size=3))
    attachments: list[tuple[Meta, Node]] = []
    for _ in range(draw(st.integers(0, 3))):
        if not budget.take():
            break
        filename = draw(
            st.one_of(
                st.sampled_from(["notes.txt", "annexe.pdf", "a.zip!b.txt", "../x", "", "a/b.txt"]),
                values,
                names(disk=False).map(lambda b: b.decode("utf-8", "surrogateescape")),
            )
        )
        attachments.append((filename, draw(nodes(level - 1, budget, profile))))
    modes = draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))
    return build_eml(
        headers,
        draw(values),
        draw(values),
        attachments,
        modes,
        draw(st.sampled_from(_MAIL_CHARSETS)),
    )


# --- mutations --------------------------------------------------------------------------------


@st.composite
def mutants(draw: st.DrawFn, source: Node) -> Node:
    """A truncated, bit-flipped, zeroed, spliced or duplicated copy of ``source``."""
    data = source.data
    kind = draw(st.sampled_from(["truncate", "flip", "zero", "splice", "repeat"]))
    if not data:
        return source
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "flip":
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 16))):
            at = draw(st.integers(0, len(mutable) - 1))
            mutable[at] ^= 1 << draw(st.integers(0, 7))
        data = bytes(mutable)
    elif kind == "zero":
        start = draw(st.integers(0, len(data) - 1))
        length = draw(st.integers(1, 4096))
        data = data[:start] + bytes(min(length, len(data) - start)) + data[start + length :]
    elif kind == "splice":
        other = _stock()[draw(st.sampled_from(sorted(_stock())))]
        data = data[: draw(st.integers(0, len(data)))] + other[draw(st.integers(0, len(other))) :]
    else:
        start = draw(st.integers(0, len(data) - 1))
        chunk = data[start : start + draw(st.integers(1, 2048))]
        data = data[:start] + chunk * draw(st.integers(2, 5)) + data[start:]
    return Node(
        f"{source.kind}~{kind}",
        data,
        source.ext,
        intact=False,
        opens=source.opens,
        expands=max(source.expands, source.bomb),  # a mutated bomb may still expand
        note=source.note,
    )


# --- containers -------------------------------------------------------------------------------


@dataclass
class ZipEntry:
    """One entry as :func:`zip_archive` writes it."""

    name: bytes
    data: bytes
    method: int = zipfile.ZIP_DEFLATED
    utf8_flag: bool = False
    dos: tuple[int, int] = (0x4A6E, 0x4BC0)
    """(date, time) fields as stored, valid or not."""
    extra: bytes = b""
    directory: bool = False


def _compress(method: int, data: bytes) -> bytes:
    if method == zipfile.ZIP_STORED:
        return data
    if method == zipfile.ZIP_BZIP2:
        return bz2.compress(data, 9)
    if method == zipfile.ZIP_LZMA:
        return _lzma_member([data])
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _lzma_member(chunks: Iterable[bytes]) -> bytes:
    """A zip LZMA member as zipfile writes it: version, properties size and properties
    (APPNOTE 5.8.8), then raw LZMA1 data."""
    filters: list[dict[str, int]] = [{"id": lzma.FILTER_LZMA1}]
    props: bytes = lzma._encode_filter_properties(filters[0])  # type: ignore[attr-defined]
    compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=filters)
    body = b"".join(compressor.compress(chunk) for chunk in chunks) + compressor.flush()
    return struct.pack("<BBH", 9, 4, len(props)) + props + body


def zip_archive(
    entries: list[ZipEntry],
    comment: bytes = b"",
    stream: Callable[[ZipEntry], tuple[bytes, int, int]] | None = None,
) -> bytes:
    """A zip written field by field: raw name bytes, the UTF-8 flag (bit 11) as asked, any
    method (stored, deflate, bzip2, LZMA), any DOS date. ``stream`` may give (compressed,
    crc, size) for an entry (bombs)."""
    out = bytearray()
    central = bytearray()
    for entry in entries:
        if stream is not None and entry.data == b"" and not entry.directory:
            packed, crc, size = stream(entry)
        else:
            packed, crc, size = (
                _compress(entry.method, entry.data),
                zlib.crc32(entry.data),
                len(entry.data),
            )
        flags = 0x0800 if entry.utf8_flag else 0
        version = (
            63
            if entry.method == zipfile.ZIP_LZMA
            else 46
            if entry.method == zipfile.ZIP_BZIP2
            else 20
        )
        offset = len(out)
        date, time_ = entry.dos
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            version,
            flags,
            entry.method,
            time_,
            date,
            crc,
            len(packed),
            size,
            len(entry.name),
            len(entry.extra),
        )
        out += entry.name + entry.extra + packed
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            0x0314,
            version,
            flags,
            entry.method,
            time_,
            date,
            crc,
            len(packed),
            size,
            len(entry.name),
            len(entry.extra),
            0,
            0,
            0,
            (0o40755 if entry.directory else 0o100644) << 16,
            offset,
        )
        central += entry.name + entry.extra
    end = struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        len(entries),
        len(entries),
        len(central),
        len(out),
        len(comment),
    )
    return bytes(out + central + end + comment)


_ZIP_NAME_STYLES = ("utf8-flag", "utf8-noflag", "cp437", "cp866", "invalid-flag", "ascii")


def _zip_name(name: bytes, style: str) -> tuple[bytes, bool]:
    """Member name bytes and UTF-8 flag for a name style."""
    if style == "utf8-flag":
        text = name.decode("utf-8", "replace")
        return text.encode("utf-8"), True
    if style == "utf8-noflag":
        return name.decode("utf-8", "replace").encode("utf-8"), False
    if style in ("cp437", "cp866"):
        text = name.decode("utf-8", "replace")
        return text.encode(style, "replace"), False
    if style == "invalid-flag":
        return name + b"\xff\xfe", True
    return name.decode("ascii", "replace").encode("ascii", "replace"), False


@st.composite
def zips(draw: st.DrawFn, level: int, budget: _Budget, profile: str) -> Node:
    """A zip of nodes, member names in one of the styles (with or without the UTF-8 flag)."""
    wild = profile in ("names", "archives", "mixed")
    style = draw(st.sampled_from(_ZIP_NAME_STYLES if wild else ("ascii", "utf8-flag")))
    members: list[tuple[bytes, Node]] = []
    entries: list[ZipEntry] = []
    for _ in range(draw(st.integers(0, 4))):
        if not budget.take():
            break
        node = draw(nodes(level - 1, budget, profile))
        raw = draw(names(node.ext, disk=False, wild=wild))
        name, flag = _zip_name(raw, style)
        method = draw(
            st.sampled_from(
                [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
            )
        )
        dos = draw(
            st.one_of(
                st.just((0x4A6E, 0x4BC0)), st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
            )
        )
        extra = draw(st.sampled_from([b"", b"\xfe\xca\x04\x00abcd"]))
        if draw(st.integers(0, 9)) == 0 and members:
            name = members[-1][0]  # a duplicate name
            flag = entries[-1].utf8_flag
        entries.append(ZipEntry(name, node.data, method, flag, dos, extra))
        members.append((name, node))
    if draw(st.integers(0, 5)) == 0:
        entries.insert(0, ZipEntry(b"folder/", b"", zipfile.ZIP_STORED, directory=True))
    data = zip_archive(entries, draw(st.sampled_from([b"", b"comment \xff\n"])))
    return Node(
        "zip",
        data,
        ".zip",
        members=members,
        opens=True,
        expands=sum(len(n.data) + n.expands for _, n in members),
        note=f"names={style}",
    )


@st.composite
def tars(draw: st.DrawFn, level: int, budget: _Budget, profile: str) -> Node:
    """A tar (GNU or pax, plain or gz/bz2/xz) with raw name bytes, links and extreme times."""
    wild = profile in ("names", "archives", "mixed")
    fmt = draw(st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    compression = draw(st.sampled_from(["", "gz", "bz2", "xz"]))
    members: list[tuple[bytes, Node]] = []
    links = 0
    raw = io.BytesIO()
    with tarfile.open(
        fileobj=raw, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as archive:
        for _ in range(draw(st.integers(0, 4))):
            if not budget.take():
                break
            node = draw(nodes(level - 1, budget, profile))
            name = draw(names(node.ext, disk=False, wild=wild))
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = len(node.data)
            info.mtime = draw(st.sampled_from([1489483800] * 12 + [0, -1, 2**33, -(2**40), 2**40]))
            info.uname = draw(st.sampled_from(["staff", "", "Пётр"]))
            archive.addfile(info, io.BytesIO(node.data))
            members.append((name, node))
        if draw(st.integers(0, 4)) == 0:
            info = tarfile.TarInfo("folder")
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        if draw(st.integers(0, 4)) == 0 and budget.take():
            info = tarfile.TarInfo(
                draw(names(disk=False, wild=wild)).decode("utf-8", "surrogateescape")
            )
            info.type = draw(st.sampled_from([tarfile.SYMTYPE, tarfile.LNKTYPE]))
            info.linkname = draw(st.sampled_from(["../../etc/passwd", "loop", "a/b"]))
            archive.addfile(info)
            links += 1
    data = raw.getvalue()
    if compression == "gz":
        data = _gzip(data)
    elif compression == "bz2":
        data = bz2.compress(data)
    elif compression == "xz":
        data = lzma.compress(data)
    ext = ".tar" + (f".{compression}" if compression else "")
    expands = sum(len(n.data) + n.expands for _, n in members)
    return Node(
        "tar" + (f".{compression}" if compression else ""),
        data,
        ext,
        members=members,
        links=links,
        opens=True,
        expands=expands + (len(raw.getvalue()) if compression else 0),
        note="gnu" if fmt == tarfile.GNU_FORMAT else "pax",
    )


def _seven_zip(entries: list[tuple[str, bytes]]) -> bytes:
    import libarchive

    with tempfile.TemporaryDirectory(prefix="fuzzdump-") as tmp:
        target = os.path.join(tmp, "a.7z")
        with libarchive.file_writer(target, "7zip") as archive:
            for name, data in entries:
                archive.add_file_from_memory(name, len(data), data, mtime=1489483800)
        return Path(target).read_bytes()


@st.composite
def seven_zips(draw: st.DrawFn, level: int, budget: _Budget, profile: str) -> Node:
    """A 7z written by libarchive (names are UTF-16 in 7z: valid text only)."""
    wild = profile in ("names", "archives", "mixed")
    members: list[tuple[bytes, Node]] = []
    for _ in range(draw(st.integers(1, 3))):
        if not budget.take():
            break
        node = draw(nodes(level - 1, budget, profile))
        raw = draw(names(node.ext, disk=False, wild=wild))
        text = raw.decode("utf-8", "replace").lstrip("/") or "f"
        members.append((text.encode("utf-8"), node))
    data = _seven_zip([(n.decode("utf-8"), node.data) for n, node in members])
    return Node(
        "7z",
        data,
        ".7z",
        members=members,
        opens=True,
        expands=sum(len(n.data) + n.expands for _, n in members),
    )


def _gzip(data: bytes, fname: bytes | None = None, comment: bytes | None = None) -> bytes:
    """A gzip member with an optional FNAME and FCOMMENT (raw bytes, as the header holds)."""
    flags = (0x08 if fname is not None else 0) | (0x10 if comment is not None else 0)
    header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 1489483800, 2, 3)
    if fname is not None:
        header += fname.replace(b"\x00", b"") + b"\x00"
    if comment is not None:
        header += comment.replace(b"\x00", b"") + b"\x00"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


@st.composite
def streams(draw: st.DrawFn, level: int, budget: _Budget, profile: str) -> Node:
    """A gz, bz2 or xz stream of one node (``memo.docx.gz``, ``scan.pdf.xz``...), a file
    listing one time in eight (``files.txt.gz``: logs and manifests are kept compressed)."""
    if draw(st.integers(0, 7)) == 0:
        listing = draw(st.lists(st.sampled_from(_LISTING[:4]), min_size=1, max_size=3))
        payload = Node("txt", b"".join(listing), ".txt")
    else:
        payload = draw(nodes(level - 1, budget, profile, stream_payload=True))
    kind = draw(st.sampled_from(["gz", "gz", "bz2", "xz"]))
    if kind == "gz":
        fname = draw(st.one_of(st.none(), names(disk=False)))
        data = _gzip(payload.data, fname, draw(st.one_of(st.none(), st.just(b"\xff comment"))))
    elif kind == "bz2":
        data = bz2.compress(payload.data)
    else:
        data = lzma.compress(payload.data)
    return Node(
        kind,
        data,
        payload.ext + "." + kind,
        members=[(b"", payload)],
        opens=True,
        stream=True,
        expands=len(payload.data) + payload.expands,
        note=f"of {payload.kind}",
    )


# --- bombs ------------------------------------------------------------------------------------


@functools.cache
def _zero_stream(method: int, size: int) -> tuple[bytes, int]:
    """(compressed stream, crc32) of ``size`` zero bytes, built chunk by chunk."""
    chunk = bytes(1 << 20)
    crc = 0
    if method == zipfile.ZIP_BZIP2:
        bz = bz2.BZ2Compressor(9)
        parts = []
        for _ in range(size >> 20):
            parts.append(bz.compress(chunk))
            crc = zlib.crc32(chunk, crc)
        parts.append(bz.flush())
        return b"".join(parts), crc
    if method == zipfile.ZIP_LZMA:
        for _ in range(size >> 20):
            crc = zlib.crc32(chunk, crc)
        return _lzma_member(chunk for _ in range(size >> 20)), crc
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = []
    for _ in range(size >> 20):
        parts.append(deflate.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(deflate.flush())
    return b"".join(parts), crc


def zip_bomb(method: int, size: int, name: bytes = b"zeros.bin") -> Node:
    """A zip whose one member is ``size`` zero bytes (deflate ~1000:1, LZMA ~7000:1, bzip2
    ~1,000,000:1)."""
    stream, crc = _zero_stream(method, size)
    data = zip_archive([ZipEntry(name, b"", method)], stream=lambda _: (stream, crc, size))
    label = {zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2"}.get(method, "lzma")
    return Node(
        f"bomb-zip-{label}", data, ".zip", intact=False, opens=True, bomb=size, expands=size
    )


def nested_bomb(size: int, fan_out: int, levels: int) -> Node:
    """42.zip in small: ``fan_out`` copies of the level below at each level."""
    node = zip_bomb(zipfile.ZIP_DEFLATED, size)
    for level in range(levels):
        entries = [ZipEntry(b"lib%d_%d.zip" % (level, i), node.data) for i in range(fan_out)]
        node = Node(
            "bomb-nested",
            zip_archive(entries),
            ".zip",
            intact=False,
            opens=True,
            bomb=node.bomb * fan_out,
            expands=(node.expands + len(node.data)) * fan_out,
        )
    return node


def stream_bomb(kind: str, size: int) -> Node:
    """A gz or bz2 stream of ``size`` zero bytes."""
    if kind == "bz2":
        stream, _ = _zero_stream(zipfile.ZIP_BZIP2, size)
        data = stream
    else:
        raw, crc = _zero_stream(zipfile.ZIP_DEFLATED, size)
        data = (
            struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, 2, 3)
            + raw
            + struct.pack("<II", crc, size & 0xFFFFFFFF)
        )
    return Node(
        f"bomb-{kind}", data, f".bin.{kind}", intact=False, opens=True, bomb=size, expands=size
    )


@st.composite
def bombs(draw: st.DrawFn, big: bool) -> Node:
    """Small decompression bombs, and with ``big`` a 512 MiB bzip2 zip member."""
    size = draw(st.sampled_from([4 << 20, 8 << 20, 32 << 20]))
    choice = draw(
        st.sampled_from(
            ["deflate", "bzip2", "lzma", "nested", "gz", "bz2"] + (["big"] if big else [])
        )
    )
    if choice == "big":
        return zip_bomb(zipfile.ZIP_BZIP2, BIG_BOMB)
    if choice == "deflate":
        return zip_bomb(zipfile.ZIP_DEFLATED, size)
    if choice == "bzip2":
        return zip_bomb(zipfile.ZIP_BZIP2, size)
    if choice == "lzma":
        return zip_bomb(zipfile.ZIP_LZMA, size)
    if choice == "nested":
        return nested_bomb(4 << 20, draw(st.integers(2, 4)), draw(st.integers(1, 2)))
    return stream_bomb(choice, size)


# --- trees ------------------------------------------------------------------------------------

_WEIGHTS: dict[str, dict[str, int]] = {
    #            stock docs  meta  text  eml  mutant container bomb
    "names": {"stock": 4, "meta": 1, "text": 4, "eml": 1, "mutant": 1, "container": 3, "bomb": 0},
    "archives": {
        "stock": 3,
        "meta": 1,
        "text": 2,
        "eml": 1,
        "mutant": 1,
        "container": 6,
        "bomb": 0,
    },
    "metadata": {
        "stock": 1,
        "meta": 8,
        "text": 1,
        "eml": 3,
        "mutant": 0,
        "container": 1,
        "bomb": 0,
    },
    "broken": {"stock": 1, "meta": 1, "text": 1, "eml": 0, "mutant": 8, "container": 2, "bomb": 0},
    "bombs": {"stock": 2, "meta": 1, "text": 2, "eml": 0, "mutant": 1, "container": 2, "bomb": 3},
    "mixed": {"stock": 2, "meta": 2, "text": 2, "eml": 1, "mutant": 2, "container": 3, "bomb": 1},
}


def _weighted(draw: st.DrawFn, weights: dict[str, int]) -> str:
    pool = [key for key, weight in weights.items() for _ in range(weight)]
    return draw(st.sampled_from(pool))


def meta_docs() -> st.SearchStrategy[Node]:
    """A document from a builder, with random metadata."""
    return st.one_of(pdf_docs(), package_docs(), jpeg_docs(), doc_docs(), rtf_docs(), html_docs())


@st.composite
def nodes(
    draw: st.DrawFn,
    level: int,
    budget: _Budget,
    profile: str,
    big_bombs: bool = False,
    stream_payload: bool = False,
) -> Node:
    """One file of the dump; ``level`` bounds how many containers may still nest."""
    weights = dict(_WEIGHTS[profile])
    if level <= 0 or budget.full:
        weights.update(container=0, eml=0, bomb=0)
    if stream_payload:
        weights.update(bomb=0, eml=0)
    choice = _weighted(draw, weights) if any(weights.values()) else "text"
    if choice == "stock":
        node = stock_node(draw(st.sampled_from(sorted(_stock()))))
    elif choice == "meta":
        node = draw(meta_docs())
    elif choice == "text":
        node = draw(text_docs())
    elif choice == "eml":
        node = draw(eml_docs(level, budget, profile))
    elif choice == "bomb":
        node = draw(bombs(big_bombs))
    elif choice == "mutant":
        source = draw(st.one_of(meta_docs(), st.sampled_from(sorted(_stock())).map(stock_node)))
        if level > 0 and draw(st.booleans()):
            small = _Budget(items=MAX_ITEMS - 4)
            source = draw(st.one_of(zips(level, small, profile), tars(level, small, profile)))
        node = draw(mutants(source))
    else:
        kinds = [zips, tars, seven_zips, streams]
        container = draw(st.sampled_from(kinds))
        node = draw(container(level, budget, profile))
    budget.size += len(node.data)
    return node


@st.composite
def dumps(draw: st.DrawFn, profile: str, big_bombs: bool = False) -> Dump:
    """A whole dump: folders (up to three deep) of files drawn for ``profile``."""
    budget = _Budget()
    wild = profile in ("names", "mixed")  # "archives" keeps its wild names inside archives
    files: list[DiskFile] = []
    folders: list[tuple[bytes, ...]] = []
    taken: dict[tuple[bytes, ...], set[bytes]] = {(): set()}
    count = draw(st.integers(1, 8))
    for _ in range(count):
        if not budget.take():
            break
        depth = draw(st.integers(0, 2))
        folder: tuple[bytes, ...] = ()
        for _ in range(depth):
            options = sorted(f for f in taken if len(f) == len(folder) + 1 and f[:-1] == folder)
            reuse = draw(st.booleans())
            if options and reuse:
                folder = draw(st.sampled_from(options))
            else:
                sub = _unique(draw(names(disk=True, wild=wild)), taken[folder], 255)
                folder = (*folder, sub)
                taken.setdefault(folder, set())
                folders.append(folder)
        if draw(st.integers(0, 15)) == 0:
            name = _unique(draw(names(disk=True, wild=wild)), taken[folder], 255)
            files.append(
                DiskFile(
                    (*folder, name), None, draw(st.sampled_from([b".", b"../x", b"/etc/passwd"]))
                )
            )
            continue
        node = draw(nodes(draw(st.integers(0, 3)), budget, profile, big_bombs=big_bombs))
        name = _unique(draw(names(node.ext, disk=True, wild=wild)), taken[folder], 255)
        mtime = draw(
            st.one_of(st.none(), st.sampled_from([0, -1, 2**31, 2**33, -(2**31), 1489483800]))
        )
        files.append(DiskFile((*folder, name), node, mtime=mtime))
        # A loose file whose name is an archive's provenance path ("a.zip!b.txt").
        if node.opens and node.members and not node.stream and draw(st.integers(0, 2)) == 0:
            member = node.members[0][0]
            twin = name + b"!" + member.replace(b"/", b"\xe2\x88\x95").replace(b"\x00", b"0")
            if len(twin) <= 255 and twin not in taken[folder] and budget.take():
                taken[folder].add(twin)
                files.append(DiskFile((*folder, twin), Node("txt", b"loose twin\n", ".txt")))
        if budget.full:
            break
    if draw(st.integers(0, 5)) == 0:
        folders.append((_unique(draw(names(disk=True, wild=wild)), taken[()], 255),))
    return Dump(profile, files, folders)
