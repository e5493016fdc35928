"""Any text a dump can hold - invalid bytes, lone surrogates, control characters, markup,
line breaks - goes through the record, the store, files.jsonl, files.csv, report.html and
the terminal, and comes out storable, well-formed and escaped."""

from __future__ import annotations

import csv
import html.parser
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from leaktriage.cli import _clean
from leaktriage.config import ScanConfig
from leaktriage.model import FileRecord, Issue, Status
from leaktriage.pipeline import items
from leaktriage.report.csv import cell as _csv_cell
from leaktriage.report.html import write_html
from leaktriage.safetext import clean, raw_hex
from leaktriage.store import Store, export_csv, export_jsonl
from leaktriage.walk import Item

# Every code point, surrogates included, with the characters that break outputs weighted in.
_ANY_CHAR = st.characters(codec=None, exclude_categories=())
_NASTY = st.sampled_from(
    [
        "\n",
        "\r",
        "\r\n",
        "\x00",
        "\x1b[31m",
        "\u202e",
        "\ud800",
        "\udcff",
        "<script>",
        '"',
        ",",
        "=",
    ]
)
_TEXT = st.lists(st.one_of(_ANY_CHAR, _NASTY), max_size=40).map("".join)
_FROM_BYTES = st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape"))
DUMP_TEXT = st.one_of(_TEXT, _FROM_BYTES)


def _record(text: str, number: int) -> FileRecord:
    return FileRecord(
        record_id=f"{number:032x}",
        path=f"dump/{number:03d}/{text}",
        name=text,
        parent_id=None,
        depth=0,
        size=1,
        sha256="a" * 64,
        md5=None,
        mime="application/pdf",
        extension="pdf",
        extension_mismatch=False,
        mtime=datetime(2017, 5, 4, 22, 10, tzinfo=UTC),
        mtime_zone_known=True,
        outer_mtime=None,
        status=Status.OK,
        extractor="pdf@1",
        fields={"doc.title": text, "doc.author": text, "meta.scripts": (text, "Latin")},
        raw={f"Info/{text}": text},
        issues=(Issue("extract", "corrupt", f"value {text} unreadable"),),
    )


class _Strict(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1


def _script_tags(page: str) -> int:
    parser = _Strict()
    parser.feed(page)
    parser.close()
    return parser.scripts


def _plain_report(out: Path, count: int) -> str:
    out.mkdir()
    store = Store(out / "triage.sqlite")
    try:
        run = store.start_run(ScanConfig(), out, datetime(2026, 1, 1, tzinfo=UTC))
        with store.writer(run) as write:
            for n in range(count):
                write(_record("plain", n))
        return write_html(store, out / "report.html").read_text(encoding="utf-8")
    finally:
        store.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(DUMP_TEXT, min_size=1, max_size=4))
def test_any_dump_text_is_stored_exported_and_shown_safely(
    texts: list[str], tmp_path_factory: object
) -> None:
    out = Path(tmp_path_factory.mktemp("text"))  # type: ignore[attr-defined]
    records = [
        items._storable(_record(text, n), Item(path="", name="", depth=0))
        for n, text in enumerate(texts)
    ]
    for record, text in zip(records, texts, strict=True):
        assert record.name == clean(text)
        assert record.fields["doc.title"] == clean(text)
        (issue,) = record.issues
        assert issue.message == f"value {clean(text)} unreadable"
        for value in (record.name, record.path, *record.raw, *record.raw.values()):
            value.encode("utf-8")  # storable: no lone surrogate is left
        if raw_hex(text) is not None:
            assert record.raw[f"Info/{clean(text)}#bytes"] == raw_hex(text)

    store = Store(out / "triage.sqlite")
    try:
        run = store.start_run(ScanConfig(), out, datetime(2026, 1, 1, tzinfo=UTC))
        with store.writer(run) as write:
            for record in records:
                write(record)
        assert export_jsonl(store, out / "files.jsonl") == len(texts)
        assert export_csv(store, out / "files.csv") == len(texts)
        report = write_html(store, out / "report.html").read_text(encoding="utf-8")
    finally:
        store.close()

    lines = (out / "files.jsonl").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    by_id = {r.record_id: r for r in records}
    for line in lines[:-1]:
        data = json.loads(line)
        assert data["fields"]["doc.title"] == by_id[data["record_id"]].fields["doc.title"]
        assert data["name"] == by_id[data["record_id"]].name

    with (out / "files.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(texts)
    for row in rows:
        record = by_id[row["record_id"]]
        assert row["path"] == _csv_cell(record.path)
        assert row["doc.title"] == _csv_cell(record.fields["doc.title"])

    # The page's own scripts only: a value's "<script>" came out escaped, never as a tag.
    assert _script_tags(report) == _script_tags(_plain_report(out / "plain", len(texts)))

    terminal = io.StringIO()
    console = Console(file=terminal, highlight=False, soft_wrap=True, width=200)
    for record in records:
        console.print(_clean(record.name))
    shown = terminal.getvalue()
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in shown)
    assert "\x1b" not in shown and "\u202e" not in shown
