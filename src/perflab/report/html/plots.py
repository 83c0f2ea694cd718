"""Inline SVG plots drawn with matplotlib's SVG backend (no pyplot, no display, no network).

Plots carry no string from the store: commands are tagged ``#1``, ``#2``… and the tables beside the plots
say which is which, so nothing a user typed can reach the SVG markup. Points may be thinned to keep the
page small (every k-th run in run order, outliers always kept); statistics are never computed here: the
medians and intervals drawn are the analysis's.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter

# Okabe & Ito's colour-blind-safe palette; every colour also comes with its own marker shape.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_RGB = tuple(to_rgb(c) for c in PALETTE)
OUTLIER_COLOUR = to_rgb("#D55E00")
VERDICT_COLOUR = {"faster": "#0072B2", "slower": "#D55E00"}  # only significant verdicts get a colour
NEUTRAL = "#666666"
HIST_BINS = 40

_LONG_DECIMALS = re.compile(r"(\.\d{2})\d{3,}")  # matplotlib writes 6 decimals; tick labels have fewer
_RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}


@dataclass
class Series:
    """One command's values in run order, with the analysis's median and CI."""

    tag: str  # "#1": never a user string
    values: Sequence[float]
    outliers: set[int] = field(default_factory=set)  # indices into values
    median: float | None = None
    ci: tuple[float | None, float | None] = (None, None)


@dataclass
class Whisker:
    """A ratio with its CI and the verdict it earned."""

    tag: str
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str


def thin(n: int, keep: set[int], budget: int) -> list[int]:
    """Indices to draw: all when n ≤ budget, else every k-th in order plus every index in ``keep``."""
    if n <= budget:
        return list(range(n))
    step = -(-n // budget)
    return sorted(set(range(0, n, step)) | {i for i in keep if 0 <= i < n})


def _keep_two_decimals(match: re.Match[str]) -> str:
    return match.group(1)


def _svg(fig: Figure, label: str, salt: str) -> str:
    """The figure as an inline ``<svg>`` element with an accessible name and ids unique to ``salt``."""
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt}):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = _LONG_DECIMALS.sub(_keep_two_decimals, text)  # 1/100 pt: a third smaller, same picture
    safe_label = re.sub(r"[^A-Za-z0-9 #.,:;()%×±_-]", "", label)  # built from numbers and fixed words
    return text.replace("<svg ", f'<svg role="img" aria-label="{safe_label}" ', 1)


def _themed(draw: Callable[..., str]) -> Callable[..., str]:
    """Draw under perflab's style (axes, fonts, SVG text as text) without touching global rcParams."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        with rc_context(_RC):
            return draw(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float, left: float = 0.55, bottom: float = 0.55) -> Figure:
    """A figure with fixed margins in inches (constrained layout cost more than the drawing itself)."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, bottom=bottom / height,
                        top=1 - 0.3 / height, wspace=0.25)
    return fig


def _style(i: int) -> tuple[tuple[float, float, float], str]:
    """Colour (as RGB: matplotlib parses a hex string again at every use) and marker of series ``i``."""
    return _RGB[i % len(_RGB)], MARKERS[i % len(MARKERS)]


def _draw_distribution(ax: object, series: list[Series], scale: float, budget: int) -> None:
    rng = np.random.default_rng(0)  # jitter only: deterministic pictures
    for row, s in enumerate(series):
        colour, marker = _style(row)
        values = np.asarray(s.values, dtype=float) / scale
        if values.size == 0:
            continue
        counts, edges = np.histogram(values, bins=HIST_BINS)
        height = 0.4 * counts / max(counts.max(), 1)
        ax.stairs(row + height, edges, baseline=row, fill=True, color=colour, alpha=0.25)
        shown = thin(values.size, s.outliers, budget)
        normal = [i for i in shown if i not in s.outliers]
        marked = [i for i in shown if i in s.outliers]
        jitter = rng.uniform(-0.3, -0.05, size=values.size)
        ax.plot(values[normal], row + jitter[normal], marker, ls="none", ms=3, color=colour, alpha=0.6)
        if marked:
            ax.plot(values[marked], row + jitter[marked], "x", ls="none", ms=5, color=OUTLIER_COLOUR,
                    label="outlier" if row == 0 or not ax.get_legend_handles_labels()[0] else None)
        if s.median is not None:
            lo, hi = s.ci
            if lo is not None and hi is not None:
                ax.plot([lo / scale, hi / scale], [row - 0.02] * 2, "-", lw=5, color="black", alpha=0.45,
                        solid_capstyle="butt")
            ax.plot([s.median / scale], [row - 0.02], "|", ms=14, mew=2, color="black")
    ax.set_yticks(range(len(series)), [s.tag for s in series])
    ax.set_ylim(-0.5, len(series) - 0.4)
    if any(s.outliers for s in series):
        ax.legend(loc="upper right", frameon=False)


def _draw_run_order(ax: object, series: list[Series], scale: float, budget: int) -> None:
    """Each command's runs in the order they ran: a line through every k-th run, outliers marked."""
    for row, s in enumerate(series):
        colour, marker = _style(row)
        values = np.asarray(s.values, dtype=float) / scale
        shown = thin(values.size, set(), budget)
        x = np.arange(values.size) + 1
        ax.plot(x[shown], values[shown], "-", lw=0.8, color=colour, alpha=0.8, label=s.tag,
                marker=marker if len(shown) <= 60 else None, ms=3)
        marked = sorted(i for i in s.outliers if 0 <= i < values.size)
        if marked:
            ax.plot(x[marked], values[marked], "x", ls="none", ms=4, color=OUTLIER_COLOUR)
    ax.set_xlabel("run number (in the order each command ran)")
    if len(series) > 1:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=min(len(series), 6),
                  borderaxespad=0.0)


