"""Comparisons each result made (against its first command or a baseline): ratio with CI whiskers, the
p-value and the verdict word; colour only for a significant verdict."""

from __future__ import annotations

from typing import Any

from perflab.report.html import plots
from perflab.report.html.model import ReportData, ResultView
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import comparison_row

#: kinds whose comparisons another section presents with their own decision (tune try keeps or rolls back)
OWN_SECTION = {"tune-try", "suite"}
#: comparisons per figure: one figure for many results is far cheaper than one each
ROWS_PER_FIGURE = 40


def comparison_block(result: ResultView) -> dict[str, Any]:
    """One result's comparisons as table rows tagged ``#id.k`` (the figure uses the same tags)."""
    rows = [comparison_row(f"#{result.id}.{i + 1}", c) for i, c in enumerate(result.comparisons)]
    return {"id": result.id, "anchor": result.anchor, "kind": result.kind, "rows": rows,
            "reference": result.analysis.get("reference")}


def whisker_figures(results: list[ResultView], blocks: list[dict[str, Any]], salt: str) -> list[str]:
    """Every row of ``blocks`` as ratio-with-CI figures; the noise band is drawn when all share one."""
    rows = [r for b in blocks for r in b["rows"]]
    noises = {c.get("noise") for r in results for c in r.comparisons}
    noise = noises.pop() if len(noises) == 1 else None
    figures = []
    for start in range(0, len(rows), ROWS_PER_FIGURE):
        chunk = rows[start:start + ROWS_PER_FIGURE]
        whiskers = [plots.Whisker(r["tag"], r["ratio"], r["low"], r["high"], r["verdict"]) for r in chunk]
        figures.append(plots.whiskers_svg(whiskers, noise, f"{salt}-{start}",
                                          "ratio candidate / baseline (median; whiskers: CI)"))
    return figures


def build(data: ReportData) -> Section | None:
    results = [r for r in data.results if r.comparisons and r.kind not in OWN_SECTION]
    if not results:
        return None
    blocks = [comparison_block(r) for r in results]
    return Section("comparisons", "Comparisons", "comparisons.html.j2",
                   {"blocks": blocks, "figures": whisker_figures(results, blocks, "cmp")})
