"""Vector-search results (`perflab anns run`): per engine its run mode (emulated engines say so), the
build, insert, memory and disk figures, QPS at each recall target, and the recall–QPS curve, every
figure a median over worker processes with its CI, as ``analysis["anns"]`` stores it (docs/anns.md)."""

from __future__ import annotations

from typing import Any

from perflab.report.format import byte_unit, scaled, time_unit
from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import flatten

FIGURES = (("build_s", "build"), ("insert_batch_per_s", "inserts/s (batch)"),
           ("insert_single_per_s", "inserts/s (one by one)"), ("index_peak_rss_bytes", "index memory"),
           ("disk_bytes", "on disk"))


def fig_text(fig: dict[str, Any] | None) -> str:
    """``median [lo, hi] unit (n=…)`` or why there is no figure / no CI."""
    if not fig or fig.get("median") is None:
        return "n/a" + (f" ({fig['why_no_ci']})" if fig and fig.get("why_no_ci") else "")
    unit_name = fig.get("unit") or ""
    if unit_name in ("B", "bytes"):
        unit = byte_unit(fig["median"])
    elif unit_name == "s":
        unit = time_unit(fig["median"])
    else:
        unit = (1.0, unit_name)
    suffix = f" {unit[1]}" if unit[1] else ""
    ci = fig.get("ci")
    n = f" (n={fig.get('n')})" if fig.get("n") is not None else ""
    if not ci or ci[0] is None or ci[1] is None:
        return f"{scaled(fig['median'], unit)}{suffix} (no CI: {fig.get('why_no_ci') or 'too few'}){n}"
    return f"{scaled(fig['median'], unit)} [{scaled(ci[0], unit)}, {scaled(ci[1], unit)}]{suffix}{n}"


def _engine_row(tag: str, name: str, e: dict[str, Any]) -> dict[str, Any]:
    figures = e.get("figures") or {}
    return {"tag": tag, "name": name, "run_mode": e.get("run_mode") or "unknown",
            "emulated": "emulat" in str(e.get("run_mode") or "").lower(), "version": e.get("version"),
            "algorithm": e.get("algorithm"), "installed": e.get("installed"),
            "ok": e.get("processes_ok"), "failed": e.get("processes_failed"), "notes": e.get("notes") or [],
            "figures": [fig_text(figures.get(key)) for key, _ in FIGURES]}


def _curve(e: dict[str, Any], threads: str) -> list[tuple[float, float, float | None, float | None]]:
    points = []
    for p in e.get("curve") or []:
        recall, qps = (p.get("recall") or {}).get("median"), (p.get("qps") or {}).get(threads) or {}
        if recall is not None and qps.get("median"):
            lo, hi = (qps.get("ci") or [None, None])[:2]
            points.append((recall, qps["median"], lo, hi))
    return sorted(points)


def _block(result: ResultView) -> dict[str, Any]:
    anns = result.analysis.get("anns") or {}
    engines = anns.get("engines") or {}
    threads = [str(t) for t in anns.get("threads") or [1]]
    rows = [_engine_row(f"E{i + 1}", name, e) for i, (name, e) in enumerate(engines.items())]
    targets = []
    for key in sorted({k for e in engines.values() for k in e.get("qps_at_recall") or {}}):
        targets.append({"key": key, "cells": [
            fig_text((e.get("qps_at_recall") or {}).get(key)) + (
                f" — {(e.get('qps_at_recall') or {}).get(key, {}).get('reached_in')}"
                if (e.get("qps_at_recall") or {}).get(key, {}).get("reached_in") else "")
            for e in engines.values()]})
    lines = [(f"E{i + 1}", _curve(e, threads[0])) for i, e in enumerate(engines.values())]
    lines = [(tag, points) for tag, points in lines if points]
    svg = plots.curve_svg(lines, f"anns-{result.anchor}", f"recall@{anns.get('k', '?')}",
                          f"queries/s, {threads[0]} thread(s)") if lines else None
    b = result.benchmark
    dataset = anns.get("dataset") or {}
    return {"id": b.id, "anchor": result.anchor, "created_at": b.created_at, "status": b.status,
            "message": b.message, "dataset": dataset, "k": anns.get("k"), "threads": threads,
            "processes": anns.get("processes"), "rows": rows, "labels": [label for _, label in FIGURES],
            "targets": targets, "svg": svg, "warnings": result.warnings,
            "engine_settings": flatten(anns["engine_settings"]) if anns.get("engine_settings") else [],
            "environment": flatten(b.environment) if b.environment else []}


def build(data: ReportData) -> Section | None:
    results = [r for r in data.of_kind("anns") if r.analysis.get("anns")]
    if not results:
        return None
    return Section("anns", "Vector search (anns)", "anns.html.j2", {"blocks": [_block(r) for r in results]})
