"""Terminal presentation: one rich table per benchmark, then verdicts, then warnings.

Laid out after hyperfine's output (time, range, user/system, then a relative summary), but every figure
carries its uncertainty: the median with its bootstrap CI, the mean with its standard deviation, ratios
with their CI and p-value, or the reason none can be given. Colour is decoration only (NO_COLOR is
honoured by rich); the words carry the meaning.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from perflab.report.format import (
    byte_unit,
    fmt_mean_sd,
    fmt_p,
    fmt_range,
    fmt_time,
    fmt_with_ci,
    time_unit,
    verdict_line,
    warning_lines,
)
from perflab.store.model import Benchmark

_VERDICT_STYLE = {
    "faster": "bold green",
    "slower": "bold red",
    "no significant change": "dim",
    "inconclusive": "yellow",
}


def _metric_names(benchmark: Benchmark) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for c in benchmark.commands:
        for spec in c.metrics:
            seen.setdefault(spec.name, spec.unit)
    return list(seen.items())


def _cpu_cell(cmd: dict[str, Any]) -> str:
    """User and sys CPU time: each mean with its CI, or why there is none."""
    parts = []
    for key in ("user", "sys"):
        s = cmd.get(key) or {}
        if "n" not in s:
            parts.append(f"{key} {fmt_time(s.get('mean'))} (mean only: no per-run values, no CI)")
        else:
            parts.append(f"{key} {fmt_with_ci(s, 'mean', time_unit(s.get('mean')))}")
    return "\n".join(parts)


def _mean_cell(wall: dict[str, Any], unit: tuple[float, str]) -> str:
    """``mean ± σ`` (the spread of the runs) and below it the mean's own CI (its uncertainty)."""
    text = fmt_mean_sd(wall, unit)
    if wall.get("mean") is not None:
        text += "\nCI " + fmt_with_ci(wall, "mean", unit).split(" ", 1)[1]
    return text


MIN_MAX_NOTE = "observed extremes: no CI"
NARROW = 120  # below this width the table would cut figures: one block per command instead


def _memory_cell(cmd: dict[str, Any]) -> str:
    s = cmd.get("peak_rss") or {}
    if "n" not in s:
        return f"n/a: {s.get('note', 'not measured')}"
    return fmt_with_ci(s, "median", byte_unit(s.get("median")))


def _n_cell(cmd: dict[str, Any]) -> str:
    """Runs in the statistics, then those reported apart (failed, cut short) and the warm-ups."""
    text = f"{cmd['wall']['n']}"
    failed = cmd.get("failed_runs", 0)
    apart = cmd.get("statistics_of") == "successful runs"  # absent in analyses stored before this rule
    if failed and apart:
        text += f"\n+{failed} failed"
    elif failed and "statistics_of" in cmd:
        text += " failed"
    cut = cmd.get("excluded_runs", 0) - (failed if apart else 0)
    if cut > 0:
        text += f"\n+{cut} cut"
    return text + f"\n+{cmd.get('warmup_runs', 0)} warm-up"


