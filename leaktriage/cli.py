"""The command line: argv, logging, terminal output and exit codes. No logic the library lacks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from leaktriage import __version__
from leaktriage.api import run_scan
from leaktriage.config import GiB, Limits, MiB, ScanConfig
from leaktriage.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    InputError,
    UsageError,
    as_user_error,
    exit_code_table,
)
from leaktriage.fields import FIELDS
from leaktriage.model import FileRecord, json_value
from leaktriage.report.registry import FORMAT_MODULES

if TYPE_CHECKING:
    from leaktriage.corpus import CorpusSummary
    from leaktriage.store import Store

EXAMPLES = """\
examples:
  leaktriage scan leak/ --out triage            scan a folder into triage/
  leaktriage scan emails.zip --out t --leak-date 2017-05-05
  leaktriage show triage 'leak/a.zip!docs/budget.xlsx'
  leaktriage show triage 3f2a9c1b               (a record id or its first 8+ characters)
  leaktriage report triage                      summary, top flagged files, new report.html
  leaktriage export triage --format ftm         FollowTheMoney entities for Aleph
  leaktriage formats                            extractors and the types they read
  leaktriage fields                             the catalogue of fact names
  leaktriage rules list                         the rules, one line each
  leaktriage rules explain pdf-revision-text-changed
  leaktriage rules test newsroom_rules/         run the rules' embedded test cases
  leaktriage scan leak/ --out t --rules newsroom_rules/
  leaktriage analyze triage                     re-run the corpus analysis on a scan's store
  leaktriage eval triage labels.csv             precision/recall against hand labels
  leaktriage scan mail/ --out t --dkim-keys archived_keys.txt   DKIM offline
  leaktriage scan leak/ --out triage            again later: only new or changed files are read
  leaktriage scan /data/leak --out t --executor dask --scheduler tcp://10.0.0.5:8786

