"""Large generated corpora for the benchmarks: a mixed dump of N files, big files, a sparse giant.

``build_mixed(out, 5000)`` lays out a dump the way leaks arrive: folders of 200 files cycling
through every non-hostile fixture (PDF, DOCX, XLSX, PPTX, ODF, legacy DOC/XLS/PPT, JPEG,
HEIC, PNG, EML, mbox and Outlook messages with attachments); one file in 50 is a zip of 10
members and one in 50 a zip holding a tar.gz of 8 documents and a mailbox (zip > tar.gz >
file), so about half of the items sit inside archives or emails. Byte-identical on every
build; names are invented.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from corpus_fixtures.build import all_fixtures
from corpus_fixtures.builders.archive import tar_gz_bytes, zip_bytes

HOSTILE_WORDS = (
    "bomb",
    "truncated",
    "corrupt",
    "bitflip",
    "cyclic",
    "broken",
    "traversal",
    "links",
    "password",
)
"""Fixtures left out: a real leak is not one third decompression bombs and path-traversal
traps (the hostile corpus has its own test)."""

FOLDER_SIZE = 200
"""Files per folder."""


def _blobs() -> list[tuple[str, bytes]]:
    return [
        # Nested fixtures (a Maildir's cur/ and new/) become flat names in the mixed dump.
        (f"{family}_{name.replace('/', '_')}", builder())
        for family, items in sorted(all_fixtures().items())
        for name, builder in sorted(items.items())
        if not any(word in name for word in HOSTILE_WORDS)
    ]


def build_mixed(out: Path, count: int) -> tuple[int, int]:
    """Write ``count`` files under ``out``; returns (files written, bytes written)."""
    blobs = _blobs()
    total = 0
    for index in range(count):
        folder = out / f"dossier_{index // FOLDER_SIZE:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        if index % 50 == 24:
            inner = tar_gz_bytes(
                [
                    (
                        f"finances/{i}_{blobs[(index + i) % len(blobs)][0]}",
                        blobs[(index + i) % len(blobs)][1],
                    )
                    for i in range(8)
                ]
            )
            mail = next(data for name, data in blobs if name == "email_mailbox.mbox")
            name = f"archive_{index:05d}.zip"
            data = zip_bytes([("campagne/dossier.tar.gz", inner), ("campagne/boite.mbox", mail)])
        elif index % 50 == 49:
            members = [
                (f"{i}_{blobs[(index + i) % len(blobs)][0]}", blobs[(index + i) % len(blobs)][1])
                for i in range(10)
            ]
            name = f"envoi_{index:05d}.zip"
            data = zip_bytes(members)
        else:
            base, data = blobs[index % len(blobs)]
            name = f"{index:05d}_{base}"
        (folder / name).write_bytes(data)
        total += len(data)
    return count, total


def build_large(out: Path, count: int, size: int) -> int:
    """Write ``count`` incompressible files of ``size`` bytes (hashing-bound work); returns
    the bytes written. The content is a deterministic pseudo-random stream."""
    out.mkdir(parents=True, exist_ok=True)
    block = b"".join(hashlib.sha512(i.to_bytes(4, "big")).digest() for i in range((4 << 20) // 64))
    for number in range(count):
        with (out / f"disque_{number:02d}.bin").open("wb") as handle:
            written = 0
            counter = 0
            while written < size:
                chunk = counter.to_bytes(8, "big") + block[8:]
                chunk = chunk[: size - written]
                handle.write(chunk)
                written += len(chunk)
                counter += 1
    return count * size


def build_sparse(path: Path, size: int) -> None:
    """A file of ``size`` zero bytes made sparse (instant, takes no disk space)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    os.utime(path, (1_490_000_000, 1_490_000_000))
