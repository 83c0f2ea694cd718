#!/usr/bin/env python3
"""`perflab history` on a store holding 100,000 samples of one benchmark (target: < 0.2 s).

Builds a private SQLite store with RESULTS stored results × SAMPLES runs of one command (seeded lognormal
timings with a 10 % step halfway), then times `benchmark_history` (the library call behind `perflab
history`: the store query, the per-point summaries and the change-point test) REPEAT times, and also the
whole `perflab history` process once per repeat. Reports medians with bootstrap 95 % CIs.

Usage (about 1 minute):  python benchmarks/history_speed.py [--results 200] [--samples 500] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
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
        library, process = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            cells = benchmark_history(store, "work")
            library.append(time.perf_counter() - start)
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "perflab", "history", "work", "--db", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            )
            process.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(proc.stderr)
    n = sum(len(p.values) for c in cells for p in c.points)
    steps = [s.index for c in cells for s in c.steps]
    print(
        f"{args.results} results × {args.samples} samples = {n} samples (load {os.getloadavg()[0]:.1f}); "
        f"steps found at {steps} (planted at {args.results // 2})"
    )
    for label, values in (("benchmark_history()", library), ("perflab history process", process)):
        lo, hi = bootstrap_ci(values, np.median, n_boot=5000, seed=0)
        print(
            f"{label:24s}: median {np.median(values) * 1e3:.0f} ms  "
            f"95 % CI [{lo * 1e3:.0f}, {hi * 1e3:.0f}] ms "
            f"({args.repeat} repeats)"
        )


if __name__ == "__main__":
    main()
