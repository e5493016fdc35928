"""Pictures of the evidence, where the evidence of an alteration is visual: pure functions
from an item's bytes (and the facts its extractor found) to a few :class:`Picture` files.

- A PDF with incremental updates whose earlier revision's text differs from the final one
  (``pdf.revision_text_changed``): each changed page of an earlier revision rendered beside
  the same page of the final version, the regions that differ outlined in both (red: the
  words of the text layer that differ; blue: the pixels that differ), one picture per page
  pair; and each earlier revision's bytes (the file up to its ``%%EOF``) as a PDF of its own.
- An image whose EXIF thumbnail no longer shows the picture (``image.thumbnail_matches``
  false): thumbnail and picture side by side at the same scale, and their difference.

It runs in the workers, after the extractor (``pipeline.extract``), inside their time and
memory limits. Everything is bounded (revisions, pages, pixels, bytes per picture and per
file) and deterministic: a fixed resolution, no time or text chunk in a PNG, the same bytes
for the same input. Nothing in the file is run: MuPDF renders without JavaScript (PyMuPDF
never enables it; :func:`_open_pdf` checks), no link is followed and nothing is fetched;
Pillow only decodes. A problem is a note (``code``, message) for the record, never an
exception for the caller of :func:`render`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from leaktriage.extractors._pdf_common import _MUPDF_ERRORS, pymupdf
from leaktriage.extractors.image.thumbnail import _PIL_ERRORS, _fit_aspect, opened
from leaktriage.model import FieldValue, Picture

MAX_PICTURES = 4
"""Pictures (renders) made per file; revision PDFs are not counted here."""
MAX_REVISIONS_SHOWN = 3
"""Earlier revisions whose changed pages are rendered (the latest ones first)."""
MAX_PAGES_PER_REVISION = 2
"""Changed pages rendered per earlier revision."""
MAX_PAGES_COMPARED = 50
"""Pages of a revision whose text is compared with the final one's to find the changed ones."""
DPI = 100
"""Rendering resolution at most (a page is rendered smaller when this would pass MAX_SIDE)."""
MAX_SIDE = 1000
"""Pixels on the long side of one render (one page, one image) at most."""
GAP = 12
"""Pixels between the two halves of a side-by-side picture."""
LABEL = 16
"""Pixels of the label strip above each half."""
MAX_PICTURE_BYTES = 200 * 1024
"""One picture's bytes at most: PNG, else JPEG quality ``JPEG_QUALITY``, else halved."""
JPEG_QUALITY = 80
MAX_RENDER_BYTES = 64 * 1024 * 1024
"""A PDF larger than this gets no page pictures (its revision files are still kept): the
pictures are drawn inside the worker's time limit, and a timeout there would cost the
record its facts too."""
MAX_KEPT_REVISION_BYTES = 8 * 1024 * 1024
"""Bytes of earlier revisions kept as PDF files per file (oldest first); the rest is named
in a note."""
MAX_REVISION_FILES = 8
"""Earlier revisions kept as PDF files per file at most."""
THUMBNAIL_SIDE = 480
"""Long side of each half of the thumbnail comparison: the picture is reduced to it and the
thumbnail enlarged to the same size, so both show the scene at the same scale."""
CELL = 8
"""Pixel-diff regions are found on a grid of CELL x CELL pixel cells."""
PIXEL_THRESHOLD = 48
"""A pixel differs when some channel differs by more than this (0-255): anti-aliasing and
JPEG noise stay under it."""
MAX_REGIONS = 24
"""Outlined regions per side and per kind at most."""
TEXT_COLOUR = (220, 0, 0)
PIXEL_COLOUR = (0, 90, 230)

_REVISION_LINE = re.compile(r"^(\d{1,6})\|(\d{1,12})\|")

Box = tuple[int, int, int, int]
"""A region in pixels of one render: (left, top, right, bottom), right and bottom excluded."""


@dataclass(slots=True)
class Rendered:
    """What :func:`render` made: the pictures, and notes (code, message) for the record."""

    pictures: list[Picture] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PageDiff:
    """The regions of one page pair that differ, in pixels of each render."""

    text_old: tuple[Box, ...]
    text_new: tuple[Box, ...]
    pixels: tuple[Box, ...]
    """The same boxes on both renders (their common area)."""
    zoom: float
    """Pixels per PDF point of both renders."""


def wanted(fields: Mapping[str, FieldValue]) -> str | None:
    """Which pictures the facts make possible: ``"pdf"``, ``"thumbnail"`` or None (most
    files: nothing is rendered)."""
    if fields.get("pdf.revision_text_changed") is True and len(_earlier_ends(fields)) >= 1:
        return "pdf"
    if fields.get("image.thumbnail_matches") is False:
        return "thumbnail"
    return None


