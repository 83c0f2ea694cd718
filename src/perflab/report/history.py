"""``perflab history`` on the terminal: a compact plain-text table per cell (the last results and every
step with the result before it), so that reading a long history costs neither rich nor a 200-row table."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from perflab.report.suite import fmt_metric

COLUMNS = ("result", "date", "commit", "median [95% CI]", "n", "step")


def shown_rows(count: int, steps: list[int], last: int | None) -> list[int]:
    """Indices of the points to show: all (``last`` None), else the last ``last`` and, for every step,
    its point and the one before it (the two sides of the step)."""
    if last is None:
        return list(range(count))
    keep = set(range(max(0, count - last), count))
    for index in steps:
        keep.update(i for i in (index - 1, index) if 0 <= i < count)
    return sorted(keep)


def history_rows(cell: Any, metric: str, rows: list[int]) -> list[tuple[str, ...]]:
    steps = {s.index: s for s in cell.steps}
    out = []
    for i in rows:
        point, summary = cell.points[i], cell.summaries[i]
        lo, hi = summary.ci
        median = fmt_metric(summary.median, metric)
        ci = f" [{fmt_metric(lo, metric)}, {fmt_metric(hi, metric)}]" if lo is not None else " (no CI: n < 6)"
        commit = (point.commit or "")[:10] + ("+dirty" if point.dirty else "")
        step = steps.get(i)
        mark = f"step ×{step.ratio:.3f} (p_Holm={step.p_adjusted:.2g})" if step else ""
        out.append((f"#{point.benchmark_id}", point.created_at, commit or "-", median + ci, str(summary.n),
                    mark))
    return out


def print_history(
    name: str, metric: str, cells: list[Any], *, last: int | None = None, out: TextIO | None = None
) -> None:
    """One table per cell (input × variant); ``last`` None shows every result."""
    out = out or sys.stdout
    for cell in cells:
        label = (
            name
            + (f" [{cell.input}]" if cell.input != "-" else "")
            + (f" @{cell.variant}" if cell.variant else "")
        )
        count = len(cell.points)
        rows = shown_rows(count, [s.index for s in cell.steps], last)
        hidden = count - len(rows)
        scope = f"{count} result{'' if count == 1 else 's'}"
        scope += f", {hidden} not shown (--all shows them)" if hidden else ""
        out.write(f"{label}: {metric}, median [95 % CI]; {scope}\n")
        table = [COLUMNS, *history_rows(cell, metric, rows)]
        widths = [max(len(r[k]) for r in table) for k in range(len(COLUMNS))]
        for position, row in enumerate(table):
            if position > 0:
                gap = rows[position - 1] - (rows[position - 2] if position > 1 else -1) - 1
                if gap:
                    out.write(f"  … {gap} result(s) not shown\n")
            out.write("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
        out.write(f"{len(cell.steps)} step(s): Mann–Whitney between adjacent windows, Holm-corrected\n\n")
    out.flush()
