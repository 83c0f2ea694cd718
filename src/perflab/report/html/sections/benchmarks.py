"""Per benchmark: every command's distribution (histogram + points, outliers marked), median ± CI, n,
noise warnings and the run-order plot, then the result's environment (collapsible)."""

from __future__ import annotations

from typing import Any

from perflab.report.format import fmt_mean_sd, fmt_range
from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import ci_text, flatten, unit_for

#: points drawn as markers in the distributions over the whole page; each command gets its share
PAGE_POINT_BUDGET = 5_000
MIN_POINTS, MAX_POINTS = 60, 1_000
#: vertices of the run-order lines over the whole page (a vertex costs a fifth of a marker)
PAGE_LINE_BUDGET = 40_000
MIN_LINE, MAX_LINE = 200, 5_000


def _outliers(summary: dict[str, Any]) -> set[int]:
    o = summary.get("outliers") or {}
    return {int(i) for key in ("modified_z", "tukey_mild", "tukey_severe") for i in o.get(key) or []}


def _command_row(i: int, cmd: dict[str, Any], unit: tuple[float, str]) -> dict[str, Any]:
    wall = cmd.get("wall") or {}
    ci = wall.get("median_ci") or [None, None]
    return {"tag": f"#{i + 1}", "name": cmd.get("name", ""), "command": cmd.get("command", ""),
            "parameters": cmd.get("parameters") or {}, "n": wall.get("n", 0), "runs": cmd.get("runs", 0),
            "median": wall.get("median"), "low": ci[0], "high": ci[1],
            "median_text": ci_text(wall.get("median"), ci, unit),
            "mean_sd": fmt_mean_sd(wall, unit), "range": fmt_range(wall, unit),
            "outliers": (wall.get("outliers") or {}).get("count", 0),
            "excluded": cmd.get("excluded_runs", 0), "warnings": cmd.get("warnings") or []}


def _thinning_notes(series: list[plots.Series], budget: tuple[int, int]) -> list[str]:
    notes = []
    for s in series:
        n = len(s.values)
        points = len(plots.thin(n, s.outliers, budget[0]))
        line = len(plots.thin(n, set(), budget[1]))
        if points < n or line < n:
            notes.append(f"{s.tag}: {points} of {n} runs drawn as points in the distribution and {line} "
                         f"joined in run order (every k-th run in run order; every outlier is marked in "
                         f"both); the histogram, median and CI use all {n}")
    return notes


def _result_block(result: ResultView, budget: tuple[int, int]) -> dict[str, Any]:
    unit = unit_for(result.commands)
    series = [plots.Series(f"#{i + 1}", result.samples[i] if i < len(result.samples) else [],
                           _outliers(cmd.get("wall") or {}), (cmd.get("wall") or {}).get("median"),
                           tuple((cmd.get("wall") or {}).get("median_ci") or (None, None)))
              for i, cmd in enumerate(result.commands)]
    has_values = any(len(s.values) for s in series)
    b = result.benchmark
    return {"result": result, "id": b.id, "anchor": result.anchor, "kind": b.kind,
            "created_at": b.created_at, "status": b.status, "message": b.message,
            "rows": [_command_row(i, c, unit) for i, c in enumerate(result.commands)],
            "svg": plots.samples_svg(series, unit, budget, salt=result.anchor) if has_values else None,
            "thinned": _thinning_notes(series, budget), "warnings": result.warnings,
            "environment": flatten(b.environment) if b.environment else [],
            "settings": flatten(b.settings) if b.settings else []}


def build(data: ReportData) -> Section | None:
    results = [r for r in data.results if r.commands]
    if not results:
        return None
    n_series = sum(len(r.commands) for r in results)
    budget = (max(MIN_POINTS, min(MAX_POINTS, PAGE_POINT_BUDGET // max(n_series, 1))),
              max(MIN_LINE, min(MAX_LINE, PAGE_LINE_BUDGET // max(n_series, 1))))
    return Section("benchmarks", "Benchmarks", "benchmarks.html.j2",
                   {"blocks": [_result_block(r, budget) for r in results], "budget": budget})