""" + exit_code_table()


BEACONS_SHOWN = 20
"""Beacon warnings printed after a scan; the store holds all of them."""


def _clean(text: object) -> str:
    """Strip control characters from a value before it reaches a terminal; escape rich markup."""
    value = "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t" else "\ufffd"
        for ch in str(text)
    )
    return escape(value)


def _open_store(out_dir: Path, readonly: bool = True) -> Store:
    """The store of a scan's output folder, for reading only unless asked (so it can be on
    read-only media); a missing one is an input error (exit code 3)."""
    from leaktriage.store import Store

    try:
        return Store.open_existing(out_dir, readonly)
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from exc


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error told in one line (the usage itself is in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, _usage_line(self, message) + "\n")


def _usage_line(parser: argparse.ArgumentParser, message: str) -> str:
    """A usage error as the command tells it."""
    return f"{parser.prog}: {message} (see {parser.prog} --help)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-parser per command."""
    parser = _Parser(
        prog="leaktriage",
        description="Triage a leaked document dump for authenticity: metadata, provenance "
        "and alteration evidence for every file, archive member, email and attachment.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"leaktriage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser(
        "scan",
        help="scan a folder, file or archive into an output folder",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("path", type=Path, help="folder, single file or archive to scan")
    scan.add_argument(
        "--out",
        "-o",
        type=Path,
        required=True,
        help="output folder (triage.sqlite, files.jsonl, files.csv, report.html)",
    )
    scan.add_argument("--leak-date", type=_date, help="date the dump was published (YYYY-MM-DD)")
    scan.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="parsing worker processes (default: one per core)",
    )
    scan.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds one file may take to parse before it is given up (default %(default)s)",
    )
    scan.add_argument(
        "--memory-mb",
        type=int,
        default=1536,
        help="address-space limit of each worker process, MiB (default %(default)s)",
    )
    defaults = Limits()
    scan.add_argument(
        "--max-depth",
        type=int,
        default=defaults.max_depth,
        help=f"archive/email nesting depth opened (default {defaults.max_depth})",
    )
    scan.add_argument(
        "--max-member-mb",
        type=int,
        default=defaults.max_member_bytes // MiB,
        help="largest archive member read, MiB (default %(default)s)",
    )
    scan.add_argument(
        "--max-archive-gb",
        type=float,
        default=defaults.max_archive_bytes / GiB,
        help="most bytes decompressed from one archive, GiB (default %(default)s)",
    )
    scan.add_argument(
        "--max-ratio",
        type=float,
        default=defaults.max_ratio,
        help="largest archive compression ratio (default %(default)s)",
    )
    scan.add_argument(
        "--max-members",
        type=int,
        default=defaults.max_members,
        help="members read per archive (default %(default)s)",
    )

    scan.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of newsroom rules to use beside the bundled ones (repeatable)",
    )
    scan.add_argument(
        "--no-rules", action="store_true", help="extract only: no findings, no verdicts"
    )
    scan.add_argument(
        "--decoys",
        type=Path,
        metavar="FILE",
        help="decoy markers the victim planted, one kind:value per line "
        "(sha256, md5, author, rsid, docid, string)",
    )
    scan.add_argument(
        "--dkim-keys",
        type=Path,
        metavar="FILE",
        help="archived DKIM public keys, one 'selector._domainkey.domain TXT-record' per line; "
        "signatures are verified offline against them",
    )
    scan.add_argument(
        "--dkim-dns",
        action="store_true",
        help="also fetch DKIM keys missing from --dkim-keys from live DNS (the only network "
        "use; off by default; a look-up tells the signing domain the message is being read)",
    )

    scan.add_argument(
        "--yara",
        type=Path,
        metavar="DIR",
        help="a folder of YARA rules (.yar/.yara) run over every item and its decompressed "
        "parts (needs yara-python)",
    )

    scan.add_argument(
        "--no-reuse",
        action="store_true",
        help="re-process every file even when --out holds an earlier scan of them",
    )
    scan.add_argument(
        "--verify-hashes",
        action="store_true",
        help="on a re-scan, re-hash unchanged-looking files and re-use a record only when "
        "its sha256 still matches",
    )
    scan.add_argument(
        "--no-md5",
        action="store_true",
        help="compute sha256 only (md5 is kept by default to match published leak indexes)",
    )
    scan.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where extraction runs: local worker processes (default) or a Dask cluster",
    )
    scan.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786",
    )

    rules = sub.add_parser("rules", help="list, explain and test the rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    listing = rules_sub.add_parser("list", help="one line per rule")
    listing.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    explain = rules_sub.add_parser("explain", help="everything about one rule")
    explain.add_argument("rule_id")
    explain.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    calibrating = rules_sub.add_parser(
        "calibrate",
        help="measure how often each rule fires on genuine files; write it into the rules",
    )
    calibrating.add_argument("reference", type=Path, help="folder of genuine third-party files")
    calibrating.add_argument(
        "--scan-out",
        type=Path,
        metavar="DIR",
        help="keep the reference scan here",
    )
    calibrating.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    calibrating.add_argument(
        "--dry-run", action="store_true", help="measure and print, write nothing into the rules"
    )
    calibrating.add_argument(
        "--reuse-scan",
        action="store_true",
        help="with --scan-out: measure the scan already there instead of scanning again",
    )
    testing = rules_sub.add_parser("test", help="run every rule's embedded test cases")
    testing.add_argument(
        "dirs", type=Path, nargs="*", help="extra rule folders (the bundled rules always run)"
    )

    analyze = sub.add_parser(
        "analyze", help="run the corpus analysis (copies, fingerprints, bursts...) on a store"
    )
    analyze.add_argument("out", type=Path, help="output folder of a scan")
    analyze.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    evaluation = sub.add_parser(
        "eval", help="measure the verdicts against a hand-labeled CSV (path,label[,rules])"
    )
    evaluation.add_argument("out", type=Path, help="output folder of a scan")
    evaluation.add_argument("labels", type=Path, help="CSV with header path,label[,rules]")
    evaluation.add_argument(
        "--limit", type=int, default=50, help="misses and false alarms listed (default 50)"
    )

    show = sub.add_parser("show", help="print one record from a scan's output folder")
    show.add_argument("out", type=Path, help="output folder of a scan")
    show.add_argument("key", help="record id (or its first 8+ characters) or provenance path")

    report = sub.add_parser(
        "report", help="print a scan's summary and re-render its report.html from the store"
    )
    report.add_argument("out", type=Path, help="output folder of a scan")
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="where to write the report (OUT/report.html)"
    )
    report.add_argument("--top", type=_positive, default=15, help="flagged files listed")
    report.add_argument("--no-html", action="store_true", help="print only, write nothing")

    export = sub.add_parser(
        "export", help="write a scan's records as jsonl, csv, FtM entities or report.html"
    )
    export.add_argument("out", type=Path, help="output folder of a scan")
    export.add_argument("--format", choices=FORMAT_MODULES, required=True)
    export.add_argument(
        "--out",
        dest="target",
        type=Path,
        metavar="FILE",
        help="file to write (default in OUT: files.jsonl, files.csv, entities.ftm.json, "
        "report.html); - for standard output (ftm only)",
    )

    sub.add_parser("formats", help="list the extractors and the types they read")
    sub.add_parser("fields", help="print the catalogue of fact names and their meaning")
    for command in _commands(parser):
        if command.epilog is None:
            command.epilog = exit_code_table()
            command.formatter_class = argparse.RawDescriptionHelpFormatter
        if not any(isinstance(a, argparse._SubParsersAction) for a in command._actions):
            # -v and -q after the command too (`leaktriage scan DIR --out X -q`); counted
            # apart, since a sub-command's values replace the main parser's (parse_args).
            command.add_argument(
                "-v",
                "--verbose",
                dest="verbose_after",
                action="count",
                default=0,
                help="more log output",
            )
            command.add_argument(
                "-q",
                "--quiet",
                dest="quiet_after",
                action="store_true",
                help="no progress bar or summary",
            )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line parsed, ``-v`` and ``-q`` counted wherever they were given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose += args.__dict__.pop("verbose_after", 0)
    args.quiet = args.quiet or args.__dict__.pop("quiet_after", False)
    args.parser = parser
    return args


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every sub-command's parser (``scan``, ``rules list``...), each once."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                yield command
                yield from _commands(command)


