"""With ``--shell``, the shell's own spawn cost: measured interleaved with the commands, then subtracted.

Each block also runs ``SHELL -c ''`` (the pseudo command ``SHELL_CALIBRATION``); its median wall, user
and sys time are taken off every run of every command at the end (clamped at 0), and a note with the
cost's interval says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from perflab.bench.options import BenchOptions
from perflab.store.model import CommandResult, Run

SHELL_CALIBRATION = -1  # pseudo command index of ``sh -c ''`` in a block


def calibration_argv(options: BenchOptions) -> list[str]:
    """``SHELL -c ''``."""
    return [*options.shell_argv(), "-c", ""]


def spawn_cost(shell_runs: Sequence[Run]) -> tuple[float, float, float] | None:
    """Median (wall, user, sys) seconds of the calibration runs so far; None before the first."""
    if not shell_runs:
        return None
    import numpy as np

    return (float(np.median([r.wall_s for r in shell_runs])),
            float(np.median([r.user_s for r in shell_runs])),
            float(np.median([r.sys_s for r in shell_runs])))


def subtract_spawn_cost(results: Sequence[CommandResult], shell_runs: Sequence[Run]) -> list[float]:
    """Take the median spawn cost off every run of ``results`` and note it on each command; the
    calibration's wall samples (seconds), empty when no calibration run succeeded."""
    from perflab.stats.bootstrap import median_ci

    cost = spawn_cost(shell_runs)
    if cost is None:
        for r in results:
            r.notes.append("--shell: no successful `sh -c ''` calibration run, nothing subtracted")
        return []
    wall, user, sys_ = cost
    walls = [r.wall_s for r in shell_runs]
    lo, hi = median_ci(walls)
    ci = f"95 % CI {lo * 1e3:.3f}–{hi * 1e3:.3f} ms" if lo == lo else "no CI: fewer than 6 runs"
    note = (f"shell spawn cost {wall * 1e3:.3f} ms ({ci}, median of {len(walls)} interleaved runs of "
            f"`sh -c ''`) subtracted from wall, user and sys time (clamped at 0)")
    for r in results:
        r.shell_spawn_s = wall
        r.notes.append(note)
        for run in r.runs:
            run.wall_ns = max(0, run.wall_ns - round(wall * 1e9))
            run.user_s = max(0.0, run.user_s - user)
            run.sys_s = max(0.0, run.sys_s - sys_)
    return walls
