#!/usr/bin/env python3
"""Benchmark: `perflab report` on a store of 100k samples — wall time and page size (issue 11).

Builds a private store (seeded samples: RESULTS results × COMMANDS commands × RUNS runs, 1 % planted
outliers, analyses stored as `perflab bench` stores them), then in ROUNDS rounds alternately times
  report: `perflab report -o page.html` (the whole process: start-up, store read, plots, write)
  peer:   a Python process that opens the same store and reads every result (`Store.get`), the part
          no report can avoid,
and prints each one's median with a 95 % CI over the rounds, the ratio report / peer with its bootstrap
CI, the page size and how many points the page drew. Targets: < 3 s and < 5 MB.

Usage (about 2 minutes):  python benchmarks/report_render.py [--results 10 --commands 2 --runs 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from perflab.analysis.benchmark import analyze
from perflab.stats import median_ci, ratio_ci
from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, Run

READ_ALL = ("from perflab.store.db import Store\n"
            "with Store.open() as s:\n"
            "    [s.get(r.id) for r in s.list(limit=1 << 40)]\n")


def build_store(url: str, results: int, commands: int, runs: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = 0
    with Store.open(url) as store:
        for r in range(results):
            cmds = []
            for c in range(commands):
                values = 0.010 * (1 + 0.05 * c) * np.exp(rng.normal(0, 0.03, runs))
                planted = rng.choice(runs, size=max(1, runs // 100), replace=False)
                values[planted] *= 2.5
                cmds.append(CommandResult(
                    name=f"cmd-{c}", command=f"./workload --variant {c}", argv=["./workload", str(c)],
                    runs=[Run(sequence=i * commands + c, wall_ns=int(v * 1e9), user_s=v * 0.8, sys_s=v * 0.1,
                              exit_code=0, peak_rss_bytes=3_000_000) for i, v in enumerate(values)]))
                total += runs
            bench = Benchmark(commands=cmds, created_at=f"2026-11-{1 + r % 28:02d}T12:00:00+00:00",
                              environment={"hostname": "bench", "cores_logical": 2})
            bench.analysis = analyze(bench, seed=seed, n_boot=500)
            store.save(bench)
    return total


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + sys) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed: {proc.stderr.strip()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--results", type=int, default=10)
    ap.add_argument("--commands", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5000, help="runs per command (default 5000: 100k samples)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="write the raw timings as JSON")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db"
        t0 = time.perf_counter()
        samples = build_store(url, args.results, args.commands, args.runs, args.seed)
        print(f"store: {args.results} results × {args.commands} commands × {args.runs} runs = {samples} "
              f"samples (built in {time.perf_counter() - t0:.1f} s, not timed)")
        env = {**os.environ, "PERFLAB_DB": url}
        page = Path(tmp) / "page.html"
        report = [sys.executable, "-m", "perflab", "report", "-o", str(page)]
        peer = [sys.executable, "-c", READ_ALL]
        timed(report, env)  # warm the page cache and bytecode; not counted
        times: dict[str, list[float]] = {"report": [], "peer": [], "report_cpu": [], "peer_cpu": []}
        for k in range(args.rounds):
            order = ("report", "peer") if k % 2 == 0 else ("peer", "report")
            for name in order:
                wall, cpu = timed(report if name == "report" else peer, env)
                times[name].append(wall)
                times[f"{name}_cpu"].append(cpu)
        html = page.read_text()
    for name, label in (("report", "perflab report"), ("peer", "read every result (peer)")):
        for key, what in ((name, "wall"), (f"{name}_cpu", "CPU (user+sys)")):
            xs = times[key]
            lo, hi = median_ci(xs)
            print(f"{label}, {what}: median {np.median(xs):.3f} s, 95 % CI [{lo:.3f}, {hi:.3f}] over "
                  f"{len(xs)} rounds; runs: {', '.join(f'{x:.2f}' for x in xs)}")
    for key in ("", "_cpu"):
        a, b = times["peer" + key], times["report" + key]
        ratio = float(np.median(b) / np.median(a))
        rlo, rhi = ratio_ci(a, b, seed=args.seed)
        print(f"ratio report / peer{' (CPU)' if key else ' (wall)'}: {ratio:.2f}, 95 % bootstrap CI "
              f"[{rlo:.2f}, {rhi:.2f}]")
    thinned = len(re.findall(r"runs drawn as points", html))
    print(f"page: {len(html.encode()) / 1e6:.2f} MB, {html.count('<svg')} plots, {thinned} series thinned; "
          f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.out:
        args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "times": times,
                                        "page_bytes": len(html.encode())}, indent=2))


if __name__ == "__main__":
    main()
