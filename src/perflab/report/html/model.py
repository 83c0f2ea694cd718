"""What the HTML page is given: results as the store holds them, with their analyses already made.

The use case (``perflab.lab.report_session``) fills these from the store and the analysis package; the
page only lays them out. Everything here is plain data so a section can be added for a new result kind
without touching the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perflab.store.model import Benchmark


@dataclass
class ResultView:
    """One stored result and the figures the analysis made of it."""

    benchmark: Benchmark
    commands: list[dict[str, Any]]  # per-command summaries (analysis["commands"] shape), may be empty
    comparisons: list[dict[str, Any]]  # analysis comparison dicts: candidate, baseline, ratio, ratio_ci, …
    warnings: list[str]  # warnings that apply to the whole result (machine, status)
    analysis: dict[str, Any]  # the stored analysis as it is (kind-specific sections read their part)
    samples: list[list[float]] = field(default_factory=list)  # per command: the wall times (s) analysed
    recomputed: str | None = None  # why the figures were computed now instead of read from the store
    emulated: str | None = None  # why the timings are emulated (a VM under TCG…), None when they are real

    @property
    def id(self) -> int | None:
        return self.benchmark.id

    @property
    def kind(self) -> str:
        return self.benchmark.kind

    @property
    def anchor(self) -> str:
        return f"result-{self.benchmark.id}" if self.benchmark.id is not None else "result-file"


@dataclass
class ReportData:
    """Everything one page shows."""

    store_url: str
    generated_at: str  # ISO 8601 UTC
    scope: str  # which results were asked for, in words
    results: list[ResultView]
    extras: dict[str, Any] = field(default_factory=dict)  # kind-independent records (suites, history…)

    def of_kind(self, *kinds: str) -> list[ResultView]:
        return [r for r in self.results if r.kind in kinds]
