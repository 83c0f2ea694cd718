"""Bootstrap intervals: known values, speed of the per-run median CI, and coverage on synthetic data.

Coverage is checked over many seeded synthetic data sets: a 95 % interval must contain the true value
in about 95 % of them (tolerances are a few binomial standard errors).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats as sps

from perflab.errors import PerflabError
from perflab.stats.bootstrap import (
    _medians_of_resamples,
    bootstrap_ci,
    half_binomial_cdf,
    median_ci,
    ratio_ci,
)


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


def test_median_ci_fast_enough_for_adaptive_loop() -> None:
    x = np.random.default_rng(0).exponential(1.0, 1000)
    median_ci(x)  # warm the import
    best = min(_timed(lambda: median_ci(x)) for _ in range(20))
    assert best < 0.002, f"median_ci took {best * 1e3:.2f} ms for 1000 samples"


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


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


def _coverage(draw, interval, truth: float, reps: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(reps):
        lo, hi = interval(draw(rng), i)
        hits += lo <= truth <= hi
    return hits / reps


def test_bootstrap_coverage_mean_and_median() -> None:
    reps = 500  # binomial SE at 95 %: ~1 %
    cov_mean = _coverage(
        lambda r: r.normal(10.0, 2.0, 60),
        lambda x, i: bootstrap_ci(x, np.mean, n_boot=1000, seed=i),
        10.0, reps, seed=100,
    )  # fmt: skip
    cov_median = _coverage(
        lambda r: r.exponential(1.0, 60),
        lambda x, i: bootstrap_ci(x, np.median, n_boot=1000, seed=i),
        math.log(2.0), reps, seed=200,
    )  # fmt: skip
    assert 0.91 <= cov_mean <= 0.98, cov_mean
    assert 0.91 <= cov_median <= 0.99, cov_median


def test_order_statistic_median_ci_coverage_on_skewed_data() -> None:
    cov = _coverage(lambda r: r.lognormal(0.0, 0.5, 40), lambda x, i: median_ci(x), 1.0, 2000, seed=300)
    assert 0.93 <= cov <= 0.99, cov  # guaranteed >= 95 % in theory (about 96.2 % for n = 40)


def test_ratio_ci_coverage_and_independent_resampling() -> None:
    cov = _coverage(
        lambda r: (r.normal(10.0, 1.0, 40), r.normal(11.0, 1.0, 30)),
        lambda ab, i: ratio_ci(ab[0], ab[1], n_boot=1000, seed=i),
        1.1, 400, seed=400,
    )  # fmt: skip
    assert 0.90 <= cov <= 0.99, cov


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
