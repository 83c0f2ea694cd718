"""The CI gate: does a result regress against a baseline, significantly and by more than a threshold?

Every cell of the current result (suite cell, or command of a plain benchmark) is compared with the same
cell of the baseline on one metric (the suite's primary unless asked otherwise), all comparisons Holm-
corrected as one family. A cell *regressed* when its verdict is "slower": the Holm-adjusted Mann–Whitney
p is below ``alpha`` **and** the whole bootstrap CI of the ratio of medians lies beyond ``1 + threshold``
(the verdict rule of docs/statistics.md with the threshold as its noise band). So a change smaller than
the threshold never fails the gate, and noise fails it with probability at most ``alpha`` for the whole
suite (Holm controls the family-wise error rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perflab.analysis.suite import Cell, compare_suites
from perflab.errors import OptionError, PerflabError
from perflab.store.model import Benchmark


@dataclass
class CheckResult:
    comparisons: list[dict[str, Any]]
    metric: str
    threshold: float
    alpha: float
    baseline_id: int | None
    current_id: int | None

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [c for c in self.comparisons if c["regressed"]]

    @property
    def passed(self) -> bool:
        return not self.regressions


def parse_threshold(text: str) -> float:
    """``5%`` or ``0.05`` → 0.05."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise OptionError(
            "threshold", text, "expected a percentage like 5% or a fraction like 0.05"
        ) from None
    if not 0 <= value < 10:
        raise OptionError("threshold", text, "must be between 0 % and 1000 %")
    return value


def cells_of(bench: Benchmark) -> list[Cell]:
    """Comparable cells of a stored result: a suite's cells, or a benchmark's commands (by name)."""
    if bench.kind == "suite":
        from perflab.lab.suite import suite_cells

        return suite_cells(bench)
    from perflab.analysis.samples import samples

    out = []
    for c in bench.commands:
        metrics = ["wall", "user", "sys", "peak_rss", *(m.name for m in c.metrics)]
        out.append(Cell(c.name, "-", "", {m: samples(c, m) for m in metrics}))
    return out


def _direction(bench: Benchmark, metric: str) -> bool:
    if bench.kind == "suite":
        return bool((bench.settings.get("directions") or {}).get(metric, False))
    for c in bench.commands:
        for m in c.metrics:
            if m.name == metric:
                return m.higher_is_better
    return False


def check(
    current: Benchmark,
    baseline: Benchmark,
    *,
    metric: str | None = None,
    threshold: float = 0.05,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> CheckResult:
    """Compare ``current`` with ``baseline`` cell by cell (see the module docstring)."""
    if not 0 < alpha < 1:
        raise OptionError("alpha", alpha, "must be between 0 and 1")
    metric = metric or current.settings.get("primary") or "wall"
    base_cells, cells = cells_of(baseline), cells_of(current)
    comparisons = compare_suites(
        base_cells,
        cells,
        metric=metric,
        higher_is_better=_direction(current, metric),
        threshold=threshold,
        alpha=alpha,
        seed=seed,
    )
    if not comparisons:
        raise PerflabError(
            f"nothing to compare: no cell of #{current.id} has {metric!r} samples matching a "
            f"cell of the baseline #{baseline.id} (same benchmark, input and variant)"
        )
    return CheckResult(comparisons, metric, threshold, alpha, baseline.id, current.id)


def regressions_of(comparisons: list[dict[str, Any]]) -> list[str]:
    """One line per comparison whose verdict is "slower" (for ``perflab compare --fail-on-regression``)."""
    out = []
    for c in comparisons:
        if c.get("verdict") == "slower":
            lo, hi = c.get("ratio_ci") or [None, None]
            ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
            out.append(
                f"{c.get('candidate')} {c.get('metric')}: ratio {c['ratio']:.3f}{ci}, "
                f"p_Holm={c['p_adjusted']:.2g}"
            )
    return out