def entry() -> None:
    """The ``leaktriage`` console script: the sandbox goes on for the whole process first.

    Worker processes always refuse network and process starts; the command's own process
    does too. ``main()`` alone (as tests and notebooks call it) leaves the caller's process
    as it was, since an audit hook cannot be removed once installed.
    """
    import signal

    from leaktriage.execute.sandbox import forbid_network

    forbid_network()
    # SIGTERM (what timeout, systemd and docker send) unwinds like Ctrl-C: the workers are
    # stopped and the scan's temporary folder, which may hold gigabytes of spooled members,
    # is removed by the same finally blocks.
    signal.signal(signal.SIGTERM, _terminated)
    raise SystemExit(main())


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leaktriage`` command; returns the exit code."""
    args = parse_args(argv)
    parser: argparse.ArgumentParser = args.parser
    if args.command == "scan":
        try:
            args.config = _scan_config(args)
        except UsageError as exc:
            scan = next(c for c in _commands(parser) if c.prog.endswith(" scan"))
            typed = f" (got {exc.value[0]})" if exc.value else ""
            line = f"argument {exc.option}: {exc.problem}{typed}"
            print(_usage_line(scan, line), file=sys.stderr)
            return EXIT_USAGE
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Piped output (a file, grep, a newsroom script) gets wide tables instead of 80 columns.
    out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return _run(parser, args, out, err)
    except KeyboardInterrupt:
        err.print("leaktriage: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every ending is one line and a documented code
        # The one place an exception becomes an exit code (see errors.EXIT_CODES).
        if args.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        error = as_user_error(exc, getattr(args, "out", None))
        if error is None:
            what = _clean(f"{type(exc).__name__}: {exc}"[:300])
            err.print(
                f"leaktriage: internal error ({what}); this is a bug, please report it with "
                "the command that caused it (-v shows the traceback)"
            )
            return EXIT_INTERNAL
        err.print(f"leaktriage: {_clean(error)}")
        return error.exit_code


def _run(
    parser: argparse.ArgumentParser, args: argparse.Namespace, out: Console, err: Console
) -> int:
    if args.command == "scan":
        return _scan(args, out, err)
    if args.command == "show":
        return _show(args, out, err)
    if args.command == "analyze":
        return _analyze(args, out, err)
    if args.command == "eval":
        return _eval(args, out, err)
    if args.command == "report":
        return _report(args, out, err)
    if args.command == "export":
        return _export(args, out, err)
    if args.command == "formats":
        return _formats(out)
    if args.command == "fields":
        return _fields(out)
    if args.command == "rules":
        return _rules(args, out, err)
    parser.error(f"unknown command {args.command}")  # exits with status 2


_SCAN_OPTIONS = {
    "timeout_s": "--timeout",
    "memory_limit_bytes": "--memory-mb",
    "max_depth": "--max-depth",
    "max_member_bytes": "--max-member-mb",
    "max_archive_bytes": "--max-archive-gb",
    "max_ratio": "--max-ratio",
    "max_members": "--max-members",
    "workers": "--workers",
    "scheduler": "--scheduler",
}
"""The ``scan`` option of each ScanConfig or Limits field it sets (when the names differ)."""


def _scan_config(args: argparse.Namespace) -> ScanConfig:
    """The scan's options; UsageError naming the command's option when one is out of range
    (ScanConfig checks the values; the command names its options and shows what was typed)."""
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler", "is used only with --executor dask")
    if args.executor == "dask" and not args.scheduler:
        raise UsageError("--scheduler", "is needed with --executor dask (tcp://host:port)")
    try:
        limits = Limits(
            max_depth=args.max_depth,
            max_member_bytes=args.max_member_mb * MiB,
            max_archive_bytes=int(args.max_archive_gb * GiB),
            max_ratio=args.max_ratio,
            max_members=args.max_members,
        )
        return ScanConfig(
            limits=limits,
            leak_date=args.leak_date,
            workers=args.workers,
            timeout_s=args.timeout,
            memory_limit_bytes=args.memory_mb * MiB,
            rule_dirs=tuple(str(d) for d in args.rules),
            decoys=str(args.decoys) if args.decoys else None,
            yara_dir=str(args.yara) if args.yara else None,
            use_rules=not args.no_rules,
            dkim_keys=str(args.dkim_keys) if args.dkim_keys else None,
            dkim_dns=args.dkim_dns,
            hash_md5=not args.no_md5,
            reuse=not args.no_reuse,
            verify_hashes=args.verify_hashes,
            executor=args.executor,
            scheduler=args.scheduler,
        )
    except UsageError as exc:
        option = _SCAN_OPTIONS.get(exc.option, exc.option)
        typed = getattr(args, option.lstrip("-").replace("-", "_"), None)
        raise UsageError(option, exc.problem, *([] if typed is None else [typed])) from exc


def _scan(args: argparse.Namespace, out: Console, err: Console) -> int:
    config: ScanConfig = args.config
    if not args.path.exists() and not args.path.is_symlink():
        raise InputError(f"no such file or folder: {args.path}")
    started = time.monotonic()
    seen = {"bytes": 0}
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.completed} items"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=args.quiet or not err.is_terminal,
    )

    with progress:
        task = progress.add_task("scan", total=None, rate="")

        def tick(record: FileRecord) -> None:
            if record.depth == 0 and record.size:
                seen["bytes"] += record.size
            elapsed = max(time.monotonic() - started, 1e-6)
            done = progress.tasks[0].completed + 1
            rate = f"{done / elapsed:.0f} files/s, {seen['bytes'] / MiB / elapsed:.1f} MB/s"
            progress.update(task, advance=1, rate=rate)

        steps: dict[str, TaskID] = {}

        def corpus_tick(step: str, done: int, total: int) -> None:
            if step not in steps:
                steps[step] = progress.add_task(f"corpus: {step}", total=total or None, rate="")
            progress.update(steps[step], completed=done, total=total or None)

        summary = run_scan(args.path, args.out, config, progress=tick, corpus_progress=corpus_tick)
    if args.quiet:
        return 0
    seconds = (summary.finished - summary.started).total_seconds()
    out.print(
        f"Scanned {summary.items} items ({summary.bytes / MiB:.1f} MiB on disk) in "
        f"{seconds:.1f} s into {_clean(summary.out_dir)}"
    )
    if summary.phases:
        out.print(
            "Time by stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in summary.phases.items())
        )
    if summary.reused_files or summary.gone:
        out.print(
            f"Re-used the records of {summary.reused_files} unchanged files; "
            f"{summary.gone} records marked gone (no longer in the dump)"
        )
    out.print(_counts("By status", "status", summary.by_status.items()))
    out.print(_counts("By type", "type", _most_first(summary.by_mime)))
    if summary.by_verdict:
        out.print(_counts("By verdict", "verdict", summary.by_verdict.items()))
    if summary.rule_hits:
        out.print(_counts("Rule hits", "rule", _most_first(summary.rule_hits)))
    if summary.corpus is not None:
        _print_corpus(summary.corpus, out)
    if summary.beacons:
        files = sorted({path for path, _, _ in summary.beacons})
        out.print(
            f"[bold]Safety:[/bold] {len(files)} file(s) would contact a remote host or share when "
            "opened (decoys, trackers, canary tokens). Open them only on an offline machine:"
        )
        for path, rule_id, message in summary.beacons[:BEACONS_SHOWN]:
            out.print(f"  {_clean(path)}  {_clean(f'[{rule_id}]')} {_clean(message)}")
        if len(summary.beacons) > BEACONS_SHOWN:
            out.print(f"  … and {len(summary.beacons) - BEACONS_SHOWN} more (see findings_view)")
    out.print(f"Report: {_clean(summary.out_dir / 'report.html')} (opens offline in a browser)")
    return 0


def _counts(title: str, what: str, rows: Iterable[tuple[str, int]], unit: str = "items") -> Table:
    """A two-column table of counts (values from the dump are cleaned)."""
    table = Table(title=title, show_edge=False)
    table.add_column(what)
    table.add_column(unit, justify="right")
    for name, count in rows:
        table.add_row(_clean(name), str(count))
    return table


def _most_first(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Counts by decreasing count, then name."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _print_corpus(summary: CorpusSummary, out: Console) -> None:
    table = Table(title=f"Corpus analysis ({summary.seconds:.1f} s)", show_edge=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("records read", summary.records),
        ("files with a fingerprint", summary.fingerprinted),
        ("files with text compared", summary.texts),
        ("altered-copy pairs", summary.copy_pairs),
        ("same-text groups (different bytes)", summary.same_text_groups),
        ("fingerprint clusters", summary.clusters),
        ("fingerprint outliers", summary.fingerprint_outliers),
        ("outlier-model hits", summary.model_outliers),
        ("edit bursts", summary.bursts),
        ("identifier links (across places)", f"{summary.identifier_links} ({summary.cross_links})"),
        ("language outliers", summary.language_outliers),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if summary.top_clusters:
        clusters = Table(title="Largest fingerprint clusters", show_edge=False)
        clusters.add_column("dominant values", ratio=1)
        clusters.add_column("files", justify="right", no_wrap=True)
        clusters.add_column("first save", no_wrap=True)
        clusters.add_column("last save", no_wrap=True)
        for label, size, first, last in summary.top_clusters:
            clusters.add_row(_clean(label), str(size), first, last)
        out.print(clusters)
    for account, files, first, last in summary.burst_list:
        out.print(f"Edit burst: {files} files saved by {_clean(account)} from {first} to {last}")
    if summary.majority:
        shown = ", ".join(f"{k.replace('_', ' ')} {_clean(v)}" for k, v in summary.majority.items())
        out.print(f"Dump majority: {shown}")
    if summary.findings_by_rule:
        out.print(_counts("Corpus hits", "rule", summary.findings_by_rule.items(), "findings"))


def _analyze(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.pipeline.run import analyze_store

    store = _open_store(args.out, readonly=False)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=args.quiet or not err.is_terminal,
    )
    steps: dict[str, TaskID] = {}

    def tick(step: str, done: int, total: int) -> None:
        if step not in steps:
            steps[step] = progress.add_task(f"corpus: {step}", total=total or None)
        progress.update(steps[step], completed=done, total=total or None)

    config = ScanConfig(rule_dirs=tuple(str(d) for d in args.rules))
    try:
        with progress:
            done = analyze_store(store, args.out, config, tick)
    finally:
        store.close()
    summary, verdicts = done.corpus, done.verdicts
    for name, why in sorted(done.failed_stages.items()):
        err.print(f"leaktriage: warning: the {name} stage failed and was left out: {_clean(why)}")
    if not args.quiet:
        if summary is not None:
            _print_corpus(summary, out)
        out.print(_counts("By verdict", "verdict", verdicts.items()))
    return 0


def _eval(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.evaluate import LABELS, PREDICTIONS, evaluate

    store = _open_store(args.out)
    try:
        result = evaluate(store, args.labels)
    finally:
        store.close()
    scores = Table(title="Precision, recall and F1", show_edge=False)
    for column in ("label", "files", "TP", "FP", "FN", "precision", "recall", "F1"):
        scores.add_column(column, justify="left" if column == "label" else "right")
    for score in [*result.scores, result.overall]:
        scores.add_row(
            score.label,
            str(score.support),
            str(score.tp),
            str(score.fp),
            str(score.fn),
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            f"{score.f1:.3f}",
        )
    out.print(scores)
    confusion = Table(title="Confusion (rows: label, columns: prediction)", show_edge=False)
    confusion.add_column("label")
    for prediction in PREDICTIONS:
        confusion.add_column(prediction, justify="right")
    for label in LABELS:
        confusion.add_row(label, *(str(result.confusion[label][p]) for p in PREDICTIONS))
    out.print(confusion)
    out.print(
        f"{len(result.outcomes)} labeled records scored; {result.unlabeled} records unlabeled "
        f"(not scored); {len(result.unmatched)} label paths match no record"
    )
    out.print(f"[bold]Altered-copy pairs[/bold]: {len(result.pairs)}")
    for path_a, path_b, similarity, hunks in result.pairs[: args.limit]:
        out.print(f"  {_clean(path_a)}\n    -> {_clean(path_b)}  ({similarity:.1%} similar)")
        for hunk in hunks[:3]:
            out.print(f"      «{_clean(hunk['a'])}» -> «{_clean(hunk['b'])}»")
    out.print(f"[bold]Fingerprint outliers[/bold]: {len(result.outliers)}")
    for path, message in result.outliers[: args.limit]:
        out.print(f"  {_clean(path)}\n      {_clean(message)}")
    for title, items in (("Misses", result.misses), ("False alarms", result.false_alarms)):
        out.print(f"[bold]{title}[/bold]: {len(items)}")
        for o in items[: args.limit]:
            out.print(f"  {_clean(o.path)}  label {o.label}, verdict {o.verdict}")
            if o.fired_rules:
                out.print(f"      fired: {_clean(', '.join(o.fired_rules))}")
    if result.rule_misses:
        out.print(f"[bold]Expected rules that did not fire[/bold]: {len(result.rule_misses)}")
        for o in result.rule_misses[: args.limit]:
            out.print(f"  {_clean(o.path)}: {_clean(', '.join(o.missing_rules))}")
    for path in result.unmatched[: args.limit]:
        out.print(f"  no record for label path {_clean(path)}")
    return 0


def _rules(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.rules import load_rules, run_tests

    extra = args.dirs if args.rules_command == "test" else args.rules
    ruleset = load_rules(extra)
    if args.rules_command == "list":
        table = Table(show_edge=False)
        for column in ("id", "severity", "grade", "category", "technique", "title"):
            table.add_column(column)
        for rule in ruleset.rules:
            table.add_row(
                rule.id,
                rule.severity.name.lower(),
                rule.grade,
                rule.category,
                rule.technique,
                _clean(rule.title),
            )
        out.print(table)
        out.print(f"{len(ruleset.rules)} rules")
        return 0
    if args.rules_command == "calibrate":
        return _calibrate(args, out)
    if args.rules_command == "explain":
        chosen = ruleset.get(args.rule_id)
        if chosen is None:
            err.print(f"leaktriage: no rule {_clean(args.rule_id)}")
            return 2
        from leaktriage.rules.catalogue import checks, technique_name

        out.print(f"[bold]{chosen.id}[/bold]: {_clean(chosen.title)}")
        out.print(
            f"  severity {chosen.severity.name.lower()}, grade {chosen.grade}, "
            f"category {chosen.category}"
        )
        out.print(f"  technique {_clean(technique_name(chosen, ruleset.techniques))}")
        out.print(f"  file {_clean(chosen.path)}")
        weight, basis = chosen.weight().weight()
        out.print(f"  weight {weight:+.2f} in a verdict: {_clean(basis)}")
        out.print(f"[bold]what it means[/bold]\n  {_clean(chosen.rationale)}")
        sections = (
            ("innocent explanations", list(chosen.false_positives)),
            ("what to check by hand", [f"{name}: {text}" for name, text in checks(chosen)]),
            ("references", list(chosen.references)),
        )
        for heading, items in sections:
            if items:
                out.print(f"[bold]{heading}[/bold]")
                for item in items:
                    out.print(f"  - {_clean(item)}")
        return 0
    failures = run_tests(ruleset)
    cases = sum(len(r.tests) for r in ruleset.rules)
    for line in failures:
        out.print(_clean(line))
    out.print(
        f"{len(ruleset.rules)} rules, {cases} cases: "
        f"{cases - len(failures)} passed, {len(failures)} failed"
    )
    return 1 if failures else 0


def _calibrate(args: argparse.Namespace, out: Console) -> int:
    import tempfile

    from leaktriage.rules.calibrate import calibrate

    with tempfile.TemporaryDirectory(prefix="leaktriage-calibrate-") as temp:
        scan_out = args.scan_out or Path(temp)
        result = calibrate(
            args.reference,
            scan_out,
            args.rules,
            write=not args.dry_run,
            rescan=not (args.reuse_scan and args.scan_out),
        )
    fit, held = result.records["fit"], result.records["heldout"]
    out.print(f"genuine readable records: {fit:,} fit, {held:,} held out")
    for split in ("fit", "heldout"):
        counts: dict[str, int] = dict(result.verdicts.get(split, {}))
        out.print(
            f"{split}: likely_altered {counts.get('likely_altered', 0):,} "
            f"({100 * result.share(split):.2f} %), suspicious {counts.get('suspicious', 0):,} "
            f"({100 * result.share(split, 'suspicious'):.2f} %), threshold {result.threshold}"
        )
    for split, path, chain in result.flagged:
        out.print(f"[bold]{split}[/bold] {_clean(path)}")
        for line in chain.splitlines():
            out.print(f"    {_clean(line)}")
    fired = sorted(
        ((c.fires[""], rule_id, c.of[""]) for rule_id, c in result.rules.items()), reverse=True
    )
    for fires, rule_id, of in fired[:15]:
        out.print(f"  {rule_id}: fires on {fires:,} of {of:,} genuine files")
    out.print("base rates written into the rule files" if not args.dry_run else "nothing written")
    return 0


def _show(args: argparse.Namespace, out: Console, err: Console) -> int:

    store = _open_store(args.out)
    try:
        record = store.find(args.key)
        run = store.last_run() or {}
    finally:
        store.close()
    if record is None:
        err.print(f"leaktriage: no record {_clean(args.key)!s} in {_clean(args.out)}")
        return 2
    config = json.loads(run.get("config_json") or "{}")
    data = record.to_json()
    out.print(f"[bold]{_clean(record.path)}[/bold]")
    for key in (
        "record_id",
        "parent_id",
        "depth",
        "status",
        "mime",
        "extension",
        "extension_mismatch",
        "size",
        "sha256",
        "md5",
        "mtime",
        "mtime_zone_known",
        "outer_mtime",
        "extractor",
        "verdict",
        "score",
    ):
        if data[key] is not None:
            out.print(f"  {key:<20} {_clean(data[key])}")
    groups: dict[str, list[str]] = {}
    for name, value in sorted(record.fields.items()):
        shown = json_value(value)
        if isinstance(shown, list):
            shown = " | ".join(str(v) for v in shown)
        if name == "text.sample":
            shown = str(shown)[:300] + ("…" if len(str(shown)) > 300 else "")
        groups.setdefault(name.split(".", 1)[0], []).append(f"  {name:<32} {_clean(shown)}")
    for group in sorted(groups):
        out.print(f"[bold]{group}[/bold]")
        for line in groups[group]:
            out.print(line)
    if record.issues:
        out.print("[bold]issues[/bold]")
        for issue in record.issues:
            out.print(f"  {issue.stage}/{issue.code}: {_clean(issue.message)}")
    if record.findings:
        out.print("[bold]findings[/bold]")
        for finding in record.findings:
            out.print(
                f"  {finding.rule_id} [{finding.severity.name.lower()}] {_clean(finding.message)}"
            )
            for ev in finding.evidence:
                out.print(f"      {ev.field} = {_clean(ev.value)}")
        out.print("[bold]how the verdict was reached[/bold]")
        for line in _verdict_chain(record, config):
            out.print(f"  {_clean(line)}")
    if record.raw:
        out.print("[bold]raw[/bold]")
        for key, value in sorted(record.raw.items()):
            out.print(f"  {_clean(key):<32} {_clean(value[:300])}")
    return 0


def _verdict_chain(record: FileRecord, config: dict[str, Any]) -> list[str]:
    """The weight chain of a record's verdict, with the weights of the rules its run used."""
    from leaktriage.report.data import run_ruleset
    from leaktriage.rules.verdict import family_of

    weigher = run_ruleset(config).weigher()
    judged = weigher.judge(record.status, record.findings, family_of(record.mime, record.extension))
    return judged.explain().splitlines()


