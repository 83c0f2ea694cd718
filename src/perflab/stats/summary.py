"""One sample set → every descriptive number perflab prints, each with its uncertainty.

Outliers are flagged by two independent rules (MAD-based modified z-score and Tukey's IQR fences) and
reported by index; nothing is dropped, because a slow run is often the most interesting one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from perflab.errors import PerflabError
from perflab.stats._arrays import as_samples, check_confidence, rng_from
from perflab.stats.bootstrap import MIN_CI_SAMPLES, NAN_CI, bootstrap_ci, median_ci_order_statistics

if TYPE_CHECKING:
    from perflab.stats._arrays import ArrayLike, Seed

MODIFIED_Z_THRESHOLD = 3.5  # Iglewicz & Hoaglin (1993)
MODIFIED_Z_CONSTANT = 0.6745  # Φ⁻¹(0.75): makes MAD comparable to a standard deviation under normality
MEAN_AD_CONSTANT = 1.253314  # √(π/2): the same role for the mean absolute deviation when MAD is 0
TUKEY_MILD = 1.5
TUKEY_SEVERE = 3.0

_NAN = float("nan")


@dataclass(frozen=True)
class Outliers:
    """Indices (into the input order) of suspicious samples; mild and severe Tukey sets are disjoint."""

    modified_z: tuple[int, ...] = ()
    tukey_mild: tuple[int, ...] = ()  # outside the 1.5·IQR fences but inside the 3·IQR fences
    tukey_severe: tuple[int, ...] = ()  # outside the 3·IQR fences

    @property
    def count(self) -> int:
        """Distinct samples flagged by any rule."""
        return len(set(self.modified_z) | set(self.tukey_mild) | set(self.tukey_severe))

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.modified_z) | set(self.tukey_mild) | set(self.tukey_severe)))


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one sample set. NaN means "undefined for this n" (see ``notes``)."""

    n: int
    mean: float
    stddev: float  # sample standard deviation (ddof=1)
    median: float
    mad: float  # raw median absolute deviation, median(|x - median|), not rescaled
    min: float
    max: float
    p50: float
    p90: float
    p99: float
    cv: float  # stddev / mean
    median_ci: tuple[float, float]
    mean_ci: tuple[float, float]
    outliers: Outliers
    confidence: float
    notes: tuple[str, ...] = field(default=())  # why some numbers are NaN, and similar caveats


def mad(values: ArrayLike) -> float:
    """Median absolute deviation from the median (unscaled); NaN for no samples."""
    x = as_samples(values)
    if x.size == 0:
        return _NAN
    return float(np.median(np.abs(x - np.median(x))))


def modified_z_scores(values: ArrayLike) -> np.ndarray:
    """Iglewicz–Hoaglin modified z-scores, 0.6745·(x − median)/MAD.

    When MAD is 0 (half or more of the samples identical) the score is (x − median)/(1.253314·MeanAD),
    the usual fallback; when MeanAD is 0 too, every sample equals the median and all scores are 0.
    """
    x = as_samples(values)
    if x.size == 0:
        return np.zeros(0)
    med = np.median(x)
    dev = x - med
    m = np.median(np.abs(dev))
    if m > 0:
        return MODIFIED_Z_CONSTANT * dev / m
    mean_ad = np.mean(np.abs(dev))
    if mean_ad > 0:
        return dev / (MEAN_AD_CONSTANT * mean_ad)
    return np.zeros_like(x)


def tukey_fences(values: ArrayLike, k: float) -> tuple[float, float]:
    """(Q1 − k·IQR, Q3 + k·IQR) with numpy's default (linear) quantiles."""
    x = as_samples(values)
    if x.size == 0:
        return _NAN, _NAN
    q1, q3 = np.percentile(x, [25.0, 75.0])
    iqr = q3 - q1
    return float(q1 - k * iqr), float(q3 + k * iqr)


