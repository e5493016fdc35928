"""Write the hostile corpus: every trap a planted file can set, with the status each must get.

    python -m tests.hostile.build OUT

Deterministic: the same bytes every build (the password-protected members aside, whose
encryption headers are random by design of ZipCrypto).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from corpus_fixtures.build import all_fixtures
from corpus_fixtures.builders.archive import zip_bytes
from tests.hostile.bombs import nested_bomb, zeros_bomb


def _fixture(family: str, name: str) -> bytes:
    return all_fixtures()[family][name]()


def broken_xref_pdf() -> bytes:
    """A PDF whose startxref points into the middle of nowhere and whose xref rows are junk."""
    data = _fixture("pdf", "report.pdf")
    data = re.sub(rb"startxref\s+\d+", b"startxref\n987654321", data)
    return re.sub(rb"(\d{10}) (\d{5}) n", rb"99999\2 \1 n", data)


def long_name_zip() -> bytes:
    """A zip member with a 10,000-character name."""
    return zip_bytes([("a" * 9_996 + ".txt", b"long name\n")])


# name -> (builder, status the top-level record must get)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip_bomb_10g.zip": (zeros_bomb, "partial"),
    "nested_42.zip": (nested_bomb, "partial"),
    "traversal.zip": (lambda: _fixture("archive", "traversal.zip"), "ok"),
    "billion_laughs.docx": (lambda: _fixture("ooxml", "bomb_core.docx"), "partial"),
    "cyclic_fat.doc": (lambda: _fixture("ole2", "cyclic_fat.doc"), "error"),
    "truncated.pdf": (lambda: _fixture("pdf", "truncated.pdf"), "partial"),
    "broken_xref.pdf": (broken_xref_pdf, "ok"),
    "encrypted.pdf": (lambda: _fixture("pdf", "encrypted.pdf"), "encrypted"),
    "encrypted.docx": (lambda: _fixture("ole2", "protege.docx"), "encrypted"),
    "password.zip": (lambda: _fixture("archive", "password_protected.zip"), "ok"),
    "holiday_photo.jpg": (lambda: _fixture("pdf", "report.pdf"), "ok"),
    "empty.bin": (lambda: b"", "unsupported"),
    "long_name.zip": (long_name_zip, "ok"),
}
"""Every hostile file, its builder and the status its top-level record must end with."""

SYMLINK_LOOP = "loop"
"""A symbolic link to its own folder, made beside the files (status skipped)."""


def build_hostile(out: Path) -> dict[str, str]:
    """Write the corpus into ``out``; returns ``{file name: expected status}``."""
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (build, status) in sorted(HOSTILE.items()):
        (out / name).write_bytes(build())
        expected[name] = status
    link = out / SYMLINK_LOOP
    if not link.is_symlink():
        os.symlink(".", link)
    expected[SYMLINK_LOOP] = "skipped"
    return expected


if __name__ == "__main__":
    written = build_hostile(Path(sys.argv[1]))
    print(f"wrote {len(written)} hostile items under {sys.argv[1]}")