def render(
    data: bytes, mime: str, fields: Mapping[str, FieldValue], thumbnail: bytes | None = None
) -> Rendered:
    """The pictures of one item (see the module's docstring); ``thumbnail`` is the EXIF
    thumbnail the image extractor located. Never raises for what the bytes hold."""
    done = Rendered()
    kind = wanted(fields)
    try:
        if kind == "pdf":
            _pdf_pictures(data, fields, done)
        elif kind == "thumbnail":
            if thumbnail is None:
                done.notes.append(("picture_failed", "no EXIF thumbnail bytes to compare"))
            else:
                _thumbnail_pictures(data, mime, thumbnail, done)
    except _ERRORS as exc:
        done.pictures.clear()
        done.notes.append(("picture_failed", f"pictures not made: {type(exc).__name__}: {exc}"))
    return done


_ERRORS: tuple[type[BaseException], ...] = (*_MUPDF_ERRORS, *_PIL_ERRORS, MemoryError)
"""What MuPDF and Pillow raise on a hostile or damaged file."""


# --- PDF revisions ----------------------------------------------------------------------


def _earlier_ends(fields: Mapping[str, FieldValue]) -> list[tuple[int, int]]:
    """(revision number, end offset) of every earlier revision ``pdf.revisions`` lists."""
    lines = fields.get("pdf.revisions")
    if not isinstance(lines, tuple) or len(lines) < 2:
        return []
    found = [_REVISION_LINE.match(line) for line in lines[:-1]]
    return [(int(m.group(1)), int(m.group(2))) for m in found if m]


def _open_pdf(data: bytes) -> Any:
    """A PDF opened from bytes, JavaScript off (MuPDF runs none unless asked; checked)."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    pdf = pymupdf._as_pdf_document(doc)
    if pymupdf.mupdf.pdf_js_supported(pdf):
        doc.close()
        raise RuntimeError("MuPDF has JavaScript enabled on this document; not rendered")
    return doc


def _pdf_pictures(data: bytes, fields: Mapping[str, FieldValue], done: Rendered) -> None:
    """Changed pages of the latest earlier revisions beside the final ones, and the bytes of
    the earlier revisions as PDF files."""
    ends = [(n, end) for n, end in _earlier_ends(fields) if 0 < end < len(data)]
    seen: set[tuple[int, str]] = set()
    if len(data) > MAX_RENDER_BYTES:
        done.notes.append(("limit.evidence", f"pages not rendered: over {MAX_RENDER_BYTES} bytes"))
        ends_shown: list[tuple[int, int]] = []
    else:
        ends_shown = sorted(ends, key=lambda e: -e[0])[:MAX_REVISIONS_SHOWN]
    with _open_pdf(data) as final:
        final_texts: dict[int, str] = {}
        for number, end in ends_shown:
            if len(done.pictures) >= MAX_PICTURES:
                break
            try:
                with _open_pdf(data[:end]) as old:
                    _revision_pages(old, final, number, end, final_texts, seen, done)
            except _MUPDF_ERRORS as exc:
                done.notes.append(("picture_failed", f"revision {number} not rendered: {exc}"))
    _revision_files(data, ends, done)


def _page_text(doc: Any, number: int) -> str:
    return " ".join(doc.load_page(number).get_text().split())


def _revision_pages(
    old: Any,
    final: Any,
    number: int,
    end: int,
    final_texts: dict[int, str],
    seen: set[tuple[int, str]],
    done: Rendered,
) -> None:
    """Pictures of the pages of revision ``number`` whose text differs from the final
    one's (a page whose old text an earlier picture already showed is not drawn twice)."""
    drawn = 0
    for page in range(min(old.page_count, final.page_count, MAX_PAGES_COMPARED)):
        if drawn >= MAX_PAGES_PER_REVISION or len(done.pictures) >= MAX_PICTURES:
            return
        text = _page_text(old, page)
        if page not in final_texts:
            final_texts[page] = _page_text(final, page)
        if text == final_texts[page] or (page, text) in seen:
            continue
        seen.add((page, text))
        done.pictures.append(page_picture(old, final, number, end, page))
        drawn += 1


