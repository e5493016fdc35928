"""The output formats a scan's store can be written in, each registered by its own module
(``jsonl``, ``csv``, ``ftm``, ``html``), as the extractors are: ``leaktriage export --format``
and the scan look them up here, and adding a format means adding a module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaktriage.store import Store

FORMAT_MODULES = ("jsonl", "csv", "ftm", "html")
"""Modules of ``leaktriage.report`` that register a format (imported on first look-up)."""


@dataclass(frozen=True, slots=True)
class Output:
    """One output format."""

    name: str
    file_name: str
    """Its file in the output folder."""
    write: Callable[[Store, Path], int]
    """Writes the store in this format to a path; returns the records (or entities) written."""
    unit: str = "records"


_OUTPUTS: dict[str, Output] = {}


def register(output: Output) -> Output:
    """Add a format (each name once)."""
    if output.name in _OUTPUTS:
        raise ValueError(f"output format {output.name!r} registered twice")
    _OUTPUTS[output.name] = output
    return output


def outputs() -> dict[str, Output]:
    """Every registered format, by name, in ``FORMAT_MODULES`` order."""
    for module in FORMAT_MODULES:
        importlib.import_module(f"leaktriage.report.{module}")
    return {name: _OUTPUTS[name] for name in FORMAT_MODULES}
