"""ScanConfig: every limit and switch of a scan, with defaults a laptop can live with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

MiB = 1024 * 1024
GiB = 1024 * MiB


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

    RUN_ONLY = ("workers", "reuse", "verify_hashes", "executor", "scheduler")
    """Options that change how a scan runs but never what it finds."""

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form for the runs table."""
        data = asdict(self)
        data["leak_date"] = self.leak_date.isoformat() if self.leak_date else None
        return data
