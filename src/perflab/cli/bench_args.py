"""hyperfine's argument forms that click cannot declare, rewritten into options it can.

hyperfine (clap) has options with an optional value and pairs: ``-S/--shell=SHELL`` (``--shell=none``
= no shell) next to perflab's ``--shell`` flag, ``-i/--ignore-failure[=CODES]``, ``-L NAME VALUES``.
``rewrite`` turns them into hidden single-value options before click parses, so ``alias
hyperfine='perflab bench'`` keeps scripts working. Pure string work: no engine is imported here.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from pathlib import Path

SEP = "\0"  # joins -L's NAME and VALUES into one click value
SHELL_PROGRAM = "--shell-program"
IGNORE_CODES = "--ignore-failure-codes"


def rewrite(args: list[str], value_options: Collection[str]) -> list[str]:
    """The argument list with hyperfine's forms rewritten.

    ``--shell VALUE`` (a space, no ``=``) is ambiguous: hyperfine reads VALUE as the shell, perflab's
    flag form leaves it a command. VALUE is taken as the shell when it is ``none``, or when another
    command follows and VALUE names a program in PATH (hyperfine's meaning: ``--shell bash 'cmd'``);
    otherwise ``--shell`` is the flag (``perflab bench --shell 'a | b'``)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if arg in ("--parameter-list", "-L") and i + 2 < len(args):
            out += [arg, args[i + 1] + SEP + args[i + 2]]
            i += 3
            continue
        if arg.startswith("--shell="):
            out += [SHELL_PROGRAM, arg.partition("=")[2]]
        elif arg == "-S" and nxt is not None:
            out += [SHELL_PROGRAM, nxt]
            i += 1
        elif arg.startswith("-S") and len(arg) > 2:
            out += [SHELL_PROGRAM, arg[2:].removeprefix("=")]
        elif arg == "--shell" and nxt is not None and _shell_value(nxt, args[i + 2:], value_options):
            out += [SHELL_PROGRAM, nxt]
            i += 1
        elif arg.startswith(("--ignore-failure=", "-i=")):
            out += [IGNORE_CODES, arg.partition("=")[2]]
        else:
            out.append(arg)
        i += 1
    return out


def _shell_value(value: str, rest: list[str], value_options: Collection[str]) -> bool:
    if value == "none":
        return True
    if value.startswith("-") or not value.split():
        return False
    return _has_positional(rest, value_options) and shutil.which(value.split()[0]) is not None


def _has_positional(rest: list[str], value_options: Collection[str]) -> bool:
    """Whether a command string follows (skipping options and their values)."""
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            return i + 1 < len(rest)
        if arg in ("--parameter-list", "-L", "--parameter-scan", "-P"):
            i += 3 if arg in ("--parameter-list", "-L") else 4
            continue
        if arg in value_options:
            i += 2
            continue
        if not arg.startswith("-") or arg == "-":
            return True
        i += 1
    return False


def parse_ignore_codes(text: str) -> bool | list[int]:
    """``--ignore-failure=all-non-zero`` → True; ``=1,2,3`` → those exit codes; else ValueError."""
    if text == "all-non-zero":
        return True
    codes = [int(part) for part in text.split(",")]  # ValueError on junk
    if not codes or any(not 0 <= c <= 255 for c in codes):
        raise ValueError(text)
    return codes


def shell_spec(flag: bool, program: str | None, no_shell: bool) -> tuple[bool | list[str], bool]:
    """(shell, literal) from --shell, -S/--shell=SHELL and -N."""
    from perflab.errors import PerflabError

    if program == "none":
        program, no_shell = None, True
    if no_shell and (flag or program):
        raise PerflabError("-N/--shell=none (no shell) contradicts --shell/-S")
    if program is None:
        return flag, no_shell
    from perflab.bench.commands import split_command

    words = split_command(program, shell=False, literal=True, what="--shell")
    return (True if words == ["sh"] else words), False


def ignore_failure_option(flag: bool, codes: str | None) -> bool | list[int]:
    if codes is None:
        return flag
    from perflab.errors import PerflabError

    try:
        return parse_ignore_codes(codes)
    except ValueError:
        raise PerflabError(f"--ignore-failure={codes}: expected exit codes 0-255 like 1,2,3 or "
                           "all-non-zero") from None


def output_target(show_output: bool, output: str | None) -> tuple[bool, str]:
    """(show_output, output) from --show-output and hyperfine's --output=null|pipe|inherit|FILE."""
    from perflab.errors import PerflabError

    if output is None:
        return show_output, "null"
    if show_output:
        raise PerflabError("--output and --show-output both say where the output goes: give one")
    if output == "inherit":
        return True, "null"
    if output not in ("null", "pipe") and not Path(output).parent.resolve().is_dir():
        raise PerflabError(f"--output {output}: directory {Path(output).parent} does not exist")
    return False, output


class View:
    """How the results are shown: --style, --sort, --time-unit, --quiet."""

    STYLES = ("auto", "full", "basic", "nocolor", "color", "none")
    UNITS = {"microsecond": (1e-6, "µs"), "millisecond": (1e-3, "ms"), "second": (1.0, "s")}

    def __init__(self, *, quiet: bool, progress: bool, no_color: bool, force_color: bool | None,
                 sort: str, time_unit: tuple[float, str] | None) -> None:
        self.quiet, self.progress, self.no_color, self.force_color = quiet, progress, no_color, force_color
        self.sort, self.time_unit = sort, time_unit

    @classmethod
    def from_options(cls, *, style: str, sort: str, time_unit: str | None, quiet: bool) -> View:
        from perflab.errors import PerflabError

        if style not in cls.STYLES:
            raise PerflabError(f"--style {style}: choose from {', '.join(cls.STYLES)}")
        if sort not in ("auto", "command", "mean-time"):
            raise PerflabError(f"--sort {sort}: choose from auto, command, mean-time")
        if time_unit is not None and time_unit not in cls.UNITS:
            raise PerflabError(f"--time-unit {time_unit}: choose from {', '.join(cls.UNITS)}")
        return cls(quiet=quiet or style == "none", progress=style not in ("basic", "color"),
                   no_color=style in ("basic", "nocolor"), force_color=True if style == "color" else None,
                   sort="median" if sort == "mean-time" else "command",
                   time_unit=cls.UNITS[time_unit] if time_unit else None)
