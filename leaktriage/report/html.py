"""``OUT/report.html``: one self-contained file, readable offline, safe with hostile metadata.

The first screen (summary, flagged files with their reasons, timeline, corpus groups) is
rendered here by Jinja2 with autoescape on, so it shows before any data is unpacked. The
table of every file and the detail panel are drawn by a small inline script from inert data
blocks (:mod:`leaktriage.report.rows`: gzip in base64, unpacked by the browser's
``DecompressionStream``); the script builds the DOM with ``textContent`` only. A
Content-Security-Policy allows that one script and that one style sheet by hash and nothing
else: no request of any kind can leave the page, and nothing is evaluated.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from markupsafe import Markup

from leaktriage import __version__
from leaktriage.model import Severity
from leaktriage.outfile import atomic_text
from leaktriage.report.data import (
    SEVERITIES,
    VERDICT_LEGEND,
    VERDICTS,
    ReportData,
    load_report_data,
    timeline_points,
)
from leaktriage.report.registry import Output, register
from leaktriage.report.rows import dumps, script_safe, write_data
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
HEAVY_BYTES = 30_000_000
"""A report larger than this may not open on a laptop's browser: the commands say so and
suggest a smaller ``--report-limit`` (the flagged files stay whatever the limit)."""


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


def script_json(data: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element: ``<``, ``>``, ``&``
    and the JavaScript line separators are written as JSON escapes (``\\u003c``,
    ``\\u2028``), so no value can close the element or open a comment."""
    return Markup(script_safe(dumps(data)))


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
    """The page with ``payload`` where the data blocks go."""
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
        flagged_total=data.flagged_total,
        flagged=flagged,
        verdicts=VERDICTS,
        legend=VERDICT_LEGEND,
        severities=SEVERITIES,
        timeline=Markup(svg),
        clusters=clusters,
        other_groups=others,
        group_totals=data.group_totals,
        outliers=data.outliers,
        type_names=TYPE_NAMES,
    )


def write_report(data: ReportData, out: IO[str]) -> None:
    """Write the report to ``out``: the first screen rendered by Jinja2 around a random
    mark (no value of the dump can hold it), then the data blocks streamed in its place."""
    mark = f"\x00leaktriage-payload-{secrets.token_hex(16)}\x00"
    head, tail = _first_screen(data, mark).split(mark)
    out.write(head)
    write_data(data, out)
    out.write(tail)


def render_html(data: ReportData) -> str:
    """The report as a string."""
    buffer = io.StringIO()
    write_report(data, buffer)
    return buffer.getvalue()


def write_html(store: Store, out_path: Path, limit: int | None = None) -> Path:
    """Render the store into ``out_path`` (normally ``OUT/report.html``); returns the path.
    The table holds at most ``limit`` files and every flagged one (by default the limit of
    the store's last run, ``ScanConfig.report_limit``). Streams: the memory it takes does
    not grow with the number of files."""
    data = load_report_data(store, limit)
    with atomic_text(out_path) as handle:
        write_report(data, handle)
    return out_path


def _write_counted(store: Store, out_path: Path) -> int:
    write_html(store, out_path)
    return len(store.record_ids())


register(Output("html", REPORT_NAME, _write_counted))
