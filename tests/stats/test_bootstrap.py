"""Bootstrap intervals: known values, speed of the per-run median CI, and coverage on synthetic data.

Coverage is checked over many seeded synthetic data sets: a 95 % interval must contain the true value
in about 95 % of them (tolerances are a few binomial standard errors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats import binom

from perflab.errors import PerflabError
from perflab.stats.bootstrap import (
    _medians_of_resamples,
    bootstrap_ci,
    half_binomial_cdf,
    median_ci,
    ratio_ci,
)
from tests.stats.bounds import FALSE_FAILURE, max_successes, min_successes

ORDER_40 = 0.961523  # exact coverage of the order-statistic median interval for n = 40 (checked below)
# Calibrated bounds on the true coverage (see CoverageCase): 9376, 9490 and 9580 of 10,000 trials covered.
P_LOW_MEAN, P_HIGH_MEAN = 0.9281, 0.9463
P_LOW_MEDIAN, P_HIGH_MEDIAN = 0.9403, 0.9569
P_LOW_RATIO, P_HIGH_RATIO = 0.9500, 0.9651


def test_order_statistic_median_ci_hand_computed() -> None:
    # Binomial(10, 1/2): P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) -> l = 2 -> [x_(2), x_(9)]
    assert median_ci(np.arange(1.0, 11.0)) == (2.0, 9.0)
    # n = 6: P(B <= 0) = 1/64 <= 0.025 -> [min, max]; n = 5: 1/32 > 0.025 -> undefined
    assert median_ci([6, 1, 5, 2, 4, 3]) == (1.0, 6.0)
    assert all(math.isnan(v) for v in median_ci([1, 2, 3, 4, 5]))


@pytest.mark.parametrize("n", [3, 6, 10, 41, 1000, 20000])
def test_half_binomial_cdf_matches_scipy(n: int) -> None:
    from scipy.special import bdtr

    k = np.arange(0, (n + 1) // 2)
    ours = half_binomial_cdf(n, int(k[-1]))
    np.testing.assert_allclose(ours, bdtr(k, n, 0.5), rtol=1e-9, atol=1e-300)


def test_median_ci_bootstrap_method_agrees_with_order_method() -> None:
    x = np.random.default_rng(1).normal(10.0, 1.0, 400)
    lo1, hi1 = median_ci(x)
    lo2, hi2 = median_ci(x, n_boot=2000, seed=1, method="bootstrap")
    assert lo1 == pytest.approx(lo2, abs=0.05) and hi1 == pytest.approx(hi2, abs=0.05)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap() -> None:
    x = np.random.default_rng(2).gamma(2.0, 1.0, 300)
    ours = bootstrap_ci(x, np.mean, n_boot=4000, seed=5)
    ref = sps.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=5)
    assert ours[0] == pytest.approx(ref.confidence_interval.low, rel=0.02)
    assert ours[1] == pytest.approx(ref.confidence_interval.high, rel=0.02)


@pytest.mark.parametrize("n", [3, 4, 7, 10, 201])
def test_fast_median_path_equals_numpy_median_of_resamples(n: int) -> None:
    rng = np.random.default_rng(n)
    xs = np.sort(rng.integers(0, 5, n).astype(float) + rng.normal(0, 0.1, n) * (n % 2))  # ties when n even
    idx = rng.integers(0, n, size=(300, n))
    assert np.array_equal(_medians_of_resamples(xs, idx), np.median(xs[idx], axis=1))


def test_bootstrap_ci_accepts_statistic_without_axis() -> None:
    x = np.random.default_rng(3).normal(0, 1, 50)
    lo, hi = bootstrap_ci(x, lambda v: float(np.max(v) - np.min(v)), n_boot=200, seed=0)
    assert 0 < lo < hi <= float(np.ptp(x))  # a resample's range never exceeds the sample's


def test_bootstrap_small_n_and_constant_and_bad_args() -> None:
    assert all(math.isnan(v) for v in bootstrap_ci([1.0, 2.0]))
    assert bootstrap_ci([3.0] * 10) == (3.0, 3.0)
    assert ratio_ci([2.0] * 5, [3.0] * 5) == (1.5, 1.5)
    assert all(math.isnan(v) for v in ratio_ci([1.0, 2.0], [1.0, 2.0, 3.0]))
    with pytest.raises(PerflabError, match="n_boot"):
        bootstrap_ci([1.0, 2.0, 3.0], n_boot=5)
    with pytest.raises(PerflabError, match="method"):
        median_ci([1.0, 2.0, 3.0], method="magic")  # type: ignore[arg-type]


def test_seeded_bootstrap_is_reproducible() -> None:
    x = np.random.default_rng(4).normal(0, 1, 30)
    assert bootstrap_ci(x, seed=11) == bootstrap_ci(x, seed=11)
    assert bootstrap_ci(x, seed=11) != bootstrap_ci(x, seed=12)


@dataclass(frozen=True)
class CoverageCase:
    """A 95 % interval checked over many seeded synthetic data sets with a known true value.

    ``p_low``/``p_high`` bound the interval's true coverage on this model: the one-sided 99.99 %
    Clopper–Pearson bounds from 10,000 independent trials (``python -m tests.stats.calibrate``). Requiring
    min_successes(trials, p_low, 5e-5) <= hits <= max_successes(trials, p_high, 5e-5) then fails with
    probability <= 1e-4 (tests/stats/bounds.py), and catches an interval off by a few points either way.
    """

    draw: Callable[[np.random.Generator], Any]
    interval: Callable[[Any, int], tuple[float, float]]
    truth: float
    trials: int
    p_low: float
    p_high: float

    def hits(self, seed: int, trials: int | None = None) -> int:
        rng = np.random.default_rng(seed)
        count = 0
        for i in range(trials or self.trials):
            lo, hi = self.interval(self.draw(rng), i)
            count += lo <= self.truth <= hi
        return count

    def assert_coverage(self, seed: int) -> None:
        hits = self.hits(seed)
        low = min_successes(self.trials, self.p_low, FALSE_FAILURE / 2)
        high = max_successes(self.trials, self.p_high, FALSE_FAILURE / 2)
        assert low <= hits <= high, (hits, self.trials, low, high)


COVERAGE_CASES = {
    # percentile bootstrap of the mean, normal data, n = 60 (it under-covers a little): 440..490 of 500
    "mean": CoverageCase(lambda r: r.normal(10.0, 2.0, 60),
                         lambda x, i: bootstrap_ci(x, np.mean, n_boot=1000, seed=i),
                         10.0, 500, p_low=P_LOW_MEAN, p_high=P_HIGH_MEAN),
    # percentile bootstrap of the median, exponential data, n = 60: 448..494 of 500
    "median": CoverageCase(lambda r: r.exponential(1.0, 60),
                           lambda x, i: bootstrap_ci(x, np.median, n_boot=1000, seed=i),
                           math.log(2.0), 500, p_low=P_LOW_MEDIAN, p_high=P_HIGH_MEDIAN),
    # ratio of medians, two independently resampled normal samples (40 and 30): 361..398 of 400
    "ratio": CoverageCase(lambda r: (r.normal(10.0, 1.0, 40), r.normal(11.0, 1.0, 30)),
                          lambda ab, i: ratio_ci(ab[0], ab[1], n_boot=1000, seed=i),
                          1.1, 400, p_low=P_LOW_RATIO, p_high=P_HIGH_RATIO),
    # the order-statistic interval: for continuous data its coverage is exactly 1 - 2 P(B <= l - 1),
    # B ~ Binomial(40, 1/2), l = 14 -> 0.961523 (no calibration needed): 1888..1954 of 2000
    "order": CoverageCase(lambda r: r.lognormal(0.0, 0.5, 40), lambda x, i: median_ci(x), 1.0, 2000,
                          p_low=ORDER_40, p_high=ORDER_40),
}


@pytest.mark.parametrize("name", ["mean", "median"])
def test_bootstrap_coverage_mean_and_median(name: str) -> None:
    COVERAGE_CASES[name].assert_coverage(seed=100 if name == "mean" else 200)


def test_order_statistic_median_ci_coverage_on_skewed_data() -> None:
    assert pytest.approx(1 - 2 * float(binom.cdf(13, 40, 0.5))) == ORDER_40
    COVERAGE_CASES["order"].assert_coverage(seed=300)


def test_ratio_ci_coverage_and_independent_resampling() -> None:
    COVERAGE_CASES["ratio"].assert_coverage(seed=400)


def test_intervals_are_seeded_from_the_data_so_the_same_inputs_print_the_same_figures() -> None:
    """Observed: ``perflab compare A B`` printed different CIs on every call for the same stored data."""
    import numpy as np

    from perflab.stats.compare import compare_many
    from perflab.stats.summary import summarize

    rng = np.random.default_rng(5)
    a, b = rng.lognormal(0, 0.1, 40), rng.lognormal(0.1, 0.1, 40)
    assert summarize(a).median_ci == summarize(a.copy()).median_ci
    first, again = compare_many([(a, b)])[0], compare_many([(list(a), list(b))])[0]
    assert first.ratio_ci == again.ratio_ci and first.p_value == again.p_value
    # other data, or an explicit seed, gives another stream
    assert summarize(a[:-1]).mean_ci != summarize(a).mean_ci
    assert compare_many([(a, b)], seed=1)[0].ratio_ci != first.ratio_ci
    assert compare_many([(a, b)], seed=1)[0].ratio_ci == compare_many([(a, b)], seed=1)[0].ratio_ci
