"""A markdown table in hyperfine's relative style, with the median's CI and the ratio's CI added.

"Relative" is the ratio of medians against the reference (the first command, or the stored baseline)
with its bootstrap CI, the same figure the verdicts use, rather than hyperfine's ratio of means to the
fastest command, which carries no interval a reader could check.
"""

from __future__ import annotations

from typing import Any

from perflab.report.format import fmt_mean_sd, fmt_with_ci, scaled, time_unit, verdict_line, warning_lines
from perflab.store.model import Benchmark


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


class MarkdownExporter:
    name = "markdown"
    extension = ".md"

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes:
        commands = analysis["commands"]
        first = next((c["wall"]["median"] for c in commands if c["wall"]["median"] is not None), None)
        unit = time_unit(first)
        u = unit[1]
        lines = [
            f"| Command | Mean [{u}] | Median [{u}] (95% CI) | Min [{u}] | Max [{u}] | Relative (95% CI) |",
            "|:---|---:|---:|---:|---:|---:|",
        ]
        ratios = {
            c.get("candidate_index"): c
            for c in analysis.get("comparisons", [])
            if c.get("metric", "wall") == "wall"
        }
        reference = analysis.get("reference")
        for i, cmd in enumerate(commands):
            wall = cmd["wall"]
            mean = fmt_mean_sd(wall, (unit[0], ""))  # a single run: "± n/a (n=1)" says why
            median = fmt_with_ci(wall, "median", (unit[0], ""))
            comp = ratios.get(i)
            if i == 0 and reference == "first command":
                relative = "1.00 (reference)"
            elif comp is None or comp["ratio"] is None:
                relative = "n/a"
            else:
                lo, hi = comp["ratio_ci"]
                relative = f"{comp['ratio']:.2f}"
                relative += f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else " (no CI)"
            lines.append(
                f"| `{_cell(cmd['command'])}` | {mean} | {_cell(median)} | {scaled(wall['min'], unit)} | "
                f"{scaled(wall['max'], unit)} | {relative} |"
            )
        comparisons = analysis.get("comparisons", [])
        if comparisons:
            lines += ["", "Verdicts (alpha {:g}, noise band ±{:g} %):".format(
                analysis.get("alpha", 0.05), analysis.get("noise", 0.01) * 100), ""]
            lines += [f"- {_cell(verdict_line(c))}" for c in comparisons]
        warnings = warning_lines(analysis)
        if warnings:
            lines += ["", "Warnings:", ""] + [f"- {_cell(w)}" for w in warnings]
        return ("\n".join(lines) + "\n").encode()
