"""Commands that read a finished scan: ``show`` (one record and how its verdict was reached),
``evidence`` (one record's evidence pack), ``report``, ``export``, ``analyze`` and ``eval``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    TaskID,
)
from rich.table import Table

from leaktriage.cli_common import (
    _clean,
    _counts,
    _heavy_report,
    _open_store,
    _print_corpus,
    progress_bar,
)
from leaktriage.config import ScanConfig
from leaktriage.model import FileRecord, json_value

if TYPE_CHECKING:
    from leaktriage.report.data import RuleInfo


def _analyze(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.pipeline.run import analyze_store

    store = _open_store(args.out, readonly=False)
    progress = progress_bar(err, args.quiet, "{task.description}", "{task.completed}/{task.total}")
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
    print_record(record, json.loads(run.get("config_json") or "{}"), out)
    return 0


def print_record(
    record: FileRecord,
    config: dict[str, Any],
    out: Console,
    rules: Mapping[str, RuleInfo] | None = None,
) -> None:
    """What ``leaktriage show`` prints about one record (values from the dump cleaned), with
    the weight chain of the rules its run (``config``) used. With ``rules``, each finding
    also says its technique, what the rule looks at and its innocent explanations (the
    evidence pack's README)."""
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
            if rules is not None:
                _print_rule(finding.technique, rules.get(finding.rule_id), out)
        out.print("[bold]how the verdict was reached[/bold]")
        for line in _verdict_chain(record, config):
            out.print(f"  {_clean(line)}")
    if record.raw:
        out.print("[bold]raw[/bold]")
        for key, value in sorted(record.raw.items()):
            out.print(f"  {_clean(key):<32} {_clean(value[:300])}")


def _print_rule(technique: str, info: RuleInfo | None, out: Console) -> None:
    """A finding's technique, and what its rule is about and may innocently mean."""
    out.print(f"      technique: {_clean(technique)}")
    if info is None:
        return
    out.print(f"      rule: {_clean(info.title)}")
    for text in info.false_positives:
        out.print(f"      innocent explanation: {_clean(text)}")


def _evidence(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``leaktriage evidence OUT KEY --out DIR``: the evidence pack of one record."""
    from leaktriage.errors import EXIT_UNVERIFIED
    from leaktriage.evidence import render_text, write_pack
    from leaktriage.report.data import rule_infos, run_ruleset

    def describe(record: FileRecord, config: dict[str, Any]) -> str:
        rules = rule_infos(run_ruleset(config))
        return render_text(lambda console: print_record(record, config, console, rules))

    store = _open_store(args.out)
    try:
        record = store.find(args.key)
        if record is None:
            err.print(f"leaktriage: no record {_clean(args.key)!s} in {_clean(args.out)}")
            return 2
        pack = write_pack(store, args.out, record, args.target, describe, args.force)
    finally:
        store.close()
    for problem in pack.problems:
        err.print(f"leaktriage: not verified: {_clean(problem)}")
    for note in pack.notes:
        err.print(f"leaktriage: note: {_clean(note)}")
    if not args.quiet:
        state = "verified" if pack.verified else "NOT verified"
        out.print(
            f"wrote {len(pack.files) + 1} files to {_clean(pack.folder)} "
            f"({_clean(record.path)}, bytes {state}); check with `sha256sum -c SHA256SUMS`"
        )
    return 0 if pack.verified else EXIT_UNVERIFIED


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
        data = load_report_data(store, args.report_limit)
        summary = summary_of(data, args.top)
        target = None
        if not args.no_html:
            target = write_html(
                store, args.html or store.path.parent / REPORT_NAME, args.report_limit
            )
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
        if data.left_out:
            out.print(
                f"  its table holds {data.shown} of the {data.total} items (every flagged one); "
                f"the other {data.left_out} are in files.csv and triage.sqlite (--report-limit)"
            )
        _heavy_report(target, out)
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
