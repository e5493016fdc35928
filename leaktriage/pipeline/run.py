"""A whole run into an output folder: the walk (``items``), then the after-walk stages -
corpus, mail threads, exports, report, manifest - which ``leaktriage analyze`` runs again
on a finished store through :func:`after_walk`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.config import Limits, ScanConfig
from leaktriage.errors import (
    InputError,
)
from leaktriage.execute.sandbox import spawn_helper
from leaktriage.execute.workers import ExtractorPool, default_workers, stop_forkserver
from leaktriage.model import FileRecord
from leaktriage.pipeline.boundary import stage
from leaktriage.pipeline.evidence_dir import write_evidence
from leaktriage.pipeline.export_process import ExportProcess
from leaktriage.pipeline.extract import extract_item
from leaktriage.pipeline.items import Pipeline, Reuse, reuse_key

if TYPE_CHECKING:
    from leaktriage.corpus import CorpusSummary
    from leaktriage.rules.verdict import Weigher
    from leaktriage.store import Store

log = logging.getLogger(__name__)


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
        from leaktriage.execute.cluster import DaskPool

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
    failed_stages: dict[str, str] = field(default_factory=dict)
    """After-walk stages that failed (a bug of ours), with why: the scan went on without
    their results (see ``pipeline.boundary.stage``)."""


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
    failed: dict[str, str] = {}
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
    log.info(
        "identical bytes parsed once: %d items took the facts of an earlier copy",
        pipeline.analysed.hits,
    )
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
    exporter: ExportProcess | None = None
    if unchanged:
        pipeline.rule_hits.update(db.hits_of(threads.CORPUS_RULES))
    else:
        try:
            corpus = corpus_stage(db, config, failed, corpus_progress, models)
        finally:
            if models is not None:
                models.close()
        lap("corpus")
        # Not before: the corpus stage holds the scan's largest memory.
        apart = _ReportProcess.start(db.path, report_path) if config.workers != 0 else None
        exporter = ExportProcess.start(db.path) if config.workers != 0 else None
    try:
        if not unchanged:
            weigher = pipeline.weigher() if config.use_rules else None
            pipeline.rule_hits.update(threads_stage(db, weigher, failed))
            lap("threads")
            # The corpus stage and the threads leave up to 64 MiB of pages in the write-ahead
            # log, where every later read looks first: folded into the store before the
            # report and the exports read it (at 100,000 items the exports took 5.8-6.5 s
            # before, 3.5-3.9 s on the folded store). Its own lap, so that the exports' time
            # is theirs alone; closing the store would do it anyway, later.
            db.checkpoint()
            lap("checkpoint")
        # Verdicts are final: the pictures of the flagged records go to OUT/evidence.
        evidence = write_evidence(out, db)
        lap("evidence")
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
            # The lines whose findings the corpus stage and threads changed are re-rendered in
            # the pass that writes them, not written back to the export cache: at 100,000
            # items writing them back was 6.5 of the stage's 15.8 s (blobs inserted across a
            # 2 GB store), and only a later `leaktriage export` would read them. Written
            # by a process of their own (see pipeline.export_process) when one can start.
            if exporter is None and config.workers != 0:
                exporter = ExportProcess.start(db.path)
            written_apart = exporter.write(jsonl, csv_file) if exporter is not None else None
            exporter = None
            if written_apart is None:
                store.export_files(db, jsonl, csv_file, digests)
            else:
                digests.update(written_apart)
        elif exporter is not None:  # both exports kept: not needed
            exporter.stop()
            exporter = None
        keys_file = store.export_dkim_keys(db, out / "dkim_keys.txt")
    except BaseException:
        if apart is not None:  # the scan stops before it needs the report
            apart.stop()
        if exporter is not None:
            exporter.stop()
        raise
    lap("exports")
    if REPORT_NAME in kept:
        digests[REPORT_NAME] = kept[REPORT_NAME]
    elif apart is None or not apart.join():
        from leaktriage.report import write_html

        with stage("report", failed):
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
        failed,
        evidence,
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
        failed_stages=failed,
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


def corpus_stage(
    db: Store,
    config: ScanConfig,
    failed: dict[str, str],
    progress: CorpusProgressFn | None = None,
    models: _ModelProcess | None = None,
) -> CorpusSummary | None:
    """The corpus analysis over the whole store, inside the boundary (None without rules,
    or when it failed: ``failed["corpus"]`` then says why)."""
    if not config.use_rules:
        return None
    from leaktriage.corpus import analyze  # NumPy (and scikit-learn): only when needed

    summary = None
    with stage("corpus", failed):
        summary = analyze(db, config, progress, models)
    return summary


def threads_stage(db: Store, weigher: Weigher | None, failed: dict[str, str]) -> dict[str, int]:
    """The mail threads over the whole store (after the corpus stage, which replaces every
    corpus-source finding, the thread checks' too), inside the boundary; the records each
    thread rule fired on."""
    from leaktriage import threads

    hits: dict[str, int] = {}
    with stage("threads", failed):
        hits = dict(threads.analyse(db, weigher).hits)
    return hits


@dataclass(frozen=True, slots=True)
class Analysis:
    """What ``leaktriage analyze`` did on a finished store."""

    corpus: CorpusSummary | None
    verdicts: dict[str, int]
    failed_stages: dict[str, str]


def analyze_store(
    db: Store, out: Path, config: ScanConfig, progress: CorpusProgressFn | None = None
) -> Analysis:
    """The after-walk stages again on a finished scan (``leaktriage analyze``), the same
    functions as a scan runs: corpus, threads, evidence, exports, report, each inside the
    boundary."""
    from leaktriage.report import REPORT_NAME, write_html
    from leaktriage.rules import load_rules
    from leaktriage.store import export_files

    failed: dict[str, str] = {}
    corpus = corpus_stage(db, config, failed, progress)
    weigher = load_rules(Path(d) for d in config.rule_dirs).weigher() if config.use_rules else None
    threads_stage(db, weigher, failed)
    write_evidence(out, db)  # the verdicts may have changed
    export_files(db, out / "files.jsonl", out / "files.csv")
    with stage("report", failed):
        write_html(db, out / REPORT_NAME)  # the report shows the new corpus results
    return Analysis(corpus, db.verdict_counts(), failed)
