"""Facts derived the same way for every format: scripts of the metadata, language of the text.

A French campaign's spreadsheet whose last-modified-by is written in Cyrillic is the best
known detail of #MacronLeaks; ``meta.scripts`` makes that visible for any format, and
``text.language`` gives the language of the body to compare with the declared one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import islice

import regex

from leaktriage.model import FieldValue
from leaktriage.unicode_script import NEUTRAL, script

META_STRING_FIELDS = (
    "doc.title",
    "doc.subject",
    "doc.keywords",
    "doc.comments",
    "doc.category",
    "doc.author",
    "doc.last_modified_by",
    "doc.company",
    "doc.manager",
    "doc.application",
    "doc.producer",
    "doc.template",
    "pdf.creator",
    "pdf.xmp_author",
    "pdf.xmp_title",
    "pdf.xmp_creator_tool",
    "pdf.xmp_producer",
    "ooxml.heading_pairs",
    "ooxml.titles_of_parts",
    "ooxml.revision_authors",
    "ooxml.comment_authors",
    "ooxml.people",
    "ooxml.abs_path",
    "ole.heading_pairs",
    "ole.titles_of_parts",
    "ole.saved_by",
    "ole.app_user",
    "odf.printed_by",
    "odf.annotation_authors",
    "odf.change_authors",
    "image.make",
    "image.model",
    "image.software",
    "image.xmp_creator_tool",
    "image.owner_name",
    "image.host_computer",
    "email.from",
    "email.subject",
    "email.x_mailer",
)
"""Fields whose strings are scanned for their Unicode script."""

LANGUAGE_CHARS = 1200
"""Characters of body text given to langdetect: plenty for a language, and its cost grows
with the length (4,000 characters took 11 ms a document, 1,200 about a third of that)."""
MIN_LANGUAGE_CHARS = 40
"""Shorter texts give langdetect too little to go on; no language is reported for them."""
_WORDS = re.compile(r"\w{2,}")


@lru_cache(maxsize=8192)
def char_script(char: str) -> str | None:
    """Unicode Script property of a letter (Latin, Cyrillic, Greek, Arabic, Han, Hiragana...,
    or Common for letters every script shares, such as µ); None for what is not a letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    return script(char)


_ASCII_LETTER = re.compile(r"[A-Za-z]")


def scripts_of(text: str) -> list[str]:
    """Sorted scripts of the letters in ``text``; Common and Inherited, which every script
    uses, are not counted."""
    if text.isascii():
        # The only ASCII letters are A-Z and a-z, all of them Latin.
        return ["Latin"] if _ASCII_LETTER.search(text) else []
    found = {name for ch in set(text) if (name := char_script(ch)) and name not in NEUTRAL}
    return sorted(found)


def _strings(value: FieldValue) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        yield from value


def metadata_scripts(fields: Mapping[str, FieldValue]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(scripts seen in the metadata strings, ``field:Script`` for every non-Latin field)."""
    seen: set[str] = set()
    foreign: list[str] = []
    for name in META_STRING_FIELDS:
        value = fields.get(name)
        if value is None:
            continue
        field_scripts: set[str] = set()
        for text in _strings(value):
            field_scripts.update(scripts_of(text))
        seen |= field_scripts
        foreign.extend(f"{name}:{s}" for s in sorted(field_scripts - {"Latin"}))
    return tuple(sorted(seen)), tuple(foreign)


_LANG_READY = False
MIN_CJK_LETTERS = 5
"""Han, kana or Hangul letters a text needs before its script names its language."""
_KANA = regex.compile(r"[\p{Script=Hiragana}\p{Script=Katakana}]")
_HANGUL = regex.compile(r"\p{Script=Hangul}")
_HAN = regex.compile(r"\p{Script=Han}")
_LETTER = regex.compile(r"\p{L}")


def cjk_language(text: str) -> tuple[str, float] | None:
    """Japanese, Korean or Chinese told apart by script, for a text written mostly in them:
    any kana is Japanese, else any Hangul is Korean, else Han alone is Chinese. The number is
    the share of the letters in those scripts. None for other texts.

    langdetect's statistics call short Japanese and Chinese texts Korean; the scripts do not
    leave the question open (kana are Japanese only, Hangul Korean only).
    """
    if text.isascii():
        return None
    kana, hangul, han = (len(p.findall(text)) for p in (_KANA, _HANGUL, _HAN))
    cjk = kana + hangul + han
    letters = len(_LETTER.findall(text))
    if cjk < MIN_CJK_LETTERS or 2 * cjk < letters:
        return None
    code = "ja" if kana else "ko" if hangul else "zh"
    return code, round(cjk / letters, 3)


def detect_language(text: str) -> tuple[str, float] | None:
    """(ISO 639-1 code, probability) of ``text``: by script for Japanese, Korean and Chinese
    (:func:`cjk_language`), else from langdetect, seeded so runs agree."""
    global _LANG_READY
    by_script = cjk_language(text[:LANGUAGE_CHARS])
    if by_script is not None:
        return by_script
    if len(text) < MIN_LANGUAGE_CHARS or sum(1 for _ in islice(_WORDS.finditer(text), 5)) < 5:
        return None
    from langdetect import DetectorFactory

    if not _LANG_READY:
        DetectorFactory.seed = 0
        _LANG_READY = True
    return _detect_cached(text[:LANGUAGE_CHARS])


@lru_cache(maxsize=4096)
def _detect_cached(text: str) -> tuple[str, float] | None:
    # Leaks repeat themselves (the same attachment in a hundred mails): detect each text once.
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return str(best.lang), round(float(best.prob), 3)


def derive(fields: dict[str, FieldValue]) -> None:
    """Add ``meta.scripts``, ``meta.foreign_strings`` and ``text.language`` in place."""
    scripts, foreign = metadata_scripts(fields)
    if scripts:
        fields["meta.scripts"] = scripts
    if foreign:
        fields["meta.foreign_strings"] = foreign
    sample = fields.get("text.sample")
    if isinstance(sample, str) and sample:
        fields.setdefault("text.chars", len(sample))
        found = detect_language(sample)
        if found:
            fields["text.language"], fields["text.language_confidence"] = found
