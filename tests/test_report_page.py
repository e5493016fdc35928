"""report.html's data as the page carries it (gzip in base64, the table by column, details
in chunks, plain pages of the flagged files for old browsers) and ``--report-limit``, on a
store of ten planted records whose every value is known."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html as html_lib
import json
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from leaktriage.cli import _scan_config, main, parse_args
from leaktriage.config import ScanConfig
from leaktriage.errors import UsageError
from leaktriage.model import Evidence, FileRecord, Finding, Severity, Status
from leaktriage.report import rows, write_html
from leaktriage.store import Store
from tests._chromium import MISSING, chromium, requests_seen
from tests._report_page import blocks, page_data, unpacked, without_data

HOSTILE = "</script><img src=x onerror=alert(1)>"
DECOY = "dump/c/07_decoy<img src=x onerror=alert(1)>.pdf"
WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# (path, mime, status, verdict, score, title): the ten planted records, in path order.
PLANTED = (
    ("dump/a/00_memo.docx", DOCX, "ok", "no_signal", 0.0, "Memo 0"),
    ("dump/a/01_note.pdf", "application/pdf", "ok", "no_signal", 0.0, "Note 1"),
    ("dump/a/02_budget.docx", DOCX, "ok", "no_signal", 2.5, "Budget 2"),
    ("dump/b/03_forged.pdf", "application/pdf", "ok", "likely_altered", 80.0, HOSTILE),
    ("dump/b/04_hostile.docx", DOCX, "ok", "no_signal", 0.0, HOSTILE),
    ("dump/b/05_broken.docx", DOCX, "error", "unreadable", None, ""),
    ("dump/c/06_plain.pdf", "application/pdf", "ok", "no_signal", 0.0, "Plain 6"),
    (DECOY, "application/pdf", "ok", "decoy_suspected", 40.0, "Decoy 7"),
    ("dump/c/08_odd.docx", DOCX, "ok", "suspicious", 20.0, "Odd 8"),
    ("dump/c/09_last.pdf", "application/pdf", "ok", "no_signal", 1.0, "Last 9"),
)
FLAGGED = (3, 7, 8)
EVIDENCE = 12
"""Evidence items of the forged file's finding (the page keeps six)."""


def _rid(n: int) -> str:
    return hashlib.sha256(b"record %d" % n).hexdigest()[:32]


def _record(n: int) -> FileRecord:
    path, mime, status, verdict, score, title = PLANTED[n]
    fields: dict[str, Any] = {
        "doc.author": f"Author {n}",
        "doc.application": "Microsoft Office Word" if mime == DOCX else "Acrobat PDFMaker 15",
        "doc.created": datetime(2016, 1 + n, 10, 8, n, tzinfo=UTC),
        "doc.modified": datetime(2016, 2 + n, 11, 9, n, tzinfo=UTC),
        "doc.company": f"Company {n} " + "x" * 300,
        "text.sample": f"Text of file {n}. " * 30,
    }
    if title:
        fields["doc.title"] = title
    findings: tuple[Finding, ...] = ()
    if n == 3:
        findings = (
            Finding(
                _rid(n),
                "container-time-after-leak-date",
                "T0089.003",
                Severity.HIGH,
                "B",
                "Written after the leak date " + HOSTILE,
                tuple(Evidence(f"doc.e{k:02d}", f"value {k}", "") for k in range(EVIDENCE)),
            ),
        )
    elif n in (7, 8):
        findings = (
            Finding(
                _rid(n), "last-editor-differs-from-author", "T0089.003", Severity.LOW, "C", "m"
            ),
        )
    return FileRecord(
        record_id=_rid(n),
        path=path,
        name=path.rsplit("/", 1)[-1],
        parent_id=None,
        depth=0,
        size=1000 + n,
        sha256=hashlib.sha256(b"content %d" % n).hexdigest(),
        md5=hashlib.md5(b"content %d" % n).hexdigest(),
        mime=mime,
        extension=path.rsplit(".", 1)[-1],
        extension_mismatch=False,
        mtime=WHEN,
        mtime_zone_known=True,
        outer_mtime=None,
        status=Status(status),
        extractor="x@1",
        fields=fields,
        findings=findings,
        verdict=verdict,
        score=score,
    )


