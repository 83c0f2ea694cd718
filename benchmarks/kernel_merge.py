#!/usr/bin/env python3
"""Benchmark: `perflab kernel merge` speed (issue 4).

Part 1 (target < 100 ms): parse + merge + atomic write of Debian's 6.12 config (10,955 lines) with the
hot-path fragment, textual merge (no --srctree), in this process, measured with ``timeit.repeat``
(number=1, REPEAT repetitions after one warm-up). Parse alone and dumps+write alone are reported too.

Part 2 (target ≤ 1.5 × make olddefconfig): the full CLI, ``python -m perflab kernel merge BASE FRAGMENT
-o OUT --srctree TREE`` (process start, imports, merge, the tree's own ``make olddefconfig``, kconfiglib
explanations, report) against ``make -s -C TREE O=DIR olddefconfig`` on BASE+FRAGMENT concatenated
(merge_config.sh's recipe), both as subprocesses from this process, interleaved and alternating which
goes first each round. Both are warm: the kconfig tools are built once before timing (perflab caches
them in its state dir; make keeps them in its O= dir), as on a developer's machine. Ratio of medians
with a bootstrap 95 % CI (perflab.stats.ratio_ci).

Usage (about 2 minutes on 2 vCPUs):
    python benchmarks/kernel_merge.py [--repeat 30] [--rounds 8] [--srctree /var/cache/perflab-ci/linux-6.12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

from perflab.kernel.config import KernelConfig, write_atomic
from perflab.kernel.merge import merge
from perflab.stats import median_ci, ratio_ci

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "kernel"
BASE = DATA / "config-6.12.117+deb12-amd64"
HOT = DATA / "hotpath.config"


def describe(label: str, seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000.0
    lo, hi = median_ci(ms)
    q1, q3 = np.percentile(ms, [25, 75])
    return (f"{label}: median {np.median(ms):.1f} ms (95% CI {lo:.1f}-{hi:.1f}), IQR {q1:.1f}-{q3:.1f}, "
            f"min {ms.min():.1f}, max {ms.max():.1f}, n={ms.size}")


def part1(repeat: int, workdir: Path) -> None:
    out = workdir / "out.config"

    def parse() -> None:
        KernelConfig.load(BASE)

    def merge_and_write() -> None:
        result = merge(BASE, [HOT])
        write_atomic(out, result.text)

    config = KernelConfig.load(BASE)

    def dump_and_write() -> None:
        write_atomic(out, config.dumps())

    print(f"Part 1: textual merge of {BASE.name} ({len(BASE.read_text().splitlines())} lines) + {HOT.name}")
    for label, func in (("parse", parse), ("dumps + atomic write", dump_and_write),
                        ("parse + merge + atomic write", merge_and_write)):
        func()  # warm-up
        times = timeit.repeat(func, number=1, repeat=repeat)
        print("  " + describe(label, times))


def _run(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                          check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr}")
    return seconds


def part2(rounds: int, srctree: Path, workdir: Path) -> None:
    state = workdir / "state"
    env = dict(os.environ, PERFLAB_STATE_DIR=str(state))
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    merge_argv = [sys.executable, "-m", "perflab", "kernel", "merge", str(BASE), str(HOT),
                  "-o", str(workdir / "merged.config"), "--srctree", str(srctree)]
    ref = workdir / "make-O"
    ref.mkdir()
    concatenated = BASE.read_text() + HOT.read_text()
    make_argv = ["make", "-s", "-C", str(srctree), f"O={ref}", "olddefconfig"]

    def run_make() -> float:
        (ref / ".config").write_text(concatenated)  # make rewrites it: same input every time
        return _run(make_argv)

    print(f"Part 2: --srctree merge vs make olddefconfig ({srctree}), {rounds} interleaved rounds")
    print(f"  perflab: {' '.join(merge_argv)}")
    print(f"  make:    {' '.join(make_argv)}  (O/.config = BASE + FRAGMENT)")
    cold_merge = _run(merge_argv, env)
    cold_make = run_make()
    print(f"  cold (kconfig tools built first): perflab {cold_merge:.2f} s, make {cold_make:.2f} s "
          "(single runs, no uncertainty)")
    merged, made = [], []
    for i in range(rounds):
        if i % 2 == 0:
            merged.append(_run(merge_argv, env))
            made.append(run_make())
        else:
            made.append(run_make())
            merged.append(_run(merge_argv, env))
    same = (workdir / "merged.config").read_text() == (ref / ".config").read_text()
    print("  " + describe("perflab kernel merge --srctree", merged))
    print("  " + describe("make olddefconfig", made))
    lo, hi = ratio_ci(made, merged, seed=1)
    ratio = statistics.median(merged) / statistics.median(made)
    print(f"  ratio of medians perflab/make: {ratio:.2f} (95% bootstrap CI {lo:.2f}-{hi:.2f}); target <= 1.5")
    print(f"  outputs identical: {same}")
    load = os.getloadavg()
    print(f"  load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=8)
    default_tree = os.environ.get("PERFLAB_TEST_SRCTREE", "/var/cache/perflab-ci/linux-6.12")
    parser.add_argument("--srctree", type=Path, default=Path(default_tree))
    parser.add_argument("--skip-srctree", action="store_true", help="Only part 1.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perflab-bench-kernel-") as tmp:
        part1(args.repeat, Path(tmp))
        if not args.skip_srctree:
            if not (args.srctree / "Kconfig").is_file():
                raise SystemExit(f"{args.srctree}: no kernel tree (run .ci/system-deps)")
            part2(args.rounds, args.srctree, Path(tmp))


if __name__ == "__main__":
    main()
