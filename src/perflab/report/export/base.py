"""The one interface every export format implements, and the atomic file write they share."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from perflab.errors import PerflabError
from perflab.store.model import Benchmark


class Exporter(Protocol):
    """Turns a benchmark (and its analysis) into the bytes of one file format."""

    name: str
    extension: str

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes: ...


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write via a temp file in the same directory + fsync + rename: readers see old or new, never half."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise PerflabError(f"{target}: cannot write: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an export is an ordinary user file, unlike the store
        os.replace(tmp, target)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise PerflabError(f"{target}: cannot write: {error.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # the rename happened; a directory fsync is best effort on some file systems
