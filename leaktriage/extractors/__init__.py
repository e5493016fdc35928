"""Extractor registry: one module (or package) per format family, dispatched by the sniffed type.

An extractor is a module here with one function decorated by :func:`register`, or a package
here whose ``__init__`` imports one module per format, each registering its own function (the
formats of one family share the name their records carry, see :func:`register`). It receives a
:class:`Source` (bytes or a read-only file, never a path to write to) and returns an
:class:`Extraction` with catalogue facts, raw values, issues and, for containers such as
emails and mailboxes, the child items (attachments, messages) that go back through the
pipeline. Extractors raise :class:`~leaktriage.errors.ExtractionError` subclasses for
"not mine", "corrupt" or "encrypted"; everything else is an issue on the record.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from leaktriage.diskfile import open_regular
from leaktriage.errors import RegistryError
from leaktriage.fields import FIELDS
from leaktriage.model import FieldValue, Issue, Picture, Status

# pymupdf imports two optional add-ons when they are installed (recent wheels require them):
# pymupdf4llm (Markdown export) and pymupdf-layout, whose import loads an ONNX model. The pdf
# extractor uses neither, and loading them costs every worker process about half a second of
# CPU at start. A None entry in sys.modules makes those two imports fail quietly.
for _addon in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_addon, None)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Source:
    """The content of one item as an extractor sees it. Read-only; nothing is written anywhere."""

    name: str
    """The item's own name (last element of its provenance chain)."""
    mime: str
    """Sniffed type."""
    size: int
    data: bytes | None = field(default=None, repr=False)
    """The whole content, when it is held in memory (never in the repr: a leaked document's
    bytes must not reach a log line or an error message)."""
    path: Path | None = None
    """A file to read instead (a file on disk in the dump, or a spooled member)."""
    text_sample_bytes: int = 8192
    """How much body text the extractor should keep in ``text.sample``."""
    yara_dir: str | None = None
    """A newsroom's YARA rule folder to run over the item after extraction (``--yara``)."""
    dkim_keys: str | None = None
    """Key-store file of archived DKIM public keys (``--dkim-keys``), read once per process."""
    dkim_dns: bool = False
    """Look DKIM keys missing from the key store up in live DNS (``--dkim-dns``); off by default."""
    trust_roots: str | None = None
    """PEM bundle of the roots PDF signatures may chain to (``--trust-roots``), read once per
    process; None: signatures are verified but never called trusted."""
    identity: tuple[int, int] | None = None
    """For a file of the dump read in place: ``(st_dev, st_ino)`` as listed; the file is read
    only if the path still names it (``leaktriage.diskfile``)."""
    spill_dir: Path | None = None
    """The scan's private temp folder, for a worker on the same machine: inner items over
    ``SPILL_BYTES`` go back to the scan as files there, not through the worker's pipe (the
    extractor itself writes nothing)."""

    def read(self) -> bytes:
        """The whole content as bytes (the pipeline caps ``size`` before calling extractors)."""
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()

    def open(self) -> BinaryIO:
        """A seekable binary handle on the content."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        if self.identity is None:  # a spooled member in the scan's own temp folder
            return self.path.open("rb")
        return open_regular(self.path, self.identity)


@dataclass(frozen=True, slots=True)
class Child:
    """An item found inside another by an extractor: an attachment, a message in a mailbox."""

    name: str
    """Provenance element: ``<message-id>`` for a message, ``attachment:budget.xlsx``."""
    data: bytes
    mtime: datetime | None = None
    path: Path | None = None
    """Where a worker put the bytes instead (``data`` is then empty): a file of the scan's
    private temp folder, which the scan owns from then on (``pipeline.extract``)."""

    @property
    def size(self) -> int:
        """The child's length in bytes."""
        return self.path.stat().st_size if self.path is not None else len(self.data)


