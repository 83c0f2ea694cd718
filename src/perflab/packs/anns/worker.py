"""One replicate: ``python -m perflab.packs.anns.worker JOB.json RESULT.json`` measures one engine.

The session prepares the data directory (train.npy, test.npy, truth.npz, meta.json) once and starts one
worker per replicate, so every figure's unit of replication is a fresh process. The worker pins itself
to the job's CPUs, writes its result as JSON, and exits 0; on an engine error it writes the reason and
exits 3. Killing it at a timeout is the session's job.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.datasets import Dataset
from perflab.packs.anns.engines.base import Settings
from perflab.packs.anns.groundtruth import GroundTruth, recall
from perflab.packs.anns.measure import measure_engine
from perflab.packs.anns.plugin import make_engine

ENGINE_FAILED = 3


def load_prepared(data_dir: Path) -> tuple[Dataset, GroundTruth]:
    meta = json.loads((data_dir / "meta.json").read_text())
    train = np.load(data_dir / "train.npy")
    test = np.load(data_dir / "test.npy")
    with np.load(data_dir / "truth.npz") as t:
        truth = GroundTruth(t["ids"], t["distances"], cached=True)
    return Dataset(meta["name"], train, test, meta["metric"], meta["source"]), truth


def save_prepared(data_dir: Path, data: Dataset, truth: GroundTruth) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    np.save(data_dir / "train.npy", data.train)
    np.save(data_dir / "test.npy", data.test)
    np.savez(data_dir / "truth.npz", ids=truth.ids, distances=truth.distances)
    (data_dir / "meta.json").write_text(json.dumps({"name": data.name, "metric": data.metric,
                                                    "source": data.source}))


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    cpus = job.get("cpus")
    build_cpus = job.get("build_cpus") or cpus
    if build_cpus:
        os.sched_setaffinity(0, build_cpus)

    def pin_queries() -> None:  # after the build: its thread pool may use every CPU, queries may not
        if cpus:
            os.sched_setaffinity(0, cpus)
    data, truth = load_prepared(Path(job["data"]))
    k = int(job["k"])
    settings = Settings.from_dict(job["settings"])
    engine = make_engine(job["engine"], data.metric, data.dim, settings)
    try:
        version = engine.version()
        measured = measure_engine(engine, data.train, data.test, k, list(job["threads"]),
                                  lambda ids: recall(data, truth, ids, k),
                                  lambda msg: print(f"[{job['engine']}] {msg}", file=sys.stderr, flush=True),
                                  pin_queries)
    finally:
        engine.close()
    return {"engine": getattr(engine, "name", job["engine"]), "version": version,
            "run_mode": engine.run_mode, "algorithm": getattr(engine, "algorithm", ""),
            "search_param": getattr(engine, "search_param", None), "parameters": engine.parameters(),
            "cpus": sorted(os.sched_getaffinity(0)), "build_cpus": build_cpus,
            "measurement": asdict(measured)}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    t0 = time.perf_counter()
    try:
        result = run_job(job)
        code = 0
    except Exception as error:  # an engine's failure is a result to record, not a crash of the harness
        result = {"error": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc(limit=5)}
        code = ENGINE_FAILED
    result["worker_s"] = time.perf_counter() - t0
    out.write_text(json.dumps(result, default=float))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
