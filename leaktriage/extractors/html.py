"""HTML pages and HTML exports: meta tags, Word's hidden document properties, every remote link.

A web page keeps little metadata, but what it keeps is telling: the ``generator`` that wrote
it, the declared language and charset, and, in a page saved from Word ("Save as Web Page",
also the body of many Outlook mails), an ``<o:DocumentProperties>`` block hidden in a
conditional comment with the author, last author, company, revision and save times of the
original document. Every remote reference is collected, never fetched: a 1x1 image with a
unique query string is a tracking pixel that would tell the planter who opened the file.
The stdlib ``HTMLParser`` reads it: streaming, tolerant of broken markup, no network.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from itertools import islice

from leaktriage.extractors import Extraction, Source, _links, register
from leaktriage.extractors._codepage import codepage_of
from leaktriage.extractors._encoding import PROBE_BYTES, bom_codec, decode
from leaktriage.extractors.odf import put_date

log = logging.getLogger(__name__)

READ_BYTES = 16 << 20
"""Bytes of a page read; a bigger one is read up to here and marked partial."""
PARSE_CHARS = 1 << 20
"""Characters parsed as HTML (the parser is pure Python); links in the rest of what was read
are found by a plain-text search, which misses only relative and protocol-relative ones."""
RAW_CHARS = 4096
"""Raw values are cut to this length."""
MAX_ITEMS = 500
"""Cap on meta tags kept and on every list field."""
MAX_OPEN = 1000
"""Open elements tracked; deeper nesting is read as text of the innermost tracked one."""
MAX_TAG_CHARS = 64 << 10
MAX_BODIES = 20
"""HTML bodies of one mail parsed for the remote content they load."""
BODY_PARSE_CHARS = 512 << 10
"""Characters of each mail body parsed for it (their links are all found by a text search)."""
"""Longest text kept from one element (title, style, conditional comment) while parsing."""

# Attributes that make a browser or mail client fetch (or navigate to) something.
_URL_ATTRS = frozenset(
    {"href", "src", "action", "background", "poster", "data", "formaction", "cite", "longdesc"}
)
_LOADED_ATTRS = frozenset({"src", "background", "poster", "data"})
"""Of those, the ones loaded with the page, with no click (HTML Living Standard: img, script,
iframe, embed, object, video, audio, source, track, input type=image; table and body
background)."""
_LOADED_HREF_TAGS = frozenset({"image", "use", "feimage", "script"})
"""SVG elements whose ``href`` / ``xlink:href`` is loaded with the page."""
_LOADED_RELS = frozenset(
    {
        "stylesheet",
        "icon",
        "shortcut",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "mask-icon",
        "preload",
        "prefetch",
        "preconnect",
        "dns-prefetch",
        "prerender",
        "modulepreload",
        "manifest",
        "import",
    }
)
"""``<link rel=...>`` kinds that make the browser contact the host as the page loads."""
_SKIP_TEXT = frozenset({"script", "style", "head", "title", "noscript", "template", "xml"})
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]{1,2000})""", re.IGNORECASE)
_CHARSET = re.compile(rb"""<meta[^>]{0,500}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{1,40})""", re.I)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s]+)", re.IGNORECASE)
_OFFICE_PROPS = re.compile(
    r"<o:DocumentProperties>(.{0,65536}?)</o:DocumentProperties>", re.IGNORECASE | re.DOTALL
)
_OFFICE_ITEM = re.compile(r"<o:(\w{1,40})>([^<]{0,4096})</o:\1>", re.IGNORECASE)

# <meta name=...> -> catalogue field (first one wins).
_META_FIELDS = {
    "author": "doc.author",
    "dc.creator": "doc.author",
    "dcterms.creator": "doc.author",
    "generator": "doc.application",
    "description": "doc.comments",
    "dc.description": "doc.comments",
    "keywords": "doc.keywords",
    "subject": "doc.subject",
    "dc.subject": "doc.subject",
}
# <o:DocumentProperties> children (Word/Excel "Save as Web Page") -> catalogue fields.
_OFFICE_FIELDS = {
    "title": "doc.title",
    "subject": "doc.subject",
    "author": "doc.author",
    "keywords": "doc.keywords",
    "description": "doc.comments",
    "category": "doc.category",
    "manager": "doc.manager",
    "company": "doc.company",
    "lastauthor": "doc.last_modified_by",
    "template": "doc.template",
    "version": "doc.app_version",
}
_OFFICE_COUNTS = {
    "revision": "doc.revision",
    "pages": "doc.page_count",
    "words": "doc.word_count",
    "characters": "doc.char_count",
}
_OFFICE_DATES = {
    "created": "doc.created",
    "lastsaved": "doc.modified",
    "lastprinted": "doc.printed",
}


