"""What the store holds for this page: results by kind, machines, dates, and the warnings that apply."""

from __future__ import annotations

from collections import Counter
from typing import Any

from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section


def _machine(result: ResultView) -> tuple[str, ...]:
    env = result.benchmark.environment or {}
    vm = env.get("vm") or {}
    return (str(env.get("hostname") or "unknown host"), str(env.get("cpu_model") or "CPU unknown"),
            str(env.get("cores_logical") or "?"), str(env.get("kernel_release") or "kernel unknown"),
            str(vm.get("kind") or "yes") if vm.get("detected") else "no")


def _row(result: ResultView) -> dict[str, Any]:
    b = result.benchmark
    return {"id": b.id, "anchor": result.anchor, "kind": b.kind, "created_at": b.created_at,
            "status": b.status, "commands": [c.name for c in b.commands],
            "runs": sum(len(c.runs) for c in b.commands),
            "warnings": len(result.warnings) + sum(len(c.get("warnings") or []) for c in result.commands),
            "emulated": result.emulated, "recomputed": result.recomputed}


def build(data: ReportData) -> Section:
    results = data.results
    machines: dict[tuple[str, ...], list[Any]] = {}
    warnings: dict[str, list[Any]] = {}
    for r in results:
        machines.setdefault(_machine(r), []).append(r.id)
        for w in r.warnings:
            warnings.setdefault(w, []).append(r.id)
    dates = sorted(r.benchmark.created_at for r in results)
    context = {
        "store_url": data.store_url,
        "scope": data.scope,
        "kinds": sorted(Counter(r.kind for r in results).items()),
        "n_results": len(results),
        "n_commands": sum(len(r.benchmark.commands) for r in results),
        "n_runs": sum(len(c.runs) for r in results for c in r.benchmark.commands),
        "first": dates[0] if dates else None,
        "last": dates[-1] if dates else None,
        "machines": [{"host": m[0], "cpu": m[1], "cores": m[2], "kernel": m[3], "vm": m[4], "ids": ids}
                     for m, ids in machines.items()],
        "warnings": sorted(warnings.items(), key=lambda kv: (-len(kv[1]), kv[0])),
        "rows": [_row(r) for r in results],
    }
    return Section("overview", "Overview", "overview.html.j2", context)
