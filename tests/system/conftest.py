"""Fixtures for tests that change real /proc/sys and /sys values: snapshot the raw bytes of the knob
files these tests write and put back whatever differs afterwards, even when the test fails.

Only the knobs in ``TOUCHED`` are compared and restored: other test suites may change other knobs (e.g.
tcp_congestion_control in ``tune try``) at the same time on a shared machine, and must not be undone."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.system.knobs import KNOBS, ChoiceKnob, DirtyPairKnob, FileKnob

SRC = str(Path(__file__).resolve().parents[2] / "src")


TOUCHED = frozenset(
    {
        "vm.swappiness",
        "vm.dirty_ratio",
        "vm.dirty_bytes",
        "transparent_hugepage.enabled",
        "transparent_hugepage.defrag",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net.core.somaxconn",
        "kernel.randomize_va_space",
        "net.ipv4.tcp_mtu_probing",
        "net.core.default_qdisc",
        "kernel.io_uring_disabled",
    }
)


def knob_files() -> dict[str, Path]:
    """Every single-file knob this machine lets root write."""
    files = {}
    for name, knob in KNOBS.items():
        if isinstance(knob, FileKnob) and knob.path.exists() and knob.path.stat().st_mode & 0o200:
            files[name] = knob.path
    return files


def snapshot() -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in knob_files().items() if name in TOUCHED}


def _put_back(name: str, raw: bytes) -> None:
    knob = KNOBS[name]
    assert isinstance(knob, FileKnob)
    text = raw.decode()
    if isinstance(knob, ChoiceKnob):
        value = knob.normalize(text)
    elif isinstance(knob, DirtyPairKnob) and text.strip() == "0":
        return  # the partner's non-zero value restores this one
    else:
        value = " ".join(text.split())
    fd = os.open(knob.path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def put_back(saved: dict[str, bytes]) -> list[str]:
    """Restore every knob that differs from ``saved``; returns the names that differed."""
    differed = [
        name for name, path in knob_files().items() if name in saved and path.read_bytes() != saved[name]
    ]
    for name in differed:
        _put_back(name, saved[name])
    return differed


@pytest.fixture
def machine() -> Iterator[dict[str, bytes]]:
    """Root only: the knob snapshot taken before the test; restored afterwards whatever happens."""
    if os.geteuid() != 0:
        pytest.fail("these tests change real kernel values and must run as root (they restore them)")
    saved = snapshot()
    try:
        yield saved
    finally:
        put_back(saved)
        still = [
            name for name, path in knob_files().items() if name in saved and path.read_bytes() != saved[name]
        ]
        assert not still, f"could not restore {still}"


def perflab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "perflab", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def other_value(current: str, choices: list[str]) -> str:
    """A value from ``choices`` different from ``current``: the test must really change something."""
    return next(c for c in choices if c != current)
