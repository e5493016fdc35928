"""The few exception types leaktriage raises; per-item ones become a status, never a crash."""

from __future__ import annotations


class LeakTriageError(Exception):
    """Base class of every error leaktriage raises on purpose."""

    exit_code = 1


class UsageError(LeakTriageError):
    """The caller asked for something impossible (bad option, unreadable input path)."""

    exit_code = 2


class InputError(LeakTriageError):
    """The path to scan is missing or cannot be read."""

    exit_code = 3


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
