"""The benchmark use case as a library session: options in, a stored, analysed result out.

``perflab bench``, ``perflab suite run`` (one session per benchmark × input: its variants interleaved)
and ``tune try`` (the baseline and candidate tunings in alternating blocks) all measure through this
session: the same engine (``bench.measurement.MeasurementSession``), run rule, stopping rule, signal handling,
instruction counting and saving. Suites and tune try give a ``BlockPlan`` (``lab.bench_blocks``): which
command under which setting runs in which order, block by block. Every output goes through a ``Reporter``
(``perflab.report.reporters``: terminal, JSON, hyperfine JSON, Markdown, CSV; ``Collector`` keeps the
outcomes instead of printing)::

    from perflab.lab.bench_session import BenchRequest, BenchSession
    session = BenchSession(BenchRequest(commands, options), store)
    session.measure()                    # or inside a progress display: session.measure(observer)
    outcome = session.conclude(reporters)  # analyse, compare with the baseline, save, report
    outcome.benchmark.status, outcome.bench_id

    # a suite's cell: not stored on its own (the suite stores one result of every cell)
    cell = BenchSession(BenchRequest(commands, options, kind="suite", plan=plan, places=places)).measure()

Errors of the request (a bad alpha, an unknown baseline, ``instructions`` with no counter here) are
raised before anything is measured; a run that fails or Ctrl-C does not raise: the outcome's status says
so and the runs measured are stored.

With a store, runs reach it as they are measured (after every block, see ``store.progressive``), so a
SIGKILL keeps every completed block, marked ``interrupted``. An interrupted result with no run is not
stored. If the final save fails (a full disk) the reporters still run (exports first), the benchmark is
written to a spill file and ``outcome.spill_path`` says where.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from perflab.errors import OptionError, PerflabError, Terminated

if TYPE_CHECKING:
    from perflab.bench.commands import Command
    from perflab.bench.instructions import InstructionCounter
    from perflab.bench.options import BenchOptions, Observer
    from perflab.bench.run_io import Place
    from perflab.lab.bench_blocks import BlockPlan
    from perflab.store.db import Store
    from perflab.store.model import Benchmark


@dataclass
class BenchRequest:
    """What to measure and what to do with the result."""

    commands: list[Command]
    options: BenchOptions
    alpha: float = 0.05  # significance level of the verdicts
    noise: float = 0.01  # changes within ±noise count as no change
    baseline: str | None = None  # compare with this stored baseline
    save_baseline: str | None = None  # store the result under this baseline name (if complete)
    # count each command's instructions (perf, else valgrind: simulated) in separate untimed runs
    instructions: bool = False
    kind: str = "bench"  # stored with the result: bench, suite, tune-try
    plan: BlockPlan | None = None  # who runs when, with switches between runs; None: bench's own blocks
    places: list[Place] | None = None  # per command: extra environment, working directory (with a plan)

    def validate(self) -> None:
        """Raise before anything runs; the option names are the library's (the CLI words the flags)."""
        self.options.count.validate()
        if self.options.timeout_s is not None and self.options.timeout_s <= 0:
            raise OptionError("timeout_s", self.options.timeout_s, "must be positive")
        if not 0 < self.alpha < 1:
            raise OptionError("alpha", self.alpha, "must be between 0 and 1")
        if not 0 <= self.noise < 1:
            raise OptionError("noise", self.noise, "must be between 0 and 1")


@dataclass
class BenchOutcome:
    """A stored, analysed result and what happened on the way."""

    benchmark: Benchmark
    bench_id: int | None  # None: not stored (nothing measured, or the store refused: see spill_path)
    store_url: str
    comparison: dict[str, Any] | None = None  # against the requested baseline
    saved_as_baseline: str | None = None
    notices: list[str] = field(default_factory=list)  # things the user should read (not errors)
    spill_path: str | None = None  # where the runs went when the store could not take them
    save_error: str | None = None  # why the store could not take them

    @property
    def measured_runs(self) -> int:
        return sum(len(c.runs) for c in self.benchmark.commands)


class Reporter(Protocol):
    """One output of a result (a table on the terminal, a file in one format, JSON on stdout)."""

    def report(self, outcome: BenchOutcome) -> None: ...


class Collector:
    """A reporter that prints nothing and keeps every outcome (a library caller's output)."""

    def __init__(self) -> None:
        self.outcomes: list[BenchOutcome] = []

    def report(self, outcome: BenchOutcome) -> None:
        self.outcomes.append(outcome)


