"""perflab's numpy Mann–Whitney U test gives scipy.stats.mannwhitneyu's statistic and two-sided p-value
(method "auto": exact for small untied samples, else normal with tie and continuity corrections) on seeded
data of every shape the verdicts meet: small and large samples, unequal sizes, ties, constant samples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from perflab.stats.mann_whitney import _u_counts, mann_whitney_u


def _check(x: np.ndarray, y: np.ndarray) -> None:
    ours = mann_whitney_u(x, y)
    ref = mannwhitneyu(x, y, alternative="two-sided")
    assert ours.statistic == float(ref.statistic)
    if math.isnan(ref.pvalue):
        assert ours.p_value == 1.0  # all values equal: perflab reads "no evidence" (scipy: nan)
    else:
        assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n1", "n2"), list(itertools.product([1, 2, 3, 5, 8, 9], [1, 4, 8, 9, 30])))
def test_continuous_samples_match_scipy(n1: int, n2: int) -> None:
    rng = np.random.default_rng(1000 * n1 + n2)
    for shift in (0.0, 0.5, 3.0):  # from no difference to complete separation
        _check(rng.lognormal(0.0, 0.3, n1), rng.lognormal(shift, 0.3, n2))


@pytest.mark.parametrize(("n1", "n2"), [(3, 5), (8, 8), (5, 40), (40, 40), (200, 150)])
def test_ties_match_scipy(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 * n2)
    for levels in (2, 5, 50):  # heavy to light ties, as timer resolution makes them
        _check(rng.integers(0, levels, n1).astype(float), rng.integers(1, levels + 1, n2).astype(float))


def test_identical_and_constant_samples() -> None:
    x = np.array([0.01] * 10)
    assert mann_whitney_u(x, x.copy()).p_value == 1.0
    _check(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0]))


def test_exact_distribution_counts_every_arrangement() -> None:
    """U's exact null distribution: C(m+n, m) arrangements in all, symmetric, by brute force for 3 and 4."""
    for m, n in [(1, 1), (2, 3), (3, 4), (8, 30)]:
        counts = _u_counts(m, n)
        assert sum(counts) == math.comb(m + n, m) and counts == counts[::-1]
    brute = [0] * 13
    for chosen in itertools.combinations(range(7), 3):  # ranks of the 3-sample among 7
        brute[sum(chosen) - 3] += 1
    assert _u_counts(3, 4) == brute
