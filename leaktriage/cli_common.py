"""What every command shares: values cleaned for the terminal, a scan's store opened for
reading, and the count tables the scan and ``analyze`` print."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from leaktriage.errors import InputError

if TYPE_CHECKING:
    from leaktriage.corpus import CorpusSummary
    from leaktriage.store import Store


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


def _heavy_report(path: Path, out: Console) -> None:
    """Say so when ``path`` is too large for a laptop's browser."""
    from leaktriage.report.html import HEAVY_BYTES

    with contextlib.suppress(OSError):
        size = path.stat().st_size
        if size > HEAVY_BYTES:
            out.print(
                f"  {_clean(path.name)} is {size / 1e6:.0f} MB, more than a laptop's browser opens "
                "comfortably: `leaktriage report OUT --report-limit N` with a smaller N keeps "
                "every flagged file and fewer others"
            )


def progress_bar(err: Console, quiet: bool, before: str, after: str) -> Progress:
    """The commands' progress display on stderr (only on a terminal, never with -q): a
    spinner, ``before``, a bar, ``after`` and the time elapsed (templates of rich's
    ``TextColumn``)."""
    return Progress(
        SpinnerColumn(),
        TextColumn(before),
        BarColumn(bar_width=None),
        TextColumn(after),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    )
