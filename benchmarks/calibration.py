#!/usr/bin/env python3
"""Benchmark 2: how often does `perflab bench A B` get the verdict right, and how long does it take?

A/A: the same work twice (`sleep 0.010` vs `sleep 0.0100`: distinct strings, identical processes). Any
`faster`/`slower` verdict is a false positive (target ≤ 5 %).
A/B: `sleep 0.010` vs a sleep calibrated at start-up to take 5 % longer in wall time (process start-up is
~2 ms of the ~12 ms, so the sleep argument alone would be diluted). Only `slower` counts as a detection
(target ≥ 90 %).

Beside each perflab call (default adaptive mode, no options) hyperfine runs the same pair in its
default mode (`-N`, at least 10 runs and 3 s per command) and is judged by a Welch t-test (scipy) on the
`times` of its JSON export: p < alpha with the candidate's mean higher = "slower", lower = "faster".
The two tools alternate which goes first. Rates carry Clopper–Pearson 95 % intervals.

Usage (each part ≈ 8–10 minutes with both tools):
    python benchmarks/calibration.py --kind aa --n 50 --out aa.json
    python benchmarks/calibration.py --kind ab --n 50 --out ab.json
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
from scipy import stats as sps

from perflab.stats import bootstrap_ci, compare

BASE = "0.010"


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def _find_verdicts(obj: Any) -> list[str]:
    """Every value under a "verdict" key anywhere in perflab's --json output."""
    found: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "verdict" and isinstance(v, str):
                found.append(v)
            else:
                found.extend(_find_verdicts(v))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(_find_verdicts(v))
    return found


def _export_times(path: Path) -> tuple[list[float], list[float]]:
    res = json.loads(path.read_text())["results"]
    return [float(t) for t in res[0]["times"]], [float(t) for t in res[1]["times"]]


def calibrate_b(hyperfine: str, shift: float, env: dict[str, str], tmp: Path) -> tuple[str, float]:
    """Sleep argument whose wall time is (1 + shift) × that of `sleep BASE`, measured by hyperfine."""
    export = tmp / "calib.json"
    argv = [hyperfine, "-N", "--warmup", "3", "--runs", "100", "--style", "none",
            "--export-json", str(export), f"sleep {BASE}"]  # fmt: skip
    _, proc = _run(argv, env)
    if proc.returncode != 0:
        sys.exit(f"hyperfine failed: {proc.stderr.strip()}")
    median = float(np.median(json.loads(export.read_text())["results"][0]["times"]))
    return f"{float(BASE) + shift * median:.5f}", median


