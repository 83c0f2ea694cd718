"""Acceptance bounds for tests of statistical procedures: how many of N independent seeded trials must
succeed so that the test's own false-failure rate stays at or below 1e-4 (the project's rule)."""

from __future__ import annotations

from scipy.stats import binom

FALSE_FAILURE = 1e-4


def min_successes(trials: int, p: float, false_failure: float = FALSE_FAILURE) -> int:
    """Smallest k with P(Binomial(trials, p) < k) <= false_failure: require at least k successes."""
    k = int(binom.ppf(false_failure, trials, p))
    assert binom.cdf(k - 1, trials, p) <= false_failure
    return k


def max_successes(trials: int, p: float, false_failure: float = FALSE_FAILURE) -> int:
    """Smallest k with P(Binomial(trials, p) > k) <= false_failure: allow at most k successes."""
    k = int(binom.ppf(1.0 - false_failure, trials, p))
    assert binom.sf(k, trials, p) <= false_failure
    return k
