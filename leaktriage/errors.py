"""The exception types leaktriage raises, and the one table of the command's exit codes.

Per-item problems become a status, never a crash. What ends a command is the person's (an
option out of range, a missing or malformed option file) or the output folder's (not
writable, full, a damaged store); :func:`as_user_error` says which, and the command prints
it as one line and exits with its code from :data:`EXIT_CODES`.
"""

from __future__ import annotations

import errno
import shlex
import sqlite3
import textwrap
from pathlib import Path

from leaktriage.diskfile import is_inside

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_MALFORMED = 4
EXIT_OUTPUT = 5
EXIT_STORE = 6
EXIT_SCHEDULER = 7
EXIT_UNVERIFIED = 8
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done (files that failed to parse are data, recorded with their reason)",
    EXIT_INTERNAL: "internal error: a bug, please report it (-v shows the traceback); or "
    "failing cases in `rules test`",
    EXIT_USAGE: "usage error: unknown option, or a value out of range",
    EXIT_INPUT: "the input path, an option's file or folder (--decoys, --dkim-keys, --rules, "
    "--yara, labels) or the store in OUT is missing or unreadable",
    EXIT_MALFORMED: "a rule file, decoy list, DKIM key store or YARA rule is malformed",
    EXIT_OUTPUT: "the output folder cannot be used: a file, not writable, or the disk is full",
    EXIT_STORE: "OUT/triage.sqlite is damaged; it is left as it is, and the message says how "
    "to move it aside",
    EXIT_SCHEDULER: "the Dask scheduler (--scheduler) cannot be reached",
    EXIT_UNVERIFIED: "`evidence`: the pack was written, but bytes on the item's chain are gone "
    "from the dump or differ from the scan's sha256 (the pack's README.txt says which)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM): temporary data removed; the next run "
    "continues from the store",
}
"""Every exit code of the ``leaktriage`` command; ``--help`` and README.md print this."""


def exit_code_table() -> str:
    """:data:`EXIT_CODES` as the text block ``--help`` ends with (and README.md holds)."""
    lines = ["exit codes:"]
    for code, text in EXIT_CODES.items():
        lines += textwrap.wrap(
            text,
            86,
            initial_indent=f"  {code:<5}",
            subsequent_indent=" " * 7,
            break_on_hyphens=False,
        )
    return "\n".join(lines) + "\n"


class LeakTriageError(Exception):
    """Base class of every error leaktriage raises on purpose."""

    exit_code = EXIT_INTERNAL


class UsageError(LeakTriageError, ValueError):
    """An option's value is out of range or not one of its choices.

    ``option`` names the option (the :class:`~leaktriage.config.ScanConfig` or
    :class:`~leaktriage.config.Limits` field), ``problem`` what its value must be; the
    message ends with the value given, when there is one.
    """

    exit_code = EXIT_USAGE

    def __init__(self, option: str, problem: str, *value: object) -> None:
        given = f", not {type(value[0]).__name__} {value[0]!r}" if value else ""
        super().__init__(f"{option} {problem}{given}")
        self.option = option
        self.problem = problem
        self.value = value


class OptionTypeError(UsageError, TypeError):
    """An option's value is of the wrong type (``leak_date="2017-05-05"``)."""


class InputError(LeakTriageError):
    """The path to scan, an option's file, or the store to read is missing or unreadable."""

    exit_code = EXIT_INPUT


class OutputError(LeakTriageError):
    """The output folder cannot be used: it is a file, cannot be written, or is full."""

    exit_code = EXIT_OUTPUT


class DamagedStoreError(LeakTriageError):
    """``triage.sqlite`` cannot be read as a store; it is never overwritten."""

    exit_code = EXIT_STORE

    def __init__(self, path: Path, reason: str) -> None:
        aside = shlex.quote(f"{path}.damaged")
        super().__init__(
            f"{path} is damaged or not a leaktriage store ({reason}); it is left as it is: "
            f"move it aside with `mv {shlex.quote(str(path))} {aside}` and scan again"
        )
        self.path = path


class SchedulerError(LeakTriageError):
    """The Dask scheduler cannot be reached."""

    exit_code = EXIT_SCHEDULER


