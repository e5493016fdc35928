"""report.html's data blocks read back in Python: base64, then gzip, then JSON, the table
rebuilt from its columns, as the page's script does (for the report tests and checks)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

DATA_TYPES = ("application/json", "application/octet-stream")
"""The only types a data block of the page may have (the browser never runs either)."""


def blocks(html: str, attributes: str) -> Iterator[str]:
    """The text of each ``<script ATTRIBUTES>`` element, in page order (``attributes`` is a
    regular expression)."""
    for found in re.finditer(rf"<script {attributes}>(.*?)</script>", html, re.S):
        yield found.group(1)


def unpacked(text: str) -> Any:
    """A packed block's JSON: base64 (nothing else allowed), gzip, UTF-8."""
    return json.loads(gzip.decompress(base64.b64decode(text, validate=True)).decode("utf-8"))


def _rows_of(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """A columnar details block as one dict per file (a null value: the key is absent)."""
    count = len(next(iter(columns.values()), []))
    return [
        {key: values[n] for key, values in columns.items() if values[n] is not None}
        for n in range(count)
    ]


def page_data(html: str) -> dict[str, Any]:
    """Everything the page's data blocks hold: the meta block's keys, ``rows`` (full rows,
    paths restored), ``details`` (one per row, facts the row shows restored to their
    values, the facts of a file that names the first of its content as ``facts_of`` copied
    from it), ``groups``, and ``fallback`` (the ``[index, row]`` pairs of the plain pages)."""
    data: dict[str, Any] = json.loads(
        next(blocks(html, 'type="application/json" id="report-meta"'))
    )
    columns = [
        unpacked(text)
        for text in blocks(html, r'type="application/octet-stream" class="z-col" data-col="\d+"')
    ]
    assert len(columns) == len(data["columns"])
    rows: list[list[Any]] = []
    path = ""
    for n, (shared, rest) in enumerate(columns[0]):
        path = path[:shared] + rest
        rows.append([path, *(column[n] for column in columns[1:])])
    data["rows"] = rows
    data["groups"] = unpacked(next(blocks(html, 'type="application/octet-stream" id="z-groups"')))
    details = [
        d
        for text in blocks(
            html, r'type="application/octet-stream" class="z-details" data-first="\d+"'
        )
        for d in _rows_of(unpacked(text))
    ]
    for detail in details:
        if "facts_of" in detail:  # the same content's facts, written once (as the page reads them)
            first = details[detail["facts_of"]]
            for key in ("facts", "raw", "raw_more"):
                if key in first:
                    detail[key] = json.loads(json.dumps(first[key]))
    for row, detail in zip(rows, details, strict=True):
        for _, facts in detail["facts"]:
            for fact in facts:
                if isinstance(fact[1], int):
                    fact[1] = [row[fact[1]]]
    data["details"] = details
    pages = blocks(html, 'type="application/json" class="p-rows"')
    data["fallback"] = [pair for text in pages for pair in json.loads(text)]
    return data


def without_data(html: str) -> str:
    """The page without its data blocks and its script: the markup Jinja2 rendered."""
    types = "|".join(re.escape(t) for t in DATA_TYPES)
    html = re.sub(rf'<script type="(?:{types})"[^>]*>.*?</script>', "", html, flags=re.S)
    return re.sub(r"<script>.*?</script>", "", html, flags=re.S)
