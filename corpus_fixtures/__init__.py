"""Deterministic builders of leaktriage's test fixtures and sample leak.

Every file is generated with the real libraries (pymupdf writes PDFs, python-docx and zipfile
write OOXML, the stdlib ``email`` package writes mail, zipfile/tarfile nest them) from fixed
values, so two builds are byte-identical. Names are invented, never real people's.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(2017, 3, 14, 9, 30, 0, tzinfo=UTC)
"""Base time of the invented campaign the fixtures come from."""

PEOPLE = (
    "Camille Durand-Lefort",
    "Julien Marchetti",
    "Sophie Arnaudet",
    "Mathieu Vasseur",
    "Elodie Chambreuil",
)
"""Invented staff names of the invented campaign."""

FOREIGN_PEOPLE = ("Георгий Петровский", "Анна Соколова")
"""Invented Cyrillic names, as a forger's Russian-language Office would write them."""

ORGANISATION = "En Avant Ensemble"
"""Invented campaign organisation name."""
