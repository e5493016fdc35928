"""The technique catalogue in rules/ parses and carries the ids findings are tagged with."""

from __future__ import annotations

from pathlib import Path

import yaml


def test_technique_catalogue() -> None:
    path = Path(__file__).resolve().parents[1] / "rules" / "techniques.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_id = {entry["id"]: entry for entry in entries}
    assert sorted(by_id) == ["C00202", "T0089.001", "T0089.002", "T0089.003"]
    assert by_id["T0089.003"]["formerly"] == "T0025 Leak altered documents"
    assert by_id["C00202"]["kind"] == "counter"
    assert all(entry["description"].strip() for entry in entries)
