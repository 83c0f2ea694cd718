"""A fixed store for the page tests: every kind of result the store holds today.

Seeded samples where only the layout matters (so the stored figures are the same on every run), real
processes for the hostile command names (their output and names really went through the store).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from perflab.analysis.benchmark import analyze, comparison_to_dict
from perflab.analysis.decision import DecisionRule
from perflab.analysis.samples import samples
from perflab.env.capture import capture_environment
from perflab.kernel.crypto_bench import KERNEL, BenchSettings, CryptoResult, SizeThroughput, to_benchmark
from perflab.lab.anns_session import AnnsRequest, run_anns
from perflab.lab.experiment import Experiments
from perflab.lab.experiment_plan import Plan, parse_inputs
from perflab.lab.suite import analyze_cells
from perflab.lab.tune_try import MetricComparison
from perflab.packs.anns.engines.base import Settings as AnnsSettings
from perflab.stats.compare import compare_many
from perflab.store.db import Store
from perflab.store.method import MethodRecords
from perflab.store.model import Benchmark
from tests.report.helpers import real_benchmark, synthetic

SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '"><img src=x onerror=alert(1)>'


def seeded_bench() -> Benchmark:
    """Three commands: a reference, one 20 % slower, one within noise (a stable layout of verdicts)."""
    commands = [synthetic("fast", 0.010, 40, cv=0.02, seed=1), synthetic("slow", 0.012, 40, cv=0.02, seed=2),
                synthetic("same", 0.010, 40, cv=0.02, seed=3)]
    commands[1].runs[5].wall_ns *= 3  # a planted outlier: it must be marked, never dropped
    for position, c in enumerate(commands):
        for r in c.runs:
            r.sequence = r.sequence * len(commands) + position
    bench = Benchmark(commands=commands, created_at="2026-11-20T10:00:00+00:00",
                      environment=capture_environment(), settings={"runs": 40})
    bench.analysis = analyze(bench, seed=1, n_boot=500)
    return bench


def hostile_bench() -> Benchmark:
    """Real runs of ``true`` whose names and command lines are markup."""
    bench = real_benchmark([["true", SCRIPT_NAME], ["true", IMG_NAME]], runs=6)
    bench.commands[0].name, bench.commands[1].name = SCRIPT_NAME, IMG_NAME
    bench.created_at = "2026-11-21T10:00:00+00:00"
    bench.environment = capture_environment()
    bench.analysis = analyze(bench, seed=1, n_boot=200)
    return bench


def trial() -> Benchmark:
    """A tune-try result in the shape ``perflab tune try`` stores: one command per variant."""
    base, cand = synthetic("baseline", 0.005, 12, seed=4), synthetic("10", 0.0045, 12, seed=5)
    for c in (base, cand):
        for r in c.runs:
            r.variant = c.name
    found = compare_many([(samples(base), samples(cand))], seed=1, n_boot=500)[0]
    comparison = MetricComparison("10", "wall", "s", False, 0.005, 0.0045, comparison_to_dict(found))
    return Benchmark(commands=[base, cand], created_at="2026-11-22T10:00:00+00:00", kind="tune-try",
                     environment=capture_environment(),
                     settings={"candidates": {"10": {"vm.swappiness": "10"}},
                               "originals": {"vm.swappiness": "60"}},
                     analysis={"comparisons": [asdict(comparison)], "decision_metric": "wall", "kept": None,
                               "keep_reason": "not requested", "restored_to": {"vm.swappiness": "60"}})


def crypto() -> Benchmark:
    measured = CryptoResult("sha256", "hash", "userspace (hashlib)", "OpenSSL", "ok", sizes=[
        SizeThroughput(64, 1000, [1.0e8, 1.1e8, 1.05e8], 1.05e8, 1.0e8, 1.1e8, 0.95),
        SizeThroughput(4096, 100, [1.9e9, 2.0e9, 2.1e9], 2.0e9, 1.9e9, 2.1e9, 0.95)])
    missing = CryptoResult("sha256", "hash", KERNEL, None, "unavailable", reason="AF_ALG not built",
                           enable_config=["CONFIG_CRYPTO_USER_API_HASH=y"])
    settings = BenchSettings(["sha256"], [64, 4096], samples=3)
    bench = to_benchmark([missing, measured], settings, userspace=True)
    bench.created_at = "2026-11-23T10:00:00+00:00"
    return bench


def suite(later: bool = False) -> Benchmark:
    """A suite result as `perflab suite run` stores it: one command per benchmark × input × variant
    cell, analysed by the suite analysis (speedups, Holm across the suite, TOTAL, geometric mean).
    ``later``: the same suite run again a day later, with gzip's default level 1.5× slower (a step)."""
    cells = []
    gzip_gain = 0.7 * 1.5 if later else 0.7
    for b, (median, gain) in {"gzip": (0.020, gzip_gain), SCRIPT_NAME: (0.050, 1.0)}.items():
        for inp in ("text", "random"):
            for v, factor in (("fast", 1.0), ("default", gain)):
                cell = synthetic(f"{b}[{inp}]@{v}", median * factor, 12, cv=0.02,
                                 seed=len(cells) + (30 if later else 10))
                cell.parameters = {"benchmark": b, "input": inp, "variant": v}
                cells.append(cell)
    bench = Benchmark(commands=cells, created_at=f"2026-11-2{5 if later else 4}T10:00:00+00:00", kind="suite",
                      environment=capture_environment(),
                      settings={"suite_name": "compressors", "suite_path": "perflab.toml",
                                "reference": "fast", "variants": ["fast", "default"], "metrics": ["wall"],
                                "primary": "wall", "directions": {"wall": False}})
    bench.analysis = analyze_cells(bench, seed=1)
    return bench


def vector_search() -> Benchmark:
    """A real `perflab anns run` (worker processes) on a small seeded synthetic set: an emulated engine,
    a native one and one that is not installed (it must be listed, not dropped)."""
    request = AnnsRequest(dataset="synthetic:1500:8", queries=30, processes=3, allow_few_processes=True,
                          engines=["bruteforce", "hnswlib", "no_such_module:Engine"],
                          settings=AnnsSettings(ef_sweep=[8, 64]))
    bench = run_anns(request)
    bench.environment = capture_environment()
    return bench


def method(store: Store, workdir: Path) -> None:
    """Two ideas (one titled with markup) and one real experiment: 10 ms sleeps against ``true``, three
    inputs, decided by the method's rule."""
    records = MethodRecords(store)
    records.add_idea(SCRIPT_NAME, "low", "high", note=IMG_NAME)
    idea = records.add_idea("skip the sleep", "high", "low", location="work.sh:1")
    workdir.mkdir(exist_ok=True)
    for name in ("a", "b", "c"):
        (workdir / f"{name}.in").write_text("0.01\n")
    experiments = Experiments(records)
    plan = Plan(command=["sh", "-c", 'sleep "$(cat "$0")"', "{input}"],
                inputs=parse_inputs(["a.in", "b.in", "c.in"], workdir), cwd=str(workdir), seed=3)
    exp = experiments.start(idea, plan, accept_noisy="a test machine shared with other work")
    experiments.run(exp, command=["true", "{input}"])
    experiments.decide(exp, DecisionRule())


def build(path: Path) -> str:
    """Write the fixed store at ``path``; returns its URL."""
    url = f"sqlite:///{path}"
    with Store.open(url) as store:
        for bench in (seeded_bench(), hostile_bench(), trial(), crypto(), suite(), suite(later=True),
                      vector_search()):
            store.save(bench)
        method(store, path.parent / "experiment")
    return url
