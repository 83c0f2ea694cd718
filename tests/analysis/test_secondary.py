"""analyze(): the secondary figures (user, sys, peak RSS) carry cheaper but still real intervals, and the
compared figures (wall time, custom metrics) keep the full bootstrap."""

from __future__ import annotations

import json

from perflab.analysis.benchmark import SECONDARY_CI, analyze, samples
from perflab.stats.bootstrap import median_ci_order_statistics
from perflab.stats.summary import summarize
from perflab.store.model import Benchmark
from tests.report.helpers import synthetic


def test_secondary_figures_use_order_statistic_median_ci() -> None:
    a_cmd = synthetic("A", 0.01, 40, seed=1, metric=10.0)
    b_cmd = synthetic("B", 0.012, 40, seed=2, metric=9.0)
    bench = Benchmark(commands=[a_cmd, b_cmd], created_at="2026-11-23T00:00:00+00:00")
    out = analyze(bench, seed=5)
    first = out["commands"][0]
    for name in ("user", "sys", "peak_rss"):
        entry = first[name]
        assert entry["ci_method"] == SECONDARY_CI
        assert tuple(entry["median_ci"]) == median_ci_order_statistics(samples(a_cmd, name))
        lo, hi = entry["mean_ci"]
        assert lo is not None and lo <= entry["mean"] <= hi  # a real interval, not a placeholder
    # wall time and the custom metric: the full bootstrap, exactly as summarize() gives it
    full = summarize(samples(a_cmd), seed=5)
    assert tuple(first["wall"]["median_ci"]) == full.median_ci and "ci_method" not in first["wall"]
    assert "ci_method" not in first["metrics"]["ops"]["summary"]
    json.dumps(out, allow_nan=False)
