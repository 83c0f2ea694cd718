"""The launcher cache is trusted only when this user owns it, nobody else can write it, and the binary
has the hash perflab recorded; otherwise perflab builds a private launcher and never runs the cached one."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from perflab.bench.build import ensure_launcher

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root (CI is root)")
NOBODY = 65534


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root


def _plant(binary: Path, marker: Path) -> None:
    """Replace the cached launcher with a script that leaves a marker, and forge its recorded hash."""
    script = f"#!/bin/sh\ntouch {marker}\n".encode()
    binary.write_bytes(script)
    os.chmod(binary, 0o700)
    Path(str(binary) + ".sha256").write_text(hashlib.sha256(script).hexdigest() + "\n")


def _run(build_path: Path) -> None:
    subprocess.run([str(build_path)], capture_output=True, timeout=10)


def test_a_built_launcher_is_reused_with_its_recorded_hash(cache: Path) -> None:
    first = ensure_launcher("fork")
    assert first.path is not None and first.path.parent == cache / "perflab"
    recorded = Path(str(first.path) + ".sha256").read_text().strip()
    assert recorded == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert ensure_launcher("fork").path == first.path


def test_a_swapped_binary_with_a_stale_hash_is_rebuilt(cache: Path, tmp_path: Path) -> None:
    built = ensure_launcher("fork").path
    assert built is not None
    original = built.read_bytes()
    built.write_bytes(b"#!/bin/sh\ntouch " + str(tmp_path / "ran").encode() + b"\n")
    again = ensure_launcher("fork").path
    assert again == built and built.read_bytes() == original
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("mode", [0o777, 0o770])
def test_a_cache_root_others_can_write_is_not_used(cache: Path, tmp_path: Path, mode: int) -> None:
    built = ensure_launcher("fork").path
    assert built is not None
    marker = tmp_path / "ran"
    _plant(built, marker)
    os.chmod(cache, mode)
    chosen = ensure_launcher("fork").path
    assert chosen is not None and cache not in chosen.parents
    _run(chosen)
    assert not marker.exists()
    assert os.stat(cache).st_mode & 0o777 == mode  # left as it was


def test_a_symlinked_cache_dir_is_not_used(cache: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (cache / "perflab").symlink_to(elsewhere)
    chosen = ensure_launcher("fork").path
    assert chosen is not None and elsewhere not in chosen.parents and cache not in chosen.parents


@needs_root
def test_root_never_runs_a_launcher_planted_by_another_user(cache: Path, tmp_path: Path) -> None:
    """The observed attack: XDG_CACHE_HOME in a directory owned by nobody, with a planted script and a
    hash that matches it. Before the fix root ran it."""
    built = ensure_launcher("vfork").path
    assert built is not None
    marker = tmp_path / "ran"
    _plant(built, marker)
    for path in (cache, cache / "perflab", built, Path(str(built) + ".sha256")):
        os.chown(path, NOBODY, NOBODY)
    chosen = ensure_launcher("vfork").path
    assert chosen is not None and cache not in chosen.parents
    assert (os.stat(chosen.parent).st_mode & 0o777) == 0o700 and os.stat(chosen).st_uid == os.geteuid()
    _run(chosen)
    assert not marker.exists()
