"""A guest never outlives perflab: SIGKILL of `perflab vm run` takes QEMU with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def qemu_children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"qemu-system" in cmd:
            found.append(int(entry.name))
    return found


def test_sigkill_of_perflab_kills_the_guest(generic_deb: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perflab",
            "vm",
            "run",
            "--kernel",
            str(generic_deb),
            "--accel",
            "tcg",
            "--timeout",
            "300",
            "--",
            "sleep",
            "120",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # killed, it cannot remove its perflab-vm-* directory
    )
    deadline = time.monotonic() + 240
    guests: list[int] = []
    while time.monotonic() < deadline and not guests:
        time.sleep(0.2)
        guests = qemu_children_of(proc.pid)
    assert guests, "QEMU never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        Path(f"/proc/{g}/cmdline").exists() and Path(f"/proc/{g}/cmdline").read_bytes() for g in guests
    ):
        time.sleep(0.1)
    alive = [
        g for g in guests if Path(f"/proc/{g}/cmdline").exists() and Path(f"/proc/{g}/cmdline").read_bytes()
    ]
    assert alive == [], f"QEMU {alive} outlived perflab"
