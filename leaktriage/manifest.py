"""The run manifest (``OUT/manifest.json``): what was scanned, with what, and every item's hash.

It lets a reader check a report later: re-hash the dump and compare, re-run the same tool and
rule versions with the same options, and confirm the output files are the ones produced.
"""

from __future__ import annotations

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
from leaktriage.store import Store

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


def write_manifest(
    out: Path,
    store: Store,
    root: Path,
    config: ScanConfig,
    started: datetime,
    finished: datetime,
    counts: dict[str, int],
    outputs: list[Path],
) -> Path:
    """Write ``manifest.json`` into ``out`` and return its path."""
    items = [
        {"path": path, "record_id": record_id, "sha256": sha256, "size": size, "status": status}
        for record_id, path, sha256, size, status in store.db.execute(
            "SELECT record_id, path, sha256, size, status FROM files "
            "LEFT JOIN file_state USING (record_id) WHERE coalesce(state, 'new') != 'gone' "
            "ORDER BY path, record_id"
        )
    ]
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
        "items_total": len(items),
        "outputs": {p.name: file_sha256(p) for p in outputs},
        "items": items,
    }
    target = out / "manifest.json"
    target.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return target
