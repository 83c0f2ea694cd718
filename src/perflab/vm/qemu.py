"""QEMU: the command line for a machine type, one boot under a watchdog, and the KVM probe.

``microvm`` with a PVH vmlinux is the fast path; a bzImage boots on ``microvm`` through its firmware
or on ``q35``/``pc``. Every boot runs in its own process group and is killed when its time is up or
on Ctrl-C, so a hung guest never hangs perflab. The serial console is read line by line and every
line is stamped with the host's monotonic clock as it arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import atomic_write
from perflab.vm.initramfs import HOST_TAG, OUT_TAG
from perflab.vm.kernels import Kernel, cache_dir

MACHINES = ("microvm", "q35", "pc")
KVM_PROBE_TIMEOUT_S = 8.0
BASE_APPEND = "console=ttyS0 quiet panic=-1 reboot=t rdinit=/init"


@dataclass(frozen=True)
class Machine:
    """How to boot: QEMU machine type, accelerator, vCPUs, memory and extra kernel arguments."""

    machine: str = "microvm"
    accel: str = "tcg"
    cpus: int = 1
    mem_mb: int = 1024
    append: str = ""


@dataclass
class BootOutcome:
    """What one QEMU process did: exit status, watchdog/interrupt, and the stamped console lines."""

    returncode: int | None
    timed_out: bool
    interrupted: bool
    started_ns: int
    ended_ns: int
    console: list[tuple[int, str]] = field(default_factory=list)  # (host monotonic ns, line)
    stderr: str = ""
    hung_before_ready: bool = False  # killed because the guest never printed its ready mark in time

    @property
    def host_s(self) -> float:
        return (self.ended_ns - self.started_ns) / 1e9

    def console_text(self) -> str:
        return "\n".join(line for _, line in self.console)


def host_tsc_khz() -> int | None:
    """The host's TSC rate: under TCG the guest's TSC is the host's, and a guest that calibrates it
    against the emulated PIT on a busy host fails and hangs ('tsc: Unable to calibrate against PIT')."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("cpu MHz"):
            try:
                return int(float(line.split(":", 1)[1]) * 1000)
            except ValueError:
                return None
    return None


def kernel_append(m: Machine) -> str:
    parts = [BASE_APPEND]
    khz = host_tsc_khz() if m.accel == "tcg" else None
    if khz:
        # tsc=reliable: under TCG the guest's TSC is the host's, but on a busy host the clocksource
        # watchdog (checking it against starved emulated timers) marks it unstable and the guest falls
        # back to refined-jiffies: a 4 ms clock (seen in 2 of 5 boots at load 5). Every guest-clock
        # figure depends on this clock.
        parts.append(f"tsc_early_khz={khz} tsc=reliable")
    if m.append:
        parts.append(m.append)
    return " ".join(parts)


def qemu_binary() -> str:
    found = shutil.which("qemu-system-x86_64")
    if found is None:
        raise PerflabError("qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)")
    return found


def image_for(kernel: Kernel, machine: str) -> Path:
    """The file QEMU's -kernel gets: the PVH vmlinux on microvm when there is one, else the bzImage."""
    if machine == "microvm" and kernel.vmlinux is not None:
        return kernel.vmlinux
    if kernel.bzimage is None:
        raise PerflabError(f"{kernel.spec}: an ELF vmlinux boots only on -machine microvm (PVH); "
                           f"give the bzImage for {machine}")
    return kernel.bzimage


def qemu_argv(kernel: Kernel, initrd: Path, out_dir: Path | None, m: Machine) -> list[str]:
    """The full argv: no defaults, no graphics, no reboot (a guest reboot ends QEMU), serial on stdio."""
    if m.machine not in MACHINES:
        raise PerflabError(f"unknown machine type {m.machine!r} (choose from {', '.join(MACHINES)})")
    device = "virtio-9p-device" if m.machine == "microvm" else "virtio-9p-pci"
    image = image_for(kernel, m.machine)
    machine = m.machine
    if m.machine == "microvm" and image == kernel.vmlinux:
        machine = "microvm,x-option-roms=off,rtc=on"  # PVH entry: no firmware option ROM needed
    argv = [qemu_binary(), "-machine", machine, "-accel", "tcg,thread=multi" if m.accel == "tcg" else m.accel,
            "-cpu", "max" if m.accel == "tcg" else "host", "-smp", str(m.cpus), "-m", f"{m.mem_mb}M",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
            "-kernel", str(image), "-initrd", str(initrd),
            "-append", kernel_append(m),
            "-fsdev", f"local,id={HOST_TAG},path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", f"{device},fsdev={HOST_TAG},mount_tag={HOST_TAG}"]
    if out_dir is not None:
        argv += ["-fsdev", f"local,id={OUT_TAG},path={out_dir},security_model=none",
                 "-device", f"{device},fsdev={OUT_TAG},mount_tag={OUT_TAG}"]
    return argv


