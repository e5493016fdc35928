"""Wiring: walk -> detect -> extract, streamed as records, and the one per-item error boundary.

``scan()`` yields a :class:`~leaktriage.model.FileRecord` for every item as soon as it is
made; ``triage_file()`` handles one file arriving in an ingestion pipeline; ``run_scan()``
writes a whole scan into an output folder (SQLite store, JSONL, CSV).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from leaktriage import detect, textfacts
from leaktriage.config import Limits, ScanConfig
from leaktriage.errors import (
    EncryptedFileError,
    ExtractionError,
    InputError,
    LimitExceededError,
    NetworkBlockedError,
    WrongFormatError,
)
from leaktriage.extractors import Child, Extraction, Source, for_mime
from leaktriage.model import FieldValue, FileRecord, Issue, Status, iso_utc
from leaktriage.rules import DecoyList, RuleSet, load_rules, verdict
from leaktriage.sandbox import spawn_helper
from leaktriage.walk import (
    ArchiveStats,
    Content,
    CorruptArchive,
    Item,
    Spool,
    TreeBudget,
    iter_archive,
    iter_tree,
    name_issues,
    read_disk_file,
)
from leaktriage.workers import ExtractorPool, default_workers, stop_forkserver

if TYPE_CHECKING:
    from leaktriage.corpus import CorpusSummary

log = logging.getLogger(__name__)


def record_id_for(parent_id: str | None, name: str, sha256: str | None, dup: int) -> str:
    """Stable id of an item: from its parent, its name, its content hash and its ordinal among
    same-named siblings (an archive may hold two members with one name)."""
    key = "\x00".join((parent_id or "", name, sha256 or "", str(dup)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def extension_of(name: str) -> str:
    """Lower-case extension of a name, without the dot ('' when there is none).

    A message taken out of a mailbox is named by its ``<message-id>`` or ``message:N``: it
    has no extension (the domain of a Message-ID is not one).
    """
    if (name.startswith("<") and name.endswith(">")) or name.startswith("message:"):
        return ""
    base = PurePosixPath(name.replace("\\", "/")).name
    if base.startswith("attachment:"):
        base = base[len("attachment:") :]
    if _MAILDIR_NAME.match(base) or base.startswith("<"):
        return ""  # Maildir files and mailbox messages (<message-id>) have no extension
    _, dot, ext = base.rpartition(".")
    return ext.lower() if dot and ext and len(ext) <= 16 and ext.isalnum() else ""


_MAILDIR_NAME = re.compile(r"^\d{9,10}\.[\w-]+\.[^/]+$")
"""Maildir's unique file names: ``time.unique.host[:2,flags]``."""


def run_extractor(source: Source) -> tuple[Extraction, str | None, Status]:
    """The per-item error boundary: run the extractor for ``source.mime``; never raises.

    Returns the extraction (possibly empty), the extractor label and the status.
    """
    extractor = for_mime(source.mime)
    if extractor is None:
        return Extraction(), None, Status.UNSUPPORTED
    try:
        extraction = extractor.function(source)
    except ExtractionError as exc:
        status = _STATUS_OF.get(type(exc), Status.ERROR)
        return _failed(exc, extractor.label, status)
    except NetworkBlockedError as exc:
        return _failed(exc, extractor.label, Status.ERROR, "network_blocked")
    except RecursionError:
        return _failed(
            ExtractionError("nesting too deep for the parser"), extractor.label, Status.ERROR
        )
    except MemoryError:
        return _failed(ExtractionError("out of memory"), extractor.label, Status.ERROR, "memory")
    except Exception as exc:
        log.debug("extractor %s failed on %s", extractor.label, source.name, exc_info=True)
        return _failed(exc, extractor.label, Status.ERROR, "unexpected")
    return extraction, extractor.label, extraction.status


Outcome = tuple[Extraction, str | None, Status, str]
"""What parsing one item gives: facts, extractor label, status, and the sniffed type."""


def extract_item(source: Source) -> Outcome:
    """Sniff (when the walker could not tell the type), extract, and derive the cross-format
    facts; what a worker process runs. An archive found only here is returned unparsed, for
    the walker to open."""
    mime = source.mime
    if not mime:
        with source.open() as handle:
            head = handle.read(detect.SNIFF_BYTES)
        mime = detect.sniff(head, source.open)
        if detect.is_archive(mime):
            return Extraction(), None, Status.OK, mime
        source = replace(source, mime=mime)
    extraction, label, status = run_extractor(source)
    textfacts.derive(extraction.fields)
    if source.yara_dir:
        _run_yara(source, extraction)
    return extraction, label, status, mime


def _run_yara(source: Source, extraction: Extraction) -> None:
    """The newsroom's YARA rules over the item; problems are issues, never a failed item."""
    from leaktriage import yarascan

    try:
        matches, problems = yarascan.scan(source, str(source.yara_dir))
    except Exception as exc:
        # Walking a hostile file's parts may fail in ways no list foresees; the facts the
        # extractor found are kept whatever happens here.
        log.debug("YARA scan failed on %s", source.name, exc_info=True)
        extraction.issues.append(Issue("rules", "yara", f"{type(exc).__name__}: {exc}"[:2000]))
        return
    if matches:
        extraction.fields["yara.matches"] = tuple(matches)
    extraction.issues.extend(Issue("rules", "yara", text[:2000]) for text in problems)


