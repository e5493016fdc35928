"""Stage "walk and extract": files on disk and everything inside them become records, one
item at a time, under the limits (the walk in this process, parsing in the workers).

Every item goes through :meth:`Pipeline.guarded`, the boundary of ``boundary.py``; containers
(archives, mailboxes, mails with attachments) are opened here and their members fed back in;
``Reuse`` keeps the records of files unchanged since the previous run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from leaktriage import detect
from leaktriage.config import Limits, ScanConfig
from leaktriage.errors import (
    LeakTriageError,
)
from leaktriage.execute.workers import ExtractorPool
from leaktriage.extractors import Child, Extraction, Source
from leaktriage.model import (
    RECORD_FORMAT,
    FieldValue,
    FileRecord,
    Issue,
    Picture,
    Status,
    iso_utc,
)
from leaktriage.pipeline.boundary import guarded, internal_issue
from leaktriage.pipeline.duplicates import Analysed
from leaktriage.pipeline.extract import Outcome, extract_item, spill_pictures
from leaktriage.rules import DecoyList, RuleSet, load_rules, verdict
from leaktriage.rules.verdict import Weigher, family_of
from leaktriage.safetext import clean, clean_facts, clean_raw
from leaktriage.walk import (
    SEP,
    ArchiveStats,
    Content,
    CorruptArchive,
    Item,
    Spool,
    TreeBudget,
    adopt_file,
    iter_archive,
    iter_tree,
    name_issues,
    path_part,
    read_disk_file,
)

if TYPE_CHECKING:
    pass

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


MAX_NESTED = 8
"""Finished items handled inside the handling of another at most (each level costs a dozen
Python frames; what finishes deeper waits in the queue)."""
HANDOFF_BYTES = 32 * 1024
"""Items held in memory above this size reach a worker as a private temp file, not through
its pipe (``ExtractorPool.PIPE_BYTES``)."""


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
        self.remote: bool = getattr(pool, "remote", False)
        """Workers on other machines (a Dask cluster): they see no path of this one."""
        self.local = pool is not None and not self.remote
        """Worker processes on this machine, handed paths and handing files back."""
        if not self.remote:
            # A worker on this machine is handed anything over HANDOFF_BYTES as a path
            # anyway: holding more in memory only multiplies the scan process's peak by
            # the items in flight (a mailbox's messages, an archive's members).
            self.limits = replace(
                config.limits,
                memory_spool_bytes=min(config.limits.memory_spool_bytes, HANDOFF_BYTES),
            )
        self.tmpdir = tmpdir
        self.pool = pool
        self.counts = _Counts()
        self._jobs: dict[int, _Job] = {}
        self._ready: deque[tuple[int, Outcome]] = deque()
        """Parsed items whose records are yet to be made (see ``_take_ready``)."""
        self._handling = 0
        """Finished items being turned into records right now (nesting depth)."""
        self._next_job = 0
        self._rules_loaded = False
        self.ruleset: RuleSet | None = None
        self._context: Any = None
        self._categories: dict[str, str] = {}
        self._weigher: Weigher | None = None
        self._decoys: DecoyList | None = None
        self.analysed = Analysed()
        """Outcomes of parsed items by sha256, for the items that repeat their bytes."""
        if config.yara_dir:
            from leaktriage.yarascan import compile_rules

            compile_rules(config.yara_dir)  # a broken rule folder stops the scan before it starts
        if config.dkim_keys:
            from leaktriage.extractors import _dkim  # dkimpy and dnspython: only when asked

            _dkim.key_store(config.dkim_keys)  # a malformed key file stops the scan here
        if config.trust_roots:
            from leaktriage.extractors import _pdf_signatures

            _pdf_signatures.trust_roots(config.trust_roots)  # so does a malformed PEM bundle
        self.rule_hits: Counter[str] = Counter()
        """How many records each rule fired on in this scan."""

    def weigher(self) -> Weigher | None:
        """How this scan's findings combine into verdicts (None without rules)."""
        if not self._rules_loaded:
            self._load_rules()
        return self._weigher

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
            yield from self.guarded(item, None, ())
            yield from self._take_ready()
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
            if not self._ready:
                self._ready.extend(self.pool.finished(block=True))
            if not self._ready and not self.pool.busy:
                # Jobs the pool no longer holds (a bug of ours): each becomes an error record
                # rather than a wait that never ends.
                for job_id in sorted(self._jobs):
                    issue = Issue("extract", "internal", "the worker pool lost this item")
                    self._ready.append(
                        (job_id, (Extraction(issues=[issue]), None, Status.ERROR, ""))
                    )
            yield from self._take_ready()

    def _take_ready(self) -> Iterator[FileRecord]:
        """Records of the parsed items waiting, one after the other: what finishes while an
        item is handled waits here, so that handling never nests (a dump of thousands of
        items in flight would otherwise nest as deep)."""
        while self._ready:
            job_id, outcome = self._ready.popleft()
            job = self._jobs.pop(job_id, None)
            if job is None:
                continue
            self._handling += 1
            try:
                yield from self._completed(job, outcome)
            finally:
                self._handling -= 1

    def guarded(
        self, item: Item, parent_id: str | None, ancestors: tuple[str, ...], dup: int = 0
    ) -> Iterator[FileRecord]:
        """:meth:`process` inside the boundary: whatever it raises becomes the item's status."""

        def failed(issue: Issue) -> FileRecord:
            return self._failed_record(item, parent_id, dup, issue)

        yield from guarded(item.path, "walk", self.process(item, parent_id, ancestors, dup), failed)

    def _completed(self, job: _Job, outcome: Outcome) -> Iterator[FileRecord]:
        """:meth:`_complete` inside the boundary (a finished job's item, its members)."""

        def failed(issue: Issue) -> FileRecord:
            job.content.release()
            return self._failed_record(job.item, job.parent_id, 0, issue, job.record_id)

        yield from guarded(job.item.path, "extract", self._complete(job, outcome), failed)

    def _failed_record(
        self,
        item: Item,
        parent_id: str | None,
        dup: int,
        issue: Issue,
        record_id: str | None = None,
    ) -> FileRecord:
        item.status = Status.ERROR
        item.content = None
        item.issues.append(issue)
        record = self._bare_record(item, parent_id, dup)
        return replace(record, record_id=record_id) if record_id else record

    def process(
        self, item: Item, parent_id: str | None, ancestors: tuple[str, ...], dup: int = 0
    ) -> Iterator[FileRecord]:
        """Records for ``item`` and everything it contains, as far as they are finished."""
        content = item.content
        handed_over = False
        try:
            if item.status is None and content is None and item.disk_path is not None:
                try:
                    content = read_disk_file(
                        item.disk_path, self.limits, self.config.hash_md5, item.identity
                    )
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
            sha1=content.sha1 if content else None,
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
        record = self._judge(_storable(record, item))
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
            self._weigher = self.ruleset.weigher()
        self._decoys = DecoyList.load(Path(config.decoys)) if config.decoys else None

    def _judge(self, record: FileRecord) -> FileRecord:
        """Run the rules on a record and give it its findings, verdict and score."""
        if not self._rules_loaded:
            self._load_rules()
        if self.ruleset is None or self._context is None or self._weigher is None:
            return record
        findings = self.ruleset.evaluate(record, self._context, self._decoys)
        self.rule_hits.update(f.rule_id for f in findings)
        family = family_of(record.mime, record.extension)
        label, score = verdict(record.status, findings, self._weigher, family)
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
        repeated = self.analysed.get(content.sha256, extension_of(item.name))
        if repeated is not None:
            # The same bytes were parsed earlier in this scan: their facts stand for these.
            yield from self._complete(job, repeated)
            return False
        data, path = content.data, content.path
        if self.local and data is not None and len(data) > HANDOFF_BYTES:
            # Bytes through a worker's pipe wait for the worker to be idle (the pipe must
            # never fill while the worker writes its answer back): a larger item goes to the
            # worker as a path — its file in the dump, or a private temp file for a member —
            # so the worker's queue keeps filling.
            if path is None:
                content.spill(self.tmpdir)
            data, path = None, content.path
        if content.owned and self.remote and path is not None:
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
            trust_roots=self.config.trust_roots,
            identity=None if content.owned else content.identity,
            spill_dir=self.tmpdir if self.local else None,
        )
        if self.pool is None:
            yield from self._complete(job, extract_item(source))
            return False
        job_id = self._next_job
        self._next_job += 1
        self._jobs[job_id] = job
        self.pool.submit(job_id, source)
        self._ready.extend(self.pool.finished(block=False))
        if self._handling < MAX_NESTED:
            # What finished is handled now, so that it is not held (with the bytes of what it
            # holds) until the walk moves on — the messages of a mailbox as they come — but
            # never nested deeper than MAX_NESTED items.
            yield from self._take_ready()
        return True

    def _complete(self, job: _Job, outcome: Outcome) -> Iterator[FileRecord]:
        """Build the record of a finished item (walking it first if it is an archive), then
        process what the extractor found in it."""
        extraction, label, status, mime = outcome
        item, content = job.item, job.content
        self.analysed.keep(content.sha256, extension_of(item.name), outcome)
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
        # The inner items now hold their bytes (spooled past HANDOFF_BYTES): the list the
        # worker sent would otherwise keep a second copy until the last of them is done.
        extraction.children.clear()
        children += _unlisted_items(item, extraction.unlisted)
        if status is Status.OK and any(c.status is Status.SKIPPED for c in children):
            status = Status.PARTIAL  # part of what it holds was not analysed: a limit
        extension = extension_of(item.name)
        record = FileRecord(
            record_id=job.record_id,
            path=item.path,
            name=item.name,
            parent_id=job.parent_id,
            depth=item.depth,
            size=content.size,
            sha256=content.sha256,
            sha1=content.sha1,
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
            pictures=self._pictures(extraction),
        )
        content.release()
        record = self._judge(_storable(record, item))
        self._count(record)
        yield record
        names: Counter[str] = Counter()
        lineage = (*job.ancestors, content.sha256 or "")
        for child in children:
            yield from self.guarded(child, job.record_id, lineage, names[child.name])
            names[child.name] += 1

    def _pictures(self, extraction: Extraction) -> tuple[Picture, ...]:
        """The pictures a worker drew, the large ones in this scan's temp folder (a worker
        on this machine put them there; parsed here or remotely, they are put there now),
        so that a batch of records waiting for the store holds none of their bytes."""
        if not extraction.pictures:
            return ()
        found = list(extraction.pictures)
        spill_pictures(found, self.tmpdir)
        return tuple(found)

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
                yield from self.guarded(member, rid, lineage, names[member.name])
                names[member.name] += 1
        except CorruptArchive as exc:
            issues.append(Issue("walk", "corrupt", f"archive unreadable: {exc}"))
            _archive_fields(fields, stats)
            return Status.ERROR, "archive@1"
        except LeakTriageError:
            raise
        except Exception as exc:
            log.warning("internal error while listing %s", item.path, exc_info=True)
            issues.append(internal_issue("walk", exc))
            _archive_fields(fields, stats)
            issues.extend(stats.issues)
            return (Status.PARTIAL if stats.members else Status.ERROR), "archive@1"
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
        limit = self.limits.max_children
        for index, child in enumerate(found):
            name = clean(child.name)
            path = f"{parent.path}{SEP}{path_part(name)}"
            if index >= limit:
                # Past the limit an inner item is still recorded, named and sized, unread.
                item = Item(
                    path, name, parent.depth + 1, child.mtime, outer_mtime=parent.outer_mtime
                )
                item.status = Status.SKIPPED
                item.declared_size = child.size
                if child.path is not None:
                    child.path.unlink(missing_ok=True)
                item.issues.append(
                    Issue(
                        "walk",
                        "limit.children",
                        f"inner item {index + 1} of {len(found)}: past the limit of {limit} "
                        "inner items analysed per container; not analysed",
                    )
                )
                items.append(item)
                continue
            if child.path is not None:
                # A worker wrote it to this scan's temp folder: hashed here, owned from now on.
                content = adopt_file(child.path, self.config.hash_md5)
            else:
                spool = Spool(self.limits.memory_spool_bytes, self.tmpdir, self.config.hash_md5)
                spool.write(child.data)
                content = spool.finish()
            item = Item(
                path=path,
                name=name,
                depth=parent.depth + 1,
                mtime=child.mtime,
                outer_mtime=parent.outer_mtime,
                content=content,
                tree=parent.tree,
            )
            item.issues.extend(name_issues(child.name.removeprefix("attachment:")))
            if over_depth:
                item.status = Status.SKIPPED
                item.issues.append(Issue("walk", "limit.depth", "container too deep; not analysed"))
            items.append(item)
        if len(found) > limit:
            issues.append(
                Issue(
                    "walk",
                    "limit.children",
                    f"{len(found) - limit} inner items beyond the limit of {limit} "
                    "recorded as skipped, not analysed",
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
                content = read_disk_file(
                    item.disk_path, pipeline.limits, self.hash_md5, item.identity
                )
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
    digest.update(RECORD_FORMAT.encode())
    options = {k: v for k, v in config.to_json().items() if k not in ScanConfig.RUN_ONLY}
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for folder in (bundled_rules_dir(), *(Path(d) for d in config.rule_dirs)):
        for path in sorted(folder.rglob("*.yaml")) if folder.is_dir() else ():
            digest.update(str(path.relative_to(folder)).encode() + b"\x00")
            digest.update(path.read_bytes())
    if config.decoys and Path(config.decoys).is_file():
        digest.update(Path(config.decoys).read_bytes())
    return digest.hexdigest()


def _unlisted_items(parent: Item, unlisted: list[tuple[str, int, int]]) -> list[Item]:
    """One summary record per run of inner items an extractor counted but did not hand on
    (past its own limit): the code, how many and which positions, so none goes unaccounted."""
    items = []
    for code, first, count in unlisted:
        name = f"[items {first}-{first + count - 1} not read: {code}]"
        item = Item(
            f"{parent.path}{SEP}{path_part(name)}",
            name,
            parent.depth + 1,
            outer_mtime=parent.outer_mtime,
            status=Status.SKIPPED,
        )
        item.issues.append(
            Issue(
                "extract",
                code,
                f"{count} inner items (numbers {first} to {first + count - 1}) past the "
                "extractor's limit were counted but not read; this record stands for them",
            )
        )
        items.append(item)
    return items


def _storable(record: FileRecord, item: Item) -> FileRecord:
    """``record`` with every string from the dump made storable (``safetext``), and the
    bytes of a name that was not UTF-8 kept in ``raw``."""
    raw = clean_raw(record.raw)
    if item.name_bytes:
        raw["name#bytes"] = item.name_bytes
    return replace(
        record,
        path=clean(record.path),
        name=clean(record.name),
        fields=clean_facts(record.fields),
        raw=raw,
        issues=tuple(replace(i, message=clean(i.message)) for i in record.issues),
    )


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
    if stats.mtime_min or stats.mtime_max:
        fields["archive.member_mtime_tz_known"] = stats.zone_known
    if stats.limits_hit:
        fields["archive.limit_hit"] = tuple(dict.fromkeys(stats.limits_hit))
    if stats.name_encoding:
        fields["archive.name_encoding"] = stats.name_encoding
