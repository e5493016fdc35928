"""ScanConfig: every limit and switch of a scan, with defaults a laptop can live with."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from leaktriage.errors import InputError, OptionTypeError, UsageError

MiB = 1024 * 1024
GiB = 1024 * MiB

EXECUTORS = ("local", "dask")
"""Where extraction can run (``ScanConfig.executor``)."""
REPORT_LIMIT = 100_000
"""Default of ``ScanConfig.report_limit``: a report of 100,000 files of a dump full of
re-saved copies stays under 30 MB (``benchmarks/bench_report.py``)."""


def at_least(option: str, value: object, low: float, *, above: bool = False) -> None:
    """Raise UsageError unless ``value`` is a number >= ``low`` (> ``low`` with ``above``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionTypeError(option, "must be a number", value)
    if value < low or (above and value == low):
        raise UsageError(option, f"must be {'more than' if above else 'at least'} {low:g}", value)


def scheduler_endpoint(address: str) -> tuple[str, int]:
    """(host, port) of a ``tcp://host:port`` Dask scheduler address (UsageError if it is not
    one)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port or 8786
    except ValueError:
        port = 0
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not port:
        raise UsageError("scheduler", "must be a Dask scheduler address (tcp://host:port)", address)
    return parts.hostname, port


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits. An item past one is recorded as ``skipped`` with the reason, never dropped."""

    max_depth: int = 5
    """Containers (archives, mailboxes, emails) nested deeper than this are not opened."""
    max_member_bytes: int = 4 * GiB
    """Largest single member read out of an archive (counted while decompressing)."""
    max_archive_bytes: int = 16 * GiB
    """Most bytes decompressed out of one archive, all members together."""
    max_ratio: float = 200.0
    """Largest decompressed/compressed ratio of an archive, checked once it has produced
    ``ratio_grace_bytes``; a zip bomb trips it within the first megabytes."""
    ratio_grace_bytes: int = 16 * MiB
    """Output below this is never called a bomb (small, very compressible files are normal)."""
    max_members: int = 100_000
    """Members read per archive; the ones past it are listed as skipped without reading."""
    max_parse_bytes: int = 512 * MiB
    """Larger items are hashed and typed but not parsed."""
    memory_spool_bytes: int = 64 * MiB
    """Members larger than this are spooled to the scan's private temp dir instead of RAM."""
    max_children: int = 10_000
    """Attachments or messages taken out of one email or mailbox."""

    def __post_init__(self) -> None:
        """Refuse a limit out of range (UsageError): each one is a count or a size, and a
        ratio under 1 would call every archive a bomb."""
        for limit in fields(self):
            at_least(limit.name, getattr(self, limit.name), 1 if limit.name == "max_ratio" else 0)


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Options of one scan; recorded in the run's manifest so a report can be reproduced."""

    limits: Limits = field(default_factory=Limits)
    leak_date: date | None = None
    """When the dump was published; timestamps after it are suspect."""
    workers: int | None = None
    """Extraction worker processes; None = one per core; 0 = parse in the calling process
    (no isolation: a parser crash or hang then stops the caller)."""
    timeout_s: float = 60.0
    """Wall time one item may take to parse before its worker is killed (status error/timeout)."""
    memory_limit_bytes: int = 1536 * MiB
    """Address-space limit of each worker process (status error/memory past it); 0 = none."""
    text_sample_bytes: int = 8192
    """How much body text to keep per document for language and comparison."""
    rule_dirs: tuple[str, ...] = ()
    """Newsroom rule folders loaded beside the bundled ``rules/``."""
    decoys: str | None = None
    """A newsroom's decoy list (``kind:value`` lines), matched against every record."""
    yara_dir: str | None = None
    """A folder of YARA rules run over every item's bytes and decompressed parts."""
    use_rules: bool = True
    """Evaluate the rules (findings, verdict, score) on every record."""
    hash_md5: bool = True
    """Also compute MD5, to match the hashes other tools and leak indexes publish."""
    dkim_keys: str | None = None
    """Key-store file of archived DKIM public keys, one ``selector._domainkey.domain`` TXT
    record per line; signatures are verified offline against it."""
    dkim_dns: bool = False
    """Also look DKIM keys up in live DNS (the only network use leaktriage ever makes)."""
    trust_roots: str | None = None
    """PEM bundle of the root certificates PDF signatures may chain to; without it, no
    signature is called trusted (the machine's own roots are never used)."""
    reuse: bool = True
    """Scanning into an output folder that holds an earlier scan keeps the records of files
    whose provenance, size and mtime are unchanged (same tool version, options and rules)."""
    verify_hashes: bool = False
    """With ``reuse``: re-hash unchanged-looking files and keep their records only when the
    sha256 still matches."""
    executor: str = "local"
    """Where extraction runs: ``local`` worker processes, or ``dask`` (a Dask cluster)."""
    scheduler: str | None = None
    """Address of the Dask scheduler (``tcp://host:8786``) for ``executor="dask"``."""
    report_limit: int = REPORT_LIMIT
    """Most files the table of ``report.html`` holds (every flagged file is always kept; the
    others past it are left out, the page says how many, and ``files.csv`` and the store hold
    them). The default keeps the report of a dump full of re-saved copies under 30 MB."""

    RUN_ONLY = ("workers", "reuse", "verify_hashes", "executor", "scheduler", "report_limit")
    """Options that change how a scan runs or what it shows, but never what it finds."""

    def __post_init__(self) -> None:
        """Refuse a value out of range (UsageError, a ValueError) or of the wrong type
        (OptionTypeError, a TypeError), naming the option; a ``datetime`` leak date is
        taken as its day."""
        if not isinstance(self.limits, Limits):
            raise OptionTypeError("limits", "must be a leaktriage.Limits", self.limits)
        if isinstance(self.leak_date, datetime):
            object.__setattr__(self, "leak_date", self.leak_date.date())
        elif self.leak_date is not None and not isinstance(self.leak_date, date):
            raise OptionTypeError(
                "leak_date",
                "must be a datetime.date, e.g. datetime.date.fromisoformat('2017-05-05')",
                self.leak_date,
            )
        if self.workers is not None:
            at_least("workers", self.workers, 0)
        at_least("timeout_s", self.timeout_s, 0, above=True)
        at_least("memory_limit_bytes", self.memory_limit_bytes, 0)
        at_least("text_sample_bytes", self.text_sample_bytes, 0)
        if isinstance(self.report_limit, float):
            raise OptionTypeError("report_limit", "must be a whole number", self.report_limit)
        at_least("report_limit", self.report_limit, 0)
        rule_dirs: object = self.rule_dirs
        if isinstance(rule_dirs, str | bytes):  # not one folder per character
            raise OptionTypeError("rule_dirs", "must be a tuple of folders", rule_dirs)
        if self.executor not in EXECUTORS:
            raise UsageError("executor", f"must be one of {EXECUTORS}", self.executor)
        if self.executor == "dask":
            if not self.scheduler:
                raise UsageError("scheduler", "is needed with executor 'dask' (tcp://host:port)")
            scheduler_endpoint(self.scheduler)
        elif self.scheduler:
            raise UsageError("scheduler", "is used only with executor 'dask'", self.scheduler)

    def check_files(self) -> None:
        """Raise InputError naming the first option file or folder (decoy list, key store,
        rule and YARA folders) that is missing or unreadable: a scan checks them before it
        writes anything, instead of stopping at the first record that needs them."""
        wanted = [
            ("decoy list (--decoys)", self.decoys, False),
            ("DKIM key store (--dkim-keys)", self.dkim_keys, False),
            ("trusted root certificates (--trust-roots)", self.trust_roots, False),
            ("YARA rule folder (--yara)", self.yara_dir, True),
            *(("rule folder (--rules)", folder, True) for folder in self.rule_dirs),
        ]
        for what, name, is_folder in wanted:
            if not name:
                continue
            path = Path(name)
            try:
                if is_folder:
                    with os.scandir(path):
                        pass
                else:
                    with path.open("rb"):
                        pass
            except OSError as exc:
                raise InputError(f"{what} {path}: {exc.strerror or exc}") from exc

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form for the runs table."""
        data = asdict(self)
        data["leak_date"] = self.leak_date.isoformat() if self.leak_date else None
        return data