def page_picture(old: Any, final: Any, number: int, end: int, page: int) -> Picture:
    """Page ``page`` of revision ``number`` (left) beside the final one (right), the
    differing regions outlined in both."""
    before, after = old.load_page(page), final.load_page(page)
    zoom = _zoom(before, after)
    left, right = _pixmap(before, zoom), _pixmap(after, zoom)
    diff = page_diff(before, after, left, right, zoom)
    for image, words in ((left, diff.text_old), (right, diff.text_new)):
        draw = ImageDraw.Draw(image)
        for box in diff.pixels:
            draw.rectangle(_inclusive(box, image.size, 1), outline=PIXEL_COLOUR, width=1)
        for box in words:
            draw.rectangle(_inclusive(box, image.size, 2), outline=TEXT_COLOUR, width=2)
    labels = (f"Revision {number} (bytes 0-{end})", "Final version")
    image = _side_by_side(left, right, labels)
    changed = len(diff.text_old) + len(diff.text_new)
    caption = (
        f"Page {page + 1} of revision {number} (left) beside the final version (right): "
        f"{changed} changed text regions outlined in red, {len(diff.pixels)} regions of "
        "differing pixels in blue."
    )
    return _picture(f"revision-{number}-page-{page + 1}", "revision_page", caption, image)


def _zoom(*pages: Any) -> float:
    """Pixels per point: DPI, or less so that the larger page's long side fits MAX_SIDE."""
    side = max(float(max(p.rect.width, p.rect.height)) for p in pages)
    return min(DPI / 72, MAX_SIDE / max(side, 1.0))


def _pixmap(page: Any, zoom: float) -> Image.Image:
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace="RGB")
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def page_diff(
    before: Any, after: Any, left: Image.Image, right: Image.Image, zoom: float
) -> PageDiff:
    """The regions of a page pair that differ: the text layer's words (``get_text("words")``
    compared as sequences) and the pixels of the two renders."""
    old_words = before.get_text("words")
    new_words = after.get_text("words")
    matcher = SequenceMatcher(
        None, [w[4] for w in old_words], [w[4] for w in new_words], autojunk=False
    )
    text_old: list[Box] = []
    text_new: list[Box] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            text_old.extend(_line_boxes(old_words[i1:i2], zoom))
            text_new.extend(_line_boxes(new_words[j1:j2], zoom))
    return PageDiff(
        tuple(text_old[:MAX_REGIONS]),
        tuple(text_new[:MAX_REGIONS]),
        pixel_regions(left, right),
        zoom,
    )


def _line_boxes(words: list[Any], zoom: float) -> Iterator[Box]:
    """One box per text line around the given words, in pixels."""
    lines: dict[tuple[int, int], list[float]] = {}
    for x0, y0, x1, y1, _text, block, line, _n in words:
        box = lines.setdefault((block, line), [x0, y0, x1, y1])
        box[:] = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
    for x0, y0, x1, y1 in lines.values():
        yield (int(x0 * zoom), int(y0 * zoom), int(x1 * zoom + 0.999), int(y1 * zoom + 0.999))


