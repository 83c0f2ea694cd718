"""Two sample sets → ratio of medians with a CI, a p-value and a verdict a human can act on.

Modelled on criterion.rs's change detection: a change is reported only when it is both statistically
significant (here Mann–Whitney U, which needs no normality) and larger than a noise band, judged on the
bootstrap CI of the relative change, so a tiny but "significant" drift never reads as a regression.
See docs/statistics.md for the full rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from perflab.errors import PerflabError
from perflab.stats._arrays import as_samples, check_confidence, rng_from
from perflab.stats.bootstrap import MIN_CI_SAMPLES, NAN_CI, ratio_ci
from perflab.stats.mann_whitney import mann_whitney_u

if TYPE_CHECKING:
    from perflab.stats._arrays import ArrayLike, Seed

Verdict = Literal["faster", "slower", "no significant change", "inconclusive"]

_NAN = float("nan")


@dataclass(frozen=True)
class Comparison:
    """Candidate versus baseline. ``ratio`` > 1 means the candidate's median is larger."""

    ratio: float  # median(candidate) / median(baseline)
    ratio_ci: tuple[float, float]
    p_value: float  # Mann–Whitney U, two-sided; NaN when not computed (too few runs)
    p_adjusted: float  # Holm-adjusted within compare_many; equal to p_value for a single comparison
    verdict: Verdict
    reason: str
    n_baseline: int
    n_candidate: int
    higher_is_better: bool
    alpha: float
    noise: float
    confidence: float = 0.95

    @property
    def change(self) -> float:
        """Relative change of the median, e.g. 0.05 for +5 %."""
        return self.ratio - 1.0


@dataclass(frozen=True)
class _Evidence:
    """Everything except the verdict, so compare_many can adjust p-values before deciding."""

    ratio: float
    ratio_ci: tuple[float, float]
    p_value: float
    n_baseline: int
    n_candidate: int
    blocker: str | None  # reason the data cannot support any verdict


def _validate(alpha: float, noise: float, min_runs: int) -> None:
    if not 0.0 < alpha < 1.0:
        raise PerflabError(f"statistics: alpha must be between 0 and 1 (got {alpha})")
    if not 0.0 <= noise < 1.0:
        raise PerflabError(f"statistics: noise must be a fraction in [0, 1), e.g. 0.01 for 1 % (got {noise})")
    if min_runs < 1:
        raise PerflabError(f"statistics: min_runs must be at least 1 (got {min_runs})")


def _evidence(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    confidence: float,
    min_runs: int,
    n_boot: int,
    rng: np.random.Generator,
) -> _Evidence:
    a = as_samples(baseline, "baseline")
    b = as_samples(candidate, "candidate")
    na, nb = int(a.size), int(b.size)
    need = max(min_runs, MIN_CI_SAMPLES)
    if na < need or nb < need:
        return _Evidence(
            ratio=float(np.median(b) / np.median(a)) if na and nb and np.median(a) > 0 else _NAN,
            ratio_ci=NAN_CI,
            p_value=_NAN,
            n_baseline=na,
            n_candidate=nb,
            blocker=f"too few runs (baseline {na}, candidate {nb}; need at least {need} each)",
        )
    med_a, med_b = float(np.median(a)), float(np.median(b))
    if med_a <= 0.0 or med_b < 0.0:
        return _Evidence(
            _NAN, NAN_CI, _NAN, na, nb,
            f"ratio of medians undefined (baseline median {med_a:g}, candidate median {med_b:g})",
        )  # fmt: skip
    ratio = med_b / med_a
    p = mann_whitney_u(a, b).p_value  # 1.0 when all values are identical: no evidence of any difference
    ci = ratio_ci(a, b, np.median, confidence=confidence, n_boot=n_boot, seed=rng)
    blocker = None
    if not all(np.isfinite(ci)):
        blocker = "bootstrap CI of the ratio undefined (a resampled baseline median was not positive)"
    return _Evidence(ratio, ci, p, na, nb, blocker)


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def _decide(
    ev: _Evidence,
    p_adjusted: float,
    *,
    alpha: float,
    noise: float,
    higher_is_better: bool,
    confidence: float,
) -> Comparison:
    def make(verdict: Verdict, reason: str) -> Comparison:
        return Comparison(
            ratio=ev.ratio, ratio_ci=ev.ratio_ci, p_value=ev.p_value, p_adjusted=p_adjusted,
            verdict=verdict, reason=reason, n_baseline=ev.n_baseline, n_candidate=ev.n_candidate,
            higher_is_better=higher_is_better, alpha=alpha, noise=noise, confidence=confidence,
        )  # fmt: skip

    if ev.blocker is not None:
        return make("inconclusive", ev.blocker)

    lo, hi = ev.ratio_ci
    band_lo, band_hi = 1.0 - noise, 1.0 + noise
    ci_txt = f"{confidence:.0%} CI of the change [{_pct(lo - 1)}, {_pct(hi - 1)}]"
    band_txt = f"noise band ±{noise * 100:g} %"
    p_name = "Holm-adjusted p" if p_adjusted != ev.p_value else "p"
    p_txt = f"{p_name}={p_adjusted:.3g}"
    significant = p_adjusted < alpha
    above, below = lo > band_hi, hi < band_lo

    if significant and (above or below):
        better = above if higher_is_better else below
        verdict: Verdict = "faster" if better else "slower"
        side = "above" if above else "below"
        return make(
            verdict,
            f"median changed {_pct(ev.ratio - 1)}; {ci_txt} lies entirely {side} the "
            f"{band_txt} and {p_txt} < {alpha:g}",
        )
    if lo < band_lo and hi > band_hi:
        return make(
            "inconclusive",
            f"too noisy to tell: {ci_txt} spans both sides of the {band_txt} "
            f"({p_txt}); more runs or a quieter machine needed",
        )
    if significant:
        return make(
            "no significant change",
            f"{p_txt} < {alpha:g} but {ci_txt} overlaps the {band_txt}: any change is within noise",
        )
    return make("no significant change", f"{p_txt} ≥ {alpha:g}; {ci_txt}")


