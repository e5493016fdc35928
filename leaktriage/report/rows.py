"""The data the report's table and detail panel draw from, as the page carries it.

Every value in it comes from the dump, so none is ever written as markup. It travels in
inert ``<script>`` data blocks, which the browser never runs and the page's security policy
does not need to allow:

- ``report-meta``: plain JSON (escaped, so no value can close its element): the columns,
  rule titles and rationales, technique names, verdict names, and how the rest is laid out;
- ``z-col`` (one block per column of :data:`COLUMNS`): the table, one value per file, as
  gzip in base64; a column of like values compresses better than rows of mixed ones, and
  each path is written as the characters it shares with the one before and the rest;
- ``z-groups``: every corpus group, described once, as gzip in base64;
- ``z-details`` (one block per ``DETAIL_CHUNK`` files): each file's detail, as gzip in base64,
  unpacked only when one of its files is opened; the blocks share what ``PAGE_BUDGET``
  leaves them, and a block past its share is written again with its files' details cut
  (those of files that are not flagged first), each cut detail saying so;
- ``z-pic`` (one block per picture a flagged file's detail shows, see ``figures``): a
  ``data:`` URI made an image only when that detail is opened;
- ``report-cut``: how many details were cut, and to what (plain JSON, written last);
- ``p-rows`` (one block per ``FALLBACK_PAGE`` rows): ``[index, row]`` of every flagged file
  as plain JSON, in the table's first order: what a browser without ``DecompressionStream``
  shows, one page at a time, so every flagged file stays reachable in any browser.

The gzip streams are deterministic (no name, no time in the header) and written a chunk at a
time, so the memory the page takes does not grow with the number of files.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import json
import sqlite3
import tempfile
import zlib
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from leaktriage.report.common import (
    FINDINGS_PER_RULE,
    FLAGGED,
    FLAGGED_SQL,
    LIGHT,
    RANK_SQL,
    VERDICT_LEGEND,
    VERDICTS,
)

if TYPE_CHECKING:
    from leaktriage.report.data import ReportData

DETAIL_CHUNK = 1000
"""Files whose details share one compressed block (unpacked together when one is opened).
Each block is columnar: ``{key: [the value of each file, or null]}``, which compresses a
tenth better than a list of per-file objects."""
SHA_PREFIX = 16
"""Characters of the sha256 the detail of a file that is not flagged keeps (enough to look
it up in files.csv; 32 random characters cost a tenth of the page)."""
FALLBACK_PAGE = 100
"""Rows per fallback block: one page of the table."""
LEVEL = 9
"""gzip compression level."""
PAGE_BUDGET = 24_000_000
"""Characters the page's data may take: report.html stays under 30 MB with its first screen,
script and style. The details take what the table's columns and the fallback pages (whose
sizes are estimated from the store before writing) leave of it."""
COLUMN_CHARS = 32
"""Estimated characters of one file's table row, every column compressed."""
FALLBACK_CHARS = 90
"""Estimated characters of one fallback row besides its path."""
DETAIL_FLOOR = 4_000_000
"""The details' budget whatever the rest takes (a table of flagged files only)."""
FLAGGED_SHARE = 3
"""A flagged file's share of the details' budget against one of the others'."""
FORMS = (("full", "full"), ("full", "brief"), ("full", "stub"), ("brief", "stub"), ("stub", "stub"))
"""What a block's details are cut to, step by step, as (flagged files, the others):
``full`` is the whole detail, ``brief`` keeps the identity, provenance, findings, groups and
issues, ``stub`` only the identity, provenance and groups (the table row names the rules)."""
_BRIEF = ("chain", "h", "id", "find", "find_more", "groups", "issues", "same_count", "pics")
_STUB = ("chain", "h", "id", "groups", "issues", "pics")
GZIP = 31
"""zlib ``wbits`` for a gzip stream (its header has no name and a zero time)."""

_ROW_FACTS = (
    ("author", ("doc.author", "email.from")),
    ("application", ("doc.application", "doc.producer", "email.x_mailer")),
    ("title", ("doc.title", "email.subject")),
    ("created", ("doc.created", "image.datetime_original")),
    ("modified", ("doc.modified",)),
    ("email_date", ("email.date",)),
)
COLUMNS = [
    "path",
    "verdict",
    "score",
    "mime",
    "status",
    *(c for c, _ in _ROW_FACTS),
    "rules",
    "groups",
]
"""The columns of a table row."""