def _report(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.report import REPORT_NAME, write_html
    from leaktriage.report.data import load_report_data
    from leaktriage.report.summary import summary_of

    store = _open_store(args.out)
    try:
        summary = summary_of(load_report_data(store), args.top)
        target = None
        if not args.no_html:
            target = write_html(store, args.html or store.path.parent / REPORT_NAME)
    finally:
        store.close()
    leak = summary.leak_date.isoformat() if summary.leak_date else "not given"
    out.print(
        f"[bold]{summary.items}[/bold] items from {_clean(summary.input_path)}, leak date {leak}: "
        f"[bold]{summary.flagged}[/bold] flagged"
    )
    out.print(_counts("By verdict", "verdict", summary.by_verdict.items()))
    if summary.top_rules:
        rules = Table(title="Rules that fired most", show_edge=False)
        rules.add_column("rule")
        rules.add_column("files", justify="right")
        rules.add_column("what")
        for rule_id, count, title in summary.top_rules[:10]:
            rules.add_row(_clean(rule_id), str(count), _clean(title))
        out.print(rules)
    if summary.top_files:
        files = Table(title="Most worrying files", show_edge=False, show_lines=True)
        files.add_column("verdict")
        files.add_column("score", justify="right")
        files.add_column("file", overflow="fold")
        files.add_column("why", overflow="fold")
        for f in summary.top_files:
            reason = f.reason if len(f.reason) <= 200 else f.reason[:200] + "…"
            files.add_row(
                f.verdict,
                f"{f.score:.1f}",
                _clean(f.path),
                _clean(reason) + "\n[dim]" + _clean(" ".join(f.rule_ids)) + "[/dim]",
            )
        out.print(files)
    if target is not None:
        out.print(f"wrote {_clean(target)}")
    return 0


def _export(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.report import outputs, write_ftm

    store = _open_store(args.out)
    output = outputs()[args.format]
    target: Path = args.target or store.path.parent / output.file_name
    try:
        if str(target) == "-":
            if args.format != "ftm":
                err.print("leaktriage: --out - (standard output) is for --format ftm only")
                return 2
            try:
                write_ftm(store, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:  # `| head`: the reader has what it wanted
                sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - takes the last flush
            return 0
        count = output.write(store, target)
    finally:
        store.close()
    err.print(f"wrote {count} {output.unit} to {_clean(target)}")
    return 0


def _formats(out: Console) -> int:
    from leaktriage.extractors import discover

    table = Table(show_edge=False)
    table.add_column("extractor")
    table.add_column("types")
    for extractor in discover().values():
        label = extractor.label
        if extractor.name != extractor.family:
            label += f" ({extractor.name})"
        table.add_row(label, "\n".join(sorted(extractor.mime_types)))
    out.print(table)
    return 0


def _fields(out: Console) -> int:
    for name, spec in FIELDS.items():
        out.print(f"{name:<34} {spec.type:<9} {_clean(spec.meaning)}")
    return 0
