"""The session end to end with real worker processes: plug-ins (module:Class, exec: JSON lines), a crash,
a hang killed at its timeout, interleaving, and the stored result read back from a real SQLite file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from perflab.lab.anns_session import AnnsRequest, run_and_save, run_anns
from perflab.packs.anns.engines.base import Settings
from perflab.store.db import Store

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ENGINE = f"exec:{sys.executable} {HERE / 'jsonl_engine.py'}"


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # workers import tests.packs.anns.crashing_engine


def _req(engines: list[str], **kw: object) -> AnnsRequest:
    return AnnsRequest(dataset="synthetic:2000:8", queries=40, engines=engines, processes=2,
                       allow_few_processes=True, settings=Settings(ef_sweep=[8, 64]), **kw)


@pytest.mark.slow
def test_plugins_crash_and_good_engines_in_one_run() -> None:
    bench = run_anns(_req([ENGINE, f"{ENGINE} --fail-at build",
                           "tests.packs.anns.crashing_engine:SegfaultingEngine", "hnswlib",
                           "no_such_module:Engine"]))
    engines = bench.analysis["anns"]["engines"]
    plug = engines["jsonl-exact"]
    assert plug["processes_ok"] == 2 and plug["curve"][0]["recall"]["median"] == 1.0
    assert plug["run_mode"].startswith("emulation in Python")  # declared by the process, shown as such
    by_spec = {e["spec"]: e for e in engines.values()}
    failed = by_spec[f"{ENGINE} --fail-at build"]
    assert failed["processes_ok"] == 0 and failed["processes_failed"] == 1
    assert "exited with code 7" in failed["notes"][0] and "no further processes" in failed["notes"][0]
    seg = by_spec["tests.packs.anns.crashing_engine:SegfaultingEngine"]
    assert seg["processes_failed"] == 1 and "signal 11" in seg["notes"][0]
    assert engines["hnswlib"]["processes_ok"] == 2
    curve = engines["hnswlib"]["curve"]
    assert curve[1]["recall"]["median"] >= curve[0]["recall"]["median"]
    missing = by_spec["no_such_module:Engine"]
    assert not missing["installed"] and "not installed" in missing["notes"][0]
    assert bench.message and "engines that failed" in bench.message


@pytest.mark.slow
def test_a_hanging_engine_is_killed_at_its_timeout_and_others_continue() -> None:
    # 20 s: the bruteforce workers (start-up, numpy, 2,000 vectors) must finish inside it at load ~15 too
    bench = run_anns(_req([f"{ENGINE} --hang-at search", "bruteforce"], timeout_s=20.0))
    by_spec = {e["spec"]: e for e in bench.analysis["anns"]["engines"].values()}
    hung = by_spec[f"{ENGINE} --hang-at search"]
    assert hung["processes_failed"] == 1 and "killed at its 20 s timeout" in hung["notes"][0]
    cmd = next(c for c in bench.commands if c.command.endswith("--hang-at search"))
    assert cmd.runs[0].timed_out
    assert by_spec["bruteforce"]["processes_ok"] == 2


@pytest.mark.slow
def test_stored_result_round_trips_and_runs_are_interleaved() -> None:
    req = _req(["bruteforce", "faiss-ivf"])
    req.processes = 3
    saved = run_and_save(req, None)
    with Store.open() as store:
        back = store.get(saved.id)
    assert back.kind == "anns" and back.analysis["anns"]["engines"].keys() == {"bruteforce", "faiss-ivf"}
    assert sorted(back.order) == [0, 0, 0, 1, 1, 1]
    for cmd in back.commands:
        assert [r.block for r in cmd.runs] == [0, 1, 2]  # one process per round
        assert all(r.ok and r.metrics["build_s"] > 0 for r in cmd.runs)
        assert cmd.parameters["run_mode"] in ("embedded native library", "emulation in Python")


def test_builds_use_every_cpu_and_queries_only_their_threads_cpus(tmp_path: Path) -> None:
    """A --threads 1 run must not build single-threaded on one CPU (the GloVe run of this session did)."""
    import json
    import os
    import subprocess

    from perflab.packs.anns import datasets
    from perflab.packs.anns.groundtruth import ground_truth
    from perflab.packs.anns.worker import save_prepared

    allowed = sorted(os.sched_getaffinity(0))
    d = datasets.synthetic(500, 8, queries=10, seed=3)
    save_prepared(tmp_path / "data", d, ground_truth(d, 5, None))
    job = {"data": str(tmp_path / "data"), "k": 5, "threads": [1], "cpus": allowed[:1],
           "build_cpus": allowed, "settings": Settings(ef_sweep=[8]).to_dict(), "engine": "bruteforce"}
    (tmp_path / "job.json").write_text(json.dumps(job))
    done = subprocess.run([sys.executable, "-m", "perflab.packs.anns.worker", str(tmp_path / "job.json"),
                           str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["build_cpus"] == allowed and out["cpus"] == allowed[:1]  # re-pinned before the queries

    bench = run_anns(_req(["bruteforce"], threads=[1]))
    anns = bench.analysis["anns"]
    assert anns["build_cpus"] == allowed and anns["cpus"] == allowed[:1]
    assert anns["engine_settings"]["build_threads"] == len(allowed)
