"""``OUT/evidence/<record_id>/<name>``: the pictures and revision PDFs the store keeps
(``evidence_files``) of every record whose verdict is suspicious or worse, written after the
corpus stage and the mail threads, once verdicts are final.

Each file is written under a temporary name and renamed (``outfile``); one already there
with the same bytes is left as it is. A folder of a record no longer flagged (or no longer
in the dump) is removed, so the folder always matches the run's verdicts, and the manifest
lists every file with its sha256. Only names this module writes are ever touched: a record
id (32 hex digits) as folder name, a picture name made by ``report.pictures``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from leaktriage.outfile import atomic_bytes
from leaktriage.report.common import FLAGGED
from leaktriage.store import Store
from leaktriage.store.evidence import EvidenceEntry

log = logging.getLogger(__name__)

EVIDENCE_DIR = "evidence"
"""The folder of ``OUT`` that holds the evidence files."""
_RECORD = re.compile(r"^[0-9a-f]{32}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}\.(?:png|jpg|pdf)$")


def write_evidence(out: Path, store: Store) -> dict[str, str]:
    """Write the evidence files of the flagged records into ``OUT/evidence`` and remove
    those of records no longer flagged; returns ``{"<record_id>/<name>": sha256}`` sorted,
    for the manifest. An entry whose id or name is not one this module makes is skipped."""
    root = out / EVIDENCE_DIR
    entries = [
        e
        for e in store.evidence_entries(FLAGGED)
        if _RECORD.match(e.record_id) and _NAME.match(e.name)
    ]
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        wanted.setdefault(entry.record_id, set()).add(entry.name)
    _prune(root, wanted)
    written: dict[str, str] = {}
    for entry in entries:
        folder = root / entry.record_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / entry.name
        if not _same(target, entry):
            data = store.evidence_data(entry.record_id, entry.name)
            if data is None:
                continue
            with atomic_bytes(target) as handle:
                handle.write(data)
        written[f"{entry.record_id}/{entry.name}"] = entry.sha256
    if not written and root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    return dict(sorted(written.items()))


def _same(target: Path, entry: EvidenceEntry) -> bool:
    """True when ``target`` is a regular file with the entry's bytes already."""
    try:
        if target.is_symlink() or not target.is_file() or target.stat().st_size != entry.size:
            return False
        return hashlib.sha256(target.read_bytes()).hexdigest() == entry.sha256
    except OSError:
        return False


def _prune(root: Path, wanted: dict[str, set[str]]) -> None:
    """Remove the record folders (and the files in kept folders) that ``wanted`` does not
    name; a symlink is removed as a link, never followed."""
    if not root.is_dir() or root.is_symlink():
        if root.is_symlink():
            root.unlink()
        return
    for folder in _entries(root):
        if not _RECORD.match(folder.name):
            continue
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink()
            continue
        names = wanted.get(folder.name)
        if names is None:
            shutil.rmtree(folder)
            continue
        for path in _entries(folder):
            if path.name not in names and (path.is_symlink() or path.is_file()):
                path.unlink()


def _entries(folder: Path) -> Iterable[Path]:
    with os.scandir(folder) as found:
        return sorted(Path(e.path) for e in found)
