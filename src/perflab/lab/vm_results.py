"""One boot → stored figures: the Run a boot contributes, its per-boot record, and the stored result of a
single `perflab vm run` (kind ``vm-run``).

Shared by `vm run`, `vm bench` and a suite's ``vm`` variants, so every one of them stores the same metrics
under the same names: ``wall`` is the command's time on the guest's monotonic clock, ``host_s`` the same
on the host's clock, ``boot_to_init_s`` and ``boot_to_command_s`` the boot's own costs. Under TCG every
figure carries the "emulated" label.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run
from perflab.vm.boot import BootResult

if TYPE_CHECKING:
    from perflab.lab.vm_session import VmOptions

#: metrics every boot records besides ``wall`` (all in seconds, lower is better)
BOOT_METRICS = (
    MetricSpec("host_s", "", "s", higher_is_better=False),
    MetricSpec("boot_to_init_s", "", "s", higher_is_better=False),
    MetricSpec("boot_to_command_s", "", "s", higher_is_better=False),
)
BOOT_METRIC_NAMES = tuple(m.name for m in BOOT_METRICS)
METRIC_NOTES = {
    "wall": "the command's time on the guest's monotonic clock (printk stamps of kmsg marks)",
    "host_s": "the command's time on the host clock (arrival of the serial-console marks)",
    "boot_to_init_s": "kernel start to /init, guest clock (the kernel's 'Run /init' printk stamp)",
    "boot_to_command_s": "QEMU start to the guest ready to run the command, host clock",
}
CPU_TIME_NOTE = "CPU time is not measured inside the guest"
MEMORY_NOTE = "not measured inside the guest"


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def boot_to_run(result: BootResult, sequence: int, block: int, metrics: list[MetricSpec],
                variant: str = "") -> Run:
    """One boot → one Run: the median of its runs (guest clock as wall), boot metrics, custom metrics."""
    from perflab.bench.commands import extract_metric

    if result.status in ("timed-out", "interrupted") or not result.runs:
        return Run(sequence, 0, 0.0, 0.0, None, timed_out=True, block=block, variant=variant)
    guest_s = _median([r.guest_s for r in result.runs])
    values: dict[str, float] = {}
    for name, value in (("host_s", _median([r.host_s for r in result.runs])),
                        ("boot_to_init_s", result.boot_to_init_s),
                        ("boot_to_command_s", result.host_ready_s)):
        if value is not None:
            values[name] = value
    for spec in metrics:
        value = _median([extract_metric(spec, r.stdout) for r in result.runs])
        if value is not None:
            values[spec.name] = value
    failed = next((r.exit_code for r in result.runs if r.exit_code != 0), 0)
    return Run(sequence, int((guest_s or 0.0) * 1e9), 0.0, 0.0, failed, timed_out=guest_s is None,
               metrics=values, block=block, variant=variant)


def boot_record(index: int, kernel: int, block: int, result: BootResult) -> dict[str, Any]:
    """What one boot did, kept with the result (status, its reason, timings, exit codes, health lines)."""
    return {"boot": index, "kernel": kernel, "block": block, "status": result.status, "reason": result.reason,
            "boot_to_init_s": result.boot_to_init_s, "boot_to_command_s": result.host_ready_s,
            "host_total_s": result.host_total_s, "guest_s": [r.guest_s for r in result.runs],
            "host_s": [r.host_s for r in result.runs], "exit_codes": [r.exit_code for r in result.runs],
            "health": result.health, "clocksource": result.clocksource, "notes": list(result.notes)}


def labelled(name: str, result_label: str | None) -> str:
    """A command or variant name as shown, with the emulation label when there is one."""
    return f"{name} · emulated (TCG)" if result_label else name


def _status(result: BootResult) -> tuple[str, str | None]:
    if result.status == "ok":
        return "complete", None
    if result.status == "interrupted":
        return "interrupted", result.reason
    return "failed", f"{result.status}: {result.reason}"


def run_benchmark(result: BootResult, command: list[str], options: VmOptions) -> Benchmark:
    """The stored form of one `perflab vm run`: one command, one boot, one Run (no interval: one sample)."""
    from perflab.env.capture import capture_environment

    label = result.label
    cell = CommandResult(
        name=labelled(" ".join(command), label), command=" ".join(command), argv=list(command),
        parameters={"kernel": result.kernel, "release": result.release, "machine": result.machine},
        runs=[boot_to_run(result, 0, 0, [])], metrics=list(BOOT_METRICS), memory_note=MEMORY_NOTE,
        notes=[*([label] if label else []), *result.notes])
    status, message = _status(result)
    exit_codes = [r.exit_code for r in result.runs]
    return Benchmark(
        commands=[cell], created_at=datetime.now(UTC).isoformat(timespec="seconds"), kind="vm-run",
        status=status, message=message, order=[0], environment=capture_environment(),  # type: ignore[arg-type]
        settings={
            "vm": True, "kernel": result.kernel, "release": result.release, "machine": result.machine,
            "image": result.image, "accel": result.accel, "accel_reason": result.accel_reason, "label": label,
            "boot_status": result.status, "reason": result.reason,
            "exit_code": exit_codes[0] if exit_codes else None, "health": list(result.health),
            "health_scan": "clean" if not result.health else f"{len(result.health)} splat line(s)",
            "cpus": options.cpus, "mem_mb": options.mem_mb, "timeout_s": options.timeout_s,
            "append": options.append, "modules": list(options.modules), "metric_notes": METRIC_NOTES,
            "per_run_cpu_times": False, "boots": [boot_record(0, 0, 0, result)],
        })


def label_analysis(analysis: dict[str, Any], bench: Benchmark) -> dict[str, Any]:
    """The vm facts an analysis carries besides the emulation label ``analyze`` adds: no CPU times, the
    unit of replication, hung boots, kernel-log splats."""
    for command in analysis["commands"]:
        for key in ("user", "sys"):
            command[key] = {"mean": None, "note": CPU_TIME_NOTE}
    label = bench.settings.get("label")
    analysis["label"] = label
    analysis["unit_of_replication"] = "boot"
    timed_out = sum(1 for b in bench.settings.get("boots", []) if b["status"] == "timed-out")
    if timed_out:
        analysis["warnings"].insert(0, f"{timed_out} boot(s) hung and were killed by the watchdog "
                                       "(left out of the statistics)")
    coarse = [b["boot"] for b in bench.settings.get("boots", []) if "jiffies" in (b.get("clocksource") or "")]
    if coarse:
        analysis["warnings"].insert(0, f"{len(coarse)} boot(s) ran on a jiffies clock (4 ms ticks), e.g. "
                                       f"boot {coarse[0]}: their guest-clock times are coarse")
    splats = [(b["boot"], b["health"]) for b in bench.settings.get("boots", []) if b.get("health")]
    if splats:
        boot, lines = splats[0]
        analysis["warnings"].insert(0, f"kernel health scan: {len(splats)} boot(s) logged a splat; boot "
                                       f"{boot}: {lines[0].strip()}")
    for comparison in analysis.get("comparisons", []):
        comparison["label"] = label
    return analysis