def find_outliers(values: ArrayLike) -> Outliers:
    """Flag samples by modified z (> 3.5 in absolute value) and by Tukey fences (mild 1.5, severe 3)."""
    x = as_samples(values)
    if x.size < MIN_CI_SAMPLES:
        return Outliers()
    z = modified_z_scores(x)
    mz = tuple(int(i) for i in np.flatnonzero(np.abs(z) > MODIFIED_Z_THRESHOLD))
    lo1, hi1 = tukey_fences(x, TUKEY_MILD)
    lo3, hi3 = tukey_fences(x, TUKEY_SEVERE)
    severe = (x < lo3) | (x > hi3)
    mild = ((x < lo1) | (x > hi1)) & ~severe
    return Outliers(
        modified_z=mz,
        tukey_mild=tuple(int(i) for i in np.flatnonzero(mild)),
        tukey_severe=tuple(int(i) for i in np.flatnonzero(severe)),
    )


def summarize(
    values: ArrayLike,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: Seed = None,
    median_ci_method: Literal["bootstrap", "order"] = "bootstrap",
) -> Summary:
    """Describe a sample set. Never raises for small n: undefined numbers are NaN and ``notes`` say why.

    ``median_ci_method="order"`` takes the median's interval from two order statistics (distribution-free,
    coverage >= ``confidence``, no resampling: for secondary figures where the bootstrap's cost matters);
    the mean's interval is always the bootstrap's (``n_boot`` resamples)."""
    x = as_samples(values)
    confidence = check_confidence(confidence)
    if median_ci_method not in ("bootstrap", "order"):
        raise PerflabError(f"statistics: unknown median_ci_method {median_ci_method!r} (use 'bootstrap' or "
                           "'order')")
    n = int(x.size)
    notes: list[str] = []
    if n == 0:
        notes.append("no samples: every statistic is undefined")
        return Summary(
            n=0, mean=_NAN, stddev=_NAN, median=_NAN, mad=_NAN, min=_NAN, max=_NAN,
            p50=_NAN, p90=_NAN, p99=_NAN, cv=_NAN, median_ci=NAN_CI, mean_ci=NAN_CI,
            outliers=Outliers(), confidence=confidence, notes=tuple(notes),
        )  # fmt: skip

    mean = float(np.mean(x))
    stddev = float(np.std(x, ddof=1)) if n >= 2 else _NAN
    if n < 2:
        notes.append("n=1: standard deviation and CV need at least 2 samples")
    median = float(np.median(x))
    p90, p99 = (float(v) for v in np.percentile(x, [90.0, 99.0]))
    if n >= 2 and mean != 0.0:
        cv = stddev / abs(mean)
    else:
        cv = _NAN
        if n >= 2:
            notes.append("mean is 0: CV undefined")

    if n < MIN_CI_SAMPLES:
        median_ci = mean_ci = NAN_CI
        notes.append(f"n={n}: confidence intervals need at least {MIN_CI_SAMPLES} samples")
    else:
        rng = rng_from(seed, x)
        if median_ci_method == "order":
            median_ci = median_ci_order_statistics(x, confidence)
            if median_ci[0] != median_ci[0]:
                notes.append(f"n={n}: too few samples for an order-statistic interval of the median at "
                             f"{confidence:.0%}")
        else:
            median_ci = bootstrap_ci(x, np.median, confidence=confidence, n_boot=n_boot, seed=rng)
        mean_ci = bootstrap_ci(x, np.mean, confidence=confidence, n_boot=n_boot, seed=rng)
        if n < 10:
            notes.append(f"n={n}: bootstrap intervals are rough below ~10 samples")
    outliers = find_outliers(x)
    if n < MIN_CI_SAMPLES:
        notes.append(f"n={n}: outlier detection needs at least {MIN_CI_SAMPLES} samples")

    return Summary(
        n=n,
        mean=mean,
        stddev=stddev,
        median=median,
        mad=mad(x),
        min=float(np.min(x)),
        max=float(np.max(x)),
        p50=median,  # the same order statistic; one computation keeps the two fields identical
        p90=p90,
        p99=p99,
        cv=cv,
        median_ci=median_ci,
        mean_ci=mean_ci,
        outliers=outliers,
        confidence=confidence,
        notes=tuple(notes),
    )