_STATUS_OF: dict[type[ExtractionError], Status] = {
    EncryptedFileError: Status.ENCRYPTED,
    LimitExceededError: Status.SKIPPED,
    WrongFormatError: Status.ERROR,
}


def _failed(
    exc: BaseException, label: str, status: Status, code: str | None = None
) -> tuple[Extraction, str, Status]:
    extraction = Extraction()
    partial = getattr(exc, "partial", None)
    if isinstance(partial, Extraction):
        extraction = partial
    reason = code or str(getattr(exc, "code", None) or "unexpected")
    text = str(exc) or type(exc).__name__
    if reason == "unexpected":
        text = f"{type(exc).__name__}: {text}"
    extraction.issues.append(Issue("extract", reason, text[:2000]))
    return extraction, label, status


@dataclass(slots=True)
class _Counts:
    by_status: Counter[str] = field(default_factory=Counter)
    by_mime: Counter[str] = field(default_factory=Counter)
    by_verdict: Counter[str] = field(default_factory=Counter)
    items: int = 0
    bytes: int = 0


@dataclass(slots=True)
class _Job:
    """An item handed to the extractor, with what is needed to finish its record."""

    item: Item
    content: Content
    record_id: str
    mime: str
    parent_id: str | None
    ancestors: tuple[str, ...]
    issues: list[Issue]


