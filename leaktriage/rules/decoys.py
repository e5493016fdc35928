"""Newsroom decoy lists: markers of files the victim says it planted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leaktriage.model import Evidence, FieldValue, Finding, Severity
from leaktriage.rules.engine import Facts, RuleError, show_value

# --- newsroom decoy lists -----------------------------------------------------------------

DECOY_RULE_ID = "decoy-list-match"
DECOY_KINDS: dict[str, tuple[str, ...]] = {
    "sha256": ("file.sha256",),
    "md5": ("file.md5",),
    "author": (
        "doc.author",
        "doc.last_modified_by",
        "email.from",
        "ole.saved_by",
        "ooxml.people",
        "ooxml.revision_authors",
        "ooxml.comment_authors",
    ),
    "rsid": ("ooxml.rsid_root", "ooxml.rsids"),
    "docid": (
        "ooxml.doc_id",
        "pdf.xmp_document_id",
        "pdf.xmp_original_document_id",
        "pdf.id_original",
        "image.xmp_document_id",
    ),
    "string": (
        "text.sample",
        "doc.title",
        "doc.subject",
        "doc.comments",
        "doc.keywords",
        "email.subject",
        "links.external",
    ),
}
"""What each kind of decoy-list entry is compared with. ``string`` entries match as
case-folded substrings; the others as whole values."""


@dataclass(frozen=True, slots=True)
class DecoyList:
    """Markers of decoys the victim says it planted (hashes, author names, rsids, ids, strings).

    File format: one ``kind:value`` per line (kinds: sha256, md5, author, rsid, docid,
    string); blank lines and ``#`` comments are ignored.
    """

    entries: tuple[tuple[str, str], ...]
    source: str

    @classmethod
    def load(cls, path: Path) -> DecoyList:
        """Read a decoy list; raise RuleError with line numbers for malformed lines."""
        entries, errors = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind, sep, value = text.partition(":")
            kind = kind.strip().casefold()
            if not sep or kind not in DECOY_KINDS or not value.strip():
                errors.append(
                    f"{path}:{number}: expected kind:value with kind one of "
                    f"{', '.join(DECOY_KINDS)}"
                )
                continue
            entries.append((kind, value.strip().casefold()))
        if errors:
            raise RuleError(errors)
        return cls(tuple(entries), str(path))

    def findings(self, record_id: str, facts: Facts) -> list[Finding]:
        """One finding per matching entry, with the field and value it matched."""
        found = []
        for kind, wanted in self.entries:
            hit = next(
                (
                    (name, item)
                    for name in DECOY_KINDS[kind]
                    for item in _values(facts.get(name))
                    if _decoy_match(kind, wanted, show_value(item).casefold())
                ),
                None,
            )
            if hit is not None:
                found.append(
                    Finding(
                        record_id,
                        DECOY_RULE_ID,
                        "C00202",
                        Severity.HIGH,
                        "A",
                        f"Matches the newsroom's decoy list ({kind}: {wanted}) — a file the "
                        "victim says it planted",
                        (Evidence(hit[0], show_value(hit[1]), f"decoy list {self.source}"),),
                    )
                )
        return found


def _values(value: FieldValue | None) -> tuple[FieldValue, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _decoy_match(kind: str, wanted: str, text: str) -> bool:
    return wanted in text if kind == "string" else text == wanted
