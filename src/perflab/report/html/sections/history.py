"""History: each benchmark across the stored results (a line of medians with a CI band) and the points
where it stepped, as the history analysis found them (adjacent windows, Mann–Whitney, Holm, noise band)."""

from __future__ import annotations

from typing import Any

from perflab.report.format import time_unit
from perflab.report.html import plots
from perflab.report.html.model import ReportData
from perflab.report.html.sections import Section
from perflab.report.html.sections.common import ci_text


def _block(k: int, bench: dict[str, Any]) -> dict[str, Any]:
    cells = bench["cells"]
    medians = [p["median"] for c in cells for p in c["points"] if p["median"]]
    unit = time_unit(min(medians) if medians else None)
    tables = []
    for i, c in enumerate(cells):
        steps = {s["index"]: s for s in c["steps"]}
        rows = [{**p, "text": ci_text(p["median"], p["ci"], unit),
                 "step": (f"step: ×{steps[j]['ratio']:.3f} against the window before "
                          f"(p Holm {steps[j]['p_adjusted']:.3g})") if j in steps else ""}
                for j, p in enumerate(c["points"])]
        tables.append({"tag": f"H{k + 1}.{i + 1}", "input": c["input"], "variant": c["variant"], "rows": rows,
                       "n_steps": len(steps)})
    svg = plots.history_svg(
        [(t["tag"], [p["median"] for p in c["points"]], [p["ci"][0] for p in c["points"]],
          [p["ci"][1] for p in c["points"]]) for t, c in zip(tables, cells, strict=True)],
        [[s["index"] for s in c["steps"]] for c in cells], unit, f"history-{k}")
    return {"name": bench["name"], "anchor": f"history-{k + 1}", "tables": tables, "svg": svg,
            "metric": bench.get("metric", "wall")}


def build(data: ReportData) -> Section | None:
    history = data.extras.get("history")
    if not history:
        return None
    return Section("history", "History", "history.html.j2",
                   {"blocks": [_block(k, b) for k, b in enumerate(history)]})
