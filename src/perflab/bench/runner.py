"""The benchmark runner: hooks, warm-up, interleaved blocks, failures, Ctrl-C, the result.

Whole benchmarks (what ``perflab bench`` does)::

    from perflab.bench.commands import Command
    from perflab.bench.runner import BenchOptions, run_benchmark
    from perflab.bench.scheduler import RunCount
    bench = run_benchmark([Command.from_argv(["sleep", "0.01"])], BenchOptions(RunCount(runs=20)))
    bench.status, bench.commands[0].wall_times_s()

Run by run, with changes between blocks (what ``perflab tune try`` does)::

    from perflab.bench.runner import BenchOptions, MeasurementSession
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
every run inherits it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perflab.bench.commands import Command, extract_metric
from perflab.bench.executor import NULL, SAME, Executor, RunSpec, open_executor, resolve_program
from perflab.bench.options import BenchOptions, Observer
from perflab.bench.scheduler import BlockOrder, StopDecision, StopRule
from perflab.errors import OptionError, PerflabError, Terminated
from perflab.store.model import Benchmark, CommandResult, Run

SHELL_CALIBRATION = -1  # pseudo command index of ``sh -c ''`` in a block
OUTPUT_TAIL = 1 << 20  # bytes of a run's output read back for metric matching and --show-output


@dataclass(frozen=True)
class Place:
    """Where one command runs: extra environment variables and a working directory (None: perflab's)."""

    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


class RunFailed(PerflabError):
    """A run (or hook) failed; the runs measured so far are kept by the session.

    The message is the reason only. ``remedies`` names the options that would have changed the outcome
    (``ignore_failure``: keep going; ``show_output``: the output was not captured, so no line of it is
    quoted); each front end words them as its own flags, or not at all."""

    def __init__(self, reason: str, *, remedies: Sequence[str] = ()) -> None:
        super().__init__(reason, option=remedies[0] if remedies else None)
        self.remedies = tuple(remedies)


__all__ = ["BenchOptions", "MeasurementSession", "Observer", "Place", "RunFailed", "run_benchmark"]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


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
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._setup_done: set[int] = set()
        self._floored: dict[int, int] = {}  # command index -> runs whose peak RSS hit the launcher's floor
        self._floor_kb = 0
        self._cleaned = False
        self.output_truncated = 0  # bytes of the last read output that were skipped (only the tail is read)
        self.failure_remedies: tuple[str, ...] = ()  # of the RunFailed that stopped it, if one did
        self._env = {**os.environ, **self.options.env}
        if self.options.input_path is not None:
            path = Path(self.options.input_path)
            if not path.exists() or path.is_dir() or not os.access(path, os.R_OK):  # /dev/null is fine
                raise OptionError("input_path", self.options.input_path, "not a readable file")
            self._input = str(path.resolve())
        else:
            self._input = None
        self.capture = bool(self.options.metrics) or self.options.show_output or self.options.output == "pipe"

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
                    resolve_program(argv[0], self._env)
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
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="perflab-run-")
            os.chmod(self._tmp.name, 0o700)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(kill=exc is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop the executor (``kill``: also the run in progress) and remove captured output."""
        if self._own_executor and self._executor is not None:
            self._executor.close(kill=kill)
            self._executor = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- running ------------------------------------------------------------------------------------

    def _output_path(self) -> str:
        assert self._tmp is not None
        return str(Path(self._tmp.name) / "output")

    def _spec(self, argv: Sequence[str], label: str, *, timed: bool, capture: bool,
              place: Place | None = None) -> RunSpec:
        if capture:
            out = self._output_path()
        elif timed and self.options.output not in ("null", "pipe"):
            out = self.options.output  # hyperfine's --output=FILE: the run's own output goes there
        else:
            out = NULL
        env = {**self._env, **place.env} if place is not None and place.env else self._env
        return RunSpec(argv=list(argv), env=env, stdin=self._input if timed else None, stdout=out,
                       stderr=NULL if out == NULL else SAME,
                       timeout_s=self.options.timeout_s if timed else None,
                       cwd=place.cwd if place is not None else None, label=label,
                       keep_children=self.options.keep_children or not timed)

    def _shell_calibration_spec(self) -> RunSpec:
        """``SHELL -c ''``: the shell's own spawn cost, measured interleaved with --shell."""
        argv = [*self.options.shell_argv(), "-c", ""]
        return self._spec(argv, f"{' '.join(argv[:-1])} ''", timed=True, capture=False)

    def _read_output(self) -> str:
        """The run's output, or its last OUTPUT_TAIL bytes: a command printing a gigabyte goes to a file
        (streamed by the kernel, never held here) and only its tail is read for metrics and --show-output."""
        self.output_truncated = 0
        try:
            with open(self._output_path(), "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(0, size - OUTPUT_TAIL)
                fh.seek(start)
                data = fh.read(OUTPUT_TAIL)
        except OSError:
            return ""
        self.output_truncated = start
        return data.decode(errors="replace")

    def _hook(self, what: str, index: int, argv: list[str] | None) -> None:
        if argv is None:
            return
        label = f"--{what} of {self.commands[index].name!r}"
        run = self.executor.run(self._spec(argv, label, timed=False, capture=True))
        text = self._read_output()
        if self.options.show_output and text:
            self.observer.output(label, text)
        if not run.ok:
            status = f"exit code {run.exit_code}" if run.exit_code is not None else f"signal {run.signal}"
            tail = _last_line(text)
            raise RunFailed(f"{label} ({' '.join(argv)}) failed with {status}"
                            + (f": {tail}" if tail else ""))

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
        spec = self._spec(command.argv, command.name, timed=True, capture=self.capture,
                          place=self.places[index])
        floored = self.executor.floored_runs
        run = self.executor.run(spec, sequence=sequence, block=block, variant=variant)
        if self.executor.floored_runs != floored and not warm:
            self._floored[index] = self._floored.get(index, 0) + 1
            self._floor_kb = max(self._floor_kb, self.executor.rss_floor_kb)
        text = self._read_output() if self.capture else ""
        if self.output_truncated:
            note = (f"output longer than {OUTPUT_TAIL // 1024} KiB: metrics are matched in (and "
                    f"--show-output shows) its last {OUTPUT_TAIL // 1024} KiB only")
            if note not in self.results[index].notes:
                self.results[index].notes.append(note)
        if self.options.show_output and text:
            skipped = self.output_truncated
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
            if run.timed_out:
                why = f"timed out after {self.options.timeout_s:g} s (its process group was killed)"
            elif run.exit_code is not None:
                why = f"exited with code {run.exit_code}"
            else:
                why = f"was killed by signal {run.signal}"
            tail = _last_line(text)
            remedies = (["timeout_s"] if run.timed_out else []) + ([] if tail else ["show_output"])
            remedies.append("ignore_failure")
            raise RunFailed(f"command {command.name!r} {why} on {which}" + (f": {tail}" if tail else ""),
                            remedies=remedies)
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
        if not self.shell_runs:
            return None
        import numpy as np

        return (float(np.median([r.wall_s for r in self.shell_runs])),
                float(np.median([r.user_s for r in self.shell_runs])),
                float(np.median([r.sys_s for r in self.shell_runs])))

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
            self._subtract_spawn()
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

    def _subtract_spawn(self) -> None:
        from perflab.stats.bootstrap import median_ci

        cost = self.spawn_cost()
        if cost is None:
            for r in self.results:
                r.notes.append("--shell: no successful `sh -c ''` calibration run, nothing subtracted")
            return
        wall, user, sys_ = cost
        walls = [r.wall_s for r in self.shell_runs]
        lo, hi = median_ci(walls)
        ci = f"95 % CI {lo * 1e3:.3f}–{hi * 1e3:.3f} ms" if lo == lo else "no CI: fewer than 6 runs"
        note = (f"shell spawn cost {wall * 1e3:.3f} ms ({ci}, median of {len(walls)} interleaved runs of "
                f"`sh -c ''`) subtracted from wall, user and sys time (clamped at 0)")
        for r in self.results:
            r.shell_spawn_s = wall
            r.notes.append(note)
            for run in r.runs:
                run.wall_ns = max(0, run.wall_ns - round(wall * 1e9))
                run.user_s = max(0.0, run.user_s - user)
                run.sys_s = max(0.0, run.sys_s - sys_)
        self.shell_spawn_samples_s = walls


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
    status, message = "complete", None
    try:
        with session:
            try:
                session.setup()
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
