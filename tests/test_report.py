"""report.html, the FtM export, findings_view and the ``report``/``export`` commands, on a
scan of the sample leak (which carries the hostile-metadata fixtures)."""

from __future__ import annotations

import base64
import csv
import hashlib
import html as html_lib
import json
import re
import shutil
import sqlite3
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from followthemoney import model

from corpus_fixtures.builders import hostile_meta as hm
from leaktriage.api import run_scan
from leaktriage.cli import main
from leaktriage.config import ScanConfig
from leaktriage.report import write_html
from leaktriage.report.data import load_report_data
from leaktriage.report.ftm import ENTITIES_NAME, entity_id, write_ftm
from leaktriage.report.html import render_html, script_json
from leaktriage.report.summary import summarize
from leaktriage.report.timeline import timeline_svg
from leaktriage.store import Store
from tests._chromium import MISSING, chromium, requests_seen
from tests._report_page import DATA_TYPES, page_data, without_data

PLANTED = (
    "presse/communique_lyon.pdf",
    "finances/devis_2013-114.pdf",
    "ooxml/budget_ru.xlsx",
    "presse/tract_lille.pdf",
    "ooxml/memo_remote_template.docx",
    "misc/lettre.rtf",
)
"""Planted forgeries with the heaviest combined evidence and planted decoys: the first screen
must list them, whatever else the sample leak holds. (agenda_2031.docx, dated after the leak,
weighs less since it carries the text most copies of its document carry: it is no longer the
altered copy of the decoy that departs from that text.)"""