def pixel_regions(left: Image.Image, right: Image.Image) -> tuple[Box, ...]:
    """Boxes around the pixels that differ between two renders (their common area): cells
    of ``CELL`` pixels that hold one, joined when they touch, the largest ``MAX_REGIONS``."""
    width, height = min(left.width, right.width), min(left.height, right.height)
    area = (0, 0, width, height)
    diff = ImageChops.difference(left.crop(area), right.crop(area)).convert("L")
    mask = diff.point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    columns, rows = -(-width // CELL), -(-height // CELL)
    cells = mask.resize((columns, rows), Image.Resampling.BOX, reducing_gap=None)
    lit = {(i % columns, i // columns) for i, v in enumerate(cells.tobytes()) if v}
    boxes: list[Box] = []
    while lit:
        start = min(lit, key=lambda c: (c[1], c[0]))
        lit.discard(start)
        todo, part = [start], [start]
        while todo:
            cx, cy = todo.pop()
            for nx in (cx - 1, cx, cx + 1):
                for ny in (cy - 1, cy, cy + 1):
                    if (nx, ny) in lit:
                        lit.discard((nx, ny))
                        todo.append((nx, ny))
                        part.append((nx, ny))
        xs, ys = [c[0] for c in part], [c[1] for c in part]
        boxes.append(
            (
                min(xs) * CELL,
                min(ys) * CELL,
                min((max(xs) + 1) * CELL, width),
                min((max(ys) + 1) * CELL, height),
            )
        )
    largest = sorted(boxes, key=lambda b: (-(b[2] - b[0]) * (b[3] - b[1]), b[1], b[0]))
    return tuple(sorted(largest[:MAX_REGIONS], key=lambda b: (b[1], b[0])))


def _inclusive(box: Box, size: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    """``box`` grown by ``pad`` pixels, as Pillow's inclusive rectangle inside ``size``."""
    return (
        max(box[0] - pad, 0),
        max(box[1] - pad, 0),
        min(box[2] - 1 + pad, size[0] - 1),
        min(box[3] - 1 + pad, size[1] - 1),
    )


def _revision_files(data: bytes, ends: list[tuple[int, int]], done: Rendered) -> None:
    """Each earlier revision's bytes as ``revision-N.pdf``, oldest first, within
    ``MAX_KEPT_REVISION_BYTES`` and ``MAX_REVISION_FILES``; what is left out is noted."""
    kept = 0
    left_out: list[str] = []
    for number, end in sorted(ends):
        if kept + end > MAX_KEPT_REVISION_BYTES or len(left_out) or number > MAX_REVISION_FILES:
            left_out.append(f"{number} ({end} bytes)")
            continue
        kept += end
        done.pictures.append(
            Picture(
                name=f"revision-{number}.pdf",
                kind="revision_pdf",
                caption=f"Revision {number} as it was saved: the file's first {end} bytes, "
                "up to its %%EOF.",
                mime="application/pdf",
                data=data[:end],
            )
        )
    if left_out:
        done.notes.append(
            (
                "limit.evidence",
                f"earlier revisions {', '.join(left_out)} not kept as files: over the "
                f"{MAX_KEPT_REVISION_BYTES} bytes or {MAX_REVISION_FILES} revisions kept per "
                "file (the original file holds them all)",
            )
        )


# --- EXIF thumbnail ---------------------------------------------------------------------

_PIL_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
}


def _decode(data: bytes, pil_format: str, side: int) -> Image.Image:
    """An image decoded (JPEG at a reduced scale when it is large), as RGB within
    ``side`` x ``side`` pixels."""
    with opened(data, pil_format) as image:
        if pil_format == "JPEG":
            image.draft("RGB", (side, side))
        rgb = image.convert("RGB")
    rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return rgb


def _thumbnail_pictures(data: bytes, mime: str, thumbnail: bytes, done: Rendered) -> None:
    """Thumbnail and picture side by side at the same scale, and their difference."""
    pil_format = _PIL_FORMATS.get(mime)
    if pil_format is None:
        done.notes.append(("picture_failed", f"{mime} is not decoded for pictures"))
        return
    main = _decode(data, pil_format, THUMBNAIL_SIDE)
    small = _decode(thumbnail, "JPEG", THUMBNAIL_SIDE)
    small = _fit_aspect(small, main.width, main.height)
    small = small.resize(main.size, Image.Resampling.LANCZOS)
    pair = _side_by_side(small, main, ("EXIF thumbnail (enlarged)", "Picture (reduced)"))
    done.pictures.append(
        _picture(
            "thumbnail-and-image",
            "thumbnail_pair",
            "The EXIF thumbnail (left, enlarged) beside the picture (right, reduced), at the "
            "same scale: an editor that kept the old EXIF block kept the old thumbnail.",
            pair,
        )
    )
    difference = ImageOps.autocontrast(ImageChops.difference(small, main).convert("L"))
    done.pictures.append(
        _picture(
            "thumbnail-difference",
            "thumbnail_diff",
            "Difference between the thumbnail and the picture at the same scale (contrast "
            "stretched): bright where they differ.",
            difference,
        )
    )


# --- composing and encoding -------------------------------------------------------------


def _side_by_side(left: Image.Image, right: Image.Image, labels: tuple[str, str]) -> Image.Image:
    """Two images beside each other on white, each under its label."""
    width = left.width + GAP + right.width
    height = LABEL + max(left.height, right.height)
    out = Image.new("RGB", (width, height), (255, 255, 255))
    out.paste(left, (0, LABEL))
    out.paste(right, (left.width + GAP, LABEL))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default()
    draw.text((2, 2), labels[0], fill=(0, 0, 0), font=font)
    draw.text((left.width + GAP + 2, 2), labels[1], fill=(0, 0, 0), font=font)
    return out


def _picture(stem: str, kind: str, caption: str, image: Image.Image) -> Picture:
    """``image`` encoded under ``MAX_PICTURE_BYTES``: PNG, else JPEG, else halved."""
    for _ in range(4):
        png = _encode(image, "PNG")
        if len(png) <= MAX_PICTURE_BYTES:
            return Picture(f"{stem}.png", kind, caption, "image/png", *image.size, png)
        jpeg = _encode(image, "JPEG")
        if len(jpeg) <= MAX_PICTURE_BYTES:
            return Picture(f"{stem}.jpg", kind, caption, "image/jpeg", *image.size, jpeg)
        image = image.resize((max(image.width // 2, 1), max(image.height // 2, 1)))
    raise ValueError(f"{stem}: over {MAX_PICTURE_BYTES} bytes even at a sixteenth of its size")


def _encode(image: Image.Image, kind: str) -> bytes:
    """Deterministic bytes: no metadata, no time, no text chunk."""
    buffer = io.BytesIO()
    if kind == "PNG":
        image.save(buffer, "PNG", optimize=False, compress_level=9)
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buffer.getvalue()