def results_table(benchmark: Benchmark, analysis: dict[str, Any], *,
                  fixed_unit: tuple[float, str] | None = None, sort: str = "command") -> Table:
    """One row per command (in ``sort`` order, see ``display_order``); each row in its own time unit
    unless ``fixed_unit`` is given (hyperfine's ``-u``)."""
    from perflab.report.export.markup import display_order

    table = Table(title=_title(benchmark), title_justify="left", show_lines=True)
    table.add_column("Command", overflow="fold")
    table.add_column("Median [95% CI]", justify="right", overflow="fold")
    table.add_column("Mean ± σ\n(mean's 95% CI)", justify="right", overflow="fold")
    table.add_column(f"Min … Max\n({MIN_MAX_NOTE})", justify="right", overflow="fold")
    table.add_column("CPU: mean [95% CI]", justify="right", overflow="fold")
    table.add_column("Peak memory\nmedian [95% CI]", justify="right", overflow="fold")
    metrics = _metric_names(benchmark)
    for name, unit in metrics:
        table.add_column(f"{name} [CI]" + (f"\n{unit}" if unit else ""), justify="right", overflow="fold")
    table.add_column("Runs", justify="right", overflow="fold")
    for index in display_order(analysis, sort):
        cmd = analysis["commands"][index]
        wall = cmd["wall"]
        unit = fixed_unit or time_unit(wall.get("median"))
        label = cmd["name"] if cmd["name"] == cmd["command"] else f"{cmd['name']}\n{cmd['command']}"
        row = [
            label,
            fmt_with_ci(wall, "median", unit),
            _mean_cell(wall, unit),
            fmt_range(wall, unit),
            _cpu_cell(cmd),
            _memory_cell(cmd),
        ]
        for name, _unit in metrics:
            entry = cmd.get("metrics", {}).get(name)
            if entry is None:
                row.append("—")
            elif "summary" in entry:
                row.append(fmt_with_ci(entry["summary"], "median", (1.0, "")))
            else:
                row.append(f"n/a: {entry.get('note', '')}")
        row.append(_n_cell(cmd))
        table.add_row(*row)
    return table


def print_blocks(console: Console, benchmark: Benchmark, analysis: dict[str, Any], *,
                 fixed_unit: tuple[float, str] | None = None, sort: str = "command") -> None:
    """The results for a narrow console (a pipe, 80 columns): one block per command, one figure per
    line, as hyperfine prints them, so nothing is cut."""
    from perflab.report.export.markup import display_order

    console.print(Text(_title(benchmark), style="bold"))
    metrics = _metric_names(benchmark)
    for number, index in enumerate(display_order(analysis, sort), start=1):
        cmd = analysis["commands"][index]
        wall = cmd["wall"]
        unit = fixed_unit or time_unit(wall.get("median"))
        console.print()
        head = Text(f"Benchmark {number}: ", style="bold")
        head.append(cmd["name"] + ("" if cmd["name"] == cmd["command"] else f"  ({cmd['command']})"))
        console.print(head)
        lines = [("Median [95% CI]", fmt_with_ci(wall, "median", unit)),
                 ("Mean ± σ", fmt_mean_sd(wall, unit)),
                 ("Mean's 95% CI", fmt_with_ci(wall, "mean", unit)),
                 ("Min … Max", f"{fmt_range(wall, unit)} ({MIN_MAX_NOTE})")]
        for line in _cpu_cell(cmd).split("\n"):
            key, value = line.split(" ", 1)
            lines.append((f"CPU {key}", value))
        lines.append(("Peak memory", _memory_cell(cmd)))
        for name, metric_unit in metrics:
            entry = cmd.get("metrics", {}).get(name)
            if entry is not None:
                value = (fmt_with_ci(entry["summary"], "median", (1.0, metric_unit)) if "summary" in entry
                         else f"n/a: {entry.get('note', '')}")
                lines.append((f"{name} [95% CI]", value))
        lines.append(("Runs", _n_cell(cmd).replace("\n", ", ")))
        print_fields(console, lines)