@dataclass(slots=True)
class Extraction:
    """What an extractor found in one item."""

    fields: dict[str, FieldValue] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    unlisted: list[tuple[str, int, int]] = field(default_factory=list)
    """Inner items counted past a limit and not handed on, as ``(limit code, number of the
    first, how many)``: the pipeline records one summary item for each run."""
    status: Status = Status.OK
    """OK, or PARTIAL/ENCRYPTED when the extractor read only part of the item."""
    picture_inputs: dict[str, bytes] = field(default_factory=dict)
    """Bytes an extractor hands to the worker's picture step (``report.pictures``) that the
    facts do not hold: ``thumbnail``, the EXIF thumbnail of an image it does not match.
    Emptied before the outcome leaves the worker."""
    pictures: list[Picture] = field(default_factory=list)
    """Visual evidence the worker made after the extractor (``pipeline.extract``): they
    travel back on the outcome, large ones as files of the scan's temp folder."""

    def put(self, name: str, value: FieldValue | None) -> None:
        """Set a catalogue fact, ignoring empty values; unknown names are a programming error."""
        if name not in FIELDS:
            raise KeyError(f"field {name!r} is not in the catalogue (leaktriage/fields.py)")
        if value is None:
            return
        if isinstance(value, str):
            value = value.strip().replace("\x00", "")
            if not value:
                return
        if isinstance(value, tuple) and not value:
            return
        self.fields[name] = value

    def skip_child(self, code: str, limit: int) -> None:
        """Count one more inner item past ``limit`` (code ``limit.*``) that is not handed on;
        consecutive ones make one run of :attr:`unlisted`."""
        if self.unlisted and self.unlisted[-1][0] == code:
            _, first, count = self.unlisted[-1]
            self.unlisted[-1] = (code, first, count + 1)
        else:
            self.unlisted.append((code, limit + 1, 1))

    def note(self, code: str, message: str) -> None:
        """Record a partial problem and mark the item PARTIAL, keeping what was read."""
        self.issues.append(Issue("extract", code, message))
        if self.status is Status.OK:
            self.status = Status.PARTIAL


ExtractFn = Callable[[Source], Extraction]


@dataclass(frozen=True, slots=True)
class Extractor:
    """A registered extractor."""

    name: str
    """Unique in the registry: ``pdf``, or ``image.jpeg`` for one format of a family."""
    version: int
    mime_types: frozenset[str]
    function: ExtractFn
    family: str
    """The name its records carry: ``name`` itself, or the family's (``image``) for a format
    registered on its own within a family."""

    @property
    def label(self) -> str:
        """``family@version``, as stored on every record it produced."""
        return f"{self.family}@{self.version}"


_REGISTRY: dict[str, Extractor] = {}
_BY_MIME: dict[str, Extractor] = {}
_DISCOVERED = False


def register(
    name: str, version: int, mime_types: Iterable[str], family: str | None = None
) -> Callable[[ExtractFn], ExtractFn]:
    """Register an extractor function for the given MIME types; a duplicate is an error.

    ``family`` is the name its records carry when that is not ``name``: the formats of one
    family (``image.jpeg``, ``image.png``...) register one by one, and their records all say
    ``image@1``, as they did when one extractor read them all.
    """

    def decorator(function: ExtractFn) -> ExtractFn:
        types = frozenset(mime_types)
        if name in _REGISTRY:
            raise RegistryError(f"extractor name {name!r} registered twice")
        clash = types & _BY_MIME.keys()
        if clash:
            raise RegistryError(f"extractor {name!r} claims {sorted(clash)} already claimed")
        extractor = Extractor(name, version, types, function, family or name)
        _REGISTRY[name] = extractor
        for mime in types:
            _BY_MIME[mime] = extractor
        return function

    return decorator


def discover() -> dict[str, Extractor]:
    """Import every extractor module (sorted, skipping ``_private`` ones) and return the registry.

    An import error propagates: a broken extractor must never vanish silently.
    """
    global _DISCOVERED
    if not _DISCOVERED:
        for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if not module.name.startswith("_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _DISCOVERED = True
    return dict(sorted(_REGISTRY.items()))


def for_mime(mime: str) -> Extractor | None:
    """The extractor for a sniffed type, or None when leaktriage has none."""
    discover()
    return _BY_MIME.get(mime)
