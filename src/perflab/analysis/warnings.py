"""Noise warnings printed next to a result: reasons a reader should trust a figure less.

Each warning names the measured value and the threshold it crossed, so it can be checked and argued
with. Environment warnings (load, governor, turbo, VM) are the same for every command of a benchmark;
``analyze`` prints them once, ``noise_warnings`` returns both kinds for one command.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perflab.analysis.samples import valid_runs
from perflab.stats.summary import Summary
from perflab.store.model import CommandResult

CV_LIMIT = 0.10
LOAD_PER_CORE_LIMIT = 0.5
MIN_RUNS_FOR_VERDICT = 5  # perflab.stats.compare's default min_runs
FIRST_RUN_RATIO = 1.5
FIRST_RUN_Z = 3.5


def environment_warnings(environment: dict[str, Any]) -> list[str]:
    """Warnings about the machine the benchmark ran on (empty when nothing was captured)."""
    out: list[str] = []
    if not environment:
        return out
    if environment.get("emulation"):
        out.append(f"{environment['emulation']}: measured inside an emulated guest (perflab vm)")
    load = environment.get("loadavg")
    cores = environment.get("cores_logical") or 0
    if load and cores and load[0] / cores > LOAD_PER_CORE_LIMIT:
        out.append(
            f"system load {load[0]:.2f} on {cores} cores ({load[0] / cores:.2f} per core > "
            f"{LOAD_PER_CORE_LIMIT}): other work competes for the CPU"
        )
    governor = environment.get("governor")
    controllable = isinstance(governor, str) and governor and not governor.startswith("none")
    if controllable and governor != "performance":
        out.append(f"cpufreq governor is {governor!r}, not 'performance': clock speed varies between runs")
    if environment.get("turbo") == "on":
        out.append("turbo/boost is on: clock speed depends on temperature and other cores' load")
    vm = environment.get("vm")
    if isinstance(vm, dict) and vm.get("detected"):
        out.append(
            f"running in a virtual machine ({vm.get('kind') or 'unknown'}): timings include hypervisor "
            "noise (steal time, shared caches) and cpufreq cannot be controlled"
        )
    return out


def _first_run_slow(command: CommandResult) -> str | None:
    """Warn when the first measured run is far slower than the rest (cold caches, warm-up too short)."""
    runs = sorted(valid_runs(command), key=lambda r: r.sequence)
    if len(runs) < 3:
        return None
    first = runs[0].wall_s
    rest = np.array([r.wall_s for r in runs[1:]])
    med = float(np.median(rest))
    if med <= 0:
        return None
    mad = float(np.median(np.abs(rest - med)))
    z = 0.6745 * (first - med) / mad if mad > 0 else (np.inf if first > med else 0.0)
    ratio = first / med
    if ratio > FIRST_RUN_RATIO or (z > FIRST_RUN_Z and ratio > 1.1):
        if command.warmup_runs:
            return (f"the first measured run took {ratio:.2f}× the median of the rest even after "
                    f"{command.warmup_runs} warm-up run(s): something was still settling (caches, clock "
                    "speed, other processes); more --warmup runs may help")
        return (f"the first run took {ratio:.2f}× the median of the rest and no warm-up ran: caches or the "
                "page cache were cold; use --warmup N")
    return None


def above(value: float, limit: float, unit: str = " %") -> str:
    """``value > limit`` written with as many decimals as it takes to be visibly above (never
    "10.0 % > 10 %")."""
    for decimals in range(1, 6):
        text = f"{value:.{decimals}f}"
        if float(text) > limit:
            return f"{text}{unit} > {limit:g}{unit}"
    return f"{value:g}{unit} > {limit:g}{unit}"


def command_warnings(command: CommandResult, summary: Summary | None) -> list[str]:
    """Warnings about one command's samples."""
    out: list[str] = []
    if summary is None or summary.n == 0:
        return ["no completed run: nothing to summarise or compare"]
    n = summary.n
    if n < MIN_RUNS_FOR_VERDICT:
        out.append(f"only {n} run(s): at least {MIN_RUNS_FOR_VERDICT} are needed for a verdict")
    if np.isfinite(summary.cv) and summary.cv > CV_LIMIT:
        out.append(f"high variability: CV {above(summary.cv * 100, CV_LIMIT * 100)}")
    if summary.outliers.count:
        o = summary.outliers
        out.append(
            f"{o.count} of {n} runs are outliers by at least one rule (the rules overlap: modified z > 3.5 "
            f"flags {len(o.modified_z)}; Tukey's fences flag {len(o.tukey_mild)} beyond 1.5·IQR only and "
            f"{len(o.tukey_severe)} beyond 3·IQR); kept in every statistic"
        )
    first = _first_run_slow(command)
    if first:
        out.append(first)
    left = sum(getattr(r, "left_running", 0) for r in command.runs)
    if left:
        out.append(f"left {left} processes running after its runs (background children or daemons): "
                   f"killed when each run ended; --keep-children keeps them")
    return out


def noise_warnings(
    command_result: CommandResult, summary: Summary | None, environment: dict[str, Any]
) -> list[str]:
    """Every warning that applies to one command's result: its samples first, then the machine."""
    return command_warnings(command_result, summary) + environment_warnings(environment)
