"""``files.jsonl``: one JSON object per record, sorted by provenance path - the contract
ingestion scripts read. Each record's line is rendered once, when the record is written
(the store keeps it in its export cache); :func:`patched` re-renders only what the corpus
stage changes (findings, verdict, score). Every line is kept within ``leaktriage.bounds``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.bounds import bounded
from leaktriage.model import FileRecord
from leaktriage.report.registry import Output, register

if TYPE_CHECKING:
    from leaktriage.store import Store

FILE_NAME = "files.jsonl"


def line(record: FileRecord) -> bytes:
    """The record's line in UTF-8, without the ``scan_state`` the export adds."""
    return _dumps(bounded(record.to_json()))


def patched(
    cached: bytes, verdict: str | None, score: float | None, findings: list[dict[str, Any]]
) -> bytes:
    """A cached line with the record's current findings, verdict and score."""
    data = json.loads(cached)
    data["verdict"] = verdict
    data["score"] = score
    data["findings"] = findings
    return _dumps(bounded(data, values=False))  # its values were bounded when first rendered


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


def write(store: Store, path: Path) -> int:
    """Write ``files.jsonl`` from the store; returns the record count."""
    from leaktriage.store import export_files

    return export_files(store, path, None)


register(Output("jsonl", FILE_NAME, write))
