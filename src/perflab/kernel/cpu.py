"""CPU feature flags from /proc/cpuinfo: what the hardware could accelerate."""

from __future__ import annotations

from pathlib import Path

from perflab.fsutil import read_bounded

PROC_CPUINFO = Path("/proc/cpuinfo")


def parse_cpu_flags(text: str) -> set[str]:
    """Flags common to every CPU listed (x86 ``flags``, arm64 ``Features``)."""
    common: set[str] | None = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            flags = set(value.split())
            common = flags if common is None else common & flags
    return common or set()


def read_cpu_flags(path: Path = PROC_CPUINFO) -> set[str]:
    text = read_bounded(path, what="cpuinfo").decode("utf-8", errors="replace")
    return parse_cpu_flags(text)
