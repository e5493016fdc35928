"""leaktriage: triage a leaked document dump for authenticity, one record per item.

Public API::

    import leaktriage
    for record in leaktriage.scan("dump/"):
        print(record.path, record.status, record.fields.get("doc.last_modified_by"))
"""

from __future__ import annotations

__version__ = "0.1.0"

from leaktriage.api import RunSummary, run_scan, scan, triage_file
from leaktriage.config import Limits, ScanConfig
from leaktriage.model import Evidence, FileRecord, Finding, Issue, Severity, Status

__all__ = [
    "Evidence",
    "FileRecord",
    "Finding",
    "Issue",
    "Limits",
    "RunSummary",
    "ScanConfig",
    "Severity",
    "Status",
    "__version__",
    "run_scan",
    "scan",
    "triage_file",
]
