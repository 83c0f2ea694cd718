"""Suite results: the speedup table (every cell's median ± CI, each variant's speedup over the reference
with its CI and verdict, Holm across the suite), the TOTAL and geometric-mean rows, and a plot of the
speedups with their CIs. Everything shown is the suite analysis stored with the result."""

from __future__ import annotations

from typing import Any

from perflab.report.format import byte_unit, time_unit
from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import ci_text, flatten, verdict_view

TIME_METRICS = {"wall", "user", "sys", "instructions_s"}


def _unit(metric: str, medians: list[float]) -> tuple[float, str]:
    typical = min((m for m in medians if m), default=None)
    if metric in TIME_METRICS:
        return time_unit(typical)
    if metric == "peak_rss":
        return byte_unit(typical)
    return 1.0, ""


def _figure_text(entry: dict[str, Any] | None, unit: tuple[float, str] = (1.0, "")) -> str:
    entry = entry or {}
    return ci_text(entry.get("value"), entry.get("ci"), unit)


def _speedup_cell(s: dict[str, Any], metric: str) -> dict[str, Any]:
    lo, hi = (s.get("speedup_ci") or [None, None])[:2]
    value = s.get("speedup")
    text = "n/a" if value is None else (f"{value:.3f}×" if lo is None or hi is None
                                        else f"{value:.3f}× [{lo:.3f}, {hi:.3f}]")
    return {"text": text, "value": value, "low": lo, "high": hi, "reason": s.get("reason") or "",
            **verdict_view({**s, "metric": metric})}


def _metric_table(analysis: dict[str, Any], metric: str) -> dict[str, Any]:
    variants, reference = analysis.get("variants") or [], analysis.get("reference")
    others = [v for v in variants if v != reference]
    medians = [(r["cells"].get(v) or {}).get(metric, {}).get("median") for r in analysis.get("rows") or []
               for v in variants]
    unit = _unit(metric, [m for m in medians if m is not None])
    rows = []
    for r in analysis.get("rows") or []:
        cells = [ci_text((r["cells"].get(v) or {}).get(metric, {}).get("median"),
                         (r["cells"].get(v) or {}).get(metric, {}).get("ci"), unit) for v in variants]
        ns = [(r["cells"].get(v) or {}).get(metric, {}).get("n", 0) for v in variants]
        speedups = [_speedup_cell((r["speedups"].get(v) or {}).get(metric) or {}, metric) for v in others]
        rows.append({"benchmark": r["benchmark"], "input": r["input"], "cells": cells, "ns": ns,
                     "speedups": speedups})
    totals = (analysis.get("totals") or {}).get(metric) or {}
    return {"metric": metric, "unit": unit[1], "variants": variants, "reference": reference,
            "others": others, "rows": rows,
            "total": [_figure_text((totals.get("sum") or {}).get(v), unit) for v in variants],
            "total_speedup": [_figure_text((totals.get("total_speedup") or {}).get(v)) for v in others],
            "geomean": [_figure_text((totals.get("geomean_speedup") or {}).get(v)) for v in others],
            "rows_used": totals.get("rows_used"), "rows_all": totals.get("rows"),
            "ci_method": totals.get("ci_method"), "note": totals.get("note"),
            "family": (analysis.get("family_sizes") or {}).get(metric)}


def _block(result: ResultView) -> dict[str, Any]:
    analysis, settings = result.analysis, result.benchmark.settings
    metrics = list(analysis.get("metrics") or ["wall"])
    primary = settings.get("primary") or metrics[0]
    metrics.sort(key=lambda m: m != primary)
    tables = [_metric_table(analysis, m) for m in metrics]
    main = tables[0]
    whiskers = [plots.Whisker(f"S{k + 1}", s["value"], s["low"], s["high"], s["verdict"])
                for k, (row, s) in enumerate((row, s) for row in main["rows"] for s in row["speedups"])]
    legend = [f"S{k + 1}: {row['benchmark']} / {row['input']} / {v}"
              for k, (row, v) in enumerate((row, v) for row in main["rows"] for v in main["others"])]
    svg = plots.whiskers_svg(whiskers, analysis.get("noise"), f"suite-{result.anchor}",
                             f"speedup over {main['reference'] or 'the reference'} on {primary} "
                             "(> 1: the variant is better; whiskers: CI)", better_is_higher=True)
    b = result.benchmark
    return {"id": b.id, "anchor": result.anchor, "created_at": b.created_at, "status": b.status,
            "message": b.message, "name": settings.get("suite_name") or "unnamed suite",
            "path": settings.get("suite_path"), "primary": primary, "tables": tables,
            "svg": svg if whiskers else None, "legend": legend, "alpha": analysis.get("alpha"),
            "holm": analysis.get("holm_family"),
            "revisions": flatten(settings["revisions"]) if settings.get("revisions") else [],
            "inputs": flatten(settings["inputs"]) if settings.get("inputs") else [],
            "warnings": result.warnings, "emulated": result.emulated,
            "emulated_variants": analysis.get("emulated_variants") or [],
            "environment": flatten(b.environment) if b.environment else []}


def build(data: ReportData) -> Section | None:
    suites = [r for r in data.of_kind("suite") if r.analysis.get("rows") is not None]
    if not suites:
        return None
    return Section("suites", "Suites", "suites.html.j2", {"blocks": [_block(r) for r in suites]})
