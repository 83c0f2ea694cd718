"""`perflab vm run` and `perflab vm stress`: boot a kernel, run a host command inside, bring back its
exit code, output, timings and the kernel's health."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from perflab.errors import PerflabError
from perflab.store.model import Benchmark
from perflab.vm import guest, kernels
from perflab.vm.boot import BootResult, Prepared, prepare, run_boot
from perflab.vm.initramfs import initramfs_for
from perflab.vm.modules import ModuleIndex
from perflab.vm.qemu import MACHINES, Machine, choose_accel

DEFAULT_TIMEOUT_S = 120.0


@dataclass
class VmOptions:
    """The boot options every vm use case shares (the CLI's --kernel … --append)."""

    modules_from: str | None = None
    modules: list[str] = field(default_factory=list)  # loaded before the command (with dependencies)
    machine: str = "auto"
    accel: str = "auto"
    cpus: int = 1
    mem_mb: int = 1024
    timeout_s: float = DEFAULT_TIMEOUT_S
    append: str = ""
    cwd: str | None = None

    def check(self) -> None:
        if self.cpus < 1:
            raise PerflabError(f"--cpus {self.cpus}: need at least 1")
        if self.mem_mb < 128:
            raise PerflabError(f"--mem {self.mem_mb}: need at least 128 (MiB)")
        if self.timeout_s <= 0:
            raise PerflabError(f"--timeout {self.timeout_s:g}: must be positive")
        if self.machine != "auto" and self.machine not in MACHINES:
            raise PerflabError(f"--machine {self.machine}: choose auto, {', '.join(MACHINES)}")


def _machine_type(kernel: kernels.Kernel, requested: str) -> tuple[str, str | None]:
    """auto: microvm when the kernel can drive virtio-mmio, else q35 (virtio-pci)."""
    if requested != "auto":
        return requested, None
    if kernel.modules is not None:
        index = ModuleIndex(kernel.modules)
        if "virtio_mmio" in index.paths or "virtio_mmio" in index.builtin:
            return "microvm", None
    return "q35", "the kernel has no virtio_mmio: q35 (virtio-pci) instead of microvm"


def prepare_kernel(spec: str, options: VmOptions) -> Prepared:
    """Resolve the kernel, build its initramfs, decide the accelerator (KVM probe) — once per kernel."""
    options.check()
    kernel = kernels.resolve(spec, options.modules_from)
    machine_type, why = _machine_type(kernel, options.machine)
    probe = Machine(machine=machine_type, cpus=options.cpus, mem_mb=options.mem_mb)
    accel, reason = choose_accel(options.accel, kernel, initramfs_for(kernel, machine_type))
    machine = Machine(machine_type, accel, probe.cpus, probe.mem_mb, options.append)
    prepared = prepare(kernel, machine, reason, options.modules)
    if why:
        prepared.notes.append(why)
    return prepared


def _job(command: list[str], options: VmOptions, runs: int, stop_on_failure: bool) -> guest.Job:
    if not command:
        raise PerflabError("no command: perflab vm run --kernel K -- CMD ARG...")
    return guest.Job(command=list(command), runs=runs, cwd=options.cwd or os.getcwd(),
                     stop_on_failure=stop_on_failure)


def run(spec: str, command: list[str], options: VmOptions) -> BootResult:
    """Boot ``spec`` once and run ``command`` inside."""
    prepared = prepare_kernel(spec, options)
    return run_boot(prepared, _job(command, options, 1, False), options.timeout_s)


def run_and_save(spec: str, command: list[str], options: VmOptions,
                 store: Any) -> tuple[BootResult, Benchmark]:
    """`perflab vm run`: boot once, run ``command``, and store what happened (kind ``vm-run``: command,
    kernel, accelerator and why, exit code, guest and host timings, the kernel-log health scan)."""
    from perflab.analysis.benchmark import analyze
    from perflab.lab.vm_results import label_analysis, run_benchmark

    result = run(spec, command, options)
    bench = run_benchmark(result, command, options)
    bench.analysis = label_analysis(analyze(bench), bench)
    bench.id = store.save(bench)
    return result, bench


def stress(spec: str, command: list[str], options: VmOptions, repeat: int) -> BootResult:
    """Run ``command`` ``repeat`` times in one boot; stop at the first failing run or kernel splat."""
    if repeat < 1:
        raise PerflabError(f"--repeat {repeat}: need at least 1")
    prepared = prepare_kernel(spec, options)
    return run_boot(prepared, _job(command, options, repeat, True), options.timeout_s)
