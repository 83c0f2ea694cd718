"""Descriptive statistics: hand-computed examples and cross-checks against numpy/scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from perflab.errors import PerflabError
from perflab.stats.summary import find_outliers, mad, modified_z_scores, summarize, tukey_fences


def test_mad_hand_computed_and_matches_scipy() -> None:
    x = [1, 1, 2, 2, 4, 6, 9]  # median 2, |dev| = 1 1 0 0 2 4 7 -> median 1
    assert mad(x) == 1.0
    assert mad(x) == pytest.approx(sps.median_abs_deviation(x, scale=1.0))


def test_modified_z_hand_computed() -> None:
    x = [1, 1, 2, 2, 4, 6, 9]
    z = modified_z_scores(x)
    assert z[6] == pytest.approx(0.6745 * 7 / 1)  # 4.72 > 3.5: outlier
    assert z[5] == pytest.approx(0.6745 * 4 / 1)  # 2.70: not
    assert find_outliers(x).modified_z == (6,)


def test_modified_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero() -> None:
    x = [1.0, 1.0, 1.0, 1.0, 5.0]  # MAD 0; MeanAD = 0.8 -> z(5) = 4 / (1.253314 * 0.8) = 3.99
    assert mad(x) == 0.0
    assert modified_z_scores(x)[4] == pytest.approx(4 / (1.253314 * 0.8))
    assert find_outliers(x).modified_z == (4,)


def test_tukey_fences_hand_computed_mild_and_severe_disjoint() -> None:
    # Sorted: 1..9, 17, 30. Linear quantiles: Q1 = 3.5, Q3 = 8.5, IQR = 5.
    # Mild fences (-4, 16), severe fences (-11.5, 23.5): 17 is mild, 30 is severe.
    x = [30, 5, 1, 17, 9, 2, 8, 3, 7, 4, 6]  # shuffled, so indices must follow input order
    assert tukey_fences(x, 1.5) == pytest.approx((-4.0, 16.0))
    assert tukey_fences(x, 3.0) == pytest.approx((-11.5, 23.5))
    out = find_outliers(x)
    assert out.tukey_mild == (3,)
    assert out.tukey_severe == (0,)
    # Modified z: median 6, MAD 3 -> z(17) = 2.47, z(30) = 5.40
    assert out.modified_z == (0,)
    assert out.count == 2
    assert out.indices == (0, 3)


def test_summary_matches_numpy() -> None:
    rng = np.random.default_rng(42)
    x = rng.lognormal(0.0, 0.3, 200)
    s = summarize(x, seed=1)
    assert s.n == 200
    assert s.mean == pytest.approx(np.mean(x))
    assert s.stddev == pytest.approx(np.std(x, ddof=1))
    assert s.median == pytest.approx(np.median(x))
    assert s.p50 == s.median == pytest.approx(np.percentile(x, 50))
    assert (s.p90, s.p99) == pytest.approx(tuple(np.percentile(x, [90, 99])))
    assert (s.min, s.max) == (x.min(), x.max())
    assert s.cv == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert s.mad == pytest.approx(sps.median_abs_deviation(x, scale=1.0))
    assert s.median_ci[0] < s.median < s.median_ci[1]
    assert s.mean_ci[0] < s.mean < s.mean_ci[1]
    assert s.confidence == 0.95
    assert s.notes == ()


def test_summary_reports_outliers_without_dropping_them() -> None:
    x = [10.0] * 5 + [10.1, 9.9, 10.05, 9.95, 50.0]
    s = summarize(x, seed=0)
    assert s.n == 10
    assert s.max == 50.0  # the outlier still counts in every statistic
    assert s.mean == pytest.approx(np.mean(x))
    assert 9 in s.outliers.modified_z
    assert 9 in s.outliers.tukey_severe


def test_summary_is_reproducible_with_seed() -> None:
    x = np.random.default_rng(3).normal(5, 1, 40)
    assert summarize(x, seed=7) == summarize(x, seed=7)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_summary_small_n_gives_nan_ci_with_reason(n: int) -> None:
    s = summarize([1.5, 2.5][:n])
    assert s.n == n
    assert all(math.isnan(v) for v in s.median_ci + s.mean_ci)
    assert any("at least 3 samples" in note or "no samples" in note for note in s.notes)
    assert s.outliers.count == 0
    if n == 0:
        assert math.isnan(s.mean) and math.isnan(s.median)
    if n == 1:
        assert s.mean == 1.5 and math.isnan(s.stddev) and math.isnan(s.cv)
    if n == 2:
        assert s.stddev == pytest.approx(np.std([1.5, 2.5], ddof=1))


def test_summary_identical_values() -> None:
    s = summarize([0.25] * 20, seed=0)
    assert s.mad == 0.0 and s.stddev == 0.0 and s.cv == 0.0
    assert s.median_ci == (0.25, 0.25) and s.mean_ci == (0.25, 0.25)
    assert s.outliers.count == 0


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(PerflabError, match=r"values\[1\] is nan"):
        summarize([1.0, float("nan"), 2.0])
    with pytest.raises(PerflabError, match="confidence"):
        summarize([1.0, 2.0, 3.0], confidence=95)