class Pipeline:
    """Turns a path into records, one item at a time, under the limits of ``config``.

    The walk (listing, decompressing, hashing, sniffing) runs in the calling process;
    parsing runs in the worker pool when one is given, with at most one item in flight per
    worker, so memory stays bounded whatever the size of the dump. Records come out in
    completion order; the files a scan writes are sorted.
    """

    def __init__(
        self,
        config: ScanConfig,
        tmpdir: Path,
        pool: ExtractorPool | None = None,
        reuse: Reuse | None = None,
    ) -> None:
        self.config = config
        self.reuse = reuse
        self.limits: Limits = config.limits
        self.tmpdir = tmpdir
        self.pool = pool
        self.counts = _Counts()
        self._jobs: dict[int, _Job] = {}
        self._next_job = 0
        self._rules_loaded = False
        self.ruleset: RuleSet | None = None
        self._context: Any = None
        self._categories: dict[str, str] = {}
        self._decoys: DecoyList | None = None
        if config.yara_dir:
            from leaktriage.yarascan import compile_rules

            compile_rules(config.yara_dir)  # a broken rule folder stops the scan before it starts
        if config.dkim_keys:
            from leaktriage.extractors import _dkim  # dkimpy and dnspython: only when asked

            _dkim.key_store(config.dkim_keys)  # a malformed key file stops the scan here
        self.rule_hits: Counter[str] = Counter()
        """How many records each rule fired on in this scan."""

    def categories(self) -> dict[str, str]:
        """Rule id -> category of every rule this scan runs (empty without rules)."""
        if not self._rules_loaded:
            self._load_rules()
        return dict(self._categories)

    def records(self, root: Path) -> Iterator[FileRecord]:
        """Every record under ``root``: files on disk, then everything inside them. Files
        that ``reuse`` recognises as unchanged yield nothing: their records stay as stored."""
        for item in iter_tree(root):
            if self.reuse is not None and self.reuse.keep(item, self):
                continue
            yield from self.process(item, None, ())
        yield from self.drain()
        if self.reuse is not None:
            self.reuse.flush(self)

    def count_kept(
        self, rows: list[tuple[str, str, str | None, int, int | None]], rule_ids: list[str]
    ) -> None:
        """Add records kept from an earlier run to this run's counts."""
        counts = self.counts
        for status, mime, label, depth, size in rows:
            counts.items += 1
            counts.by_status[status] += 1
            counts.by_mime[mime] += 1
            if label:
                counts.by_verdict[label] += 1
            if depth == 0 and size:
                counts.bytes += size
        self.rule_hits.update(rule_ids)

    def drain(self) -> Iterator[FileRecord]:
        """Wait for the items still being parsed and yield their records."""
        while self._jobs:
            assert self.pool is not None
            for job_id, outcome in self.pool.finished(block=True):
                yield from self._complete(self._jobs.pop(job_id), outcome)

    def process(
        self, item: Item, parent_id: str | None, ancestors: tuple[str, ...], dup: int = 0
    ) -> Iterator[FileRecord]:
        """Records for ``item`` and everything it contains, as far as they are finished."""
        content = item.content
        handed_over = False
        try:
            if item.status is None and content is None and item.disk_path is not None:
                try:
                    content = read_disk_file(item.disk_path, self.limits, self.config.hash_md5)
                except OSError as exc:
                    item.status = Status.ERROR
                    item.issues.append(Issue("walk", "unreadable", f"read failed: {exc}"))
            if content is None or item.status is not None:
                yield self._bare_record(item, parent_id, dup)
                return
            if item.tree is None:
                item.tree = TreeBudget(content.size)
            handed_over = yield from self._process_content(item, content, parent_id, ancestors, dup)
        finally:
            if content is not None and not handed_over:
                content.release()

    def _bare_record(self, item: Item, parent_id: str | None, dup: int) -> FileRecord:
        """A record for an item whose bytes were not read (the walker said why)."""
        status = item.status or Status.ERROR
        content = item.content
        record = FileRecord(
            record_id=record_id_for(
                parent_id, _id_name(item, parent_id), content.sha256 if content else None, dup
            ),
            path=item.path,
            name=item.name,
            parent_id=parent_id,
            depth=item.depth,
            size=content.size if content else item.declared_size,
            sha256=content.sha256 if content else None,
            md5=content.md5 if content else None,
            mime="application/x-unread",
            extension=extension_of(item.name),
            extension_mismatch=False,
            mtime=item.mtime,
            mtime_zone_known=item.mtime_zone_known,
            outer_mtime=item.outer_mtime,
            status=status,
            issues=tuple(item.issues),
        )
        record = self._judge(record)
        self._count(record)
        return record

    def _load_rules(self) -> None:
        # On first use: an incremental re-scan of an unchanged dump never needs the rules.
        config = self.config
        self._rules_loaded = True
        if config.use_rules:
            self.ruleset = load_rules(Path(d) for d in config.rule_dirs)
            self._context = self.ruleset.context(config.leak_date)
            self._categories = self.ruleset.categories()
        self._decoys = DecoyList.load(Path(config.decoys)) if config.decoys else None

    def _judge(self, record: FileRecord) -> FileRecord:
        """Run the rules on a record and give it its findings, verdict and score."""
        if not self._rules_loaded:
            self._load_rules()
        if self.ruleset is None or self._context is None:
            return record
        findings = self.ruleset.evaluate(record, self._context, self._decoys)
        self.rule_hits.update(f.rule_id for f in findings)
        label, score = verdict(record.status, findings, self._categories)
        return replace(record, findings=tuple(findings), verdict=label, score=score)

    def _process_content(
        self,
        item: Item,
        content: Content,
        parent_id: str | None,
        ancestors: tuple[str, ...],
        dup: int,
    ) -> Generator[FileRecord, None, bool]:
        """Archive: walk it here. Document: hand it to the extractor. Returns True when the
        content now belongs to a job in flight (released when the job completes)."""
        rid = record_id_for(parent_id, _id_name(item, parent_id), content.sha256, dup)
        # Signatures decide here what the walker opens; the rest is typed in a worker.
        head = content.head(detect.SNIFF_BYTES)
        mime = detect.sniff_for_walk(head, content.open)
        if not mime and content.size > self.limits.max_parse_bytes:
            mime = detect.sniff(head, content.open)  # no worker will see it: typed here
        job = _Job(item, content, rid, mime, parent_id, ancestors, list(item.issues))
        if detect.is_archive(mime):
            yield from self._complete(job, (Extraction(), None, Status.OK, mime))
            return False
        if content.size > self.limits.max_parse_bytes:
            job.issues.append(
                Issue(
                    "extract",
                    "limit.parse_size",
                    f"{content.size} bytes is over the parse limit "
                    f"({self.limits.max_parse_bytes}); hashed and typed only",
                )
            )
            yield from self._complete(job, (Extraction(), None, Status.SKIPPED, mime))
            return False
        data, path = content.data, content.path
        if content.owned and getattr(self.pool, "remote", False) and path is not None:
            data, path = path.read_bytes(), None  # a private temp file is not seen remotely
        source = Source(
            name=item.name,
            mime=mime,
            size=content.size,
            data=data,
            path=path,
            text_sample_bytes=self.config.text_sample_bytes,
            yara_dir=self.config.yara_dir,
            dkim_keys=self.config.dkim_keys,
            dkim_dns=self.config.dkim_dns,
        )
        if self.pool is None:
            yield from self._complete(job, extract_item(source))
            return False
        job_id = self._next_job
        self._next_job += 1
        self._jobs[job_id] = job
        self.pool.submit(job_id, source)
        for done_id, outcome in self.pool.finished(block=False):
            yield from self._complete(self._jobs.pop(done_id), outcome)
        return True

    def _complete(self, job: _Job, outcome: Outcome) -> Iterator[FileRecord]:
        """Build the record of a finished item (walking it first if it is an archive), then
        process what the extractor found in it."""
        extraction, label, status, mime = outcome
        item, content = job.item, job.content
        # A worker that died returns no type: sniff here, the bytes are still held.
        job.mime = mime or detect.sniff(content.head(detect.SNIFF_BYTES), content.open)
        if detect.is_archive(job.mime):
            status, label = yield from self._open_archive(
                item,
                content,
                job.mime,
                job.record_id,
                job.ancestors,
                extraction.fields,
                job.issues,
            )
        issues = job.issues + extraction.issues
        children = self._child_items(item, extraction.children, issues)
        extension = extension_of(item.name)
        record = FileRecord(
            record_id=job.record_id,
            path=item.path,
            name=item.name,
            parent_id=job.parent_id,
            depth=item.depth,
            size=content.size,
            sha256=content.sha256,
            md5=content.md5,
            mime=job.mime,
            extension=extension,
            extension_mismatch=detect.extension_mismatch(job.mime, extension),
            mtime=item.mtime,
            mtime_zone_known=item.mtime_zone_known,
            outer_mtime=item.outer_mtime,
            status=status,
            extractor=label,
            fields=extraction.fields,
            raw=extraction.raw,
            issues=tuple(issues),
        )
        content.release()
        record = self._judge(record)
        self._count(record)
        yield record
        names: Counter[str] = Counter()
        lineage = (*job.ancestors, content.sha256 or "")
        for child in children:
            yield from self.process(child, job.record_id, lineage, names[child.name])
            names[child.name] += 1

    def _open_archive(
        self,
        item: Item,
        content: Content,
        mime: str,
        rid: str,
        ancestors: tuple[str, ...],
        fields: dict[str, FieldValue],
        issues: list[Issue],
    ) -> Generator[FileRecord, None, tuple[Status, str | None]]:
        """Walk an archive's members; generator whose return value is (status, label)."""
        if item.depth >= self.limits.max_depth:
            issues.append(
                Issue(
                    "walk",
                    "limit.depth",
                    f"archive at nesting depth {item.depth} not opened "
                    f"(limit {self.limits.max_depth})",
                )
            )
            return Status.SKIPPED, None
        if content.sha256 in ancestors:
            issues.append(
                Issue(
                    "walk",
                    "archive_quine",
                    "archive contains a copy of one of its own containers "
                    "(zip quine); not opened again",
                )
            )
            return Status.SKIPPED, None
        stats = ArchiveStats()
        names: Counter[str] = Counter()
        lineage = (*ancestors, content.sha256 or "")
        try:
            for member in iter_archive(
                content, item, mime, self.limits, self.tmpdir, stats, self.config.hash_md5
            ):
                yield from self.process(member, rid, lineage, names[member.name])
                names[member.name] += 1
        except CorruptArchive as exc:
            issues.append(Issue("walk", "corrupt", f"archive unreadable: {exc}"))
            _archive_fields(fields, stats)
            return Status.ERROR, "archive@1"
        _archive_fields(fields, stats)
        issues.extend(stats.issues)
        issues.extend(
            Issue("walk", code, "archive not read to the end: safety limit")
            for code in dict.fromkeys(stats.limits_hit)
        )
        partial = bool(stats.issues or stats.limits_hit)
        return (Status.PARTIAL if partial else Status.OK), "archive@1"

    def _child_items(self, parent: Item, found: list[Child], issues: list[Issue]) -> list[Item]:
        """Items for the attachments or messages an extractor took out of ``parent``."""
        if not found:
            return []
        over_depth = parent.depth >= self.limits.max_depth
        if over_depth:
            issues.append(
                Issue(
                    "walk",
                    "limit.depth",
                    f"{len(found)} inner items not analysed: nesting depth "
                    f"{parent.depth} reached the limit {self.limits.max_depth}",
                )
            )
        items: list[Item] = []
        for child in found[: self.limits.max_children]:
            spool = Spool(self.limits.memory_spool_bytes, self.tmpdir, self.config.hash_md5)
            spool.write(child.data)
            item = Item(
                path=f"{parent.path}!{child.name}",
                name=child.name,
                depth=parent.depth + 1,
                mtime=child.mtime,
                outer_mtime=parent.outer_mtime,
                content=spool.finish(),
                tree=parent.tree,
            )
            item.issues.extend(name_issues(child.name.removeprefix("attachment:")))
            if over_depth:
                item.status = Status.SKIPPED
                item.issues.append(Issue("walk", "limit.depth", "container too deep; not analysed"))
            items.append(item)
        if len(found) > self.limits.max_children:
            issues.append(
                Issue(
                    "walk",
                    "limit.children",
                    f"{len(found) - self.limits.max_children} inner items beyond "
                    f"the limit of {self.limits.max_children} not listed",
                )
            )
        return items

    def _count(self, record: FileRecord) -> None:
        self.counts.items += 1
        self.counts.by_status[record.status.value] += 1
        self.counts.by_mime[record.mime] += 1
        if record.verdict:
            self.counts.by_verdict[record.verdict] += 1
        if record.depth == 0 and record.size:
            self.counts.bytes += record.size