@pytest.fixture(scope="module")
def scanned(sample_leak: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample leak scanned with its leak date (the scan writes report.html)."""
    out = tmp_path_factory.mktemp("report") / "out"
    run_scan(sample_leak, out, ScanConfig(leak_date=date(2017, 5, 5), workers=2))
    return out


def _payload(html: str) -> dict[str, Any]:
    """The page's data, unpacked (base64, gzip, JSON)."""
    return page_data(html)


def _markup(html: str) -> str:
    """The HTML without the data blocks and the inline script."""
    return without_data(html)


def _wait(driver: Any, script: str, seconds: float = 20) -> Any:
    """The value of ``script`` once it is truthy (the table and details unpack async)."""
    deadline = time.monotonic() + seconds
    while not (value := driver.execute_script(script)):
        assert time.monotonic() < deadline, f"timed out: {script}"
        time.sleep(0.05)
    return value


def _open(driver: Any, i: int) -> str:
    """Open file ``i``'s detail and wait for it: its text."""
    driver.execute_script(f"location.hash = 'f={i}';")
    _wait(driver, f"return document.getElementById('detail-body').dataset.shown === '{i}'")
    return str(driver.find_element("id", "detail-body").text)


def _add_corpus_tables(db_path: Path, first: str, second: str) -> None:
    """Corpus results with hostile labels and values (the tables are created when the store
    predates the corpus stage)."""
    db = sqlite3.connect(db_path)
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS corpus_groups(group_id INTEGER PRIMARY KEY, kind TEXT,
          label TEXT, size INTEGER, summary_json TEXT);
        CREATE TABLE IF NOT EXISTS corpus_members(group_id INTEGER, record_id TEXT, role TEXT);
        CREATE TABLE IF NOT EXISTS corpus_pairs(record_a TEXT, record_b TEXT, similarity REAL,
          diff_json TEXT);
        CREATE TABLE IF NOT EXISTS corpus_scores(record_id TEXT, outlier_score REAL,
          rare_json TEXT);
        DELETE FROM corpus_members; DELETE FROM corpus_groups;
        DELETE FROM corpus_pairs; DELETE FROM corpus_scores;
        """
    )
    db.execute(
        "INSERT INTO corpus_groups VALUES (1, 'fingerprint_cluster', ?, 2, ?)",
        ("Cluster " + hm.SCRIPT, json.dumps({"doc.company": "Мир " + hm.IMG, "app": "Word 16"})),
    )
    db.execute("INSERT INTO corpus_groups VALUES (2, 'copies', 'budget copies', 2, '{}')")
    db.executemany(
        "INSERT INTO corpus_members VALUES (?, ?, ?)",
        [(1, first, "member"), (1, second, "outlier"), (2, first, "original"), (2, second, "copy")],
    )
    db.execute(
        "INSERT INTO corpus_pairs VALUES (?, ?, 0.93, ?)",
        (
            first,
            second,
            json.dumps([{"a": "Total : 1 200 000 €", "b": "Total : 12 000 000 € " + hm.CLOSE}]),
        ),
    )
    db.execute(
        "INSERT INTO corpus_scores VALUES (?, 0.87, ?)",
        (
            second,
            json.dumps(
                [
                    {
                        "attribute": "doc.company",
                        "value": "Мир " + hm.SCRIPT,
                        "count": 1,
                        "total": 182,
                    }
                ]
            ),
        ),
    )
    db.commit()
    db.close()


def _ids(out: Path, *suffixes: str) -> list[str]:
    db = sqlite3.connect(out / "triage.sqlite")
    found = []
    for suffix in suffixes:
        row = db.execute(
            "SELECT record_id FROM files WHERE path LIKE ? AND depth = 0", ("%" + suffix,)
        ).fetchone()
        found.append(row[0])
    db.close()
    return found


def test_script_json_cannot_close_its_element() -> None:
    text = script_json({"t": hm.CLOSE, "u": "a\u2028b & c > d"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": hm.CLOSE, "u": "a\u2028b & c > d"}


def test_scan_writes_the_report_with_the_planted_files_first(scanned: Path) -> None:
    html = (scanned / "report.html").read_text(encoding="utf-8")
    flagged = html[html.index('id="flagged"') : html.index('id="overview"')]
    for planted in PLANTED:
        assert planted in flagged, planted
    # The reasons are on the first screen, with the rule titles.
    assert "PDF written by software released after the file&#39;s last-save date" in flagged
    assert "Last saved by a Russian- or Ukrainian-language Office (docx, xlsx, pptx)" in flagged
    assert "leak date <b>2017-05-05</b>" in html
    techniques = _payload(html)["techniques"]
    assert isinstance(techniques, dict)
    assert techniques["T0089.003"] == (
        "T0089.003 Alter Authentic Documents (formerly T0025 Leak altered documents)"
    )
    assert techniques["C00202"] == "C00202 Set data 'honeytraps'"
    # rapport.doc and its copy: OLE directory written the day after the leak date.
    assert ">2 after the leak date (2 flagged)</text>" in html
    db = sqlite3.connect(scanned / "triage.sqlite")
    (altered,) = db.execute(
        "SELECT count(*) FROM files WHERE verdict = 'likely_altered'"
    ).fetchone()
    db.close()
    assert altered >= 20  # the 20 labeled forgeries of the sample leak, and their copies
    assert f'>{altered}</span>\n    <span class="name">likely_altered' in html
    assert "authentic" not in _markup(html).lower().replace("authentic documents", "")
    manifest = json.loads((scanned / "manifest.json").read_text())
    assert manifest["outputs"]["report.html"] == hashlib.sha256(html.encode()).hexdigest()


def test_report_escapes_hostile_metadata(scanned: Path) -> None:
    html = (scanned / "report.html").read_text(encoding="utf-8")
    markup = _markup(html)
    # One script runs: the page's own; every other script element is an inert data block.
    tags = re.findall(r"<script[^>]*>", html)
    assert markup.count("<script") == 0 and tags.count("<script>") == 1
    assert {re.sub(r'type="([^"]*)".*', r"\1", t[8:]) for t in tags if t != "<script>"} == set(
        DATA_TYPES
    )
    assert "<img" not in html and 'onerror="window' not in markup
    assert "javascript:" not in re.findall(r'href="([^"]*)"', html)
    # Every href is an in-page anchor made from an index or a fixed name.
    assert {h[:1] for h in re.findall(r'href="([^"]*)"', html)} == {"#"}
    payload = _payload(html)
    rows = payload["rows"]
    assert isinstance(rows, list)
    titles = {row[7] for row in rows}
    assert hm.SCRIPT in titles and hm.CLOSE in titles
    authors = {row[5] for row in rows}
    assert hm.MARKER_AUTHOR in authors
    paths = [row[0] for row in rows]
    assert any(p.endswith("!attachment:" + hm.ATTACHMENT_NAME) for p in paths)
    assert any(p.endswith("/" + hm.DISK_NAME) for p in paths)
    # The 10,000-character comment is cut in the detail, with the count of what was cut.
    details = payload["details"]
    assert isinstance(details, list)
    docx = paths.index(
        next(p for p in paths if p.endswith("documents/hostile_meta/hostile_meta.docx"))
    )
    facts = dict(item for group in details[docx]["facts"] for item in group[1])
    comment = facts["doc.comments"][0]
    cap = 400 if rows[docx][1] in ("likely_altered", "decoy_suspected", "suspicious") else 160
    assert comment.startswith(hm.LONG[:cap] + "… [") and comment.endswith(" more characters]")
    assert facts["doc.last_modified_by"] == [hm.JS_URL]


def test_csp_allows_only_the_inline_script_and_style(scanned: Path) -> None:
    html = (scanned / "report.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert script is not None and style is not None

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert html_lib.unescape(csp.group(1)) == (
        f"default-src 'none'; script-src 'sha256-{digest(script.group(1))}'; "
        f"style-src 'sha256-{digest(style.group(1))}'; img-src data:; base-uri 'none'; "
        "form-action 'none'"
    )
    # URLs from the dump appear as text only: no attribute of the page points anywhere.
    assert re.findall(r"\s(?:src|srcset|action|data|poster|background)=", _markup(html)) == []
    assert [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("#")] == []


def test_corpus_sections_render_when_present(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(scanned, out)
    # Start from a store without corpus results (the scan's own analysis filled them).
    db = sqlite3.connect(out / "triage.sqlite")
    for table in ("corpus_members", "corpus_groups", "corpus_pairs", "corpus_scores"):
        db.execute(f"DELETE FROM {table}")
    db.commit()
    db.close()
    store = Store.open_existing(out)
    before = _markup(render_html(load_report_data(store)))
    assert 'id="fingerprints"' not in before and 'id="groups"' not in before
    store.close()
    first, second = _ids(out, "documents/pdf/report.pdf", "documents/pdf/budget_two_updates.pdf")
    _add_corpus_tables(out / "triage.sqlite", first, second)
    store = Store.open_existing(out)
    data = load_report_data(store)
    html = render_html(data)
    store.close()
    markup = _markup(html)
    assert 'id="fingerprints"' in markup and 'id="groups"' in markup
    assert "Cluster &lt;script&gt;window.__pwned=&#34;script&#34;" in markup
    assert "doc.company=<b>Мир &lt;script&gt;" in markup and "(1/182)" in markup
    assert "<img" not in html and markup.count("<script") == 0
    payload = _payload(html)
    details = payload["details"]
    paths = [row[0] for row in payload["rows"]]
    a = details[next(i for i, p in enumerate(paths) if p.endswith("documents/pdf/report.pdf"))]
    b = details[
        next(
            i
            for i, p in enumerate(paths)
            if p.endswith("documents/pdf/budget_two_updates.pdf") and "!" not in p
        )
    ]
    assert a["diffs"][0]["hunks"] == [["Total : 1 200 000 €", "Total : 12 000 000 € " + hm.CLOSE]]
    assert b["diffs"][0]["hunks"] == [["Total : 12 000 000 € " + hm.CLOSE, "Total : 1 200 000 €"]]
    assert b["rare"] == [["doc.company", "Мир " + hm.SCRIPT, 1, 182]]
    # A member names its groups by id; each group is described once, in the page's data.
    assert b["groups"] == [[2, "copy"], [1, "outlier"]]
    groups = {g[0]: g for g in payload["groups"]}
    flagged = sum(
        payload["rows"][i][1] in ("likely_altered", "decoy_suspected", "suspicious")
        for i, d in enumerate(details)
        if d.get("groups")
    )
    assert groups[1][:6] == [1, "fingerprint_cluster", "Cluster " + hm.SCRIPT, 2, 2, flagged]
    assert markup.count("Cluster &lt;script&gt;") == 1 and 'id="g-1"' in markup


def test_timeline_marks_the_leak_date_and_flags() -> None:
    points = {
        "created": [(datetime(2017, 3, 1, tzinfo=UTC), False)] * 5
        + [(datetime(2017, 5, 6, tzinfo=UTC), True)] * 3,
        "modified": [(datetime(1601, 1, 1, tzinfo=UTC), False)],
        "email": [],
    }
    svg = timeline_svg(points, date(2017, 5, 5), datetime(2017, 6, 1, tzinfo=UTC))
    assert "leak date 2017-05-05" in svg
    assert svg.count('fill="#d7263d"') == 1  # one red bin: the three flagged dates after the leak
    assert "3 created dates, 3 of flagged files" in svg
    assert "1 before 1985 (left edge)" in svg
    assert ">3 after the leak date (3 flagged)</text>" in svg
    assert ">created</text>" in svg and ">8 files</text>" in svg and ">0 files</text>" in svg
    assert timeline_svg({"created": []}, None) == ""


def test_findings_view_reads_well(scanned: Path) -> None:
    db = sqlite3.connect(scanned / "triage.sqlite")
    rows = db.execute(
        "SELECT path, verdict, rule_id, severity, grade, technique, message, evidence "
        "FROM findings_view WHERE path LIKE '%documents/pdf/budget_two_updates.pdf' "
        "AND rule_id = 'pdf-revision-text-changed'"
    ).fetchall()
    db.close()
    assert len(rows) == 1
    path, verdict, _rule, severity, grade, technique, message, evidence = rows[0]
    assert path.endswith("sample_leak/documents/pdf/budget_two_updates.pdf")
    assert (verdict, severity, grade, technique) == ("likely_altered", "high", "A", "T0089.003")
    diff = "-Total communication : 1 200 000 € | +Total communication : 12 000 000 €"
    assert message == "The text of an earlier version differs from the final one: " + diff
    assert evidence.startswith(f"pdf.revision_text_changed=true; pdf.revision_diff={diff}; ")
    assert "3|2091|D:20170410223000+03'00'|iLovePDF; pdf.incremental_updates=2" in evidence


def test_ftm_content_hash_is_the_sha1_of_each_file(
    sample_leak: Path, scanned: Path, tmp_path: Path
) -> None:
    """Aleph keys its archive by SHA-1: every entity's contentHash is hashlib.sha1 of the
    item's bytes (checked on the files on disk and on the zip's members), the sha256 a note."""
    target = tmp_path / ENTITIES_NAME
    store = Store.open_existing(scanned, readonly=True)
    write_ftm(store, target)
    records = store.load_many(store.record_ids())
    store.close()
    by_id = {e["id"]: e for e in map(json.loads, target.read_text("utf-8").splitlines())}
    archive = sample_leak / "archives" / "campagne_2017.zip"
    prefix = archive.relative_to(sample_leak.parent).as_posix()
    with zipfile.ZipFile(archive) as bundle:
        members = {f"{prefix}!{n}": bundle.read(n) for n in bundle.namelist()}
    on_disk = inside_zip = 0
    for record in records:
        props = by_id[entity_id(record.record_id)]["properties"]
        if record.sha256 is None:
            assert "contentHash" not in props
            continue
        if record.depth == 0:
            data = (sample_leak.parent / record.path).read_bytes()
            on_disk += 1
        elif record.path in members:
            data = members[record.path]
            inside_zip += 1
        else:
            assert props["contentHash"] == [record.sha1]
            continue
        assert props["contentHash"] == [hashlib.sha1(data).hexdigest()]
        assert f"sha256: {hashlib.sha256(data).hexdigest()}" in props["notes"]
    assert on_disk == sum(1 for p in sample_leak.rglob("*") if p.is_file())
    assert inside_zip == len(members)


def test_ftm_export_validates(scanned: Path, tmp_path: Path) -> None:
    target = tmp_path / ENTITIES_NAME
    store = Store.open_existing(scanned)
    count = write_ftm(store, target)
    records = len(store.record_ids())
    store.close()
    lines = target.read_text(encoding="utf-8").splitlines()
    entities = [json.loads(line) for line in lines]
    folders = [e for e in entities if e["schema"] == "Folder"]
    assert count == len(entities) == records + len(folders)
    by_id = {e["id"]: e for e in entities}
    assert len(by_id) == len(entities)
    for data in entities:
        proxy = model.get_proxy(data, cleaned=False)
        schema = proxy.schema
        for name, values in data["properties"].items():
            prop = schema.get(name)
            assert prop is not None, (schema.name, name)
            for value in values:
                assert prop.type.clean(value, proxy=proxy) == value, (schema.name, name, value)
        assert proxy.to_dict() == {
            "id": data["id"],
            "schema": data["schema"],
            "properties": data["properties"],
        }
        for parent in data["properties"].get("parent", []):
            assert model.get(by_id[parent]["schema"]).is_a("Folder")
    store = Store.open_existing(scanned)
    (pdf_id,) = _ids(scanned, "documents/pdf/budget_two_updates.pdf")
    (eml_id,) = _ids(scanned, "documents/hostile_meta/hostile_meta.eml")
    store.close()
    pdf = by_id[entity_id(pdf_id)]
    assert pdf["schema"] == "Pages"
    assert pdf["properties"]["fileName"] == ["budget_two_updates.pdf"]
    assert any(
        n.startswith("finding pdf-revision-text-changed [high") for n in pdf["properties"]["notes"]
    )
    assert pdf["properties"]["notes"][0].startswith("leaktriage verdict: likely_altered")
    (signed_id,) = _ids(scanned, "documents/finances/devis_2017-118_signe.pdf")
    signed = by_id[entity_id(signed_id)]["properties"]["notes"]
    assert "pdf.sig_signer: Camille Martin" in signed
    assert "pdf.sig_modification_level: OTHER" in signed
    assert "pdf.sig_changed_objects: Signature1, revision 3: objects 3, 5, 18" in signed
    assert "pdf.sig_whole_file_verified: false" in signed
    (photo_id,) = _ids(scanned, "photos/meeting_photoshop.jpg")
    photo = by_id[entity_id(photo_id)]["properties"]["notes"]
    assert "image.jpeg_encoder_family: photoshop" in photo
    assert "image.jpeg_encoder: Adobe Photoshop" in photo
    assert "image.jpeg_quality: 92" in photo
    folder = by_id[pdf["properties"]["parent"][0]]
    assert folder["schema"] == "Folder" and folder["properties"]["fileName"] == ["pdf"]
    (memo_id,) = _ids(scanned, "documents/ooxml/memo.docx")
    memo = by_id[entity_id(memo_id)]["properties"]
    assert by_id[entity_id(memo_id)]["schema"] == "Document"
    assert memo["author"] == ["Camille Durand-Lefort"]
    assert memo["generator"] == ["Microsoft Office Word"]
    assert memo["authoredAt"] == ["2017-03-10T08:12:00"]
    assert memo["modifiedAt"] == ["2017-03-14T09:30:00"]
    assert memo["language"] == ["fra"]
    # The last editor is not merged into author (ingest-file does); it is a note.
    assert "doc.last_modified_by: Julien Marchetti" in memo["notes"]
    eml = by_id[entity_id(eml_id)]
    assert eml["schema"] == "Email"
    assert eml["properties"]["subject"] == [hm.EMAIL_SUBJECT]
    attachment = next(
        e
        for e in entities
        if e["properties"].get("fileName") == [hm.ATTACHMENT_NAME]
        and e["properties"].get("parent") == [eml["id"]]
    )
    # Its content is a script tag: sniffed as HTML from content, whatever the name says.
    assert attachment["schema"] == "HyperText"
    assert attachment["properties"]["mimeType"] == ["text/html"]


def test_report_and_export_commands(
    scanned: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    out = tmp_path / "out"
    shutil.copytree(scanned, out)
    (out / "report.html").unlink()
    assert main(["report", str(out), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "leak date 2017-05-05" in printed and "likely_altered" in printed
    assert "releve.jpg" in printed and "pdf-info-xmp-author-mismatch" in printed
    assert (out / "report.html").read_bytes() == (scanned / "report.html").read_bytes()
    assert main(["export", str(out), "--format", "ftm"]) == 0
    assert (out / ENTITIES_NAME).stat().st_size > 0
    assert main(["export", str(out), "--format", "csv", "--out", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").read_bytes() == (scanned / "files.csv").read_bytes()
    assert main(["export", str(out), "--format", "jsonl", "--out", str(tmp_path / "x.jsonl")]) == 0
    assert (tmp_path / "x.jsonl").read_bytes() == (scanned / "files.jsonl").read_bytes()
    assert main(["report", str(tmp_path / "missing")]) == 3
    store = Store.open_existing(out)
    summary = summarize(store, top=3)
    altered = store.verdict_counts()["likely_altered"]
    store.close()
    # Heaviest combined evidence first: the PDF disguised as a photo (9.11: Info and XMP
    # disagree on author, producer and date, and its extension lies), then the same PDF in
    # the archive's tar and its .gz (8.61).
    assert [f.path.rsplit("/", 2)[-2:] for f in summary.top_files] == [
        ["finances", "releve.jpg"],
        ["pdf", "xmp_mismatch.pdf"],
        ["xmp_mismatch.pdf.gz!pdf", "xmp_mismatch.pdf"],
    ]
    assert summary.by_verdict["likely_altered"] == altered


def test_report_is_deterministic(scanned: Path, tmp_path: Path) -> None:
    store = Store.open_existing(scanned)
    write_html(store, tmp_path / "again.html")
    store.close()
    assert (tmp_path / "again.html").read_bytes() == (scanned / "report.html").read_bytes()


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_hostile_report_in_headless_chromium(scanned: Path, tmp_path: Path) -> None:
    """Load the report in Chromium, open every hostile file's detail, and check that no
    script from the data ran, no request left the page and the page rendered."""
    out = tmp_path / "out"
    shutil.copytree(scanned, out)
    first, second = _ids(out, "documents/pdf/report.pdf", "documents/pdf/budget_two_updates.pdf")
    _add_corpus_tables(out / "triage.sqlite", first, second)
    (eml,) = _ids(out, "documents/hostile_meta/hostile_meta.eml")
    db = sqlite3.connect(out / "triage.sqlite")
    db.executemany(
        "INSERT INTO fields VALUES (?, 'email.dkim_result', ?, ?, 'list')",
        [(eml, 0, "pass"), (eml, 1, "fail_body")],
    )
    # An altered copy's differing passage, hostile on both sides, beside the revision diff.
    db.execute(
        "INSERT INTO evidence SELECT finding_id, 99, 'corpus.diff', ?, 'passage 1 that differs' "
        "FROM findings WHERE record_id = ? AND rule_id = 'pdf-revision-text-changed'",
        (f"{hm.SCRIPT} → <b>12 000 000</b>", second),
    )
    db.commit()
    db.close()
    store = Store.open_existing(out)
    report = write_html(store, out / "report.html")
    store.close()
    page = report.read_text(encoding="utf-8")
    rows = _payload(page)["rows"]
    hostile = [i for i, row in enumerate(rows) if "hostile" in row[0] or "pwned" in row[0]]
    assert len(hostile) >= 10
    url = report.as_uri()
    with chromium(tmp_path / "profile") as driver:
        driver.get("about:blank")
        requests_seen(driver)  # drop the browser's own start-up requests
        driver.get(url)
        # The table is unpacked from the page's compressed blocks.
        assert _wait(driver, "return document.documentElement.dataset.rendered") == str(len(rows))
        assert driver.execute_script("return document.documentElement.dataset.mode") == "packed"
        shot = tmp_path / "first_screen.png"
        driver.save_screenshot(str(shot))
        first_screen = driver.execute_script(
            "return Array.from(document.querySelectorAll('#flagged > ol > li'))"
            ".filter(function (li) { return li.getBoundingClientRect().top < innerHeight; })"
            ".map(function (li) { return li.textContent; }).join('\\n');"
        )
        assert "releve.jpg" in first_screen and "devis_2013-114.pdf" in first_screen
        assert "Last saved by a Russian- or Ukrainian-language Office" in first_screen
        texts = []
        for i in hostile:
            texts.append(_open(driver, i))
            if rows[i][0].endswith("documents/hostile_meta/hostile_meta.eml"):
                dkim = driver.execute_script(
                    "return [document.querySelector('#detail-body .dkim-pass').textContent,"
                    " document.querySelector('#detail-body .dkim-fail').textContent];"
                )
        assert dkim == ["pass", "fail_body"]
        suffix = "sample_leak/documents/pdf/budget_two_updates.pdf"
        (budget,) = [i for i, row in enumerate(rows) if row[0].endswith(suffix)]
        _open(driver, budget)
        passages = driver.execute_script(
            "return Array.from(document.querySelectorAll('#detail-body .passage'))"
            ".map(function (s) { return Array.from(s.children).map(function (c) {"
            " return c.tagName + ':' + c.textContent; }); });"
        )
        assert passages == [
            ["DEL:Total communication : 1 200 000 €", "INS:Total communication : 12 000 000 €"],
            [f"DEL:{hm.SCRIPT}", "INS:<b>12 000 000</b>"],
        ]
        detail = "\n".join(texts)
        assert hm.SCRIPT in detail and hm.MARKER_AUTHOR in detail and hm.JS_URL in detail
        assert hm.CLOSE in detail and hm.EMAIL_SUBJECT in detail
        assert "Мир " + hm.SCRIPT in detail or second not in detail

        # Paginated (100 rows a page), sortable by a header click, filtered by verdict.
        def column(n: int, attribute: str = "textContent") -> list[str]:
            return list(
                driver.execute_script(
                    f"return Array.from(document.querySelectorAll('#rows tr td:nth-child({n})'))"
                    f".map(function (td) {{ return td.{attribute}; }});"
                )
            )

        assert len(column(3)) == 100
        assert driver.find_element("id", "page").text == f"page 1 / {-(-len(rows) // 100)}"
        assert column(1)[:10] == ["likely_altered"] * 10
        driver.find_element("css selector", '#table th[data-col="0"]').click()
        # Long paths show their end ("…" + last 71 characters); the full path is the title.
        paths = column(3, "title")
        assert paths == sorted(r[0] for r in rows)[:100]
        assert [t if len(t) <= 72 else "…" + t[-71:] for t in paths] == column(3)
        driver.find_element("css selector", '#table th[data-col="0"]').click()
        assert column(3, "title") == sorted((r[0] for r in rows), reverse=True)[:100]
        driver.execute_script("location.hash = 'verdict=decoy_suspected';")
        decoys = sum(1 for r in rows if r[1] == "decoy_suspected")
        assert decoys >= 4  # the sample leak's labeled decoys
        assert set(column(1)) == {"decoy_suspected"} and len(column(1)) == decoys
        # The search box and the table show hostile names as text.
        driver.execute_script("location.hash = 'verdict=';")
        box = driver.find_element("id", "q")
        box.send_keys("pwned")
        driver.execute_script("document.getElementById('q').dispatchEvent(new Event('input'));")
        # Wait for the filter itself (the unfiltered first page may already hold a "pwned"
        # row): as many rows as the report's own search fields say match.
        fields = (0, 3, 5, 6, 7, 11, 1)
        matching = sum("pwned" in "\u0001".join(str(r[i]) for i in fields).lower() for r in rows)
        assert matching >= 3
        deadline = time.monotonic() + 10
        while len(column(3)) != min(matching, 100):
            assert time.monotonic() < deadline, "the table did not filter"
            time.sleep(0.1)
        assert hm.ATTACHMENT_NAME in driver.find_element("id", "rows").text
        budget = next(
            i
            for i, r in enumerate(rows)
            if r[0].endswith("documents/pdf/budget_two_updates.pdf") and "!" not in r[0]
        )
        _open(driver, budget)
        diffs = [e.text for e in driver.find_elements("css selector", "#detail-body .diff")]
        # The PDF's own earlier revision, then the corpus pair, each side by side.
        assert diffs[0] == "Total communication : 1 200 000 €\nTotal communication : 12 000 000 €"
        assert "12 000 000 €" in diffs[1] and hm.CLOSE in diffs[1]
        driver.save_screenshot(str(tmp_path / "detail.png"))
        state = driver.execute_script(
            "return {pwned: typeof window.__pwned, alerts: window.__alerts, csp: window.__csp,"
            " resources: performance.getEntriesByType('resource').map(function (e) {"
            " return e.name; }), images: document.images.length,"
            " scripts: document.scripts.length}"
        )
        sent = requests_seen(driver)
    assert state == {
        "pwned": "undefined",
        "alerts": [],
        "csp": [],
        "resources": [],
        "images": 1,  # the budget PDF's earlier page beside the final one, from its z-pic block
        "scripts": page.count("<script"),
    }
    # The picture's data: URI, decoded from the page itself, is the only load besides it.
    pictures = [u for u in sent if u.startswith("data:image/png;base64,")]
    assert len(pictures) == 1
    assert [u for u in sent if u not in pictures] == [url], sent
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_report_of_an_empty_store_without_leak_date(tmp_path: Path) -> None:
    store = Store(tmp_path / "triage.sqlite")
    run = store.start_run(ScanConfig(), tmp_path, datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    store.finish_run(run, datetime(2026, 1, 2, 3, 5, tzinfo=UTC), {}, 0)
    html = render_html(load_report_data(store))
    store.close()
    assert "<p>No file was flagged.</p>" in html and "leak date <b>not given</b>" in html
    assert 'class="timeline"' not in html and _payload(html)["rows"] == []
    assert 'id="left-out"' not in html


def test_table_capped_for_huge_dumps_keeps_flagged_files_and_full_counts(scanned: Path) -> None:
    # Report data streams its files from the store: used while the store is open.
    flagged_verdicts = {"likely_altered", "decoy_suspected", "suspicious"}
    store = Store.open_existing(scanned)
    try:
        full = load_report_data(store)
        items = len(store.record_ids())
        flagged = full.flagged_total
        assert items > 200 and 20 < flagged < items - 20
        capped = load_report_data(store, limit=20)
        wider = load_report_data(store, limit=flagged + 20)
        assert full.total == capped.total == len(full.files) == full.shown == items
        # Past the limit every flagged file stays, even when they alone are more.
        assert len(capped.files) == capped.shown == flagged and capped.left_out == items - flagged
        assert {f["verdict"] for f in capped.files} == flagged_verdicts
        # Then the others that weigh most (unreadable first) fill the limit.
        assert wider.shown == flagged + 20 and len(wider.files) == flagged + 20
        others = [f for f in wider.files if f["verdict"] not in flagged_verdicts]
        unreadable = full.by_verdict.get("unreadable", 0)
        assert {f["verdict"] for f in others[: min(20, unreadable)]} <= {"unreadable"}
        assert [f["path"] for f in capped.flagged(6)] == [f["path"] for f in full.flagged(6)]
        assert capped.by_verdict == full.by_verdict and capped.top_rules == full.top_rules
        timeline = {kind: list(points) for kind, points in full.timeline.items()}
        assert {kind: list(points) for kind, points in capped.timeline.items()} == timeline
        assert sum(len(points) for points in timeline.values()) > 100
        html = render_html(capped)
        assert 'id="left-out"' not in render_html(full)
    finally:
        store.close()
    assert (
        f"This report's table holds {flagged} of the {items} files: all {flagged} flagged "
        "files, to stay small"
    ) in html
    assert f"The other {items - flagged} files are left out of this page" in html
    assert len(_payload(html)["rows"]) == flagged


def test_corpus_findings_have_titles_in_the_report(scanned: Path) -> None:
    from leaktriage.corpus import FINDINGS

    assert all(f.title and f.rationale and f.innocent for f in FINDINGS.values())
    store = Store.open_existing(scanned)
    try:
        data = load_report_data(store)
    finally:
        store.close()
    info = data.rules["corpus-altered-copy"]
    assert info.title == "Altered copy of another file in the dump"
    assert info.category == "alteration"
    html = (scanned / "report.html").read_text(encoding="utf-8")
    assert "Altered copy of another file in the dump" in html


def test_streamed_payload_is_one_dump_of_every_file(
    scanned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data blocks, written a few files at a time, unpack to the rows and details made
    from the file dicts, every flagged row is in the plain fallback pages, and the
    provenance chains lead to the containers."""
    from leaktriage.report import rows as report_rows
    from leaktriage.report.data import FLAGGED, VERDICT_LEGEND, VERDICTS

    monkeypatch.setattr(report_rows, "DETAIL_CHUNK", 7)
    monkeypatch.setattr(report_rows, "FALLBACK_PAGE", 5)
    store = Store.open_existing(scanned)
    try:
        data = load_report_data(store)
        text = render_html(data)
        files = data.files
        parents = dict(store.db.execute("SELECT record_id, parent_id FROM present_files"))
    finally:
        store.close()
    payload = _payload(text)
    used = {x["rule_id"] for f in files for x in f["findings"]}
    assert payload["columns"] == report_rows.COLUMNS
    assert payload["rows"] == [report_rows.table_row(f) for f in files]
    details = [report_rows.detail(f) for f in files]
    for row, d in zip(payload["rows"], details, strict=True):  # facts the row shows
        for _, facts in d["facts"]:
            for fact in facts:
                fact[1] = [row[fact[1]]] if isinstance(fact[1], int) else fact[1]
    # A detail whose facts and raw metadata are those of an earlier file names it instead.
    shared = 0
    for n, d in enumerate(payload["details"]):
        if "facts_of" in d:
            k = d.pop("facts_of")
            assert k < n and (details[k]["facts"], details[k].get("raw")) == (
                details[n]["facts"],
                details[n].get("raw"),
            )
            shared += 1
    assert shared > 0
    assert payload["details"] == details
    assert payload["rules"] == {
        rid: [info.title, info.rationale, info.false_positives]
        for rid, info in sorted(data.rules.items())
        if rid in used
    }
    assert payload["techniques"] == data.techniques
    assert payload["verdicts"] == list(VERDICTS) and payload["legend"] == VERDICT_LEGEND
    assert text.count('class="z-details"') == -(-len(files) // 7)
    flagged = [f["idx"] for f in files if f["verdict"] in FLAGGED]
    assert sorted(i for i, _ in payload["fallback"]) == flagged
    assert text.count('class="p-rows"') == -(-len(flagged) // 5)
    for i, row in payload["fallback"]:
        assert row == report_rows.fallback_row(payload["rows"][i])
    nested = [f for f in files if f["parent_id"]]
    assert len(nested) > 20
    for f in nested:
        assert f["chain"], f["path"]
        assert files[f["chain"][-1]]["record_id"] == parents[f["record_id"]]
        for outer in f["chain"]:
            assert f["path"].startswith(files[outer]["path"] + "!")
    # Raw metadata for flagged files only.
    assert any(f["raw"] for f in files)
    assert all(not f["raw"] for f in files if f["verdict"] not in FLAGGED)


def _synthetic_store(folder: Path, count: int) -> Store:
    """``count`` records: a zip every tenth file holding the next nine, one in seven flagged,
    long values and lists to cut."""
    from leaktriage.model import Evidence, FileRecord, Finding, Severity, Status

    folder.mkdir(parents=True)
    store = Store(folder / "triage.sqlite")
    started = datetime(2026, 1, 1, tzinfo=UTC)
    run = store.start_run(ScanConfig(leak_date=date(2017, 5, 5)), Path("dump"), started)
    with store.writer(run) as write:
        archive = ""
        for n in range(count):
            top = n % 10 == 0
            rid = f"{n:032x}"
            if top:
                archive = rid
            name = f"doc_{n:06d}.zip" if top else f"member_{n:06d}.docx"
            path = f"dump/d{n // 100:03d}/doc_{n - n % 10:06d}.zip" + ("" if top else f"!{name}")
            flagged = n % 7 == 0
            write(
                FileRecord(
                    record_id=rid,
                    path=path,
                    name=name,
                    parent_id=None if top else archive,
                    depth=0 if top else 1,
                    size=1000 + n,
                    sha256=f"{n % 5000:064x}",
                    md5=None,
                    mime="application/zip" if top else "application/msword",
                    extension="zip" if top else "docx",
                    extension_mismatch=False,
                    mtime=started,
                    mtime_zone_known=True,
                    outer_mtime=None,
                    status=Status.OK,
                    extractor="x@1",
                    fields={
                        "doc.author": f"Auteur {n % 13}",
                        "doc.title": "Titre " + "x" * (n % 900),
                        "doc.created": datetime(2016, 1 + n % 12, 1 + n % 28, tzinfo=UTC),
                        "doc.keywords": tuple(f"k{i}" for i in range(n % 30)),
                        "text.sample": "Texte " * 80,
                    },
                    raw={f"Raw:{i}": f"valeur {i} " * 30 for i in range(8)},
                    findings=(
                        Finding(
                            rid,
                            "container-time-after-leak-date",
                            "T0089.003",
                            Severity.HIGH,
                            "B",
                            "Written after the leak date " + "y" * 500,
                            (Evidence("doc.modified", "2017-05-06", ""),),
                        ),
                    )
                    if flagged
                    else (),
                    verdict="likely_altered" if flagged else "no_signal",
                    score=40.0 if flagged else 0.0,
                )
            )
    store.finish_run(run, started, {"ok": count}, count)
    return store


def test_report_memory_does_not_grow_with_the_store(tmp_path: Path) -> None:
    import tracemalloc

    peaks = []
    for count in (500, 5000):
        store = _synthetic_store(tmp_path / str(count), count)
        try:
            tracemalloc.start()
            write_html(store, tmp_path / f"{count}.html")
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            rows = _payload((tmp_path / f"{count}.html").read_text(encoding="utf-8"))["rows"]
            assert isinstance(rows, list) and len(rows) == count
        finally:
            store.close()
    small, large = peaks
    # Ten times the records, about the same peak (the first screen and one chunk of files).
    assert large < 1.5 * small + 2_000_000, peaks


def test_export_patches_changed_records_like_a_full_render(scanned: Path, tmp_path: Path) -> None:
    """Records whose findings, verdict or score changed after they were cached, or that have
    no cached line, come out as a fresh render of the stored record would."""
    from leaktriage.store import export_files
    from leaktriage.store.exports import _cache_row

    out = tmp_path / "out"
    shutil.copytree(scanned, out)
    store = Store.open_existing(out)
    try:
        ids = store.record_ids()
        with store.db:
            store.db.execute(
                "INSERT INTO findings (record_id, rule_id, technique, severity, grade, message, "
                "source, score) VALUES (?, 'corpus-altered-copy', 'T0089.003', 'high', 'A', "
                "'=HYPERLINK(\"x\")', 'corpus', 7.5)",
                (ids[3],),
            )
            fid = store.db.execute("SELECT max(finding_id) FROM findings").fetchone()[0]
            store.db.execute(
                "INSERT INTO evidence VALUES (?, 0, 'doc.title', ?, NULL)", (fid, 'a "b"\nc')
            )
            store.db.execute(
                "UPDATE files SET verdict = 'suspicious', score = 12.25 WHERE record_id = ?",
                (ids[5],),
            )
            (fewer,) = store.db.execute(
                "SELECT record_id FROM findings GROUP BY record_id HAVING count(*) > 1 "
                "ORDER BY record_id LIMIT 1"
            ).fetchone()
            store.db.execute(
                "DELETE FROM findings WHERE finding_id = "
                "(SELECT min(finding_id) FROM findings WHERE record_id = ?)",
                (fewer,),
            )
            store.db.execute("DELETE FROM export_cache WHERE record_id = ?", (ids[9],))
        assert export_files(store, out / "again.jsonl", out / "again.csv") == len(ids)
        states = dict(store.db.execute("SELECT record_id, state FROM file_state"))
        expected = {rid: _cache_row(store.load(rid)) for rid in (ids[3], ids[5], fewer, ids[9])}
    finally:
        store.close()
    lines = (out / "again.jsonl").read_text(encoding="utf-8").splitlines()
    with (out / "again.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    for rid, (_, _, _, _, line, row) in expected.items():
        i = ids.index(rid)
        assert lines[i] == f'{line.decode()[:-1]}, "scan_state": "{states[rid]}"}}'
        assert rows[i] == [*next(csv.reader([row.decode()])), states[rid]]
    assert rows[5][11:13] == ["suspicious", "12.25"]
    assert json.loads(lines[3])["findings"][-1]["evidence"][0]["value"] == 'a "b"\nc'
