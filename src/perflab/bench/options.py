"""What shapes a benchmark besides its commands, and the progress callbacks the runner makes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from perflab.bench.scheduler import RunCount
from perflab.store.model import CommandResult, MetricSpec, Run

if TYPE_CHECKING:
    from perflab.system.process import ProcessTuning


@dataclass
class BenchOptions:
    """Everything that shapes a benchmark except the commands themselves."""

    count: RunCount = field(default_factory=RunCount)  # RunCount(runs=20) for a fixed count
    warmup: int = 1
    seed: int | None = None  # None: a random seed, recorded in the result
    timeout_s: float | None = None
    input_path: str | None = None
    show_output: bool = False
    env: dict[str, str] = field(default_factory=dict)  # added to perflab's environment
    # commands are ``SHELL -c``: True for sh, or the shell's argv (``["bash", "-e"]``); its spawn cost is
    # measured interleaved and subtracted
    shell: bool | list[str] = False
    # keep going when a run fails: True for any failure, or only these exit codes (hyperfine's
    # ``--ignore-failure=1,2``); failed runs are kept but left out of the statistics
    ignore_failure: bool | list[int] = False
    order: str = "interleaved"  # or "sequential": each command's setup, warm-up, runs, cleanup in turn
    output: str = "null"  # where a run's output goes: null, pipe, inherit (--show-output) or a file path
    metrics: list[MetricSpec] = field(default_factory=list)
    tuning: ProcessTuning | None = None
    capture_environment: bool = True
    keep_children: bool = False  # leave what a measured run starts in the background running

    def tolerates(self, run: Run) -> bool:
        """Whether a failed run may be kept going past (``ignore_failure``)."""
        if self.ignore_failure is True:
            return True
        if not self.ignore_failure:
            return False
        return run.exit_code is not None and not run.timed_out and run.exit_code in self.ignore_failure

    def shell_argv(self) -> list[str]:
        """The shell's argv before ``-c`` (``[]`` without one)."""
        if self.shell is True:
            return ["sh"]
        return list(self.shell) if self.shell else []

    def settings(self) -> dict[str, Any]:
        """JSON-friendly record of the options, stored in Benchmark.settings."""
        out = asdict(self.count)
        out.update(warmup=self.warmup, seed=self.seed, timeout_s=self.timeout_s, input=self.input_path,
                   show_output=self.show_output, env=self.env, shell=self.shell,
                   ignore_failure=self.ignore_failure, order=self.order, output=self.output,
                   metrics=[asdict(m) for m in self.metrics], keep_children=self.keep_children)
        if self.tuning is not None and not self.tuning.is_empty():
            out["process_tuning"] = self.tuning.describe()
        return out


class SessionState(Protocol):
    """What an observer may read of the measurement in progress (``runner.MeasurementSession`` has it;
    declared here so this module does not import the runner that imports it)."""

    commands: list[Any]  # bench.commands.Command
    results: list[CommandResult]
    options: BenchOptions
    precision: list[float]
    executed: list[int]  # command index of every measured run, in order
    created_at: str
    kind: str
    environment: dict[str, Any]

    def elapsed(self) -> float: ...

    def spawn_cost(self) -> tuple[float, float, float] | None: ...


class Observer:
    """Progress callbacks; the default does nothing (the CLI draws a rich progress bar)."""

    def phase(self, text: str) -> None:
        """A new phase started: "setup", "warm-up", "measuring", "cleanup"."""

    def run_done(self, session: SessionState, index: int, run: Run) -> None:
        """A measured run of command ``index`` finished (not called for warm-ups and hooks)."""

    def output(self, label: str, text: str) -> None:
        """Captured output of a run or hook, with ``show_output``."""

    def block_done(self, session: SessionState) -> None:
        """A block of measured runs finished (every command once): a point to save progress."""
