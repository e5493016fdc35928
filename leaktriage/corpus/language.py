"""Language and script: the dump's majority, and the files that depart from it.

A departure is judged against the dump's own diversity: when more than ``MAX_DEPARTING``
of the files already depart from the majority (a dump gathered from many sources, in many
languages), one more language is ordinary and nothing is reported. Every finding here is
context, never proof of alteration.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from leaktriage.corpus.data import Doc
from leaktriage.corpus.registry import CorpusFinding

MIN_CONFIDENCE = 0.8
"""langdetect probability a text language needs to be counted."""
MIN_CHARS = 200
"""Body text a file needs for its language to be counted."""
MAJORITY = 0.6
"""Share of the files the majority value must hold before departures from it are reported."""
MINORITY = 0.2
"""A value held by more than this share of the files is a second norm, not a departure."""
MIN_FILES = 5
MAX_DEPARTING = 0.1
"""Share of the files departing from the majority (in any way) above which the dump is too
mixed for a departure to stand out."""


@dataclass(slots=True)
class Departure:
    """One file's language or script that departs from the dump's majority."""

    doc: Doc
    aspect: str
    """``text_language``, ``metadata_script`` or ``declared_language``."""
    value: str
    value_count: int
    majority: str
    majority_count: int
    total: int


def _majority(counts: Counter[str], total: int) -> tuple[str, int] | None:
    if total < MIN_FILES or not counts:
        return None
    value, count = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return (value, count) if count >= MAJORITY * total else None


def departures(docs: list[Doc]) -> tuple[list[Departure], dict[str, tuple[str, int, int]]]:
    """Files departing from the majority text language, metadata script and declared
    language; and each aspect's majority as (value, files, files counted)."""
    text: dict[str, str] = {}
    scripts: dict[str, tuple[str, ...]] = {}
    declared: dict[str, tuple[str, ...]] = {}
    by_id = {d.record_id: d for d in docs}
    for doc in docs:
        lang = doc.text("text.language")
        confidence = doc.facts.get("text.language_confidence")
        chars = doc.facts.get("text.chars")
        if (
            lang
            and isinstance(confidence, float)
            and confidence >= MIN_CONFIDENCE
            and isinstance(chars, int)
            and chars >= MIN_CHARS
        ):
            text[doc.record_id] = lang
        if doc.items("meta.scripts"):
            scripts[doc.record_id] = tuple(sorted(set(doc.items("meta.scripts"))))
        tags = {t.split("-")[0].casefold() for t in doc.items("doc.languages") if t.strip()}
        if tags:
            declared[doc.record_id] = tuple(sorted(tags))
    found: list[Departure] = []
    norms: dict[str, tuple[str, int, int]] = {}
    for aspect, values in (
        ("text_language", {k: (v,) for k, v in text.items()}),
        ("metadata_script", scripts),
        ("declared_language", declared),
    ):
        counts: Counter[str] = Counter(v for items in values.values() for v in items)
        total = len(values)
        norm = _majority(counts, total)
        if norm is None:
            continue
        norms[aspect] = (norm[0], norm[1], total)
        departing = sum(any(v != norm[0] for v in items) for items in values.values())
        if departing > MAX_DEPARTING * total:
            continue
        for rid in sorted(values):
            found.extend(
                Departure(by_id[rid], aspect, value, counts[value], norm[0], norm[1], total)
                for value in values[rid]
                if value != norm[0] and counts[value] <= MINORITY * total
            )
    return found, norms


FINDINGS = (
    CorpusFinding(
        "corpus-language-outlier",
        "provenance",
        "Language or script unlike the rest of the dump",
        "Its text language, the script of its metadata or its declared language departs from "
        "a dump where nearly every file agrees (both counts are given). It says where a file "
        "may have been handled, not that it was altered.",
        (
            "a document written for or received from a foreign partner",
            "a colleague whose computer is set up in another language",
            "a quotation or a translation",
        ),
        context_only=True,
    ),
)
