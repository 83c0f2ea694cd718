"""A suite variant that runs the benchmarks inside a VM: ``vm = { kernel = "…" }`` in ``perflab.toml``.

A suite then compares kernels, or VM configurations of one kernel (``microvm`` + PVH against ``pc`` +
bzImage, 1 against 2 vCPUs), with the ordinary suite table, Holm, TOTAL and geometric mean::

    [[variant]]
    name = "debian-6.1"
    vm = { kernel = "kernels/linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb", accel = "tcg" }

    [[variant]]
    name = "debian-6.1-rt"
    vm = { kernel = "kernels/linux-image-6.1.0-57-rt-amd64_6.1.192-3_amd64.deb", accel = "tcg" }

The engine is `perflab vm bench`'s (``perflab.vm.boot.run_boot`` and ``perflab.lab.vm_results``): the boot
is the unit of replication (a benchmark's ``runs`` are boots per variant, each contributing the median of
its ``runs_per_boot`` runs), the variants' boots alternate in randomized blocks, ``wall`` is the
command's time on the guest's monotonic clock, and the host-clock time and the boot's own costs are
metrics of their own (``host_s``, ``boot_to_init_s``, ``boot_to_command_s``). Every variant runs under
one accelerator (the first vm variant's choice for every ``accel = "auto"``); under TCG every figure is
labelled "emulated (TCG): not hardware performance".
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.lab.vm_results import (
    BOOT_METRIC_NAMES,
    BOOT_METRICS,
    MEMORY_NOTE,
    METRIC_NOTES,
    boot_record,
    boot_to_run,
    labelled,
)
from perflab.lab.vm_session import DEFAULT_TIMEOUT_S, VmOptions, prepare_kernel
from perflab.store.model import CommandResult, MetricSpec
from perflab.vm import guest
from perflab.vm.boot import TCG_LABEL, Prepared, run_boot
from perflab.vm.qemu import MACHINES

if TYPE_CHECKING:
    from perflab.lab.suite import SuiteObserver

#: the keys of a variant's ``vm`` table
VM_KEYS = {"kernel", "modules_from", "modules", "cpus", "mem", "accel", "machine", "timeout", "append",
           "runs_per_boot"}
#: the metrics a vm suite can show: the guest-clock time and the boot metrics (plus [[metric]] ones)
VM_METRICS = ("wall", *BOOT_METRIC_NAMES)
#: a boot failing like this stops the suite (a hung boot is recorded and the suite goes on)
STOPPING = ("kernel-error", "boot-failed", "command-failed")


@dataclass
class VmVariantSpec:
    """A variant's ``vm`` table, paths resolved against the suite file's directory."""

    kernel: str
    modules_from: str | None = None
    modules: list[str] = field(default_factory=list)
    cpus: int = 1
    mem_mb: int = 1024
    accel: str = "auto"
    machine: str = "auto"
    timeout_s: float = DEFAULT_TIMEOUT_S
    append: str = ""
    runs_per_boot: int = 1

    def options(self) -> VmOptions:
        return VmOptions(modules_from=self.modules_from, modules=list(self.modules), machine=self.machine,
                         accel=self.accel, cpus=self.cpus, mem_mb=self.mem_mb, timeout_s=self.timeout_s,
                         append=self.append)


def _kernel_path(reader: Any, where: tuple[Any, ...], text: str, base: Path) -> str:
    resolved = (base / text).resolve()
    if resolved.is_file():
        return str(resolved)
    if "/" not in text and (Path("/boot") / f"vmlinuz-{text}").is_file():
        return text  # a release installed under /boot
    raise reader.fail((*where, "kernel"), f"{resolved}: no such kernel file (a vmlinux, bzImage or .deb, or "
                                          f"a release with /boot/vmlinuz-RELEASE)")


def parse_vm_table(reader: Any, item: dict[str, Any], where: tuple[Any, ...], base: Path
                   ) -> VmVariantSpec | None:
    """The variant's ``vm`` table checked key by key (``reader``: the suite file's reader, whose errors
    name file:line and the key), or None when the variant has none."""
    if "vm" not in item:
        return None
    where = (*where, "vm")
    table = reader.table(item["vm"], where, VM_KEYS)
    kernel = reader.get(table, "kernel", str, where)
    if kernel is None:
        raise reader.fail(where, "missing key 'kernel' (a vmlinux, bzImage, kernel .deb or /boot release)")
    modules_from = reader.existing_path(table, "modules_from", where, base, what=".deb or modules directory")
    accel = reader.get(table, "accel", str, where, "auto")
    if accel not in ("auto", "kvm", "tcg"):
        raise reader.fail((*where, "accel"), f"{accel!r}: choose auto, kvm or tcg")
    machine = reader.get(table, "machine", str, where, "auto")
    if machine not in ("auto", *MACHINES):
        raise reader.fail((*where, "machine"), f"{machine!r}: choose auto, {', '.join(MACHINES)}")
    return VmVariantSpec(
        kernel=_kernel_path(reader, where, kernel, base), modules_from=modules_from,
        modules=reader.strings(table, "modules", where) or [],
        cpus=reader.positive(table, "cpus", where, 1), mem_mb=reader.positive(table, "mem", where, 1024,
                                                                              minimum=128),
        accel=accel, machine=machine,
        timeout_s=float(reader.positive(table, "timeout", where, DEFAULT_TIMEOUT_S, minimum=0.001,
                                          kind=(int, float))),
        append=reader.get(table, "append", str, where, ""),
        runs_per_boot=reader.positive(table, "runs_per_boot", where, 1))


def check_vm_suite(reader: Any, variants: Sequence[Any], benchmarks: Sequence[Any],
                   metrics: Sequence[str]) -> None:
    """A suite with vm variants runs every variant in a VM (a guest's clock and the host's are not one
    measure), command benchmarks only, and the metrics a guest can give."""
    vm_indices = [i for i, v in enumerate(variants) if v.vm is not None]
    if not vm_indices:
        return
    for i, v in enumerate(variants):
        if v.vm is None:
            raise reader.fail(("variant", i), f"variant {v.name!r} has no vm table, but "
                                              f"{variants[vm_indices[0]].name!r} has: in a suite with vm "
                                              "variants every variant runs in a VM (one clock for all)")
        if v.profile is not None:
            raise reader.fail(("variant", i, "profile"), "a tuning profile applies to the host, not to the "
                                                         "guest of a vm variant")
    for b_index, b in enumerate(benchmarks):
        if b.settings.runs is None:
            raise reader.fail(("benchmark", b_index), f"{b.name!r}: vm variants need a fixed run count "
                                                      "(runs = boots per variant), not an adaptive one")
        if b.is_callable:
            raise reader.fail(("variant", vm_indices[0], "vm"), f"the callable benchmark {b.name!r} runs "
                                                                "in this process, not in a VM guest")
    for m in metrics:
        if m in ("user", "sys", "peak_rss", "instructions"):
            raise reader.fail(("suite", "metrics"), f"{m!r} is not measured inside a VM guest (vm variants "
                                                    f"give {', '.join(VM_METRICS)} and [[metric]] ones)")


@dataclass
class VmVariant:
    """A vm variant made bootable once per suite (kernel resolved, initramfs built, accelerator chosen);
    ``boots`` keeps every boot's record."""

    spec: VmVariantSpec
    prepared: Prepared
    boots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        return TCG_LABEL if self.prepared.machine.accel == "tcg" else None


