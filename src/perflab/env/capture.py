"""Snapshot of everything that can change a timing, stored with every result.

A number without its machine state cannot be compared later; this records the state cheaply (files in
/proc and /sys, one optional ``systemd-detect-virt`` and two ``git`` calls with timeouts) and never
raises: a missing source becomes ``None`` with the reason under ``unavailable``.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perflab import __version__
from perflab.env.detect import detect_container, detect_vm, emulation_label, read_text

CPUFREQ_DIR = Path("/sys/devices/system/cpu/cpufreq")
GIT_TIMEOUT_S = 0.5


def _bracketed(text: str | None) -> str | None:
    """``always [madvise] never`` → ``madvise`` (the kernel marks the active choice)."""
    if text is None:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text.strip() or None


def _cpu(env: dict[str, Any], missing: dict[str, str]) -> None:
    cpuinfo = read_text("/proc/cpuinfo")
    env["cpu_model"] = None
    env["cpu_flags"] = None
    physical: set[tuple[str, str]] = set()
    if cpuinfo is None:
        missing["cpu_model"] = missing["cpu_flags"] = "/proc/cpuinfo unreadable"
    else:
        phys_id = core_id = None
        for line in cpuinfo.splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name" and env["cpu_model"] is None:
                env["cpu_model"] = value
            elif key == "flags" and env["cpu_flags"] is None:
                env["cpu_flags"] = value.split()
            elif key == "physical id":
                phys_id = value
            elif key == "core id":
                core_id = value
            elif not line.strip():
                if phys_id is not None and core_id is not None:
                    physical.add((phys_id, core_id))
                phys_id = core_id = None
        if phys_id is not None and core_id is not None:
            physical.add((phys_id, core_id))
        if env["cpu_model"] is None:
            missing["cpu_model"] = "no 'model name' line in /proc/cpuinfo"
    env["cores_logical"] = os.cpu_count()
    env["cores_physical"] = len(physical) or None
    if not physical:
        missing["cores_physical"] = "/proc/cpuinfo has no physical id/core id lines"
    smt_active = read_text("/sys/devices/system/cpu/smt/active")
    smt_control = read_text("/sys/devices/system/cpu/smt/control")
    env["smt"] = {
        "active": None if smt_active is None else smt_active.strip() == "1",
        "control": None if smt_control is None else smt_control.strip(),
    }
    if smt_active is None:
        missing["smt"] = "/sys/devices/system/cpu/smt/active absent"
    try:
        env["cpus_allowed"] = len(os.sched_getaffinity(0))
    except OSError:
        env["cpus_allowed"] = None


def _cpufreq(env: dict[str, Any], missing: dict[str, str], vm: bool) -> None:
    policies = sorted(CPUFREQ_DIR.glob("policy*")) if CPUFREQ_DIR.is_dir() else []
    if not policies:
        reason = "none: VM" if vm else "none: no cpufreq driver"
        env["governor"] = reason
        env["turbo"] = reason
        env["cpufreq_driver"] = None
        missing["governor"] = f"{CPUFREQ_DIR} absent or without policies"
        return
    governors = sorted({(read_text(p / "scaling_governor") or "?").strip() for p in policies})
    env["governor"] = governors[0] if len(governors) == 1 else ",".join(governors)
    env["cpufreq_driver"] = (read_text(policies[0] / "scaling_driver") or "").strip() or None
    no_turbo = read_text("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = read_text(CPUFREQ_DIR / "boost")
    if no_turbo is not None:
        env["turbo"] = "on" if no_turbo.strip() == "0" else "off"
    elif boost is not None:
        env["turbo"] = "on" if boost.strip() == "1" else "off"
    else:
        env["turbo"] = None
        missing["turbo"] = "neither intel_pstate/no_turbo nor cpufreq/boost exists"


def _git(cwd: Path, missing: dict[str, str]) -> dict[str, Any] | None:
    def run(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(
                ["git", "-C", str(cwd), *args],
                capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
            )
        except FileNotFoundError:
            missing["git"] = "git not installed"
        except subprocess.TimeoutExpired:
            missing["git"] = f"git timed out after {GIT_TIMEOUT_S} s"
        except OSError as error:
            missing["git"] = f"git failed: {error}"
        return None

    head = run("rev-parse", "HEAD")
    if head is None:
        return None
    if head.returncode != 0:
        missing["git"] = f"{cwd} is not a git work tree with commits"
        return None
    status = run("status", "--porcelain", "--untracked-files=no")
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return {"commit": head.stdout.strip(), "dirty": dirty}


def capture_environment(cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Capture the machine state; JSON-friendly, never raises on a missing file."""
    missing: dict[str, str] = {}
    env: dict[str, Any] = {"captured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    _cpu(env, missing)
    release = platform.release()
    env["kernel_release"] = release or None
    cmdline = read_text("/proc/cmdline")
    env["kernel_cmdline"] = cmdline.strip() if cmdline is not None else None
    if cmdline is None:
        missing["kernel_cmdline"] = "/proc/cmdline unreadable"
    thp = read_text("/sys/kernel/mm/transparent_hugepage/enabled")
    env["thp"] = _bracketed(thp)
    env["thp_defrag"] = _bracketed(read_text("/sys/kernel/mm/transparent_hugepage/defrag"))
    if thp is None:
        missing["thp"] = "/sys/kernel/mm/transparent_hugepage absent (kernel without THP)"
    aslr = read_text("/proc/sys/kernel/randomize_va_space")
    env["aslr"] = int(aslr) if aslr is not None and aslr.strip().isdigit() else None
    if env["aslr"] is None:
        missing["aslr"] = "/proc/sys/kernel/randomize_va_space unreadable"
    try:
        env["loadavg"] = list(os.getloadavg())
    except OSError:
        env["loadavg"] = None
        missing["loadavg"] = "os.getloadavg() failed"
    vm = detect_vm()
    container = detect_container()
    env["vm"] = vm.to_dict()
    env["emulation"] = emulation_label()
    env["container"] = container.to_dict()
    _cpufreq(env, missing, vm.detected)
    env["python"] = platform.python_version()
    env["python_implementation"] = platform.python_implementation()
    env["python_executable"] = sys.executable
    env["perflab_version"] = __version__
    env["hostname"] = socket.gethostname()
    try:
        where = Path(cwd) if cwd is not None else Path.cwd()
    except OSError as error:  # the working directory was removed while perflab ran in it
        env["git"] = None
        missing["git"] = f"no working directory ({error.strerror})"
    else:
        env["git"] = _git(where, missing)
    env["unavailable"] = missing
    return env
