"""Measuring one engine inside one process: build, inserts, query passes, memory, disk.

The timed query loop here is the harness's; benchmarks/anns_overhead.py compares it with each engine's own
tight loop in the same process. Figures are per process; the session replicates processes for the CIs.
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import QueryCall, search_call

WARMUP_QUERIES = 50
SINGLE_INSERT_FRACTION = 0.01
SINGLE_INSERT_MAX = 2000


@dataclass
class QueryPass:
    ids: np.ndarray  # (nq, k), -1 where an engine returned fewer than k
    latencies_ns: np.ndarray  # per query, single-threaded pass
    wall_ns: int
    cpu_ns: int  # this thread's CPU time over the loop (the overhead benchmark's preemption-free clock)


@dataclass
class SettingResult:
    value: Any
    recall: float
    qps: dict[int, float]  # threads → queries per second
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class EngineMeasurement:
    build_s: float
    n_batch: int
    insert_batch_per_s: float
    n_single: int
    insert_single_per_s: float | None  # None: the engine cannot add after build
    index_peak_rss_bytes: int | None
    disk_bytes: int | None
    settings: list[SettingResult] = field(default_factory=list)


def read_status_kib(pid: int | str, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmHWM, VmRSS), in KiB; None when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int | str) -> bool:
    """Reset VmHWM to the current RSS (``5`` into clear_refs); False when the kernel refuses."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def query_call(engine: Any, queries: np.ndarray, k: int) -> QueryCall:
    """The engine's own QueryCall, or the generic one over ``search`` for plug-ins that have none."""
    make = getattr(engine, "query_call", None)
    return make(queries, k) if make is not None else search_call(engine.search, queries, k)


def timed_queries(qc: QueryCall) -> QueryPass:
    """The harness loop: one query at a time, one clock read after each, answers kept for recall.

    Its cost is part of every figure, so it is lean: result and timestamp lists preallocated, query rows
    prepared before the clock starts, one ``perf_counter_ns`` per query (latency i is the time between
    the ends of queries i-1 and i), the garbage collector paused (the kept answers would trigger it),
    and converting answers to ids after the clock stops (benchmarks/anns_overhead.py checks the ratio).
    """
    inputs, call, clock = qc.inputs, qc.call, time.perf_counter_ns
    n = len(inputs)
    raws: list[Any] = [None] * n
    stamps = [0] * (n + 1)
    i = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        cpu0 = time.thread_time_ns()
        stamps[0] = clock()
        for q in inputs:
            raws[i] = call(q)
            i += 1
            stamps[i] = clock()
        cpu = time.thread_time_ns() - cpu0
    finally:
        if gc_was_enabled:
            gc.enable()
    marks = np.asarray(stamps, dtype=np.int64)
    ids = np.asarray(qc.to_ids(raws), dtype=np.int64)
    return QueryPass(ids, np.diff(marks), int(marks[-1] - marks[0]), cpu)


def threaded_qps(qc: QueryCall, threads: int) -> float:
    """Queries per second with ``threads`` Python threads, each looping over its share of the queries.

    Engines that release the GIL in search scale; those that do not (annoy) show it here."""
    chunks = [qc.inputs[c[0]:c[-1] + 1] for c in np.array_split(np.arange(len(qc.inputs)), threads) if len(c)]
    barrier = threading.Barrier(len(chunks) + 1)
    call = qc.call

    def work(rows: Sequence[Any]) -> None:
        barrier.wait()
        for q in rows:
            call(q)

    pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter_ns()
    for t in pool:
        t.join()
    return len(qc.inputs) / ((time.perf_counter_ns() - start) / 1e9)


def _build(engine: Any, train: np.ndarray, memory_pid: int) -> tuple[float, int, int, float | None]:
    n = len(train)
    n_single = min(SINGLE_INSERT_MAX, max(1, int(n * SINGLE_INSERT_FRACTION))) if engine.supports_add else 0
    n_batch = n - n_single
    t0 = time.perf_counter()
    engine.build(train[:n_batch], n)
    build_s = time.perf_counter() - t0
    single = None
    if n_single:
        t0 = time.perf_counter()
        for i in range(n_batch, n):
            engine.add(train[i], i)
        single = n_single / (time.perf_counter() - t0)
    return build_s, n_batch, n_single, single


def measure_engine(engine: Any, train: np.ndarray, test: np.ndarray, k: int, threads: list[int],
                   score: Callable[[np.ndarray], float], progress: Callable[[str], None] = lambda s: None,
                   before_queries: Callable[[], None] = lambda: None) -> EngineMeasurement:
    """Build (batch, then the last 1 % one by one), save, then a query pass per search setting.

    ``before_queries`` runs between the two (the worker re-pins itself to the query CPUs there)."""
    memory_pid = getattr(engine, "memory_pid", os.getpid())
    have_reset = reset_peak_rss(memory_pid)
    baseline = read_status_kib(memory_pid, "VmRSS" if have_reset else "VmHWM")
    build_s, n_batch, n_single, single = _build(engine, train, memory_pid)
    peak = read_status_kib(memory_pid, "VmHWM")
    index_peak = None if baseline is None or peak is None else max(0, peak - baseline) * 1024
    progress(f"built in {build_s:.1f} s")
    with tempfile.TemporaryDirectory(prefix="perflab-anns-index-") as tmp:
        disk = engine.save(Path(tmp) / "index")
    out = EngineMeasurement(build_s, n_batch, n_batch / build_s if build_s > 0 else float("inf"),
                            n_single, single, index_peak, disk)
    before_queries()
    for value in engine.sweep():
        engine.set_search_param(value)
        timed_queries(query_call(engine, test[:WARMUP_QUERIES], k))
        qc = query_call(engine, test, k)
        qpass = timed_queries(qc)
        qps = {1: len(test) / (qpass.wall_ns / 1e9)}
        for t in threads:
            if t > 1:
                qps[t] = threaded_qps(qc, t)
        p50, p95, p99 = np.percentile(qpass.latencies_ns, [50, 95, 99]) / 1e6
        out.settings.append(SettingResult(value, score(qpass.ids), qps, float(p50), float(p95), float(p99)))
        progress(f"{getattr(engine, 'search_param', None)}={value}: recall {out.settings[-1].recall:.3f}")
    return out
