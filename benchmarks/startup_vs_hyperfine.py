#!/usr/bin/env python3
"""Benchmark: `perflab bench --runs 2 true true` as a whole process against hyperfine doing the same.

The issue-7 target: under 0.3 s of wall time for the whole perflab process (start-up, two commands × 2
runs + warm-up, the Mann–Whitney test and bootstrap CIs, the store write, exit). Both tools run
alternately (ABBA…) in the same session so the machine's drift hits both; each process is timed by wall
clock, and its CPU time (user + sys) and peak RSS come from wait4's rusage. CPU time is reported too
because on a shared, loaded machine wall time mostly measures waiting for a core.

Usage (about a minute):  python benchmarks/startup_vs_hyperfine.py [--rounds 30] [--out startup.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any

import numpy as np

from perflab.stats import median_ci, ratio_ci


def run_once(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one process."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1),
                                                                (os.POSIX_SPAWN_DUP2, null.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed: {' '.join(argv)}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def summary(values: list[float]) -> dict[str, Any]:
    lo, hi = median_ci(values)
    return {"median": float(np.median(values)), "ci": [lo, hi], "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", default=None, help="write the raw figures as JSON")
    args = parser.parse_args()
    for tool in ("perflab", "hyperfine"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH")
    with tempfile.TemporaryDirectory(prefix="perflab-startup-") as tmp:
        env = dict(os.environ, PERFLAB_DB=f"sqlite:///{tmp}/bench.db")
        tools = {
            "perflab": ["perflab", "bench", "--runs", "2", "-q", "true", "true"],
            "hyperfine": ["hyperfine", "-N", "--runs", "2", "--style", "none", "true", "true"],
        }
        for argv in tools.values():  # warm the page cache for both
            run_once(argv, env)
        raw: dict[str, list[dict[str, float]]] = {name: [] for name in tools}
        for round_ in range(args.rounds):
            order = list(tools) if round_ % 2 == 0 else list(reversed(tools))
            for name in order:
                raw[name].append(run_once(tools[name], env))
    load = os.getloadavg()
    result: dict[str, Any] = {"rounds": args.rounds, "loadavg": load, "cores": os.cpu_count(),
                              "commands": {k: " ".join(v) for k, v in tools.items()}}
    for name, runs in raw.items():
        result[name] = {key: summary([r[key] for r in runs]) for key in ("wall_s", "cpu_s", "peak_mib")}
    for key in ("wall_s", "cpu_s"):
        p = [r[key] for r in raw["perflab"]]
        h = [r[key] for r in raw["hyperfine"]]
        lo, hi = ratio_ci(h, p, np.median, n_boot=2000, seed=1)
        result[f"ratio_{key}"] = {"median": float(np.median(p) / np.median(h)), "ci": [lo, hi]}
    print(f"{args.rounds} alternating rounds, load {load[0]:.2f} on {os.cpu_count()} cores")
    for name in tools:
        r = result[name]
        print(f"{name:9}: wall {r['wall_s']['median'] * 1e3:7.1f} ms [{r['wall_s']['ci'][0] * 1e3:.1f}, "
              f"{r['wall_s']['ci'][1] * 1e3:.1f}]  cpu {r['cpu_s']['median'] * 1e3:6.1f} ms "
              f"[{r['cpu_s']['ci'][0] * 1e3:.1f}, {r['cpu_s']['ci'][1] * 1e3:.1f}]  "
              f"peak {r['peak_mib']['median']:.0f} MiB")
    for key in ("wall_s", "cpu_s"):
        ratio = result[f"ratio_{key}"]
        print(f"perflab / hyperfine ({key[:-2]}): {ratio['median']:.1f}× [{ratio['ci'][0]:.1f}, "
              f"{ratio['ci'][1]:.1f}] (95 % CI)")
    if args.out:
        with open(args.out, "w") as out:
            json.dump({"result": result, "raw": raw}, out, indent=1)


if __name__ == "__main__":
    main()
