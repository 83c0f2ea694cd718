"""Calibrate the acceptance bounds of the coverage tests (not a test; run by hand):

    python -m tests.stats.calibrate [--trials 10000]

For tests/bench/test_verdicts.py: draws ``trials`` independent seeded A/B data sets from its timing model
(true ratio 1.3, 40 runs a side; seeds disjoint from the test's), and prints how often the verdict is
"slower" and the ratio CI covers 1.3. For tests/stats/test_bootstrap.py's bootstrap CoverageCases: how often
each interval covers its true value. Each with its one-sided 99.99 % Clopper–Pearson bounds: the success
probabilities the tests' binomial bounds assume. About 5 minutes per 10,000 trials on a quiet core.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import beta

from perflab.stats.compare import compare
from tests.bench.test_verdicts import TRIALS, timing_like
from tests.stats.bounds import FALSE_FAILURE, min_successes
from tests.stats.test_bootstrap import COVERAGE_CASES


def lower_bound(successes: int, trials: int) -> float:
    """One-sided Clopper–Pearson lower confidence bound at 1 - FALSE_FAILURE."""
    return float(beta.ppf(FALSE_FAILURE, successes, trials - successes + 1)) if successes else 0.0


def upper_bound(successes: int, trials: int) -> float:
    """One-sided Clopper–Pearson upper confidence bound at 1 - FALSE_FAILURE."""
    return 1.0 - lower_bound(trials - successes, trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    trials = parser.parse_args().trials
    rng = np.random.default_rng(12345)
    slower = covered = 0
    for i in range(trials):
        result = compare(timing_like(rng, 0.010, 40), timing_like(rng, 0.013, 40), seed=10**6 + i)
        slower += result.verdict == "slower"
        covered += result.ratio_ci[0] <= 1.3 <= result.ratio_ci[1]
    for name, hits in (("slower", slower), ("covers 1.3", covered)):
        p = lower_bound(hits, trials)
        print(f"{name}: {hits}/{trials} = {hits / trials:.4f}; 99.99 % lower bound {p:.5f}; "
              f"a test of {TRIALS} trials requires >= {min_successes(TRIALS, p)}")
    for name, case in COVERAGE_CASES.items():
        if case.p_low == case.p_high:  # exact coverage known: nothing to calibrate
            continue
        hits = case.hits(seed=987_654, trials=trials)
        print(f"coverage {name}: {hits}/{trials} = {hits / trials:.4f}; 99.99 % bounds "
              f"[{lower_bound(hits, trials):.4f}, {upper_bound(hits, trials):.4f}]")


if __name__ == "__main__":
    main()
