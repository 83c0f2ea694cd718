"""The one decision rule of an experiment: KEEP, MAYBE, DISCARD, INCONCLUSIVE, REJECT or KILL.

Teams write rules such as "keep if p < 0.05 and > 2 % faster" without naming a test, and contradict
themselves across inputs. This module is the single rule perflab applies (docs/method.md states it):

1. REJECT when the correctness check failed; KILL when a candidate run exceeded its time limit.
2. Per input, the gain is the ratio of medians turned into "better by": baseline/candidate − 1 for a
   time-like metric, candidate/baseline − 1 for a throughput-like one. Each input is tested with a
   two-sided Mann–Whitney U; the p-values are Holm-adjusted across inputs. An input *regresses
   significantly* when its adjusted p < alpha and its gain is below −max_regression → DISCARD.
3. The overall gain is the weighted geometric mean of the per-input speedups, minus 1, with a
   bootstrap CI (each input's baseline and candidate resampled independently; seeded from the data, so
   the same samples always give the same figures).
4. CI entirely above 0 (a significant improvement): gain ≥ threshold → KEEP; ≥ maybe → MAYBE; else
   DISCARD (real but too small to be worth it). Otherwise: upper CI bound below maybe → DISCARD (the data
   rule out a worthwhile gain); else INCONCLUSIVE (too noisy to tell at this precision).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from perflab.errors import PerflabError
from perflab.stats.compare import holm_adjust

Verdict = Literal["KEEP", "MAYBE", "DISCARD", "INCONCLUSIVE", "REJECT", "KILL"]
VERDICTS: tuple[Verdict, ...] = ("KEEP", "MAYBE", "DISCARD", "INCONCLUSIVE", "REJECT", "KILL")
MIN_SAMPLES = 3
_NAN = float("nan")


@dataclass(frozen=True)
class DecisionRule:
    """The thresholds of the rule; every decision stores the rule that produced it."""

    threshold: float = 0.05  # KEEP at or above this gain
    maybe: float = 0.02  # MAYBE at or above this gain
    max_regression: float = 0.02  # an input significantly worse than this discards the change
    alpha: float = 0.05  # per-input test level (Holm across inputs)
    confidence: float = 0.95  # of the overall gain's interval
    higher_is_better: bool = False  # False for times, True for throughputs
    n_boot: int = 4000

    def __post_init__(self) -> None:
        for name in ("threshold", "maybe", "max_regression"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0.0 <= value < 10.0):
                raise PerflabError(
                    f"decision rule: {name} must be a fraction ≥ 0, e.g. 0.05 for 5 % (got {value})"
                )
        if self.maybe > self.threshold:
            raise PerflabError(
                f"decision rule: maybe ({self.maybe:g}) must not exceed threshold ({self.threshold:g})"
            )
        if not 0.0 < self.alpha < 1.0 or not 0.5 <= self.confidence < 1.0:
            raise PerflabError("decision rule: alpha must lie in (0, 1) and confidence in [0.5, 1)")
        if self.n_boot < 200:
            raise PerflabError(f"decision rule: n_boot must be at least 200 (got {self.n_boot})")


@dataclass(frozen=True)
class InputSamples:
    """One input's primary-metric samples for the baseline and the candidate."""

    name: str
    baseline: Sequence[float]
    candidate: Sequence[float]
    weight: float = 1.0


@dataclass(frozen=True)
class InputEffect:
    name: str
    weight: float
    gain: float  # e.g. 0.07: the candidate is 7 % better on this input
    gain_ci: tuple[float, float]
    p_value: float
    p_holm: float
    regressed: bool  # significantly worse than max_regression
    n_baseline: int
    n_candidate: int


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    gain: float  # weighted geometric-mean gain over inputs
    gain_ci: tuple[float, float]
    inputs: list[InputEffect] = field(default_factory=list)
    rule: DecisionRule = field(default_factory=DecisionRule)


