"""How a failed run or hook is told: one line with the reason and the last line of its output.

``RunFailed`` carries, besides the reason, the options that would have changed the outcome (its
``remedies``: ``ignore_failure`` to keep going, ``show_output`` when no output was captured to quote,
``timeout_s`` for a run that was killed at its timeout); each front end words them as its own flags.
"""

from __future__ import annotations

from collections.abc import Sequence

from perflab.errors import PerflabError
from perflab.store.model import Run


class RunFailed(PerflabError):
    """A run (or hook) failed; the runs measured so far are kept by the session.

    The message is the reason only. ``remedies`` names the options that would have changed the outcome
    (``ignore_failure``: keep going; ``show_output``: the output was not captured, so no line of it is
    quoted); each front end words them as its own flags, or not at all."""

    def __init__(self, reason: str, *, remedies: Sequence[str] = ()) -> None:
        super().__init__(reason, option=remedies[0] if remedies else None)
        self.remedies = tuple(remedies)


def last_line(text: str) -> str:
    """The last non-blank line of a command's output (at most 200 characters), quoted in failures."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def hook_failed(label: str, argv: Sequence[str], run: Run, output: str) -> RunFailed:
    """A --setup/--prepare/--conclude/--cleanup hook that did not succeed."""
    status = f"exit code {run.exit_code}" if run.exit_code is not None else f"signal {run.signal}"
    tail = last_line(output)
    return RunFailed(f"{label} ({' '.join(argv)}) failed with {status}" + (f": {tail}" if tail else ""))


def run_failed(name: str, run: Run, which: str, output: str, timeout_s: float | None) -> RunFailed:
    """A measured (or warm-up) run of command ``name`` that failed; ``which`` says which run it was."""
    if run.timed_out:
        why = f"timed out after {timeout_s:g} s (its process group was killed)"
    elif run.exit_code is not None:
        why = f"exited with code {run.exit_code}"
    else:
        why = f"was killed by signal {run.signal}"
    tail = last_line(output)
    remedies = (["timeout_s"] if run.timed_out else []) + ([] if tail else ["show_output"])
    remedies.append("ignore_failure")
    return RunFailed(f"command {name!r} {why} on {which}" + (f": {tail}" if tail else ""), remedies=remedies)