_SCRIPT_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)
"""One encoder for every piece of the data (``json.dumps`` with these options would build a
new one per call)."""


def dumps(data: Any) -> str:
    """Compact JSON, keys sorted."""
    return _ENCODER.encode(data)


def script_safe(text: str) -> str:
    """JSON text safe inside a ``<script>`` data block: ``<``, ``>``, ``&`` and the JavaScript
    line separators written as JSON escapes (``\\u003c``, ``\\u2028``), so no value can close
    the element or open a comment."""
    for char, code in _SCRIPT_ESCAPES:
        if char in text:
            text = text.replace(char, code)
    return text


def _first(facts: dict[str, list[str]], names: tuple[str, ...]) -> tuple[str, str]:
    """The fact a row column shows: the first of ``names`` the file has, and its first value."""
    for name in names:
        if facts.get(name):
            return name, facts[name][0]
    return "", ""


def table_row(f: dict[str, Any]) -> list[Any]:
    """A file's table row (see :data:`COLUMNS`)."""
    facts: dict[str, list[str]] = f["facts"]
    return [
        f["path"],
        f["verdict"],
        f["score"],
        f["mime"],
        f["status"],
        *(_first(facts, names)[1] for _, names in _ROW_FACTS),
        " ".join(sorted({x["rule_id"] for x in f["findings"]})),
        " ".join(str(g) for g in dict.fromkeys(gid for gid, _ in f["corpus"])),
    ]


def detail(f: dict[str, Any]) -> dict[str, Any]:
    """A file's detail as the page holds it: compact arrays, no markup. A fact the table
    row shows is written as the number of its column; at most ``FINDINGS_PER_RULE``
    findings of one rule, the others counted in ``find_more``; a group is named by its id
    only; the record id, md5 and whole sha256 of flagged files only (the others are named
    by their path and the first ``SHA_PREFIX`` characters of their sha256)."""
    facts: dict[str, list[str]] = f["facts"]
    in_row = {}
    for column, (_, names) in enumerate(_ROW_FACTS, 5):
        name, _ = _first(facts, names)
        if name and len(facts[name]) == 1:
            in_row[name] = column
    by_kind: dict[str, list[list[Any]]] = {}
    for name in sorted(facts):
        by_kind.setdefault(name.split(".", 1)[0], []).append([name, in_row.get(name, facts[name])])
    kept: list[list[Any]] = []
    per_rule: dict[str, int] = {}
    for x in f["findings"]:
        seen = per_rule[x["rule_id"]] = per_rule.get(x["rule_id"], 0) + 1
        if seen <= FINDINGS_PER_RULE:
            kept.append(
                [
                    x["rule_id"],
                    x["severity"],
                    x["grade"],
                    x["technique"],
                    x["message"],
                    x["source"],
                    x["evidence"],
                    x["evidence_more"],
                    x["evidence_members"],
                ]
            )
    flagged = f["verdict"] in FLAGGED
    sha = f["sha256"] if flagged else f["sha256"][:SHA_PREFIX]
    out: dict[str, Any] = {
        "chain": f["chain"],
        "h": [sha, f["md5"] if flagged else "", f["size"], f["extractor"], f["mtime"]],
        "facts": [[kind, by_kind[kind]] for kind in sorted(by_kind)],
        "find": kept,
    }
    if flagged:
        out["id"] = f["record_id"]
    more = [[rule, n - FINDINGS_PER_RULE] for rule, n in per_rule.items() if n > FINDINGS_PER_RULE]
    if more:
        out["find_more"] = more
    if f["corpus"]:
        out["groups"] = f["corpus"]
    for key in (
        "issues",
        "raw",
        "raw_more",
        "diffs",
        "diffs_more",
        "rare",
        "weights",
        "same",
        "pics",
    ):
        if f.get(key):
            out[key] = f[key]
    if f.get("same"):
        out["same_count"] = f["same_count"]
    return out


def cut_detail(d: dict[str, Any], form: str, dumped: bool = False) -> dict[str, Any]:
    """A file's detail cut to ``form`` (see :data:`FORMS`), marked with what it is; with
    ``dumped``, its values are JSON text already (as a block holds them)."""
    if form == "full":
        return d
    kept = {k: d[k] for k in (_BRIEF if form == "brief" else _STUB) if k in d}
    kept.setdefault("find", "[]" if dumped else [])
    kept["facts"] = "[]" if dumped else []  # and no facts_of: the detail it names may be cut
    kept["cut"] = dumps(form) if dumped else form
    return kept


