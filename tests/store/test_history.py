"""One benchmark's samples across stored results, read two ways: SQLite's own ``group_concat`` through the
standard library (the fast path of ``perflab history``) and plain rows through SQLAlchemy (any store).
Both must give the same samples of every cell, leaving out runs that timed out or were killed."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.store.db import Store
from perflab.store.history import benchmark_series
from perflab.store.model import Benchmark, CommandResult, Run


def _runs(base_ns: int, count: int) -> list[Run]:
    runs = [
        Run(sequence=i, wall_ns=base_ns + 37 * i, user_s=0.001 * i, sys_s=0.0, exit_code=0,
            peak_rss_bytes=1_000_000 + i, metrics={"rows": float(i)})
        for i in range(count)
    ]
    runs.append(Run(sequence=count, wall_ns=10**12, user_s=0.0, sys_s=0.0, exit_code=None, timed_out=True))
    runs.append(Run(sequence=count + 1, wall_ns=10**12, user_s=0.0, sys_s=0.0, exit_code=None, signal=9))
    runs.append(Run(sequence=count + 2, wall_ns=base_ns, user_s=0.0, sys_s=0.0, exit_code=0,
                    peak_rss_bytes=None))  # no peak memory measured: left out of peak_rss only
    return runs


def _fill(store: Store) -> None:
    for k in range(3):
        store.save(Benchmark(
            commands=[CommandResult(name="work", command="work", argv=["work"], runs=_runs(10**7 + k, 12)),
                      CommandResult(name="other", command="other", argv=["other"], runs=_runs(5, 4))],
            created_at=f"2026-11-0{k + 1}T00:00:00+00:00"))
    store.save(Benchmark(  # a suite's cells: benchmark × input × variant, named work[input]@variant
        kind="suite",
        commands=[CommandResult(name=f"work[{inp}]@{var}", command="work", argv=["work"],
                                parameters={"benchmark": "work", "input": inp, "variant": var},
                                runs=_runs(2 * 10**7 + len(inp) + len(var), 9))
                  for inp in ("small", "big") for var in ("base", "fast")],
        created_at="2026-11-05T00:00:00+00:00"))


@pytest.mark.parametrize("metric", ["wall", "peak_rss", "user", "rows"])
def test_the_sqlite_fast_path_reads_what_sqlalchemy_reads(tmp_path: Path, metric: str) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(url) as store:
        _fill(store)
        slow = benchmark_series(store, "work", metric)
    fast = benchmark_series(url, "work", metric)
    assert [(p.benchmark_id, p.input, p.variant) for p in fast] == [
        (p.benchmark_id, p.input, p.variant) for p in slow]
    assert len(fast) == 3 + 4
    for a, b in zip(fast, slow, strict=True):
        assert sorted(a.values) == sorted(b.values)  # a point's statistics do not depend on order
    counted = {"wall": 13, "peak_rss": 12, "user": 13, "rows": 12}[metric]
    assert len(fast[0].values) == counted  # the timed-out and the killed run are out
    if metric == "wall":
        assert sorted(fast[0].values) == sorted([(10**7 + 37 * i) * 1e-9 for i in range(12)] + [1e-2])