def _expected_row(n: int) -> list[Any]:
    path, mime, status, verdict, score, title = PLANTED[n]
    rules = {
        3: "container-time-after-leak-date",
        7: "last-editor-differs-from-author",
        8: "last-editor-differs-from-author",
    }
    return [
        path,
        verdict,
        score,
        mime,
        status,
        f"Author {n}",
        "Microsoft Office Word" if mime == DOCX else "Acrobat PDFMaker 15",
        title,
        f"2016-{1 + n:02d}-10T08:{n:02d}:00Z",
        f"2016-{2 + n:02d}-11T09:{n:02d}:00Z",
        "",
        rules.get(n, ""),
        {0: "1 2", 1: "2", 3: "1 2"}.get(n, ""),
    ]


def _planted(out: Path, config: ScanConfig | None = None) -> Path:
    """The ten planted records, two corpus groups, in ``out/triage.sqlite``."""
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / "triage.sqlite")
    run = store.start_run(config or ScanConfig(leak_date=date(2017, 5, 5)), Path("dump"), WHEN)
    with store.writer(run) as write:
        for n in range(len(PLANTED)):
            write(_record(n))
    store.replace_corpus(
        [],
        [
            (
                "copies",
                "altered copies: 03_forged.pdf",
                [(_rid(0), "earlier"), (_rid(3), "later")],
                {},
            ),
            (
                "fingerprint_cluster",
                "cluster " + HOSTILE,
                [(_rid(0), "member"), (_rid(1), "member"), (_rid(3), "outlier")],
                {"doc.application": HOSTILE},
            ),
        ],
        [],
        [],
    )
    store.finish_run(run, WHEN, {"ok": len(PLANTED)}, len(PLANTED))
    store.close()
    return out


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    return _planted(tmp_path / "out")


def _render(out: Path, limit: int | None = None) -> str:
    store = Store.open_existing(out)
    try:
        return write_html(store, out / "report.html", limit).read_text(encoding="utf-8")
    finally:
        store.close()


def _columns(html: str) -> list[list[Any]]:
    """The table's columns, each block decoded by hand: base64, gzip, JSON."""
    found = re.findall(
        r'<script type="application/octet-stream" class="z-col" data-col="(\d+)">([A-Za-z0-9+/=]*)'
        r"</script>",
        html,
    )
    assert [int(n) for n, _ in found] == list(range(13))
    return [json.loads(gzip.decompress(base64.b64decode(text))) for _, text in found]


def test_packed_blocks_decode_to_exactly_the_planted_rows(planted: Path) -> None:
    html = _render(planted)
    columns = _columns(html)
    # Paths by the characters they share with the previous path, then the rest.
    assert columns[0] == [
        [0, "dump/a/00_memo.docx"],
        [8, "1_note.pdf"],
        [8, "2_budget.docx"],
        [5, "b/03_forged.pdf"],
        [8, "4_hostile.docx"],
        [8, "5_broken.docx"],
        [5, "c/06_plain.pdf"],
        [8, "7_decoy<img src=x onerror=alert(1)>.pdf"],
        [8, "8_odd.docx"],
        [8, "9_last.pdf"],
    ]
    expected = [_expected_row(n) for n in range(len(PLANTED))]
    assert columns[1:] == [[row[c] for row in expected] for c in range(1, 13)]
    data = page_data(html)
    assert data["rows"] == expected
    assert data["files"] == len(PLANTED) and data["fallback"] == [
        [n, [*expected[n][:3], *[""] * 8, expected[n][11], expected[n][12]]] for n in (3, 7, 8)
    ]
    # Deterministic gzip: no name, no time in the header.
    for text in blocks(html, r'type="application/octet-stream"[^>]*'):
        raw = base64.b64decode(text, validate=True)
        assert raw[:4] == b"\x1f\x8b\x08\x00" and raw[4:8] == b"\x00\x00\x00\x00"
    assert _render(planted) == html

    details = data["details"]
    forged, memo = details[3], details[0]
    # A flagged file keeps its hashes and record id, its text sample and longer values ...
    assert forged["id"] == _rid(3)
    assert forged["h"] == [
        hashlib.sha256(b"content 3").hexdigest(),
        hashlib.md5(b"content 3").hexdigest(),
        1003,
        "x@1",
        "2026-01-02T03:04:00Z",
    ]
    facts = {name: values for _, group in forged["facts"] for name, values in group}
    assert facts["text.sample"] == [("Text of file 3. " * 30)[:120] + "… [360 more characters]"]
    assert facts["doc.company"] == ["Company 3 " + "x" * 300]
    assert facts["doc.title"] == [HOSTILE]
    # ... and at most six evidence items per finding, saying how many more there are.
    ((rule, severity, _, _, message, _, evidence, more, named),) = forged["find"]
    assert (rule, severity, message) == (
        "container-time-after-leak-date",
        "high",
        "Written after the leak date " + HOSTILE,
    )
    assert evidence == [[f"doc.e{k:02d}", f"value {k}", ""] for k in range(6)]
    assert (more, named) == (EVIDENCE - 6, 0)
    # Groups are named by id in a member's detail and described once in the page's data.
    assert forged["groups"] == [[1, "later"], [2, "outlier"]]
    assert [g[:6] for g in data["groups"]] == [
        [1, "copies", "altered copies: 03_forged.pdf", 2, 2, 1],
        [2, "fingerprint_cluster", "cluster " + HOSTILE, 3, 3, 1],
    ]
    # A file that is not flagged keeps a shorter detail: a sha256 prefix, no md5, no record
    # id, no text sample, values cut at 160 characters.
    assert "id" not in memo and memo["h"][:2] == [hashlib.sha256(b"content 0").hexdigest()[:16], ""]
    facts = {name: values for _, group in memo["facts"] for name, values in group}
    assert "text.sample" not in facts
    assert facts["doc.company"] == [("Company 0 " + "x" * 300)[:160] + "… [150 more characters]"]
    # The facts the row shows are written as the number of their column.
    packed = unpacked(next(blocks(html, r'type="application/octet-stream" class="z-details"[^>]*')))
    assert ["doc.author", 5] in packed["facts"][0][0][1]


