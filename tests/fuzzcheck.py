"""Scan a planned dump (:mod:`tests.fuzzdump`) and check everything a scan promises about it.

Per dump:

* the scan finishes: in-process through :func:`leaktriage.api.run_scan`, or through the CLI
  (``python -m leaktriage scan``, exit status 0); a crash becomes a violation whose code names
  the exception and the leaktriage function it escaped from;
* every item has exactly one record: record ids unique, parents known, depths and provenance
  prefixes consistent; every file on disk has exactly one top-level record (by path where the
  name is plain, by content hash otherwise) and no member has a file on disk's path; every
  container written intact has one record per member it holds (content hashes compared), a
  compressed stream exactly one, an intact email one per attachment; a bomb says which limit
  stopped it;
* the same bytes get the same type wherever they sit (on disk, in a zip, in a gz...);
* ``files.jsonl`` (each line JSON), ``files.csv`` (Python's ``csv``: same rows, paths and ids),
  ``triage.sqlite`` (``PRAGMA integrity_check``, row count, run count) and ``report.html``
  (parses, shows the count, holds the report's one script and otherwise inert data blocks
  only, no event-handler attribute, its data blocks unpack to one row per record) agree on
  the count.

:data:`KNOWN` lists the violation codes the current code is known to produce (the findings
F1-F11 of ``fuzz/README.md``); the tests count those and go on, and fail at the end while
any occurs.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import io
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import FrameType
from typing import Any

from leaktriage import detect
from leaktriage.api import run_scan
from leaktriage.config import Limits, ScanConfig
from leaktriage.model import Status
from leaktriage.store import CSV_COLUMNS
from tests._report_page import DATA_TYPES, page_data
from tests.fuzzdump import DiskFile, Dump, Node

LIMITS = Limits(
    max_depth=3,
    ratio_grace_bytes=1 << 20,
    max_archive_bytes=64 << 20,
    memory_spool_bytes=256 << 10,
)
"""Limits of the in-process scans: small enough that bombs trip within a megabyte, members
past 256 KiB spooled to the private temp dir, and every nesting shape within reach."""
CLI_LIMITS = Limits(max_depth=3)
"""What ``--max-depth 3`` leaves the CLI runs (the other limits are the defaults)."""
SCAN_SECONDS = 120
"""A scan of one small dump taking longer is reported as a hang."""

KNOWN: dict[str, str] = {
    "crash:TypeError@walk.py:name_issues": "F1 non-UTF-8 tar member name",
    "crash:UnicodeEncodeError@store.py:_cache_row": "F2 lone surrogates reach the store",
    "csv:rows": "F3 newlines in CSV cells not quoted",
    "crash:Error@store.py:_patched": "F3 newlines in CSV cells not quoted",
    "crash:MemoryError@walk.py:_read_zip_member": "F4 bzip2/LZMA zip member decompressed whole",
    "stream:member:read-as-zip": "F5 a compressed zip-based file is read as the zip",
    "stream:member:read-as-7-zip": "F5 a compressed 7z is read as the 7z (and fails)",
    "stream:member:zero-blocks": "F8 a compressed stream of zero blocks is read as a tar",
    "stream:member:read-as-mtree": "F10 compressed text is read as an mtree listing",
    "stream:member:filters-stacked": "F11 x.gz.gz: the inner compressed file has no record",
    "stream:member:empty": "F13 a compressed empty file has no record",
    "path:collision": "F6 a loose file and an archive member share a path",
    "crash:ValueError@walk.py:_fs_time": "F7 tar member time out of range",
    "bomb:unflagged:bomb-gz": "F8 a compressed stream of zero blocks is read as a tar",
    "bomb:unflagged:bomb-bz2": "F8 a compressed stream of zero blocks is read as a tar",
    "members:items:zip:names=invalid-flag": "F9 a non-UTF-8 zip name under the UTF-8 flag",
    "type:*-as-application/pdf": "F12 '%PDF-' in the first KB wins over every signature",
    "crash:KeyError@copies.py:<dictcomp>": "F14 a content's first record has no text",
}
"""Violation code (or ``fnmatch`` pattern) -> finding of ``fuzz/README.md`` it belongs to. A
code here is counted and the run goes on; the test still fails at its end while any of them
occurs."""


@dataclass(frozen=True)
class Violation:
    """One broken promise: a stable ``code`` (what), and the detail (where, which values)."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass
