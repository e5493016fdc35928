"""FollowTheMoney entities for Aleph / OpenAleph (``alephclient write-entities``) and
``ftm store``: one JSON entity per line, with parent links and the findings as notes.

Containers (archives, mailboxes) become ``Package`` entities so every ``parent`` resolves to
a Folder-like entity of the same file; emails are ``Email`` (a Folder in FtM), PDFs
``Pages``, as ingest-file names them. Authors are not merged: ``author`` is the document's
creator only, the last editor and company go to the notes, as the evidence needs them apart.
``contentHash`` is the content's SHA-1, as Aleph keys its archive (null for records of a
store made before leaktriage kept it: scan again); the sha256 is a note.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from leaktriage.model import FileRecord
from leaktriage.outfile import atomic_text
from leaktriage.report.registry import Output, register
from leaktriage.store import views

ID_PREFIX = "leaktriage"
"""Namespace of the entity ids: ``make_id(ID_PREFIX, record_id)``."""
if TYPE_CHECKING:
    from followthemoney.proxy import EntityProxy

    from leaktriage.store import Store


@functools.cache
def _ftm() -> Any:
    """followthemoney, imported on first use: loading its model takes about a second, which
    ``leaktriage export --format csv`` should not pay."""
    from types import SimpleNamespace

    from followthemoney import model
    from followthemoney.types import registry
    from followthemoney.value import string_list

    return SimpleNamespace(model=model, registry=registry, string_list=string_list)


ENTITIES_NAME = "entities.ftm.json"

_CONTAINERS = frozenset(
    {
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar",
        "application/x-cpio",
        "application/x-iso9660-image",
        "application/mbox",
    }
)
_BY_MIME = {
    "application/pdf": "Pages",
    "message/rfc822": "Email",
    "application/vnd.ms-outlook": "Email",
    "text/html": "HyperText",
    "text/plain": "PlainText",
    "text/csv": "PlainText",
    "application/vnd.ms-excel": "Workbook",
    "application/vnd.oasis.opendocument.spreadsheet": "Workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Workbook",
}
_PROPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("title", ("doc.title",)),
    ("author", ("doc.author",)),
    ("generator", ("doc.application", "doc.producer")),
    ("authoredAt", ("doc.created",)),
    ("modifiedAt", ("doc.modified",)),
    ("keywords", ("doc.keywords",)),
    ("summary", ("doc.subject", "doc.comments")),
    ("encoding", ("doc.codepage",)),
)
_EMAIL_PROPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("subject", ("email.subject",)),
    ("from", ("email.from",)),
    ("to", ("email.to",)),
    ("cc", ("email.cc",)),
    ("date", ("email.date",)),
    ("messageId", ("email.message_id",)),
    ("inReplyTo", ("email.in_reply_to",)),
    ("generator", ("email.x_mailer",)),
)
_NOTE_FACTS = (
    "doc.last_modified_by",
    "doc.company",
    "doc.template",
    "email.dkim_result",
    "email.dkim_domains",
    # FtM has no property for a document's signatures: what was verified, by whom and when.
    "pdf.sig_verified",
    "pdf.sig_whole_file_verified",
    "pdf.sig_signer",
    "pdf.sig_cert_issuer",
    "pdf.sig_signing_time",
    "pdf.sig_timestamp_time",
    "pdf.sig_intact",
    "pdf.sig_valid",
    "pdf.sig_trusted",
    "pdf.sig_modification_level",
    "pdf.sig_changed_objects",
    "ooxml.xml_signature_count",
    "ooxml.xml_signature_signers",
    "ooxml.xml_signature_times",
    # Nor for the encoder that last wrote a JPEG, read from its quantisation tables.
    "image.jpeg_encoder_family",
    "image.jpeg_encoder",
    "image.jpeg_quality",
    "image.jpeg_encoder_basis",
)


def schema_for(record: FileRecord, has_children: bool) -> str:
    """The FtM schema name of one record. A file holding others (a PDF with embedded files)
    becomes a ``Package`` when its own schema is not a Folder, since FtM's ``parent`` must
    point to a Folder."""
    if record.mime in _CONTAINERS:
        return "Package"
    name = _BY_MIME.get(record.mime)
    if name is None:
        name = "Image" if record.mime.startswith("image/") else "Document"
    schema = _ftm().model.get(name)
    if has_children and schema is not None and not schema.is_a("Folder"):
        return "Package"
    return name


def entity_id(record_id: str) -> str:
    """The entity id of a record (stable: same dump, same ids)."""
    entity: EntityProxy = _ftm().model.make_entity("Document")
    entity.make_id(ID_PREFIX, record_id)
    assert entity.id is not None
    return entity.id


def _values(record: FileRecord, names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for name in names:
        value = record.fields.get(name)
        if value is None:
            continue
        if isinstance(value, tuple):
            out.extend(value)
        elif isinstance(value, bool):
            out.append("true" if value else "false")  # as files.jsonl writes it
        elif hasattr(value, "isoformat"):
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return out


def _notes(record: FileRecord) -> list[str]:
    notes = [
        f"leaktriage verdict: {record.verdict or 'no_signal'}, weight {record.score or 0:.2f} "
        "(evidence in metadata and structure; never a statement that the file is genuine)",
        f"provenance: {record.path}",
    ]
    if record.sha256:
        notes.append(f"sha256: {record.sha256}")
    for name in _NOTE_FACTS:
        values = _values(record, (name,))
        if values:
            notes.append(f"{name}: {' | '.join(values)}")
    for f in record.findings:
        evidence = "; ".join(f"{e.field}={e.value}" for e in f.evidence)
        notes.append(
            f"finding {f.rule_id} [{f.severity.name.lower()}, grade {f.grade}, {f.technique}, "
            f"{f.source}]: {f.message}" + (f" (evidence: {evidence})" if evidence else "")
        )
    notes.extend(f"issue {i.stage}/{i.code}: {i.message}" for i in record.issues)
    return notes


def folder_entity(path: str) -> EntityProxy:
    """A ``Folder`` for one directory of the dump on disk (``dump/mail``), child of its own
    parent directory."""
    entity: EntityProxy = _ftm().model.make_entity("Folder")
    entity.make_id(ID_PREFIX, "folder", path)
    entity.add("fileName", PurePosixPath(path).name or path)
    parent = PurePosixPath(path).parent
    if str(parent) not in (".", "/", ""):
        entity.add("parent", folder_entity(str(parent)).id)
    entity.add("notes", f"folder of the dump: {path}")
    return entity


def _folders(path: str) -> list[str]:
    """The directories above a top-level record's path, outermost first."""
    parents = [str(p) for p in PurePosixPath(path).parents if str(p) not in (".", "/", "")]
    return parents[::-1]


