"""The data types every stage shares: records, findings, evidence, issues. Data only, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

SCHEMA_VERSION = 1
"""Version of the JSON record form (``files.jsonl``) and of the SQLite store. Keys and
columns are only ever added within a version (``sha1``, added later, is null in the lines of
older stores); a version change means a key or column changed meaning or went."""

RECORD_FORMAT = "2: sha1"
"""What a stored record holds, part of the re-use key: it changes when records gain a value
that stores made before lack, so that a re-scan reads the files again rather than keep
records without it."""

FieldValue = str | int | float | bool | datetime | tuple[str, ...]
"""A normalized fact: datetimes are timezone-aware UTC, lists are tuples of strings."""


class Status(enum.StrEnum):
    """What happened to one item. Every item found ends in exactly one of these."""

    OK = "ok"
    """Read and parsed; the facts are complete as far as the extractor knows."""
    PARTIAL = "partial"
    """Parsed, but part of it could not be read; the facts read so far are kept."""
    ERROR = "error"
    """Could not be parsed (corrupt, crashed the parser, timed out); the reason is in issues."""
    ENCRYPTED = "encrypted"
    """Content is encrypted; metadata readable without the key is still reported."""
    SKIPPED = "skipped"
    """Not read on purpose: a safety limit, a symlink, a device file; the reason is in issues."""
    UNSUPPORTED = "unsupported"
    """Hashed and typed, but leaktriage has no extractor for this type."""


class Severity(enum.IntEnum):
    """How much a finding should worry the reader; ordered."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True, slots=True)
class Issue:
    """Something that went wrong or was refused while handling one item."""

    stage: Literal["walk", "detect", "extract", "rules", "corpus", "report"]
    """Pipeline stage that raised it."""
    code: str
    """Closed set: corrupt, encrypted, wrong_format, limit.*, traversal, symlink, special_file,
    timeout, crashed, memory, dependency_missing, unexpected, xml_unsafe, ..."""
    message: str
    """Human-readable detail, including the value that tripped a limit."""

    def to_json(self) -> dict[str, str]:
        """Plain-JSON form."""
        return {"stage": self.stage, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact behind a finding, so a journalist can check it with another tool."""

    field: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule or corpus check that fired on one record, with its evidence."""

    record_id: str
    rule_id: str
    technique: str
    severity: Severity
    grade: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    source: Literal["rule", "corpus"] = "rule"
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "rule_id": self.rule_id,
            "technique": self.technique,
            "severity": self.severity.name.lower(),
            "grade": self.grade,
            "message": self.message,
            "evidence": [
                {"field": e.field, "value": e.value, "note": e.note} for e in self.evidence
            ],
            "source": self.source,
            "score": self.score,
        }


def json_value(value: FieldValue) -> Any:
    """Turn a field value into its JSON form (ISO 8601 ``Z`` datetimes, lists for tuples)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def iso_utc(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z``; naive values are kept as-is."""
    if value.tzinfo is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Picture:
    """One file of visual evidence made from an item (``report.pictures``): a rendered
    comparison (PNG or JPEG) or an earlier revision's bytes (a PDF). Kept in the store for
    the records that have them, written to ``OUT/evidence/<record_id>/<name>`` for flagged
    ones and shown in the report's detail of the file."""

    name: str
    """File name, unique within the record: ``revision-1-page-1.png``, ``revision-1.pdf``."""
    kind: str
    """``revision_page`` (a page of an earlier revision beside the final one),
    ``revision_pdf`` (an earlier revision's bytes), ``thumbnail_pair`` (EXIF thumbnail beside
    the picture) or ``thumbnail_diff`` (their difference)."""
    caption: str
    """What it shows, in one sentence, for the report and the evidence pack."""
    mime: str
    width: int = 0
    """Pixels across (0 for a PDF)."""
    height: int = 0
    data: bytes = field(default=b"", repr=False)
    """The bytes, unless a worker wrote them to ``path`` instead."""
    path: Path | None = None
    """A file of the scan's private temp folder holding the bytes (``data`` then empty):
    large ones leave a worker that way, like large inner items (``pipeline.extract``)."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """Everything leaktriage knows about one item: a file, archive member, email or attachment."""

    record_id: str
    """Stable id from the parent's id, the name and the content hash (never the clock)."""
    path: str
    """Provenance chain: ``dump/emails.zip!inbox/2017.tar.gz!msg_0042.eml``."""
    name: str
    """Last element of the chain: file name, member name, ``<message-id>`` or ``attachment:x``."""
    parent_id: str | None
    """Record id of the archive, mailbox or email that contains this item; None at top level."""
    depth: int
    """How many containers deep the item sits (0 = a file on disk)."""
    size: int | None
    """Size in bytes of the content (None when the content could not be read)."""
    sha256: str | None
    md5: str | None
    """MD5 is kept only to match hashes other tools and leak indexes publish."""
    mime: str
    """Type sniffed from content, never from the name."""
    extension: str
    """Lower-case extension of the name, without the dot."""
    extension_mismatch: bool
    """True when the extension belongs to another type than the content (a PDF named .jpg)."""
    mtime: datetime | None
    """Modification time as the container recorded it: file system for files on disk,
    the archive header for members. Zip and tar times carry no zone; see ``mtime_zone_known``."""
    mtime_zone_known: bool
    """False when ``mtime`` came from a zone-less source (zip DOS time) and was read as UTC."""
    outer_mtime: datetime | None
    """File-system modification time of the outermost file on disk that holds this item."""
    status: Status
    extractor: str | None = None
    """Name and version of the extractor that read it, like ``pdf@1``."""
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    """Normalized facts, by catalogue name (see ``leaktriage.fields``)."""
    raw: Mapping[str, str] = field(default_factory=dict)
    """Metadata values exactly as found in the file, keyed by their format's own names."""
    issues: tuple[Issue, ...] = ()
    findings: tuple[Finding, ...] = ()
    verdict: str | None = None
    score: float | None = None
    sha1: str | None = None
    """SHA-1 of the content, computed in the same read as sha256: the ``contentHash`` Aleph's
    archive keys files by (FollowTheMoney's export puts it there). Never used to tell files
    apart here: sha256 does that."""
    pictures: tuple[Picture, ...] = ()
    """Visual evidence made by the worker (rare: a PDF whose earlier revision's text differs,
    an image whose EXIF thumbnail does not match); stored in ``evidence_files``, not in
    ``files.jsonl``. A record read back from the store has none here (``Store.evidence_files``)."""

    def to_json(self) -> dict[str, Any]:
        """The JSON form written to ``files.jsonl``; key names are a stable contract."""
        return {
            "schema_version": SCHEMA_VERSION,
            "record_id": self.record_id,
            "path": self.path,
            "name": self.name,
            "parent_id": self.parent_id,
            "depth": self.depth,
            "size": self.size,
            "sha256": self.sha256,
            "sha1": self.sha1,
            "md5": self.md5,
            "mime": self.mime,
            "extension": self.extension,
            "extension_mismatch": self.extension_mismatch,
            "mtime": iso_utc(self.mtime) if self.mtime else None,
            "mtime_zone_known": self.mtime_zone_known,
            "outer_mtime": iso_utc(self.outer_mtime) if self.outer_mtime else None,
            "status": self.status.value,
            "extractor": self.extractor,
            "fields": {k: json_value(v) for k, v in sorted(self.fields.items())},
            "raw": dict(sorted(self.raw.items())),
            "issues": [i.to_json() for i in self.issues],
            "verdict": self.verdict,
            "score": self.score,
            "findings": [f.to_json() for f in self.findings],
        }