def _is_external(url: str) -> bool:
    """Absolute (``scheme://``), protocol-relative (``//host``) or UNC (``\\\\host``) targets."""
    return "://" in url[:40] or url.startswith(("//", "\\\\"))


def _language_tag(value: str) -> str:
    """A language tag in its usual case (Word writes ``lang=FR``, ``lang=EN-GB``)."""
    parts = value.strip()[:35].replace("_", "-").split("-")
    head = [parts[0].lower()]
    rest = [p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p for p in parts[1:]]
    return "-".join(head + rest)


def _small(value: str | None) -> int | None:
    """A size attribute ("1", "1px") as an int, None when absent or not a number."""
    if not value:
        return None
    digits = re.match(r"\s*(\d{1,6})", value)
    return int(digits.group(1)) if digits else None


class _Page(HTMLParser):
    """One pass over the page: meta, title, languages, links, images, visible text."""

    def __init__(self, keep: int) -> None:
        super().__init__(convert_charrefs=True)
        self.keep = keep
        self.meta: list[tuple[str, str]] = []
        self.languages: dict[str, None] = {}
        self.links: dict[str, None] = {}
        self.images: dict[str, None] = {}
        self.pixels: dict[str, None] = {}
        self.resources: dict[str, None] = {}
        self.contacts = _links.Contacts()
        self.title: list[str] = []
        self.title_done = False
        self.text: list[str] = []
        self.text_chars = 0
        self.style: list[str] = []
        self.comments: list[str] = []
        self.skip_depth = 0
        self.open_tags: list[str] = []

    def add_link(self, url: str | None, mechanism: str = "link", *, loaded: bool = False) -> None:
        """Keep an external reference; ``loaded``: the page loads it with no click."""
        if not url or len(self.links) >= _links.MAX_LINKS:
            return
        url = url.strip()
        if not _is_external(url):
            return
        self.links.setdefault(url[:RAW_CHARS], None)
        self.contacts.add(mechanism, url, on_open=loaded)
        if loaded and len(self.resources) < MAX_ITEMS:
            self.resources.setdefault(f"{mechanism}{_links.ARROW}{url[:RAW_CHARS]}", None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        pixel = tag == "img" and _is_pixel(values)
        for name, value in values.items():
            if name in _URL_ATTRS or name.endswith(":href"):
                mechanism = f"{tag} {name}"
                if pixel and name == "src":
                    mechanism = "img src (hidden or 1x1)"
                elif tag == "link" and values.get("rel", "").strip():
                    mechanism = f"link {' '.join(values['rel'].lower().split())[:40]}"
                self.add_link(value, mechanism, loaded=_loads(tag, name, values))
            elif name == "srcset":
                for candidate in value.split(",")[:50]:
                    self.add_link(candidate.strip().split(" ", 1)[0], f"{tag} srcset", loaded=True)
            elif name == "style" and "url(" in value.lower():
                for found in _CSS_URL.findall(value)[:50]:
                    self.add_link(found, f"{tag} style url()", loaded=True)
            elif name in ("lang", "xml:lang") and value.strip() and len(self.languages) < MAX_ITEMS:
                self.languages.setdefault(_language_tag(value), None)
        if tag == "meta":
            self.meta_tag(values)
        elif tag == "img":
            self.image(values, pixel)
        if tag == "body" and "head" in self.open_tags:
            self.handle_endtag("head")  # an unclosed <head> ends where the body starts
        if tag not in _VOID and len(self.open_tags) < MAX_OPEN:
            self.open_tags.append(tag)
            if tag in _SKIP_TEXT:
                self.skip_depth += 1
        if tag in _BLOCKS:
            self.add_text("\n")

    def parse_html_declaration(self, i: int) -> int:
        # The stdlib asserts on marked sections it does not know ("<![bogus[") and would stop
        # the whole page; Word's "<![if !supportLists]>" and any other such section are skipped.
        if self.rawdata.startswith("<![", i):
            closing = "]]>" if self.rawdata.startswith("<![CDATA[", i) else ">"
            end = self.rawdata.find(closing, i + 3)
            return -1 if end < 0 else end + len(closing)
        return super().parse_html_declaration(i)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag in self.open_tags:
            # Close everything opened after it too (tolerant of unclosed inner elements).
            while self.open_tags:
                opened = self.open_tags.pop()
                if opened in _SKIP_TEXT:
                    self.skip_depth = max(0, self.skip_depth - 1)
                if opened == "title":
                    self.title_done = True
                if opened == tag:
                    break
        if tag in _BLOCKS:
            self.add_text("\n")

    def handle_data(self, data: str) -> None:
        current = self.open_tags[-1] if self.open_tags else ""
        if current == "title" and not self.title_done:
            if sum(map(len, self.title)) < MAX_TAG_CHARS:
                self.title.append(data)
        elif current == "style":
            if sum(map(len, self.style)) < MAX_TAG_CHARS:
                self.style.append(data)
        elif not self.skip_depth:
            self.add_text(data)

    def handle_comment(self, data: str) -> None:
        # Word hides its document properties in <!--[if gte mso 9]><xml>...</xml><![endif]-->.
        if "DocumentProperties" in data and len(self.comments) < 10:
            self.comments.append(data[:MAX_TAG_CHARS])

    def add_text(self, data: str) -> None:
        if self.text_chars < self.keep:
            self.text.append(data)
            self.text_chars += len(data)

    def meta_tag(self, values: dict[str, str]) -> None:
        content = values.get("content", "")
        name = values.get("name") or values.get("property") or ""
        equiv = values.get("http-equiv", "")
        if equiv:
            key = f"http-equiv:{equiv.lower()}"
            if equiv.lower() == "content-language" and content.strip():
                for lang in content.split(",")[:20]:
                    if lang.strip():
                        self.languages.setdefault(_language_tag(lang), None)
            elif equiv.lower() == "refresh":
                found = _REFRESH_URL.search(content)
                if found:
                    self.add_link(found.group(1), "meta refresh", loaded=True)
        elif name:
            key = name.lower()
        else:
            return
        if len(self.meta) < MAX_ITEMS:
            self.meta.append((key[:200], content[:RAW_CHARS]))

    def image(self, values: dict[str, str], pixel: bool) -> None:
        src = values.get("src", "").strip()
        if not _is_external(src) or len(self.images) >= MAX_ITEMS:
            return
        self.images.setdefault(src[:RAW_CHARS], None)
        if pixel:
            self.pixels.setdefault(src[:RAW_CHARS], None)

    def finish(self) -> None:
        """Addresses in the ``<style>`` blocks (background images, ``@import``)."""
        for found in _CSS_URL.findall("".join(self.style))[:MAX_ITEMS]:
            self.add_link(found, "style url()", loaded=True)


def _is_pixel(values: dict[str, str]) -> bool:
    """An image sized 2x2 or less, or hidden: a web bug, not a picture."""
    style = values.get("style", "").replace(" ", "").lower()
    width = _small(values.get("width"))
    height = _small(values.get("height"))
    tiny = width is not None and height is not None and width <= 2 and height <= 2
    hidden = "display:none" in style or "visibility:hidden" in style
    tiny_css = re.search(r"(?<![-\w])width:[01]px", style) and re.search(
        r"(?<![-\w])height:[01]px", style
    )
    return bool(tiny or hidden or tiny_css)


def _loads(tag: str, attribute: str, values: dict[str, str]) -> bool:
    """True when a browser loads this attribute's address with the page, with no click."""
    if attribute in _LOADED_ATTRS:
        return True
    if attribute == "href" or attribute.endswith(":href"):
        if tag == "link":
            return bool(set(values.get("rel", "").lower().split()) & _LOADED_RELS)
        return tag in _LOADED_HREF_TAGS
    return False


def parse(text: str, keep: int = 0) -> tuple[_Page, str | None]:
    """One page parsed (its first :data:`PARSE_CHARS` characters): what it holds and loads,
    and the parser's complaint when it stopped early."""
    page = _Page(keep)
    problem = None
    try:
        page.feed(text[:PARSE_CHARS])
        page.close()
    except AssertionError as exc:
        # _markupbase asserts on some malformed declarations ("<![bogus["); keep what was read.
        problem = f"HTML parser stopped: {exc}"[:300]
    page.finish()
    return page, problem


def put_remote_content(out: Extraction, bodies: Iterable[str], links: Iterable[str]) -> None:
    """For the HTML bodies of a mail: remote images, tracking pixels and resources, and the
    link facts (``links.external`` from ``links`` and the bodies, ``links.on_open``...)."""
    contacts = _links.Contacts()
    images: dict[str, None] = {}
    pixels: dict[str, None] = {}
    resources: dict[str, None] = {}
    for body in islice(bodies, MAX_BODIES):
        page, _ = parse(body[:BODY_PARSE_CHARS])
        contacts.extend(page.contacts)
        images.update(page.images)
        pixels.update(page.pixels)
        resources.update(page.resources)
    out.put("html.remote_images", tuple(sorted(images)[:MAX_ITEMS]))
    out.put("html.tracking_pixels", tuple(sorted(pixels)[:MAX_ITEMS]))
    out.put("html.remote_resources", tuple(resources)[:MAX_ITEMS])
    contacts.put(out, links)


def _declared_charset(data: bytes) -> str | None:
    found = _CHARSET.search(data[:8192])
    return found.group(1).decode("ascii") if found else None


def _office_properties(page: _Page, out: Extraction) -> None:
    """Fields from Word's ``<o:DocumentProperties>`` (the saved document's own properties)."""
    for comment in page.comments:
        block = _OFFICE_PROPS.search(comment)
        if not block:
            continue
        for name, found in _OFFICE_ITEM.findall(block.group(1))[:MAX_ITEMS]:
            key = name.lower()
            value = html.unescape(found).strip()
            out.raw.setdefault(f"o:DocumentProperties/{name}", value[:RAW_CHARS])
            if key in _OFFICE_FIELDS and _OFFICE_FIELDS[key] not in out.fields:
                out.put(_OFFICE_FIELDS[key], value)
            elif key in _OFFICE_COUNTS and value.isdigit():
                out.put(_OFFICE_COUNTS[key], int(value))
            elif key == "totaltime" and value.isdigit():
                out.put("doc.edit_time_s", int(value) * 60)
            elif key in _OFFICE_DATES:
                put_date(out, _OFFICE_DATES[key], value)
        return


@register(name="html", version=1, mime_types={"text/html", "application/xhtml+xml"})
def extract(source: Source) -> Extraction:
    """Read an HTML page's meta tags, title, languages, Office properties, links and text."""
    out = Extraction()
    with source.open() as handle:
        data = handle.read(READ_BYTES)
    declared = _declared_charset(data)
    # A byte-order mark beats the declared charset, and "iso-8859-1" means Windows-1252, as
    # browsers read them (WHATWG Encoding).
    codec_wanted = None if bom_codec(data) else declared
    if codec_wanted and codepage_of(codec_wanted) == 28591:
        codec_wanted = "cp1252"
    page_text, codec = decode(data, codec_wanted)
    out.raw["html:encoding"] = codec
    if declared:
        out.raw["meta/charset"] = declared[:RAW_CHARS]
        out.put("doc.codepage", codepage_of(declared))
    elif not data[:PROBE_BYTES].isascii():
        out.put("doc.codepage", codepage_of(codec))
    if source.size > READ_BYTES:
        out.note("limit.html_size", f"only the first {READ_BYTES} bytes of {source.size} read")
    page, problem = parse(page_text, source.text_sample_bytes)
    if problem:
        out.note("corrupt", problem)

    title = " ".join("".join(page.title).split())
    if title:
        out.raw["title"] = title[:RAW_CHARS]
    out.put("doc.title", title[:RAW_CHARS])
    # A repeated meta name keeps its last value, as browsers and ExifTool do (GTK-Doc pages
    # name DocBook first and themselves second); between names, _META_FIELDS order decides.
    metas = dict(page.meta)
    for key, content in metas.items():
        out.raw[f"meta/{key}"] = content
    for key, field in _META_FIELDS.items():
        if key in metas and field not in out.fields:
            out.put(field, metas[key])
    _office_properties(page, out)
    out.put("doc.languages", tuple(sorted(page.languages)))

    rest = _links.find_links(page_text[PARSE_CHARS:]) if len(page_text) > PARSE_CHARS else []
    out.put("html.remote_images", tuple(sorted(page.images)))
    out.put("html.tracking_pixels", tuple(sorted(page.pixels)))
    out.put("html.remote_resources", tuple(page.resources))
    page.contacts.put(out, _links.merge(page.links, rest))

    body = _NEWLINES.sub("\n", _SPACES.sub(" ", "".join(page.text))).strip()
    out.put("text.sample", body[: source.text_sample_bytes])
    return out
