"""Two-sample comparison and verdicts on synthetic data with known truth.

Seeded, so each test is deterministic; each docstring also bounds the probability that the assertion would
fail for an arbitrary seed (the project's rule: <= 1e-4), so a new numpy stream cannot make it flaky.
Interval coverage itself is checked over many trials in test_bootstrap.py and tests/bench/test_verdicts.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from perflab.errors import PerflabError
from perflab.stats.compare import compare, compare_many, holm_adjust


def _times(rng: np.random.Generator, center: float, cv: float, n: int) -> np.ndarray:
    """Right-skewed timing-like samples: a floor plus lognormal jitter."""
    return center * rng.lognormal(0.0, cv, n)


def test_holm_textbook_example() -> None:
    # Sorted p: 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_nan_and_handles_empty() -> None:
    assert holm_adjust([0.5, 0.6]) == [1.0, 1.0]
    out = holm_adjust([0.01, float("nan"), 0.02])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert holm_adjust([]) == []
    with pytest.raises(PerflabError):
        holm_adjust([1.5])


def test_p_value_is_scipy_mann_whitney_two_sided() -> None:
    rng = np.random.default_rng(1)
    a, b = _times(rng, 1.0, 0.05, 25), _times(rng, 1.02, 0.05, 30)
    c = compare(a, b, seed=0)
    assert c.p_value == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert c.p_adjusted == c.p_value
    assert c.ratio == pytest.approx(np.median(b) / np.median(a))
    assert (c.n_baseline, c.n_candidate) == (25, 30)


def test_a_a_identical_distributions_is_no_significant_change() -> None:
    """CV 0.3 %, 30 runs: the log-ratio of medians has SE 1.2533 * 0.003 * sqrt(2/30) = 0.00097, so a CI
    outside or across the ±1 % band needs a 10-SE excursion: P < 1e-20 per trial, < 1e-18 for all 60."""
    rng = np.random.default_rng(2)
    verdicts = [
        compare(_times(rng, 0.01, 0.003, 30), _times(rng, 0.01, 0.003, 30), seed=i).verdict for i in range(60)
    ]
    assert set(verdicts) == {"no significant change"}


def test_identical_samples_give_p_one() -> None:
    x = [0.01] * 10
    c = compare(x, list(x), seed=0)
    assert c.verdict == "no significant change"
    assert c.p_value == 1.0 and c.ratio == 1.0 and c.ratio_ci == (1.0, 1.0)


@pytest.mark.parametrize(("shift", "expected"), [(1.05, "slower"), (0.95, "faster")])
def test_clear_shift_direction_and_estimate_near_truth(shift: float, expected: str) -> None:
    """±5 % with CV 1 %, 30 runs: the log-ratio of medians has SE 1.2533 * 0.01 * sqrt(2/30) = 0.0032, so
    |ratio / shift - 1| < 0.0126 (3.9 SE) fails with probability < 1e-4, and the CI (about ±2 SE) lies
    outside the ±1 % band unless the estimate is 9 SE off (P < 1e-18); Mann–Whitney's z is about 8.
    (A single 95 % CI holding the truth would fail one seed in twenty: coverage is tested over trials.)"""
    rng = np.random.default_rng(3)
    c = compare(_times(rng, 0.01, 0.01, 30), _times(rng, 0.01 * shift, 0.01, 30), seed=0)
    assert c.verdict == expected, c.reason
    assert c.ratio == pytest.approx(shift, rel=0.0126)
    assert c.p_value < 0.05


def test_higher_is_better_flips_direction() -> None:
    """A 10 % change with CV 1 % and 20 runs is 21 SE of the log-ratio (SE 0.004) outside the band:
    P(fail) < 1e-30."""
    rng = np.random.default_rng(4)
    ops_a, ops_b = _times(rng, 1000.0, 0.01, 20), _times(rng, 1100.0, 0.01, 20)  # candidate 10 % more ops/s
    assert compare(ops_a, ops_b, higher_is_better=True, seed=0).verdict == "faster"
    assert compare(ops_a, ops_b, higher_is_better=False, seed=0).verdict == "slower"
    assert compare(ops_b, ops_a, higher_is_better=True, seed=0).verdict == "slower"


def test_significant_but_within_noise_band_is_no_change() -> None:
    """A 0.3 % shift with CV 0.1 %, 50 runs: each sample is 3 SD apart, Mann–Whitney's z is about 8.3
    (AUC 0.983, SE 0.01), so p < 1e-6 unless z drops below 4.9 (P < 1e-4); the ratio CI (1.003 ± 0.0005)
    reaches the 1.01 band edge only 28 SE away."""
    rng = np.random.default_rng(5)
    c = compare(_times(rng, 1.0, 0.001, 50), _times(rng, 1.003, 0.001, 50), seed=0)
    assert c.p_value < 1e-6  # real 0.3 % difference...
    assert c.verdict == "no significant change"  # ...but smaller than the ±1 % noise band
    assert "within noise" in c.reason


def test_too_few_runs_is_inconclusive() -> None:
    c = compare([1.0, 1.1, 1.2], [2.0, 2.1, 2.2], seed=0)
    assert c.verdict == "inconclusive"
    assert "too few runs" in c.reason
    assert math.isnan(c.p_value)
    assert compare([], [1.0], seed=0).verdict == "inconclusive"


def test_too_noisy_is_inconclusive() -> None:
    """Both sides are the same 10 values spread over ±30 % (shuffled): p = 1, ratio = 1 exactly. By symmetry
    a resampled ratio is below 0.99 about half of the time, so a 2.5 % bootstrap quantile above 0.99 (or a
    97.5 % one below 1.01) would need 45 % of 2000 resamples to move: P < 1e-300. (Two independent noisy
    samples would be called different one seed in twenty by design: p < 0.05 for 5 % of A/A pairs.)"""
    a = np.random.default_rng(6).lognormal(0.0, 0.3, 10)
    c = compare(a, np.random.default_rng(7).permutation(a), seed=0)
    assert c.verdict == "inconclusive" and c.p_value == 1.0 and c.ratio == 1.0
    assert c.ratio_ci[0] < 0.99 and c.ratio_ci[1] > 1.01
    assert "spans both sides" in c.reason


def test_zero_baseline_median_is_inconclusive() -> None:
    c = compare([0.0] * 6, [1.0] * 6, seed=0)
    assert c.verdict == "inconclusive" and "undefined" in c.reason


def test_bad_parameters_raise() -> None:
    with pytest.raises(PerflabError, match="noise"):
        compare([1.0] * 5, [1.0] * 5, noise=5)
    with pytest.raises(PerflabError, match="alpha"):
        compare([1.0] * 5, [1.0] * 5, alpha=0)
    with pytest.raises(TypeError):
        compare_many([([1.0] * 5, [1.0] * 5)], bogus=1)


def test_compare_many_applies_holm_before_verdicts() -> None:
    base = np.array([100.0, 101, 102, 103, 104, 105])
    cand = base + 4.0  # alone: p = 0.0127 < 0.05 and CI above +1 % -> slower
    alone = compare(base, cand, seed=3)
    assert alone.verdict == "slower", alone.reason
    family = compare_many([(base, cand), (base, base), (base, base), (base, base)], seed=3)
    assert family[0].p_value == pytest.approx(alone.p_value)
    assert family[0].p_adjusted == pytest.approx(min(1.0, 4 * alone.p_value))  # 0.051 > 0.05
    assert family[0].verdict == "no significant change"
    assert "Holm" in family[0].reason
    assert [c.p_adjusted for c in family[1:]] == [1.0, 1.0, 1.0]
    # A/A with 6 runs spread over 5 %: the ratio CI spans both sides of the ±1 % band
    assert [c.verdict for c in family[1:]] == ["inconclusive"] * 3


def test_compare_many_per_pair_direction() -> None:
    """A 20 % change with CV 1 % and 20 runs: 45 SE of the log-ratio outside the band: P(fail) < 1e-30."""
    rng = np.random.default_rng(7)
    a, b = _times(rng, 100.0, 0.01, 20), _times(rng, 120.0, 0.01, 20)
    out = compare_many([(a, b), (a, b)], higher_is_better=[True, False], seed=1)
    assert [c.verdict for c in out] == ["faster", "slower"]
