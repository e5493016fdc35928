"""How a command fails: one line on standard error, a documented exit code, never a traceback.

Every test here asserts the exact exit code and that standard error is one line. Most run
``main()`` in this process; the ones where what reaches the terminal matters (C libraries,
signals, limits of the process) run the ``leaktriage`` command itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaktriage import errors
from leaktriage.cli import _commands, build_parser, main, parse_args

README = Path(__file__).resolve().parents[1] / "README.md"


def _code(argv: list[str]) -> int:
    """The exit code of ``leaktriage argv`` run in this process (argparse's own exits too)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Run ``argv``; assert its exit code and that standard error is exactly one line."""
    got = _code(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert got == code, captured.err
    return lines[0]


def _command(argv: list[str], **popen: object) -> subprocess.CompletedProcess[str]:
    """``leaktriage argv`` run as the console script runs it, in a process of its own."""
    script = "from leaktriage.cli import entry; entry()"
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, **popen
    )


def _failed(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line a command that ended with ``code`` wrote on standard error."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.returncode == code, done.stderr
    return lines[0]


def _mount(*args: str) -> bool:
    """Run mount (as root); False where this system does not allow it."""
    if os.geteuid() != 0:
        return False
    try:
        return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    root = tmp_path / "dump"
    root.mkdir()
    (root / "a.txt").write_text("hello\n")
    return root


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[Path]:
    """``folder`` made read-only for the block: mounted read-only (root ignores
    permissions), or with its write permission removed where mounting is not allowed."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not _mount("--bind", str(folder), str(folder)):
        pytest.skip("running as root where bind mounts are not allowed")
    try:
        assert _mount("-o", "remount,bind,ro", str(folder))
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def readonly(tmp_path: Path) -> Iterator[Path]:
    """An empty folder nobody can write in."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    with _read_only(folder):
        yield folder


# --- the exit-code table ------------------------------------------------------------------


def test_exit_code_table_is_the_same_in_help_and_readme() -> None:
    table = errors.exit_code_table()
    assert build_parser().format_help().count(table) == 1
    for command in _commands(build_parser()):
        assert command.format_help().count(table) == 1, command.prog
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"```text\n(exit codes:\n.*?)```", readme, re.S)
    assert block is not None, "README.md has no ```text block starting with 'exit codes:'"
    assert block.group(1) == table, "paste errors.exit_code_table() into README.md"


def test_every_error_class_has_a_documented_code() -> None:
    for module in ("execute.cluster", "extractors._dkim", "rules", "yarascan"):  # own errors
        importlib.import_module(f"leaktriage.{module}")

    def subclasses(cls: type[BaseException]) -> list[type[BaseException]]:
        return [cls, *(s for c in cls.__subclasses__() for s in subclasses(c))]

    for cls in subclasses(errors.LeakTriageError):
        assert getattr(cls, "exit_code", None) in errors.EXIT_CODES, cls


def test_a_bug_is_one_line_asking_for_a_report_and_v_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import leaktriage.cli

    def broken(out: object) -> int:
        raise KeyError("oops")

    monkeypatch.setattr(leaktriage.cli, "_fields", broken)
    line = _one_line(capsys, ["fields"], errors.EXIT_INTERNAL)
    assert "internal error" in line and "report" in line and "KeyError" in line
    assert _code(["-v", "fields"]) == errors.EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_an_interrupt_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import leaktriage.cli

    def interrupted(out: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(leaktriage.cli, "_fields", interrupted)
    assert "interrupted" in _one_line(capsys, ["fields"], errors.EXIT_INTERRUPTED)


def test_usage_errors_are_one_line(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(dump.parent / "o")
    line = _one_line(capsys, ["scan", str(dump), "--out", out, "--bogus"], errors.EXIT_USAGE)
    assert line.startswith("leaktriage: ") and "--bogus" in line
    line = _one_line(capsys, ["scan", str(dump)], errors.EXIT_USAGE)
    assert line.startswith("leaktriage scan: ") and "--out" in line
    line = _one_line(capsys, ["nosuchcommand"], errors.EXIT_USAGE)
    assert line.startswith("leaktriage: ")


# --- option values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--max-depth", "-1"),
        ("--max-ratio", "0"),
        ("--memory-mb", "-5"),
        ("--max-member-mb", "-1"),
        ("--max-archive-gb", "-1"),
        ("--max-members", "-1"),
        ("--workers", "0"),
    ],
)
def test_option_out_of_range(
    dump: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    out = dump.parent / "o"
    argv = ["scan", str(dump), "--out", str(out), option, value]
    line = _one_line(capsys, argv, errors.EXIT_USAGE)
    assert line.startswith(f"leaktriage scan: argument {option}: "), line
    assert not out.exists(), "a refused option writes nothing"


def test_scheduler_without_dask_executor(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dump.parent / "o"
    argv = ["scan", str(dump), "--out", str(out), "--scheduler", "tcp://127.0.0.1:8786"]
    assert "--executor dask" in _one_line(capsys, argv, errors.EXIT_USAGE)
    argv = ["scan", str(dump), "--out", str(out), "--executor", "dask"]
    assert "--scheduler" in _one_line(capsys, argv, errors.EXIT_USAGE)
    argv = [*argv, "--scheduler", "http://127.0.0.1:8786"]
    assert "tcp://" in _one_line(capsys, argv, errors.EXIT_USAGE)
    assert not out.exists()


def test_api_refuses_bad_options_with_clear_errors(dump: Path) -> None:
    import datetime

    import leaktriage
    from leaktriage.config import Limits, ScanConfig

    with pytest.raises(
        ValueError, match=r"executor must be one of \('local', 'dask'\), not str 'dsk'"
    ) as bad:
        leaktriage.run_scan(dump, dump.parent / "o", ScanConfig(executor="dsk"))
    assert isinstance(bad.value, errors.UsageError)
    with pytest.raises(errors.UsageError, match="executor"):
        list(leaktriage.scan(dump, executor="dsk"))
    with pytest.raises(TypeError, match=r"leak_date.*datetime\.date") as wrong:
        leaktriage.scan(dump, leak_date="2017-05-05").__next__()
    assert isinstance(wrong.value, errors.OptionTypeError)
    with pytest.raises(errors.UsageError, match="timeout_s"):
        ScanConfig(timeout_s=0)
    with pytest.raises(errors.UsageError, match="max_depth"):
        Limits(max_depth=-1)
    with pytest.raises(errors.UsageError, match="scheduler"):
        ScanConfig(scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(errors.UsageError, match="scheduler"):
        ScanConfig(executor="dask")
    with pytest.raises(errors.OptionTypeError, match="rule_dirs"):
        ScanConfig(rule_dirs="rules/")  # type: ignore[arg-type]
    # A datetime is a date: the day is kept, as the command's --leak-date gives it.
    when = datetime.datetime(2017, 5, 5, 20, 0, tzinfo=datetime.UTC)
    assert ScanConfig(leak_date=when).leak_date == datetime.date(2017, 5, 5)
    assert not (dump.parent / "o").exists()


# --- option files -----------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--decoys", "--dkim-keys", "--rules", "--yara"])
def test_missing_option_file(dump: Path, capsys: pytest.CaptureFixture[str], option: str) -> None:
    out = dump.parent / "o"
    missing = dump.parent / "nope"
    argv = ["scan", str(dump), "--out", str(out), option, str(missing)]
    line = _one_line(capsys, argv, errors.EXIT_INPUT)
    assert option in line and str(missing) in line, line
    assert not out.exists(), "nothing is written before the options are known to be usable"


def test_malformed_option_files_are_code_4(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = dump.parent / "keys.txt"
    keys.write_text("not a key line\n")
    decoys = dump.parent / "decoys.txt"
    decoys.write_text("nonsense\n")
    for option, path in (("--dkim-keys", keys), ("--decoys", decoys)):
        argv = ["scan", str(dump), "--out", str(dump.parent / "o"), option, str(path)]
        assert str(path) in _one_line(capsys, argv, errors.EXIT_MALFORMED)


def test_api_missing_option_file(dump: Path) -> None:
    import leaktriage
    from leaktriage.config import ScanConfig

    config = ScanConfig(decoys=str(dump.parent / "nope"))
    with pytest.raises(errors.InputError, match="decoy"):
        leaktriage.run_scan(dump, dump.parent / "o", config)
    with pytest.raises(errors.InputError, match="decoy"):
        next(leaktriage.scan(dump, decoys=str(dump.parent / "nope")))


# --- the output folder ------------------------------------------------------------------


def test_out_is_a_file(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = dump.parent / "afile"
    afile.write_text("keep me\n")
    for out in (afile, afile / "sub"):
        line = _one_line(capsys, ["scan", str(dump), "--out", str(out)], errors.EXIT_OUTPUT)
        assert str(afile) in line and "--out" in line, line
    assert afile.read_text() == "keep me\n"


def test_out_not_writable(dump: Path, readonly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for out in (readonly, readonly / "sub"):
        line = _one_line(capsys, ["scan", str(dump), "--out", str(out)], errors.EXIT_OUTPUT)
        assert str(readonly) in line, line
    assert not list(readonly.iterdir())


def test_os_errors_name_the_output_folder_only_when_it_is_the_cause(tmp_path: Path) -> None:
    import errno

    out = tmp_path / "out"
    full = errors.as_user_error(OSError(errno.ENOSPC, "No space left on device"), out)
    assert isinstance(full, errors.OutputError) and f"in {out}" in str(full)
    assert "another --out" in str(full)
    temp = OSError(errno.ENOSPC, "No space left on device", "/var/tmp/leaktriage-x/spool")
    assert "--out" not in str(errors.as_user_error(temp, out))
    assert errors.as_user_error(OSError(errno.EIO, "I/O error", "/elsewhere"), out) is None
    assert errors.as_user_error(ValueError("a bug"), out) is None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 1 MiB file system (tmpfs), or None where mounting one is not allowed."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)):
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _file_size_limit(limit: int) -> None:
    """In the child: files past ``limit`` bytes fail with EFBIG (not a SIGXFSZ kill), as they
    do once a disk is full."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_disk_full_is_one_line_and_the_next_run_continues(
    tmp_path: Path, small_disk: Path | None
) -> None:
    # Words that do not compress: the store and the exports outgrow 1 MiB.
    rng = random.Random(7)
    words = ["".join(rng.choices("abcdefghijklmnop", k=rng.randint(3, 9))) for _ in range(4000)]
    dump = tmp_path / "dump"
    dump.mkdir()
    for n in range(60):
        (dump / f"doc{n:03}.txt").write_text(" ".join(rng.choices(words, k=1500)))
    if small_disk is not None:
        out = small_disk / "out"
        done = _command(["-q", "scan", str(dump), "--out", str(out)])
    else:  # no tmpfs here: a file size limit fails writes the same way (EFBIG)
        out = tmp_path / "out"
        limit = 1 << 20
        done = _command(
            ["-q", "scan", str(dump), "--out", str(out)],
            preexec_fn=lambda: _file_size_limit(limit),
        )
    line = _failed(done, errors.EXIT_OUTPUT)
    assert str(out) in line, line
    if small_disk is not None:  # SQLite calls a file past the size limit a disk I/O error
        assert "full" in line or "No space left" in line, line
    if small_disk is not None:
        assert _mount("-o", "remount,size=64m", str(small_disk))
    again = _command(["-q", "scan", str(dump), "--out", str(out)])
    assert again.returncode == 0, again.stderr
    assert len((out / "files.jsonl").read_text().splitlines()) == 60


# --- a damaged store --------------------------------------------------------------------


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a scan of a few files."""
    base = tmp_path_factory.mktemp("scanned")
    root = base / "dump"
    root.mkdir()
    for n in range(40):
        (root / f"note{n:02}.txt").write_text(f"note {n}\n" * (n + 1))
    assert main(["-q", "scan", str(root), "--out", str(base / "out"), "--workers", "1"]) == 0
    return base / "out"


def _damaged(scanned: Path, tmp_path: Path, how: str) -> Path:
    """A copy of ``scanned`` whose store is damaged ``how``."""
    out = tmp_path / how
    out.mkdir()
    for name in ("files.jsonl", "manifest.json"):
        (out / name).write_bytes((scanned / name).read_bytes())
    data = (scanned / "triage.sqlite").read_bytes()
    if how == "random":
        data = random.Random(3).randbytes(len(data))
    elif how == "header":  # the first page only
        data = data[:4096]
    elif how == "half":
        data = data[: len(data) // 2]
    elif how == "pages":  # every page but the first overwritten, the size unchanged
        data = data[:4096] + random.Random(5).randbytes(len(data) - 4096)
    (out / "triage.sqlite").write_bytes(data)
    return out


@pytest.mark.parametrize("how", ["random", "header", "half", "pages"])
def test_damaged_store_is_refused_never_overwritten(
    scanned: Path, tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _damaged(scanned, tmp_path, how)
    store = out / "triage.sqlite"
    before = store.read_bytes()
    dump = scanned.parent / "dump"
    for argv in (
        ["scan", str(dump), "--out", str(out), "--workers", "1"],
        ["show", str(out), "note01"],
        ["report", str(out)],
        ["export", str(out), "--format", "jsonl", "--out", str(tmp_path / "x.jsonl")],
        ["analyze", str(out)],
    ):
        line = _one_line(capsys, argv, errors.EXIT_STORE)
        assert f"mv {store} {store}.damaged" in line, line
        assert store.read_bytes() == before, f"{argv[0]} changed the damaged store"
    left = sorted(p.name for p in out.iterdir())
    assert left == ["files.jsonl", "manifest.json", "triage.sqlite"]


# --- the Dask scheduler -----------------------------------------------------------------


def test_unreachable_scheduler(dump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    import socket

    import dask

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    out = dump.parent / "o"
    argv = ["scan", str(dump), "--out", str(out), "--executor", "dask", "--scheduler", address]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        line = _one_line(capsys, argv, errors.EXIT_SCHEDULER)
    assert address in line, line


# --- -q and -v anywhere -----------------------------------------------------------------


def test_quiet_and_verbose_after_the_command(
    dump: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = dump.parent / "o"
    assert main(["scan", str(dump), "--out", str(out), "--workers", "1", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["report", str(out), "--no-html", "--quiet"]) == 0
    capsys.readouterr()
    for argv in (["fields", "-v"], ["-v", "fields"], ["rules", "list", "-v"]):
        args = parse_args(argv)
        assert (args.verbose, args.quiet) == (1, False), argv
    args = parse_args(["-v", "scan", str(dump), "--out", str(out), "-v", "-q"])
    assert (args.verbose, args.quiet) == (2, True)


# --- the finished store on read-only media ----------------------------------------------


def test_finished_store_is_one_file_in_rollback_journal_mode(scanned: Path) -> None:
    import sqlite3

    assert sorted(p.name for p in scanned.glob("triage.sqlite*")) == ["triage.sqlite"]
    db = sqlite3.connect(f"file:{scanned / 'triage.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert db.execute("SELECT count(*) FROM files").fetchone() == (40,)
    finally:
        db.close()


def test_commands_read_the_store_from_read_only_media(
    scanned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("triage.sqlite", "files.jsonl", "manifest.json"):
        (media / name).write_bytes((scanned / name).read_bytes())
    with _read_only(media):
        assert main(["show", str(media), "dump/note01.txt"]) == 0
        assert "note01.txt" in capsys.readouterr().out
        assert main(["report", str(media), "--html", str(tmp_path / "r.html")]) == 0
        assert main(["export", str(media), "--format", "ftm", "--out", str(tmp_path / "x")]) == 0
        assert main(["eval", str(media), str(tmp_path / "labels.csv")]) == 3  # no labels file
        capsys.readouterr()
        line = _one_line(capsys, ["report", str(media)], errors.EXIT_OUTPUT)  # no report.html
        assert "report.html" in line, line
        sqlite = subprocess.run(
            ["sqlite3", "-readonly", str(media / "triage.sqlite"), "SELECT count(*) FROM files"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert sqlite.returncode == 0 and sqlite.stdout.strip() == "40", sqlite.stderr
        assert sorted(p.name for p in media.iterdir()) == [
            "files.jsonl",
            "manifest.json",
            "triage.sqlite",
        ]
    assert (tmp_path / "r.html").stat().st_size and (tmp_path / "x").stat().st_size


# --- C libraries' messages --------------------------------------------------------------


def test_mupdf_messages_go_to_the_items_issues_never_to_stdout(tmp_path: Path) -> None:
    import json

    from leaktriage.extractors._pdf_common import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "hello world")
    data = doc.tobytes()
    start = data.find(b"stream") + 8  # the page's content stream, garbled
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "garbled.pdf").write_bytes(data[:start] + b"\x00\xff" * 50 + data[start + 100 :])
    out = tmp_path / "out"
    done = _command(["-q", "scan", str(dump), "--out", str(out), "--workers", "1"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "MuPDF" not in done.stderr
    done = _command(["scan", str(dump), "--out", str(out), "--no-reuse", "--workers", "1"])
    assert done.returncode == 0 and "MuPDF" not in done.stdout + done.stderr
    (record,) = (json.loads(line) for line in (out / "files.jsonl").read_text().splitlines())
    assert any("MuPDF" in issue["message"] for issue in record["issues"]), record["issues"]
