"""From per-process measurements to figures with CIs: flat metrics, recall–QPS curves, Pareto frontier,
QPS at a recall target. Pure functions on dicts and arrays (no files, no clock).

Every figure is the median over replicate processes with a 95 % percentile-bootstrap CI of that median
(perflab.stats.bootstrap_ci, seeded); QPS at a recall target is computed in each process from its own
curve and then summarised the same way, so its CI carries the between-process spread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from perflab.stats import bootstrap_ci

RECALL_TARGETS = (0.90, 0.95, 0.99)
CI_SEED = 20240613
SCALARS = {  # metric → (unit, higher is better)
    "build_s": ("s", False),
    "insert_batch_per_s": ("vectors/s", True),
    "insert_single_per_s": ("vectors/s", True),
    "index_peak_rss_bytes": ("bytes", False),
    "disk_bytes": ("bytes", False),
}


def setting_key(param: str | None, value: Any) -> str:
    return "default" if value is None else f"{param or 'param'}={value}"


def frontier(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto-optimal (recall, qps) points, by rising recall: none has both ≥ and one >."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    keep, best_qps = [], -math.inf
    for i in order:
        if points[i][1] > best_qps:
            keep.append(i)
            best_qps = points[i][1]
    return sorted(keep, key=lambda i: points[i][0])


def qps_at_recall(points: list[tuple[float, float]], target: float) -> float | None:
    """QPS at ``target`` recall, linearly interpolated between the frontier points around it.

    None when no setting reaches the target. When every frontier point is at or above it, the fastest
    of them (no extrapolation beyond measured settings).
    """
    front = [points[i] for i in frontier(points)]
    above = [p for p in front if p[0] >= target]
    if not above:
        return None
    hi = above[0]  # lowest recall ≥ target: the fastest such point on the frontier
    below = [p for p in front if p[0] < target]
    if not below:
        return hi[1]
    lo = below[-1]
    return lo[1] + (target - lo[0]) * (hi[1] - lo[1]) / (hi[0] - lo[0])


def flatten(result: dict[str, Any], threads: list[int]) -> dict[str, float]:
    """One worker's measurement as the flat ``metrics`` dict stored on its Run (see docs/anns.md)."""
    m = result["measurement"]
    param = result.get("search_param")
    flat: dict[str, float] = {}
    for name in SCALARS:
        if m.get(name) is not None:
            flat[name] = float(m[name])
    curves: dict[int, list[tuple[float, float]]] = {t: [] for t in threads}
    for s in m["settings"]:
        key = setting_key(param, s["value"])
        flat[f"{key}:recall"] = s["recall"]
        for pct in ("p50_ms", "p95_ms", "p99_ms"):
            flat[f"{key}:{pct}"] = s[pct]
        for t, qps in s["qps"].items():
            flat[f"{key}:qps_{t}t"] = qps
            if int(t) in curves:
                curves[int(t)].append((s["recall"], qps))
    for t, points in curves.items():
        for target in RECALL_TARGETS:
            q = qps_at_recall(points, target)
            if q is not None:
                flat[f"qps_at_recall_{target:.2f}_{t}t"] = q
    return flat