class Result:
    """What checking one dump found."""

    violations: list[Violation] = field(default_factory=list)
    records: int = 0
    seconds: float = 0.0
    trace: str = ""
    cause: str = ""
    """For a crash writing text (UnicodeEncodeError): which record values hold lone
    surrogates, found by scanning again without the store (see :func:`surrogate_fields`)."""


class ScanTimeout(Exception):
    """Raised in the scanning thread when a scan runs past :data:`SCAN_SECONDS`."""


# --- running ----------------------------------------------------------------------------------


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`ScanTimeout` in the main thread after ``seconds`` (no-op elsewhere)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise ScanTimeout(f"scan still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def address_space_limit(extra: int) -> Iterator[None]:
    """Cap this process's address space at its current size plus ``extra`` bytes, so that an
    unbounded decompression fails with MemoryError instead of taking the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = 0
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmSize:"):
                size = int(line.split()[1]) * 1024
    limit = size + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def warm_up() -> None:
    """One small scan of a fixture of each family, so that every library the scan loads is
    loaded (before :func:`address_space_limit` measures the process)."""
    import tempfile

    from corpus_fixtures.build import all_fixtures

    with tempfile.TemporaryDirectory(prefix="fuzz-warm-") as tmp:
        root = Path(tmp) / "dump"
        root.mkdir()
        for family, builders in all_fixtures().items():
            name, build = sorted(builders.items())[0]
            (root / f"{family}-{name}".replace("/", "_")).write_bytes(build())
        run_api(root, Path(tmp) / "out")


def crash_code(exc: BaseException) -> str:
    """``crash:<Type>@<file>:<function>`` of the innermost leaktriage frame of ``exc``."""
    where = "?"
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if f"{os.sep}leaktriage{os.sep}" in filename:
            where = f"{Path(filename).name}:{frame.f_code.co_name}"
    if isinstance(exc, ScanTimeout):
        return f"hang@{where}"
    return f"crash:{type(exc).__name__}@{where}"


_TRACE_FRAME = re.compile(r'File "([^"]*)", line \d+, in (\S+)')
_TRACE_LAST = re.compile(r"^(\w[\w.]*)(?::|$)", re.MULTILINE)


def crash_code_from_stderr(stderr: str) -> str:
    """The same code as :func:`crash_code`, read from a traceback printed by the CLI."""
    where = "?"
    for filename, function in _TRACE_FRAME.findall(stderr):
        if f"{os.sep}leaktriage{os.sep}" in filename:
            where = f"{Path(filename).name}:{function}"
    lines = [line for line in stderr.strip().splitlines() if line and not line.startswith(" ")]
    last = lines[-1] if lines else ""
    match = _TRACE_LAST.match(last)
    name = match.group(1).rsplit(".", 1)[-1] if match else "exit"
    return f"crash:{name}@{where}"


def run_api(root: Path, out: Path, limits: Limits = LIMITS) -> tuple[Any, Result]:
    """``run_scan`` in this process (no worker processes); crashes become violations."""
    result = Result()
    config = ScanConfig(workers=0, limits=limits, timeout_s=60)
    started = time.perf_counter()
    summary = None
    try:
        with deadline(SCAN_SECONDS):
            summary = run_scan(root, out, config)
    except Exception as exc:  # noqa: BLE001 - whatever escapes the scan is the finding
        result.trace = "".join(traceback.format_exception(exc))
        result.violations.append(Violation(crash_code(exc), f"{type(exc).__name__}: {exc}"[:500]))
    result.seconds = time.perf_counter() - started
    return summary, result


def run_cli(root: Path, out: Path) -> Result:
    """``python -m leaktriage scan`` with one worker process (the pool, the store writer's and
    the report's processes all in play); a non-zero exit is a violation."""
    result = Result()
    command = [
        sys.executable,
        "-m",
        "leaktriage",
        "-q",
        "scan",
        os.fsdecode(root),
        "--out",
        os.fsdecode(out),
        "--workers",
        "1",
        "--max-depth",
        str(CLI_LIMITS.max_depth),
        "--timeout",
        "60",
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=SCAN_SECONDS * 2, check=False
        )
    except subprocess.TimeoutExpired:
        result.violations.append(Violation("hang@cli", "CLI scan did not finish"))
        return result
    result.seconds = time.perf_counter() - started
    if done.returncode != 0:
        result.trace = done.stderr
        code = crash_code_from_stderr(done.stderr)
        result.violations.append(
            Violation(code, f"exit {done.returncode}: {done.stderr.strip()[-400:]}")
        )
    return result


def check_dump(dump: Dump, root: Path, out: Path, cli: bool = False) -> Result:
    """Scan ``root`` (written from ``dump``) into ``out`` and check everything."""
    if cli:
        result = run_cli(root, out)
        limits = CLI_LIMITS
        summary = None
    else:
        summary, result = run_api(root, out)
        limits = LIMITS
    if result.violations:
        if any("UnicodeEncodeError" in v.code for v in result.violations):
            result.cause = surrogate_fields(root, limits)
        return result
    records, problems = check_outputs(out)
    result.violations += problems
    result.records = len(records)
    if summary is not None and summary.items != len(records):
        result.violations.append(
            Violation("summary:items", f"run_scan says {summary.items}, files.jsonl {len(records)}")
        )
    result.violations += check_records(dump, records, limits)
    return result


def surrogate_fields(root: Path, limits: Limits = LIMITS) -> str:
    """Where lone surrogates sit in the records of ``root`` (``path``, ``raw key``,
    ``raw value``, ``field``, ``issue``...), with the types of the records holding them; the
    records are made by :func:`leaktriage.api.scan`, which writes no store."""
    from leaktriage.api import scan

    found: Counter[str] = Counter()

    def bad(text: object) -> bool:
        return isinstance(text, str) and any("\ud800" <= ch <= "\udfff" for ch in text)

    try:
        for record in scan(root, workers=0, limits=limits, use_rules=False):
            kind = record.mime
            if record.depth == 0 and bad(record.path):
                found["path of a file on disk"] += 1
            elif record.depth and bad(record.name):
                found[f"member name ({kind} in {record.path.split('!')[-2][-40:]!r})"] += 1
            found.update(f"raw key ({kind})" for key in record.raw if bad(key))
            found.update(f"raw value ({kind})" for value in record.raw.values() if bad(value))
            for name, value in record.fields.items():
                values = value if isinstance(value, tuple) else (value,)
                if any(bad(v) for v in values):
                    found[f"field {name} ({kind})"] += 1
            found.update(f"issue ({kind})" for issue in record.issues if bad(issue.message))
    except Exception as exc:  # noqa: BLE001 - best effort; the crash is already reported
        found[f"scan failed: {type(exc).__name__}"] += 1
    return ", ".join(sorted(found)) or "no surrogates found"


# --- outputs ----------------------------------------------------------------------------------


class _ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]


def check_outputs(out: Path) -> tuple[list[dict[str, Any]], list[Violation]]:
    """Records of ``files.jsonl``, and what disagrees between the four outputs."""
    found: list[Violation] = []
    records: list[dict[str, Any]] = []
    raw = (out / "files.jsonl").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        found.append(Violation("jsonl:utf8", str(exc)))
        text = raw.decode("utf-8", "replace")
    for number, line in enumerate(text.split("\n")[:-1], 1):
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            found.append(Violation("jsonl:json", f"line {number}: {exc}: {line[:200]!r}"))
    if text and not text.endswith("\n"):
        found.append(Violation("jsonl:json", "last line not terminated"))
    count = len(records)
    paths = [r.get("path") for r in records]
    ids = [r.get("record_id") for r in records]

    try:
        csv_text = (out / "files.csv").read_bytes().decode("utf-8")
        rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        found.append(Violation("csv:parse", str(exc)))
        rows = [[]]
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    if header != [*CSV_COLUMNS, "scan_state"]:
        found.append(Violation("csv:header", repr(header)[:300]))
    if len(body) != count:
        found.append(Violation("csv:rows", f"{len(body)} rows, files.jsonl has {count} lines"))
    elif header:
        path_at, id_at = header.index("path"), header.index("record_id")
        csv_paths = [row[path_at] if len(row) > path_at else None for row in body]
        if csv_paths != paths:
            diff = next((a, b) for a, b in zip(csv_paths, paths, strict=True) if a != b)
            found.append(Violation("csv:paths", f"csv {diff[0]!r} vs jsonl {diff[1]!r}"))
        if [row[id_at] if len(row) > id_at else None for row in body] != ids:
            found.append(Violation("csv:ids", "record ids differ from files.jsonl"))
        widths = Counter(len(row) for row in body)
        if set(widths) != {len(header)}:
            found.append(Violation("csv:width", f"row widths {dict(widths)}"))

    db = sqlite3.connect(f"file:{out / 'triage.sqlite'}?mode=ro", uri=True)
    try:
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            found.append(Violation("sqlite:integrity", str(check)))
        (rows_in_db,) = db.execute("SELECT count(*) FROM files").fetchone()
        if rows_in_db != count:
            found.append(Violation("sqlite:count", f"{rows_in_db} rows, files.jsonl {count}"))
        stored_ids = {r for (r,) in db.execute("SELECT record_id FROM files")}
        if stored_ids != set(ids):
            found.append(Violation("sqlite:ids", "record ids differ from files.jsonl"))
        (items,) = db.execute("SELECT items FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        if items != count:
            found.append(Violation("sqlite:run-items", f"runs.items {items}, records {count}"))
    finally:
        db.close()

    html = (out / "report.html").read_bytes().decode("utf-8", "replace")
    parser = _ReportParser()
    parser.feed(html)
    parser.close()
    code = [attrs for attrs in parser.scripts if attrs.get("type") not in DATA_TYPES]
    if code != [{}] or len(re.findall(r"<script", html, re.IGNORECASE)) != len(parser.scripts):
        found.append(
            Violation("report:script", f"script elements {code[:5]}, expected one, untyped")
        )
    if parser.handlers:
        found.append(Violation("report:handler", f"event-handler attributes {parser.handlers[:5]}"))
    if not re.search(rf"<b>{count}</b> items from", html):
        shown = re.search(r"<b>(\d+)</b> items from", html)
        found.append(
            Violation("report:count", f"shows {shown.group(1) if shown else '?'}, expected {count}")
        )
    try:
        rows = page_data(html)["rows"]
    except (ValueError, KeyError, StopIteration, AssertionError, OSError) as exc:
        found.append(Violation("report:payload", f"data blocks do not unpack: {exc!r}"))
    else:
        if len(rows) != count:
            found.append(Violation("report:rows", f"{len(rows)} rows, files.jsonl {count}"))
    return records, found


# --- records ----------------------------------------------------------------------------------

UNREAD = "application/x-unread"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9 ._()~-]+$")


def disk_path(dump: Dump, disk: DiskFile) -> str:
    """The provenance path the walker gives a file on disk (names decoded as ``os.fsdecode``)."""
    return "/".join([dump.root_name, *(os.fsdecode(part) for part in disk.parts)])


def reference_mime(data: bytes) -> str:
    """The type of ``data`` as a loose file: what the walker, then a worker, would sniff."""
    head = data[: detect.SNIFF_BYTES]

    def opener() -> io.BytesIO:
        return io.BytesIO(data)

    return detect.sniff_for_walk(head, opener) or detect.sniff(head, opener)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


EXPECTED_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "jpeg": "image/jpeg",
    "doc": "application/msword",
    "rtf": "text/rtf",
    "eml": "message/rfc822",
    "note": "text/plain",
}
"""The type each document the strategies build must get, whatever its metadata (text and
HTML aside: telling those apart is heuristic). Containers must get an archive type."""


