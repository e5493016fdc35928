"""``OUT/report.html``: one self-contained file, readable offline, safe with hostile metadata.

The first screen (summary, flagged files with their reasons, timeline, corpus groups) is
rendered here by Jinja2 with autoescape on. The table of every file and the detail panel are
drawn by a small inline script from a JSON block; the script builds the DOM with
``textContent`` only. A Content-Security-Policy allows that one script and that one style
sheet by hash and nothing else: no request of any kind can leave the page.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import json
import secrets
import shutil
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from markupsafe import Markup

from leaktriage import __version__
from leaktriage.model import Severity
from leaktriage.outfile import atomic_text
from leaktriage.report.data import (
    FLAGGED,
    SEVERITIES,
    VERDICT_LEGEND,
    VERDICTS,
    ReportData,
    load_report_data,
    timeline_points,
)
from leaktriage.report.registry import Output, register
from leaktriage.report.timeline import timeline_svg

if TYPE_CHECKING:
    from leaktriage.store import Store

if TYPE_CHECKING:
    from jinja2 import Environment

TYPE_NAMES = {
    "application/pdf": "PDF",
    "application/msword": "Word 97-2003 (.doc)",
    "application/vnd.ms-excel": "Excel 97-2003 (.xls)",
    "application/vnd.ms-powerpoint": "PowerPoint 97-2003 (.ppt)",
    "application/vnd.ms-outlook": "Outlook message (.msg)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "PowerPoint (.pptx)"
    ),
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument sheet",
    "application/x-ooxml-encrypted": "encrypted Office",
    "message/rfc822": "email",
    "application/mbox": "mailbox",
    "text/plain": "text",
    "text/html": "HTML",
    "text/rtf": "RTF",
    "application/zip": "zip",
    "application/gzip": "gzip",
    "application/x-tar": "tar",
}
"""Short names of common types for the summary; others show their MIME type."""
TOP_FLAGGED = 12
"""Flagged files listed on the first screen."""
REPORT_NAME = "report.html"


@lru_cache(maxsize=1)
def _env() -> Environment:
    # Jinja2 is loaded when a report is drawn, not by every command that names the file.
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("leaktriage.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def preload() -> None:
    """Load Jinja2 and compile the report's template, ahead of need (the report's own
    process does it while the scan is still busy)."""
    _env().get_template("report.html.j2")


def _asset(name: str) -> str:
    return (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


_SCRIPT_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _script_safe(text: str) -> str:
    for char, code in _SCRIPT_ESCAPES:
        if char in text:
            text = text.replace(char, code)
    return text


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)
"""One encoder for every piece of the payload (``json.dumps`` with these options would build
a new one per call)."""


def _dumps(data: Any) -> str:
    return _ENCODER.encode(data)


def script_json(data: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element: ``<``, ``>``, ``&``
    and the JavaScript line separators are written as ``\\uXXXX`` escapes, so no value can
    close the element or open a comment."""
    return Markup(_script_safe(_dumps(data)))


_ROW_FACTS = (
    ("author", ("doc.author", "email.from")),
    ("application", ("doc.application", "doc.producer", "email.x_mailer")),
    ("title", ("doc.title", "email.subject")),
    ("created", ("doc.created", "image.datetime_original")),
    ("modified", ("doc.modified",)),
    ("email_date", ("email.date",)),
)


def _first(facts: dict[str, list[str]], names: tuple[str, ...]) -> str:
    for name in names:
        if facts.get(name):
            return facts[name][0]
    return ""


COLUMNS = ["path", "verdict", "score", "mime", "status", *(c for c, _ in _ROW_FACTS), "rules"]
"""The columns of the payload's ``rows``."""
CHUNK = 256
"""Files whose JSON is escaped and written at once."""


