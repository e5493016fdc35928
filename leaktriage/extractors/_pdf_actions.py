"""PDF structure and active content: the catalog's actions and JavaScript (document, page and
annotation triggers, /Next chains), pages (fonts, annotations, form fields, pages that are
one scanned image), and embedded files. Every walk is bounded; nothing in the file is run."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from leaktriage.extractors import Child, Extraction, Source, _links
from leaktriage.extractors._links import find_links
from leaktriage.extractors._pdf_common import (
    _REF,
    _SPACES,
    _cap,
    _value_text,
    decode_text,
    pymupdf,
    read_string,
)

MAX_PAGES = 200
"""Pages whose fonts, annotations and images are looked at."""
MAX_FONTS = 500
MAX_ANNOTS = 5000
"""Annotations inspected for actions over the whole document."""
MAX_ACTION_REFS = 50
"""Elements read from one array of actions, and name-tree nodes and values followed."""
MAX_ACTIONS = 2000
"""Actions read in one document, chained /Next actions included."""
MAX_ACTION_DEPTH = 16
"""Nesting of /Next chains and action arrays followed."""
MAX_ACTION_ENTRIES = 500
"""Entries kept in ``pdf.actions``."""
MAX_DICT_ENTRIES = 200
"""Entries read from one dictionary's object text."""
MAX_SCRIPT_EXCERPT = 200
"""Characters of a script without any address shown in ``pdf.actions``."""
MAX_JS_STREAM = 1 << 20
"""Bytes of a JavaScript stream searched for URLs."""
MAX_EMBEDDED = 100
"""Embedded files handed back to the pipeline at most."""
MAX_EMBEDDED_BYTES = 64 * 1024 * 1024
"""Embedded files larger than this are listed but not analysed."""
MAX_ENCODED_OTHER = 1024 * 1024
"""Streams under filters other than Flate are decoded only up to this encoded size."""
IMAGE_PAGE_COVER = 0.9
"""Share of the page area images must cover for the page to count as a scan."""
_KEY = re.compile(r"/([^\s/\[\]<>(){}%]*)")
_ATOM = re.compile(r"/[^\s/\[\]<>(){}%]*|[^\s/\[\]<>(){}%]+")
"""A name, number or keyword in object text."""
_JS_CALL = re.compile(r"([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*\(")
# Additional-actions triggers (ISO 32000-1, 12.6.3, tables 194-197) in plain words.
_DOCUMENT_AA = {
    "WC": "closing",
    "WS": "before saving",
    "DS": "after saving",
    "WP": "before printing",
    "DP": "after printing",
}
_PAGE_AA = {"O": "page opened", "C": "page closed"}
_ANNOT_AA = {
    "E": "pointer enters",
    "X": "pointer leaves",
    "D": "mouse pressed",
    "U": "mouse released",
    "Fo": "focus",
    "Bl": "focus lost",
    "PO": "page opened",
    "PC": "page closed",
    "PV": "page shown",
    "PI": "page hidden",
    "K": "keystroke",
    "F": "value formatted",
    "V": "value validated",
    "C": "value calculated",
}
_AUTOMATIC_ANNOT = frozenset({"PO", "PC", "PV", "PI", "F", "C"})
"""Annotation and field triggers that fire without the reader touching anything."""
_FILE_ACTIONS = frozenset({"SubmitForm", "GoToR", "GoToE", "ImportData", "Thread"})
"""Action types whose /F names another file or a web address (ISO 32000-1, 12.6.4)."""
# Raw-byte keywords, specific enough not to occur by chance inside compressed streams.
_RAW_JS = re.compile(rb"/S\s*/JavaScript\b|/JS\s*[(<]|/JS\s+\d+\s+\d+\s+R")
_RAW_LAUNCH = re.compile(rb"/S\s*/Launch\b")
_EF_STREAM = re.compile(r"/EF\s*<<[^>]*?/F\s+(\d+)\s+0\s+R")


@dataclass(slots=True)
class _Active:
    """Active content found while walking actions."""

    javascript: bool = False
    open_action: bool = False
    launch: bool = False
    links: list[str] = field(default_factory=list)
    actions: dict[str, None] = field(default_factory=dict)
    """``pdf.actions`` entries, in the order read."""
    contacts: _links.Contacts = field(default_factory=_links.Contacts)
    seen: set[int] = field(default_factory=set)
    """Xrefs of the actions already read (a /Next loop ends there)."""
    count: int = 0


