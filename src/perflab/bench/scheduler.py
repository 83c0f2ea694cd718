"""When to run what: randomized interleaved blocks and the adaptive stopping rule.

Interleaving: every block runs each command exactly once in a fresh random order (A B, B A, A B, …), so
slow drifts of the machine (thermal, background load, page cache) hit every command alike instead of
biasing whichever ran last. The order comes from ``random.Random(seed)``: the same seed gives the same
order.

Stopping: with ``--runs N`` exactly N blocks. Otherwise at least ``min_runs`` per command, and then stop
as soon as the 95 % CI half-width of the median is below ``target_precision × median`` for every command
(the order-statistic interval from ``perflab.stats``: distribution-free and cheap), or when ``max_runs``
or ``max_time`` is reached.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perflab.errors import OptionError


@dataclass(frozen=True)
class RunCount:
    """How many runs: fixed (``runs``) or adaptive (the rest)."""

    runs: int | None = None
    min_runs: int = 10
    max_runs: int = 1000
    max_time_s: float = 5.0
    target_precision: float = 0.01
    confidence: float = 0.95
    min_time_s: float = 0.0  # hyperfine's --min-benchmarking-time: never stop on precision before this

    def validate(self) -> None:
        if self.runs is not None and self.runs < 1:
            raise OptionError("runs", self.runs, "must be at least 1")
        if self.min_runs < 2:
            raise OptionError("min_runs", self.min_runs, "must be at least 2")
        if self.max_runs < self.min_runs:
            raise OptionError("max_runs", self.max_runs, "is below", other=("min_runs", self.min_runs))
        if not self.max_time_s > 0:
            raise OptionError("max_time_s", self.max_time_s, "must be positive")
        if not 0 < self.target_precision < 1:
            raise OptionError("target_precision", self.target_precision,
                              "must be between 0 and 1 (0.01 = 1 % of the median)")


class BlockOrder:
    """Random permutations of ``range(k)`` (plus extra hidden slots such as the shell calibration)."""

    def __init__(self, items: Sequence[int], seed: int) -> None:
        self.items = list(items)
        self.rng = random.Random(seed)

    def next_block(self) -> list[int]:
        block = list(self.items)
        self.rng.shuffle(block)
        return block


def relative_halfwidth(values: Sequence[float], confidence: float = 0.95, offset: float = 0.0) -> float:
    """Half-width of the median's CI divided by (median − offset); inf when undefined."""
    import numpy as np

    from perflab.stats.bootstrap import median_ci

    if len(values) < 3:
        return math.inf
    lo, hi = median_ci(values, confidence)
    median = float(np.median(values)) - offset
    if not (math.isfinite(lo) and math.isfinite(hi)) or median <= 0:
        return math.inf
    return (hi - lo) / 2.0 / median


@dataclass
class StopDecision:
    stop: bool
    reason: str = ""


class StopRule:
    """Decides after each block whether to measure on; remembers when it last computed intervals."""

    def __init__(self, count: RunCount) -> None:
        self.count = count
        self._next_check = count.min_runs
        self.last_precision: list[float] = []

    def decide(self, n: int, elapsed_s: float,
               samples: Sequence[Sequence[float]] | Callable[[], Sequence[Sequence[float]]],
               offsets: Sequence[float] | None = None) -> StopDecision:
        """``samples``: each command's wall times so far, or a function returning them (called only when
        the intervals are due, so a long run does not copy every sample list after every block)."""
        c = self.count
        if c.runs is not None:
            return StopDecision(n >= c.runs, f"{c.runs} runs (--runs)")
        if n < c.min_runs:
            return StopDecision(False)
        if n >= self._next_check:
            # intervals cost a sort each: every block while n is small, then every ~5 % more runs
            self._next_check = n + 1 if n < 50 else math.ceil(n * 1.05)
            if callable(samples):
                samples = samples()
            offsets = offsets or [0.0] * len(samples)
            self.last_precision = [relative_halfwidth(s, c.confidence, o)
                                   for s, o in zip(samples, offsets, strict=True)]
            if all(p <= c.target_precision for p in self.last_precision) and elapsed_s >= c.min_time_s:
                return StopDecision(True, f"median CI within ±{c.target_precision:.1%} for every command")
        if n >= c.max_runs:
            return StopDecision(True, f"--max-runs {c.max_runs} reached")
        if elapsed_s >= c.max_time_s:
            return StopDecision(True, f"--max-time {c.max_time_s:g} s reached")
        return StopDecision(False)

    def estimated_total(self, n: int, elapsed_s: float) -> int:
        """A guess of the final runs per command, for the progress bar's ETA."""
        c = self.count
        if c.runs is not None:
            return c.runs
        guess = c.max_runs
        if self.last_precision and all(math.isfinite(p) for p in self.last_precision) and n > 0:
            worst = max(self.last_precision)
            guess = min(guess, math.ceil(n * (worst / c.target_precision) ** 2))
        if elapsed_s > 0 and n > 0:
            guess = min(guess, math.ceil(n * c.max_time_s / elapsed_s))
        return max(guess, c.min_runs, n)