def _typed_as_planned(node: Node, record: dict[str, Any]) -> bool:
    if node.kind == "tar" and node.data[257:262] != b"ustar":
        return True  # an empty tar is zero blocks: nothing tells it from other zeros
    if node.opens:
        return detect.is_archive(record["mime"])
    expected = EXPECTED_TYPES.get(node.kind)
    return expected is None or record["mime"] == expected


def _format_family(name: str) -> str:
    """libarchive's format name ("ZIP 2.0 (deflation)", "GNU tar format") as one word."""
    words = set(re.findall(r"[a-z0-9-]+", name.lower()))
    if words & {"tar", "pax", "ustar"}:
        return "tar"
    for family in ("zip", "mtree", "cpio", "iso9660", "7-zip", "rar", "raw", "ar", "cab", "lha"):
        if family in words:
            return family
    return name.lower().split(" ")[0] or "?"


def _zero_blocks(data: bytes) -> bool:
    """True when ``data`` starts with a zero block (what libarchive takes for a tar's end)."""
    return len(data) >= 512 and not data[:512].strip(b"\x00")


def _limit_prone(node: Node, limits: Limits) -> bool:
    """True when a safety limit may rightly stop the walk inside ``node`` (lots of very
    compressible output), so its members are not held to the plan."""
    if node.bomb:
        return True
    ratio = node.expands / max(len(node.data), 1)
    if node.expands > limits.ratio_grace_bytes // 2 and ratio > limits.max_ratio / 4:
        return True
    return any(len(member.data) > limits.ratio_grace_bytes // 2 for _, member in node.members)


class _Checker:
    def __init__(self, records: list[dict[str, Any]], limits: Limits) -> None:
        self.records = records
        self.limits = limits
        self.found: list[Violation] = []
        self.kids: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            if record.get("parent_id"):
                self.kids[record["parent_id"]].append(record)
        self.mimes: dict[str, str] = {}

    def add(self, code: str, detail: str) -> None:
        self.found.append(Violation(code, detail))

    def subtree(self, record: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield record
        for kid in self.kids.get(record["record_id"], []):
            yield from self.subtree(kid)

    def node(self, node: Node, record: dict[str, Any], prone: bool) -> None:
        """Check ``record`` (and what it holds) against the plan's ``node``."""
        limits = self.limits
        where = record["path"]
        if record["mime"] != UNREAD and record.get("sha256") == _sha(node.data):
            key = record["sha256"]
            if key not in self.mimes:
                self.mimes[key] = reference_mime(node.data)
            if record["mime"] != self.mimes[key]:
                self.add(
                    "mime:placement",
                    f"{node.kind} at depth {record['depth']} typed {record['mime']}, "
                    f"as a loose file {self.mimes[key]}: {where!r}",
                )
        kids = self.kids.get(record["record_id"], [])
        depth = record["depth"]
        if node.intact and record["mime"] != UNREAD and not _typed_as_planned(node, record):
            # Typed as something else, it was read as something else: nothing more to hold
            # its record to.
            self.add(
                f"type:{node.kind}-as-{record['mime']}",
                f"{node.kind} ({node.note}) typed {record['mime']}: {where!r}",
            )
            return
        if node.bomb > 2 * limits.ratio_grace_bytes and depth < limits.max_depth:
            codes = [i["code"] for r in self.subtree(record) for i in r.get("issues", [])]
            if not any(code.startswith("limit.") for code in codes):
                self.add(
                    f"bomb:unflagged:{node.kind}",
                    f"{node.kind} ({node.bomb} bytes nominal): {where!r}",
                )
        prone = prone or _limit_prone(node, limits)
        if not node.intact or prone:
            return
        if node.opens:
            if depth >= limits.max_depth:
                if kids:
                    self.add("members:depth", f"{len(kids)} members past max_depth: {where!r}")
                return
            if node.stream:
                self.stream(node, record, kids)
            else:
                self.members(node, record, kids, prone)
        if node.kind == "eml":
            self.attachments(node, record, kids, prone)

    def _match(
        self, planned: list[tuple[Any, Node]], kids: list[dict[str, Any]], prone: bool
    ) -> None:
        pool: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for kid in kids:
            if kid.get("sha256"):
                pool[kid["sha256"]].append(kid)
        for _, member in planned:
            matches = pool.get(_sha(member.data))
            if matches:
                self.node(member, matches.pop(0), prone)

    def members(
        self, node: Node, record: dict[str, Any], kids: list[dict[str, Any]], prone: bool
    ) -> None:
        where = record["path"]
        want = Counter(_sha(member.data) for _, member in node.members)
        got = Counter(kid["sha256"] for kid in kids if kid.get("sha256"))
        if want != got:
            missing, extra = want - got, got - want
            self.add(
                f"members:items:{node.kind}:{node.note}",
                f"{node.kind} ({node.note}) status {record['status']}: {len(node.members)} "
                f"members written, {len(kids)} records; {sum(missing.values())} missing, "
                f"{sum(extra.values())} unexpected: {where!r}",
            )
        bare = sum(1 for kid in kids if not kid.get("sha256"))
        if bare != node.links and want == got:
            self.add(
                "members:links", f"{bare} records without bytes, {node.links} links: {where!r}"
            )
        names = {kid["name"] for kid in kids}
        for name, _ in node.members:
            text = name.decode("ascii", "replace")
            if _PLAIN_NAME.match(text) and text not in names and want == got:
                self.add("members:name", f"member {text!r} not named so in {where!r}")
        self._match(node.members, kids, prone)

    def stream(self, node: Node, record: dict[str, Any], kids: list[dict[str, Any]]) -> None:
        """A compressed stream holds one file: its payload, recorded as one member."""
        payload = node.members[0][1]
        where = record["path"]
        shas = [kid.get("sha256") for kid in kids]
        fields = record.get("fields", {})
        form = _format_family(str(fields.get("archive.format", "?")))
        if shas == [_sha(payload.data)]:
            self.node(payload, kids[0], False)
            return
        if payload.data[257:262] == b"ustar" and "tar" in form:
            # A compressed tar is read as the tar's members directly (libarchive's way).
            planned = payload.members if payload.intact else []
            if planned and Counter(s for s in shas if s) != Counter(
                _sha(m.data) for _, m in planned
            ):
                self.add("stream:tar-members", f"{node.kind} of {payload.kind}: {where!r}")
            self._match(planned, kids, False)
            return
        inner = payload
        while inner.stream and inner.members:
            inner = inner.members[0][1]
        if not inner.data:
            shape = "empty"
        elif _zero_blocks(inner.data):
            shape = "zero-blocks"
        elif inner.data.startswith(b"PK"):
            shape = "read-as-zip"
        elif inner.data.startswith(b"7z\xbc\xaf\x27\x1c"):
            shape = "read-as-7-zip"
        elif len(fields.get("archive.filters", [])) > 1 or payload.data.startswith(
            (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
        ):
            shape = "filters-stacked"
        else:
            shape = f"read-as-{form}"
        self.add(
            f"stream:member:{shape}",
            f"{node.kind} of {payload.kind} (format {form!r}, status {record['status']}): "
            f"{len(kids)} member records, expected its one payload: {where!r}",
        )

    def attachments(
        self, node: Node, record: dict[str, Any], kids: list[dict[str, Any]], prone: bool
    ) -> None:
        want = Counter(_sha(n.data) for _, n in node.attachments)
        got = Counter(kid["sha256"] for kid in kids if kid.get("sha256"))
        if not want <= got:
            self.add(
                "email:attachments",
                f"{len(node.attachments)} attachments, {len(kids)} records "
                f"({sum((want - got).values())} missing), status {record['status']}: "
                f"{record['path']!r}",
            )
        self._match(node.attachments, kids, prone)


def check_records(
    dump: Dump, records: list[dict[str, Any]], limits: Limits = LIMITS
) -> list[Violation]:
    """Compare the records with the plan; see the module's docstring."""
    checker = _Checker(records, limits)
    add = checker.add
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["record_id"] in by_id:
            add("records:dup-id", f"{record['record_id']} twice: {record['path']!r}")
        by_id[record["record_id"]] = record
    statuses = {s.value for s in Status}
    for record in records:
        if record["status"] not in statuses:
            add("records:status", f"{record['status']!r}: {record['path']!r}")
        parent = record.get("parent_id")
        if parent is None:
            if record["depth"] != 0:
                add("records:depth", f"no parent at depth {record['depth']}: {record['path']!r}")
            continue
        if parent not in by_id:
            add("records:orphan", f"parent {parent} unknown: {record['path']!r}")
            continue
        above = by_id[parent]
        if record["depth"] != above["depth"] + 1:
            add(
                "records:depth",
                f"depth {record['depth']} under {above['depth']}: {record['path']!r}",
            )
        if not record["path"].startswith(above["path"] + "!"):
            add("records:path-prefix", f"{record['path']!r} not under {above['path']!r}")

    top = [r for r in records if r["depth"] == 0]
    if len(top) != len(dump.files):
        add("disk:count", f"{len(dump.files)} files on disk, {len(top)} top-level records")
    top_paths = Counter(r["path"] for r in top)
    for path, times in top_paths.items():
        if times > 1:
            add("disk:dup-path", f"{times} top-level records share the path {path!r}")
    deeper = {r["path"]: r for r in records if r["depth"] > 0}
    for path in top_paths:
        if path in deeper:
            add(
                "path:collision",
                f"file on disk and member {deeper[path]['name']!r} of "
                f"{by_id.get(deeper[path]['parent_id'], {}).get('path')!r} share the path {path!r}",
            )
    want = Counter(_sha(d.node.data) if d.node else None for d in dump.files)
    got = Counter(r.get("sha256") for r in top)
    if want != got:
        add(
            "disk:content", f"top-level hashes differ: {sum((want - got).values())} files unmatched"
        )

    # Plain names by their path first, then the others by content (two files may share it).
    unmatched = list(top)
    matched: list[tuple[DiskFile, dict[str, Any]]] = []
    by_content: list[DiskFile] = []
    for disk in dump.files:
        path = disk_path(dump, disk)
        if not _PLAIN_NAME.match(path.replace("/", "")):
            by_content.append(disk)
            continue
        match = next((r for r in unmatched if r["path"] == path), None)
        if match is None:
            add("disk:missing", f"no top-level record with the path {path!r}")
            by_content.append(disk)
        else:
            unmatched.remove(match)
            matched.append((disk, match))
    for disk in by_content:
        if disk.node is not None:
            sha = _sha(disk.node.data)
            match = next((r for r in unmatched if r.get("sha256") == sha), None)
            if match is not None:
                unmatched.remove(match)
                matched.append((disk, match))
    for disk, match in matched:
        if disk.node is not None:
            checker.node(disk.node, match, False)

    types: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.get("sha256") and record["mime"] != UNREAD:
            types[record["sha256"]].add(record["mime"])
    for sha, mimes in types.items():
        if len(mimes) > 1:
            paths = [r["path"] for r in records if r.get("sha256") == sha][:3]
            add("mime:same-bytes", f"one content typed {sorted(mimes)}: {paths!r}")
    return checker.found


def finding(code: str) -> str | None:
    """The known finding a violation code belongs to (see :data:`KNOWN`), or None."""
    if code in KNOWN:
        return KNOWN[code]
    return next((text for key, text in KNOWN.items() if fnmatch.fnmatchcase(code, key)), None)


def known(violations: list[Violation]) -> tuple[list[Violation], list[Violation]]:
    """(known, new) split of ``violations`` by :data:`KNOWN`."""
    old = [v for v in violations if finding(v.code)]
    return old, [v for v in violations if not finding(v.code)]
