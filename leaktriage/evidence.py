"""``leaktriage evidence``: one file of a finished scan and everything that backs its finding,
written as a pack an editor or a lawyer can check with other tools.

A pack is a folder::

    item/<name>               the item's bytes, re-read from the dump the scan recorded
    containers/N-<name>       every container on its chain, outermost first (N = 1, 2...)
    revisions/revision-N.pdf  a PDF's earlier revisions (its bytes up to each one's end)
    evidence/<name>           the pictures the scan kept for the record, if any
    record.json               the record's ``files.jsonl`` line, exactly
    findings.json             its findings with their evidence, rule texts and facts
    README.txt                a summary for people (what ``leaktriage show`` prints, and more)
    manifest.json             every file's sha256 and size, tool version, run id, pack time
    SHA256SUMS                the same hashes in ``sha256sum -c`` form

The bytes are found by following the record's provenance chain (``walk.locate``), never by
scanning the dump again, and checked against the sha256 the scan recorded: bytes that are
gone or differ are said so in the pack, ``README.txt`` and the exit status, and the rest is
still written. Every name that comes from the dump is made safe for any file system
(:func:`safe_name`). The pack is written in a temporary folder beside its target and renamed
into place when complete; the only value that changes from one pack to the next of the same
scan is the time in ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leaktriage.config import Limits, ScanConfig
from leaktriage.diskfile import is_inside, open_regular
from leaktriage.errors import OutputError
from leaktriage.extractors import Extraction, Source
from leaktriage.model import FileRecord, Issue, Status, iso_utc, json_value
from leaktriage.store import Store
from leaktriage.walk.content import CHUNK
from leaktriage.walk.locate import Link, Located, Locator

NAME_BYTES = 120
"""Longest file name a pack uses (UTF-8 bytes), well under every file system's 255."""
MAX_CHAIN = 64
"""Most levels followed up a record's parents (the scan's depth limit is far lower)."""
SUMS_NAME = "SHA256SUMS"
MANIFEST_NAME = "manifest.json"

_UNSAFE = frozenset('/\\:*?"<>|')
"""Characters no file name of a pack holds (separators, and what Windows refuses)."""
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{n}" for d in ("COM", "LPT") for n in range(1, 10)]
)
"""Names Windows refuses whatever their extension."""


def safe_name(name: str, fallback: str = "item") -> str:
    """``name`` (from the dump) as one file name safe on any file system: no separator, no
    ``..`` and no leading dot, no control or format character, no character Windows refuses,
    not a reserved device name, at most ``NAME_BYTES`` bytes (the extension kept). The
    extractor's ``attachment:`` label is dropped; a name left empty becomes ``fallback``."""
    name = name.removeprefix("attachment:")
    chars = [
        "_" if ch in _UNSAFE or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
        for ch in name
    ]
    text = "".join(chars)
    while ".." in text:
        text = text.replace("..", ".")
    text = text.strip(" .")
    if not text:
        text = fallback
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > 16:
        stem, dot, ext = text, "", ""
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    suffix = dot + ext
    room = NAME_BYTES - len(suffix.encode("utf-8"))
    while len(stem.encode("utf-8")) > room:
        stem = stem[:-1]
    return (stem.rstrip(" .") or fallback) + suffix


@dataclass(frozen=True, slots=True)
class PackFile:
    """One file of a pack."""

    path: str
    """Relative to the pack, ``/``-separated."""
    sha256: str
    size: int


