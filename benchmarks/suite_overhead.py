#!/usr/bin/env python3
"""Suite overhead: one `perflab suite run` of 20 benchmarks × 2 variants of `true` against the same runs
made by `perflab bench` one benchmark at a time (20 calls, each measuring the 2 variants interleaved).

Both sides make exactly the same measured runs (RUNS per cell, 1 warm-up, no shell) and store them in a
private temporary store. The two sides alternate which goes first in every round (ABBA…), so drift of
the machine hits both; the figure is the ratio of total wall time (suite / one-by-one), with a bootstrap
95 % CI over the rounds, plus each side's median wall time.

Usage (about 2 minutes):  python benchmarks/suite_overhead.py [--rounds 6] [--runs 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from perflab.stats import bootstrap_ci, ratio_ci

BENCHMARKS = 20


def suite_file(path: Path, runs: int) -> None:
    lines = [f"[suite]\nruns = {runs}\nwarmup = 1\nseed = 1\n"]
    for i in range(BENCHMARKS):
        lines.append(f'[[benchmark]]\nname = "true{i:02d}"\nargv = ["true"]\n')
    lines.append('[[variant]]\nname = "a"\nenv = { V = "a" }\n[[variant]]\nname = "b"\nenv = { V = "b" }\n')
    path.write_text("\n".join(lines))


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"{argv[:3]} failed: {proc.stderr.strip()[-1000:]}")
    return time.perf_counter() - start


def one_by_one(perflab: str, runs: int, env: dict[str, str], cwd: Path) -> float:
    total = 0.0
    for _ in range(BENCHMARKS):  # the same 2 interleaved variants, one call per benchmark
        total += timed(
            [
                perflab,
                "bench",
                "--runs",
                str(runs),
                "--warmup",
                "1",
                "--quiet",
                "--seed",
                "1",
                "-n",
                "a",
                "-n",
                "b",
                "env V=a true",
                "env V=b true",
            ],
            env,
            cwd,
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--perflab", default="perflab")
    parser.add_argument("--out")
    args = parser.parse_args()
    suite_t, bench_t = [], []
    with tempfile.TemporaryDirectory(prefix="perflab-bench-") as tmp:
        cwd = Path(tmp)
        suite_file(cwd / "perflab.toml", args.runs)
        env = {**os.environ, "PERFLAB_DB": f"sqlite:///{cwd / 'store.db'}"}
        for r in range(args.rounds):
            order = ["suite", "bench"] if r % 2 == 0 else ["bench", "suite"]
            for side in order:
                if side == "suite":
                    suite_t.append(timed([args.perflab, "suite", "run", "-q"], env, cwd))
                else:
                    bench_t.append(one_by_one(args.perflab, args.runs, env, cwd))
    ratio = float(np.median(suite_t) / np.median(bench_t))
    lo, hi = ratio_ci(bench_t, suite_t, confidence=0.95, n_boot=5000, seed=0)
    s_ci, b_ci = (bootstrap_ci(x, np.median, n_boot=5000, seed=0) for x in (suite_t, bench_t))
    load = os.getloadavg()[0]
    print(
        f"{BENCHMARKS} benchmarks × 2 variants of `true`, {args.runs} runs + 1 warm-up per cell, "
        f"{args.rounds} rounds (load {load:.1f})"
    )
    print(
        f"perflab suite run      : median {np.median(suite_t):.2f} s  95 % CI [{s_ci[0]:.2f}, {s_ci[1]:.2f}]"
    )
    print(
        f"perflab bench × {BENCHMARKS}     : median {np.median(bench_t):.2f} s  "
        f"95 % CI [{b_ci[0]:.2f}, {b_ci[1]:.2f}]"
    )
    print(f"ratio suite / one-by-one: {ratio:.3f}  95 % CI [{lo:.3f}, {hi:.3f}] (bootstrap over rounds)")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "suite_s": suite_t,
                    "bench_s": bench_t,
                    "runs": args.runs,
                    "load": load,
                    "ratio": ratio,
                    "ratio_ci": [lo, hi],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