def _copies(out: Path) -> Path:
    """The ten planted records, 09_last.pdf with the bytes (and so the facts) of 06_plain.pdf."""
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / "triage.sqlite")
    run = store.start_run(ScanConfig(leak_date=date(2017, 5, 5)), Path("dump"), WHEN)
    plain = _record(6)
    with store.writer(run) as write:
        for n in range(len(PLANTED)):
            record = _record(n)
            if n == 9:
                record = replace(record, sha256=plain.sha256, md5=plain.md5, fields=plain.fields)
            write(record)
    store.finish_run(run, WHEN, {"ok": len(PLANTED)}, len(PLANTED))
    store.close()
    return out


def test_files_of_the_same_content_carry_its_facts_once(tmp_path: Path) -> None:
    html = _render(_copies(tmp_path / "out"))
    packed = unpacked(next(blocks(html, r'type="application/octet-stream" class="z-details"[^>]*')))
    assert packed["facts_of"] == [None] * 9 + [6]
    assert packed["facts"][9] is None and packed["facts"][6] is not None
    details = page_data(html)["details"]
    assert details[9]["facts"] == details[6]["facts"]
    company = {name: v for _, group in details[9]["facts"] for name, v in group}["doc.company"]
    assert company == [("Company 6 " + "x" * 300)[:160] + "… [150 more characters]"]


def test_details_past_the_page_budget_are_cut_and_say_so(
    planted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "PAGE_BUDGET", 0)
    monkeypatch.setattr(rows, "DETAIL_FLOOR", 0)
    html = _render(planted)
    assert json.loads(next(blocks(html, 'type="application/json" id="report-cut"'))) == {
        "brief": 0,
        "budget": 0,
        "stub": 10,
    }
    forged = page_data(html)["details"][3]
    assert forged == {
        "chain": [],
        "cut": "stub",
        "facts": [],
        "find": [],
        "groups": [[1, "later"], [2, "outlier"]],
        "h": [
            hashlib.sha256(b"content 3").hexdigest(),
            hashlib.md5(b"content 3").hexdigest(),
            1003,
            "x@1",
            "2026-01-02T03:04:00Z",
        ],
        "id": _rid(3),
    }


def test_a_brief_detail_keeps_identity_findings_and_groups() -> None:
    whole = {
        "chain": [0],
        "h": ["ab", "", 7, "x@1", ""],
        "facts": [["doc", [["doc.author", ["Author 1"]]]]],
        "find": [["rule-a"]],
        "find_more": [["rule-a", 2]],
        "groups": [[1, "member"]],
        "raw": [["Author", "Author 1"]],
        "weights": ["rule-a +1.0"],
        "facts_of": 0,
        "same": [4],
        "same_count": 1,
    }
    assert rows.cut_detail(whole, "brief") == {
        "chain": [0],
        "h": ["ab", "", 7, "x@1", ""],
        "find": [["rule-a"]],
        "find_more": [["rule-a", 2]],
        "groups": [[1, "member"]],
        "same_count": 1,
        "facts": [],
        "cut": "brief",
    }
    assert rows.cut_detail(whole, "full") is whole


