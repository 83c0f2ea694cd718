"""``perflab anns run``: replicate each engine in separate processes, interleaved, then analyse and store.

Rounds: in each of ``processes`` rounds every available engine runs once, in a freshly shuffled order
(seeded), each in its own worker process (perflab.packs.anns.worker) pinned to the same CPUs and killed
at ``timeout_s``. A failed or killed worker is recorded on its engine and that engine is not started
again; the others continue. The result is one Benchmark of kind ``anns``: one CommandResult per engine
(installed or not), one Run per worker process, and ``analysis["anns"]`` in the shape of docs/anns.md.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from perflab.errors import PerflabError
from perflab.packs.anns import analysis, datasets
from perflab.packs.anns.engines import DEFAULT_RUN
from perflab.packs.anns.engines.base import Settings
from perflab.packs.anns.groundtruth import ground_truth
from perflab.packs.anns.plugin import EXEC_PREFIX, describe
from perflab.packs.anns.worker import ENGINE_FAILED, save_prepared
from perflab.store.model import Benchmark, CommandResult, Run

MIN_PROCESSES = 5
KIND = "anns"
SCHEMA = 1  # of analysis["anns"], docs/anns.md
MEMORY_NOTE = ("index memory is the metric index_peak_rss_bytes (engine process VmHWM over its "
               "pre-build baseline)")
# One query runs on one thread: BLAS/OpenMP pools would otherwise spread a "single-threaded" query over
# every CPU (engines set their build threads explicitly from the settings).
ONE_THREAD_LIBS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FAILED_NOTE = "stopped after this failure; no further processes of this engine were started"


@dataclass
class AnnsRequest:
    dataset: str = "glove"
    engines: list[str] = field(default_factory=lambda: list(DEFAULT_RUN))
    k: int = 10
    threads: list[int] = field(default_factory=lambda: [1])
    processes: int = MIN_PROCESSES
    limit: int | None = None  # first N base vectors only
    queries: int | None = None
    seed: int = 0
    timeout_s: float = 900.0
    settings: Settings = field(default_factory=Settings)
    allow_few_processes: bool = False  # tests and quick looks; the result says so


def _check(req: AnnsRequest) -> None:
    if req.processes < MIN_PROCESSES and not req.allow_few_processes:
        raise PerflabError(f"--processes {req.processes}: at least {MIN_PROCESSES} separate processes are "
                           "needed for a CI of each figure")
    if req.processes < 1 or req.k < 1 or not req.threads or min(req.threads) < 1:
        raise PerflabError("--processes, --k and every --threads value must be at least 1")
    available = len(os.sched_getaffinity(0))
    if max(req.threads) > available:
        raise PerflabError(f"--threads {max(req.threads)}: only {available} CPUs are available here")
    if not req.engines:
        raise PerflabError("no engines given")


def _state_dir() -> Path:
    from perflab.fsutil import state_dir

    return state_dir() / "anns"


@dataclass
class _Worker:
    """One finished worker process."""

    run: Run
    result: dict[str, Any] | None
    failure: str | None


def _spawn(job: dict[str, Any], work: Path, index: int, timeout_s: float) -> _Worker:
    job_file, out_file = work / f"job-{index}.json", work / f"result-{index}.json"
    job_file.write_text(json.dumps(job))
    argv = [sys.executable, "-m", "perflab.packs.anns.worker", str(job_file), str(out_file)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, text=True, env={**os.environ, **ONE_THREAD_LIBS})
    timed_out = False
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and any engine process it started
        _, err = proc.communicate()
    wall = time.monotonic_ns() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = proc.returncode
    run = Run(sequence=index, wall_ns=wall, user_s=after.ru_utime - before.ru_utime,
              sys_s=after.ru_stime - before.ru_stime, exit_code=code if code >= 0 else None,
              signal=-code if code < 0 else None, timed_out=timed_out)
    result = json.loads(out_file.read_text()) if out_file.is_file() else None
    if timed_out:
        return _Worker(run, None, f"killed at its {timeout_s:g} s timeout")
    if code == 0 and result is not None:
        return _Worker(run, result, None)
    if code == ENGINE_FAILED and result is not None:
        return _Worker(run, None, result.get("error", "engine failed"))
    tail = (err or "").strip().splitlines()[-1:] or ["no message"]
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    return _Worker(run, None, f"worker died ({how}): {tail[0][:300]}")


def _prepare(req: AnnsRequest, work: Path) -> dict[str, Any]:
    data = datasets.resolve(req.dataset, limit=req.limit, queries=req.queries, seed=req.seed)
    truth = ground_truth(data, req.k, _state_dir() / "groundtruth")
    save_prepared(work / "data", data, truth)
    return {"name": data.name, "source": data.source, "metric": data.metric, "n": len(data.train),
            "queries": len(data.test), "dim": data.dim, "digest": data.digest(),
            "ground_truth": "cached" if truth.cached else "computed (exact, numpy, blocked)",
            "file_neighbors_agreement": truth.file_agreement}


@dataclass
class _Tally:
    """What the rounds produced, per engine spec."""

    runs: dict[str, list[Run]]
    results: dict[str, list[dict[str, Any]]]
    notes: dict[str, list[str]]
    order: list[int] = field(default_factory=list)


def _rounds(req: AnnsRequest, specs: list[str], runnable: list[str], job: dict[str, Any], work: Path,
            progress: Callable[[str], None]) -> _Tally:
    """``processes`` rounds; each runs every runnable engine once in a fresh seeded random order."""
    rng = np.random.default_rng(req.seed)
    tally = _Tally({s: [] for s in specs}, {s: [] for s in specs}, {s: [] for s in specs})
    for round_ in range(req.processes):
        for spec in [runnable[i] for i in rng.permutation(len(runnable))]:
            if any(not r.ok for r in tally.runs[spec]):
                continue
            progress(f"process {round_ + 1}/{req.processes}: {spec}")
            done = _spawn({**job, "engine": spec}, work, len(tally.order), req.timeout_s)
            done.run.block = round_
            tally.runs[spec].append(done.run)
            tally.order.append(specs.index(spec))
            if done.failure:
                tally.notes[spec].append(f"process {round_ + 1}: {done.failure}; {FAILED_NOTE}")
                progress(f"{spec} failed: {done.failure}")
            else:
                assert done.result is not None
                done.run.metrics = analysis.flatten(done.result, req.threads)
                tally.results[spec].append(done.result)
    return tally


def _engine_entry(spec: str, info: Any, tally: _Tally, threads: list[int]) -> tuple[CommandResult, dict]:
    """The stored command (one Run per process) and the analysis entry of one engine."""
    results, runs = tally.results[spec], tally.runs[spec]
    first = results[0] if results else {}
    params = {"run_mode": first.get("run_mode") or info.run_mode or "unknown",
              "version": first.get("version") or info.version or "not installed",
              "algorithm": first.get("algorithm") or info.algorithm,
              "search_param": first.get("search_param"), "build_parameters": first.get("parameters", {})}
    notes = ([] if info.installed else [f"not installed: {info.reason}"]) + tally.notes[spec]
    command = CommandResult(
        name=first.get("engine", info.name), command=spec,
        argv=[] if spec.startswith(EXEC_PREFIX) else [spec],
        parameters={k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()},
        runs=runs, notes=notes, memory_note=MEMORY_NOTE)
    entry: dict[str, Any] = {"spec": spec, **params, "installed": info.installed,
                             "processes_ok": len(results), "notes": notes,
                             "processes_failed": sum(1 for r in runs if not r.ok)}
    if results:
        sweep = [s["value"] for s in first["measurement"]["settings"]]
        entry.update(analysis.summarize_engine([r.metrics for r in runs if r.ok], sweep,
                                               first.get("search_param"), threads))
    return command, entry


def run_anns(req: AnnsRequest, progress: Callable[[str], None] = lambda s: None) -> Benchmark:
    """Run the whole comparison and return it (unsaved; the caller stores it)."""
    _check(req)
    infos = {spec: describe(spec) for spec in dict.fromkeys(req.engines)}
    specs = list(infos)
    runnable = [s for s, i in infos.items() if i.installed]
    build_cpus = sorted(os.sched_getaffinity(0))  # builds use every CPU this run may use
    cpus = build_cpus[:max(req.threads)]  # query passes: pinned to as many CPUs as query threads
    settings = Settings.from_dict({**req.settings.to_dict(),
                                   "build_threads": req.settings.build_threads or len(build_cpus)})
    with tempfile.TemporaryDirectory(prefix="perflab-anns-") as tmp:
        work = Path(tmp)
        progress(f"preparing dataset {req.dataset} and exact ground truth")
        data_meta = _prepare(req, work)
        job = {"data": str(work / "data"), "k": req.k, "threads": req.threads, "cpus": cpus,
               "build_cpus": build_cpus, "settings": settings.to_dict()}
        tally = _rounds(req, specs, runnable, job, work, progress)
    commands, summary = [], {}
    for spec in specs:
        command, entry = _engine_entry(spec, infos[spec], tally, req.threads)
        commands.append(command)
        summary[command.name] = entry
    settings_out = {"dataset": data_meta, "k": req.k, "threads": req.threads, "cpus": cpus,
                    "build_cpus": build_cpus,
                    "processes": req.processes, "seed": req.seed, "timeout_s": req.timeout_s,
                    "engine_settings": settings.to_dict(), "engines": specs}
    failed = [s for s in runnable if not tally.results[s]]
    return Benchmark(
        commands=commands, created_at=datetime.now(UTC).isoformat(timespec="seconds"), kind=KIND,
        status="failed" if runnable and len(failed) == len(runnable) else "complete", order=tally.order,
        settings=settings_out, message=("engines that failed: " + ", ".join(failed)) if failed else None,
        analysis={"anns": {"schema": SCHEMA, **settings_out, "recall_targets": list(analysis.RECALL_TARGETS),
                           "engines": summary}})


def run_and_save(req: AnnsRequest, db_url: str | None,
                 progress: Callable[[str], None] = lambda s: None) -> Benchmark:
    """Run, capture the environment, store; the use case the CLI calls."""
    from perflab.env.capture import capture_environment
    from perflab.store.db import Store

    bench = run_anns(req, progress)
    bench.environment = capture_environment()
    with Store.open(db_url) as store:
        store.save(bench)
    return bench


def _latest_with(store: Any, engine: str) -> Benchmark:
    for listing in store.list(limit=500):
        if listing.kind == KIND and engine in listing.commands:
            return store.get(listing.id)
    raise PerflabError(f"no stored vector-search result has an engine named {engine!r} (see perflab results)")


def engine_runs(store: Any, ref: str) -> tuple[str, str, list[dict[str, float]]]:
    """``ENGINE`` (newest result with it), ``ID:ENGINE`` or ``BASELINE:ENGINE`` → (label, mode, runs)."""
    where, _, engine = ref.rpartition(":")
    bench = store.resolve(where) if where else _latest_with(store, engine)
    if bench.kind != KIND:
        raise PerflabError(f"{ref}: result #{bench.id} is a {bench.kind} result, not a vector-search one")
    for cmd in bench.commands:
        if cmd.name == engine:
            ok = [r.metrics for r in cmd.runs if r.ok]
            if not ok:
                raise PerflabError(f"{ref}: engine {engine} has no successful process in #{bench.id}")
            return f"{engine} (#{bench.id})", cmd.parameters.get("run_mode", "?"), ok
    names = ", ".join(c.name for c in bench.commands)
    raise PerflabError(f"{ref}: result #{bench.id} has no engine {engine!r} (it has {names})")


def compare_refs(a: str, b: str, db_url: str | None) -> dict[str, Any]:
    """The ``perflab anns compare A B`` use case: every shared metric with its factor, CI and verdict."""
    from perflab.store.db import Store

    with Store.open(db_url) as store:
        label_a, mode_a, runs_a = engine_runs(store, a)
        label_b, mode_b, runs_b = engine_runs(store, b)
    return {"a": label_a, "b": label_b, "run_mode_a": mode_a, "run_mode_b": mode_b,
            "rows": analysis.compare_engines(runs_a, runs_b)}
