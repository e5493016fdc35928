"""The command line: argv, logging, terminal output and exit codes. No logic the library lacks."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.progress import (
    TaskID,
)
from rich.table import Table

from leaktriage import __version__
from leaktriage.api import run_scan
from leaktriage.cli_common import (
    _clean,
    _counts,
    _heavy_report,
    _most_first,
    _print_corpus,
    progress_bar,
)
from leaktriage.cli_rules import _rules
from leaktriage.cli_stores import _analyze, _eval, _evidence, _export, _report, _show
from leaktriage.config import REPORT_LIMIT, GiB, Limits, MiB, ScanConfig
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
from leaktriage.model import FileRecord
from leaktriage.report.registry import FORMAT_MODULES

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
  leaktriage scan leak/ --out t --trust-roots roots.pem   PDF signatures chained to these roots
  leaktriage scan leak/ --out triage            again later: only new or changed files are read
  leaktriage scan /data/leak --out t --executor dask --scheduler tcp://10.0.0.5:8786

""" + exit_code_table()


BEACONS_SHOWN = 20
"""Beacon warnings printed after a scan; the store holds all of them."""


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


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
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
        "--trust-roots",
        type=Path,
        metavar="FILE",
        help="PEM bundle of root certificates PDF signatures may chain to (offline; without "
        "it signatures are checked but never called trusted, the system's roots are not used)",
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
        "--report-limit",
        type=_count,
        default=REPORT_LIMIT,
        metavar="N",
        help="most files in report.html's table; every flagged file is kept, the others past "
        "it are left out of the page (files.csv and triage.sqlite hold every file) "
        "(default %(default)s)",
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

    evidence = sub.add_parser(
        "evidence",
        help="write one record's evidence pack: its bytes re-read from the dump, its "
        "containers, record, findings, earlier PDF revisions, hashes",
    )
    evidence.add_argument("out", type=Path, help="output folder of a scan")
    evidence.add_argument("key", help="record id (or its first 8+ characters) or provenance path")
    evidence.add_argument(
        "--out", dest="target", type=Path, required=True, metavar="DIR", help="folder to write"
    )
    evidence.add_argument(
        "--force", action="store_true", help="replace DIR even if it is not empty"
    )

    report = sub.add_parser(
        "report", help="print a scan's summary and re-render its report.html from the store"
    )
    report.add_argument("out", type=Path, help="output folder of a scan")
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="where to write the report (OUT/report.html)"
    )
    report.add_argument("--top", type=_positive, default=15, help="flagged files listed")
    report.add_argument("--no-html", action="store_true", help="print only, write nothing")
    report.add_argument(
        "--report-limit",
        type=_count,
        metavar="N",
        help="most files in report.html's table; every flagged file is kept (default: the "
        "scan's --report-limit)",
    )

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
    if args.command == "evidence":
        return _evidence(args, out, err)
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
            trust_roots=str(args.trust_roots) if args.trust_roots else None,
            hash_md5=not args.no_md5,
            reuse=not args.no_reuse,
            verify_hashes=args.verify_hashes,
            executor=args.executor,
            scheduler=args.scheduler,
            report_limit=args.report_limit,
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
    progress = progress_bar(err, args.quiet, "{task.completed} items", "{task.fields[rate]}")

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
    from leaktriage.report.data import FLAGGED, table_files

    flagged = sum(n for v, n in summary.by_verdict.items() if v in FLAGGED)
    held = table_files(summary.items, flagged, config.report_limit)
    if held < summary.items:
        out.print(
            f"  its table holds {held} of the {summary.items} items (every flagged one); the "
            f"other {summary.items - held} are in files.csv and triage.sqlite (--report-limit)"
        )
    _heavy_report(summary.out_dir / "report.html", out)
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
