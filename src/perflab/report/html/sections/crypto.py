"""Kernel and userspace crypto throughput: per algorithm and implementation, the median bytes/s with its
CI at each buffer size; implementations that could not run say why."""

from __future__ import annotations

from typing import Any

from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import flatten


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x / 1e6:.4g}"


def _block(result: ResultView) -> dict[str, Any]:
    crypto = result.analysis.get("crypto") or {}
    rows, lines = [], []
    for i, r in enumerate(crypto.get("results") or []):
        tag = f"I{i + 1}"
        points = []
        for s in r.get("sizes") or []:
            rows.append({"tag": tag, "algorithm": r.get("algorithm"), "source": r.get("source"),
                         "implementation": r.get("implementation"), "size": s.get("size"),
                         "median": _mb(s.get("median")), "low": _mb(s.get("ci_low")),
                         "high": _mb(s.get("ci_high")), "n": len(s.get("bytes_per_s") or []),
                         "notes": s.get("notes") or []})
            if s.get("median") is not None:
                points.append((s["size"], s["median"], s.get("ci_low"), s.get("ci_high")))
        if points:
            lines.append((tag, points))
    unavailable = [{"algorithm": r.get("algorithm"), "source": r.get("source"), "status": r.get("status"),
                    "reason": r.get("reason") or "", "enable": r.get("enable_config") or []}
                   for r in crypto.get("results") or [] if r.get("status") != "ok"]
    legend = [{"tag": f"I{i + 1}", "algorithm": r.get("algorithm"), "source": r.get("source"),
               "implementation": r.get("implementation") or "—", "status": r.get("status")}
              for i, r in enumerate(crypto.get("results") or [])]
    b = result.benchmark
    return {"id": b.id, "anchor": result.anchor, "created_at": b.created_at, "rows": rows,
            "legend": legend, "unavailable": unavailable, "af_alg": crypto.get("af_alg"),
            "af_alg_reason": crypto.get("af_alg_reason"), "enable_config": crypto.get("enable_config") or [],
            "drivers": sorted((crypto.get("active_drivers") or {}).items()),
            "svg": plots.throughput_svg(lines, f"crypto-{result.anchor}") if lines else None,
            "warnings": result.warnings, "environment": flatten(b.environment) if b.environment else [],
            "settings": flatten(b.settings) if b.settings else []}


def build(data: ReportData) -> Section | None:
    results = data.of_kind("crypto")
    if not results:
        return None
    return Section("crypto", "Kernel and crypto throughput", "crypto.html.j2",
                   {"blocks": [_block(r) for r in results]})
