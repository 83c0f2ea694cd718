"""BenchSession with a block plan (what suites and tune try use): each arm's setting is in force for its
segment only, runs carry their variant, the run count and warm-ups are honoured, nothing is stored without
a store, and a collecting reporter gets the analysed outcome. Real processes."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

from perflab.bench.commands import Command, parse_metric
from perflab.bench.options import BenchOptions
from perflab.bench.scheduler import RunCount
from perflab.lab.bench_blocks import Arm, BlockPlan
from perflab.lab.bench_session import BenchRequest, BenchSession, Collector
from perflab.store.db import Store


def test_plan_switches_settings_per_segment_and_collects(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("mode=0\n")
    entered: list[str] = []

    @contextlib.contextmanager
    def setting(value: str) -> Iterator[None]:
        entered.append(value)
        state.write_text(f"mode={value}\n")
        try:
            yield
        finally:
            state.write_text("mode=0\n")

    rng = random.Random(4)

    def block(number: int) -> list[Arm]:
        arms = [Arm(0, name, runs=2, warmup=1, in_force=lambda v=value: setting(v))
                for name, value in (("one", "1"), ("two", "2"))]
        rng.shuffle(arms)
        return arms

    seen: list[tuple[str, bool]] = []
    options = BenchOptions(count=RunCount(runs=6), warmup=0, seed=1, capture_environment=False,
                           metrics=[parse_metric("mode=mode=([0-9]+)::lower")])
    plan = BlockPlan(block, warmup_blocks=1, ran=lambda arm, run: seen.append((arm.variant, run is None)))
    request = BenchRequest([Command.from_argv(["cat", str(state)])], options, kind="suite", plan=plan)
    session = BenchSession(request)  # no store: nothing saved
    bench = session.measure()
    assert bench.status == "complete" and bench.kind == "suite"
    runs = bench.commands[0].runs
    assert len(runs) == 12  # 3 blocks of 2 runs per arm, then 6 runs per arm: the count is met
    assert {r.metrics["mode"] for r in runs if r.variant == "one"} == {1.0}
    assert {r.metrics["mode"] for r in runs if r.variant == "two"} == {2.0}
    assert state.read_text() == "mode=0\n"  # undone after every segment
    # warm-up block: 3 unrecorded runs per arm (runs + warmup), then 1 per measured segment
    assert bench.commands[0].warmup_runs == 2 * 3 + 3 * 2
    assert sum(1 for _, warm in seen if warm) == 12 and sum(1 for _, warm in seen if not warm) == 12
    assert sorted({r.block for r in runs}) == [0, 1, 2]
    collector = Collector()
    outcome = session.conclude([collector])
    assert collector.outcomes == [outcome] and outcome.bench_id is None
    summary = outcome.benchmark.analysis["commands"][0]
    assert summary["runs"] == 12 and summary["metrics"]["mode"]["summary"]["n"] == 12


def test_plan_with_a_store_saves_once(tmp_path: Path) -> None:
    store = Store.open()
    options = BenchOptions(count=RunCount(runs=3), warmup=0, seed=2, capture_environment=False)
    plan = BlockPlan(lambda b: [Arm(0, "a"), Arm(1, "b")])
    request = BenchRequest([Command.from_argv(["true"]), Command.from_argv(["true"], name="t2")],
                           options, kind="suite", plan=plan)
    outcome = BenchSession(request, store).run()
    assert outcome.bench_id is not None
    assert [item.id for item in store.list()] == [outcome.bench_id]  # the partial save was replaced
    stored = store.get(outcome.bench_id)
    assert [len(c.runs) for c in stored.commands] == [3, 3]
    assert {r.variant for r in stored.commands[1].runs} == {"b"}
