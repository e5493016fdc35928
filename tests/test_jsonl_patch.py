"""A cached ``files.jsonl`` line patched with new findings, verdict and score (and a cached
``files.csv`` row with a new verdict and score) is byte for byte what a whole render of the
changed record gives, whatever the dump put in its values."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from leaktriage.bounds import MAX_CHARS, MAX_PER_RULE
from leaktriage.model import Evidence, FileRecord, Finding, Severity, Status
from leaktriage.report import csv as csv_format
from leaktriage.report import jsonl

HOSTILE_RAW = {
    "score": "9.9",
    'x"score': "1",
    "verdict": '"likely_altered"',
    "findings": '[{"rule_id": "planted"}]',
    "Title": 'Notes, "findings": [1], "score": 3, "verdict": "no_signal"',
}


def _finding(rule: str, score: float, n: int) -> Finding:
    return Finding(
        "rid-0001",
        rule,
        "T0089.003",
        Severity.MEDIUM,
        "B",
        f'finding {n}, "score": {score}, "issues": [',
        tuple(Evidence(f"doc.e{k}", f"valeur {k}" + "é" * (k * 30), "") for k in range(n)),
        "corpus" if rule.startswith("corpus") else "rule",
        score,
    )


def _record(raw: dict[str, str], long_title: bool) -> FileRecord:
    return FileRecord(
        record_id="rid-0001",
        path="dump/notes.docx",
        name="notes.docx",
        parent_id=None,
        depth=0,
        size=1234,
        sha256="ab" * 32,
        md5="cd" * 16,
        sha1="ef" * 20,
        mime="application/msword",
        extension="docx",
        extension_mismatch=False,
        mtime=datetime(2017, 5, 4, 9, 0, tzinfo=UTC),
        mtime_zone_known=True,
        outer_mtime=None,
        status=Status.OK,
        extractor="ole2@1",
        fields={
            "doc.title": "Compte rendu " + ("x" * (MAX_CHARS + 10) if long_title else ""),
            "doc.author": 'Sophie "score": 1',
        },
        raw=raw,
        findings=(_finding("last-editor-differs-from-author", 1.0, 1),),
        verdict="suspicious",
        score=1.0,
    )


@pytest.mark.parametrize(
    "raw",
    [{}, HOSTILE_RAW, {"XMP/dc:créateur": "é" * (MAX_CHARS + 5)}],
    ids=["plain", "hostile-raw", "cut-accented-key"],
)
@pytest.mark.parametrize("long_title", [False, True], ids=["uncut", "cut-title"])
def test_patched_line_is_the_whole_render(raw: dict[str, str], long_title: bool) -> None:
    record = _record(raw, long_title)
    cached = jsonl.line(record)
    assert cached.startswith(b'{"cut": ') is (long_title or "XMP/dc:créateur" in raw)
    changed = replace(
        record,
        findings=(
            *record.findings,
            *(_finding("corpus-altered-copy", 2.0 + k, 25) for k in range(MAX_PER_RULE + 2)),
        ),
        verdict="likely_altered",
        score=7.25,
    )
    findings = [jsonl.FindingLine.of(f.to_json()) for f in changed.findings]
    whole = jsonl.line(changed)
    assert jsonl.patched(cached, "likely_altered", 7.25, findings) == whole
    # The evidence cut as the whole render cuts it: 20 of 25 items kept, the last 3 of those
    # (600, 570 and 540 characters) shortened, for each of the 3 findings kept.
    assert b'"findings.corpus-altered-copy": {"kept": 3, "left_out": 2}' in whole
    assert b'"findings.corpus-altered-copy.evidence": {"kept": 60, "left_out": 15}' in whole
    assert whole.count("é… [".encode()) == 9
    # And back: the corpus findings gone, the verdict and score as first written.
    again = jsonl.patched(whole, "suspicious", 1.0, findings[:1])
    assert again == cached
    # A line of a store made before records had a SHA-1 (no "sha1" key) splices the same way.
    sha1 = b', "sha1": "' + b"ef" * 20 + b'"'
    assert cached.count(sha1) == whole.count(sha1) == 1
    older = jsonl.patched(cached.replace(sha1, b""), "likely_altered", 7.25, findings)
    assert older == whole.replace(sha1, b"")


def test_a_line_the_splice_cannot_read_is_rendered_whole() -> None:
    record = _record({}, False)
    odd = b'{"depth": 0, "score": null, "verdict": null}'
    patched = jsonl.patched(
        odd, "suspicious", 1.0, [jsonl.FindingLine.of(record.findings[0].to_json())]
    )
    assert patched.startswith(b'{"depth": 0, "findings": [{"evidence": ')
    assert patched.endswith(b'"score": 1.0, "verdict": "suspicious"}')


@pytest.mark.parametrize(
    "path",
    ["dump/notes.docx", "dump/a, b.docx", 'dump/"x".docx', "dump/l\nm.docx", "dump/-=x,.docx"],
)
@pytest.mark.parametrize("score", [7.25, -1.5, None])
def test_patched_csv_row_is_the_whole_render(path: str, score: float | None) -> None:
    record = replace(_record(HOSTILE_RAW, False), path=path)
    changed = replace(record, verdict="likely_altered", score=score)
    assert csv_format.patched(csv_format.row(record), "likely_altered", score) == (
        csv_format.row(changed)
    )
    cells = next(csv.reader(io.StringIO(csv_format.row(changed).decode(), newline="")))
    assert (cells[1], cells[11], cells[12]) == (
        path,
        "likely_altered",
        {7.25: "7.25", -1.5: "'-1.5", None: ""}[score],
    )