def _samples(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(list(values), dtype=np.float64)
    if array.ndim != 1 or array.size < MIN_SAMPLES:
        raise PerflabError(f"decision: {what} needs at least {MIN_SAMPLES} samples (got {array.size})")
    if not np.all(np.isfinite(array)) or np.any(array <= 0.0):
        raise PerflabError(f"decision: {what} holds a value that is not a positive finite number")
    return array


def data_seed(arrays: Sequence[np.ndarray]) -> int:
    """A seed derived from the samples themselves, so the same data always print the same interval."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(b"|")
    return int.from_bytes(digest.digest()[:8], "little")


def _speedup(baseline: np.ndarray, candidate: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Medians along the last axis turned into 'how many times better' (> 1 is better)."""
    mb, mc = np.median(baseline, axis=-1), np.median(candidate, axis=-1)
    return mc / mb if higher_is_better else mb / mc


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return p if np.isfinite(p) else 1.0


def decide(
    inputs: Sequence[InputSamples],
    rule: DecisionRule | None = None,
    *,
    check_passed: bool = True,
    killed: str | None = None,
    seed: int | None = None,
) -> Decision:
    """Apply the rule (module docstring) to per-input samples of the primary metric."""
    rule = rule or DecisionRule()
    if not check_passed or killed:
        try:
            measured = decide(inputs, rule, seed=seed)
        except PerflabError:  # e.g. every candidate run was killed: no samples to compare
            measured = Decision("INCONCLUSIVE", "", _NAN, (_NAN, _NAN), [], rule)
        verdict, reason = _verdict(rule, measured.gain, measured.gain_ci, [], check_passed, killed)
        return Decision(verdict, reason, measured.gain, measured.gain_ci, measured.inputs, rule)
    if not inputs:
        raise PerflabError("decision: no inputs to decide on")
    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        raise PerflabError(f"decision: input names must be unique (got {names})")
    weights = np.asarray([i.weight for i in inputs], dtype=np.float64)
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise PerflabError("decision: input weights must be positive numbers")
    weights = weights / weights.sum()
    base = [_samples(i.baseline, f"input {i.name!r} baseline") for i in inputs]
    cand = [_samples(i.candidate, f"input {i.name!r} candidate") for i in inputs]

    rng = np.random.default_rng(data_seed([*base, *cand]) if seed is None else seed)
    tail = (1.0 - rule.confidence) / 2.0
    boot_log = np.zeros(rule.n_boot)
    effects: list[InputEffect] = []
    raw_p = [_mann_whitney(b, c) for b, c in zip(base, cand, strict=True)]
    holm = holm_adjust(raw_p)
    for k, (b, c) in enumerate(zip(base, cand, strict=True)):
        rb = b[rng.integers(0, b.size, size=(rule.n_boot, b.size))]
        rc = c[rng.integers(0, c.size, size=(rule.n_boot, c.size))]
        boot = _speedup(rb, rc, rule.higher_is_better)
        boot_log += weights[k] * np.log(boot)
        gain = float(_speedup(b, c, rule.higher_is_better)) - 1.0
        lo, hi = np.quantile(boot, [tail, 1.0 - tail]) - 1.0
        effects.append(
            InputEffect(
                name=inputs[k].name,
                weight=float(inputs[k].weight),
                gain=gain,
                gain_ci=(float(lo), float(hi)),
                p_value=raw_p[k],
                p_holm=holm[k],
                regressed=holm[k] < rule.alpha and gain < -rule.max_regression,
                n_baseline=int(b.size),
                n_candidate=int(c.size),
            )
        )
    point_log = sum(
        w * np.log(float(_speedup(b, c, rule.higher_is_better)))
        for w, b, c in zip(weights, base, cand, strict=True)
    )
    gain = float(np.exp(point_log)) - 1.0
    lo, hi = (float(v) for v in np.exp(np.quantile(boot_log, [tail, 1.0 - tail])) - 1.0)
    verdict, reason = _verdict(rule, gain, (lo, hi), effects, check_passed, killed)
    return Decision(verdict, reason, gain, (lo, hi), effects, rule)


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _verdict(
    rule: DecisionRule,
    gain: float,
    ci: tuple[float, float],
    effects: list[InputEffect],
    check_passed: bool,
    killed: str | None,
) -> tuple[Verdict, str]:
    lo, hi = ci
    overall = f"overall gain {_pct(gain)} [{_pct(lo)}, {_pct(hi)}] ({rule.confidence:.0%} CI)"
    if not check_passed:
        return "REJECT", "the correctness check failed on the candidate; its measurement is kept on record"
    if killed:
        return "KILL", f"a candidate run exceeded its time limit: {killed}"
    regressed = [e for e in effects if e.regressed]
    if regressed:
        worst = ", ".join(f"{e.name} {_pct(e.gain)} (Holm p={e.p_holm:.2g})" for e in regressed)
        return "DISCARD", f"input(s) regress significantly beyond −{rule.max_regression:.0%}: {worst}"
    if lo > 0.0:
        if gain >= rule.threshold:
            return "KEEP", f"{overall}: significant and ≥ the {rule.threshold:.0%} threshold"
        if gain >= rule.maybe:
            return "MAYBE", f"{overall}: significant, between {rule.maybe:.0%} and {rule.threshold:.0%}"
        return "DISCARD", f"{overall}: significant but below the {rule.maybe:.0%} worth-it bar"
    if hi < rule.maybe:
        return "DISCARD", f"{overall}: the interval rules out a gain of {rule.maybe:.0%} or more"
    return "INCONCLUSIVE", (
        f"{overall}: the interval includes no gain and a gain ≥ {rule.maybe:.0%}; more runs needed"
    )