def prepare_vms(variants: Sequence[Any]) -> None:
    """Prepare every vm variant (``variants``: the suite's PreparedVariant list; their ``vm`` is set).
    One accelerator for all: every ``accel = "auto"`` takes the first vm variant's choice, so "KVM for A,
    TCG for B" cannot slip into a comparison unasked."""
    chosen: tuple[str, str] | None = None
    for v in variants:
        if v.spec.vm is None:
            continue
        options = v.spec.vm.options()
        if chosen is not None and options.accel == "auto":
            options = replace(options, accel=chosen[0])
        prepared = prepare_kernel(v.spec.vm.kernel, options)
        if chosen is None:
            chosen = (prepared.machine.accel, prepared.accel_reason)
        elif v.spec.vm.accel == "auto":
            prepared.accel_reason = chosen[1]
        v.vm = VmVariant(v.spec.vm, prepared)
        v.notes += prepared.notes


@dataclass
class VmGroup:
    """One benchmark × input of a vm suite: the argv each variant runs and the cells' names."""

    benchmark: Any  # suite_file.BenchmarkSpec
    input: str
    argvs: list[list[str]]
    names: list[str]
    metrics: list[MetricSpec]
    cwd: str


def _cell(v: Any, group: VmGroup, i: int) -> CommandResult:
    vm: VmVariant = v.vm
    kernel = vm.prepared.kernel
    return CommandResult(
        name=labelled(group.names[i], vm.label), command=shlex.join(group.argvs[i]), argv=group.argvs[i],
        parameters={"benchmark": group.benchmark.name, "input": group.input, "variant": v.spec.name,
                    "kernel": kernel.spec, "release": kernel.release, "machine": vm.prepared.machine.machine},
        metrics=[*BOOT_METRICS, *group.metrics], memory_note=MEMORY_NOTE,
        notes=[*([f"{vm.label} ({vm.prepared.accel_reason})"] if vm.label else []),
               f"one sample per boot: the median of {vm.spec.runs_per_boot} run(s) in that boot"])


