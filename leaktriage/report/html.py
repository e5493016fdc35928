"""``OUT/report.html``: one self-contained file, readable offline, safe with hostile metadata.

The first screen (summary, flagged files with their reasons, timeline, corpus groups) is
rendered here by Jinja2 with autoescape on. The table of every file and the detail panel are
drawn by a small inline script from a JSON block; the script builds the DOM with
``textContent`` only. A Content-Security-Policy allows that one script and that one style
sheet by hash and nothing else: no request of any kind can leave the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from leaktriage import __version__
from leaktriage.model import Severity
from leaktriage.report.data import (
    FLAGGED,
    SEVERITIES,
    VERDICT_LEGEND,
    VERDICTS,
    ReportData,
    load_report_data,
    timeline_points,
)
from leaktriage.report.timeline import timeline_svg
from leaktriage.store import Store

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

_ENV = Environment(
    loader=PackageLoader("leaktriage.report", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _asset(name: str) -> str:
    return (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def script_json(data: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element: ``<``, ``>``, ``&``
    and the JavaScript line separators are written as ``\\uXXXX`` escapes, so no value can
    close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return Markup(text)


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


def _payload(data: ReportData) -> dict[str, Any]:
    """The JSON the table and detail panel draw from: compact arrays, no markup."""
    columns = ["path", "verdict", "score", "mime", "status"] + [c for c, _ in _ROW_FACTS]
    rows: list[list[Any]] = []
    details: list[dict[str, Any]] = []
    for f in data.files:
        facts: dict[str, list[str]] = f["facts"]
        rule_ids = sorted({x["rule_id"] for x in f["findings"]})
        rows.append(
            [f["path"], f["verdict"], f["score"], f["mime"], f["status"]]
            + [_first(facts, names) for _, names in _ROW_FACTS]
            + [" ".join(rule_ids)]
        )
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
        for key in ("issues", "raw", "diffs", "corpus", "rare"):
            if f.get(key):
                detail[key] = f[key]
        details.append(detail)
    used = {x["rule_id"] for f in data.files for x in f["findings"]}
    return {
        "columns": [*columns, "rules"],
        "rows": rows,
        "details": details,
        "rules": {
            rid: [info.title, info.rationale, info.false_positives]
            for rid, info in sorted(data.rules.items())
            if rid in used
        },
        "techniques": data.techniques,
        "verdicts": list(VERDICTS),
        "legend": VERDICT_LEGEND,
    }


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
    """The most worrying flagged files, one entry per content (sha256): a forged file copied
    into several archives is listed once, with the places it also sits. Up to a third of the
    places go to suspected decoys, so a dump full of forgeries still shows its traps."""
    entries: list[dict[str, Any]] = []
    by_hash: dict[str, dict[str, Any]] = {}
    for f in data.flagged():
        key = f["sha256"] or f["record_id"]
        if key in by_hash:
            by_hash[key]["copies"].append(f)
            continue
        entry: dict[str, Any] = {"file": f, "copies": []}
        by_hash[key] = entry
        entries.append(entry)
    decoys = [e for e in entries if e["file"]["verdict"] == "decoy_suspected"][: limit // 3]
    others = [e for e in entries if e["file"]["verdict"] != "decoy_suspected"]
    chosen = {id(e) for e in [*others[: limit - len(decoys)], *decoys]}
    shown = [e for e in entries if id(e) in chosen]
    for entry in shown:
        entry["reasons"] = _reasons(data, entry["file"])
    return shown


def render_html(data: ReportData) -> str:
    """The report as a string."""
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
    template = _ENV.get_template("report.html.j2")
    return template.render(
        csp=csp,
        css=Markup(css),
        js=Markup(js),
        payload=script_json(_payload(data)),
        data=data,
        run=run,
        version=__version__,
        total=data.total,
        shown=len(data.files),
        flagged_total=sum(n for v, n in data.by_verdict.items() if v in FLAGGED),
        flagged=flagged,
        verdicts=VERDICTS,
        legend=VERDICT_LEGEND,
        severities=SEVERITIES,
        timeline=Markup(svg),
        clusters=clusters,
        other_groups=others,
        outliers=data.outliers[:15],
        files=data.files,
        type_names=TYPE_NAMES,
    )


def write_html(store: Store, out_path: Path) -> Path:
    """Render the store into ``out_path`` (normally ``OUT/report.html``); returns the path."""
    text = render_html(load_report_data(store))
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out_path)
    return out_path