class Reuse:
    """Incremental scans: keeps the stored records of files on disk that did not change.

    A file is unchanged when the store's top-level record at the same provenance path has the
    same size and mtime (and, with ``verify_hashes``, the same sha256 once re-read). Its
    record and everything inside it are marked ``reused`` for this run, in batches.
    """

    BATCH = 500

    def __init__(self, db: Any, run_id: int, config: ScanConfig) -> None:
        self.db = db
        self.run_id = run_id
        self.verify = config.verify_hashes
        self.limits = config.limits
        self.hash_md5 = config.hash_md5
        self.pending: list[str] = []
        self.files = 0
        """Files on disk whose records were kept."""

    def keep(self, item: Item, pipeline: Pipeline) -> bool:
        """True when ``item``'s stored records are kept (nothing to process)."""
        if item.disk_path is None or item.status is not None or item.mtime is None:
            return False
        found = self.db.previous_top(item.path)
        if found is None:
            return False
        record_id, size, mtime, sha256 = found
        if size != item.declared_size or mtime != iso_utc(item.mtime):
            return False
        if self.verify:
            try:
                content = read_disk_file(item.disk_path, self.limits, self.hash_md5)
            except OSError:
                return False
            if content.sha256 != sha256:
                item.content = content  # changed under the same size and mtime: re-parse
                return False
            content.release()
        self.files += 1
        self.pending.append(record_id)
        if len(self.pending) >= self.BATCH:
            self.flush(pipeline)
        return True

    def flush(self, pipeline: Pipeline) -> None:
        """Mark the pending trees as reused and count them."""
        if self.pending:
            rows, rule_ids = self.db.keep_trees(self.run_id, self.pending)
            pipeline.count_kept(rows, rule_ids)
            self.pending = []


