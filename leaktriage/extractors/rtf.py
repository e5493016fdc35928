"""RTF documents: the ``{\\info}`` group, code page, languages, field codes and body text.

An RTF file carries nearly the same properties as a Word .doc, in plain text: author,
last editor (``\\operator``), company, creation/revision/print times (local time of the
writing machine, with no zone), revision count, editing minutes and Word's internal build
number (``\\vern``). The ``\\ansicpg`` code page and ``\\deflang``/``\\lang`` language ids show
how the writing machine was set up (1251 and 1049 = a Russian-language Windows). Field
instructions show what the file fetches when opened: ``INCLUDEPICTURE`` from a web server
is a tracking pixel, ``INCLUDETEXT`` from ``\\\\host\\share`` leaks Windows credentials,
``DDEAUTO`` starts a program.

The reader is a flat tokenizer with an explicit group stack (no recursion: an RTF bomb of a
million nested groups costs :data:`MAX_DEPTH` stack entries). It makes two passes, both
linear: the body pass reads the font table and the body text and stops once the sample is
full, jumping over pictures, style sheets and other destinations with one brace-counting
search each; then regular expressions find every ``{\\info``, ``{\\*\\fldinst``,
``{\\*\\userprops``, ``{\\*\\generator`` and ``{\\*\\template`` group wherever it is, and each
is tokenized alone. A 2 MB Word RTF takes about a tenth of a second.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from leaktriage.errors import WrongFormatError
from leaktriage.extractors import Extraction, Source, _dates, _lcid, _links, register
from leaktriage.extractors._codepage import codec_for
from leaktriage.extractors.odf import split_generator

log = logging.getLogger(__name__)

READ_BYTES = 64 << 20
"""Bytes of an RTF file read; pictures make big RTFs, the facts are near the start."""
MAX_DEPTH = 512
"""Nested groups tracked; deeper ones are skipped as a whole (Word nests a few dozen)."""
RAW_CHARS = 4096
"""Raw values and string facts are cut to this length."""
GROUP_BYTES = 1 << 20
"""Longest info group, field instruction or property group read."""
HEADER_BYTES = 64 << 10
"""Where the code page declaration is looked for."""
MAX_ITEMS = 500
"""Cap on fields, user properties and languages collected."""

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|\\'([0-9a-fA-F]{2})"  # 3: a byte in the current code page
    rb"|\\([^a-zA-Z'])"  # 4: control symbol (\\ \{ \} \~ \* ...)
    rb"|([{}])"  # 5: group start or end
    rb"|([^\\{}\r\n]+)"  # 6: text
    rb"|[\r\n]+|\\",  # line ends are not text; a lone backslash at the very end
    re.DOTALL,
)
_BRACES = re.compile(rb"\\bin(-?\d{1,10}) ?|\\[\\{}]|([{}])")
_ANSICPG = re.compile(rb"\\ansicpg(\d{1,5})")
_CHARSET_WORD = re.compile(rb"\\(ansi|mac|pca|pc)(?![a-zA-Z])")
_DEFAULT_CP = {"ansi": 1252, "mac": 10000, "pc": 437, "pca": 850}
_LANGUAGE = re.compile(rb"\\(?:deflang|deflangfe|lang|langfe)(\d{1,5})(?!\d)")
_DESTINATIONS = re.compile(
    rb"\{[ \r\n]*(?:\\\*[ \r\n]*)?\\(?:info|fldinst|userprops|generator|template)(?![a-zA-Z])"
)
_INFO_STRINGS = frozenset(
    {
        "title",
        "subject",
        "author",
        "operator",
        "keywords",
        "comment",
        "doccomm",
        "company",
        "manager",
        "category",
        "hlinkbase",
    }
)
_STARRED_STRINGS = frozenset({"generator", "template", "company", "manager", "category"})
_INFO_NUMBERS = frozenset(
    {"version", "vern", "edmins", "nofpages", "nofwords", "nofchars", "nofcharsws", "id"}
)
_INFO_DATES = frozenset({"creatim", "revtim", "printim", "buptim"})
_DATE_PARTS = ("yr", "mo", "dy", "hr", "min", "sec")
_SKIP = frozenset(
    {
        "colortbl",
        "stylesheet",
        "pict",
        "object",
        "objdata",
        "listtable",
        "listoverridetable",
        "revtbl",
        "rsidtbl",
        "filetbl",
        "xmlnstbl",
        "themedata",
        "colorschememapping",
        "datastore",
        "latentstyles",
        "pntext",
        "pntxta",
        "pntxtb",
        "nonshppict",
        "shpinst",
        "bkmkstart",
        "bkmkend",
        "private",
        "passwordhash",
    }
)
_SPECIAL = {
    "par": "\n",
    "line": "\n",
    "sect": "\n",
    "row": "\n",
    "page": "\n",
    "tab": "\t",
    "cell": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
}
_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "-", "\n": "\n", "\r": "\n"}
_CHARSETS = {
    0: 1252,
    128: 932,
    129: 949,
    130: 1361,
    134: 936,
    136: 950,
    161: 1253,
    162: 1254,
    163: 1258,
    177: 1255,
    178: 1256,
    186: 1257,
    204: 1251,
    222: 874,
    238: 1250,
    254: 437,
    255: 850,
}
"""RTF ``\\fcharset`` values -> Windows code pages (a font's charset overrides ``\\ansicpg``).

77 ("Mac") is left out on purpose: Cocoa writes it for every font and means the document's
own Mac code page (``\\ansicpg10007`` for Cyrillic), not Mac Roman."""
_FETCHING_FIELDS = frozenset(
    {"INCLUDEPICTURE", "INCLUDETEXT", "LINK", "DDE", "DDEAUTO", "IMPORT", "EMBED", "DATABASE"}
)
"""Field verbs that fetch content (or run a program) when the fields update: on opening,
printing, or Word's update-links prompt."""
_CLICKED_FIELDS = frozenset({"HYPERLINK"})
"""Field verbs followed only on a click."""


def lcid_tag(lcid: int) -> str:
    """BCP 47 tag of a Windows language id (``1049`` -> ``ru-RU``), ``lcid:N`` when unknown."""
    return _lcid.lcid_tag(lcid) or f"lcid:{lcid}"


def _char(code: int) -> str:
    """The character of a ``\\uN`` escape (N is a signed 16-bit number in most writers).

    Characters past U+FFFF arrive as two escapes, a UTF-16 surrogate pair; :func:`_joined`
    puts the halves back together.
    """
    if code < 0:
        code += 65536
    if code < 0 or code > 0x10FFFF:
        return "\ufffd"
    return chr(code)


def _joined(parts: list[str]) -> str:
    """Concatenate decoded pieces, pairing UTF-16 surrogates and replacing lone ones."""
    text = "".join(parts)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


@dataclass(slots=True)
class _Reader:
    """State of the passes over one RTF file."""

    keep: int
    base_cp: int = 1252
    body: list[str] = field(default_factory=list)
    body_chars: int = 0
    strings: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    dates: dict[str, dict[str, int]] = field(default_factory=dict)
    fonts: dict[int, int] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)
    user_props: list[str] = field(default_factory=list)
    prop_name: str | None = None
    too_deep: bool = False
    unclosed: int = 0
    binary_cut: bool = False
    skips: dict[tuple[int, int], int] = field(default_factory=dict)
    """Group ends already found, so later passes never rescan a deep or huge group."""

    def emit(self, dest: str, text: str) -> None:
        if not text:
            return
        if dest == "body":
            if self.body_chars < self.keep:
                self.body.append(text)
                self.body_chars += len(text)
        elif dest.startswith("s:"):
            parts = self.strings.setdefault(dest[2:], [])
            if sum(map(len, parts)) < RAW_CHARS:
                parts.append(text)

    def closed(self, dest: str) -> None:
        """A string destination group ended: fields and user properties are complete."""
        if dest == "s:fldinst":
            parts = self.strings.pop("fldinst", [])
            if len(self.instructions) < MAX_ITEMS:
                self.instructions.append(_joined(parts).strip())
        elif dest == "s:propname":
            self.prop_name = _joined(self.strings.pop("propname", [])).strip()
        elif dest == "s:staticval":
            value = _joined(self.strings.pop("staticval", [])).strip()
            if self.prop_name and len(self.user_props) < MAX_ITEMS:
                self.user_props.append(f"{self.prop_name}={value}"[:RAW_CHARS])
            self.prop_name = None

    def skip_group(self, data: bytes, pos: int, end: int) -> int:
        """Position just after the end of the group open at ``pos`` (remembered per pass)."""
        key = (pos, end)
        found = self.skips.get(key)
        if found is None:
            found = self.skips[key] = self._group_end(data, pos, end)
        return found

    def _group_end(self, data: bytes, pos: int, end: int) -> int:
        depth = 1
        search = _BRACES.search
        while True:
            m = search(data, pos, end)
            if m is None:
                return end
            pos = m.end()
            if m.group(1) is not None:  # \binN: N raw bytes that may hold braces
                skip = max(0, int(m.group(1)))
                if pos + skip > end:
                    self.binary_cut = True
                pos = min(end, pos + skip)
            elif m.group(2) == b"{":
                depth += 1
            elif m.group(2) == b"}":
                depth -= 1
                if depth == 0:
                    return pos

    def read(self, data: bytes, pos: int, group: bool) -> int:
        """Tokenize from ``pos``; returns where it stopped.

        With ``group`` false this is the body pass: it reads the font table and the body text
        and stops once the sample is full, jumping over every other destination. With
        ``group`` true it reads the one group that opens at ``pos`` (the info group, a field
        instruction, the user properties) and stops at its end.
        """
        # Outside any destination a group read keeps nothing: its text is not body text.
        dest, uc, cp = ("outer" if group else "body"), 1, self.base_cp
        stack: list[tuple[str, int, int]] = []
        starred = False  # the last token was \*: the next word names an optional destination
        font_def = -1  # the font being defined inside the font table
        skip_chars = 0  # characters still to skip after a \uN
        pending = bytearray()  # bytes of the current code page not yet decoded
        end = min(len(data), pos + GROUP_BYTES) if group else len(data)
        match = _TOKEN.match
        while pos < end:
            if not group and self.body_chars >= self.keep:
                return pos
            m = match(data, pos)
            if m is None:  # unreachable: the last alternative matches any single backslash
                pos += 1
                continue
            pos = m.end()
            kind = m.lastindex
            if kind == 3 or kind == 6:
                chunk = bytes.fromhex(m.group(3).decode()) if kind == 3 else m.group(6)
                if skip_chars:
                    cut = min(skip_chars, 1 if kind == 3 else len(chunk))
                    skip_chars -= cut
                    chunk = chunk[cut:]
                if dest == "body" or dest.startswith("s:"):
                    pending += chunk
                continue
            if pending:
                self.emit(dest, pending.decode(codec_for(cp), errors="replace"))
                pending.clear()
            skip_chars = 0
            if kind == 5:
                starred = False
                if m.group(5) == b"{":
                    if len(stack) >= MAX_DEPTH:
                        self.too_deep = True
                        pos = self.skip_group(data, pos, end)
                        continue
                    stack.append((dest, uc, cp))
                elif stack:
                    inner = dest
                    dest, uc, cp = stack.pop()
                    if inner != dest:
                        self.closed(inner)
                    if group and not stack:
                        return pos
                continue
            if kind == 4:
                symbol = m.group(4).decode("latin-1")
                if symbol == "*":
                    starred = True
                elif symbol in _SYMBOLS:
                    self.emit(dest, _SYMBOLS[symbol])
                continue
            if kind is None:
                continue
            word = m.group(1).decode("ascii")
            param = int(m.group(2)) if m.group(2) else None
            was_starred, starred = starred, False
            if word == "bin":
                # Raw binary data follows; it is never text and may contain braces.
                skip = max(0, param or 0)
                if pos + skip > end:
                    self.binary_cut = True
                pos = min(end, pos + skip)
                continue
            before = dest
            if word == "u" and param is not None:
                self.emit(dest, _char(param))
                skip_chars = uc
            elif word == "uc" and param is not None:
                uc = max(0, min(param, 8))
            elif dest == "fonttbl":
                if word == "f" and param is not None:
                    font_def = param
                elif word == "fcharset" and param is not None and param in _CHARSETS:
                    if len(self.fonts) < 10_000:
                        self.fonts[font_def] = _CHARSETS[param]
                elif word == "cpg" and param is not None and len(self.fonts) < 10_000:
                    self.fonts[font_def] = param
            elif word == "f" and param is not None:
                cp = self.fonts.get(param, self.base_cp)
            elif word in _SPECIAL:
                self.emit(dest, _SPECIAL[word])
            elif word == "info":
                dest = "info"
            elif dest == "info" and word in _INFO_STRINGS:
                dest = f"s:{word}"
            elif dest == "info" and word in _INFO_DATES:
                dest = f"d:{word}"
                self.dates.setdefault(word, {})
            elif dest.startswith("d:") and word in _DATE_PARTS and param is not None:
                self.dates[dest[2:]].setdefault(word, param)
            elif dest == "info" and word in _INFO_NUMBERS:
                if param is not None:
                    self.numbers.setdefault(word, param)
            elif was_starred and word in _STARRED_STRINGS:
                dest = f"s:{word}"
            elif word == "fldinst":
                dest = "s:fldinst"
                self.strings.pop("fldinst", None)
            elif word == "userprops":
                dest = "userprops"
            elif dest == "userprops" and word in ("propname", "staticval"):
                dest = f"s:{word}"
            elif word == "fonttbl":
                dest = "fonttbl"
            elif word in _SKIP or was_starred:
                dest = "skip"
            if (
                dest != before
                and stack
                and (dest == "skip" or (not group and dest not in ("body", "fonttbl")))
            ):
                # A destination this pass does not read: jump to its end in one search.
                pos = self.skip_group(data, pos, end)
                dest, uc, cp = stack.pop()
                if group and not stack:
                    return pos
        if pending:
            self.emit(dest, pending.decode(codec_for(cp), errors="replace"))
        if not group:
            self.unclosed = len(stack)
        while stack:  # a truncated file: close what is open so fields still count
            inner = dest
            dest, uc, cp = stack.pop()
            if inner != dest:
                self.closed(inner)
        return pos

    def read_destinations(self, data: bytes) -> None:
        """Read every info group, field instruction and property group in the file.

        A regular expression finds where they open (in C); each is then read as one group.
        A match inside a group already read (a field nested in a field) is part of that read.
        """
        covered = 0
        for count, found in enumerate(_DESTINATIONS.finditer(data)):
            if count >= 4 * MAX_ITEMS:
                break
            if found.start() < covered:
                continue
            covered = self.read(data, found.start(), group=True)


