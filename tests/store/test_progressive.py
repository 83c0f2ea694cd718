"""Partial saves interrupted inside their transaction (Ctrl-C or SIGTERM raise KeyboardInterrupt wherever
the main thread is): the transaction is rolled back, so the final save must not point at a row that was
never committed. The interrupt is raised from ``insert_runs``, where a real signal's handler could raise
it; the store is the real SQLite file."""

from __future__ import annotations

import pytest

from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, Run
from perflab.store.progressive import PartialSave


def bench(runs: int) -> Benchmark:
    made = [Run(sequence=i, wall_ns=1000 + i, user_s=0.0, sys_s=0.0, exit_code=0) for i in range(runs)]
    return Benchmark(commands=[CommandResult(name="x", command="x", argv=["x"], runs=made)],
                     created_at="2026-11-29T00:00:00+00:00", status="interrupted")


@pytest.mark.parametrize("interrupted_write", [0, 1])
def test_interrupt_inside_a_partial_write_leaves_a_final_save_that_works(
    monkeypatch: pytest.MonkeyPatch, interrupted_write: int
) -> None:
    store = Store.open()
    partial = PartialSave(store)
    if interrupted_write == 1:
        partial.update(bench(2))  # a first write that commits
    real = store.insert_runs

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "insert_runs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        partial.update(bench(4))
    monkeypatch.setattr(store, "insert_runs", real)
    final = bench(4)
    bench_id = store.save(final, replace=partial.bench_id)
    assert [len(c.runs) for c in store.get(bench_id).commands] == [4]
    assert [item.id for item in store.list()] == [bench_id]  # one result, no orphan partial row
