"""One boot: kernel + initramfs + job → QEMU under a watchdog → runs, timings and kernel health."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perflab.env.detect import TCG_LABEL
from perflab.vm import guest, health
from perflab.vm.initramfs import initramfs_for
from perflab.vm.kernels import Kernel
from perflab.vm.modules import ModuleIndex, ensure_modules_dep
from perflab.vm.qemu import BootOutcome, Machine, boot, qemu_argv

READY_TIMEOUT_S = 180.0  # boot → ready is 2–10 s under TCG here; 180 s leaves room for a loaded host
HANG_RETRIES = 1

CONSOLE_TAIL = 40


@dataclass
class BootResult:
    """Everything one boot produced. ``status``: ok | command-failed | kernel-error | timed-out |
    interrupted | boot-failed."""

    kernel: str
    release: str
    machine: str
    accel: str
    accel_reason: str
    image: str
    status: str
    reason: str | None
    boot_to_init_s: float | None  # guest clock: kernel start → /init (printk stamp)
    host_ready_s: float | None  # host clock: QEMU start → guest ready to run the command
    host_total_s: float  # host clock: QEMU start → QEMU gone
    runs: list[guest.GuestRun] = field(default_factory=list)
    health: list[str] = field(default_factory=list)  # offending kernel-log lines
    console_tail: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clocksource: str | None = None  # the guest kernel's clock (guest timings are only as fine as it)

    @property
    def label(self) -> str | None:
        return TCG_LABEL if self.accel == "tcg" else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data


@dataclass
class Prepared:
    """A kernel made bootable once: initramfs, the modules to load, accel decision (reused by every boot)."""

    kernel: Kernel
    machine: Machine
    initrd: Path
    accel_reason: str
    module_paths: list[str]
    notes: list[str]


def prepare(kernel: Kernel, machine: Machine, accel_reason: str, extra_modules: list[str]) -> Prepared:
    initrd = initramfs_for(kernel, machine.machine)
    notes = [kernel.pvh_note] if machine.machine == "microvm" else []
    paths: list[str] = []
    if kernel.modules is not None:
        if extra_modules:
            paths = [str(p) for p in ModuleIndex(kernel.modules).load_order(extra_modules)]
        why_not = ensure_modules_dep(kernel.modules, kernel.release)
        if why_not:
            notes.append(why_not)
    return Prepared(kernel, machine, initrd, accel_reason, paths, notes)


def _status(outcome, runs: list[guest.GuestRun], splat: list[str], out_dir: Path) -> tuple[str, str | None]:
    setup_error = (out_dir / "setup-error").read_text().strip() if (out_dir / "setup-error").exists() else ""
    init_failure = next((line for _, line in outcome.console if "perflab-init: FAILED" in line), None)
    if outcome.interrupted:
        return "interrupted", "interrupted (Ctrl-C): the guest was killed"
    if splat:
        return "kernel-error", f"kernel log: {splat[0].strip()}"
    if outcome.hung_before_ready:
        return "timed-out", "watchdog: the guest never reached its init (hung in early boot) and was killed"
    if outcome.timed_out:
        return "timed-out", "watchdog: the guest did not finish in time and was killed"
    if init_failure:
        return "boot-failed", init_failure.split("perflab-init: ", 1)[1]
    if setup_error:
        return "boot-failed", setup_error
    if not runs:
        last = (outcome.stderr.strip().splitlines() or ["the guest ran no command"])[-1]
        return "boot-failed", f"QEMU exit status {outcome.returncode}: {last[:200]}"
    failed = next((r for r in runs if r.exit_code != 0), None)
    if failed is not None:
        return "command-failed", f"run {failed.index}: exit code {failed.exit_code}"
    return "ok", None


def run_boot(prepared: Prepared, job: guest.Job, timeout_s: float) -> BootResult:
    """Boot once and run the job; the private results directory is removed afterwards."""
    kernel, machine = prepared.kernel, prepared.machine
    job.modules = prepared.module_paths
    job.env = {**guest.default_env(machine.accel), **job.env}
    job.modules_tree = str(kernel.modules) if kernel.modules is not None else None
    out_dir = Path(tempfile.mkdtemp(prefix="perflab-vm-"))
    try:
        guest.write_job(out_dir, job)
        argv = qemu_argv(kernel, prepared.initrd, out_dir, machine)
        outcome, retry_notes = _boot_retrying_hangs(argv, timeout_s)
        dmesg = (out_dir / "dmesg").read_text(errors="replace") if (out_dir / "dmesg").exists() else ""
        log = dmesg or outcome.console_text()
        entries = guest.parse_dmesg(dmesg)
        runs = guest.collect_runs(out_dir, entries, outcome.console)
        # The guest's dmesg when it came back; else (panic, hang) what reached the serial console.
        splat = health.scan(log)
        status, reason = _status(outcome, runs, splat, out_dir)
        splat_at = out_dir / "splat-at"
        if splat_at.exists() and status == "kernel-error":
            reason = f"after run {splat_at.read_text().strip()}: {reason}"
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return BootResult(
        kernel=kernel.spec, release=kernel.release, machine=machine.machine, accel=machine.accel,
        accel_reason=prepared.accel_reason, image=str(argv[argv.index("-kernel") + 1]),
        status=status, reason=reason, boot_to_init_s=guest.boot_to_init_s(entries),
        host_ready_s=guest.host_ready_s(outcome.console, outcome.started_ns),
        host_total_s=outcome.host_s, runs=runs, health=splat,
        console_tail=[line for _, line in outcome.console][-CONSOLE_TAIL:] if status != "ok" else [],
        notes=list(prepared.notes) + retry_notes + ([] if log else ["no kernel log came back"])
        + _clock_note(guest.clocksource(entries)),
        clocksource=guest.clocksource(entries))


def _clock_note(source: str | None) -> list[str]:
    if source is None or "jiffies" not in source:
        return []
    return [f"the guest clock fell back to {source} (4 ms ticks at HZ=250): guest timings are coarse"]


def _boot_retrying_hangs(argv: list[str], timeout_s: float) -> tuple[BootOutcome, list[str]]:
    """Boot; a guest that hangs before its init prints the ready mark (seen here: about 1 TCG boot in 25)
    is killed after ``READY_TIMEOUT_S`` and booted again, up to ``HANG_RETRIES`` times, each retry noted.
    A guest that reached init is never retried: its command's outcome is the result."""
    notes: list[str] = []
    ready_timeout = min(READY_TIMEOUT_S, timeout_s)
    for attempt in range(HANG_RETRIES + 1):
        outcome = boot(argv, timeout_s, ready_mark=f"{guest.MARK} ready", ready_timeout_s=ready_timeout)
        if not outcome.hung_before_ready or outcome.interrupted:
            return outcome, notes
        notes.append(f"boot {attempt + 1} hung before init (no ready mark in {ready_timeout:g} s): killed"
                     + ("; booted again" if attempt < HANG_RETRIES else ""))
    return outcome, notes