def _date(parts: dict[str, int]) -> _dates.Stamp | None:
    if "yr" not in parts:
        return None
    values = [parts.get(name, 1 if name in ("mo", "dy") else 0) for name in _DATE_PARTS]
    if not all(0 <= v <= 9999 for v in values):
        return None
    y, mo, d, h, mi, s = values
    return _dates.parse_iso(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}")


def _field_links(instruction: str) -> list[str]:
    """URLs and UNC paths a field points to (``\\\\`` in field strings is one backslash)."""
    return _links.find_links(instruction.replace("\\\\", "\\"))


_STRING_FIELDS = {
    "title": "doc.title",
    "subject": "doc.subject",
    "author": "doc.author",
    "operator": "doc.last_modified_by",
    "keywords": "doc.keywords",
    "doccomm": "doc.comments",
    "company": "doc.company",
    "manager": "doc.manager",
    "category": "doc.category",
    "template": "doc.template",
}
_NUMBER_FIELDS = {
    "version": "doc.revision",
    "nofpages": "doc.page_count",
    "nofwords": "doc.word_count",
    "nofchars": "doc.char_count",
    "vern": "rtf.internal_version",
}


@register(name="rtf", version=1, mime_types={"text/rtf"})
def extract(source: Source) -> Extraction:
    """Read an RTF file's info group, code page, languages, fields and body text.

    A damaged file is read as far as it goes (RTF readers are lenient, and so is this one);
    what went wrong is an issue on the record.

    Raises:
        WrongFormatError: the content does not start with ``{\\rtf``.
    """
    with source.open() as handle:
        data = handle.read(READ_BYTES)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"{\\rtf"):
        raise WrongFormatError("no {\\rtf header")
    out = Extraction()
    head = start[:HEADER_BYTES]
    ansicpg = _ANSICPG.search(head)
    charset = _CHARSET_WORD.search(head[:512])
    default_cp = _DEFAULT_CP[charset.group(1).decode()] if charset else 1252
    codepage = int(ansicpg.group(1)) if ansicpg else None
    reader = _Reader(source.text_sample_bytes, base_cp=codepage or default_cp)
    reader.read(start, 0, group=False)
    reader.read_destinations(start)
    languages: dict[str, None] = {}
    for found in _LANGUAGE.finditer(start):
        lcid = int(found.group(1))
        if lcid not in _lcid.NO_LANGUAGE:
            languages.setdefault(lcid_tag(lcid), None)
            if len(languages) >= MAX_ITEMS:
                break
    if not start.rstrip(b"\r\n\t \x00").endswith(b"}"):
        reader.unclosed = reader.unclosed or 1
    if source.size > READ_BYTES:
        out.note("limit.rtf_size", f"only the first {READ_BYTES} bytes of {source.size} read")
    if reader.binary_cut:
        out.note("corrupt", "\\bin data runs past the end of the file (truncated)")
    if reader.too_deep:
        out.note("limit.depth", f"groups nested deeper than {MAX_DEPTH} were skipped")
    if reader.unclosed:
        out.note("truncated", "the file ends inside an open group (truncated)")

    strings = {k: _joined(v).strip().rstrip(";").strip() for k, v in reader.strings.items()}
    for key, value in sorted(strings.items()):
        if key not in ("fldinst", "propname", "staticval"):
            out.raw[f"info/{key}"] = value[:RAW_CHARS]
    for key, name in _STRING_FIELDS.items():
        out.put(name, strings.get(key, "")[:RAW_CHARS])
    generator = strings.get("generator")
    if generator:
        application, version, _platform = split_generator(generator)
        out.put("doc.application", application)
        out.put("doc.app_version", version)
    for key, number in sorted(reader.numbers.items()):
        out.raw[f"info/{key}"] = str(number)
        if key in _NUMBER_FIELDS and number >= 0:
            out.put(_NUMBER_FIELDS[key], number)
    if reader.numbers.get("edmins", -1) >= 0:
        out.put("doc.edit_time_s", reader.numbers["edmins"] * 60)
    for key, field_name in (("creatim", "doc.created"), ("revtim", "doc.modified")):
        _put_date(out, reader.dates.get(key), key, field_name)
    _put_date(out, reader.dates.get("printim"), "printim", "doc.printed")
    if "buptim" in reader.dates:
        out.raw["info/buptim"] = _raw_date(reader.dates["buptim"])

    if codepage is not None:
        out.raw["rtf/ansicpg"] = str(codepage)
        out.put("doc.codepage", codepage)
    out.put("doc.languages", tuple(sorted(languages)))
    out.put("rtf.user_properties", tuple(reader.user_props))

    links: list[str] = []
    fetching: list[str] = []
    contacts = _links.Contacts()
    for instruction in reader.instructions:
        targets = _field_links(instruction)
        links.extend(targets)
        kind = instruction.split(None, 1)[0].upper() if instruction.split() else ""
        if kind in _FETCHING_FIELDS and len(fetching) < MAX_ITEMS:
            fetching.append(instruction[:RAW_CHARS])
        if kind in _FETCHING_FIELDS or kind in _CLICKED_FIELDS:
            for link in targets:
                contacts.add(f"field {kind}", link, on_open=kind in _FETCHING_FIELDS)
    hlinkbase = strings.get("hlinkbase")
    if hlinkbase:
        links.extend(_links.find_links(hlinkbase))
    template = strings.get("template")
    if template:
        links.extend(_links.find_links(template))
        contacts.add("template", template)
    out.put("rtf.field_codes", tuple(dict.fromkeys(fetching)))
    contacts.put(out, _links.merge(links))

    body = _joined(reader.body)
    out.put("text.sample", body.strip()[: source.text_sample_bytes])
    return out


def _raw_date(parts: dict[str, int]) -> str:
    return "".join(f"\\{name}{parts[name]}" for name in _DATE_PARTS if name in parts)


def _put_date(out: Extraction, parts: dict[str, int] | None, key: str, field_name: str) -> None:
    if not parts:
        return
    out.raw[f"info/{key}"] = _raw_date(parts)
    stamp = _date(parts)
    if stamp is None:
        out.note("bad_value", f"unreadable \\{key} date {_raw_date(parts)!r}")
        return
    out.put(field_name, stamp.utc)
    out.put(f"{field_name}_tz_known", stamp.tz_known)
    if field_name != "doc.printed":
        out.put(f"{field_name}_offset", stamp.offset)
