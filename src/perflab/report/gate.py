"""Presentation of the CI gate (`perflab check`) and of a benchmark's history."""

from __future__ import annotations

from typing import Any

from perflab.report.suite import fmt_metric


def print_check(console: Any, result: Any) -> None:
    from rich.table import Table

    from perflab.report.terminal import print_table

    table = Table(
        title=f"#{result.current_id} against #{result.baseline_id}: {result.metric}, threshold "
        f"{result.threshold:.1%}, Holm across {len(result.comparisons)} cells (alpha "
        f"{result.alpha:g})",
        title_justify="left",
    )
    for column in (
        "benchmark",
        "input",
        "variant",
        "baseline",
        "now",
        "ratio [95% CI]",
        "p (Holm)",
        "verdict",
    ):
        table.add_column(column, overflow="fold")
    for c in result.comparisons:
        lo, hi = c["ratio_ci"]
        ratio = (
            "n/a"
            if c["ratio"] is None
            else f"{c['ratio']:.3f}"
            + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else " (no CI)")
        )
        p = c.get("p_adjusted")
        verdict = "REGRESSION" if c["regressed"] else c["verdict"]
        table.add_row(
            c["benchmark"],
            c["input"],
            c["variant"],
            fmt_metric(c["baseline_median"], result.metric),
            fmt_metric(c["median"], result.metric),
            ratio,
            "n/a" if p is None else f"{p:.2g}",
            verdict,
        )
    print_table(console, table)
    console.print(
        "PASS: no significant regression beyond the threshold"
        if result.passed
        else f"FAIL: {len(result.regressions)} cell(s) regressed",
        highlight=False,
    )
