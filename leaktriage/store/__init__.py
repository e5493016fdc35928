"""The store owns the SQL: one scan's SQLite file (``triage.sqlite``), its schema, how records
are written into it, every query made on it, and the exports rendered from it.

- ``schema`` - tables, indexes, value encoding, the checks before a file is opened;
- ``database`` - :class:`Store` and its queries (runs, records, corpus, threads, report);
- ``writer`` - records written in batches by a second connection (thread or process);
- ``exports`` - ``files.jsonl`` and ``files.csv``, and the export cache behind them.
"""

from leaktriage.store.database import Store
from leaktriage.store.exports import (
    CSV_COLUMNS,
    export_csv,
    export_dkim_keys,
    export_files,
    export_jsonl,
    refresh_export_cache,
)
from leaktriage.store.schema import BATCH, CORPUS_TABLES, DB_NAME, STATES

__all__ = [
    "BATCH",
    "CORPUS_TABLES",
    "CSV_COLUMNS",
    "DB_NAME",
    "STATES",
    "Store",
    "export_csv",
    "export_dkim_keys",
    "export_files",
    "export_jsonl",
    "refresh_export_cache",
]
