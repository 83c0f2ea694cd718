"""Compile the C run launcher once per source version into the user's private cache.

The launcher (``launcher.c``, shipped as package data) exists so a run's peak RSS is the workload's
own; see the comment at the top of that file. It is built with the system ``cc`` on first use into
``$XDG_CACHE_HOME/perflab/`` (or ``~/.cache/perflab/``, mode 0700), named by a hash of the source and
the compiler so an upgrade rebuilds it, and written atomically (compile to a temp name, then rename) so
two perflab processes starting at once never run a half-written binary.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SOURCE_NAME = "launcher.c"
CFLAGS = ["-O2", "-std=gnu11", "-Wall"]


@dataclass(frozen=True)
class LauncherBuild:
    """The outcome of ``ensure_launcher``: a path, or the reason there is none."""

    path: Path | None
    reason: str | None = None  # why there is no launcher (shown as CommandResult.memory_note)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perflab"


def launcher_source() -> bytes:
    return resources.files("perflab.bench").joinpath(SOURCE_NAME).read_bytes()


def _compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc") or shutil.which("clang")


def ensure_launcher() -> LauncherBuild:
    """Return the cached launcher, compiling it first if needed; never raises for a missing compiler."""
    try:
        source = launcher_source()
    except (OSError, ModuleNotFoundError) as error:
        return LauncherBuild(None, f"launcher source missing from the perflab package: {error}")
    compiler = _compiler()
    digest = hashlib.sha256(source + " ".join(CFLAGS).encode() + str(compiler).encode()).hexdigest()[:16]
    directory = cache_dir()
    target = directory / f"launcher-{digest}"
    if target.is_file() and os.access(target, os.X_OK):
        return LauncherBuild(target)
    if compiler is None:
        return LauncherBuild(None, "no C compiler (cc) to build perflab's run launcher, so the workload's "
                                   "own peak memory cannot be separated from perflab's (install gcc)")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as tmp:
            src = Path(tmp) / SOURCE_NAME
            src.write_bytes(source)
            out = Path(tmp) / "launcher"
            proc = subprocess.run([compiler, *CFLAGS, "-o", str(out), str(src)], capture_output=True,
                                  text=True, timeout=120)
            if proc.returncode != 0 or not out.is_file():
                first = (proc.stderr.strip().splitlines() or ["no output"])[0]
                return LauncherBuild(None, f"compiling the run launcher with {compiler} failed: {first}")
            with open(out, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(out, 0o700)
            os.replace(out, target)
    except (OSError, subprocess.SubprocessError) as error:
        return LauncherBuild(None, f"cannot build the run launcher in {directory}: {error}")
    return LauncherBuild(target)