class StoreError(LeakTriageError):
    """The store could not be written: its writer process ended without saying why."""


class RegistryError(LeakTriageError):
    """Two extractors claim the same name or type, or one failed to import."""


class NetworkBlockedError(LeakTriageError):
    """Something tried to go online (or start a process) during a scan and was refused."""

    code = "network_blocked"


class ExtractionError(LeakTriageError):
    """Raised by an extractor for one item; mapped to a status by the api boundary.

    ``partial`` carries the facts read before the problem (an ``Extraction``), so an
    encrypted or truncated file still shows the metadata that was readable.
    """

    code = "corrupt"

    def __init__(self, message: str, partial: object | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class WrongFormatError(ExtractionError):
    """The bytes are not of the format the extractor handles."""

    code = "wrong_format"


class CorruptFileError(ExtractionError):
    """The file is of the right format but cannot be parsed (truncated, malformed)."""

    code = "corrupt"


class EncryptedFileError(ExtractionError):
    """The content is encrypted; whatever metadata is readable without a key is kept."""

    code = "encrypted"


class LimitExceededError(ExtractionError):
    """A safety limit (size, depth, ratio, count, time) stopped the work on this item."""

    code = "limit"


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
_SQLITE_OUTPUT = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "it cannot be written",
    "SQLITE_CANTOPEN": "it cannot be opened",
    "SQLITE_IOERR": "the disk could not be read or written",
    "SQLITE_PERM": "it cannot be written",
    "SQLITE_BUSY": "another program is using it",
    "SQLITE_LOCKED": "another program is using it",
}
"""SQLite errors that say the output folder or its disk is the problem, not the store."""
_SQLITE_MESSAGES = {
    "database or disk is full": "SQLITE_FULL",
    "attempt to write a readonly database": "SQLITE_READONLY",
    "unable to open database file": "SQLITE_CANTOPEN",
    "disk i/o error": "SQLITE_IOERR",
    "database is locked": "SQLITE_BUSY",
    "database disk image is malformed": "SQLITE_CORRUPT",
    "file is not a database": "SQLITE_NOTADB",
}
"""SQLite's messages by error name, for an error whose name was lost on its way from a
helper process."""


def as_user_error(exc: BaseException, out: Path | None = None) -> LeakTriageError | None:
    """What ``exc``, ending a command whose output folder (or store) is ``out``, means to the
    person running it, or None when it is a bug in leaktriage.

    Besides leaktriage's own errors: SQLite's about the store are a damaged store, or, when
    they are about its disk or its folder (full, read-only, locked), an unusable output
    folder; so are a full disk and a file that cannot be written.
    """
    if isinstance(exc, LeakTriageError):
        return exc
    if isinstance(exc, sqlite3.DatabaseError):
        return _sqlite_error(exc, out)
    if isinstance(exc, OSError):
        where = exc.filename or (f"in {out}" if out is not None else "")
        what = exc.strerror or str(exc)
        # A file outside the output folder (the scan's temporary files) is no reason to
        # choose another one.
        ours = out is not None and (not exc.filename or is_inside(Path(str(exc.filename)), out))
        if exc.errno in _DISK_FULL:
            hint = "free some space or choose another --out" if ours else "free some space"
            return OutputError(f"cannot write {where}: {what}; {hint}")
        if exc.errno in _NOT_WRITABLE:
            return OutputError(f"cannot write {where}: {what}" + ("; choose another --out" * ours))
        if ours and exc.filename:
            return OutputError(f"cannot use the output folder: {where}: {what}")
    return None


def _sqlite_error(exc: sqlite3.DatabaseError, out: Path | None) -> LeakTriageError | None:
    store = out / "triage.sqlite" if out is not None and out.is_dir() else out
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", None) or _SQLITE_MESSAGES.get(text.lower(), "")
    name = next((n for n in _SQLITE_OUTPUT if name.startswith(n)), name)  # SQLITE_IOERR_WRITE
    if name in _SQLITE_OUTPUT:
        return OutputError(f"cannot use the store {store or ''}: {_SQLITE_OUTPUT[name]} ({text})")
    if store is None:
        return None
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or type(exc) is sqlite3.DatabaseError:
        return DamagedStoreError(store, text)
    return None