def reuse_key(config: ScanConfig) -> str:
    """What stored records depend on: tool version, the options that change findings, and
    the bytes of every rule file and of the decoy list. Equal keys allow reuse."""
    from leaktriage import __version__
    from leaktriage.rules import bundled_rules_dir

    digest = hashlib.sha256(__version__.encode())
    options = {k: v for k, v in config.to_json().items() if k not in ScanConfig.RUN_ONLY}
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for folder in (bundled_rules_dir(), *(Path(d) for d in config.rule_dirs)):
        for path in sorted(folder.rglob("*.yaml")) if folder.is_dir() else ():
            digest.update(str(path.relative_to(folder)).encode() + b"\x00")
            digest.update(path.read_bytes())
    if config.decoys and Path(config.decoys).is_file():
        digest.update(Path(config.decoys).read_bytes())
    return digest.hexdigest()


def _id_name(item: Item, parent_id: str | None) -> str:
    # Top-level files are told apart by their whole path; members by name within their parent.
    return item.name if parent_id else item.path


def _archive_fields(fields: dict[str, FieldValue], stats: ArchiveStats) -> None:
    fields["archive.format"] = stats.format or "unknown"
    if stats.filters:
        fields["archive.filters"] = tuple(stats.filters)
    fields["archive.member_count"] = stats.members
    fields["archive.dir_count"] = stats.dirs
    fields["archive.bytes_out"] = stats.bytes_out
    if stats.mtime_min:
        fields["archive.member_mtime_min"] = stats.mtime_min
    if stats.mtime_max:
        fields["archive.member_mtime_max"] = stats.mtime_max
    if stats.limits_hit:
        fields["archive.limit_hit"] = tuple(dict.fromkeys(stats.limits_hit))


def _config(options: dict[str, Any]) -> ScanConfig:
    given = options.pop("config", None)
    config: ScanConfig = given if isinstance(given, ScanConfig) else ScanConfig()
    limit_names = set(Limits.__dataclass_fields__)
    limit_options = {k: options.pop(k) for k in list(options) if k in limit_names}
    if limit_options:
        config = replace(config, limits=replace(config.limits, **limit_options))
    if options:
        config = replace(config, **options)
    config.check_files()
    return config


@contextmanager
def _pool(config: ScanConfig) -> Iterator[ExtractorPool | None]:
    """The worker pool ``config`` asks for (None when parsing in-process)."""
    if config.executor == "dask":
        from leaktriage.cluster import DaskPool

        if not config.scheduler:
            raise InputError("executor 'dask' needs a scheduler address")
        remote = DaskPool(config.scheduler, config.timeout_s, config.memory_limit_bytes)
        try:
            yield remote  # type: ignore[misc]
        finally:
            remote.close()
        return
    workers = default_workers() if config.workers is None else config.workers
    if workers <= 0:
        yield None
        return
    pool = ExtractorPool(workers, config.timeout_s, config.memory_limit_bytes, extract_item)
    try:
        yield pool
    finally:
        pool.close()


def scan(path: str | Path, **options: Any) -> Iterator[FileRecord]:
    """Yield a record for every file, archive member, email and attachment under ``path``.

    Records stream out as they are finished (in completion order when workers parse in
    parallel; with ``workers=0`` in walk order). Options are
    :class:`~leaktriage.config.ScanConfig` fields (``leak_date``, ``workers``, ``timeout_s``)
    or :class:`~leaktriage.config.Limits` fields (``max_depth``, ``max_ratio``...), or a whole
    ``config=ScanConfig(...)``.

    Raises:
        InputError: ``path`` does not exist or cannot be read.
    """
    config = _config(dict(options))
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        raise InputError(f"no such file or folder: {root}")
    with tempfile.TemporaryDirectory(prefix="leaktriage-") as tmp, _pool(config) as pool:
        yield from Pipeline(config, Path(tmp), pool).records(root)


