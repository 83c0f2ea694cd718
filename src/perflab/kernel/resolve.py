"""Resolve a .config with the kernel tree's own Kconfig (``make olddefconfig``), never touching the tree.

The user's tree is only read: ``make -C SRCTREE O=BUILD KCONFIG_CONFIG=TMP/.config olddefconfig``
writes the kconfig tools and ``include/config`` into BUILD and the result into a private temporary
directory. BUILD is a per-tree cache under ``$PERFLAB_STATE_DIR/kconfig-build/`` (so ``conf`` is
compiled once, not on every merge), locked with flock while make runs. A tree that is not clean for
out-of-tree builds (``.config`` or ``include/config`` in it: make refuses ``O=``) is seen through a
symlink farm that hides exactly those entries.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.kernel.kconfig_explain import srcarch, subarch

MAKE_TIMEOUT_S = 900


def check_srctree(srctree: str | Path) -> Path:
    root = Path(srctree).resolve()
    for needed in ("Kconfig", "Makefile", "scripts/kconfig"):
        if not (root / needed).exists():
            raise PerflabError(f"{root}: not a kernel source tree ({needed} missing)")
    return root


def check_tree_owner(root: Path) -> None:
    """Refuse a tree another user controls: resolving it runs its code (Kconfig's ``$(shell,...)``,
    the Makefiles and scripts/kconfig are executed as this user, perhaps root).

    The tree's top directory and what is run from it must be owned by this user or root and not
    writable by group or others; ``--trust-tree`` skips this check."""
    import stat

    from perflab.fsutil import trusted_owner

    for rel in ("", "Makefile", "Kconfig", "scripts", "scripts/kconfig", "scripts/Kconfig.include"):
        path = root / rel
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise PerflabError(f"{path}: cannot check the kernel tree: {error.strerror}") from error
        hint = ("a kernel tree is code (its Kconfig runs $(shell,...), make runs its Makefiles); "
                "pass --trust-tree if you trust it")
        if not trusted_owner(st.st_uid):
            raise PerflabError(f"{path}: owned by uid {st.st_uid}, not by you or root: {hint}")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
            raise PerflabError(f"{path}: writable by group or others (mode "
                               f"{stat.S_IMODE(st.st_mode):04o}): {hint}")


def _unclean_entries(root: Path, arch: str) -> list[str]:
    """What makes ``make O=...`` refuse the tree (the top Makefile's outputmakefile check)."""
    found = []
    for rel in (".config", "include/config", f"arch/{srcarch(arch)}/include/generated"):
        if (root / rel).exists():
            found.append(rel)
    return found


def _shadow_tree(root: Path, hidden: list[str], shadow: Path) -> Path:
    """A symlink farm of ``root`` without the ``hidden`` paths (rebuilt on every call)."""
    import shutil

    if shadow.exists():
        shutil.rmtree(shadow)

    def mirror(src: Path, dst: Path, prefix: str) -> None:
        dst.mkdir(parents=True)
        inner = [h[len(prefix):] for h in hidden if h.startswith(prefix)]
        for entry in src.iterdir():
            if entry.name in inner:
                continue
            if any(h.startswith(entry.name + "/") for h in inner):
                mirror(entry, dst / entry.name, prefix + entry.name + "/")
            else:
                (dst / entry.name).symlink_to(entry)

    mirror(root, shadow, "")
    return shadow


@dataclass
class ResolvedConfig:
    text: str
    seconds: float
    command: list[str]


class Olddefconfig:
    """One asynchronous ``make olddefconfig`` run: ``start()``, do other work, ``result()``.

    Use as a context manager so the lock and the temporary directory are released on any error.
    """

    def __init__(self, srctree: str | Path, config_text: str, arch: str | None = None,
                 build_dir: Path | None = None) -> None:
        self.root = check_srctree(srctree)
        self.arch = arch or os.environ.get("ARCH") or subarch()
        self.config_text = config_text
        key = hashlib.sha256(f"{self.root}\0{self.arch}".encode()).hexdigest()[:16]
        self.build_dir = build_dir or fsutil.state_dir() / "kconfig-build" / key
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock_fd: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._started = 0.0
        self.command: list[str] = []

    def __enter__(self) -> Olddefconfig:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> Olddefconfig:
        import time

        self.build_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = os.open(self.build_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        tree = self.root
        hidden = _unclean_entries(self.root, self.arch)
        if hidden:
            tree = _shadow_tree(self.root, hidden, self.build_dir / "shadow-srctree")
        self._tmp = tempfile.TemporaryDirectory(prefix="perflab-kconfig-")
        config = Path(self._tmp.name) / ".config"
        config.write_text(self.config_text, encoding="utf-8", errors="surrogateescape")
        self.command = ["make", "-s", "-C", str(tree), f"O={self.build_dir}", f"ARCH={self.arch}",
                        f"KCONFIG_CONFIG={config}", "olddefconfig"]
        env = {k: v for k, v in os.environ.items() if k not in ("KCONFIG_CONFIG", "O", "KBUILD_OUTPUT")}
        self._started = time.perf_counter()
        try:
            self._proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env)
        except OSError as error:
            self.close()
            raise PerflabError(f"cannot run make: {error.strerror or error} (install make, gcc, flex, "
                               "bison)") from error
        return self

    def result(self) -> ResolvedConfig:
        import time

        if self._proc is None or self._tmp is None:
            raise RuntimeError("Olddefconfig.result() before start()")
        try:
            out, err = self._proc.communicate(timeout=MAKE_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            self._proc.kill()
            self._proc.communicate()
            raise PerflabError(f"make olddefconfig in {self.root} did not finish in {MAKE_TIMEOUT_S} s") \
                from error
        seconds = time.perf_counter() - self._started
        if self._proc.returncode != 0:
            tail = " | ".join(line.strip() for line in (err or out).strip().splitlines()[-4:])
            raise PerflabError(f"make olddefconfig failed in {self.root} (exit {self._proc.returncode}): "
                               f"{tail}")
        text = (Path(self._tmp.name) / ".config").read_text(encoding="utf-8", errors="surrogateescape")
        return ResolvedConfig(text, seconds, list(self.command))

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
