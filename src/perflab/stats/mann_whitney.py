"""The two-sided Mann–Whitney U test in plain numpy, giving the p-value scipy.stats.mannwhitneyu gives.

`perflab bench` with two commands needs this one test; importing scipy.stats for it costs 0.5–0.9 s of
start-up on a loaded 2-vCPU machine, more than the whole rest of a short benchmark. The rule is scipy's
``method="auto"``: the exact null distribution of U when one sample has at most 8 values and there are no
ties, else the normal approximation with tie and continuity corrections. tests/stats checks it against
scipy on seeded data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_MAX_N = 8  # scipy's "auto" rule: exact when a sample is this small and nothing is tied


@dataclass(frozen=True)
class MannWhitneyResult:
    """U of the first sample and the two-sided p-value."""

    statistic: float
    p_value: float


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks with ties given their average rank, and the size of every group of equal values."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], values.size)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks, ends - starts


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) arrangements give U = 0, 1, …, m·n (the Gaussian binomial coefficient's
    coefficients: the product over i = 1..m of (1 - q^(n+i)) / (1 - q^i)), in exact integers."""
    counts = [0] * (m * n + 1)
    counts[0] = 1
    degree = 0
    for i in range(1, m + 1):
        shift = n + i
        degree += n
        for k in range(degree, shift - 1, -1):  # multiply by (1 - q^(n+i))
            counts[k] -= counts[k - shift]
        for k in range(i, degree + 1):  # divide by (1 - q^i): exact, the quotient is a polynomial
            counts[k] += counts[k - i]
    return counts


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> MannWhitneyResult:
    """Two-sided Mann–Whitney U test of ``x`` against ``y`` (1-D float arrays, each non-empty)."""
    n1, n2 = int(x.size), int(y.size)
    ranks, groups = _average_ranks(np.concatenate((x, y)))
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    ties = bool(np.any(groups > 1))
    if (n1 > EXACT_MAX_N and n2 > EXACT_MAX_N) or ties:
        n = n1 + n2
        tie_term = float(np.sum(groups.astype(np.float64) ** 3 - groups))
        spread = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
        if spread == 0.0:  # every value equal: no evidence either way
            return MannWhitneyResult(u1, 1.0)
        z = (u - n1 * n2 / 2.0 - 0.5) / spread
        p = math.erfc(z / math.sqrt(2.0))  # 2 · P(Z >= z)
    else:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        p = 2.0 * sum(counts[int(u):]) / math.comb(n1 + n2, n1)
    return MannWhitneyResult(u1, min(1.0, max(0.0, p)))