class BenchSession:
    """Measure → analyse → compare → save → report, for one ``BenchRequest``."""

    def __init__(self, request: BenchRequest, store: Store | None = None) -> None:
        """``store`` None: nothing is saved (a suite saves its cells together)."""
        request.validate()
        self.request = request
        self.store = store
        if request.baseline and store is None:
            raise OptionError("baseline", request.baseline, "needs a store to read it from")
        self.base = store.baseline(request.baseline) if request.baseline and store else None  # fails early
        self.counter: InstructionCounter | None = None
        if request.instructions:
            from perflab.bench.instructions import find_counter

            self.counter = find_counter()  # says what is missing before anything runs
        self.benchmark: Benchmark | None = None
        self.partial: Any = None  # store.progressive.PartialSave while measuring

    def measure(self, observer: Observer | None = None) -> Benchmark:
        """Run the commands (bench's interleaved adaptive blocks, or the request's plan), storing runs
        block by block; Ctrl-C or SIGTERM keeps what was measured."""
        from perflab.bench.options import Observer as NoObserver

        request = self.request
        observing: Any = observer or NoObserver()
        if self.store is not None:
            from perflab.store.progressive import PartialSave

            self.partial = PartialSave(self.store)
            observing = SavingObserver(observing, self.partial)
        if self.counter is not None:
            from perflab.bench.instructions import CountingObserver

            observing = CountingObserver(observing, self.counter)
        with sigterm_as_interrupt():
            if request.plan is None:
                from perflab.bench.runner import run_benchmark

                bench = run_benchmark(request.commands, request.options, observer=observing)
                bench.kind = request.kind
            else:
                from perflab.bench.measurement import MeasurementSession
                from perflab.lab.bench_blocks import run_plan

                session = MeasurementSession(request.commands, request.options, observer=observing,
                                             kind=request.kind, places=request.places)
                bench = run_plan(session, request.plan)
        if self.counter is not None:
            from perflab.bench.instructions import declare_metric

            declare_metric(bench, self.counter)
        self.benchmark = bench
        return bench

    def conclude(self, reporters: Sequence[Reporter] = (), *,
                 analysis: Callable[[Benchmark], dict[str, Any]] | None = None) -> BenchOutcome:
        """Analyse and store the measured benchmark, then hand it to every reporter in order.

        ``analysis``: the use case's own analysis instead of bench's (tune try's decision); a caller may
        also replace ``self.benchmark`` by a reshaped one before (tune try splits its command per
        variant)."""
        from perflab.analysis.benchmark import analyze, compare_benchmarks

        bench = self.benchmark
        if bench is None:
            raise PerflabError("internal: BenchSession.conclude() before measure()")
        request = self.request
        if analysis is not None:
            bench.analysis = analysis(bench)
        else:
            bench.analysis = analyze(bench, alpha=request.alpha, noise=request.noise)
        comparison = None
        unmatched = None
        if self.base is not None and bench.commands and any(c.runs for c in bench.commands):
            try:  # a baseline of other commands is said, not compared; the runs are saved either way
                comparison = compare_benchmarks(self.base, bench, alpha=request.alpha, noise=request.noise)
                bench.analysis["baseline_comparison"] = comparison
            except PerflabError as error:
                unmatched = f"not compared with baseline {request.baseline!r}: {error.message}"
        outcome = BenchOutcome(bench, None, str(self.store.url) if self.store is not None else "", comparison)
        if unmatched:
            outcome.notices.append(unmatched)
        self._save(outcome)
        if request.save_baseline and outcome.bench_id is not None and self.store is not None:
            if bench.status == "complete":
                self.store.set_baseline(request.save_baseline, outcome.bench_id)
                outcome.saved_as_baseline = request.save_baseline
            else:
                outcome.notices.append(f"not saved as baseline {request.save_baseline!r}: the benchmark "
                                       f"is {bench.status}")
        for reporter in reporters:
            reporter.report(outcome)
        return outcome

    def _save(self, outcome: BenchOutcome) -> None:
        """Store the result (replacing the partial save); none for an interrupted run with no runs; a
        spill file when the store refuses."""
        from perflab.store.db import StoreWriteError
        from perflab.store.progressive import spill

        bench = outcome.benchmark
        partial = self.partial
        if self.store is None:
            return
        if bench.status == "interrupted" and outcome.measured_runs == 0:
            if partial is not None:
                partial.discard()
            outcome.notices.append("nothing was measured before the interrupt: nothing stored")
            return
        if partial is not None and partial.error is not None:
            outcome.notices.append(f"runs could not be saved while measuring ({partial.error}); trying at "
                                   f"the end")
        try:
            outcome.bench_id = self.store.save(bench, replace=partial.bench_id if partial else None)
        except StoreWriteError as error:
            outcome.save_error = error.message
            outcome.spill_path = str(spill(bench, outcome.store_url))

    def run(self, observer: Observer | None = None, reporters: Sequence[Reporter] = ()) -> BenchOutcome:
        """``measure`` then ``conclude``."""
        self.measure(observer)
        return self.conclude(reporters)


class SavingObserver:
    """Forwards every progress callback and writes the runs to the store after each block."""

    def __init__(self, inner: Observer, partial: Any) -> None:
        self.inner = inner
        self.partial = partial

    def phase(self, text: str) -> None:
        self.inner.phase(text)

    def run_done(self, session: Any, index: int, run: Any) -> None:
        self.inner.run_done(session, index, run)

    def output(self, label: str, text: str) -> None:
        self.inner.output(label, text)

    def block_done(self, session: Any) -> None:
        from perflab.store.model import Benchmark

        self.inner.block_done(session)
        self.partial.update(Benchmark(commands=session.results, created_at=session.created_at,
                                      kind=session.kind, status="interrupted", order=list(session.executed),
                                      environment=session.environment, settings=session.options.settings()))


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, systemd stop, a CI timeout) unwinds like Ctrl-C, so what was measured is kept and
    every ``finally`` runs; only SIGKILL skips that. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