@dataclass(slots=True)
class Pack:
    """What :func:`write_pack` wrote."""

    folder: Path
    record: FileRecord
    run_id: int | None
    chain: list[Located]
    """Every level, outermost first; the last is the item itself."""
    files: list[PackFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the pack could not hold (revisions, pictures) and why."""

    @property
    def problems(self) -> list[str]:
        """Each level whose bytes are missing or differ from the scan's, said once."""
        return [f"{found.link.path}: {found.problem}" for found in self.chain if found.problem]

    @property
    def verified(self) -> bool:
        """Every level's bytes were found and match the sha256 the scan recorded."""
        return all(found.verified for found in self.chain)


def write_pack(
    store: Store,
    out_dir: Path,
    record: FileRecord,
    target: Path,
    describe: Callable[[FileRecord, dict[str, Any]], str],
    force: bool = False,
) -> Pack:
    """Write the evidence pack of ``record`` (from the scan in ``out_dir``, its ``store``
    opened read-only) to the folder ``target``; ``describe`` renders ``README.txt``'s
    account of the record from it and the run's options.

    Refuses (``OutputError``) a ``target`` that is a non-empty folder unless ``force``, and
    one inside the dump. Bytes missing from the dump or different from the scan's do not
    stop the pack: :attr:`Pack.verified` and :attr:`Pack.problems` say so."""
    run = store.last_run() or {}
    options = json.loads(run.get("config_json") or "{}")
    config = _scan_config(options)
    root = Path(run.get("input_path") or "")
    _check_target(target, root, out_dir, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        pack = _fill(store, out_dir, record, work, root, config, options, describe)
        _move_into_place(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    pack.folder = target
    return pack


def _fill(
    store: Store,
    out_dir: Path,
    record: FileRecord,
    work: Path,
    root: Path,
    config: ScanConfig,
    options: dict[str, Any],
    describe: Callable[[FileRecord, dict[str, Any]], str],
) -> Pack:
    run = store.last_run() or {}
    chain = _chain(store, record)
    targets = [
        work / "containers" / f"{level}-{safe_name(link.name, 'container')}"
        for level, link in enumerate(chain[:-1], start=1)
    ]
    targets.append(work / "item" / safe_name(record.name))
    spool = work / ".spool"
    spool.mkdir()
    with _children(config) as extract:
        located = Locator(root, config, spool, extract).locate(chain, targets)
    shutil.rmtree(spool)
    pack = Pack(work, record, run.get("run_id"), located)
    if not root.name:
        pack.notes.append("the store names no dump root: nothing could be re-read")
    _revisions(pack, work)
    evidence = _pictures(store, out_dir, record.record_id, work, pack)
    from leaktriage.store.exports import record_line

    line = record_line(store, record.record_id)
    _write(work / "record.json", line or b"")
    _write(work / "findings.json", _json(_findings(record, options)))
    _write(work / "README.txt", _readme(pack, describe(record, options)).encode("utf-8"))
    pack.files = _listing(work)
    manifest = _manifest(pack, run, root, evidence)
    _write(work / MANIFEST_NAME, _json(manifest))
    sums = _listing(work)
    _write(work / SUMS_NAME, "".join(f"{f.sha256}  {f.path}\n" for f in sums).encode("utf-8"))
    pack.files = _listing(work)
    return pack


# --- the record and its chain ----------------------------------------------------------------


def _chain(store: Store, record: FileRecord) -> list[Link]:
    """The record and its containers, outermost first, as the store has them."""
    found = [record]
    seen = {record.record_id}
    while found[-1].parent_id is not None and len(found) < MAX_CHAIN:
        parent_id = found[-1].parent_id
        if parent_id in seen:
            break
        seen.add(parent_id)
        try:
            found.append(store.load(parent_id))
        except KeyError:
            break
    return [Link(r.path, r.name, r.sha256, r.mime) for r in reversed(found)]


def _scan_config(options: dict[str, Any]) -> ScanConfig:
    """The options the run recorded that say how its items were read (limits, workers and
    their limits, text sample); the defaults for any it lacks or holds out of range."""
    names = Limits.__dataclass_fields__
    limits = {k: v for k, v in (options.get("limits") or {}).items() if k in names}
    kept: dict[str, Any] = {}
    for key in ("workers", "timeout_s", "memory_limit_bytes", "text_sample_bytes"):
        if key in options:
            kept[key] = options[key]
    try:
        return ScanConfig(limits=Limits(**limits), **kept)
    except (TypeError, ValueError):
        return ScanConfig()


@contextlib.contextmanager
def _children(config: ScanConfig) -> Iterator[Callable[[Source], tuple[Extraction, Status]]]:
    """How an email's or mailbox's inner items are taken out again: in a worker process
    with the scan's time and memory limits (started only if needed), or in this process
    when the scan itself parsed in its own process (``workers=0``)."""
    from leaktriage.pipeline.extract import extract_item

    if config.workers == 0:

        def here(source: Source) -> tuple[Extraction, Status]:
            extraction, _, status, _ = extract_item(source)
            return extraction, status

        yield here
        return
    from leaktriage.execute.workers import ExtractorPool

    pools: list[ExtractorPool] = []

    def isolated(source: Source) -> tuple[Extraction, Status]:
        if not pools:
            pools.append(
                ExtractorPool(1, config.timeout_s, config.memory_limit_bytes, extract_item)
            )
        pool = pools[0]
        pool.submit(0, source)
        while pool.busy:
            for _, (extraction, _, status, _) in pool.finished(block=True):
                return extraction, status
        lost = Issue("extract", "internal", "the worker pool lost this item")
        return Extraction(issues=[lost]), Status.ERROR

    try:
        yield isolated
    finally:
        for pool in pools:
            pool.close()


# --- what the pack holds beside the bytes ----------------------------------------------------


def _revisions(pack: Pack, work: Path) -> None:
    """``revisions/revision-N.pdf``: each earlier revision of a PDF with incremental
    updates, the item's bytes up to the end offset ``pdf.revisions`` gives for it."""
    lines = pack.record.fields.get("pdf.revisions")
    if not isinstance(lines, tuple) or len(lines) < 2:
        return
    item = pack.chain[-1]
    if not item.verified:
        pack.notes.append("earlier PDF revisions not written: the item's bytes were not verified")
        return
    size = item.size or 0
    with item.target.open("rb") as handle:
        for line in lines[:-1]:
            number, _, rest = str(line).partition("|")
            end_text = rest.partition("|")[0]
            if not (number.isdigit() and end_text.isdigit()) or not 0 < int(end_text) <= size:
                pack.notes.append(f"PDF revision line not understood, skipped: {line!r}")
                continue
            handle.seek(0)
            _write(work / "revisions" / f"revision-{int(number)}.pdf", handle.read(int(end_text)))


def _pictures(
    store: Store, out_dir: Path, record_id: str, work: Path, pack: Pack
) -> list[dict[str, Any]]:
    """``evidence/``: the pictures and revision PDFs the scan kept for the record, from the
    store (``evidence_files``; none in a store made before the table) and from
    ``OUT/evidence/<record_id>/``; what the manifest says of each. The same bytes from both
    places, or already under ``revisions/``, are written once."""
    described: list[dict[str, Any]] = []
    written: dict[str, str] = {}
    # The revision PDFs the scan kept are the bytes revisions/ already holds: written once.
    revisions = work / "revisions"
    before = (
        {hashlib.sha256(p.read_bytes()).hexdigest() for p in revisions.iterdir()}
        if revisions.is_dir()
        else set()
    )

    def put(name: str, data: bytes, about: dict[str, Any]) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if digest in written.values() or digest in before:
            return
        base = safe_name(name, "picture")
        stem, dot, ext = base.rpartition(".")
        stem, dot, ext = (stem, dot, ext) if dot else (base, "", "")
        chosen, number = base, 1
        while chosen in written:
            number += 1
            chosen = f"{stem}-{number}{dot}{ext}"
        written[chosen] = digest
        _write(work / "evidence" / chosen, data)
        described.append({"file": f"evidence/{chosen}", "sha256": digest, **about})

    for kept in store.evidence_files(record_id):
        about = {
            "kind": kept.kind,
            "caption": kept.caption,
            "mime": kept.mime,
            "width": kept.width,
            "height": kept.height,
            "from": "store",
        }
        if hashlib.sha256(kept.data).hexdigest() != kept.sha256:
            pack.notes.append(f"evidence picture {kept.name!r} differs from its stored sha256")
        put(kept.name, kept.data, about)
    folder = out_dir / "evidence" / record_id
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                with open_regular(entry.path) as handle:
                    data = handle.read()
            except OSError as exc:
                pack.notes.append(f"evidence picture {entry.name!r} unreadable: {exc.strerror}")
                continue
            put(entry.name, data, {"from": f"evidence/{record_id}/{entry.name}"})
    return described


def _findings(record: FileRecord, options: dict[str, Any]) -> dict[str, Any]:
    """``findings.json``: the record's verdict, its findings with their evidence and what
    each rule is about (title, rationale, innocent explanations), and every fact."""
    from leaktriage.report.data import rule_infos, run_ruleset

    infos = rule_infos(run_ruleset(options))
    findings = []
    for finding in record.findings:
        info = infos.get(finding.rule_id)
        findings.append(
            {
                **finding.to_json(),
                "title": info.title if info else None,
                "rationale": info.rationale if info else None,
                "innocent_explanations": list(info.false_positives) if info else [],
            }
        )
    return {
        "record_id": record.record_id,
        "path": record.path,
        "sha256": record.sha256,
        "verdict": record.verdict,
        "score": record.score,
        "findings": findings,
        "facts": {name: json_value(value) for name, value in sorted(record.fields.items())},
        "issues": [issue.to_json() for issue in record.issues],
    }


def _readme(pack: Pack, account: str) -> str:
    """``README.txt``: what the pack is, whether its bytes are the scan's, its files, and
    the account of the record (``describe``)."""
    record = pack.record
    score = f"{record.score:.2f}" if record.score is not None else "none"
    lines = [
        "leaktriage evidence pack",
        "",
        f"path     {_plain(record.path)}",
        f"record   {record.record_id}",
        f"sha256   {record.sha256}",
        f"verdict  {record.verdict or 'none'} (score {score})",
        f"run      {pack.run_id}",
        "",
    ]
    if pack.verified:
        lines.append("Bytes: every file on the chain was re-read from the dump and matches the")
        lines.append("sha256 the scan recorded.")
    else:
        lines.append("Bytes: NOT VERIFIED. What was re-read from the dump is not what the scan")
        lines.append("recorded:")
        lines += [f"  - {_plain(problem)}" for problem in pack.problems]
    lines += [f"Note: {_plain(note)}" for note in pack.notes]
    lines += [
        "",
        "Files (check them with `sha256sum -c SHA256SUMS` inside this folder):",
    ]
    for found in pack.chain[:-1]:
        lines.append(f"  containers/{found.target.name}  {_plain(found.link.path)}")
    lines.append(f"  item/{pack.chain[-1].target.name}  the item itself")
    lines += [
        "  revisions/      earlier revisions of a PDF saved with incremental updates",
        "  evidence/       pictures the scan kept for this record",
        "  record.json     the record's line of files.jsonl, exactly",
        "  findings.json   findings with their evidence, rule texts and every fact",
        "  manifest.json   every file's sha256 and size, tool version, run id, pack time",
        "",
        "The record as `leaktriage show` prints it, with each finding's technique and",
        "innocent explanations:",
        "",
        account.rstrip("\n"),
        "",
    ]
    return "\n".join(lines)


def _manifest(
    pack: Pack, run: dict[str, Any], root: Path, evidence: list[dict[str, Any]]
) -> dict[str, Any]:
    from leaktriage import __version__

    record = pack.record
    return {
        "tool": "leaktriage",
        "tool_version": __version__,
        "scan_tool_version": run.get("tool_version"),
        "run_id": pack.run_id,
        "created_at": iso_utc(datetime.now(UTC)),
        "dump_root": str(root),
        "record": {
            "record_id": record.record_id,
            "path": record.path,
            "sha256": record.sha256,
            "size": record.size,
            "mime": record.mime,
            "verdict": record.verdict,
            "score": record.score,
        },
        "verified": pack.verified,
        "problems": pack.problems,
        "notes": pack.notes,
        "chain": [
            {
                "level": level,
                "path": found.link.path,
                "file": found.target.relative_to(pack.folder).as_posix() if found.found else None,
                "sha256_recorded": found.link.sha256,
                "sha256_found": found.sha256,
                "problem": found.problem,
            }
            for level, found in enumerate(pack.chain)
        ],
        "evidence": evidence,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in pack.files],
    }


# --- writing ---------------------------------------------------------------------------------


def _check_target(target: Path, root: Path, out_dir: Path, force: bool) -> None:
    """Refuse a target that is a file, a non-empty folder (unless ``force``), inside the
    dump (a pack is never written into it), or holding the dump or the scan (``--force``
    would replace them)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputError(f"{target} exists and is not a folder")
    if root.name and is_inside(target, root):
        raise OutputError(f"{target} is inside the dump {root}; a pack is never written there")
    for what, folder in (("the dump", root), ("the scan's output folder", out_dir)):
        if folder.name and is_inside(folder, target):
            raise OutputError(f"{target} holds {what} {folder}; choose another --out")
    if target.is_dir() and not force and any(target.iterdir()):
        raise OutputError(f"{target} is not empty; choose another --out, or --force to replace it")


def _move_into_place(work: Path, target: Path) -> None:
    """Rename the finished pack to ``target``; an old one (``--force``) is moved aside first
    and removed only once the new one is in place."""
    aside: Path | None = None
    if target.is_dir():
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        aside.rmdir()
        target.rename(aside)
    try:
        work.rename(target)
    except BaseException:
        if aside is not None:
            aside.rename(target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _listing(work: Path) -> list[PackFile]:
    """Every file of the pack but ``SHA256SUMS``, by path, with its sha256 and size."""
    files = []
    for folder, _, names in os.walk(work):
        for name in names:
            path = Path(folder, name)
            relative = path.relative_to(work).as_posix()
            if relative == SUMS_NAME or not stat.S_ISREG(path.lstat().st_mode):
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
            files.append(PackFile(relative, digest.hexdigest(), path.stat().st_size))
    return sorted(files, key=lambda f: f.path)


def _plain(text: str) -> str:
    """A value from the dump for a plain-text file: control and format characters shown as
    U+FFFD."""
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text
    )


def render_text(print_to: Callable[[Any], None]) -> str:
    """What a rich-printing function writes, as plain text (no colour, no markup, no
    wrapping): ``print_to`` is given the console to print to."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        no_color=True,
        highlight=False,
        soft_wrap=True,
        width=1000,
        force_terminal=False,
        emoji=False,
    )
    print_to(console)
    return buffer.getvalue()
