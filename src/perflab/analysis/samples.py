"""Which runs count, and the values a metric took over them: the one rule every analysis uses
(``perflab bench``, ``tune try``, suites, history, the CI gate)."""

from __future__ import annotations

from perflab.store.model import CommandResult, Run

WALL = "wall"
BUILT_IN = ("wall", "user", "sys", "peak_rss")


def completed_runs(command: CommandResult) -> list[Run]:
    """Runs whose wall time is a real completion time (timed-out or signalled runs were cut short)."""
    return [r for r in command.runs if not r.timed_out and r.signal is None]


def valid_runs(command: CommandResult) -> list[Run]:
    """The runs the statistics describe: the successful ones (exit code 0). A failed run kept going past
    with --ignore-failure took another path through the program, so mixing it in would describe neither;
    failures are counted and reported apart. When no run succeeded (a command whose normal exit code is
    not 0, like ``grep`` finding nothing), the completed runs are summarised (``failed_only`` says so)."""
    completed = completed_runs(command)
    ok = [r for r in completed if r.exit_code == 0]
    return ok or completed


def failed_only(command: CommandResult) -> bool:
    """Whether the statistics are of failed runs, because no run succeeded."""
    completed = completed_runs(command)
    return bool(completed) and not any(r.exit_code == 0 for r in completed)


def samples(command: CommandResult, metric: str = WALL) -> list[float]:
    """The values one metric took over a command's valid runs (``wall`` in seconds)."""
    runs = valid_runs(command)
    if metric == WALL:
        return [r.wall_s for r in runs]
    if metric == "user":
        return [r.user_s for r in runs]
    if metric == "sys":
        return [r.sys_s for r in runs]
    if metric == "peak_rss":
        return [float(r.peak_rss_bytes) for r in runs if r.peak_rss_bytes is not None]
    return [float(r.metrics[metric]) for r in runs if metric in r.metrics]


def metric_direction(command: CommandResult, metric: str) -> bool:
    """higher_is_better for a metric: False for times and memory, the MetricSpec's choice otherwise."""
    for spec in command.metrics:
        if spec.name == metric:
            return spec.higher_is_better
    return False
