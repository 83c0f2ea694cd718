"""Measuring block by block: one executor, the commands' results so far, and the block order.

``MeasurementSession`` is the engine under every front end: ``runner.run_benchmark`` drives it for a
whole benchmark; ``lab.bench_blocks.run_plan`` drives it for ``perflab tune try`` and ``perflab suite``
(through ``lab.bench_session.BenchSession``), which change things between blocks, as in::

    from perflab.bench.measurement import MeasurementSession
    with MeasurementSession([Command.from_argv(argv, name="workload")], BenchOptions(warmup=1)) as s:
        s.setup()                                  # --setup hooks (once per command)
        s.warmup()                                 # options.warmup blocks, not recorded
        for i in range(20):
            apply(variant := ("baseline", "bbr")[i % 2])  # your change, between blocks
            s.run_block(variant=variant)          # every command once, random order; Run.variant set
        bench = s.finish()                         # cleanup hooks + the Benchmark (status complete)

``run_block``/``run_once`` raise ``RunFailed`` (a PerflabError) after recording a failing run unless
``options.ignore_failure``; call ``s.finish("failed", str(error))`` to keep what was measured. The
session's executor (``s.executor``) is started once with ``options``' process tuning applied to it, so
every run inherits it. Where runs read and write is ``run_io``'s business, how failures are told is
``failures``', the ``--shell`` spawn cost ``shell_cost``'s.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from perflab.bench.commands import Command, extract_metric
from perflab.bench.executor import Executor, RunSpec, open_executor, resolve_program
from perflab.bench.failures import RunFailed, hook_failed, run_failed
from perflab.bench.options import BenchOptions, Observer
from perflab.bench.run_io import OUTPUT_TAIL, Place, RunIO
from perflab.bench.scheduler import BlockOrder
from perflab.bench.shell_cost import SHELL_CALIBRATION, calibration_argv, spawn_cost, subtract_spawn_cost
from perflab.errors import PerflabError
from perflab.store.model import Benchmark, CommandResult, Run


class MeasurementSession:
    """One executor, the commands' results so far, and the block order; see the module docstring."""

    def __init__(self, commands: Sequence[Command], options: BenchOptions | None = None, *,
                 executor: Executor | None = None, observer: Observer | None = None,
                 kind: str = "bench", places: Sequence[Place] | None = None) -> None:
        self.options = options or BenchOptions()
        if places is not None and len(places) != len(commands):
            raise PerflabError("internal: one Place per command")
        self.places = list(places) if places is not None else [Place()] * len(commands)
        self.options.count.validate()
        if not commands:
            raise PerflabError("no command to measure")
        self.commands = list(commands)
        self.observer = observer or Observer()
        self.kind = kind
        self.seed = self.options.seed if self.options.seed is not None else secrets.randbits(32)
        slots = list(range(len(self.commands)))
        if self.options.shell:
            slots.append(SHELL_CALIBRATION)
        self.order = BlockOrder(slots, self.seed)
        self.results = [CommandResult(name=c.name, command=c.command, argv=list(c.argv),
                                      parameters=dict(c.parameters), metrics=list(self.options.metrics))
                        for c in self.commands]
        self.shell_runs: list[Run] = []
        self.executed: list[int] = []
        self.blocks = 0
        self.measure_started: float | None = None
        self.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.environment: dict[str, Any] = {}
        self._own_executor = False
        self._executor = executor
        self.memory_note: str | None = None
        self.stop_reason = ""
        self.precision: list[float] = []  # last relative CI half-widths (adaptive mode)
        self.shell_spawn_samples_s: list[float] = []
        self._setup_done: set[int] = set()
        self._floored: dict[int, int] = {}  # command index -> runs whose peak RSS hit the launcher's floor
        self._floor_kb = 0
        self._cleaned = False
        self.failure_remedies: tuple[str, ...] = ()  # of the RunFailed that stopped it, if one did
        self.io = RunIO(self.options)

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            raise PerflabError("internal: MeasurementSession used outside 'with'")
        return self._executor

    def __enter__(self) -> MeasurementSession:
        for c in self.commands:  # "command not found" before anything runs, not halfway through
            for argv in (c.argv, c.prepare, c.setup, c.cleanup, c.conclude):
                if argv:
                    resolve_program(argv[0], self.io.env)
        if self.options.capture_environment:
            from perflab.env.capture import capture_environment

            self.environment = capture_environment()
        self.open()
        try:
            tuning = self.executor.process_tuning_check()  # raises when a setting did not take
        except BaseException:
            self.close(kill=True)
            raise
        if tuning:
            self.environment["process_tuning"] = tuning
        self.environment["executor"] = self.executor.name
        if self.executor.spawn:
            self.environment["launcher_spawn"] = self.executor.spawn
        return self

    def open(self) -> None:
        """Start the executor (unless one was given) and the private capture directory."""
        if self._executor is None:
            self._executor = open_executor(self.options.tuning)
            self._own_executor = True
        self.memory_note = self._executor.memory_note
        self.io.open()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(kill=exc is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop the executor (``kill``: also the run in progress) and remove captured output."""
        if self._own_executor and self._executor is not None:
            self._executor.close(kill=kill)
            self._executor = None
        self.io.close()

    # -- running ------------------------------------------------------------------------------------

    def _shell_calibration_spec(self) -> RunSpec:
        """``SHELL -c ''``: the shell's own spawn cost, measured interleaved with --shell."""
        argv = calibration_argv(self.options)
        return self.io.spec(argv, f"{' '.join(argv[:-1])} ''", timed=True, capture=False)

    def _hook(self, what: str, index: int, argv: list[str] | None) -> None:
        if argv is None:
            return
        label = f"--{what} of {self.commands[index].name!r}"
        run = self.executor.run(self.io.spec(argv, label, timed=False, capture=True))
        text = self.io.read_output()
        if self.options.show_output and text:
            self.observer.output(label, text)
        if not run.ok:
            raise hook_failed(label, argv, run, text)

    def setup(self) -> None:
        """Run every command's --setup once (idempotent)."""
        self.observer.phase("setup")
        for i, c in enumerate(self.commands):
            if i not in self._setup_done:
                self._hook("setup", i, c.setup)
                self._setup_done.add(i)

    def warmup(self, count: int | None = None) -> None:
        """``count`` (default options.warmup) unrecorded blocks; failures still stop the benchmark."""
        n = self.options.warmup if count is None else count
        if n > 0:
            self.observer.phase("warm-up")
        for _ in range(n):
            for index in self.order.next_block():
                if index == SHELL_CALIBRATION:
                    self.executor.run(self._shell_calibration_spec())
                    continue
                self._execute(index, sequence=-1, block=-1, variant="", warm=True)
                self.results[index].warmup_runs += 1

    def warm_once(self, index: int) -> None:
        """One unrecorded run of command ``index`` (for callers that order the warm-up themselves)."""
        self._execute(index, sequence=-1, block=-1, variant="", warm=True)
        self.results[index].warmup_runs += 1

    def _execute(self, index: int, *, sequence: int, block: int, variant: str, warm: bool) -> Run:
        command = self.commands[index]
        self._hook("prepare", index, command.prepare)
        spec = self.io.spec(command.argv, command.name, timed=True, capture=self.io.capture,
                            place=self.places[index])
        floored = self.executor.floored_runs
        run = self.executor.run(spec, sequence=sequence, block=block, variant=variant)
        if self.executor.floored_runs != floored and not warm:
            self._floored[index] = self._floored.get(index, 0) + 1
            self._floor_kb = max(self._floor_kb, self.executor.rss_floor_kb)
        text = self.io.read_output() if self.io.capture else ""
        if self.io.truncated:
            note = (f"output longer than {OUTPUT_TAIL // 1024} KiB: metrics are matched in (and "
                    f"--show-output shows) its last {OUTPUT_TAIL // 1024} KiB only")
            if note not in self.results[index].notes:
                self.results[index].notes.append(note)
        if self.options.show_output and text:
            skipped = self.io.truncated
            shown = (f"[first {skipped} bytes not shown]\n" if skipped else "") + text
            self.observer.output(command.name, shown)
        missing = []
        for metric in self.options.metrics:
            value = extract_metric(metric, text)
            if value is None:
                missing.append(metric)
            else:
                run.metrics[metric.name] = value
        which = "warm-up run" if warm else f"run {len(self.results[index].runs) + 1}"
        if not warm:
            self.results[index].runs.append(run)
            self.executed.append(index)
            self.observer.run_done(self, index, run)
        if not run.ok and not self.options.tolerates(run):
            raise run_failed(command.name, run, which, text, self.options.timeout_s)
        if missing and run.ok:
            m = missing[0]
            message = (f"metric {m.name!r} (regex {m.regex!r}) not found in the output of {command.name!r} "
                       f"on {which}")
            if not self.options.ignore_failure:
                raise RunFailed(message)
            self.results[index].notes.append(message)
        self._hook("conclude", index, command.conclude)  # after each run, as hyperfine's --conclude
        return run

    def run_once(self, index: int, *, block: int | None = None, variant: str = "") -> Run:
        """Measure command ``index`` once (its --prepare first) and record it."""
        if self.measure_started is None:
            self.measure_started = time.monotonic()
            self.observer.phase("measuring")
        return self._execute(index, sequence=len(self.executed),
                             block=self.blocks if block is None else block, variant=variant, warm=False)

    def run_block(self, *, variant: str = "") -> list[Run]:
        """Every command once in a fresh random order (plus ``sh -c ''`` with --shell)."""
        runs = []
        for index in self.order.next_block():
            if index == SHELL_CALIBRATION:
                run = self.executor.run(self._shell_calibration_spec(), sequence=-1, block=self.blocks,
                                        variant=variant)
                if run.ok:
                    self.shell_runs.append(run)
                continue
            runs.append(self.run_once(index, block=self.blocks, variant=variant))
        self.blocks += 1
        self.observer.block_done(self)
        return runs

    def elapsed(self) -> float:
        return 0.0 if self.measure_started is None else time.monotonic() - self.measure_started

    def spawn_cost(self) -> tuple[float, float, float] | None:
        """Median (wall, user, sys) seconds of ``sh -c ''`` so far, with --shell."""
        return spawn_cost(self.shell_runs)

    def cleanup(self) -> list[str]:
        """Run every --cleanup once; returns failure messages instead of raising (it runs on failures too)."""
        if self._cleaned:
            return []
        self._cleaned = True
        problems = []
        if any(c.cleanup for c in self.commands):
            self.observer.phase("cleanup")
        for i, c in enumerate(self.commands):
            if i in self._setup_done or not c.setup:
                try:
                    self._hook("cleanup", i, c.cleanup)
                except PerflabError as error:
                    problems.append(error.message)
        return problems

    def finish(self, status: str = "complete", message: str | None = None) -> Benchmark:
        """Run the cleanups and assemble the Benchmark (spawn cost subtracted with --shell)."""
        problems = self.cleanup() if self._executor is not None else []
        if self.options.shell:
            self.shell_spawn_samples_s = subtract_spawn_cost(self.results, self.shell_runs)
        if problems:
            message = "; ".join(filter(None, [message, *problems]))
        settings = self.options.settings()
        settings.update(seed=self.seed, blocks=self.blocks)
        if self.stop_reason:
            settings["stopped_because"] = self.stop_reason
        if self.failure_remedies:
            settings["failure_remedies"] = list(self.failure_remedies)
        if self.shell_spawn_samples_s:
            settings["shell_spawn_samples_s"] = self.shell_spawn_samples_s
        for i, r in enumerate(self.results):
            r.memory_note = self.memory_note
            if self._floored.get(i):
                r.notes.append(f"peak memory unknown for {self._floored[i]} run(s): it did not exceed the "
                               f"run launcher's own peak RSS ({self._floor_kb} KiB), the floor of a "
                               f"vfork-started run's ru_maxrss, so the workload's own peak was at most that")
        return Benchmark(commands=self.results, created_at=self.created_at, kind=self.kind,
                         status=status,  # type: ignore[arg-type]
                         message=message, order=list(self.executed), environment=self.environment,
                         settings=settings)
