"""A private cache of parsed kconfiglib trees, so explanations do not cost a full Kconfig parse.

Why: ``perflab kernel merge --srctree`` must stay within 1.5 × the time of ``make olddefconfig``;
kconfiglib's parse of a kernel tree (~1,800 Kconfig files, ~100 compiler probes through
``$(shell,...)``) costs about as much CPU as the whole ``make olddefconfig``.

What is cached: the parsed ``Kconfig`` object, pickled into ``$PERFLAB_STATE_DIR/kconfig-cache/``
(0700 directory, 0600 files: only this user's own pickles are ever loaded). Key: tree path, the
environment Kconfig sees (ARCH, compiler version texts, ...), kconfiglib's version and the path and
mtime of gcc, ld and rustc (the compiler probes are baked into the parse). Validity: every Kconfig
file the parse read must still have the same size and mtime, else the tree is parsed again.
kconfiglib's object graph is deep (linked menu nodes), so pickling (recursive) runs in a thread with a
large stack; unpickling is iterative and runs in place.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import pickle
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from perflab import fsutil
from perflab.errors import PerflabError

_FORMAT = 1
_STACK_BYTES = 512 * 1024 * 1024


def cache_key(srctree: Path, env: dict[str, str], library_version: str) -> str:
    tools = []
    for tool in ("gcc", "ld", "rustc"):
        path = shutil.which(tool)
        if path:
            real = os.path.realpath(path)
            with contextlib.suppress(OSError):
                tools.append((tool, real, os.stat(real).st_mtime_ns))
    blob = json.dumps([_FORMAT, str(srctree), sorted(env.items()), library_version, tools,
                       list(sys.version_info[:2])])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _in_big_stack(func: Any, *args: Any) -> Any:
    """Run ``func`` in a thread with a large stack and recursion limit (deep pickles)."""
    box: dict[str, Any] = {}

    def target() -> None:
        # The cyclic GC would walk the half-built graph again and again: off while (un)pickling.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            box["value"] = func(*args)
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error
        finally:
            if gc_was_enabled:
                gc.enable()

    old_size = threading.stack_size()
    old_limit = sys.getrecursionlimit()
    threading.stack_size(_STACK_BYTES)
    sys.setrecursionlimit(max(old_limit, 200_000))
    try:
        thread = threading.Thread(target=target, name="perflab-kconfig-pickle")
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _loads(data: bytes) -> Any:
    """Unpickling is iterative (no deep C recursion), so no big-stack thread; only the GC is paused."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if gc_was_enabled:
            gc.enable()


def _fingerprint(srctree: Path, files: list[str]) -> list[tuple[str, int, int]]:
    out = []
    for name in files:
        path = Path(name) if os.path.isabs(name) else srctree / name
        st = path.stat()
        out.append((name, st.st_size, st.st_mtime_ns))
    return out


def load_cached(cache_dir: Path, key: str) -> object | None:
    """The cached Kconfig for ``key`` if every file it was parsed from is unchanged, else None."""
    try:  # only our own private pickles, in a checked directory, never through a symlink
        dir_fd = fsutil.open_dir(cache_dir)
        try:
            fd = fsutil.open_private(dir_fd, f"{key}.pickle", os.O_RDONLY)
        finally:
            os.close(dir_fd)
        try:
            if os.fstat(fd).st_uid != os.geteuid() or os.fstat(fd).st_mode & 0o077:
                return None
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        finally:
            os.close(fd)
    except (OSError, PerflabError):
        return None
    try:
        payload = _loads(data)
        srctree, fingerprint, kconf = payload["srctree"], payload["fingerprint"], payload["kconf"]
        if _fingerprint(Path(srctree), [name for name, _, _ in fingerprint]) != fingerprint:
            return None
        _restore(kconf)
        return kconf
    except Exception:  # a stale or foreign cache entry is not an error: parse again
        return None


def save_cached(cache_dir: Path, key: str, kconf: Any, srctree: Path) -> None:
    """Best effort: a cache that cannot be written only costs time next run."""
    saved = {name: getattr(kconf, name) for name in ("_readline", "_set_match", "_unset_match",
                                                     "_functions", "_filestack")}
    try:
        fingerprint = _fingerprint(srctree, list(dict.fromkeys(kconf.kconfig_filenames)))
        for name in saved:
            setattr(kconf, name, None)
        for node in kconf.node_iter():
            node.help = None  # half the pickle, and explanations never show help texts
        data = _in_big_stack(pickle.dumps, {"srctree": str(srctree), "fingerprint": fingerprint,
                                             "kconf": kconf}, pickle.HIGHEST_PROTOCOL)
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = cache_dir / f".{key}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, cache_dir / f"{key}.pickle")
    except Exception:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
    finally:
        for name, value in saved.items():
            setattr(kconf, name, value)


def _restore(kconf: Any) -> None:
    """Re-create what was dropped before pickling (bound methods, the parser's file state)."""
    import re

    prefix = re.escape(kconf.config_prefix)
    kconf._set_match = re.compile(prefix + r"([^=]+)=(.*)", re.ASCII).match
    kconf._unset_match = re.compile(rf"# {prefix}([^ ]+) is not set", re.ASCII).match
    kconf._filestack = []
    kconf._readline = None
    kconf._functions = {}