def test_hostile_values_stay_inert_in_every_block(planted: Path) -> None:
    html = _render(planted)
    assert HOSTILE not in html and "<img" not in html
    # The page's own script is the only one that runs; the others are data blocks.
    tags = re.findall(r"<script[^>]*>", html)
    assert tags.count("<script>") == 1
    assert all(
        t.startswith(('<script type="application/json"', '<script type="application/octet-stream"'))
        for t in tags
        if t != "<script>"
    )
    # The first screen shows them as text (Jinja2 escaped them) ...
    markup = without_data(html)
    assert html_lib.escape(HOSTILE) in markup and html_lib.escape(DECOY.split("/")[-1]) in markup
    # ... the plain fallback pages as JSON escapes, and the packed blocks in base64.
    pages = "".join(blocks(html, 'type="application/json" class="p-rows"'))
    assert "07_decoy\\u003cimg src=x onerror=alert(1)\\u003e.pdf" in pages and "<" not in pages
    data = page_data(html)
    assert data["rows"][4][7] == HOSTILE and data["rows"][3][7] == HOSTILE
    assert data["fallback"][1] == [7, data["rows"][7][:3] + [""] * 8 + data["rows"][7][11:]]
    assert data["rows"][7][0] == DECOY
    assert data["groups"][1][2] == "cluster " + HOSTILE


def test_csp_stays_strict(planted: Path) -> None:
    html = _render(planted)
    (csp,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert html_lib.unescape(csp) == (
        f"default-src 'none'; script-src 'sha256-{digest(script)}'; "
        f"style-src 'sha256-{digest(style)}'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    # The script unpacks through Blob streams, never a request or eval.
    assert "DecompressionStream" in script and "new Response(" in script
    for banned in ("fetch(", "eval(", "Function(", "innerHTML", "outerHTML", "insertAdjacentHTML"):
        assert banned not in script, banned


def test_report_limit_keeps_every_flagged_file_and_says_what_was_left_out(
    planted: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["report", str(planted), "--report-limit", "3"]) == 0
    printed = capsys.readouterr().out
    assert "its table holds 3 of the 10 items (every flagged one); the other 7 are in" in printed
    html = (planted / "report.html").read_text(encoding="utf-8")
    data = page_data(html)
    assert data["rows"] == [_expected_row(n) for n in FLAGGED]
    assert [i for i, _ in data["fallback"]] == [0, 1, 2]  # indexes of this smaller table
    markup = without_data(html)
    assert (
        "This report's table holds 3 of the 10 files: all 3 flagged files, to stay small" in markup
    )
    assert "The other 7 files are left out of this page" in markup
    assert "<code>files.csv</code>" in markup and "<code>triage.sqlite</code>" in markup
    assert "report limit 3" in markup
    # The counts still cover all ten.
    assert "<b>10</b> items from" in markup
    # Past the flagged files, the others that weigh most: unreadable first, then by score.
    data = page_data(_render(planted, 5))
    assert data["rows"] == [_expected_row(n) for n in (2, 3, 5, 7, 8)]
    assert "The other 5 files are left out" in _render(planted, 5)
    # Fewer than the flagged files: every flagged file all the same.
    assert page_data(_render(planted, 1))["rows"] == [_expected_row(n) for n in FLAGGED]
    # At or above the store's size: every file, no notice.
    html = _render(planted, 10)
    assert len(page_data(html)["rows"]) == 10 and 'id="left-out"' not in html
    # A report too heavy for a laptop's browser is called so.
    monkeypatch.setattr("leaktriage.report.html.HEAVY_BYTES", 1000)
    assert main(["report", str(planted), "--report-limit", "3"]) == 0
    printed = capsys.readouterr().out
    assert "report.html is 0 MB, more than a laptop's browser opens comfortably" in printed


def test_report_limit_of_the_scan_is_the_default(tmp_path: Path) -> None:
    out = _planted(tmp_path / "out", ScanConfig(report_limit=4))
    assert page_data(_render(out))["rows"] == [_expected_row(n) for n in (3, 5, 7, 8)]
    args = parse_args(["scan", str(tmp_path), "--out", str(tmp_path / "o"), "--report-limit", "7"])
    assert _scan_config(args).report_limit == 7
    assert _scan_config(parse_args(["scan", str(tmp_path), "--out", "o"])).report_limit == 100_000
    with pytest.raises(SystemExit):
        parse_args(["scan", str(tmp_path), "--out", "o", "--report-limit", "-1"])
    with pytest.raises(UsageError, match="report_limit"):
        ScanConfig(report_limit=-1)
    # The limit changes what the report shows, not what a scan finds: records are re-used.
    assert "report_limit" in ScanConfig.RUN_ONLY


def _ready(driver: Any) -> None:
    deadline = time.monotonic() + 20
    while not driver.execute_script("return window.__leaktriageReady"):
        assert time.monotonic() < deadline, "the table was not drawn"
        time.sleep(0.05)


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "fallback"])
def test_table_renders_its_planted_first_row_in_chromium(
    planted: Path, tmp_path: Path, packed: bool
) -> None:
    """The table is drawn from the compressed blocks, or without DecompressionStream from
    the plain pages of the flagged files; either way nothing runs from the data and no
    request leaves the page."""
    report = planted / "report.html"
    _render(planted)
    with chromium(tmp_path / "profile") as driver:
        if not packed:
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument",
                {"source": "delete window.DecompressionStream;"},
            )
        driver.get("about:blank")
        requests_seen(driver)
        driver.get(report.as_uri())
        _ready(driver)
        state = driver.execute_script(
            "var td = document.querySelectorAll('#rows tr:first-child td');"
            "return {mode: document.documentElement.dataset.mode,"
            " rendered: document.documentElement.dataset.rendered,"
            " rows: document.querySelectorAll('#rows tr').length,"
            " first: [td[0].textContent, td[2].title, td[9].textContent],"
            " note: document.getElementById('mode').hidden}"
        )
        assert state == {
            "mode": "packed" if packed else "fallback",
            "rendered": "10" if packed else "3",
            "rows": 10 if packed else 3,
            "first": ["likely_altered", "dump/b/03_forged.pdf", "container-time-after-leak-date"],
            "note": packed,
        }
        driver.execute_script("location.hash = 'f=3';")
        deadline = time.monotonic() + 10
        while (
            driver.execute_script("return document.getElementById('detail-body').dataset.shown")
            != "3"
        ):
            assert time.monotonic() < deadline, "the detail was not drawn"
            time.sleep(0.05)
        detail = driver.find_element("id", "detail-body").text
        if packed:
            assert "value 5" in detail and "value 6" not in detail
            assert "6 more evidence items" in detail and HOSTILE in detail
            assert hashlib.sha256(b"content 3").hexdigest() in detail
        else:
            assert "cannot unpack" in detail and "dump/b/03_forged.pdf" in detail
        probe = driver.execute_script(
            "return {alerts: window.__alerts, csp: window.__csp, images: document.images.length}"
        )
        sent = requests_seen(driver)
    assert probe == {"alerts": [], "csp": [], "images": 0}
    assert sent == [report.as_uri()]


