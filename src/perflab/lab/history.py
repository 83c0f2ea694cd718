"""``perflab history BENCH``: one benchmark across every stored result, with the points where it stepped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from perflab.analysis.history import PointSummary, Step, change_points, summarize_point
from perflab.errors import PerflabError

if TYPE_CHECKING:
    from perflab.store.db import Store
    from perflab.store.history import SeriesPoint


@dataclass
class CellHistory:
    """One cell (input × variant) of the benchmark over time, oldest first."""

    input: str
    variant: str
    points: list[SeriesPoint]
    summaries: list[PointSummary]
    steps: list[Step] = field(default_factory=list)


def benchmark_history(
    store: Store | str | None,
    name: str,
    *,
    metric: str = "wall",
    window: int = 1,
    alpha: float = 0.05,
    noise: float = 0.01,
) -> list[CellHistory]:
    """Every stored cell of ``name``, grouped by input and variant, with summaries and change points.
    ``store``: an open Store, or a store URL (None: the default store; an SQLite file is read without
    SQLAlchemy)."""
    from perflab.store.history import benchmark_series

    if window < 1:
        raise PerflabError(f"window {window}: must be at least 1")
    points = [p for p in benchmark_series(store, name, metric) if p.values]
    if not points:
        raise PerflabError(
            f"no stored result has samples of {metric!r} for a benchmark named {name!r} (see perflab results)"
        )
    groups: dict[tuple[str, str], list[SeriesPoint]] = {}
    for p in points:
        groups.setdefault((p.input, p.variant), []).append(p)
    out = []
    for (inp, variant), series in groups.items():
        arrays = [np.asarray(p.values, dtype=np.float64) for p in series]  # once for both analyses
        out.append(
            CellHistory(
                inp,
                variant,
                series,
                [summarize_point(a) for a in arrays],
                change_points(arrays, window=window, alpha=alpha, noise=noise),
            )
        )
    return out
