"""Suite figures from stored samples: per cell median ± CI, speedups against the reference variant with
CI and a Holm-corrected verdict, a TOTAL row and a geometric-mean speedup, each with a bootstrap CI.

Speedup is "how many times better than the reference": reference / variant for a metric where lower is
better (time, instructions, memory), variant / reference where higher is better; > 1 means the variant
wins. The Holm family is every (benchmark, input, variant) comparison of one metric across the whole
suite, so running more benchmarks does not buy more false "faster" verdicts.

TOTAL is the sum of the cells' medians (as the "TOTAL" rows teams publish); its CI and the CI of the
TOTAL speedup come from resampling every cell's runs independently (percentile bootstrap). The geometric
mean of the per-row speedups gets its CI the same way. Rows where a variant has no samples are left out
of TOTAL and the geometric mean, and the result says how many rows were used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perflab.analysis.benchmark import comparison_to_dict
from perflab.stats.bootstrap import median_ci
from perflab.stats.compare import compare_many


@dataclass
class Cell:
    """The samples of one benchmark × input × variant, per metric."""

    benchmark: str
    input: str
    variant: str
    samples: dict[str, list[float]] = field(default_factory=dict)


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def cell_summary(values: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """n, median and the median's distribution-free CI (order statistics); no CI below 6 runs."""
    if not values:
        return {"n": 0, "median": None, "ci": [None, None], "note": "no samples"}
    lo, hi = median_ci(values, confidence)
    out: dict[str, Any] = {"n": len(values), "median": float(np.median(values)), "ci": [_num(lo), _num(hi)]}
    if not math.isfinite(lo):
        out["note"] = f"no CI: {len(values)} run(s) are too few"
    return out


def _speedup(comparison: dict[str, Any], higher_is_better: bool) -> dict[str, Any]:
    ratio, (lo, hi) = comparison["ratio"], comparison["ratio_ci"]
    if higher_is_better:
        return {"speedup": ratio, "speedup_ci": [lo, hi], **comparison}
    inverse = None if not ratio else 1.0 / ratio
    ci = [1.0 / hi if hi else None, 1.0 / lo if lo else None]
    return {"speedup": inverse, "speedup_ci": ci, **comparison}


def _rows(cells: Sequence[Cell]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((c.benchmark, c.input) for c in cells))


def analyze_suite(
    cells: Sequence[Cell],
    *,
    variants: Sequence[str],
    reference: str,
    metrics: Sequence[str],
    higher_is_better: dict[str, bool],
    alpha: float = 0.05,
    noise: float = 0.01,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
) -> dict[str, Any]:
    """The suite table as a JSON-friendly dict (see the module docstring)."""
    by_key = {(c.benchmark, c.input, c.variant): c for c in cells}
    rows = _rows(cells)
    others = [v for v in variants if v != reference]
    out_rows: list[dict[str, Any]] = []
    for bench, inp in rows:
        cell_stats = {
            v: {m: cell_summary(_values(by_key, bench, inp, v, m), confidence) for m in metrics}
            for v in variants
        }
        out_rows.append(
            {"benchmark": bench, "input": inp, "cells": cell_stats, "speedups": {v: {} for v in others}}
        )
    family_sizes = {}
    for m in metrics:
        jobs = [(i, v) for i in range(len(rows)) for v in others]
        pairs = [(_values(by_key, *rows[i], reference, m), _values(by_key, *rows[i], v, m)) for i, v in jobs]
        usable = [k for k, (a, b) in enumerate(pairs) if a and b]
        found = compare_many(
            [pairs[k] for k in usable],
            alpha=alpha,
            noise=noise,
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
            higher_is_better=higher_is_better.get(m, False),
        )
        family_sizes[m] = len(usable)
        for k, result in zip(usable, found, strict=True):
            i, v = jobs[k]
            out_rows[i]["speedups"][v][m] = _speedup(
                comparison_to_dict(result), higher_is_better.get(m, False)
            )
        for k in set(range(len(jobs))) - set(usable):
            i, v = jobs[k]
            out_rows[i]["speedups"][v][m] = {
                "speedup": None,
                "speedup_ci": [None, None],
                "verdict": "inconclusive",
                "reason": "no samples on one side",
            }
    rng = np.random.default_rng(seed)
    totals = {
        m: _totals(
            by_key, rows, variants, reference, m, higher_is_better.get(m, False), confidence, n_boot, rng
        )
        for m in metrics
    }
    return {
        "reference": reference,
        "variants": list(variants),
        "metrics": list(metrics),
        "alpha": alpha,
        "noise": noise,
        "confidence": confidence,
        "holm_family": "per metric, across the whole suite",
        "family_sizes": family_sizes,
        "rows": out_rows,
        "totals": totals,
    }