def triage_file(
    path_or_bytes: str | Path | bytes, name: str | None = None, **options: Any
) -> list[FileRecord]:
    """Triage one file arriving in a pipeline; returns its record first, then its contents'.

    Args:
        path_or_bytes: a path to read, or the file's bytes.
        name: the name to record (defaults to the path's name; required for bytes).
        **options: as for :func:`scan`; ``workers=0`` parses in the calling process (faster
            to start, but a parser crash or hang then hits the caller), the default uses one
            isolated worker process.
    """
    options.setdefault("workers", 1)
    config = _config(dict(options))
    with tempfile.TemporaryDirectory(prefix="leaktriage-") as tmp, _pool(config) as pool:
        pipeline = Pipeline(config, Path(tmp), pool)
        if isinstance(path_or_bytes, bytes):
            if not name:
                raise ValueError("name= is required when passing bytes")
            spool = Spool(len(path_or_bytes) + 1, Path(tmp), config.hash_md5)
            spool.write(path_or_bytes)
            item = Item(path=name, name=name, depth=0, content=spool.finish())
        else:
            file_path = Path(path_or_bytes)
            if not file_path.is_file():
                raise InputError(f"not a readable file: {file_path}")
            item = next(iter_tree(file_path))
            if name:
                item.path = item.name = name
        records = [*pipeline.process(item, None, ()), *pipeline.drain()]
    top = next(r for r in records if r.parent_id is None)
    return [top, *(r for r in records if r is not top)]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finished scan did, for the CLI's closing lines and for scripts."""

    run_id: int
    items: int
    bytes: int
    by_status: dict[str, int]
    by_mime: dict[str, int]
    started: datetime
    finished: datetime
    out_dir: Path
    rule_hits: dict[str, int] = field(default_factory=dict)
    """Records each rule fired on."""
    by_verdict: dict[str, int] = field(default_factory=dict)
    beacons: list[tuple[str, str, str]] = field(default_factory=list)
    """``(path, rule_id, message)`` of files that would contact someone when opened (decoy
    and beacon findings): a safety warning as much as evidence."""
    corpus: CorpusSummary | None = None
    """What the corpus analysis found (None when it did not run)."""
    reused_files: int = 0
    """Files on disk whose records were kept from the previous run (incremental scan)."""
    gone: int = 0
    """Records of files no longer in the dump, marked gone in this run."""
    phases: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds of each stage (walk and extraction, corpus, threads, exports,
    report), for finding where a slow scan spends its time. The report is rendered in its own
    process while the exports are written; its figure is the wait for it after them."""


ProgressFn = Callable[[FileRecord], None]
CorpusProgressFn = Callable[[str, int, int], None]


def run_scan(
    path: str | Path,
    out_dir: str | Path,
    config: ScanConfig | None = None,
    progress: ProgressFn | None = None,
    corpus_progress: CorpusProgressFn | None = None,
) -> RunSummary:
    """Scan ``path`` into ``out_dir``: ``triage.sqlite``, ``files.jsonl``, ``files.csv`` and
    ``report.html``.

    After the walk, the corpus analysis runs over the store (``corpus_progress(step, done,
    total)`` follows it), so the exports and the report carry its findings.
    """
    from leaktriage import store, threads
    from leaktriage.manifest import kept_outputs, write_manifest
    from leaktriage.report import REPORT_NAME

    config = config or ScanConfig()
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        raise InputError(f"no such file or folder: {root}")
    config.check_files()
    out = Path(out_dir)
    _refuse_out_inside_input(root, out)
    _make_out_dir(out)
    started = datetime.now(tz=UTC)
    db = store.Store(out / store.DB_NAME)
    # An existing store is kept: unchanged files keep their records, removed ones are marked
    # gone. Records are re-used only when they were made the same way (see reuse_key).
    previous = db.last_run()
    key = reuse_key(config)
    reusable = bool(previous and config.reuse and db.reuse_key(previous["run_id"]) == key)
    if previous and config.reuse and not reusable:
        log.info("tool version, options or rules changed since the last run: full re-scan")
    settled = reusable and db.settled()
    run_id = db.start_run(config, root, started, keep=previous is not None)
    reuse = Reuse(db, run_id, config) if reusable else None
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    models: _ModelProcess | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="leaktriage-") as tmp, _pool(config) as pool:
            pipeline = Pipeline(config, Path(tmp), pool, reuse)
            written = 0
            # With worker processes allowed, the store is written by a process of its own.
            with db.writer(run_id, apart=config.workers != 0) as write:
                for record in pipeline.records(root):
                    write(record)
                    written += 1
                    if progress:
                        progress(record)
                # The walk is over: the parsers' memory goes back while the store is
                # finished (its last batches and indexes), and, when the corpus stage will
                # run, its models' process imports scikit-learn meanwhile.
                if isinstance(pool, ExtractorPool):
                    pool.close()
                stop_forkserver()
                if written and config.use_rules and config.workers != 0:
                    models = _ModelProcess.start()
        gone = db.mark_gone(run_id)
        db.set_reuse_key(run_id, key)
    except BaseException:
        if models is not None:
            models.close()
        raise
    counts = pipeline.counts
    lap("extract")
    # Corpus analysis, then the mail threads, over the whole store and before the exports so
    # they carry the findings. The corpus stage replaces every corpus-source finding, thread
    # checks included, so the threads run after it. A re-scan that found nothing new, changed
    # or gone keeps the previous run's results, which were made from the same records.
    corpus = None
    unchanged = reuse is not None and written == 0 and gone == 0
    report_path = out / REPORT_NAME
    # The report is rendered in a process of its own while this one writes the exports (with
    # workers allowed: the workers' cores are free again). The process starts once the report
    # is sure to be redrawn, and loads its libraries while the mail threads are checked.
    apart = None
    if unchanged:
        pipeline.rule_hits.update(db.hits_of(threads.CORPUS_RULES))
    else:
        from leaktriage.corpus import analyze  # NumPy (and scikit-learn): only when needed

        try:
            corpus = analyze(db, config, corpus_progress, models) if config.use_rules else None
        finally:
            if models is not None:
                models.close()
        lap("corpus")
        # Not before: the corpus stage holds the scan's largest memory.
        apart = _ReportProcess.start(db.path, report_path) if config.workers != 0 else None
    try:
        if not unchanged:
            threaded = threads.analyse(db, pipeline.categories() if config.use_rules else None)
            pipeline.rule_hits.update(threaded.hits)
            lap("threads")
        finished = datetime.now(tz=UTC)
        db.finish_run(run_id, finished, dict(counts.by_status), counts.items)
        # Outputs of the previous run are kept when intact (see kept_outputs) and when not one
        # byte could differ: the report shows records, findings and corpus results only, so
        # it needs nothing changed; the exports also need every record already "reused" in
        # them (else each line's scan_state changes).
        jsonl, csv_file = out / "files.jsonl", out / "files.csv"
        verify = config.verify_hashes
        exports = [jsonl.name, csv_file.name]
        kept: dict[str, str] = {}
        if unchanged:
            kept = kept_outputs(out, [*exports, REPORT_NAME] if settled else [REPORT_NAME], verify)
        digests = {name: kept[name] for name in exports if name in kept}
        if apart is None and REPORT_NAME not in kept and config.workers != 0:
            apart = _ReportProcess.start(db.path, report_path)
        if apart is not None:
            apart.go()  # everything the report reads is settled now
        if len(digests) < len(exports):
            if not unchanged:  # the corpus stage and threads just changed findings
                store.refresh_export_cache(db)
            store.export_files(db, jsonl, csv_file, digests)
        keys_file = store.export_dkim_keys(db, out / "dkim_keys.txt")
    except BaseException:
        if apart is not None:  # the scan stops before it needs the report
            apart.stop()
        raise
    lap("exports")
    if REPORT_NAME in kept:
        digests[REPORT_NAME] = kept[REPORT_NAME]
    elif apart is None or not apart.join():
        from leaktriage.report import write_html

        write_html(db, report_path)
    lap("report")
    write_manifest(
        out,
        db,
        root,
        config,
        started,
        finished,
        dict(counts.by_status),
        [jsonl, csv_file, out / REPORT_NAME, *([keys_file] if keys_file else [])],
        phases,
        digests,
    )
    # The rules' categories, from the store when the rules are the same as last run's (an
    # unchanged re-scan then never parses them).
    categories = db.rule_categories() if unchanged else {}
    if not categories:
        categories = pipeline.categories()
        db.set_rule_categories(categories)
    beacons = db.findings_by_rules(
        rule_id for rule_id, kind in categories.items() if kind == "decoy"
    )
    # Counted from the store: the corpus stage may have changed verdicts after the walk.
    by_verdict = db.verdict_counts() if config.use_rules else {}
    db.close()
    return RunSummary(
        run_id=run_id,
        items=counts.items,
        bytes=counts.bytes,
        by_status=dict(sorted(counts.by_status.items())),
        by_mime=dict(sorted(counts.by_mime.items())),
        started=started,
        finished=finished,
        out_dir=out,
        rule_hits=dict(sorted(pipeline.rule_hits.items())),
        by_verdict=by_verdict,
        beacons=beacons,
        corpus=corpus,
        reused_files=reuse.files if reuse else 0,
        gone=gone,
        phases=phases,
    )


def _fit_models(conn: Connection) -> None:
    """Body of the corpus models' process: scikit-learn imported at once, then one list of
    fingerprint values fitted and the results sent back."""
    from leaktriage.corpus import fingerprints

    fingerprints.preload()
    try:
        values = conn.recv()
        conn.send(fingerprints.fit(values))
    except (EOFError, OSError):  # the scan no longer needs it
        return
    finally:
        conn.close()


class _ModelProcess:
    """The corpus stage's scikit-learn models (:func:`fingerprints.fit`) fitted in a fresh
    process (``spawn``), started at the end of the walk so that the library's import (about
    0.7 s) is over by the time the corpus stage needs it, instead of holding the stage up
    while the other core is idle. The models are seeded: wherever they run, they give the
    same results, and a process that fails has them fitted in the scanning process."""

    def __init__(self) -> None:
        self.conn, self.process = spawn_helper(_fit_models, name="leaktriage-corpus-models")

    @classmethod
    def start(cls) -> _ModelProcess | None:
        """The process, or None when this system would not start it."""
        try:
            return cls()
        except OSError as exc:
            log.warning("could not start the corpus models' process (%s); fitting here", exc)
            return None

    def __call__(self, values: list[tuple[str, ...]]) -> tuple[list[float], dict[Any, int]]:
        """The fitted models for ``values`` (see :func:`fingerprints.fit`); nothing to fit
        (a dump without office documents) is not worth waiting for the import."""
        from leaktriage.corpus import fingerprints

        if not values:
            self.close()
            return fingerprints.fit(values)
        try:
            self.conn.send(values)
            fitted: tuple[list[float], dict[Any, int]] = self.conn.recv()
            return fitted
        except (EOFError, OSError) as exc:
            log.warning("the corpus models' process failed (%s); fitting here", exc)
        finally:
            self.close()
        return fingerprints.fit(values)

    def close(self) -> None:
        """End the process: it holds nothing once it has answered, and one still importing
        is not waited for."""
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _render_report(conn: Connection, db_path: str, out_path: str) -> None:
    """Body of the report's process: its libraries loaded, then, once told to go, the store
    opened read-only and the report written."""
    from leaktriage.report import write_html
    from leaktriage.report.html import preload
    from leaktriage.store import Store

    preload()
    try:
        go = conn.recv()
    except EOFError:
        return
    finally:
        conn.close()
    if not go:
        return
    store = Store(Path(db_path), readonly=True)
    try:
        write_html(store, Path(out_path))
    except OSError:  # a full or read-only disk: the scan renders it again, and says why once
        raise SystemExit(_REPORT_OUTPUT_FAILED) from None
    finally:
        store.close()


_REPORT_OUTPUT_FAILED = 75
"""Exit code of the report's process that could not write the report (EX_TEMPFAIL)."""