@_themed
def samples_svg(series: list[Series], unit: tuple[float, str], budget: tuple[int, int], salt: str) -> str:
    """Distribution (histogram of every value + points + median and its CI) beside the run-order plot.
    ``budget``: (points per command in the distribution, line vertices per command in run order)."""
    fig = _figure(10, 0.9 + 0.75 * max(len(series), 2))
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    _draw_distribution(left, series, unit[0], budget[0])
    left.set_xlabel(f"wall time ({unit[1]}); bar: median and its CI; shading: histogram of all runs")
    _draw_run_order(right, series, unit[0], budget[1])
    right.set_ylabel(f"wall time ({unit[1]})")
    tags = ", ".join(s.tag for s in series)
    return _svg(fig, f"Distribution and run order of {tags}", salt)


@_themed
def whiskers_svg(rows: list[Whisker], noise: float | None, salt: str, xlabel: str,
                 better_is_higher: bool = False) -> str:
    """Ratios with CI whiskers, a line at 1 and the noise band; colour only for significant verdicts.
    The marker points the way the value moved: left for a smaller ratio, right for a larger one."""
    fig = _figure(8, 1.0 + 0.3 * max(len(rows), 2), left=0.7)
    ax = fig.subplots()
    if noise:
        ax.axvspan(1 - noise, 1 + noise, color="#dddddd", label=f"noise band ±{noise * 100:g} %")
    ax.axvline(1.0, color="black", lw=0.8)
    for y, row in enumerate(rows):
        if row.ratio is None:
            continue
        colour = VERDICT_COLOUR.get(row.verdict, NEUTRAL)
        towards = {"faster": ">", "slower": "<"} if better_is_higher else {"faster": "<", "slower": ">"}
        marker = towards.get(row.verdict, "o")
        if row.low is not None and row.high is not None:
            ax.plot([row.low, row.high], [y, y], "-", color=colour, lw=1.5)
            ax.plot([row.low, row.high], [y, y], "|", color=colour, ms=8)
        ax.plot([row.ratio], [y], marker, color=colour, ms=7)
    ax.set_yticks(range(len(rows)), [r.tag for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ends = [v for r in rows for v in (r.low, r.high, r.ratio) if v is not None and v > 0]
    if ends and max(ends) / min(ends) > 2:  # wide spans: log scale, so ×2 and ÷2 look alike
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel + (" — log scale" if ax.get_xscale() == "log" else ""))
    if noise:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, borderaxespad=0.0)
    return _svg(fig, f"Ratios with confidence intervals: {len(rows)} comparisons", salt)