def _values(
    by_key: dict[tuple[str, str, str], Cell], bench: str, inp: str, variant: str, metric: str
) -> list[float]:
    cell = by_key.get((bench, inp, variant))
    return list(cell.samples.get(metric, [])) if cell is not None else []


def _boot_medians(values: list[float], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return np.median(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)


def _interval(dist: np.ndarray, confidence: float) -> list[float | None]:
    dist = dist[np.isfinite(dist)]
    if dist.size == 0:
        return [None, None]
    tail = (1.0 - confidence) / 2.0 * 100.0
    return [float(np.percentile(dist, tail)), float(np.percentile(dist, 100.0 - tail))]


def _totals(
    by_key: dict[tuple[str, str, str], Cell],
    rows: list[tuple[str, str]],
    variants: Sequence[str],
    reference: str,
    metric: str,
    higher: bool,
    confidence: float,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """TOTAL per variant (sum of medians), TOTAL speedup and geometric-mean speedup, with bootstrap CIs."""
    complete = [r for r in rows if all(_values(by_key, *r, v, metric) for v in variants)]
    out: dict[str, Any] = {
        "rows_used": len(complete),
        "rows": len(rows),
        "ci_method": f"percentile bootstrap, every cell resampled independently, {n_boot} resamples",
        "sum": {},
        "total_speedup": {},
        "geomean_speedup": {},
    }
    if not complete:
        out["note"] = "no row has samples for every variant"
        return out
    boots = {
        v: np.array([_boot_medians(_values(by_key, *r, v, metric), n_boot, rng) for r in complete])
        for v in variants
    }  # rows × resamples
    medians = {v: np.array([np.median(_values(by_key, *r, v, metric)) for r in complete]) for v in variants}
    for v in variants:
        out["sum"][v] = {"value": float(medians[v].sum()), "ci": _interval(boots[v].sum(axis=0), confidence)}
    ref_sum, ref_boot = medians[reference].sum(), boots[reference].sum(axis=0)
    for v in variants:
        if v == reference:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            total = _oriented(ref_sum, medians[v].sum(), higher)
            total_dist = _oriented(ref_boot, boots[v].sum(axis=0), higher)
            per_row = _oriented(medians[reference], medians[v], higher)
            row_dist = _oriented(boots[reference], boots[v], higher)
            geo = float(np.exp(np.mean(np.log(per_row)))) if np.all(per_row > 0) else float("nan")
            geo_dist = np.exp(np.mean(np.log(np.where(row_dist > 0, row_dist, np.nan)), axis=0))
        out["total_speedup"][v] = {"value": _num(float(total)), "ci": _interval(total_dist, confidence)}
        out["geomean_speedup"][v] = {"value": _num(geo), "ci": _interval(geo_dist, confidence)}
    return out


def _oriented(ref: Any, var: Any, higher: bool) -> Any:
    """Speedup of ``var`` over ``ref``: > 1 means better."""
    return var / ref if higher else ref / var


def compare_suites(
    base: Sequence[Cell],
    current: Sequence[Cell],
    *,
    metric: str,
    higher_is_better: bool,
    threshold: float,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Every cell of ``current`` against the same (benchmark, input, variant) cell of ``base``, Holm across
    all of them; a cell *regressed* when its verdict is "slower": Holm-adjusted p < alpha and the whole CI
    of the change beyond ``threshold`` (the noise band of the verdict rule)."""
    base_by = {(c.benchmark, c.input, c.variant): c for c in base}
    matched = [
        (base_by[(c.benchmark, c.input, c.variant)], c)
        for c in current
        if (c.benchmark, c.input, c.variant) in base_by
    ]
    pairs = [(b.samples.get(metric, []), c.samples.get(metric, [])) for b, c in matched]
    usable = [k for k, (a, b) in enumerate(pairs) if a and b]
    found = compare_many(
        [pairs[k] for k in usable],
        alpha=alpha,
        noise=threshold,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        higher_is_better=higher_is_better,
    )
    out = []
    for k, result in zip(usable, found, strict=True):
        b, c = matched[k]
        entry = comparison_to_dict(result)
        entry.update(
            benchmark=c.benchmark,
            input=c.input,
            variant=c.variant,
            metric=metric,
            baseline_median=float(np.median(pairs[k][0])),
            median=float(np.median(pairs[k][1])),
            regressed=result.verdict == "slower",
            family_size=len(usable),
        )
        out.append(entry)
    return out
