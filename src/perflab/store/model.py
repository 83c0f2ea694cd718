"""The result model every part of perflab produces and the store persists.

Plain dataclasses, JSON-friendly through ``to_dict``/``from_dict``, so the store, the exporters and
the engines agree on one shape without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["complete", "interrupted", "failed"]


@dataclass
class MetricSpec:
    """A number parsed from each run's output, e.g. ``ops=([0-9.]+) ops/s``."""

    name: str
    regex: str
    unit: str = ""
    higher_is_better: bool = True


@dataclass
class Run:
    """One timed execution of one command."""

    sequence: int  # position in the whole benchmark's executed order (0-based, warm-ups excluded)
    wall_ns: int  # monotonic clock, spawn to reap
    user_s: float  # CPU time of the child (and its reaped descendants), from wait4 rusage
    sys_s: float
    exit_code: int | None  # None when killed by a signal
    signal: int | None = None
    timed_out: bool = False
    peak_rss_bytes: int | None = None  # of the workload itself; None when it cannot be measured honestly
    metrics: dict[str, float] = field(default_factory=dict)
    block: int = 0  # which interleaving block the run belonged to
    variant: str = ""  # for tune-try: which setting was in force ("baseline", "bbr", …)
    left_running: int = 0  # processes the run left behind, killed when it ended (0 with keep_children)

    @property
    def wall_s(self) -> float:
        return self.wall_ns / 1e9

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class CommandResult:
    """All runs of one command (one parameter combination)."""

    name: str
    command: str  # as the user wrote it (after parameter substitution)
    argv: list[str]
    parameters: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    warmup_runs: int = 0
    metrics: list[MetricSpec] = field(default_factory=list)
    memory_note: str | None = None  # why peak_rss_bytes is None, when it is
    shell_spawn_s: float | None = None  # measured shell cost subtracted with --shell
    notes: list[str] = field(default_factory=list)

    def wall_times_s(self) -> list[float]:
        return [r.wall_s for r in self.runs]


@dataclass
class Benchmark:
    """One invocation of ``perflab bench`` (or a tune trial, or an import)."""

    commands: list[CommandResult]
    created_at: str  # ISO 8601, UTC
    kind: str = "bench"  # bench | tune-try | import | crypto
    status: Status = "complete"
    message: str | None = None  # why it is not complete
    order: list[int] = field(default_factory=list)  # command index of each executed run, in order
    environment: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # options it ran with
    analysis: dict[str, Any] = field(default_factory=dict)  # verdicts, summaries at save time
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Benchmark:
        commands = []
        for c in data.get("commands", []):
            c = dict(c)
            c["runs"] = [Run(**r) for r in c.get("runs", [])]
            c["metrics"] = [MetricSpec(**m) for m in c.get("metrics", [])]
            commands.append(CommandResult(**c))
        rest = {k: v for k, v in data.items() if k != "commands"}
        return cls(commands=commands, **rest)
