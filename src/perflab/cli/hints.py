"""How the command line words errors of the library: option names become flags, remedies become hints.

Engines and sessions raise errors with a reason and the option they concern (``PerflabError.option``);
only this module knows what the flags are called.
"""

from __future__ import annotations

from collections.abc import Sequence

from perflab.errors import OptionError, PerflabError

#: library option name → flag, where the flag is not simply ``--`` + the name with dashes
FLAGS = {
    "max_time_s": "--max-time",
    "timeout_s": "--timeout",
    "input_path": "--input",
}


def flag(option: str) -> str:
    """The CLI flag of a library option (``min_runs`` → ``--min-runs``)."""
    return FLAGS.get(option) or "--" + option.replace("_", "-")


def cli_message(error: PerflabError) -> str:
    """The one line the CLI prints for an error: ``--runs 0: must be at least 1`` for an OptionError."""
    if isinstance(error, OptionError):
        if error.other is not None:
            other, other_value = error.other
            return f"{flag(error.option or '')} {error.value} {error.reason} {flag(other)} {other_value}"
        return f"{flag(error.option or '')} {error.value}: {error.reason}"
    return error.message


def bench_failure_hints(remedies: Sequence[str]) -> str:
    """``perflab bench``'s hints for a failed run: show the output, or keep going."""
    text = ""
    if "show_output" in remedies:
        text += " (use --show-output to see its output)"
    if "ignore_failure" in remedies:
        text += "; use --ignore-failure to keep going"
    return text


def tune_failure_hints(remedies: Sequence[str]) -> str:
    """``perflab tune try``'s hints for a failed run. It has no --ignore-failure (a run that fails under a
    candidate is a result, not noise to skip) and keeps no output."""
    text = ""
    if "show_output" in remedies:
        text += " (its output is not kept: run the command by hand to see it)"
    if "ignore_failure" in remedies:
        fix = ("give a longer --timeout" if "timeout_s" in remedies
               else "make the command succeed under every variant")
        text += f"; tune try stops at the first failed run: {fix}"
    return text
