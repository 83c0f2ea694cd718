"""Where a benchmark stepped: a test between adjacent windows of its stored results.

The series is one cell (benchmark × input × variant) across stored results, oldest first. Each point's
samples get a median with its distribution-free CI (order statistics). A *step* at point i is declared
when the window of the ``window`` results before it and the window from it on differ:

- the two-sided Mann–Whitney U test on the pooled samples of the two windows gives p, and the p-values
  of every candidate position of the series are Holm-adjusted as one family (a long history does not buy
  false steps), and
- the adjusted p is below ``alpha`` and the ratio of the windows' medians lies outside ``1 ± noise``
  (a statistically clear but tiny shift is not reported as a step).

Of adjacent positions that pass (one shift seen through overlapping windows), the one with the smallest
p is kept. With ``window = 1`` this is a comparison of each result with the previous one. No bootstrap
and no scipy: the test is cheap enough for a store of 10^5 samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perflab.stats.bootstrap import median_ci
from perflab.stats.compare import holm_adjust
from perflab.stats.mann_whitney import mann_whitney_u

MIN_SAMPLES = 3


@dataclass
class PointSummary:
    n: int
    median: float | None
    ci: tuple[float | None, float | None]


@dataclass
class Step:
    index: int  # the first point after the step
    ratio: float  # median(after window) / median(before window)
    p_value: float
    p_adjusted: float


def summarize_point(values: Sequence[float], confidence: float = 0.95) -> PointSummary:
    if len(values) == 0:
        return PointSummary(0, None, (None, None))
    lo, hi = median_ci(values, confidence)
    ci = (float(lo), float(hi)) if math.isfinite(lo) else (None, None)
    return PointSummary(len(values), float(np.median(values)), ci)


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value by scipy's ``method="auto"`` rule (exact for a small sample with
    no ties, else normal approximation with tie and continuity corrections), computed in numpy by
    ``perflab.stats.mann_whitney``: importing scipy would cost more than the whole history."""
    return mann_whitney_u(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)).p_value


def change_points(
    series: Sequence[Sequence[float]], *, window: int = 1, alpha: float = 0.05, noise: float = 0.01
) -> list[Step]:
    """Steps in a series of sample sets (see the module docstring)."""
    candidates: list[tuple[int, float, float]] = []
    arrays = [np.asarray(s, dtype=np.float64) for s in series]  # once, not once per window
    empty = np.empty(0)
    for i in range(1, len(arrays)):
        before = np.concatenate(arrays[max(0, i - window) : i]) if arrays[max(0, i - window) : i] else empty
        after = np.concatenate(arrays[i : i + window])
        if before.size < MIN_SAMPLES or after.size < MIN_SAMPLES:
            continue
        med_b, med_a = float(np.median(before)), float(np.median(after))
        if med_b <= 0:
            continue
        p = mann_whitney_u(before, after).p_value
        candidates.append((i, med_a / med_b, p if math.isfinite(p) else 1.0))
    adjusted = holm_adjust([p for _, _, p in candidates])
    passing = [
        Step(i, ratio, p, q)
        for (i, ratio, p), q in zip(candidates, adjusted, strict=True)
        if q < alpha and abs(ratio - 1.0) > noise
    ]
    kept: list[Step] = []
    for step in passing:  # overlapping windows see one shift at several positions: keep the clearest
        if kept and step.index - kept[-1].index < window:
            if step.p_value < kept[-1].p_value:
                kept[-1] = step
            continue
        kept.append(step)
    return kept