def _catalog(doc: Any, out: Extraction, active: _Active) -> None:
    catalog = doc.pdf_catalog()
    kind, lang = doc.xref_get_key(catalog, "Lang")
    text = _value_text(doc, kind, lang)
    if kind == "string" and text:
        out.raw["Catalog/Lang"] = _cap(text)
        out.put("doc.languages", (text.strip(),))
    kind, value = doc.xref_get_key(catalog, "OpenAction")
    action = _value_text(doc, kind, value) if kind in {"dict", "xref"} else None
    if action:
        out.raw["Catalog/OpenAction"] = _cap(action)
        # A destination ("open at page 1") is no action; a /GoTo only shows a page too.
        if action.lstrip().startswith("<<"):
            if _name(_entries(action).get("S", "")) != "GoTo":
                active.open_action = True
            _action(doc, value, "OpenAction", True, active)
    kind, value = doc.xref_get_key(catalog, "AA")
    if kind != "null":
        for key, entry in _entries(_deref(doc, value)[0]).items():
            meaning = _DOCUMENT_AA.get(key, "document event")
            _action(doc, entry, f"document /AA /{key} ({meaning})", True, active)
    kind, value = doc.xref_get_key(catalog, "Names/JavaScript")
    if kind != "null":
        active.javascript = True
        for entry in _name_tree(doc, value):
            _action(doc, entry, "document JavaScript", True, active)


def _deref(doc: Any, value: str) -> tuple[str, int | None]:
    """The object text a value stands for (an indirect reference followed) and its xref."""
    ref = _REF.fullmatch(value.strip())
    if ref is None:
        return value.strip(), None
    xref = int(ref.group(1))
    if not 0 < xref < doc.xref_length():
        return "", None
    return doc.xref_object(xref, compressed=True).strip(), xref


def _value_end(text: str, pos: int) -> int:
    """End of the value that starts at ``pos`` (after any whitespace) of object text."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    ref = _REF.match(text, pos)
    if ref:
        return ref.end()
    atom = _ATOM.match(text, pos)
    if atom and atom.end() > pos:
        return atom.end()
    return _skip_value(text, pos)


def _entries(text: str) -> dict[str, str]:
    """Top-level entries of a dictionary's object text, each value as object text."""
    text = text.strip()
    found: dict[str, str] = {}
    if not text.startswith("<<"):
        return found
    pos = 2
    while pos < len(text) and len(found) < MAX_DICT_ENTRIES:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        name = _KEY.match(text, pos)
        if name is None:
            break
        end = _value_end(text, name.end())
        if end <= name.end():
            break
        found.setdefault(name.group(1), text[name.end() : end].strip())
        pos = end
    return found


def _items(text: str) -> list[str]:
    """Elements of an array's object text, each as object text."""
    text = text.strip()
    found: list[str] = []
    if not text.startswith("["):
        return found
    pos = 1
    while pos < len(text) and len(found) < MAX_ACTION_REFS:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        end = _value_end(text, pos)
        if end <= pos:
            break
        found.append(text[pos:end].strip())
        pos = end
    return found