def _read_lines(stream, sink: list[tuple[int, str]]) -> None:
    for raw in iter(stream.readline, b""):
        sink.append((time.monotonic_ns(), raw.decode("utf-8", errors="replace").rstrip("\r\n")))


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _die_with_perflab() -> None:
    """In the child before exec: SIGKILL when perflab's thread dies, however it dies (SIGKILL included), so
    a guest never outlives the run that started it (orphaned TCG guests were seen spinning for minutes)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def boot(argv: list[str], timeout_s: float, ready_mark: str | None = None,
         ready_timeout_s: float | None = None) -> BootOutcome:
    """Run one QEMU to its end, or kill it (and its process group) when ``timeout_s`` is up or on Ctrl-C.

    With ``ready_mark``, a guest that prints no console line starting with it within ``ready_timeout_s``
    is killed early as hung before init (a TCG boot occasionally stalls in early boot)."""
    started = time.monotonic_ns()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=_die_with_perflab)
    except OSError as error:
        raise PerflabError(f"{argv[0]}: cannot start: {error.strerror}") from error
    console: list[tuple[int, str]] = []
    errors: list[tuple[int, str]] = []
    readers = [threading.Thread(target=_read_lines, args=(proc.stdout, console), daemon=True),
               threading.Thread(target=_read_lines, args=(proc.stderr, errors), daemon=True)]
    timed_out = interrupted = hung = False
    try:  # from here on a Ctrl-C (even while the readers start) kills the guest
        for reader in readers:
            reader.start()
        hung = _wait_for_mark(proc, console, ready_mark, ready_timeout_s, timeout_s)
        if hung:
            timed_out = True
            _kill(proc)
        else:
            proc.wait(timeout=max(0.0, timeout_s - (time.monotonic_ns() - started) / 1e9))
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(proc)
    except KeyboardInterrupt:
        interrupted = True
        _kill(proc)
    ended = time.monotonic_ns()
    for reader in readers:
        if reader.ident is not None:  # started
            reader.join(timeout=2.0)
    return BootOutcome(proc.returncode, timed_out, interrupted, started, ended, console,
                       "\n".join(line for _, line in errors), hung_before_ready=hung)


def _wait_for_mark(proc: subprocess.Popen, console: list[tuple[int, str]], mark: str | None,
                   ready_timeout_s: float | None, timeout_s: float) -> bool:
    """True when the guest is still running without its ready mark after ``ready_timeout_s``."""
    if mark is None or ready_timeout_s is None or ready_timeout_s >= timeout_s:
        return False
    deadline = time.monotonic() + ready_timeout_s
    seen = 0
    while True:
        lines = console[seen:]  # the reader thread only appends
        seen += len(lines)
        if any(line.lstrip().startswith(mark) for _, line in lines) or proc.poll() is not None:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.2)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def probe_kvm(kernel: Kernel, initrd: Path) -> tuple[bool, str]:
    """Boot a tiny guest (the kernel, no init: it panics and QEMU exits) under KVM with a short timeout.

    /dev/kvm can exist and still hang every guest (a software nested hypervisor here), so its
    presence proves nothing; the answer is cached per host boot and QEMU binary.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "no usable /dev/kvm"
    qemu = qemu_binary()
    key = f"{_boot_id()}:{qemu}:{Path(qemu).stat().st_mtime_ns}"
    cache = cache_dir() / "kvm-probe.json"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return bool(cached["ok"]), str(cached["reason"])
    except (OSError, ValueError, KeyError):
        pass
    m = Machine(accel="kvm", append="rdinit=/nonexistent root=/dev/nonexistent")
    outcome = boot(qemu_argv(kernel, initrd, None, m), KVM_PROBE_TIMEOUT_S)
    if outcome.interrupted:
        raise KeyboardInterrupt
    text = outcome.console_text()
    if outcome.timed_out:
        ok, reason = False, f"KVM probe: a tiny guest did not finish within {KVM_PROBE_TIMEOUT_S:g} s"
    elif "Kernel panic" in text or "No working init" in text or "VFS:" in text:
        ok, reason = True, f"KVM probe: a tiny guest booted and exited in {outcome.host_s:.2f} s"
    else:
        last = (outcome.stderr.strip().splitlines() or [f"exit status {outcome.returncode}"])[-1]
        ok, reason = False, f"KVM probe: QEMU failed: {last[:200]}"
    atomic_write(cache, json.dumps({"key": key, "ok": ok, "reason": reason}))
    return ok, reason


def choose_accel(requested: str, kernel: Kernel, initrd: Path) -> tuple[str, str]:
    """``auto`` → kvm when the probe boots, else tcg; always with the reason recorded in results."""
    if requested == "tcg":
        return "tcg", "TCG requested (--accel tcg)"
    if requested == "kvm":
        return "kvm", "KVM requested (--accel kvm)"
    if requested != "auto":
        raise PerflabError(f"--accel {requested}: choose auto, kvm or tcg")
    ok, reason = probe_kvm(kernel, initrd)
    return ("kvm", reason) if ok else ("tcg", f"{reason}; using TCG (emulation)")
