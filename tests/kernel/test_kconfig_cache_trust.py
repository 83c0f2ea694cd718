"""The Kconfig cache is unpickled, so it must be ours: no symlink, no directory others can write."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from perflab.kernel.kconfig_cache import load_cached


class _Touch:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def _planted(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "executed"
    payload = tmp_path / "elsewhere.pickle"
    payload.write_bytes(pickle.dumps({"srctree": "/", "fingerprint": [], "kconf": _Touch(marker)}))
    os.chmod(payload, 0o600)
    return payload, marker


def test_a_symlinked_cache_entry_is_never_unpickled(tmp_path: Path) -> None:
    """Before the fix the owner check followed the symlink and the target was unpickled (code ran)."""
    payload, marker = _planted(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "k.pickle").symlink_to(payload)
    assert load_cached(cache, "k") is None
    assert not marker.exists()


def test_a_cache_dir_others_can_write_is_not_read(tmp_path: Path) -> None:
    payload, marker = _planted(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    os.replace(payload, cache / "k.pickle")
    assert load_cached(cache, "k") is None
    assert not marker.exists()