def print_fields(console: Console, fields: list[tuple[str, str]], *, label_width: int = 17) -> None:
    """The narrow (80-column, piped) layout of every command: one ``label: value`` line per figure, so
    a figure is never cut; a value longer than the line wraps between words, under itself."""
    for label, value in fields:
        line = f"  {label + ':':<{label_width}} {value}"
        if len(line) <= console.width or console.width < label_width + 24:
            console.print(Text(line))
            continue
        grid = Table.grid(padding=(0, 1, 0, 0))  # a hanging indent
        grid.add_column(width=label_width + 2, no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(Text(f"  {label}:"), Text(value))
        console.print(grid)


def _cell_text(cell: Any) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def print_table(console: Console, table: Table) -> None:
    """``table`` when it fits the console's width as it is; otherwise (a pipe, 80 columns) the same
    cells as blocks, one per row, in the narrow layout (``print_fields``): the first cell as the block's
    heading, then the others. A squeezed rich table folds words ("inconclusiv|e", a CI cut in two)."""
    from rich.measure import Measurement

    if Measurement.get(console, console.options.update_width(1 << 16), table).maximum <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(Text(_cell_text(table.title), style="bold"))
    headers = [_cell_text(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    width = max((len(h) + 1 for h in headers[1:]), default=1)
    for row in range(table.row_count):
        values = [_cell_text(column[row]) if row < len(column) else "" for column in cells]
        console.print()
        console.print(Text(values[0] if headers[0] == "" else f"{headers[0]}: {values[0]}", style="bold"))
        print_fields(console, [(h, v) for h, v in zip(headers[1:], values[1:], strict=True) if v],
                     label_width=width)


def _title(benchmark: Benchmark) -> str:
    ident = f"Benchmark #{benchmark.id}" if benchmark.id is not None else "Benchmark"
    status = "" if benchmark.status == "complete" else f" — {benchmark.status.upper()}"
    return f"{ident} ({benchmark.kind}, {benchmark.created_at}){status}"


def print_verdicts(console: Console, comparisons: list[dict[str, Any]]) -> None:
    if not comparisons:
        return
    console.print()
    console.print(Text("Comparisons", style="bold"))
    for c in comparisons:
        line = Text("  ")
        line.append(verdict_line(c), style=_VERDICT_STYLE.get(c["verdict"], ""))
        console.print(line)
        console.print(Text(f"    {c['reason']}", style="dim"))


def print_warnings(console: Console, analysis: dict[str, Any]) -> None:
    _print_warning_lines(console, warning_lines(analysis))


def _print_warning_lines(console: Console, lines: list[str]) -> None:
    if not lines:
        return
    console.print()
    console.print(Text("Warnings", style="bold yellow"))
    for w in lines:
        console.print(Text(f"  ! {w}", style="yellow"))


def print_benchmark(console: Console, benchmark: Benchmark, analysis: dict[str, Any] | None = None, *,
                    time_unit: tuple[float, str] | None = None, sort: str = "command") -> None:
    """The full report of one benchmark; uses the stored analysis unless one is given or none exists."""
    if benchmark.kind == "crypto":  # no command runs: the figures are in the stored analysis
        print_crypto_benchmark(console, benchmark)
        return
    if analysis is None:
        from perflab.analysis.benchmark import stored_or_fresh

        analysis = stored_or_fresh(benchmark)
    if console.width < NARROW:
        print_blocks(console, benchmark, analysis, fixed_unit=time_unit, sort=sort)
    else:
        console.print(results_table(benchmark, analysis, fixed_unit=time_unit, sort=sort))
    print_verdicts(console, analysis.get("comparisons", []))
    print_warnings(console, analysis)


def fmt_rate(value: float | None) -> str:
    """Bytes per second in decimal units (``1.23 GB/s``); ``n/a`` when undefined."""
    if value is None or value != value:
        return "n/a"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} B/s"


def print_crypto_results(console: Console, results: list[dict[str, Any]]) -> None:
    """``perflab crypto bench`` results (dicts of ``CryptoResult``): one table per measured
    implementation with the median's CI, then what was not measured, why, and what would enable it."""
    from rich.markup import escape

    for r in (r for r in results if r.get("status") == "ok"):
        title = f"{r['algorithm']} — {r['source']}"
        if r["source"].startswith("kernel"):
            title += f" driver {r['implementation']}"
            if r["implementation"] == r.get("active_driver"):
                title += " (the kernel's choice)"
        if r.get("label"):
            title += f" — {r['label']}"
        table = Table(title=escape(title), title_justify="left")
        sizes = r.get("sizes") or []
        level = f"{sizes[0]['confidence']:.0%}" if sizes else ""
        for column in ("size", "median", f"{level} CI of median", "samples × ops"):
            table.add_column(column, justify="right")
        for size in sizes:
            ci = f"{fmt_rate(size['ci_low'])} … {fmt_rate(size['ci_high'])}"
            table.add_row(f"{size['size']} B", fmt_rate(size["median"]), ci,
                          f"{len(size['bytes_per_s'])} × {size['ops_per_sample']}")
        print_table(console, table)
    unavailable = [r for r in results if r.get("status") != "ok"]
    if not unavailable:
        return
    table = Table(title="Not measured", title_justify="left")
    for column in ("algorithm", "source", "status", "reason", "kernel's active driver", "would enable it"):
        table.add_column(column, overflow="fold")
    notes = shared_reasons([r.get("reason") or "" for r in unavailable])
    for r in unavailable:
        if r.get("active_driver"):
            active = f"{r['active_driver']} (priority {r.get('active_priority')})"
        else:
            later = " (template: appears on first use)" if "(" in r["algorithm"] else ""
            active = "none registered" + later
        reason = r.get("reason") or ""
        table.add_row(escape(r["algorithm"]), escape(r["source"]), r["status"],
                      f"[{notes[reason]}]" if reason in notes else escape(reason),
                      escape(active) if r["source"].startswith("kernel") else "",
                      "\n".join(r.get("enable_config") or []))
    print_table(console, table)
    for reason, number in notes.items():  # a reason many rows share, written once
        console.print(Text(f"  [{number}] {reason}"))


def shared_reasons(reasons: list[str]) -> dict[str, int]:
    """Reasons that more than one row gives, numbered in order of first use (the rows cite the number)."""
    counts: dict[str, int] = {}
    for reason in reasons:
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    shared = [reason for reason, n in counts.items() if n > 1]
    return {reason: i for i, reason in enumerate(shared, start=1)}


def print_crypto_benchmark(console: Console, benchmark: Benchmark) -> None:
    """A stored ``crypto`` benchmark: header, the AF_ALG state, then the result tables."""
    crypto = benchmark.analysis.get("crypto")
    console.print(Text(_title(benchmark), style="bold"))
    if not crypto:
        console.print(Text("  no crypto results stored with this benchmark", style="yellow"))
        return
    state = crypto.get("af_alg", "unknown")
    reason = crypto.get("af_alg_reason")
    console.print(Text(f"AF_ALG: {state}" + (f" — {reason}" if reason else ""), style="bold"))
    console.print(Text(f"kernel results: {crypto.get('kernel_measured', 0)} measured, "
                       f"{crypto.get('kernel_not_measured', 0)} not measured"))
    if crypto.get("enable_config"):
        console.print(Text("config that would enable the missing ones: "
                           + ", ".join(crypto["enable_config"])))
    print_crypto_results(console, crypto.get("results") or [])


def print_comparison(console: Console, comparison_result: dict[str, Any]) -> None:
    """The output of ``perflab compare A B`` (see ``analysis.compare_benchmarks``)."""
    a, b = comparison_result["a"], comparison_result["b"]
    header = f"A = {a['label']} ({a['created_at']})   B = {b['label']} ({b['created_at']})"
    console.print(Text(header, style="bold"))
    table = Table(show_lines=False)
    for col, justify in (("Metric", "left"), ("A", "left"), ("B", "left"), ("Ratio B/A [95% CI]", "right"),
                         ("p", "right"), ("Verdict", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in comparison_result["comparisons"]:
        lo, hi = c.get("ratio_ci") or [None, None]
        ratio = "undefined" if c.get("ratio") is None else f"{c['ratio']:.3f}"
        if c.get("ratio") is not None:
            ratio += f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else " (no CI)"
        p = fmt_p(c.get("p_adjusted")) + (" (Holm)" if c.get("family_size", 1) > 1 else "")
        table.add_row(c["metric"], c["baseline"], c["candidate"], ratio, p,
                      Text(c["verdict"], style=_VERDICT_STYLE.get(c["verdict"], "")))
    print_table(console, table)
    print_verdicts(console, comparison_result["comparisons"])
    _print_warning_lines(console, comparison_result.get("warnings", []))
