#!/usr/bin/env python3
"""Benchmark: the anns harness's query loop against each engine's own tight loop, same process, alternated.

For each engine one index is built on the first N GloVe vectors (M=16, efConstruction=200) and searched
at each given ef (small ef = cheap queries = the harness's share largest, the unfavourable case). Then,
for R rounds, the same 1,000 queries go once through perflab's timed loop
(perflab.packs.anns.measure.timed_queries over the engine's QueryCall: the binding call through
functools.partial, the answer kept in a preallocated list, one perf_counter_ns per query, ids and recall
after the clock stops) and once through the engine's bare binding call in a plain ``for`` loop over the
same query rows, alternating which goes first (ABBA…). Reported: the per-round ratio QPS(harness) /
QPS(tight loop), median with a bootstrap 95 % CI, and the ratio of median QPS with its CI
(perflab.stats.ratio_ci), both on wall time (what the harness reports) and on this thread's CPU time
(time.thread_time_ns: immune to the preemption a shared, overloaded machine adds to either pass).
Target (issue 13): ratio ≥ 0.95 on wall time.

Usage (about 2 minutes per ef):  python benchmarks/anns_overhead.py [--n 20000] [--rounds 100]
                                     [--ef 10,32,128] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from perflab.packs.anns import datasets
from perflab.packs.anns.engines.base import Settings
from perflab.packs.anns.measure import query_call, timed_queries
from perflab.packs.anns.plugin import make_engine
from perflab.stats import bootstrap_ci, ratio_ci

K = 10


def tight_loops(name: str, engine: Any) -> Callable[[list[np.ndarray]], None]:
    """The engine's own binding call, nothing else, in a plain loop over the query rows."""
    index = engine.index
    if name == "hnswlib":
        def loop(rows: list[np.ndarray]) -> None:
            for q in rows:
                index.knn_query(q, k=K, num_threads=1)
    elif name == "usearch":
        def loop(rows: list[np.ndarray]) -> None:
            for q in rows:
                index.search(q, K, threads=1)
    elif name == "faiss-hnsw":
        def loop(rows: list[np.ndarray]) -> None:  # rows are (1, dim) views, as faiss takes a matrix
            for q in rows:
                index.search(q, K)
    else:
        raise SystemExit(f"no tight loop for {name}")
    return loop


def build(name: str, data: datasets.Dataset) -> tuple[Any, float]:
    engine = make_engine(name, data.metric, data.dim, Settings(build_threads=len(os.sched_getaffinity(0))))
    t0 = time.perf_counter()
    engine.build(data.train, len(data.train))
    return engine, time.perf_counter() - t0


def measure(name: str, engine: Any, build_s: float, data: datasets.Dataset, ef: int,
            rounds: int) -> dict[str, Any]:
    engine.set_search_param(ef)
    tight = tight_loops(name, engine)
    qc = query_call(engine, data.test, K)  # prepared once, outside the clock, as measure_engine does
    rows = list(qc.inputs)  # the tight loop walks the very same row objects
    qs = data.test
    tight(rows[:100])
    timed_queries(query_call(engine, qs[:100], K))  # warm both paths
    qps: dict[str, list[float]] = {"harness": [], "tight": [], "harness_cpu": [], "tight_cpu": []}
    for r in range(rounds):
        order = ("harness", "tight") if r % 4 in (0, 3) else ("tight", "harness")  # ABBA
        for which in order:
            if which == "harness":
                p = timed_queries(qc)
                wall, cpu = p.wall_ns, p.cpu_ns  # the loop only, as the harness reports it
            else:
                cpu = time.thread_time_ns()
                t = time.perf_counter_ns()
                tight(rows)
                wall = time.perf_counter_ns() - t
                cpu = time.thread_time_ns() - cpu
            qps[which].append(len(qs) / (wall / 1e9))
            qps[f"{which}_cpu"].append(len(qs) / (cpu / 1e9))
    out: dict[str, Any] = {"engine": name, "ef": ef, "n": len(data.train), "queries": len(qs),
                           "rounds": rounds, "build_s": build_s, **qps}
    for clock in ("", "_cpu"):
        h, t = np.asarray(qps[f"harness{clock}"]), np.asarray(qps[f"tight{clock}"])
        out[f"per_round_ratio{clock}"] = float(np.median(h / t))
        out[f"per_round_ratio{clock}_ci"] = list(bootstrap_ci(h / t, np.median, seed=1))
        out[f"ratio_of_medians{clock}"] = float(np.median(h) / np.median(t))
        out[f"ratio_of_medians{clock}_ci"] = list(ratio_ci(t, h, seed=2))
        out[f"harness{clock}_qps_median"] = float(np.median(h))
        out[f"tight{clock}_qps_median"] = float(np.median(t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--ef", default="10,32,128", help="comma list of ef values, each on the same index")
    ap.add_argument("--engines", default="hnswlib,usearch,faiss-hnsw")
    ap.add_argument("--out")
    args = ap.parse_args()
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])  # one CPU: queries are single-threaded
    data = datasets.glove(limit=args.n, queries=1000, seed=0)
    print(f"load average at start: {os.getloadavg()}")
    results = []
    print(f"GloVe first {args.n} vectors, 1,000 queries, pinned to CPU {sorted(os.sched_getaffinity(0))}")
    for name in args.engines.split(","):
        engine, build_s = build(name, data)
        for ef in (int(v) for v in args.ef.split(",")):
            res = measure(name, engine, build_s, data, ef, args.rounds)
            results.append(res)
            report(res)
        engine.close()
    print(f"load average at end: {os.getloadavg()}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"load_average_end": os.getloadavg(), "results": results}, f, indent=1)


def report(res: dict[str, Any]) -> None:
    cost_us = 1e6 / res["tight_cpu_qps_median"]
    for clock, label in (("", "wall"), ("_cpu", "CPU")):
        lo, hi = res[f"per_round_ratio{clock}_ci"]
        rlo, rhi = res[f"ratio_of_medians{clock}_ci"]
        print(f"{res['engine']:11s} ef={res['ef']:<4d} ({cost_us:.0f} µs/query CPU) {label:4s}: "
              f"harness {res[f'harness{clock}_qps_median']:,.0f} q/s, "
              f"tight loop {res[f'tight{clock}_qps_median']:,.0f} q/s; per-round ratio "
              f"{res[f'per_round_ratio{clock}']:.3f} [{lo:.3f}, {hi:.3f}]; ratio of medians "
              f"{res[f'ratio_of_medians{clock}']:.3f} [{rlo:.3f}, {rhi:.3f}]")


if __name__ == "__main__":
    main()
