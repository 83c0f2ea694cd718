"""The one interface every export format implements, and the atomic file write they share."""

from __future__ import annotations

import os
from typing import Any, Protocol

from perflab import fsutil
from perflab.store.model import Benchmark


class Exporter(Protocol):
    """Turns a benchmark (and its analysis) into the bytes of one file format."""

    name: str
    extension: str

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes: ...


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """An export file, written atomically (readers see old or new, never half) with mode 0644 whatever the
    umask (an export is an ordinary user file, unlike the store): ``perflab.fsutil.atomic_write``."""
    fsutil.atomic_write(path, data, mode=0o644)