class _ReportProcess:
    """``report.html`` rendered in a fresh process (``spawn``: nothing of the scan's state,
    threads or parsers is inherited). The report is written to a temporary name and renamed,
    so a process that fails leaves no partial report; the caller then renders it itself.
    It starts before the store is final and waits for :meth:`go`."""

    def __init__(self, db_path: Path, out_path: Path) -> None:
        self.conn, self.process = spawn_helper(
            _render_report, str(db_path), str(out_path), name="leaktriage-report"
        )
        self.going = False

    @classmethod
    def start(cls, db_path: Path, out_path: Path) -> _ReportProcess | None:
        """The process, or None when this system would not start it (the report is then
        rendered in the scanning process, as with ``workers=0``)."""
        try:
            return cls(db_path, out_path)
        except OSError as exc:
            log.warning("could not start the report's process (%s); rendering it here", exc)
            return None

    def go(self) -> None:
        """Let it read the store (settled now) and write the report."""
        self.going = True
        with contextlib.suppress(OSError):  # a process already dead fails in join()
            self.conn.send(True)

    def stop(self) -> None:
        """End the process (the scan failed before its report was needed)."""
        self.conn.close()
        self.process.kill()
        self.process.join()

    def join(self) -> bool:
        """Wait for the process; True when it wrote the report (never without :meth:`go`)."""
        if not self.going:
            self.stop()
            return False
        try:
            self.process.join()
            self.conn.close()
        finally:
            if self.process.is_alive():  # interrupted while waiting
                self.process.kill()
                self.process.join()
        if self.process.exitcode != 0:
            log.log(
                logging.DEBUG
                if self.process.exitcode == _REPORT_OUTPUT_FAILED
                else logging.WARNING,
                "the report's process failed (exit %s); rendering it here",
                self.process.exitcode,
            )
            return False
        return True


def _refuse_out_inside_input(root: Path, out: Path) -> None:
    # Writing the store inside the dump would change the evidence and get scanned next time.
    try:
        out.resolve().relative_to(root.resolve())
    except ValueError:
        return
    if root.is_dir():
        raise InputError(f"the output folder {out} is inside the input {root}; choose another")


def _make_out_dir(out: Path) -> None:
    """Make the output folder, or raise OutputError saying why it cannot be one (a file, a
    folder that cannot be written) before anything is read or written."""
    from leaktriage.errors import OutputError

    if out.exists() and not out.is_dir():
        raise OutputError(f"the output folder {out} is a file; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot make the output folder {out}: {exc.strerror or exc}; choose another --out"
        ) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in the output folder {out}; choose another --out")
