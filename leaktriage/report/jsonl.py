"""``files.jsonl``: one JSON object per record, sorted by provenance path - the contract
ingestion scripts read. Each record's line is rendered once, when the record is written
(the store keeps it in its export cache), and each finding's part once, when the finding is
stored (:class:`FindingLine`); :func:`patched` puts together only what the corpus stage
changes (findings, verdict, score). Every line is kept within ``leaktriage.bounds``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaktriage.bounds import (
    bounded,
    bounded_evidence,
    cut_evidence,
    kept_findings,
    values_cut,
)
from leaktriage.model import FileRecord
from leaktriage.report.registry import Output, register

if TYPE_CHECKING:
    from leaktriage.store import Store

FILE_NAME = "files.jsonl"


def line(record: FileRecord) -> bytes:
    """The record's line in UTF-8, without the ``scan_state`` the export adds."""
    return _dumps(bounded(record.to_json()))


@dataclass(frozen=True, slots=True)
class FindingLine:
    """One finding as its record's line shows it, rendered once (when it is stored): what
    choosing the findings a line keeps needs, and the finding's JSON text with its evidence
    already bounded."""

    rule_id: str
    severity: str
    score: float | None
    evidence: int
    """How many evidence items the finding has (the text keeps ``bounds.MAX_EVIDENCE``)."""
    text: str

    @classmethod
    def of(cls, finding: dict[str, Any]) -> FindingLine:
        """From a finding's ``Finding.to_json`` form."""
        evidence = finding["evidence"]
        return cls(
            finding["rule_id"],
            finding["severity"],
            finding["score"],
            len(evidence),
            _text({**finding, "evidence": bounded_evidence(evidence)}),
        )


def findings_text(findings: list[FindingLine], cut: dict[str, dict[str, int]]) -> str:
    """The JSON list of the findings a line keeps (``bounds.bounded_findings``, the same
    text), with what was left out added to ``cut``."""
    kept = kept_findings([(f.rule_id, f.severity, f.score) for f in findings], cut)
    for i in kept:
        cut_evidence(findings[i].rule_id, findings[i].evidence, cut)
    return "[" + ", ".join(findings[i].text for i in kept) + "]"


def patched(
    cached: bytes, verdict: str | None, score: float | None, findings: list[FindingLine]
) -> bytes:
    """A cached line with the record's current findings, verdict and score: the bytes a
    whole render of the record gives. The line's other bytes are copied as they are (a
    record's facts are most of its line, and a third of the lines change after the corpus
    stage), the findings' texts too; a line this cannot read is decoded and rendered again
    whole."""
    try:
        return _spliced(cached, verdict, score, findings)
    except ValueError:  # json.JSONDecodeError is one
        data = json.loads(cached)
        cut = values_cut(data.get("cut"))
        data["findings"] = json.loads(findings_text(findings, cut))
        data["verdict"] = verdict
        data["score"] = score
        if cut:
            data["cut"] = dict(sorted(cut.items()))
        else:
            data.pop("cut", None)
        return _dumps(data)


_DECODE = json.JSONDecoder()


def _spliced(
    line: bytes, verdict: str | None, score: float | None, findings: list[FindingLine]
) -> bytes:
    """``patched`` by position, on the UTF-8 bytes. The line is ``json.dumps(...,
    sort_keys=True)`` of a record, so its top-level keys come in order: ``cut`` (when
    something was cut) first, ``fields``, ``findings``, ``issues``, ... ``raw``, ``record_id``,
    ``schema_version``, ``score``, ``sha1`` (absent from lines of stores made before it),
    ``sha256``, ``size``, ``status`` and ``verdict`` last.
    Inside a JSON string a quote is escaped, so ``, "findings": [`` is the key itself (no
    fact is named findings) and ``, "issues": [``, the key after it, ends the findings (no
    finding or evidence key is named issues); the last ``, "verdict": `` is the record's
    (nothing follows it), and so is the last ``, "score": `` before it (only hashes, a size
    and a status lie between)."""
    cut: dict[str, dict[str, int]] = {}
    start = 1
    if line.startswith(b'{"cut": '):
        text = line.decode("utf-8")  # only lines with something cut: a few in a hundred
        old, end = _DECODE.raw_decode(text, 8)
        cut = values_cut(old)
        start = len(text[:end].encode("utf-8")) + 2
    at = line.index(b', "findings": [', start)
    begin = at + len(b', "findings": ')
    after_findings = line.index(b', "issues": [', begin)
    verdict_key = line.rindex(b', "verdict": ')
    score_key = line.rindex(b', "score": ', after_findings, verdict_key)
    score_at = score_key + len(b', "score": ')
    after_score = line.index(b', "sha', score_at)  # sha1, or sha256 in older stores' lines
    if not line.endswith(b"}"):
        raise ValueError("unexpected line end")
    kept = findings_text(findings, cut)
    head = f'{{"cut": {_text(dict(sorted(cut.items())))}, ' if cut else "{"
    return b"".join(
        (
            head.encode("utf-8"),
            line[start:begin],
            kept.encode("utf-8"),
            line[after_findings:score_at],
            _text(score).encode("utf-8"),
            line[after_score : verdict_key + len(b', "verdict": ')],
            _text(verdict).encode("utf-8"),
            b"}",
        )
    )


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _dumps(data: dict[str, Any]) -> bytes:
    return _text(data).encode("utf-8")


def write(store: Store, path: Path) -> int:
    """Write ``files.jsonl`` from the store; returns the record count."""
    from leaktriage.store import export_files

    return export_files(store, path, None)


register(Output("jsonl", FILE_NAME, write))