@functools.lru_cache(maxsize=1024)
def _mime_values(mime: str) -> tuple[str, ...]:
    """What ``entity.add("mimeType", mime)`` would keep: FtM parses a MIME type with the
    email header parser, the costliest step per entity, and a dump has few distinct ones."""
    values = (
        _ftm().registry.mimetype.clean_text(v) for v in _ftm().string_list(mime, sanitize=True)
    )
    return tuple(v for v in values if v is not None)


def make_entity(record: FileRecord, has_children: bool) -> EntityProxy:
    """The FtM entity of one record; top-level files hang under the Folder of their
    directory."""
    schema = schema_for(record, has_children)
    entity: EntityProxy = _ftm().model.make_entity(schema)
    entity.make_id(ID_PREFIX, record.record_id)
    name = record.name.removeprefix("attachment:")
    entity.add("fileName", name)
    if record.size is not None:
        entity.add("fileSize", record.size)
    entity.add("mimeType", list(_mime_values(record.mime)), cleaned=True)
    if record.extension:
        entity.add("extension", record.extension)
    if record.sha1:
        # FtM's contentHash is the SHA-1 Aleph's archive keys a file's bytes by; sha256,
        # which leaktriage tells files apart with, goes to the notes.
        entity.add("contentHash", record.sha1)
    if record.parent_id:
        entity.add("parent", entity_id(record.parent_id))
    elif folders := _folders(record.path):
        entity.add("parent", folder_entity(folders[-1]).id)
    entity.add("processingStatus", record.status.value)
    if record.extractor:
        entity.add("processingAgent", f"leaktriage {record.extractor}")
    props = _PROPS + (_EMAIL_PROPS if schema == "Email" else ())
    for prop, names in props:
        for value in _values(record, names):
            entity.add(prop, value, quiet=True)
    for tag in _values(record, ("text.language", "doc.languages")):
        code = _ftm().registry.language.clean(tag.split("-")[0])
        if code:
            entity.add("language", code)
    for name in ("email.from", "email.to", "email.cc"):
        for value in _values(record, (name,)):
            entity.add("emailMentioned", value, quiet=True)
    if record.status.value == "error":
        entity.add("processingError", "; ".join(i.message for i in record.issues)[:1000])
    entity.add("notes", _notes(record))
    return entity


def iter_entities(store: Store) -> Iterator[EntityProxy]:
    """A Folder per directory of the dump, then every record's entity in path order. Streams:
    the directories are gathered in a temporary table, the records loaded ``BATCH`` at a
    time, whatever the size of the dump."""
    for folder in views.top_folders(store, _folders):
        yield folder_entity(folder)
    for chunk in views.ids_with_children(store):
        parents = {rid for rid, has_children in chunk if has_children}
        for record in store.load_many([rid for rid, _ in chunk]):
            yield make_entity(record, record.record_id in parents)


def write_ftm(store: Store, out: Path | IO[str]) -> int:
    """Write one FtM entity per line (sorted keys) to ``out``; returns the entity count."""
    if isinstance(out, Path):
        with atomic_text(out) as handle:
            return write_ftm(store, handle)
    count = 0
    for entity in iter_entities(store):
        data: dict[str, Any] = entity.to_dict()
        out.write(json.dumps(data, ensure_ascii=False, sort_keys=True))
        out.write("\n")
        count += 1
    return count


register(Output("ftm", ENTITIES_NAME, write_ftm, unit="entities"))
