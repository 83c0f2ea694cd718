"""Compile the C run launcher once per source version into the user's private cache.

The launcher (``launcher.c``, shipped as package data) exists so a run's peak RSS is the workload's
own; see the comment at the top of that file. It is built with the system ``cc`` on first use into
``$XDG_CACHE_HOME/perflab/`` (or ``~/.cache/perflab/``, mode 0700), named by a hash of the source, the
flags and the compiler so an upgrade rebuilds it, and written atomically (compile to a temp name, then
rename) so two perflab processes starting at once never run a half-written binary.

Two builds, tried in this order: statically linked, starting runs vfork-style (``clone`` with
CLONE_VM|CLONE_VFORK: ~0.1 ms less per run than fork in a VM; a static binary keeps the launcher's own
RSS, the floor of a vforked run's ru_maxrss, at ~0.7 MB, below even ``true``'s ~0.9 MB); else, when
static linking fails (no libc.a), dynamically linked with fork. ``PERFLAB_LAUNCHER_SPAWN=fork`` forces the
second (for comparisons). The mode is recorded with every result.
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
MODES = {  # spawn mode -> extra compiler flags, in order of preference
    "vfork": ["-static"],
    "fork": ["-DPERFLAB_LAUNCHER_FORK"],
}
SPAWN_ENV = "PERFLAB_LAUNCHER_SPAWN"


@dataclass(frozen=True)
class LauncherBuild:
    """The outcome of ``ensure_launcher``: a path, or the reason there is none."""

    path: Path | None
    reason: str | None = None  # why there is no launcher (shown as CommandResult.memory_note)
    mode: str = ""  # "vfork" (static) or "fork" (dynamic)
    note: str | None = None  # why the preferred mode is not used

    def describe(self) -> str:
        """How runs are started, for the result's environment."""
        if self.mode == "vfork":
            return "static launcher, vfork-style clone"
        text = "dynamic launcher, fork"
        return f"{text} ({self.note})" if self.note else text


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perflab"


def launcher_source() -> bytes:
    return resources.files("perflab.bench").joinpath(SOURCE_NAME).read_bytes()


def _compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc") or shutil.which("clang")


def _target(directory: Path, source: bytes, compiler: str | None, mode: str) -> Path:
    flags = " ".join(CFLAGS + MODES[mode])
    digest = hashlib.sha256(source + flags.encode() + str(compiler).encode()).hexdigest()[:16]
    return directory / f"launcher-{mode}-{digest}"


def ensure_launcher(mode: str | None = None) -> LauncherBuild:
    """Return the cached launcher, compiling it first if needed; never raises for a missing compiler.

    ``mode`` ("vfork" or "fork"; default ``$PERFLAB_LAUNCHER_SPAWN`` or the best that builds)."""
    try:
        source = launcher_source()
    except (OSError, ModuleNotFoundError) as error:
        return LauncherBuild(None, f"launcher source missing from the perflab package: {error}")
    wanted = mode or os.environ.get(SPAWN_ENV) or None
    if wanted is not None and wanted not in MODES:
        from perflab.errors import PerflabError

        raise PerflabError(f"{SPAWN_ENV}={wanted!r}: use 'vfork' or 'fork'")
    modes = [wanted] if wanted else list(MODES)
    compiler = _compiler()
    directory = cache_dir()
    failed: dict[str, str] = {}
    for m in modes:  # the preferred mode if it is built or builds, else the fallback
        target = _target(directory, source, compiler, m)
        if target.is_file() and os.access(target, os.X_OK):
            return LauncherBuild(target, mode=m, note=_note(modes, m, failed))
        marker = target.with_name(target.name + ".failed")
        if marker.is_file():  # failed to build before: do not recompile on every call
            failed[m] = marker.read_text(errors="replace").strip()
            continue
        if compiler is None:
            return LauncherBuild(None, "no C compiler (cc) to build perflab's run launcher, so the "
                                       "workload's own peak memory cannot be separated from perflab's "
                                       "(install gcc)")
        built = _build(directory, source, compiler, m)
        if isinstance(built, Path):
            return LauncherBuild(built, mode=m, note=_note(modes, m, failed))
        failed[m] = built
    return LauncherBuild(None, "; ".join(failed.values()) or "no run launcher could be built")


def _note(modes: list[str], used: str, failed: dict[str, str]) -> str | None:
    if used == modes[0]:
        return None if len(modes) > 1 else f"forced by {SPAWN_ENV}"
    first = modes[0]
    return f"the {first} build failed: {failed[first]}" if first in failed else f"no {first} build"


def _build(directory: Path, source: bytes, compiler: str, mode: str) -> Path | str:
    """Compile one mode into the cache; the path, or why it failed (also remembered in a marker file)."""
    target = _target(directory, source, compiler, mode)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as tmp:
            src = Path(tmp) / SOURCE_NAME
            src.write_bytes(source)
            out = Path(tmp) / "launcher"
            proc = subprocess.run([compiler, *CFLAGS, *MODES[mode], "-o", str(out), str(src)],
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0 or not out.is_file():
                first = (proc.stderr.strip().splitlines() or ["no output"])[0]
                why = f"compiling the run launcher ({mode}) with {compiler} failed: {first}"
                marker = Path(tmp) / "failed"
                marker.write_text(why + "\n")
                os.replace(marker, target.with_name(target.name + ".failed"))
                return why
            with open(out, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(out, 0o700)
            os.replace(out, target)
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot build the run launcher in {directory}: {error}"
    return target