@_themed
def throughput_svg(lines: list[tuple[str, list[tuple[int, float, float | None, float | None]]]],
                   salt: str) -> str:
    """Throughput (MB/s) against buffer size, one line per implementation, CI whiskers at each size."""
    fig = _figure(8, 3.6, left=0.7)
    ax = fig.subplots()
    for i, (tag, points) in enumerate(lines):
        colour, marker = _style(i)
        xs = [p[0] for p in points]
        ys = [p[1] / 1e6 for p in points]
        ax.plot(xs, ys, marker, ls="-", color=colour, label=tag, ms=4)
        for size, _, lo, hi in points:
            if lo is not None and hi is not None:
                ax.plot([size, size], [lo / 1e6, hi / 1e6], "-", color=colour, lw=1.5)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("buffer size (bytes)")
    ax.set_ylabel("throughput (MB/s); whiskers: CI of the median")
    if lines:
        ax.legend(loc="best", frameon=False, fontsize=8)
    return _svg(fig, f"Throughput against buffer size for {len(lines)} implementations", salt)


@_themed
def curve_svg(lines: list[tuple[str, list[tuple[float, float, float | None, float | None]]]], salt: str,
              xlabel: str, ylabel: str) -> str:
    """One line per series through (x, y) points with the CI of y as whiskers; y on a log scale."""
    fig = _figure(8, 3.8, left=0.8)
    ax = fig.subplots()
    for i, (tag, points) in enumerate(lines):
        colour, marker = _style(i)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker, ls="-", color=colour, label=tag,
                ms=4)
        for x, _, lo, hi in points:
            if lo is not None and hi is not None and lo > 0:
                ax.plot([x, x], [lo, hi], "-", color=colour, lw=1.5)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if lines:
        ax.legend(loc="best", frameon=False, fontsize=8)
    return _svg(fig, f"{ylabel} against {xlabel} for {len(lines)} series", salt)


@_themed
def history_svg(series: list[tuple[str, list[float | None], list[float | None], list[float | None]]],
                steps: list[list[int]], unit: tuple[float, str], salt: str) -> str:
    """Each cell's median across results (in stored order) with its CI as a band; dashed verticals and a
    ◆ mark where the history analysis found a step."""
    fig = _figure(10, 3.4)
    ax = fig.subplots()
    for i, ((tag, medians, lows, highs), marks) in enumerate(zip(series, steps, strict=True)):
        colour, marker = _style(i)
        x = np.arange(len(medians)) + 1
        y = np.array([np.nan if m is None else m / unit[0] for m in medians])
        lo = np.array([np.nan if v is None else v / unit[0] for v in lows])
        hi = np.array([np.nan if v is None else v / unit[0] for v in highs])
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
        ax.plot(x, y, marker, ls="-", color=colour, ms=4, label=tag)
        for index in marks:
            ax.axvline(index + 0.5, color=colour, ls="--", lw=1)
            ax.plot([index + 1], [y[index]], "D", color="black", ms=7, mfc="none")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("stored result, oldest first (the table names each one)")
    ax.set_ylabel(f"median ({unit[1]}); band: CI")
    if series:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=min(len(series), 6),
                  borderaxespad=0.0)
    return _svg(fig, f"History of {len(series)} series with change points", salt)
