"""One exception type for every expected failure, so the CLI can turn it into a one-line message."""

from __future__ import annotations


class PerflabError(Exception):
    """An expected failure: bad input, a failing command, missing privileges.

    The CLI prints ``perflab: error: <message>`` and exits with ``exit_code``; no traceback.
    Name the file and line (``path:12: ...``) or the cause in the message.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class NeedsRootError(PerflabError):
    """Raised before any change when an operation needs root; exit code 2 by convention."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)