def _detail_text(driver: Any, n: int) -> str:
    driver.execute_script(f"location.hash = 'f={n}';")
    deadline = time.monotonic() + 10
    while driver.execute_script(
        "return document.getElementById('detail-body').dataset.shown"
    ) != str(n):
        assert time.monotonic() < deadline, "the detail was not drawn"
        time.sleep(0.05)
    return str(driver.find_element("id", "detail-body").text)


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_shared_facts_and_cut_details_are_drawn_in_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = _copies(tmp_path / "copies")
    _render(copies)
    cut = _planted(tmp_path / "cut")
    monkeypatch.setattr(rows, "PAGE_BUDGET", 0)
    monkeypatch.setattr(rows, "DETAIL_FLOOR", 0)
    _render(cut)
    with chromium(tmp_path / "profile") as driver:
        driver.get((copies / "report.html").as_uri())
        _ready(driver)
        # 09_last.pdf's facts are those written once in 06_plain.pdf's detail.
        text = _detail_text(driver, 9)
        assert "Company 6 xxx" in text and "Company 9" not in text and "cut to" not in text
        assert driver.execute_script("return document.getElementById('cut-note').hidden")
        driver.get((cut / "report.html").as_uri())
        _ready(driver)
        text = _detail_text(driver, 3)
        assert "cut to its identity, provenance and groups" in text
        assert "Findings (" not in text and "Company 3" not in text
        note = driver.execute_script("return document.getElementById('cut-note').textContent")
        assert note.startswith("The files' details in this page share a budget of 0 characters")
        assert "10 to the identity, provenance and groups" in note
