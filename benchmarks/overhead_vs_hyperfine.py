#!/usr/bin/env python3
"""Benchmark 1: perflab's measurement overhead against hyperfine, and `perflab --help` start-up time.

Both tools time `true` RUNS times (1 warm-up each, no shell), alternating which tool goes first in every
round (ABBA...), so slow drift of the machine hits both equally. For each round we record the mean each
tool *reports* and the total wall time of the tool's process (what a user waits for, including
perflab's store write and start-up). Targets (issue 2): reported means within ±15 %, perflab's total wall
≤ 2 × hyperfine's + 0.5 s, `perflab --help` < 0.3 s.

Usage (about 1 minute):  python benchmarks/overhead_vs_hyperfine.py [--rounds 6] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from perflab.stats import bootstrap_ci, median_ci, ratio_ci


def _timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t0, proc


def _check(tool: str, proc: subprocess.CompletedProcess) -> None:
    if proc.returncode != 0:
        sys.exit(f"{tool} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _hyperfine_json(path: Path) -> tuple[float, list[float]]:
    res = json.loads(path.read_text())["results"][0]
    return float(res["mean"]), [float(t) for t in res["times"]]


def run_round(perflab: str, hyperfine: str, runs: int, first: str, tmp: Path, env: dict[str, str]) -> dict:
    out: dict[str, Any] = {"first": first}
    order = ["perflab", "hyperfine"] if first == "perflab" else ["hyperfine", "perflab"]
    for tool in order:
        export = tmp / f"{tool}.json"
        export.unlink(missing_ok=True)
        if tool == "hyperfine":
            argv = [hyperfine, "-N", "--runs", str(runs), "--warmup", "1", "--style", "none",
                    "--export-json", str(export), "true"]  # fmt: skip
        else:
            argv = [perflab, "bench", "--runs", str(runs), "--warmup", "1", "--quiet",
                    "--export-json", str(export), "--", "true"]  # fmt: skip
        wall, proc = _timed(argv, env)
        _check(tool, proc)
        mean, times = _hyperfine_json(export)
        out[tool] = {"wall_s": wall, "mean_s": mean, "times": times}
    return out


def help_times(perflab: str, n: int, env: dict[str, str]) -> list[float]:
    _timed([perflab, "--help"], env)  # page cache warm-up, not counted
    times = []
    for _ in range(n):
        wall, proc = _timed([perflab, "--help"], env)
        _check("perflab --help", proc)
        times.append(wall)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=6, help="alternations of the two tools (default 6)")
    ap.add_argument("--runs", type=int, default=200, help="runs of `true` per tool per round (default 200)")
    ap.add_argument("--help-runs", type=int, default=30, help="timed `perflab --help` calls (default 30)")
    ap.add_argument("--perflab", default=shutil.which("perflab"), help="perflab executable")
    ap.add_argument("--hyperfine", default=shutil.which("hyperfine"), help="hyperfine executable")
    ap.add_argument("--out", type=Path, help="write raw results as JSON here")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE from the environment (every perflab call then "
                         "recompiles its sources); by default bytecode is cached in a temporary "
                         "PYTHONPYCACHEPREFIX, as for a pip-installed perflab")  # fmt: skip
    args = ap.parse_args()
    if not args.perflab or not args.hyperfine:
        sys.exit("need both `perflab` and `hyperfine` on PATH (apt-get install hyperfine)")

    with tempfile.TemporaryDirectory(prefix="perflab-overhead-") as d:
        tmp = Path(d)
        env = dict(os.environ, PERFLAB_DB=f"sqlite:///{tmp / 'perflab.db'}", NO_COLOR="1")
        if not args.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
            _timed([args.perflab, "bench", "--runs", "3", "--quiet", "--", "true"], env)  # fill the cache
        rounds = []
        for r in range(args.rounds):
            first = "perflab" if r % 2 == 0 else "hyperfine"
            rounds.append(run_round(args.perflab, args.hyperfine, args.runs, first, tmp, env))
            pr, hr = rounds[-1]["perflab"], rounds[-1]["hyperfine"]
            print(f"round {r + 1}/{args.rounds} ({first} first): mean perflab {pr['mean_s'] * 1e3:.3f} ms, "
                  f"hyperfine {hr['mean_s'] * 1e3:.3f} ms; wall perflab {pr['wall_s']:.2f} s, "
                  f"hyperfine {hr['wall_s']:.2f} s", flush=True)  # fmt: skip
        helps = help_times(args.perflab, args.help_runs, env)

    mean_ratios = np.array([r["perflab"]["mean_s"] / r["hyperfine"]["mean_s"] for r in rounds])
    wall_p = np.array([r["perflab"]["wall_s"] for r in rounds])
    wall_h = np.array([r["hyperfine"]["wall_s"] for r in rounds])
    wall_ratios = wall_p / wall_h
    inside_p = np.array([sum(r["perflab"]["times"]) for r in rounds])
    inside_h = np.array([sum(r["hyperfine"]["times"]) for r in rounds])
    pooled_p = np.concatenate([r["perflab"]["times"] for r in rounds])
    pooled_h = np.concatenate([r["hyperfine"]["times"] for r in rounds])
    pooled_mean_ci = ratio_ci(pooled_h, pooled_p, np.mean, n_boot=2000, seed=1)
    pooled_median_ci = ratio_ci(pooled_h, pooled_p, np.median, n_boot=2000, seed=2)
    helps_a = np.array(helps)
    budget_ok = wall_p <= 2 * wall_h + 0.5

    def ci(x: np.ndarray, stat: Any = np.mean) -> str:
        lo, hi = bootstrap_ci(x, stat, n_boot=2000, seed=3)
        return f"[{lo:.3f}, {hi:.3f}]"

    lines = [
        f"bytecode cache: {'off (inherited PYTHONDONTWRITEBYTECODE)' if args.no_bytecode_cache else 'on'}; "
        f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"rounds: {args.rounds} × {args.runs} runs of `true` per tool (1 warm-up each), alternating order",
        f"reported mean, perflab / hyperfine, per round: {', '.join(f'{x:.3f}' for x in mean_ratios)}",
        f"  mean of round ratios {mean_ratios.mean():.3f}, 95 % bootstrap CI {ci(mean_ratios)}",
        f"  pooled runs: ratio of means {pooled_p.mean() / pooled_h.mean():.3f} "
        f"(95 % CI [{pooled_mean_ci[0]:.3f}, {pooled_mean_ci[1]:.3f}]), ratio of medians "
        f"{np.median(pooled_p) / np.median(pooled_h):.3f} "
        f"(95 % CI [{pooled_median_ci[0]:.3f}, {pooled_median_ci[1]:.3f}])",
        f"  perflab mean {pooled_p.mean() * 1e3:.3f} ms, hyperfine mean {pooled_h.mean() * 1e3:.3f} ms",
        f"  target ±15 %: {'met' if np.all(np.abs(mean_ratios - 1) <= 0.15) else 'MISSED'} "
        f"(worst round {mean_ratios[np.argmax(np.abs(mean_ratios - 1))]:.3f})",
        f"total wall per round: perflab {', '.join(f'{x:.2f}' for x in wall_p)} s; "
        f"hyperfine {', '.join(f'{x:.2f}' for x in wall_h)} s",
        f"  ratio perflab / hyperfine: mean {wall_ratios.mean():.2f}, 95 % bootstrap CI {ci(wall_ratios)}",
        f"  target perflab ≤ 2 × hyperfine + 0.5 s: met in {int(budget_ok.sum())}/{len(budget_ok)} rounds "
        f"(largest perflab − (2 × hyperfine + 0.5 s): {np.max(wall_p - 2 * wall_h - 0.5):+.2f} s)",
        f"  outside the timed runs (wall − sum of run times): perflab median "
        f"{np.median(wall_p - inside_p):.2f} s, "
        f"hyperfine median {np.median(wall_h - inside_h):.2f} s",
        f"`perflab --help`: median {np.median(helps_a) * 1e3:.0f} ms "
        f"(95 % CI {tuple(round(v * 1e3) for v in median_ci(helps_a))} ms), "
        f"min {helps_a.min() * 1e3:.0f} ms, max {helps_a.max() * 1e3:.0f} ms over {len(helps)} calls; "
        f"target < 300 ms: {'met' if np.median(helps_a) < 0.3 else 'MISSED'} "
        f"({int((helps_a < 0.3).sum())}/{len(helps)} calls under 300 ms)",
    ]
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps({"rounds": rounds, "help_s": helps, "summary": lines}, indent=1))


if __name__ == "__main__":
    main()
