"""``--order sequential``: each command's setup → warm-up → runs → cleanup, one command after the other.

Interleaving (the default) spreads drift over every command; but some workloads cannot be interleaved:
commands that share state (a database one of them fills, a cache one of them warms) must each run as a
whole, as hyperfine runs them. Each command is measured by its own interleaved session (with one command
that is just its runs in a row, plus the shell calibration with --shell), and the parts are joined into
one Benchmark in the given order.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from perflab.store.model import Benchmark

if TYPE_CHECKING:
    from perflab.bench.commands import Command
    from perflab.bench.options import BenchOptions, Observer


def run_sequential(commands: Sequence[Command], options: BenchOptions, *,
                   observer: Observer | None = None) -> Benchmark:
    """Measure ``commands`` one at a time; a failure or Ctrl-C stops there, keeping what was measured."""
    from perflab.bench.runner import run_interleaved

    seed = options.seed if options.seed is not None else secrets.randbits(32)
    parts: list[Benchmark] = []
    for i, command in enumerate(commands):
        part_options = dataclasses.replace(options, seed=seed,
                                           capture_environment=options.capture_environment and i == 0)
        parts.append(run_interleaved([command], part_options, observer=observer))
        if parts[-1].status != "complete":
            break
    return join_parts(parts, [c.name for c in commands[len(parts):]])


def join_parts(parts: list[Benchmark], not_run: list[str]) -> Benchmark:
    """One Benchmark from sequential parts: run sequence numbers continue across parts."""
    first, last = parts[0], parts[-1]
    order: list[int] = []
    offset = 0
    spawn: list[float] = []
    for index, part in enumerate(parts):
        runs = sorted(part.commands[0].runs, key=lambda r: r.sequence)
        for run in runs:
            run.sequence += offset
        order += [index] * len(runs)
        offset += len(runs)
        spawn += part.settings.get("shell_spawn_samples_s", [])
    settings = dict(first.settings)
    settings["order"] = "sequential"
    settings["blocks"] = sum(p.settings.get("blocks", 0) for p in parts)
    if spawn:
        settings["shell_spawn_samples_s"] = spawn
    if "failure_remedies" in last.settings:
        settings["failure_remedies"] = last.settings["failure_remedies"]
    message = last.message
    if not_run:
        message = f"{message or last.status}; not run: {', '.join(not_run)}"
    return Benchmark(commands=[p.commands[0] for p in parts], created_at=first.created_at, kind=first.kind,
                     status=last.status, message=message, order=order, environment=first.environment,
                     settings=settings)