def _row_and_detail(f: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """A file's table row and detail, as the payload holds them: compact arrays, no markup."""
    facts: dict[str, list[str]] = f["facts"]
    rule_ids = sorted({x["rule_id"] for x in f["findings"]})
    row = [
        f["path"],
        f["verdict"],
        f["score"],
        f["mime"],
        f["status"],
        *(_first(facts, names) for _, names in _ROW_FACTS),
        " ".join(rule_ids),
    ]
    groups: dict[str, list[list[Any]]] = {}
    for name in sorted(facts):
        groups.setdefault(name.split(".", 1)[0], []).append([name, facts[name]])
    detail: dict[str, Any] = {
        "id": f["record_id"],
        "chain": f["chain"],
        "h": [f["sha256"], f["md5"], f["size"], f["extractor"], f["mtime"]],
        "facts": [[g, groups[g]] for g in sorted(groups)],
        "find": [
            [
                x["rule_id"],
                x["severity"],
                x["grade"],
                x["technique"],
                x["message"],
                x["source"],
                x["evidence"],
            ]
            for x in f["findings"]
        ],
    }
    for key in ("issues", "raw", "diffs", "corpus", "rare", "weights"):
        if f.get(key):
            detail[key] = f[key]
    return row, detail


def write_payload(data: ReportData, out: IO[str]) -> None:
    """Write the JSON the table and detail panel draw from (escaped for its ``<script>``
    element) to ``out``, one file at a time: the bytes of ``script_json`` of the whole
    payload, without ever holding it. The rows come after the details in the sorted keys,
    so they wait in a temporary file."""
    rules = {
        rid: [data.rules[rid].title, data.rules[rid].rationale, data.rules[rid].false_positives]
        for rid in data.used_rules
        if rid in data.rules
    }
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        out.write(f'{{"columns":{_script_safe(_dumps(COLUMNS))},"details":[')
        details: list[dict[str, Any]] = []
        rows: list[list[Any]] = []
        sep = ""

        def flush() -> None:
            # A list's JSON is its elements' JSON joined by ",": a chunk at a time.
            out.write(sep + _script_safe(_dumps(details)[1:-1]))
            spill.write(sep + _script_safe(_dumps(rows)[1:-1]))
            details.clear()
            rows.clear()

        # Millions of short-lived lists and dicts, none in a cycle: reference counting frees
        # them, and the cyclic collector's passes over them cost a sixth of the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for f in data.iter_files():
                row, detail = _row_and_detail(f)
                details.append(detail)
                rows.append(row)
                if len(details) >= CHUNK:
                    flush()
                    sep = ","
            if details:
                flush()
        finally:
            if collecting:
                gc.enable()
        out.write(f'],"legend":{_script_safe(_dumps(VERDICT_LEGEND))},"rows":[')
        spill.seek(0)
        shutil.copyfileobj(spill, out)
        tail = {"rules": rules, "techniques": data.techniques, "verdicts": list(VERDICTS)}
        out.write("]," + _script_safe(_dumps(tail))[1:])


def _reasons(data: ReportData, f: dict[str, Any]) -> list[dict[str, str]]:
    """The three strongest findings of a flagged file (severity, then grade), for the first
    screen."""
    out = []
    ranked = sorted(
        f["findings"],
        key=lambda x: (-Severity[str(x["severity"]).upper()], str(x.get("grade") or "C")),
    )
    for x in ranked:
        if x["severity"] == "info":
            continue
        info = data.rules.get(x["rule_id"])
        out.append(
            {
                "rule_id": x["rule_id"],
                "severity": x["severity"],
                "title": info.title if info else "",
                "message": x["message"],
            }
        )
    return out[:3]


def _flagged_unique(data: ReportData, limit: int) -> list[dict[str, Any]]:
    """The most worrying flagged files, one entry per content, with their reasons (see
    :meth:`ReportData.flagged_unique`)."""
    shown = data.flagged_unique(limit)
    for entry in shown:
        entry["reasons"] = _reasons(data, entry["file"])
    return shown


def _first_screen(data: ReportData, payload: str) -> str:
    """The page with ``payload`` where the JSON block goes."""
    css = _asset("report.css")
    js = _asset("report.js")
    run = data.run
    started = run.get("started_at") or ""
    latest = None
    if started:
        latest = datetime.fromisoformat(started.replace("Z", "+00:00")).astimezone(UTC)
    svg = timeline_svg(timeline_points(data), data.leak_date, latest)
    flagged = _flagged_unique(data, TOP_FLAGGED)
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(js)}; "
        f"style-src {_csp_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    clusters = [g for g in data.groups if g["kind"] == "fingerprint_cluster"]
    others = [g for g in data.groups if g["kind"] != "fingerprint_cluster"]
    template = _env().get_template("report.html.j2")
    return template.render(
        csp=csp,
        css=Markup(css),
        js=Markup(js),
        payload=Markup(payload),
        data=data,
        run=run,
        version=__version__,
        total=data.total,
        shown=data.shown,
        flagged_total=sum(n for v, n in data.by_verdict.items() if v in FLAGGED),
        flagged=flagged,
        verdicts=VERDICTS,
        legend=VERDICT_LEGEND,
        severities=SEVERITIES,
        timeline=Markup(svg),
        clusters=clusters,
        other_groups=others,
        outliers=data.outliers,
        type_names=TYPE_NAMES,
    )


def write_report(data: ReportData, out: IO[str]) -> None:
    """Write the report to ``out``: the first screen rendered by Jinja2 around a random
    mark (no value of the dump can hold it), then the JSON block streamed in its place."""
    mark = f"\x00leaktriage-payload-{secrets.token_hex(16)}\x00"
    head, tail = _first_screen(data, mark).split(mark)
    out.write(head)
    write_payload(data, out)
    out.write(tail)


def render_html(data: ReportData) -> str:
    """The report as a string."""
    buffer = io.StringIO()
    write_report(data, buffer)
    return buffer.getvalue()


def write_html(store: Store, out_path: Path) -> Path:
    """Render the store into ``out_path`` (normally ``OUT/report.html``); returns the path.
    Streams: the memory it takes does not grow with the number of files."""
    data = load_report_data(store)
    with atomic_text(out_path) as handle:
        write_report(data, handle)
    return out_path


def _write_counted(store: Store, out_path: Path) -> int:
    write_html(store, out_path)
    return len(store.record_ids())


register(Output("html", REPORT_NAME, _write_counted))