def measure_vm(variants: Sequence[Any], group: VmGroup, rng: random.Random, observer: SuiteObserver,
               cells: list[CommandResult]) -> str | None:
    """Boots of every variant in randomized blocks (warm-up boots first, not kept); the cells are appended
    to ``cells`` also on failure or Ctrl-C (which kills the guest and is raised on); returns the failure."""
    settings = group.benchmark.settings
    results = [_cell(v, group, i) for i, v in enumerate(variants)]
    indices = list(range(len(variants)))
    sequence = 0
    try:
        for block in range(-settings.warmup, settings.runs):
            rng.shuffle(indices)
            for i in indices:
                vm: VmVariant = variants[i].vm
                job = guest.Job(command=list(group.argvs[i]), runs=vm.spec.runs_per_boot,
                                cwd=variants[i].cwd or group.cwd, env=dict(variants[i].spec.env))
                result = run_boot(vm.prepared, job, vm.spec.timeout_s)
                vm.boots.append({"benchmark": group.benchmark.name, "input": group.input,
                                 **boot_record(len(vm.boots), i, block, result)})
                observer.advance(group.names[i])
                if result.status == "interrupted":
                    raise KeyboardInterrupt
                if block < 0 and result.status not in STOPPING:
                    results[i].warmup_runs += 1
                    continue
                if block >= 0:
                    run = boot_to_run(result, sequence, block, group.metrics, variant=variants[i].spec.name)
                    results[i].runs.append(run)
                    sequence += 1
                if result.status == "timed-out":
                    results[i].notes.append(f"boot {len(vm.boots) - 1} hung and was killed by the watchdog")
                if result.status in STOPPING:
                    return f"{group.names[i]}: {result.status}: {result.reason}"
    finally:
        cells += results
    return None


def vm_settings(variants: Sequence[Any]) -> dict[str, Any]:
    """What a vm suite stores besides the cells: per variant its kernel, machine, accelerator and why,
    and every boot; the suite-wide label when TCG ran."""
    vms = [v for v in variants if getattr(v, "vm", None) is not None]
    if not vms:
        return {}
    labelled_vms = [v for v in vms if v.vm.label]
    return {
        "label": labelled_vms[0].vm.label if labelled_vms else None,
        "accel_reason": labelled_vms[0].vm.prepared.accel_reason if labelled_vms else None,
        "emulated_variants": [v.spec.name for v in labelled_vms],
        "unit_of_replication": "boot (median of its runs)",
        "per_run_cpu_times": False,
        "metric_notes": METRIC_NOTES,
        "vm": {v.spec.name: {"kernel": v.vm.prepared.kernel.spec, "release": v.vm.prepared.kernel.release,
                             "machine": v.vm.prepared.machine.machine, "accel": v.vm.prepared.machine.accel,
                             "accel_reason": v.vm.prepared.accel_reason, "label": v.vm.label,
                             "cpus": v.vm.spec.cpus, "mem_mb": v.vm.spec.mem_mb,
                             "timeout_s": v.vm.spec.timeout_s, "runs_per_boot": v.vm.spec.runs_per_boot,
                             "boots": v.vm.boots}
               for v in vms},
    }
