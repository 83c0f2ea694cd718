"""What a suite file describes, once read and checked (``lab.suite_file`` reads it): benchmarks × inputs ×
variants, the metrics and each benchmark's run settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.bench.scheduler import RunCount
from perflab.store.model import MetricSpec

if TYPE_CHECKING:
    from perflab.lab.suite_vm import VmVariantSpec

BUILT_IN_METRICS = ("wall", "user", "sys", "peak_rss", "instructions")


@dataclass
class RunSettings:
    """How one benchmark is run: ``count`` is bench's run count (fixed ``runs``, or the adaptive rule of
    ``perflab bench``: min/max runs, max time, target precision), per cell of variants."""

    count: RunCount = field(default_factory=lambda: RunCount(runs=10))
    warmup: int = 1
    timeout_s: float | None = None

    @property
    def runs(self) -> int | None:
        """The fixed run count; None when adaptive."""
        return self.count.runs

    @property
    def planned_runs(self) -> int:
        """Runs per variant at most (the fixed count, or the adaptive rule's max-runs)."""
        return self.count.runs if self.count.runs is not None else self.count.max_runs


@dataclass
class InputSpec:
    name: str
    file: str | None = None  # absolute path
    generate: str | None = None  # command with {output} and {seed}
    seed: int | None = None


@dataclass
class BenchmarkSpec:
    name: str
    command: str | None = None
    argv: list[str] | None = None
    shell: bool = False
    callable: str | None = None  # "module:function"
    path: str | None = None  # added to sys.path for the callable
    inputs: list[str] = field(default_factory=list)
    settings: RunSettings = field(default_factory=RunSettings)

    @property
    def is_callable(self) -> bool:
        return self.callable is not None


@dataclass
class VariantSpec:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    profile: str | None = None  # absolute path of a tuning profile
    rev: str | None = None
    build: str | None = None
    repo: str | None = None  # absolute path; default: the suite file's directory
    vm: VmVariantSpec | None = None  # run the benchmarks in a VM guest booting this kernel (lab.suite_vm)


@dataclass
class SuiteSpec:
    path: str
    name: str
    benchmarks: list[BenchmarkSpec]
    variants: list[VariantSpec]
    inputs: dict[str, InputSpec]
    reference: str
    metrics: list[str]
    primary: str
    custom_metrics: list[MetricSpec] = field(default_factory=list)
    seed: int | None = None

    @property
    def directory(self) -> str:
        return str(Path(self.path).resolve().parent)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly record of the suite, stored with its result."""
        return asdict(self)