def _name(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("/") else ""


def _string(doc: Any, value: str) -> str | None:
    """A string value decoded (an indirect one followed), or None."""
    text, _ = _deref(doc, value)
    token = read_string(text, 0) if text[:1] in ("(", "<") and not text.startswith("<<") else None
    return decode_text(token[0]).strip() if token is not None else None


def _file_spec(doc: Any, value: str) -> str | None:
    """The file or URL a file specification names (ISO 32000-1, 7.11): a string, or a
    dictionary's /UF, /F, /Unix, /DOS or /Mac."""
    found = _string(doc, value)
    if found is not None:
        return found
    entries = _entries(_deref(doc, value)[0])
    for key in ("UF", "F", "Unix", "DOS", "Mac"):
        if key in entries:
            found = _string(doc, entries[key])
            if found:
                return found
    return None


def _launch_target(doc: Any, entries: dict[str, str]) -> str | None:
    """What a /Launch action starts: its file, or the Windows program and its parameters."""
    if "Win" in entries:
        win = _entries(_deref(doc, entries["Win"])[0])
        program = _string(doc, win.get("F", "")) or ""
        parameters = _string(doc, win.get("P", "")) or ""
        command = f"{program} {parameters}".strip()
        if command:
            return command
    for key in ("F", "Unix", "Mac"):
        if key in entries:
            found = _file_spec(doc, entries[key])
            if found:
                return found
    return None


def _script(doc: Any, value: str) -> str:
    """The JavaScript of a /JS entry: a string, or the start of a stream (bounded)."""
    found = _string(doc, value)
    if found is not None:
        return found
    ref = _REF.fullmatch(value.strip())
    if ref is None or not 0 < int(ref.group(1)) < doc.xref_length():
        return ""
    return decode_text(_stream_head(doc, int(ref.group(1)), MAX_JS_STREAM))


def _stream_head(doc: Any, xref: int, cap: int) -> bytes:
    """At most ``cap`` decoded bytes of a stream: Flate inflated here with that bound, other
    filters decoded by MuPDF only when their encoded size is small."""
    if not doc.xref_is_stream(xref):
        return b""
    raw: bytes = doc.xref_stream_raw(xref) or b""
    kind, value = doc.xref_get_key(xref, "Filter")
    if kind == "null":
        return raw[:cap]
    if (
        value in {"/FlateDecode", "[/FlateDecode]"}
        and doc.xref_get_key(xref, "DecodeParms")[0] == "null"
    ):
        try:
            return zlib.decompressobj().decompress(raw, cap)
        except zlib.error:
            pass
    if len(raw) > MAX_ENCODED_OTHER:
        return b""
    decoded: bytes = doc.xref_stream(xref) or b""
    return decoded[:cap]


def _name_tree(doc: Any, value: str) -> list[str]:
    """The values of a name tree (ISO 32000-1, 7.9.6), leaves and kids followed, bounded."""
    found: list[str] = []
    pending = [value]
    seen: set[int] = set()
    for _ in range(MAX_ACTION_REFS):
        if not pending or len(found) >= MAX_ACTION_REFS:
            break
        text, xref = _deref(doc, pending.pop())
        if xref is not None:
            if xref in seen:
                continue
            seen.add(xref)
        entries = _entries(text)
        names = _items(_deref(doc, entries.get("Names", ""))[0])
        found.extend(names[1::2])
        pending.extend(reversed(_items(_deref(doc, entries.get("Kids", ""))[0])))
    return found[:MAX_ACTION_REFS]


def _action(
    doc: Any, value: str, trigger: str, automatic: bool, active: _Active, depth: int = 0
) -> None:
    """Read one action (or an array of them) and the /Next actions chained to it, recording
    what reaches outside the file. ``automatic``: it runs without a click."""
    if depth > MAX_ACTION_DEPTH or active.count >= MAX_ACTIONS:
        return
    active.count += 1
    text, xref = _deref(doc, value)
    if xref is not None:
        if xref in active.seen:
            return
        active.seen.add(xref)
    if text.startswith("["):
        for item in _items(text):
            _action(doc, item, trigger, automatic, active, depth + 1)
        return
    entries = _entries(text)
    kind = _name(entries.get("S", ""))
    if "JS" in entries or kind == "JavaScript":
        active.javascript = True
        _javascript(trigger, automatic, _script(doc, entries.get("JS", "")), active)
    if kind == "URI":
        target = _string(doc, entries.get("URI", ""))
        if target:
            active.links.append(target)
            _record(active, trigger, automatic, kind, target)
    elif kind == "Launch":
        active.launch = True
        target = _launch_target(doc, entries)
        if target:
            _record(active, trigger, automatic, kind, target)
    elif kind in _FILE_ACTIONS:
        target = _file_spec(doc, entries.get("F", ""))
        if target:
            active.links.append(target)
            _record(active, trigger, automatic, kind, target)
    if "Next" in entries:
        _action(doc, entries["Next"], trigger, automatic, active, depth + 1)


def _record(active: _Active, trigger: str, automatic: bool, kind: str, target: str) -> None:
    """One action that reaches outside: ``pdf.actions``, and a contact for each address."""
    if len(active.actions) < MAX_ACTION_ENTRIES:
        active.actions[f"{trigger}: {kind}{_links.ARROW}{_cap(target)}"] = None
    mechanism = f"{trigger}: {kind}"
    if _links.host_of(target) is not None:
        active.contacts.add(mechanism, target, on_open=automatic)
        return
    for link in find_links(target):  # a program started with an address as parameter
        active.links.append(link)
        active.contacts.add(mechanism, link, on_open=automatic)


def _javascript(trigger: str, automatic: bool, script: str, active: _Active) -> None:
    """Every address a script names, with the function that receives it when one does
    (``app.launchURL``, ``this.submitForm``); a script without one is listed as such."""
    links = find_links(script)
    if not links:
        excerpt = " ".join(script.split())[:MAX_SCRIPT_EXCERPT] or "(empty)"
        if len(active.actions) < MAX_ACTION_ENTRIES:
            active.actions[f"{trigger}: JavaScript{_links.ARROW}{excerpt}"] = None
        return
    for link in links:
        start = script.find(link)
        calls = _JS_CALL.findall(script[max(0, start - 120) : max(0, start)])
        kind = f"JavaScript {_SPACES.sub('', calls[-1])}" if calls else "JavaScript"
        active.links.append(link)
        _record(active, trigger, automatic, kind, link)


def _raw_keywords(data: bytes, active: _Active) -> None:
    """Keywords in the raw bytes catch actions no reference leads to (orphan objects)."""
    active.javascript = active.javascript or _RAW_JS.search(data) is not None
    active.launch = active.launch or _RAW_LAUNCH.search(data) is not None


def _pages(
    doc: Any, source: Source, out: Extraction, active: _Active, texts: dict[int, str]
) -> None:
    """Fonts, annotations, forms and scanned pages; ``texts`` gets the text of the pages read
    for the sample (page number -> text, in page order), which the revision comparison
    re-uses instead of extracting it a second time."""
    fonts: dict[str, None] = {}
    not_embedded: dict[str, None] = {}
    annots = widgets = signatures = 0
    image_pages: list[str] = []
    text_chars = 0
    for number in range(min(doc.page_count, MAX_PAGES)):
        page = doc.load_page(number)
        for _, ext, font_type, basefont, _, _ in page.get_fonts():
            name = basefont or "(unnamed)"
            if len(fonts) < MAX_FONTS:
                fonts[name] = None
            if ext == "n/a" and font_type != "Type3" and len(not_embedded) < MAX_FONTS:
                not_embedded[name] = None
        kind, value = doc.xref_get_key(page.xref, "AA")
        if kind != "null":
            for key, entry in _entries(_deref(doc, value)[0]).items():
                trigger = f"page {number + 1} /AA /{key} ({_PAGE_AA.get(key, 'page event')})"
                _action(doc, entry, trigger, True, active)
        for xref, annot_type, _ in page.annot_xrefs():
            annots += 1
            if annots > MAX_ANNOTS:
                continue
            if annot_type == pymupdf.PDF_ANNOT_WIDGET:
                widgets += 1
                if _field_type(doc, xref) == "/Sig":
                    signatures += 1
            _annotation_actions(doc, xref, number, active, annot_type == pymupdf.PDF_ANNOT_WIDGET)
        page_text: str | None = None
        if text_chars < source.text_sample_bytes:
            page_text = page.get_text()
            texts[number] = page_text
            text_chars += len(page_text)
        if page.get_images() and _covered_by_images(page):
            if page_text is None:
                page_text = page.get_text()
            if page_text.strip():
                image_pages.append(str(number + 1))
    out.put("pdf.fonts", tuple(fonts))
    out.put("pdf.fonts_not_embedded", tuple(not_embedded))
    out.put("pdf.annotation_count", annots)
    out.put("pdf.form_fields", widgets)
    out.put("pdf.signature_count", signatures)
    out.put("pdf.image_pages_with_text", tuple(image_pages))


def _annotation_actions(doc: Any, xref: int, number: int, active: _Active, widget: bool) -> None:
    """An annotation's /A (followed on a click) and /AA, a widget's form field's included."""
    subtype = _name(doc.xref_get_key(xref, "Subtype")[1] or "") or "unknown"
    where = f"page {number + 1} {subtype} annotation"
    kind, value = doc.xref_get_key(xref, "A")
    if kind != "null":
        _action(doc, value, f"{where} /A (click)", False, active)
    for path in ("AA", "Parent/AA") if widget else ("AA",):
        kind, value = doc.xref_get_key(xref, path)
        if kind == "null":
            continue
        for key, entry in _entries(_deref(doc, value)[0]).items():
            trigger = f"{where} /AA /{key} ({_ANNOT_AA.get(key, 'event')})"
            _action(doc, entry, trigger, key in _AUTOMATIC_ANNOT, active)


def _field_type(doc: Any, xref: int) -> str:
    """A widget's /FT, inherited from its parent fields when absent."""
    path = "FT"
    for _ in range(8):
        kind, value = doc.xref_get_key(xref, path)
        if kind == "name":
            return str(value)
        if doc.xref_get_key(xref, path.replace("FT", "Parent"))[0] == "null":
            break
        path = "Parent/" + path
    return ""


def _covered_by_images(page: Any) -> bool:
    """Images drawn on the page cover at least ``IMAGE_PAGE_COVER`` of its area."""
    rect = page.rect
    area: float = rect.width * rect.height
    if area <= 0:
        return False
    covered = 0.0
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & rect
        if not box.is_empty:
            covered += box.width * box.height
    return covered >= IMAGE_PAGE_COVER * area


def _embedded(doc: Any, out: Extraction) -> None:
    """Names of embedded files; each one goes back through the pipeline as a child."""
    names = doc.embfile_names()[:MAX_EMBEDDED]
    out.put("pdf.embedded_files", tuple(names))
    streams = _embedded_streams(doc)
    for name in names:
        xref = streams.get(name)
        data = _bounded_stream(doc, xref) if xref else None
        if data is None:
            out.note("limit.size", f"embedded file {name!r} not analysed: over the size cap")
            continue
        out.children.append(Child(name=f"attachment:{name}", data=data))


def _embedded_streams(doc: Any) -> dict[str, int]:
    """Embedded file name -> stream xref, from the catalog's EmbeddedFiles name tree."""
    found: dict[str, int] = {}
    kind, value = doc.xref_get_key(doc.pdf_catalog(), "Names/EmbeddedFiles")
    pending = [_value_text(doc, kind, value) or ""]
    for _ in range(MAX_EMBEDDED):
        if not pending or len(found) >= MAX_EMBEDDED:
            break
        node = pending.pop()
        names_at = node.find("/Names")
        pos = node.find("[", names_at) + 1 if names_at >= 0 else 0
        while pos > 0 and len(found) < MAX_EMBEDDED:
            token = read_string(node, pos)
            if token is None:
                break
            end = _skip_value(node, token[1])
            value = node[token[1] : end].strip()
            ref = _REF.fullmatch(value)
            target = doc.xref_object(int(ref.group(1)), compressed=True) if ref else value
            stream = _EF_STREAM.search(target)
            if stream:
                found.setdefault(decode_text(token[0]), int(stream.group(1)))
            pos = end
        kids_at = node.find("/Kids")
        if kids_at >= 0:
            kids = node[kids_at : node.find("]", kids_at)]
            refs = list(_REF.finditer(kids))[:MAX_EMBEDDED]
            pending.extend(doc.xref_object(int(kid.group(1)), compressed=True) for kid in refs)
    return found


def _skip_value(text: str, pos: int) -> int:
    """End of the PDF value starting at (or after whitespace from) ``pos`` in object text."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    ref = _REF.match(text, pos)
    if ref:
        return ref.end()
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == "(" or (char == "<" and not text.startswith("<<", pos)):
            token = read_string(text, pos)
            if token is None:
                return len(text)
            pos = token[1]
        elif text.startswith("<<", pos) or char == "[":
            depth += 1
            pos += 2 if char == "<" else 1
        elif text.startswith(">>", pos) or char == "]":
            depth -= 1
            pos += 2 if char == ">" else 1
        else:
            pos += 1
            if depth == 0 and (pos >= len(text) or text[pos] in "/[]<>() \t\r\n"):
                return pos
        if depth <= 0:
            return pos
    return pos


def _bounded_stream(doc: Any, xref: int) -> bytes | None:
    """A stream's decoded bytes, or None when they would exceed ``MAX_EMBEDDED_BYTES``.

    Flate is inflated here with a cap, so a compression bomb inside a PDF stops at the cap
    instead of filling memory; other filters are decoded by MuPDF only when their encoded
    size is small.
    """
    raw: bytes = doc.xref_stream_raw(xref) or b""
    kind, value = doc.xref_get_key(xref, "Filter")
    plain = kind == "null"
    flate = value in {"/FlateDecode", "[/FlateDecode]"}
    has_parms = doc.xref_get_key(xref, "DecodeParms")[0] != "null"
    if plain:
        return raw if len(raw) <= MAX_EMBEDDED_BYTES else None
    if flate and not has_parms:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, MAX_EMBEDDED_BYTES + 1)
        except zlib.error:
            return doc.xref_stream(xref) if len(raw) <= MAX_ENCODED_OTHER else None
        return data if len(data) <= MAX_EMBEDDED_BYTES else None
    if len(raw) > MAX_ENCODED_OTHER:
        return None
    decoded: bytes = doc.xref_stream(xref) or b""
    return decoded if len(decoded) <= MAX_EMBEDDED_BYTES else None


# --- save history -------------------------------------------------------------------------
