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

perflab runs as root, so a cached binary is executed only when it is trusted: the cache root, every
directory from it down to the launcher, and the launcher itself are owned by this user (or root), are
no symlinks and are not writable by group or others, and the launcher's SHA-256 matches the one recorded
when perflab built it. Otherwise (say ``XDG_CACHE_HOME`` in a directory another user owns) the launcher is
built afresh in a private temporary directory, removed at exit, and the cache is left alone.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from perflab import fsutil

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


def cache_root() -> Path:
    return Path(os.path.abspath(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")))


def cache_dir() -> Path:
    return cache_root() / "perflab"


def untrusted_reason(root: Path, directory: Path) -> str | None:
    """Why ``directory`` (at or below ``root``) could be controlled by another user, or None.

    Each directory from ``root`` down must exist or be creatable by us; the ones that exist are checked
    without following symlinks."""
    chain = [directory]
    while chain[-1] != root and chain[-1].parent != chain[-1]:
        chain.append(chain[-1].parent)
    for path in reversed(chain):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None  # the rest will be created 0700 by us
        except OSError as error:
            return f"{path}: {error.strerror}"
        if stat.S_ISLNK(st.st_mode):
            return f"{path}: is a symbolic link"
        try:
            fsutil.check_dir_stat(path, st)
        except fsutil.UnsafePathError as error:
            return error.message
    return None


def _digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _trusted_binary(target: Path) -> bool:
    """The cached launcher is a regular file of ours, private, and has the hash perflab recorded."""
    try:
        st = os.lstat(target)
        fsutil.check_file_stat(target, st)
        recorded = _hash_path(target)
        fsutil.check_file_stat(recorded, os.lstat(recorded))
        return recorded.read_text().strip() == _digest_file(target) and os.access(target, os.X_OK)
    except (OSError, fsutil.UnsafePathError):
        return False


_private_build_dir: Path | None = None


def private_build_dir() -> Path | None:
    """This process's private launcher directory, if it made one (it is removed when the process exits)."""
    return _private_build_dir


def _private_dir() -> Path:
    """A fresh 0700 directory for this process's launcher when the cache cannot be trusted."""
    global _private_build_dir
    if _private_build_dir is None:
        _private_build_dir = Path(tempfile.mkdtemp(prefix="perflab-launcher-"))
        atexit.register(shutil.rmtree, _private_build_dir, True)
    return _private_build_dir


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
    if untrusted_reason(cache_root(), directory) is not None:
        directory = _private_dir()  # another user could swap the binary root is about to run
    failed: dict[str, str] = {}
    for m in modes:  # the preferred mode if it is built or builds, else the fallback
        target = _target(directory, source, compiler, m)
        if _trusted_binary(target):
            return LauncherBuild(target, mode=m, note=_note(modes, m, failed))
        marker = target.with_name(target.name + ".failed")
        if marker.is_file() and _trusted_binary_marker(marker):  # failed before: do not recompile each call
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


def _trusted_binary_marker(marker: Path) -> bool:
    try:
        fsutil.check_file_stat(marker, os.lstat(marker))
    except (OSError, fsutil.UnsafePathError):
        return False
    return True


def _note(modes: list[str], used: str, failed: dict[str, str]) -> str | None:
    if used == modes[0]:
        return None if len(modes) > 1 else f"forced by {SPAWN_ENV}"
    first = modes[0]
    return f"the {first} build failed: {failed[first]}" if first in failed else f"no {first} build"


def _build(directory: Path, source: bytes, compiler: str, mode: str) -> Path | str:
    """Compile one mode into the cache; the path, or why it failed (also remembered in a marker file)."""
    target = _target(directory, source, compiler, mode)
    try:
        fsutil.ensure_private_dir(directory)
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
            digest = Path(tmp) / "sha256"
            digest.write_text(_digest_file(out) + "\n")
            os.chmod(digest, 0o600)
            os.replace(digest, _hash_path(target))  # first: a binary without its hash is rebuilt
            os.replace(out, target)
    except fsutil.UnsafePathError as error:
        return f"cannot build the run launcher in {directory}: {error.message}"
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot build the run launcher in {directory}: {error}"
    return target
