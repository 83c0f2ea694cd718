"""Comparisons each result made (against its first command or a baseline): ratio with CI whiskers, the
p-value and the verdict word; colour only for a significant verdict."""

from __future__ import annotations

from typing import Any

from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import comparison_row

#: kinds whose comparisons another section presents with their own decision (tune try keeps or rolls back)
OWN_SECTION = {"tune-try"}


def comparison_block(result: ResultView, salt: str, tag_prefix: str = "C") -> dict[str, Any]:
    rows = [comparison_row(f"{tag_prefix}{i + 1}", c) for i, c in enumerate(result.comparisons)]
    whiskers = [plots.Whisker(r["tag"], r["ratio"], r["low"], r["high"], r["verdict"]) for r in rows]
    noise = result.comparisons[0].get("noise") if result.comparisons else None
    svg = plots.whiskers_svg(whiskers, noise, salt,
                             "ratio candidate / baseline (median; whiskers: CI)") if rows else None
    return {"id": result.id, "anchor": result.anchor, "kind": result.kind, "rows": rows, "svg": svg,
            "reference": result.analysis.get("reference")}


def build(data: ReportData) -> Section | None:
    results = [r for r in data.results if r.comparisons and r.kind not in OWN_SECTION]
    if not results:
        return None
    blocks = [comparison_block(r, f"cmp-{r.anchor}") for r in results]
    return Section("comparisons", "Comparisons", "comparisons.html.j2", {"blocks": blocks})
