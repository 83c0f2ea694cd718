"""The suite table (one metric): per cell median [CI] and n, speedup of each variant against the
reference with CI and the Holm-corrected verdict, then TOTAL and geometric-mean rows. The same rows as
Markdown for a pull request and as a rich table for the terminal."""

from __future__ import annotations

from typing import Any

from perflab.report.format import byte_unit, fmt_time, fmt_value, scaled, time_unit

TIME_METRICS = ("wall", "user", "sys")


def fmt_metric(value: float | None, metric: str, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if metric in TIME_METRICS:
        return fmt_time(value)
    if metric == "peak_rss":
        u = byte_unit(value)
        return f"{scaled(value, u)} {u[1]}"
    if metric == "instructions":
        return f"{value:.4g}"
    return fmt_value(value, unit)


def _cell(summary: dict[str, Any], metric: str, unit: str) -> str:
    median = summary.get("median")
    if median is None:
        return "n/a"
    lo, hi = summary.get("ci") or [None, None]
    if lo is None or hi is None:
        return f"{fmt_metric(median, metric, unit)} (no CI, n={summary.get('n', 0)})"
    if metric in TIME_METRICS:
        u = time_unit(median)
        return f"{fmt_time(median, u)} [{scaled(lo, u)}, {scaled(hi, u)}] n={summary['n']}"
    return (
        f"{fmt_metric(median, metric, unit)} [{fmt_metric(lo, metric, unit)}, {fmt_metric(hi, metric, unit)}]"
        f" n={summary['n']}"
    )


def _speedup(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("speedup") is None:
        return "n/a"
    lo, hi = entry.get("speedup_ci") or [None, None]
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else " (no CI)"
    return f"{entry['speedup']:.3f}×{ci}"


def _verdict(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "n/a"
    p = entry.get("p_adjusted")
    return entry.get("verdict", "n/a") + (f" (p_Holm={p:.2g})" if p is not None else "")


def suite_rows(bench: Any, metric: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table for ``metric`` (default: the primary)."""
    analysis = bench.analysis
    metric = metric or bench.settings.get("primary") or "wall"
    unit = next(
        (m["unit"] for m in bench.settings.get("suite", {}).get("custom_metrics", []) if m["name"] == metric),
        "",
    )
    reference, variants = analysis["reference"], analysis["variants"]
    others = [v for v in variants if v != reference]
    emulated = set(analysis.get("emulated_variants") or [])

    def shown(v: str) -> str:
        return f"{v} · emulated (TCG)" if v in emulated else v

    header = ["benchmark", "input", *(f"{shown(v)}{' (ref)' if v == reference else ''}" for v in variants)]
    for v in others:
        header += [f"speedup {shown(v)}", f"verdict {shown(v)}"]
    rows = []
    for row in analysis["rows"]:
        cells = [row["benchmark"], row["input"]]
        cells += [_cell(row["cells"][v][metric], metric, unit) for v in variants]
        for v in others:
            entry = row["speedups"][v].get(metric)
            cells += [_speedup(entry), _verdict(entry)]
        rows.append(cells)
    totals = analysis["totals"].get(metric, {})
    if totals.get("sum"):
        used = f"{totals['rows_used']}/{totals['rows']} rows"
        total = ["TOTAL", used]
        total += [
            _cell(
                {"median": totals["sum"][v]["value"], "ci": totals["sum"][v]["ci"], "n": "Σ"}, metric, unit
            ).replace(" n=Σ", "")
            for v in variants
        ]
        geo = ["geometric mean", used, *([""] * len(variants))]
        for v in others:
            t = totals["total_speedup"][v]
            total += [_speedup({"speedup": t["value"], "speedup_ci": t["ci"]}), "bootstrap CI"]
            g = totals["geomean_speedup"][v]
            geo += [_speedup({"speedup": g["value"], "speedup_ci": g["ci"]}), "bootstrap CI"]
        rows += [total, geo]
    return header, rows


def _label_lines(bench: Any) -> list[str]:
    """The emulation label of vm variants under TCG, with the reason, under the table."""
    label = bench.analysis.get("label")
    if not label:
        return []
    variants = ", ".join(bench.analysis.get("emulated_variants") or [])
    reason = bench.settings.get("accel_reason")
    return ["", f"{label}: every figure of {variants} was measured on emulated execution"
                + (f" ({reason})" if reason else "")]


def suite_markdown(bench: Any, metric: str | None = None) -> str:
    """A Markdown table (and how to read it) for a pull request."""
    header, rows = suite_rows(bench, metric)
    metric = metric or bench.settings.get("primary") or "wall"
    analysis = bench.analysis
    lines = [
        f"**{bench.settings.get('suite_name', 'suite')}** — {metric}: median [95 % CI] per cell; speedup = "
        f"how many times better than {analysis['reference']} [95 % bootstrap CI]; verdicts Holm-corrected "
        f"across the suite (alpha {analysis['alpha']:g}, noise band ±{analysis['noise'] * 100:g} %)",
        *_label_lines(bench),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    if bench.status != "complete":
        lines += ["", f"Result {bench.status}: {bench.message}"]
    return "\n".join(lines) + "\n"


def print_suite(console: Any, bench: Any, metric: str | None = None) -> None:
    from rich.table import Table

    from perflab.report.terminal import print_table

    header, rows = suite_rows(bench, metric)
    metric = metric or bench.settings.get("primary") or "wall"
    label = bench.analysis.get("label")
    table = Table(
        title=f"{bench.settings.get('suite_name', 'suite')}: {metric} (median [95 % CI]; speedup vs "
        f"{bench.analysis['reference']}, Holm across the suite)" + (f" — {label}" if label else ""),
        title_justify="left",
    )
    for h in header:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*row)
    print_table(console, table)
    for line in _label_lines(bench):
        console.print(line, highlight=False)
    if bench.status != "complete":
        console.print(f"result {bench.status}: {bench.message}", highlight=False)
