"""The run manifest (``OUT/manifest.json``): what was scanned, with what, and every item's hash.

It lets a reader check a report later: re-hash the dump and compare, re-run the same tool and
rule versions with the same options, and confirm the output files are the ones produced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from leaktriage import __version__
from leaktriage.config import ScanConfig
from leaktriage.model import iso_utc
from leaktriage.outfile import atomic_text
from leaktriage.store import Store, views

DEPENDENCIES = (
    "pymupdf",
    "python-docx",
    "olefile",
    "exifread",
    "langdetect",
    "scikit-learn",
    "libarchive-c",
    "python-magic",
    "defusedxml",
    "pillow",
    "dkimpy",
    "dnspython",
)
"""Packages whose version can change what a scan extracts."""


def _versions() -> dict[str, str]:
    found = {}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def file_sha256(path: Path) -> str:
    """sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def kept_outputs(out: Path, names: list[str], verify: bool = False) -> dict[str, str]:
    """Those of ``names`` in ``out`` that are still what the previous run's manifest recorded
    (an output edited or damaged since is not trusted), with their sha256.

    As for the dump's own files, an output with the size and modification time the manifest
    noted is taken as unchanged; any other, or every one with ``verify``, is re-hashed and
    compared with the recorded sha256.
    """
    try:
        manifest = _run_facts(out / "manifest.json")
        recorded, stats = manifest["outputs"], manifest.get("output_stats", {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    if not isinstance(recorded, dict) or not isinstance(stats, dict):
        return {}
    intact = {}
    for name in names:
        path = out / name
        if not path.is_file() or not isinstance(recorded.get(name), str):
            continue
        untouched = not verify and stats.get(name) == _stat(path)
        if untouched or recorded[name] == file_sha256(path):
            intact[name] = recorded[name]
    return intact


_ITEMS = ',\n "items": ['
"""Where :func:`write_manifest` ends the run's facts and starts the list of items."""


def _run_facts(path: Path) -> dict[str, Any]:
    """The run's facts of a manifest, without parsing its list of items (a line per record:
    megabytes for a large dump); a manifest laid out otherwise is parsed whole."""
    with path.open(encoding="utf-8") as handle:
        text = handle.read(1 << 20)
        while _ITEMS not in text and (more := handle.read(1 << 20)):
            text += more
        head, found, _ = text.partition(_ITEMS)
        if found:
            with contextlib.suppress(ValueError):
                facts = json.loads(head + "\n}")
                if isinstance(facts, dict):
                    return facts
        facts = json.loads(text + handle.read())
    if not isinstance(facts, dict):
        raise ValueError("manifest.json is not an object")
    return facts


def _stat(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def write_manifest(
    out: Path,
    store: Store,
    root: Path,
    config: ScanConfig,
    started: datetime,
    finished: datetime,
    counts: dict[str, int],
    outputs: list[Path],
    phases: dict[str, float] | None = None,
    digests: dict[str, str] | None = None,
    failed_stages: dict[str, str] | None = None,
    evidence: dict[str, str] | None = None,
) -> Path:
    """Write ``manifest.json`` into ``out`` and return its path.

    The run's facts come first, indented; ``items`` follows with one item per line, streamed
    from the store, so the manifest of a large dump is written in bounded memory. ``digests``
    gives the sha256 of outputs already hashed as they were written; ``evidence`` the
    sha256 of each file under ``OUT/evidence`` by its path there (``<record_id>/<name>``).
    """
    total = views.present_count(store)
    manifest: dict[str, Any] = {
        "tool": "leaktriage",
        "version": __version__,
        "python": platform.python_version(),
        # os.uname, not platform.platform(): the latter shells out, which the sandbox refuses.
        "platform": f"{sys.platform} {os.uname().release} {os.uname().machine}",
        "dependencies": _versions(),
        "input": str(root),
        "options": config.to_json(),
        "started": iso_utc(started),
        "finished": iso_utc(finished),
        "counts": dict(sorted(counts.items())),
        "items_total": total,
        "outputs": {p.name: (digests or {}).get(p.name) or file_sha256(p) for p in outputs},
        # Size and modification time (ns) of each output, so a re-scan knows it untouched.
        "output_stats": {p.name: _stat(p) for p in outputs},
        # The pictures and revision PDFs of flagged records under OUT/evidence.
        "evidence": dict(sorted((evidence or {}).items())),
        # Wall-clock seconds per stage: what a slow scan spent its time on.
        "phases": phases or {},
        # After-walk stages that failed (a bug of ours): the outputs lack their results.
        "failed_stages": failed_stages or {},
    }
    head = json.dumps(manifest, indent=1, ensure_ascii=False)
    target = out / "manifest.json"
    with atomic_text(target) as handle:
        handle.write(head[:-2] + _ITEMS)
        first = True
        for batch in views.manifest_items(store):
            handle.write(("\n  " if first else ",\n  ") + ",\n  ".join(batch))
            first = False
        handle.write("\n ]\n}" if total else "]\n}")
    return target
