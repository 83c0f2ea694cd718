"""The CI gate and the history's step test on seeded synthetic samples with a known answer.

Each test is deterministic (fixed seeds), so its own false-failure rate is 0. The A/A test additionally
checks the gate's false-alarm rate over many seeded trials against a computed binomial bound."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from perflab.analysis.history import change_points
from perflab.analysis.suite import Cell, compare_suites

ALPHA = 0.05


def cells(rng: np.random.Generator, factor: float, n: int = 20, rows: int = 4) -> list[Cell]:
    """Lognormal timings (CV ≈ 3 %) around a per-row base; ``factor`` multiplies every sample."""
    out = []
    for k in range(rows):
        base = 0.01 * (k + 1)
        out.append(Cell(f"b{k}", "-", "v", {"wall": list(factor * base * rng.lognormal(0, 0.03, n))}))
    return out


def gate(base: list[Cell], now: list[Cell], threshold: float = 0.05) -> list[dict]:
    return compare_suites(base, now, metric="wall", higher_is_better=False, threshold=threshold, alpha=ALPHA,
                          n_boot=400, seed=1)


def test_planted_20_percent_regression_always_fails_the_gate() -> None:
    misses = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        base = cells(rng, 1.0)
        now = cells(rng, 1.0)
        now[2] = Cell("b2", "-", "v", {"wall": [x * 1.2 for x in now[2].samples["wall"]]})
        result = gate(base, now)
        flagged = [c["benchmark"] for c in result if c["regressed"]]
        misses += flagged != ["b2"]
    assert misses == 0


def test_a_a_false_alarm_rate_is_within_its_binomial_bound() -> None:
    """Under A/A the gate alarms only if Holm's p < alpha AND the CI lies beyond +5 %: at most alpha per
    gate. Over 200 seeded gates the alarm count must stay below the count that a rate of alpha exceeds
    with probability 1e-4 (binomial tail): a gate that alarmed more often than alpha would fail here."""
    trials = 200
    alarms = 0
    for t in range(trials):
        rng = np.random.default_rng(1000 + t)
        alarms += any(c["regressed"] for c in gate(cells(rng, 1.0), cells(rng, 1.0)))
    limit = int(binom.isf(1e-4, trials, ALPHA))
    assert alarms <= limit, (alarms, limit)
    assert alarms == 0  # the +5 % threshold makes an A/A alarm practically impossible at CV 3 %


def test_a_change_below_the_threshold_never_fails() -> None:
    for seed in range(20):
        rng = np.random.default_rng(seed)
        base, now = cells(rng, 1.0, n=60), cells(rng, 1.03, n=60)  # +3 %: real, but below 5 %
        assert not any(c["regressed"] for c in gate(base, now))


def test_history_finds_the_planted_step_and_nothing_in_a_flat_series() -> None:
    rng = np.random.default_rng(7)
    flat = [list(0.01 * rng.lognormal(0, 0.03, 15)) for _ in range(30)]
    assert change_points(flat) == []
    stepped = [list(0.01 * (1.15 if i >= 12 else 1.0) * rng.lognormal(0, 0.03, 15)) for i in range(25)]
    (step,) = change_points(stepped)
    assert step.index == 12 and 1.10 < step.ratio < 1.20
    (wide,) = change_points(stepped, window=3)
    assert wide.index == 12


def test_fast_mann_whitney_matches_scipy_asymptotic() -> None:
    from scipy.stats import mannwhitneyu

    from perflab.analysis.history import mann_whitney_p

    rng = np.random.default_rng(5)
    for shift in (0.0, 0.01, 0.05):
        a = np.round(rng.lognormal(0, 0.03, 40), 3)  # rounded: ties, as timer resolution gives
        b = np.round(rng.lognormal(shift, 0.03, 55), 3)
        expected = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
        assert mann_whitney_p(list(a), list(b)) == pytest.approx(expected, rel=1e-9, abs=1e-15)
