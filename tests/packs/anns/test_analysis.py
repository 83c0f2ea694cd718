"""Frontier, interpolation, flattening and summaries on hand-made numbers with known answers."""

from __future__ import annotations

import math

import pytest

from perflab.packs.anns.analysis import compare_engines, figure, flatten, frontier, qps_at_recall

POINTS = [(0.80, 1000.0), (0.92, 600.0), (0.90, 500.0), (0.98, 200.0), (0.99, 100.0)]


def test_frontier_drops_dominated_points() -> None:
    # (0.90, 500) is dominated by (0.92, 600)
    expect = [(0.80, 1000.0), (0.92, 600.0), (0.98, 200.0), (0.99, 100.0)]
    assert [POINTS[i] for i in frontier(POINTS)] == expect


def test_qps_at_recall_interpolates_on_the_frontier() -> None:
    # between (0.80, 1000) and (0.92, 600): 1000 - 0.10/0.12 * 400
    assert qps_at_recall(POINTS, 0.90) == pytest.approx(1000 - 400 * 0.10 / 0.12)
    assert qps_at_recall(POINTS, 0.95) == pytest.approx(600 - 400 * 0.03 / 0.06)
    assert qps_at_recall(POINTS, 0.99) == pytest.approx(100.0)
    assert qps_at_recall(POINTS, 0.995) is None  # never reached: no extrapolation
    assert qps_at_recall([(0.97, 50.0), (0.99, 10.0)], 0.90) == 50.0  # all above: the fastest of them


def test_flatten_names_every_setting_and_derives_qps_at_recall() -> None:
    result = {"search_param": "ef", "measurement": {
        "build_s": 2.0, "insert_batch_per_s": 500.0, "insert_single_per_s": None,
        "index_peak_rss_bytes": 1024, "disk_bytes": None,
        "settings": [{"value": 10, "recall": 0.85, "qps": {"1": 900.0, "2": 1700.0},
                      "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0},
                     {"value": 40, "recall": 0.95, "qps": {"1": 500.0, "2": 900.0},
                      "p50_ms": 2.0, "p95_ms": 3.0, "p99_ms": 4.0}]}}
    flat = flatten(result, [1, 2])
    assert flat["ef=10:recall"] == 0.85 and flat["ef=40:qps_2t"] == 900.0
    assert "insert_single_per_s" not in flat and "disk_bytes" not in flat
    assert flat["qps_at_recall_0.90_1t"] == pytest.approx(700.0)
    assert flat["qps_at_recall_0.95_2t"] == pytest.approx(900.0)
    assert "qps_at_recall_0.99_1t" not in flat


def test_figure_has_a_ci_from_three_processes_and_says_why_not_below() -> None:
    f = figure([10.0, 11.0, 12.0, 13.0, 14.0])
    assert f["median"] == 12.0 and f["ci"][0] <= 12.0 <= f["ci"][1] and f["n"] == 5
    few = figure([10.0, 11.0])
    assert few["ci"] is None and "at least 3" in few["why_no_ci"]
    assert figure([])["median"] is None


def test_compare_engines_reports_a_clear_difference_with_its_ci() -> None:
    fast = [{"insert_batch_per_s": v, "build_s": 100.0 / v} for v in (200.0, 205.0, 210.0, 198.0, 202.0)]
    slow = [{"insert_batch_per_s": v, "build_s": 100.0 / v} for v in (100.0, 99.0, 101.0, 102.0, 98.0)]
    rows = {r["metric"]: r for r in compare_engines(fast, slow)}
    ins = rows["insert_batch_per_s"]
    assert ins["verdict"] == "faster" and ins["factor"] == pytest.approx(2.0, rel=0.05)
    assert ins["ci"][0] <= ins["factor"] <= ins["ci"][1]
    build = rows["build_s"]  # lower is better: the factor is still in A's favour
    assert build["verdict"] == "faster" and build["factor"] == pytest.approx(2.0, rel=0.05)
    same = compare_engines(slow, slow)[0]
    assert same["verdict"] != "faster" and not math.isnan(same["factor"])
