#!/usr/bin/env python3
"""`perflab history` on a store holding 100,000 samples of one benchmark (target: < 0.2 s).

Builds a private SQLite store with RESULTS stored results × SAMPLES runs of one command (seeded lognormal
timings with a 10 % step halfway), then times `benchmark_history` (the library call behind `perflab
history`, given the store's URL as the command gives it: the SQLite read, the per-point summaries and the
change-point test) REPEAT times, and the whole `perflab history` process once per repeat, alternating with
a peer process, `python -c pass` (the interpreter's own start-up: the floor of any Python command).
Reports medians with bootstrap 95 % CIs, wall and CPU (user + sys of the child: less sensitive to other
load than wall), and the machine's load average.

Usage (about 1 minute):  python benchmarks/history_speed.py [--results 200] [--samples 500] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from perflab.lab.history import benchmark_history
from perflab.stats import bootstrap_ci
from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, Run


def fill(store: Store, results: int, samples: int) -> None:
    rng = np.random.default_rng(0)
    for k in range(results):
        base = 0.01 * (1.1 if k >= results // 2 else 1.0)
        runs = [
            Run(
                sequence=i,
                wall_ns=int(base * 1e9 * rng.lognormal(0, 0.03)),
                user_s=0.001,
                sys_s=0.001,
                exit_code=0,
            )
            for i in range(samples)
        ]
        store.save(
            Benchmark(
                commands=[CommandResult(name="work", command="work", argv=["work"], runs=runs)],
                created_at=f"2026-11-{1 + k // 100:02d}T{(k // 4) % 24:02d}:{k % 60:02d}:00+00:00",
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=200)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perflab-hist-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        store = Store.open(url)
        fill(store, args.results, args.samples)
        store.close()
        library, process, process_cpu, peer, peer_cpu = [], [], [], [], []
        loads = [os.getloadavg()[0]]
        for k in range(args.repeat):
            start = time.perf_counter()
            cells = benchmark_history(url, "work")
            library.append(time.perf_counter() - start)
            for side in ("history", "peer") if k % 2 == 0 else ("peer", "history"):
                argv = [sys.executable, "-m", "perflab", "history", "work", "--db", url]
                wall, cpu = timed(argv if side == "history" else [sys.executable, "-c", "pass"])
                (process if side == "history" else peer).append(wall)
                (process_cpu if side == "history" else peer_cpu).append(cpu)
            loads.append(os.getloadavg()[0])
    n = sum(len(p.values) for c in cells for p in c.points)
    steps = [s.index for c in cells for s in c.steps]
    print(
        f"{args.results} results × {args.samples} samples = {n} samples (1-min load "
        f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs); "
        f"steps found at {steps} (planted at {args.results // 2})"
    )
    rows = (
        ("benchmark_history(url)", library),
        ("history process, wall", process),
        ("history process, CPU", process_cpu),
        ("python -c pass, wall", peer),
        ("python -c pass, CPU", peer_cpu),
    )
    for label, values in rows:
        lo, hi = bootstrap_ci(values, np.median, n_boot=5000, seed=0)
        print(
            f"{label:24s}: median {np.median(values) * 1e3:.0f} ms  "
            f"95 % CI [{lo * 1e3:.0f}, {hi * 1e3:.0f}] ms "
            f"({args.repeat} repeats)"
        )
    ratio = np.array(process) / np.array(peer)  # paired: the two ran back to back
    lo, hi = bootstrap_ci(ratio, np.median, n_boot=5000, seed=0)
    print(f"history / python -c pass (wall, paired): {np.median(ratio):.2f}  95 % CI [{lo:.2f}, {hi:.2f}]")


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys) of one child process; exits on a failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()
