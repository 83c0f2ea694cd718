"""The live progress display, rendered to a terminal-like console (rich drives a real TTY the same way)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from perflab.bench import progress
from perflab.bench.commands import expand
from perflab.bench.progress import ProgressObserver, running_stat
from perflab.bench.runner import BenchOptions, run_benchmark
from perflab.bench.scheduler import RunCount


def test_progress_shows_each_command_with_its_running_median_and_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)  # refresh the statistics after every run
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=150, no_color=True)
    options = BenchOptions(count=RunCount(runs=12), capture_environment=False, show_output=True)
    with ProgressObserver(console) as observer:
        bench = run_benchmark(expand(["echo visible-output", "sleep 0.01"]), options, observer=observer)
    text = buffer.getvalue()
    assert bench.status == "complete"
    assert "echo visible-output" in text and "sleep 0.01" in text
    assert "median" in text and "±" in text
    assert "visible-output\n" in text  # --show-output goes above the bars


def test_progress_is_off_when_not_a_terminal() -> None:
    buffer = io.StringIO()
    observer = ProgressObserver(Console(file=buffer, force_terminal=False))
    with observer:
        run_benchmark(expand(["true"]), BenchOptions(count=RunCount(runs=3), capture_environment=False),
                      observer=observer)
    assert observer.progress is None and buffer.getvalue() == ""


def test_running_stat_says_why_there_is_no_interval_yet() -> None:
    assert running_stat([0.01, 0.011]) == "median 10.5 ms (CI after 6 runs)"
    assert running_stat([0.010, 0.011, 0.012, 0.010, 0.011, 0.012, 0.011]).startswith("median 11 ms ± ")