def compare(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    alpha: float = 0.05,
    noise: float = 0.01,
    higher_is_better: bool = False,
    confidence: float = 0.95,
    min_runs: int = 5,
    n_boot: int = 2000,
    seed: Seed = None,
) -> Comparison:
    """Judge candidate against baseline (see docs/statistics.md, "Verdict rule").

    For time-like metrics (``higher_is_better=False``) "faster" means a smaller candidate median; for
    throughput-like metrics it means a larger one, i.e. "faster" always means "better".
    """
    _validate(alpha, noise, min_runs)
    confidence = check_confidence(confidence)
    ev = _evidence(
        baseline, candidate, confidence=confidence, min_runs=min_runs, n_boot=n_boot,
        rng=rng_from(seed, baseline, candidate)
    )
    return _decide(
        ev, ev.p_value, alpha=alpha, noise=noise, higher_is_better=higher_is_better, confidence=confidence
    )


def holm_adjust(p_values: Iterable[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values (monotone in the raw order, capped at 1).

    NaN entries (comparisons that were never tested) stay NaN and do not count towards the family size.
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.size and np.any((p[np.isfinite(p)] < 0) | (p[np.isfinite(p)] > 1)):
        raise PerflabError("statistics: p-values must lie in [0, 1]")
    out = np.full(p.shape, _NAN)
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if m == 0:
        return out.tolist()
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out.tolist()


def compare_many(pairs: Sequence[tuple[ArrayLike, ArrayLike]], **kw: Any) -> list[Comparison]:
    """Compare several (baseline, candidate) pairs, Holm-adjusting the p-values as one family.

    Keyword arguments are those of :func:`compare`. Without the adjustment, ten comparisons at alpha 0.05
    would report a spurious change 40 % of the time.
    """
    alpha = kw.pop("alpha", 0.05)
    noise = kw.pop("noise", 0.01)
    higher = kw.pop("higher_is_better", False)
    confidence = check_confidence(kw.pop("confidence", 0.95))
    min_runs = kw.pop("min_runs", 5)
    n_boot = kw.pop("n_boot", 2000)
    rng = rng_from(kw.pop("seed", None), *(x for pair in pairs for x in pair))
    if kw:
        raise TypeError(f"compare_many() got unexpected keyword arguments: {', '.join(sorted(kw))}")
    _validate(alpha, noise, min_runs)
    highers = higher if isinstance(higher, list | tuple) else [higher] * len(pairs)
    if len(highers) != len(pairs):
        raise PerflabError("statistics: higher_is_better list must have one entry per pair")
    evidence = [
        _evidence(a, b, confidence=confidence, min_runs=min_runs, n_boot=n_boot, rng=rng) for a, b in pairs
    ]
    adjusted = holm_adjust([ev.p_value for ev in evidence])
    return [
        _decide(ev, p_adj, alpha=alpha, noise=noise, higher_is_better=bool(h), confidence=confidence)
        for ev, p_adj, h in zip(evidence, adjusted, highers, strict=True)
    ]
