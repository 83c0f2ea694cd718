"""Kernel-log health: a guest whose log shows an oops, a BUG, a WARNING, a KASAN report, a panic or a
lockdep splat failed, whatever its command's exit code says."""

from __future__ import annotations

import re

SPLAT = re.compile(
    r"Oops|BUG:|WARNING:|KASAN|Kernel panic|kernel panic|general protection fault|"
    r"possible circular locking dependency|inconsistent lock state|possible recursive locking|"
    r"suspicious RCU usage|lockdep|Call Trace:"
)
# Shell sed/grep -E form of the same pattern, for the in-guest check of `vm stress` (busybox grep -E).
SPLAT_ERE = SPLAT.pattern
CONTEXT_LINES = 12


def scan(log: str) -> list[str]:
    """The offending lines (each with what follows it, up to CONTEXT_LINES), empty when healthy.
    perflab's own marks (``perflab-mark …``) are never part of a splat."""
    lines = [line for line in log.splitlines() if "perflab-mark " not in line and line.strip()]
    shown: list[str] = []
    taken: set[int] = set()
    for number, line in enumerate(lines):
        if SPLAT.search(line) and number not in taken:
            for i in range(number, min(len(lines), number + CONTEXT_LINES)):
                if i not in taken:
                    taken.add(i)
                    shown.append(lines[i])
    return shown


def first_splat(log: str) -> str | None:
    for line in log.splitlines():
        if SPLAT.search(line):
            return line
    return None