def run_perflab(perflab: str, a: str, b: str, env: dict[str, str], tmp: Path, extra: list[str]) -> dict:
    export = tmp / "perflab.json"
    export.unlink(missing_ok=True)
    argv = [perflab, "bench", "--quiet", "--json", "--export-json", str(export), *extra, a, b]
    wall, proc = _run(argv, env)
    if proc.returncode != 0:
        sys.exit(f"perflab failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    verdicts = _find_verdicts(json.loads(proc.stdout))
    ta, tb = _export_times(export)
    # perflab's own printed verdict is what counts; the recomputation only guards against a parsing slip.
    check = compare(ta, tb, seed=0).verdict
    return {"wall_s": wall, "verdict": verdicts[0] if verdicts else None, "verdicts_found": verdicts,
            "recomputed": check, "n": [len(ta), len(tb)],
            "ratio": float(np.median(tb) / np.median(ta))}  # fmt: skip


def run_hyperfine(hyperfine: str, a: str, b: str, alpha: float, env: dict[str, str], tmp: Path) -> dict:
    export = tmp / "hyperfine.json"
    export.unlink(missing_ok=True)
    argv = [hyperfine, "-N", "--style", "none", "--export-json", str(export), a, b]
    wall, proc = _run(argv, env)
    if proc.returncode != 0:
        sys.exit(f"hyperfine failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    ta, tb = _export_times(export)
    p = float(sps.ttest_ind(ta, tb, equal_var=False).pvalue)
    verdict = "no significant change" if p >= alpha else ("slower" if np.mean(tb) > np.mean(ta) else "faster")
    return {"wall_s": wall, "verdict": verdict, "p": p, "n": [len(ta), len(tb)],
            "ratio": float(np.mean(tb) / np.mean(ta))}  # fmt: skip


def rate(k: int, n: int) -> str:
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return f"{k}/{n} = {k / n:.1%} (95 % CI {ci.low:.1%}–{ci.high:.1%})"


def seconds(xs: list[float]) -> str:
    arr = np.array(xs)
    lo, hi = bootstrap_ci(arr, np.mean, n_boot=2000, seed=0)
    return f"total {arr.sum():.0f} s, per comparison mean {arr.mean():.2f} s (95 % CI {lo:.2f}–{hi:.2f})"


def report(kind: str, rows: list[dict], tools: list[str], b_sleep: str, base_median: float) -> list[str]:
    want = "slower" if kind == "ab" else None
    out = [f"{kind.upper()}: {len(rows)} comparisons, A = `sleep {BASE}` (median {base_median * 1e3:.2f} ms "
           f"by hyperfine), B = `sleep {b_sleep if kind == 'ab' else BASE + '0'}`"]  # fmt: skip
    for tool in tools:
        res = [r[tool] for r in rows]
        verdicts = [x["verdict"] for x in res]
        counts = {v: verdicts.count(v) for v in sorted(set(map(str, verdicts)))}
        if kind == "aa":
            k = sum(v in ("faster", "slower") for v in verdicts)
            label = "false-positive rate"
        else:
            k = sum(v == want for v in verdicts)
            label = "detection rate"
        ratios = np.array([x["ratio"] for x in res])
        ns = np.array([sum(x["n"]) for x in res])
        out.append(f"  {tool}: {label} {rate(k, len(res))}; verdicts {counts}")
        out.append(f"    time: {seconds([x['wall_s'] for x in res])}; runs per comparison median "
                   f"{int(np.median(ns))} (min {ns.min()}, max {ns.max()}); measured B/A ratio median "
                   f"{np.median(ratios):.4f}")  # fmt: skip
        if tool == "perflab":
            mismatch = sum(x["verdict"] != x["recomputed"] for x in res)
            out.append(
                f"    perflab's verdict vs perflab.stats.compare on its exported times: {mismatch} differ"
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="A/A false positives and A/B detection, perflab vs hyperfine")
    ap.add_argument("--kind", choices=["aa", "ab"], required=True)
    ap.add_argument("--n", type=int, default=50, help="comparisons (default 50)")
    ap.add_argument("--shift", type=float, default=0.05, help="A/B difference in wall time (default 0.05)")
    ap.add_argument("--alpha", type=float, default=0.05, help="Welch t-test level for hyperfine")
    ap.add_argument("--tools", default="perflab,hyperfine", help="comma list (default perflab,hyperfine)")
    ap.add_argument("--perflab-arg", action="append", default=[], help="extra option for perflab bench")
    ap.add_argument("--perflab", default=shutil.which("perflab"))
    ap.add_argument("--hyperfine", default=shutil.which("hyperfine"))
    ap.add_argument("--out", type=Path, help="write raw results as JSON here")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    if not args.hyperfine or ("perflab" in tools and not args.perflab):
        sys.exit("need `perflab` and `hyperfine` on PATH (apt-get install hyperfine)")

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="perflab-calib-") as d:
        tmp = Path(d)
        env = dict(os.environ, PERFLAB_DB=f"sqlite:///{tmp / 'perflab.db'}", NO_COLOR="1")
        b_sleep, base_median = calibrate_b(args.hyperfine, args.shift, env, tmp)
        a_cmd = f"sleep {BASE}"
        b_cmd = f"sleep {b_sleep}" if args.kind == "ab" else f"sleep {BASE}0"
        print(f"A = {a_cmd!r}, B = {b_cmd!r} (A median {base_median * 1e3:.3f} ms)", flush=True)
        rows = []
        for i in range(args.n):
            row: dict[str, Any] = {}
            for tool in tools if i % 2 == 0 else tools[::-1]:
                if tool == "perflab":
                    row[tool] = run_perflab(args.perflab, a_cmd, b_cmd, env, tmp, args.perflab_arg)
                else:
                    row[tool] = run_hyperfine(args.hyperfine, a_cmd, b_cmd, args.alpha, env, tmp)
            row["loadavg_1min"] = os.getloadavg()[0]
            rows.append(row)
            done = [
                f"{t} {row[t]['verdict']} ({row[t]['wall_s']:.1f} s, ratio {row[t]['ratio']:.4f})"
                for t in tools
            ]
            print(f"{i + 1}/{args.n}: " + "; ".join(done), flush=True)
    lines = report(args.kind, rows, tools, b_sleep, base_median)
    loads = [r["loadavg_1min"] for r in rows]
    lines.append(
        f"benchmark wall time {time.perf_counter() - t_start:.0f} s; 1-min load average during the "
        f"run: median {np.median(loads):.2f}, max {max(loads):.2f} ({os.cpu_count()} CPUs)"
    )
    print("\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps({"kind": args.kind, "a": a_cmd, "b": b_cmd, "rows": rows,
                                        "summary": lines}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
