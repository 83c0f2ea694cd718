"""Verdicts end to end: the measurement engine plus the statistics, as `perflab bench` uses them.

Two kinds of test, so that none can fail by chance more often than once in 10,000 runs:
- real processes (`sleep`): only what must always hold — every run completes, a sleep never returns before
  its time, and the verdict printed is the one the decision rule gives for the evidence printed with it;
- the statistical claims (A/A is not called different, 10 ms vs 13 ms is called slower, the ratio CI holds
  the true ratio about 95 % of the time) on seeded synthetic timings whose true ratio is known, counted over
  many trials against a binomial bound (tests/stats/bounds.py) whose false-failure rate is at most 1e-4.
"""

from __future__ import annotations

import statistics

import numpy as np

from perflab.bench.commands import expand
from perflab.bench.runner import BenchOptions, run_benchmark
from perflab.bench.scheduler import RunCount
from perflab.stats.compare import compare
from tests.stats.bounds import max_successes, min_successes
from tests.stats.verdict_rule import assert_verdict_follows_the_rule

TRIALS = 300


def _measure(commands: list[str], runs: int) -> list[list[float]]:
    options = BenchOptions(count=RunCount(runs=runs), seed=7, capture_environment=False)
    bench = run_benchmark(expand(commands), options)
    assert bench.status == "complete"
    assert all(run.ok for c in bench.commands for run in c.runs)
    return [c.wall_times_s() for c in bench.commands]


def test_real_same_command_twice_gives_a_verdict_that_follows_the_rule() -> None:
    a, b = _measure(["sleep 0.01", "sleep 0.01"], runs=30)
    assert min(a + b) >= 0.01  # a sleep never returns early, whatever the load
    result = compare(a, b, seed=0)
    assert result.ratio == statistics.median(b) / statistics.median(a)
    assert_verdict_follows_the_rule(result)


def test_real_sleep_10_ms_against_13_ms_gives_a_verdict_that_follows_the_rule() -> None:
    a, b = _measure(["sleep 0.010", "sleep 0.013"], runs=30)
    assert min(a) >= 0.010 and min(b) >= 0.013
    result = compare(a, b, seed=0)
    assert result.ratio == statistics.median(b) / statistics.median(a)
    assert_verdict_follows_the_rule(result)


def timing_like(rng: np.random.Generator, scale: float, n: int) -> np.ndarray:
    """Samples shaped like real `sleep` timings on a busy machine: 5 % lognormal jitter plus 8 % of runs
    delayed by an exponential (mean 30 % of the time). A scale family, so the ratio of two populations'
    medians is exactly the ratio of their scales."""
    x = rng.lognormal(0.0, 0.05, n)
    delayed = rng.random(n) < 0.08
    return scale * (x + delayed * rng.exponential(0.3, n))


def test_a_a_is_rarely_called_different() -> None:
    """A/A, 40 runs each, over 300 seeded trials. "faster"/"slower" needs Mann–Whitney p < 0.05, which has
    probability about 0.05 (the test's level) when both sides are drawn from one population, so the count
    of such verdicts is at most Binomial(300, 0.05); allowing up to max_successes(300, 0.05) = 32 of them
    fails with probability P(Binomial(300, 0.05) > 32) <= 1e-4. A rule that ignored the p-value or the
    noise band would call about half the trials different."""
    rng = np.random.default_rng(20261129)
    verdicts = [compare(timing_like(rng, 0.010, 40), timing_like(rng, 0.010, 40), seed=i).verdict
                for i in range(TRIALS)]
    different = sum(v in ("faster", "slower") for v in verdicts)
    assert different <= max_successes(TRIALS, 0.05), (different, verdicts)


def test_10_ms_against_13_ms_is_slower_and_the_ratio_ci_covers_the_truth() -> None:
    """True ratio 1.3, 40 runs each, 300 seeded trials.

    Calibration (``python -m tests.stats.calibrate``, 10,000 independent trials of this model): all were
    "slower", so with 99.99 % confidence P(slower) >= 0.99908 (Clopper–Pearson); requiring
    min_successes(300, 0.99908) = 296 "slower" fails with probability <= 1e-4. They covered 1.3 in
    9,653 cases (99.99 % lower bound 0.95799); requiring min_successes(300, 0.95799) = 273 covering
    intervals (91 %) fails with probability <= 1e-4.
    """
    rng = np.random.default_rng(20261130)
    results = [compare(timing_like(rng, 0.010, 40), timing_like(rng, 0.013, 40), seed=i)
               for i in range(TRIALS)]
    slower = sum(r.verdict == "slower" for r in results)
    covered = sum(r.ratio_ci[0] <= 1.3 <= r.ratio_ci[1] for r in results)
    assert slower >= min_successes(TRIALS, 0.99908), slower
    assert covered >= min_successes(TRIALS, 0.95799), covered
    for r in results:
        assert_verdict_follows_the_rule(r)
