"""Live progress on stderr: one bar per command with its running median ± 95 % CI and an ETA.

Shown only on a terminal (rich also honours NO_COLOR); the per-command statistics are recomputed at
most every 0.25 s so the display never costs more than the runs it reports on.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from perflab.bench.options import Observer, SessionState
from perflab.store.model import Run

REFRESH_S = 0.25


def _fmt(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def running_stat(values: list[float], offset: float = 0.0) -> str:
    """``median ± half-width`` of the 95 % CI, or why there is no interval yet."""
    import numpy as np

    from perflab.stats.bootstrap import median_ci

    if not values:
        return ""
    median = float(np.median(values)) - offset
    lo, hi = median_ci(values)
    if lo != lo or hi != hi:  # NaN: too few runs
        return f"median {_fmt(median)} (CI after 6 runs)"
    return f"median {_fmt(median)} ± {_fmt((hi - lo) / 2)}"


class ProgressObserver(Observer):
    """A rich Progress with a row per command; ``output`` prints above it (``--show-output``), on
    ``output_console`` when given (standard output, where hyperfine shows the commands' output)."""

    def __init__(self, console: Console, *, enabled: bool = True,
                 output_console: Console | None = None) -> None:
        self.console = console
        self.output_console = output_console
        self.session: SessionState | None = None  # whose commands the rows show
        self.enabled = enabled and console.is_terminal
        self.progress: Progress | None = None
        self.tasks: dict[int, Any] = {}
        self.phase_task: Any = None
        self.last_refresh = 0.0
        self.total = 0

    def __enter__(self) -> ProgressObserver:
        if self.enabled:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[stat]}"), TimeRemainingColumn(),
                console=self.console, transient=True,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def phase(self, text: str) -> None:
        if self.progress is None:
            return
        if self.phase_task is None:
            self.phase_task = self.progress.add_task(text, total=None, stat="")
        elif text == "measuring":
            self.progress.remove_task(self.phase_task)
            self.phase_task = None
        else:
            self.progress.update(self.phase_task, description=text)

    def run_done(self, session: SessionState, index: int, run: Run) -> None:
        if self.progress is None:
            return
        if session is not self.session:  # sequential order: a new session per command
            for task in self.tasks.values():
                self.progress.remove_task(task)
            self.tasks, self.session, self.total = {}, session, 0
        if not self.tasks:
            width = max(len(c.name) for c in session.commands)
            for i, c in enumerate(session.commands):
                name = c.name if width <= 40 else c.name[:37] + "…"
                self.tasks[i] = self.progress.add_task(name, total=None, stat="")
        now = time.monotonic()
        results = session.results
        n = len(results[index].runs)
        if now - self.last_refresh < REFRESH_S:
            self.total = max(self.total, n)
            self.progress.update(self.tasks[index], completed=n, total=self.total)
            return
        self.last_refresh = now
        count = session.options.count
        if count.runs is not None:
            total = count.runs
        else:
            from perflab.bench.scheduler import StopRule

            rule = StopRule(count)
            rule.last_precision = session.precision
            total = rule.estimated_total(min(len(r.runs) for r in results), session.elapsed())
        self.total = max(total, max(len(r.runs) for r in results))
        cost = session.spawn_cost() if session.options.shell else None
        for i, task in self.tasks.items():
            stat = running_stat(results[i].wall_times_s(), cost[0] if cost else 0.0)
            self.progress.update(task, completed=len(results[i].runs), total=self.total, stat=stat)

    def output(self, label: str, text: str) -> None:
        if self.output_console is not None:
            self.output_console.print(Text(text.rstrip("\n")), highlight=False)
        elif self.progress is not None:
            self.progress.console.print(Text(text.rstrip("\n")), highlight=False)
        else:
            self.console.print(Text(text.rstrip("\n")), highlight=False)
