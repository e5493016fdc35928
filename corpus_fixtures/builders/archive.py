"""Zip, tar and gzip containers with fixed times, so nested fixtures are byte-identical."""

from __future__ import annotations

import gzip
import io
import tarfile
import warnings
import zipfile
from collections.abc import Iterable

from corpus_fixtures import EPOCH

DOS_TIME = (2017, 3, 14, 9, 30, 0)


def zip_bytes(
    members: Iterable[tuple[str, bytes]],
    date_time: tuple[int, int, int, int, int, int] = DOS_TIME,
    compression: int = zipfile.ZIP_DEFLATED,
    create_system: int = 3,
) -> bytes:
    """A zip of ``(name, data)`` members, in the given order, all stamped ``date_time``.

    ``create_system`` 3 is Unix (Python, Info-ZIP); 0 is MS-DOS, what Office writes, with no
    permission bits.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Duplicate member names are planted on purpose in some fixtures.
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = compression
                info.create_system = create_system
                info.external_attr = 0o644 << 16 if create_system == 3 else 0
                archive.writestr(info, data)
    return buffer.getvalue()


def tar_gz_bytes(members: Iterable[tuple[str, bytes]], mtime: int | None = None) -> bytes:
    """A gzip-compressed tar of ``(name, data)`` members with fixed owner and times."""
    stamp = int(EPOCH.timestamp()) if mtime is None else mtime
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = stamp
            info.uid = info.gid = 1000
            info.uname = info.gname = "staff"
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip_bytes(raw.getvalue(), mtime=stamp)


def tar_bytes_with_links(
    regular: Iterable[tuple[str, bytes]], links: Iterable[tuple[str, str]]
) -> bytes:
    """An uncompressed tar with regular members and symbolic links (name, target)."""
    stamp = int(EPOCH.timestamp())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in regular:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = stamp
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mtime = stamp
            archive.addfile(info)
    return raw.getvalue()


def gzip_bytes(data: bytes, mtime: int | None = None) -> bytes:
    """Gzip ``data`` with a fixed header time and no file name."""
    stamp = int(EPOCH.timestamp()) if mtime is None else mtime
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=stamp, filename="") as stream:
        stream.write(data)
    return buffer.getvalue()


def encrypted_zip_bytes(name: str, data: bytes, passphrase: str = "campagne2017") -> bytes:
    """A zip whose one member is ZipCrypto-encrypted (written by libarchive)."""
    import tempfile
    from pathlib import Path

    import libarchive

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "enc.zip"
        with libarchive.file_writer(
            str(target), "zip", options="zip:encryption=zipcrypt", passphrase=passphrase
        ) as archive:
            archive.add_file_from_memory(name, len(data), data, mtime=int(EPOCH.timestamp()))
        return target.read_bytes()


def nested_three_levels() -> bytes:
    """zip > tar.gz > zip > files: three levels of archives, each with a file of its own."""
    innermost = zip_bytes([("level3/minutes.txt", b"Compte rendu de la reunion du 14 mars.\n")])
    middle = tar_gz_bytes(
        [("level2/notes.txt", b"Notes internes.\n"), ("level2/deep.zip", innermost)]
    )
    return zip_bytes(
        [
            ("level1/readme.txt", b"Archive de la campagne.\n"),
            ("level1/inner.tar.gz", middle),
            ("level1/dup.txt", b"first\n"),
            ("level1/dup.txt", b"second, same name\n"),
        ]
    )


def traversal_zip() -> bytes:
    """Members whose names climb out of the extraction folder or are absolute."""
    return zip_bytes(
        [
            ("../../outside.txt", b"climbs out\n"),
            ("/etc/cron.d/evil", b"absolute\n"),
            ("ok/normal.txt", b"normal\n"),
            ("ctrl\x07name.txt", b"bell in the name\n"),
        ]
    )


def links_tar() -> bytes:
    """A tar with a regular file, a symlink out of the archive and a symlink loop."""
    return tar_bytes_with_links(
        [("data/real.txt", b"real content\n")],
        [("data/passwd", "../../../../etc/passwd"), ("data/loop", "loop")],
    )


FIXTURES = {
    "nested_three_levels.zip": nested_three_levels,
    "traversal.zip": traversal_zip,
    "links.tar": links_tar,
    "password_protected.zip": lambda: encrypted_zip_bytes("secret/plan.txt", b"plan secret\n"),
    "minutes.txt.gz": lambda: gzip_bytes(b"Compte rendu, version compressee.\n"),
}
"""Archive fixtures: nesting, traversal names, links, encryption, a bare compressed stream."""

NONDETERMINISTIC = frozenset({"password_protected.zip"})
"""ZipCrypto writes a random 12-byte header; these fixtures differ between builds."""