def figure(values: list[float], unit: str = "") -> dict[str, Any]:
    """Median and 95 % CI over processes; the CI is null (and says why) below 3 processes."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"median": None, "ci": None, "n": 0, "unit": unit, "why_no_ci": "no process measured it"}
    lo, hi = bootstrap_ci(x, np.median, seed=CI_SEED)
    out: dict[str, Any] = {"median": float(np.median(x)), "ci": None, "n": int(x.size), "unit": unit}
    if math.isnan(lo):
        out["why_no_ci"] = f"{x.size} process(es): a CI needs at least 3"
    else:
        out["ci"] = [lo, hi]
    return out


def summarize_engine(runs: list[dict[str, float]], sweep: list[Any], param: str | None,
                     threads: list[int]) -> dict[str, Any]:
    """Figures, curve (per setting), frontier and QPS-at-recall of one engine over its processes."""
    def col(name: str) -> list[float]:
        return [r[name] for r in runs if name in r]

    figures = {name: figure(col(name), unit) for name, (unit, _) in SCALARS.items() if col(name)}
    curve = []
    for value in sweep:
        key = setting_key(param, value)
        curve.append({
            "value": value, "key": key, "recall": figure(col(f"{key}:recall")),
            "qps": {str(t): figure(col(f"{key}:qps_{t}t"), "queries/s") for t in threads},
            **{pct: figure(col(f"{key}:{pct}"), "ms") for pct in ("p50_ms", "p95_ms", "p99_ms")},
        })
    fronts = {}
    for t in threads:
        pts = [(c["recall"]["median"], c["qps"][str(t)]["median"]) for c in curve]
        ok = [i for i, p in enumerate(pts) if None not in p]
        fronts[str(t)] = [curve[ok[j]]["key"] for j in frontier([pts[i] for i in ok])]
    at_recall = {}
    for t in threads:
        for target in RECALL_TARGETS:
            name = f"qps_at_recall_{target:.2f}_{t}t"
            fig = figure(col(name), "queries/s")
            fig["reached_in"] = f"{len(col(name))}/{len(runs)} processes"
            at_recall[name] = fig
    return {"figures": figures, "curve": curve, "frontier": fronts, "qps_at_recall": at_recall}


PHRASES = {  # metric → (what A does, comparative)
    "insert_batch_per_s": ("inserts (batch)", "faster"),
    "insert_single_per_s": ("inserts (one by one)", "faster"),
    "build_s": ("builds", "faster"),
    "index_peak_rss_bytes": ("index memory is", "smaller"),
    "disk_bytes": ("on-disk index is", "smaller"),
}


def _phrase(metric: str) -> tuple[str, str, bool]:
    if metric in PHRASES:
        return (*PHRASES[metric], SCALARS[metric][1])
    # qps_at_recall_0.90_2t
    _, _, rest = metric.partition("qps_at_recall_")
    target, _, threads = rest.rpartition("_")
    return f"searches at recall ≥ {target} ({threads[:-1]} thread(s))", "faster", True


def compare_engines(a: list[dict[str, float]], b: list[dict[str, float]]) -> list[dict[str, Any]]:
    """A against B on every metric both measured: factor (in A's favour when > 1) with CI and verdict.

    Uses perflab.stats.compare (Mann–Whitney U + bootstrap CI of the ratio of medians, 1 % noise band) over
    the per-process values, one question per figure: not Holm-adjusted across figures, because with five
    processes a side the smallest possible p (0.008) times ten figures could never be significant.
    """
    from perflab.stats import compare

    names = [m for m in [*SCALARS, *sorted({k for r in a for k in r if k.startswith("qps_at_recall_")})]
             if any(m in r for r in a) and any(m in r for r in b)]
    pairs, highers = [], []
    for m in names:
        pairs.append(([r[m] for r in b if m in r], [r[m] for r in a if m in r]))
        highers.append(_phrase(m)[2])
    rows = []
    for m, (base, cand), higher in zip(names, pairs, highers, strict=True):
        what, better, _ = _phrase(m)
        if np.median(base) <= 0 or np.median(cand) <= 0:
            rows.append({"metric": m, "what": what, "better": better, "factor": math.nan,
                         "ci": [math.nan, math.nan], "verdict": "not comparable", "p": math.nan,
                         "reason": "a median is 0 (below what was measurable)", "n_a": len(cand),
                         "n_b": len(base)})
            continue
        c = compare(base, cand, higher_is_better=higher, seed=CI_SEED)
        ratio, (lo, hi) = c.ratio, c.ratio_ci
        if not higher:  # factor in A's favour: B/A for lower-is-better
            ratio, lo, hi = 1.0 / ratio, 1.0 / hi if hi > 0 else math.inf, 1.0 / lo if lo > 0 else math.inf
        rows.append({"metric": m, "what": what, "better": better, "factor": ratio, "ci": [lo, hi],
                     "verdict": c.verdict, "p": c.p_adjusted, "reason": c.reason,
                     "n_a": c.n_candidate, "n_b": c.n_baseline})
    return rows