def _front(previous: str, path: str) -> list[Any]:
    """``path`` as [characters shared with ``previous``, the rest] (the table is in path
    order, so neighbours share their folders)."""
    shared = 0
    for a, b in zip(previous, path, strict=False):
        if a != b:
            break
        shared += 1
    return [shared, path[shared:]]


class _Gzip:
    """A gzip stream written to a temporary file (``spill``), then copied out as base64.
    Text is compressed by the ``BUFFER`` characters, not by the value."""

    BUFFER = 1 << 16

    def __init__(self, spill: IO[bytes]) -> None:
        self._z = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP)
        self._spill = spill
        self._pending: list[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._pending.append(text)
        self._size += len(text)
        if self._size >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        self._spill.write(self._z.compress("".join(self._pending).encode("utf-8")))
        self._pending.clear()
        self._size = 0

    def copy_base64(self, out: IO[str]) -> None:
        """Write the finished stream to ``out`` as base64."""
        self._flush()
        self._spill.write(self._z.flush())
        self._spill.seek(0)
        # Base64 of pieces of a multiple of 3 bytes is the base64 of the whole.
        while piece := self._spill.read(3 << 16):
            out.write(base64.b64encode(piece).decode("ascii"))


def gzip_base64(text: str) -> str:
    """``text`` as deterministic gzip (UTF-8), in base64."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP)
    return base64.b64encode(z.compress(text.encode("utf-8")) + z.flush()).decode("ascii")


def _block(out: IO[str], attributes: str, text: str) -> None:
    out.write(f"<script {attributes}>{text}</script>\n")


def fallback_order(data: ReportData) -> list[int]:
    """The files the plain-JSON fallback holds, every flagged file, in the table's first
    order (verdict, score, path)."""
    return [
        idx
        for (idx,) in data.db.execute(
            f"SELECT r.idx FROM {data.table} r JOIN files f USING (record_id) "
            f"WHERE f.verdict IN ({FLAGGED_SQL}) "
            f"ORDER BY {RANK_SQL}, coalesce(f.score, 0) DESC, f.path, r.idx"
        )
    ]


def meta(data: ReportData, fallback: int) -> dict[str, Any]:
    """What the page's script needs before any block is unpacked."""
    return {
        "columns": COLUMNS,
        "legend": VERDICT_LEGEND,
        "verdicts": list(VERDICTS),
        "rules": {
            rid: [data.rules[rid].title, data.rules[rid].rationale, data.rules[rid].false_positives]
            for rid in data.used_rules
            if rid in data.rules
        },
        "techniques": data.techniques,
        "files": data.shown,
        "chunk": DETAIL_CHUNK,
        "page": FALLBACK_PAGE,
        "fallback": fallback,
        "light": {"value": LIGHT.value, "items": LIGHT.items, "evidence": LIGHT.evidence},
    }


def write_data(data: ReportData, out: IO[str]) -> None:
    """Write the page's data blocks (see the module's docstring) to ``out``, a chunk of
    files at a time."""
    order = fallback_order(data)
    position = {idx: n for n, idx in enumerate(order)}
    _block(
        out,
        'type="application/json" id="report-meta"',
        script_safe(dumps(meta(data, len(order)))),
    )
    spans: list[tuple[int, int]] = [(0, 0)] * len(order)
    # Millions of short-lived lists and dicts, none in a cycle: reference counting frees
    # them, and the cyclic collector's passes over them cost a sixth of the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with contextlib.ExitStack() as stack:
            plain = stack.enter_context(tempfile.TemporaryFile())
            columns = [_Gzip(stack.enter_context(tempfile.TemporaryFile())) for _ in COLUMNS]
            details = _Details(out, _Budget(data), data.db, f"{data.table}_facts")
            figures = data.figures()
            path, sep = "", "["
            for f in data.iter_files():
                row = table_row(f)
                if f["idx"] in position:
                    encoded = script_safe(dumps([f["idx"], fallback_row(row)])).encode("utf-8")
                    spans[position[f["idx"]]] = (plain.tell(), len(encoded))
                    plain.write(encoded)
                path, row[0] = row[0], _front(path, row[0])
                for column, value in zip(columns, row, strict=True):
                    column.write(sep + dumps(value))
                sep = ","
                details.add(f, row)
            details.flush()
            for n, column in enumerate(columns):
                column.write("]" if sep == "," else "[]")
                out.write(f'<script type="application/octet-stream" class="z-col" data-col="{n}">')
                column.copy_base64(out)
                out.write("</script>\n")
            _block(
                out,
                'type="application/octet-stream" id="z-groups"',
                gzip_base64(dumps(list(data.every_group()))),
            )
            figures.write_blocks(out)
            for start in range(0, len(spans), FALLBACK_PAGE):
                parts = []
                for offset, length in spans[start : start + FALLBACK_PAGE]:
                    plain.seek(offset)
                    parts.append(plain.read(length).decode("utf-8"))
                _block(out, 'type="application/json" class="p-rows"', f"[{','.join(parts)}]")
            _block(out, 'type="application/json" id="report-cut"', dumps(details.budget.summary()))
    finally:
        if collecting:
            gc.enable()


class _Chunk:
    """The details of a block of files by key, each value already JSON (a block's text is
    several times smaller than its dicts): ``{key: [value of each file, or null]}``, each
    file's detail cut to its form when the block is written (:func:`cut_detail`)."""

    def __init__(self) -> None:
        self.count = 0
        self.columns: dict[str, list[str]] = {}
        self.flagged: list[bool] = []

    def __len__(self) -> int:
        return self.count

    def add(self, detail: dict[str, str], flagged: bool) -> None:
        """One file's detail, each value JSON text."""
        for key, value in detail.items():
            # A key first seen now was null for the files before.
            self.columns.setdefault(key, ["null"] * self.count).append(value)
        self.count += 1
        self.flagged.append(flagged)
        for values in self.columns.values():
            if len(values) < self.count:
                values.append("null")

    def json(self, forms: tuple[str, str] = ("full", "full")) -> str:
        """The block as one JSON object, keys sorted (as :func:`dumps` would write it), each
        detail cut to ``forms`` (for flagged files, for the others)."""
        columns = self.columns
        if forms != ("full", "full"):
            columns = {key: list(values) for key, values in columns.items()}
            columns.setdefault("find", ["null"] * self.count)
            columns.setdefault("facts", ["null"] * self.count)
            columns["cut"] = ["null"] * self.count
            for i, flagged in enumerate(self.flagged):
                form = _form(forms, flagged)
                if form == "full":
                    continue
                detail = {key: values[i] for key, values in columns.items() if values[i] != "null"}
                cut = cut_detail(detail, form, dumped=True)
                for key, values in columns.items():
                    values[i] = cut.get(key, "null")
        return (
            "{"
            + ",".join(
                f"{dumps(key)}:[{','.join(columns[key])}]"
                for key in sorted(columns)
                if any(v != "null" for v in columns[key])
            )
            + "}"
        )


class _Budget:
    """The characters the detail blocks may still take, and how many details were cut."""

    def __init__(self, data: ReportData) -> None:
        row: tuple[int, int, int] = data.db.execute(
            f"SELECT coalesce(sum(f.verdict IN ({FLAGGED_SQL})), 0), "
            f"coalesce(sum(f.verdict NOT IN ({FLAGGED_SQL}) OR f.verdict IS NULL), 0), "
            f"coalesce(sum(CASE WHEN f.verdict IN ({FLAGGED_SQL}) THEN length(f.path) END), 0) "
            f"FROM {data.table} r JOIN files f USING (record_id)"
        ).fetchone()
        flagged, others, paths = row
        rest = COLUMN_CHARS * (flagged + others) + FALLBACK_CHARS * flagged + paths
        self.total: int = max(PAGE_BUDGET - rest, DETAIL_FLOOR)
        self.unit: float = self.total / max(FLAGGED_SHARE * flagged + others, 1)
        self.spare = 0.0
        self.ratio = 0.15
        """Compressed base64 characters per JSON character, as the last block had it."""
        self.cut: Counter[str] = Counter()

    def allowance(self, chunk: _Chunk) -> float:
        """What a block of these files may take: their share, and what earlier ones left."""
        shares = sum(FLAGGED_SHARE if flagged else 1 for flagged in chunk.flagged)
        return self.unit * shares + self.spare

    def summary(self) -> dict[str, Any]:
        return {"budget": int(self.total), "brief": self.cut["brief"], "stub": self.cut["stub"]}


class _Details:
    """The ``z-details`` blocks, written a ``DETAIL_CHUNK`` of files at a time.

    A leak repeats its attachments: the copies of one file have the same facts and raw
    metadata, so only the first detail in the table with those facts carries them and the
    others name it (``facts_of``, unpacked from its block when needed), as long as that first
    detail was written whole."""

    def __init__(self, out: IO[str], budget: _Budget, db: sqlite3.Connection, table: str) -> None:
        self.out = out
        self.budget = budget
        self.chunk = _Chunk()
        self.first = 0
        self.db = db
        self.table = table
        """A temporary table: digest of the facts (and whether flagged) -> the file whose
        whole detail carries them (SQLite's, so that memory does not grow with the files)."""
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TABLE {table} (digest BLOB PRIMARY KEY, idx INTEGER) WITHOUT ROWID")
        self.pending: dict[bytes, int] = {}
        """The same, for the block being filled (kept once it is written whole)."""

    def add(self, f: dict[str, Any], row: list[Any]) -> None:
        flagged = f["verdict"] in FLAGGED
        # Held as JSON text until the block is written (a block's text is several times
        # smaller than its dicts).
        d = {key: dumps(value) for key, value in detail(f).items()}
        # Equal facts, not equal bytes: a few facts come from a file's name (maildir flags).
        # A fact the row shows is written as its column's number, so the row's values are
        # part of what must be equal.
        shown = "\n".join((d["facts"], d.get("raw", ""), d.get("raw_more", ""), dumps(row[5:11])))
        key = hashlib.blake2b(shown.encode("utf-8"), digest_size=16).digest() + bytes([flagged])
        target = self.pending.get(key)
        if target is None:
            found = self.db.execute(f"SELECT idx FROM {self.table} WHERE digest = ?", (key,))
            target = next((idx for (idx,) in found), None)
        if target is None:
            self.pending[key] = f["idx"]
        else:
            for name in ("facts", "raw", "raw_more"):
                d.pop(name, None)
            d["facts_of"] = dumps(target)
        self.chunk.add(d, flagged)
        if len(self.chunk) == DETAIL_CHUNK:
            self.flush()

    def flush(self) -> None:
        if not len(self.chunk):
            return
        forms = _details_block(self.out, self.first, self.chunk, self.budget)
        self.db.executemany(
            f"INSERT INTO {self.table} VALUES (?, ?)",
            (
                (key, idx)
                for key, idx in self.pending.items()
                if _form(forms, bool(key[-1])) == "full"  # its last byte: flagged or not
            ),
        )
        self.pending.clear()
        self.first += len(self.chunk)
        self.chunk = _Chunk()


def _form(forms: tuple[str, str], flagged: bool) -> str:
    """What a file's detail is cut to under ``forms`` (flagged files, the others)."""
    return forms[0] if flagged else forms[1]


def _details_block(out: IO[str], first: int, chunk: _Chunk, budget: _Budget) -> tuple[str, str]:
    """One block of details, cut (see :data:`FORMS`) until it fits its share of the budget.
    The compressed size is guessed from the last block's ratio, so that a block is
    compressed once or twice, not once per form."""
    allowance = budget.allowance(chunk)
    step, text = 0, chunk.json(FORMS[0])
    while step + 1 < len(FORMS) and len(text) * budget.ratio > allowance:
        step += 1
        text = chunk.json(FORMS[step])
    packed = gzip_base64(text)
    budget.ratio = len(packed) / max(len(text), 1)
    while step + 1 < len(FORMS) and len(packed) > allowance:
        step += 1
        text = chunk.json(FORMS[step])
        packed = gzip_base64(text)
    budget.spare = max(allowance - len(packed), 0.0)
    forms = FORMS[step]
    budget.cut.update(
        form for flagged in chunk.flagged if (form := _form(forms, flagged)) != "full"
    )
    _block(
        out,
        f'type="application/octet-stream" class="z-details" data-first="{int(first)}"',
        packed,
    )
    return forms


FALLBACK_COLUMNS = (0, 1, 2, 11, 12)
"""The columns a fallback row keeps (path, verdict, score, rules, groups): the fallback is
for browsers too old to unpack the table, and keeps every flagged file in a few bytes."""


def fallback_row(row: list[Any]) -> list[Any]:
    """A row of the plain fallback: :data:`FALLBACK_COLUMNS` kept, the others empty."""
    return [v if n in FALLBACK_COLUMNS else "" for n, v in enumerate(row)]
