"""Whole benchmarks: hooks, warm-up, interleaved blocks until the stopping rule says enough, failures
and Ctrl-C turned into a result with a status (what ``perflab bench`` does)::

    from perflab.bench.commands import Command
    from perflab.bench.runner import BenchOptions, run_benchmark
    from perflab.bench.scheduler import RunCount
    bench = run_benchmark([Command.from_argv(["sleep", "0.01"])], BenchOptions(RunCount(runs=20)))
    bench.status, bench.commands[0].wall_times_s()

Callers that change something between blocks (``perflab tune try``, ``perflab suite``) go through
``lab.bench_session.BenchSession`` with a block plan, which drives a ``measurement.MeasurementSession``;
this module re-exports it with the names that go with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from perflab.bench.commands import Command
from perflab.bench.failures import RunFailed
from perflab.bench.measurement import MeasurementSession
from perflab.bench.options import BenchOptions, Observer
from perflab.bench.run_io import OUTPUT_TAIL, Place
from perflab.bench.scheduler import StopDecision, StopRule
from perflab.errors import OptionError, PerflabError, Terminated
from perflab.store.model import Benchmark

__all__ = ["OUTPUT_TAIL", "BenchOptions", "MeasurementSession", "Observer", "Place", "RunFailed",
           "run_benchmark", "run_guarded", "run_interleaved"]


def run_benchmark(commands: Sequence[Command], options: BenchOptions | None = None, *,
                  observer: Observer | None = None) -> Benchmark:
    """Measure ``commands`` interleaved (or one at a time with ``options.order == "sequential"``) until
    the stopping rule says enough.

    A failing command or Ctrl-C does not raise: the Benchmark comes back with status "failed" or
    "interrupted" and the runs measured so far. It raises (PerflabError) only when nothing was measured,
    e.g. a command that does not exist."""
    options = options or BenchOptions()
    if options.order == "sequential" and len(commands) > 1:
        from perflab.bench.sequential import run_sequential

        return run_sequential(commands, options, observer=observer)
    if options.order not in ("interleaved", "sequential"):
        raise OptionError("order", options.order, "must be 'interleaved' or 'sequential'")
    return run_interleaved(commands, options, observer=observer)


def run_interleaved(commands: Sequence[Command], options: BenchOptions, *,
                    observer: Observer | None = None) -> Benchmark:
    """Randomized interleaved blocks of every command (see ``run_benchmark``)."""
    session = MeasurementSession(commands, options, observer=observer)
    rule = StopRule(options.count)

    def measure() -> None:
        session.warmup()
        decision = StopDecision(False)
        while not decision.stop:
            session.run_block()
            n = min(len(r.runs) for r in session.results)
            cost = session.spawn_cost() if options.shell else None
            offsets = [cost[0] if cost else 0.0] * len(session.results)
            decision = rule.decide(n, session.elapsed(),
                                   lambda: [r.wall_times_s() for r in session.results], offsets)
            session.precision = rule.last_precision
        session.stop_reason = decision.reason

    return run_guarded(session, measure)


def run_guarded(session: MeasurementSession, measure: Callable[[], None]) -> Benchmark:
    """Setup, ``measure()``, cleanup on ``session``, ended the one way every caller ends: a failed run
    keeps what was measured (status "failed"), Ctrl-C or SIGTERM kills the run in flight, still runs the
    --cleanup hooks and keeps the runs (status "interrupted"). Raises only when nothing ran at all."""
    status, message = "complete", None
    try:
        with session:
            try:
                session.setup()
                measure()
            except PerflabError as error:
                if not isinstance(error, RunFailed) and not session.executed:
                    raise
                status, message = "failed", error.message
                session.failure_remedies = getattr(error, "remedies", ())
            return session.finish(status, message)
    except KeyboardInterrupt as stop:
        # the launcher and its run are killed by now (the with-block closed the session with kill=True)
        cause = "SIGTERM" if isinstance(stop, Terminated) else "the user (Ctrl-C)"
        message = f"interrupted by {cause}; the runs measured so far are kept"
        if any(c.cleanup for c in session.commands):
            with contextlib.suppress(PerflabError, KeyboardInterrupt):
                session.open()  # a fresh launcher for the --cleanup hooks
                problems = session.cleanup()
                if problems:
                    message += "; " + "; ".join(problems)
        try:
            return session.finish("interrupted", message)
        finally:
            session.close()
