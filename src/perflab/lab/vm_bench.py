"""`perflab vm bench`: A/B two (or more) kernels on one command, honestly.

Boots alternate in randomized blocks (each block boots every kernel once, in a fresh random order), so
drift on the host spreads over both sides instead of landing on one. The boot is the unit of
replication: runs inside one boot share its caches and its layout, so each boot contributes one sample
(the median of its runs) and the between-boot variance is in every interval. The result is an ordinary
benchmark (one command per kernel, one run per boot), analysed, compared and stored like any other;
under TCG every figure carries the "emulated" label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from perflab.errors import PerflabError
from perflab.lab.vm_results import (
    BOOT_METRICS,
    METRIC_NOTES,
    boot_record,
    boot_to_run,
    label_analysis,
    labelled,
)
from perflab.lab.vm_session import VmOptions, prepare_kernel
from perflab.store.model import Benchmark, CommandResult, MetricSpec
from perflab.vm import guest
from perflab.vm.boot import TCG_LABEL, BootResult, Prepared, run_boot

MIN_BOOTS = 2


class BootObserver(Protocol):
    def boot_done(self, done: int, total: int, result: BootResult) -> None: ...


@dataclass
class VmBenchRequest:
    kernels: list[str]
    command: list[str]
    options: VmOptions
    boots: int = 10  # per kernel
    runs_per_boot: int = 1
    metrics: list[MetricSpec] = field(default_factory=list)  # parsed from the command's output
    seed: int | None = None
    alpha: float = 0.05
    noise: float = 0.01

    def validate(self) -> None:
        if len(self.kernels) < 2:
            raise PerflabError("vm bench needs at least two --kernel options (A and B)")
        if self.boots < MIN_BOOTS:
            raise PerflabError(f"--boots {self.boots}: need at least {MIN_BOOTS} per kernel (boots are the "
                               "unit of replication; 5 or more for a verdict)")
        if self.runs_per_boot < 1:
            raise PerflabError(f"--runs-per-boot {self.runs_per_boot}: need at least 1")
        if not self.command:
            raise PerflabError("no command: perflab vm bench --kernel A --kernel B -- CMD ARG...")
        self.options.check()


def boot_order(kernels: int, boots: int, rng: np.random.Generator) -> list[int]:
    """``boots`` blocks, each a random permutation of the kernels: alternating, never all A then all B."""
    return [int(k) for _ in range(boots) for k in rng.permutation(kernels)]


def _prepare_all(request: VmBenchRequest) -> list[Prepared]:
    """Every kernel with the same accelerator (KVM for one and TCG for the other is no comparison)."""
    first = prepare_kernel(request.kernels[0], request.options)
    same = replace(request.options, accel=first.machine.accel)
    rest = [prepare_kernel(spec, same) for spec in request.kernels[1:]]
    for p in rest:
        p.accel_reason = first.accel_reason
    return [first, *rest]


def _names(prepared: list[Prepared], label: str | None) -> list[str]:
    names = [p.kernel.release for p in prepared]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return [labelled(n, label) for n in names]


class VmBench:
    """Prepare → alternate boots → one Benchmark (kind ``vm-bench``) → analyse → save."""

    def __init__(self, request: VmBenchRequest) -> None:
        request.validate()
        self.request = request

    def measure(self, observer: BootObserver | None = None) -> Benchmark:
        from perflab.env.capture import capture_environment

        req = self.request
        prepared = _prepare_all(req)
        label = TCG_LABEL if prepared[0].machine.accel == "tcg" else None
        names = _names(prepared, label)
        rng = np.random.default_rng(req.seed)
        order = boot_order(len(prepared), req.boots, rng)
        metrics = [*BOOT_METRICS, *req.metrics]
        commands = [CommandResult(name=name, command=" ".join(req.command), argv=list(req.command),
                                  parameters={"kernel": p.kernel.spec, "release": p.kernel.release,
                                              "machine": p.machine.machine, "image": str(p.kernel.vmlinux or
                                                                                         p.kernel.bzimage)},
                                  metrics=list(metrics), memory_note="not measured inside the guest",
                                  notes=[*([label] if label else []), *p.notes])
                    for name, p in zip(names, prepared, strict=True)]
        bench = Benchmark(commands=commands, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                          kind="vm-bench", environment=capture_environment())
        boots: list[dict[str, Any]] = []
        for index, k in enumerate(order):
            job = guest.Job(command=list(req.command), runs=req.runs_per_boot,
                            cwd=req.options.cwd or os.getcwd())
            result = run_boot(prepared[k], job, req.options.timeout_s)
            block = index // len(prepared)
            boots.append(boot_record(index, k, block, result))
            bench.order.append(k)
            commands[k].runs.append(boot_to_run(result, index, block, req.metrics))
            if observer is not None:
                observer.boot_done(index + 1, len(order), result)
            if result.status == "interrupted":
                bench.status = "interrupted"
                bench.message = f"interrupted at boot {index + 1} of {len(order)}"
                break
            if result.status in ("kernel-error", "boot-failed"):
                bench.status = "failed"
                bench.message = f"boot {index + 1} ({names[k]}): {result.status}: {result.reason}"
                break
        bench.settings = {
            "vm": True, "boots_per_kernel": req.boots, "runs_per_boot": req.runs_per_boot, "seed": req.seed,
            "unit_of_replication": "boot (median of its runs)", "accel": prepared[0].machine.accel,
            "accel_reason": prepared[0].accel_reason, "label": label, "cpus": req.options.cpus,
            "mem_mb": req.options.mem_mb, "timeout_s": req.options.timeout_s, "metric_notes": METRIC_NOTES,
            "per_run_cpu_times": False, "boots": boots,
        }
        return bench

    def analyse(self, bench: Benchmark) -> dict[str, Any]:
        """The standard analysis (summaries, ratio CIs, Holm, verdicts) over per-boot samples, labelled."""
        from perflab.analysis.benchmark import analyze

        analysis = analyze(bench, alpha=self.request.alpha, noise=self.request.noise, seed=self.request.seed)
        label_analysis(analysis, bench)
        bench.analysis = analysis
        return analysis


def run_vm_bench(request: VmBenchRequest, store: Any, observer: BootObserver | None = None) -> Benchmark:
    """Measure, analyse and save; the returned benchmark carries its store id."""
    session = VmBench(request)
    bench = session.measure(observer)
    session.analyse(bench)
    bench.id = store.save(bench)
    return bench
