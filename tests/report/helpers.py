"""Builders for report tests: real timed processes where timing matters, seeded samples where it does not."""

from __future__ import annotations

import os
import time

import numpy as np

from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run


def run_real(argv: list[str], sequence: int, block: int) -> Run:
    """Time one real child with the monotonic clock and its rusage from wait4."""
    start = time.monotonic_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic_ns() - start
    return Run(sequence=sequence, wall_ns=wall, user_s=usage.ru_utime, sys_s=usage.ru_stime,
               exit_code=os.waitstatus_to_exitcode(status), block=block)


def real_benchmark(commands: list[list[str]], runs: int) -> Benchmark:
    """Interleaved real runs (A B, B A, …) of each argv."""
    results = [CommandResult(name=" ".join(a), command=" ".join(a), argv=a) for a in commands]
    order: list[int] = []
    seq = 0
    for block in range(runs):
        idx = list(range(len(commands)))
        if block % 2:
            idx.reverse()
        for i in idx:
            results[i].runs.append(run_real(commands[i], seq, block))
            order.append(i)
            seq += 1
    return Benchmark(commands=results, created_at="2026-11-23T00:00:00+00:00", order=order)


def synthetic(name: str, median_s: float, n: int, *, cv: float = 0.01, seed: int = 0,
              metric: float | None = None) -> CommandResult:
    rng = np.random.default_rng(seed)
    values = median_s * np.exp(rng.normal(0, cv, n))
    runs = []
    for i, v in enumerate(values):
        metrics = {"ops": float(metric * 0.01 / v)} if metric is not None else {}  # throughput ∝ 1/time
        runs.append(Run(sequence=i, wall_ns=int(v * 1e9), user_s=0.001 + 1e-5 * i, sys_s=0.002,
                        exit_code=0, peak_rss_bytes=2_000_000 + 1000 * i, metrics=metrics))
    specs = [MetricSpec("ops", r"ops=([0-9.]+)", "ops/s", True)] if metric is not None else []
    return CommandResult(name=name, command=f"cmd-{name}", argv=[name], runs=runs, warmup_runs=1,
                         metrics=specs)
