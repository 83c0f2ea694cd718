"""End-to-end verdicts on real processes: the measurement engine plus the statistics, as `perflab bench`
uses them. A/A must never be called faster or slower; A/B (`sleep 0.010` vs `sleep 0.013`) must say
`slower` with a ratio CI that contains the true ratio."""

from __future__ import annotations

import statistics

from perflab.bench.commands import expand
from perflab.bench.runner import BenchOptions, run_benchmark
from perflab.bench.scheduler import RunCount
from perflab.stats.compare import compare


def _measure(commands: list[str], runs: int) -> list[list[float]]:
    options = BenchOptions(count=RunCount(runs=runs), seed=7, capture_environment=False)
    bench = run_benchmark(expand(commands), options)
    assert bench.status == "complete"
    return [c.wall_times_s() for c in bench.commands]


def test_same_command_twice_is_never_called_different() -> None:
    a, b = _measure(["sleep 0.01", "sleep 0.01"], runs=60)
    result = compare(a, b, seed=0)
    # Never called different. On a quiet machine the ratio CI of 60 interleaved runs fits inside the ±1 %
    # band; on a loaded 2-vCPU CI machine (other test jobs) it is wider: seen [0.858, 1.02] and
    # [0.965, 1.037] at load 3.5, which give "no significant change" or, spanning both sides of the band,
    # the honest "inconclusive". A 95 % CI may also miss 1.0 itself one time in twenty: not asserted.
    assert result.verdict in ("no significant change", "inconclusive"), (result.verdict, result.reason)
    assert 0.95 < result.ratio < 1.05, result.ratio_ci  # the point estimate stays near 1 even under load


def test_sleep_10_ms_against_13_ms_is_slower_and_the_ci_holds_the_true_ratio() -> None:
    a, b = _measure(["sleep 0.010", "sleep 0.013"], runs=40)
    result = compare(a, b, seed=0)
    assert result.verdict == "slower", (result.verdict, result.reason)
    # The true ratio: B is A's process plus exactly 3 ms more of sleeping. Spawn and exit cost the same
    # for both, so the population ratio of medians is (median(A) + 3 ms) / median(A). The sleep's own
    # overshoot (timer slack, ~50 µs) differs by a few µs at most, well under the CI's width.
    true_ratio = (statistics.median(a) + 0.003) / statistics.median(a)
    low, high = result.ratio_ci
    assert low <= true_ratio <= high, (true_ratio, result.ratio_ci)
    assert 1.1 < result.ratio < 1.3
