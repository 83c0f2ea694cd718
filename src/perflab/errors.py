"""One exception type for every expected failure, so the CLI can turn it into a one-line message."""

from __future__ import annotations


class PerflabError(Exception):
    """An expected failure: bad input, a failing command, missing privileges.

    The CLI prints ``perflab: error: <message>`` and exits with ``exit_code``; no traceback.
    Name the file and line (``path:12: ...``) or the cause in the message.

    Engines word the *reason* only; ``option`` names the library option the error concerns (a field of
    ``BenchOptions``/``RunCount``, e.g. ``"runs"``) and ``value`` the value given, so each front end
    words its own hint: the CLI turns them into ``--runs 0: must be at least 1``.
    """

    def __init__(self, message: str, *, exit_code: int = 1, option: str | None = None,
                 value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.option = option
        self.value = value


class OptionError(PerflabError):
    """A value of one option is not usable: ``reason`` says why, ``option`` which one. When the problem
    is a relation (``max_runs`` below ``min_runs``), ``other`` names the second option and its value."""

    def __init__(self, option: str, value: object, reason: str, *,
                 other: tuple[str, object] | None = None) -> None:
        text = (f"{option} = {value!r} {reason} {other[0]} = {other[1]!r}" if other
                else f"{option} = {value!r}: {reason}")
        super().__init__(text, option=option, value=value)
        self.reason = reason
        self.other = other


class NeedsRootError(PerflabError):
    """Raised before any change when an operation needs root; exit code 2 by convention."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so every ``finally`` runs; results say SIGTERM, not Ctrl-C."""

    signal_name = "SIGTERM"
