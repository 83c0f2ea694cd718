"""``tune try``: measure a command under the current settings and under candidate tunings, in
alternating blocks, and keep a candidate only when the measurement shows it is better.

Blocks alternate direction (baseline A, candidates B, C: ``A B C | C B A | A B C …``) so a linear drift
of the machine hits every variant alike. Each switch goes through the journaled apply of
``perflab.system.apply`` and is read back; the original values are restored after every candidate
segment, and in a ``finally`` on failure or Ctrl-C. A SIGKILL leaves the journal for
``perflab system rollback``. The whole trial is one Benchmark (kind ``tune-try``), one CommandResult per
variant, each Run's ``variant`` naming the setting in force.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from perflab.analysis.samples import WALL, samples
from perflab.errors import NeedsRootError, PerflabError
from perflab.lab.candidates import BASELINE, Candidate, apply_candidate, preflight, restore_candidate
from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run
from perflab.system.knobs import read_values


@dataclass
class TrialOptions:
    blocks: int = 4
    runs_per_block: int = 3
    warmup: int = 1  # unrecorded runs after every switch of settings
    alpha: float = 0.05
    noise: float = 0.01
    metrics: list[MetricSpec] = field(default_factory=list)
    decide_by: str | None = None  # metric that decides --keep-if-better; default: first metric, else wall
    keep_if_better: bool = False
    timeout_s: float | None = None
    seed: int | None = None

    def validate(self) -> None:
        if self.blocks < 2:
            raise PerflabError(f"--blocks {self.blocks}: need at least 2 so the order can alternate")
        if self.runs_per_block < 1:
            raise PerflabError(f"--runs-per-block {self.runs_per_block}: must be at least 1")
        if self.warmup < 0:
            raise PerflabError(f"--warmup {self.warmup}: must be 0 or more")
        if self.blocks * self.runs_per_block < 5:
            raise PerflabError(f"--blocks {self.blocks} × --runs-per-block {self.runs_per_block} gives "
                               f"{self.blocks * self.runs_per_block} runs per variant; the comparison "
                               "needs at least 5")
        names = [WALL, *(m.name for m in self.metrics)]
        if len(set(names)) != len(names):
            raise PerflabError(f"metric names must be unique and not {WALL!r}: {', '.join(names)}")
        if self.decide_by is not None and self.decide_by not in names:
            raise PerflabError(f"--decide-by {self.decide_by!r}: no such metric (have {', '.join(names)})")

    @property
    def decision_metric(self) -> str:
        return self.decide_by or (self.metrics[0].name if self.metrics else WALL)


@dataclass
class MetricComparison:
    candidate: str
    metric: str
    unit: str
    higher_is_better: bool
    baseline_median: float | None
    candidate_median: float | None
    comparison: dict[str, Any]  # analysis.benchmark.comparison_to_dict: ratio, ratio_ci, p, verdict, reason


@dataclass
class TrialResult:
    benchmark: Benchmark
    comparisons: list[MetricComparison]
    kept: str | None  # label of the candidate left applied (keep_if_better), else None
    keep_reason: str
    originals: dict[str, str | None]
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)  # candidate → {knob: why not here}
    bench_id: int | None = None  # where the trial was stored, when a store was given


class Events:
    """Progress callbacks for the CLI; the default does nothing."""

    def segment(self, block: int, variant: str, applied: dict[str, str]) -> None:
        """A segment starts: ``variant`` is in force with these read-back values."""

    def run(self, variant: str, run: Run) -> None:
        """A measured run finished."""

    def waiting(self, message: str) -> None:
        """The trial waits for something (another trial's lock)."""


# -- the trial ----------------------------------------------------------------------------------------


def run_trial(argv: Sequence[str], candidates: Sequence[Candidate], options: TrialOptions | None = None,
              *, events: Events | None = None, tuning: Any = None, store: Any = None) -> TrialResult:
    """Run the whole trial; the machine is back to its original settings when this returns or raises
    (except a candidate kept by ``keep_if_better``, which stays applied through the journal).

    Returns the result even when a run fails or Ctrl-C interrupts (Benchmark.status says so, the runs
    so far are kept); raises PerflabError before anything is measured for bad input."""
    options = options or TrialOptions()
    options.validate()
    events = events or Events()
    if not argv:
        raise PerflabError("no command given: perflab tune try PROFILE -- CMD ARG…")
    labels = [BASELINE, *(c.label for c in candidates)]
    if len(set(labels)) != len(labels):
        raise PerflabError(f"candidate labels must be unique and not {BASELINE!r}: {', '.join(labels)}")
    if candidates and os.geteuid() != 0:
        raise NeedsRootError("tune try applies system tunings and needs root; nothing was changed")
    with _trial_lock(events):  # stored like every result, whatever its status (the runs so far are kept)
        return _locked_trial(argv, candidates, options, events, tuning, labels, store)


def _locked_trial(argv: Sequence[str], candidates: Sequence[Candidate], options: TrialOptions,
                  events: Events, tuning: Any, labels: list[str], store: Any) -> TrialResult:
    """The trial as a ``BenchSession`` with a block plan: each block runs every variant's segment, in
    alternating direction, with the candidate applied (journaled, read back) for its segment only."""
    from perflab.bench.commands import Command
    from perflab.bench.options import BenchOptions
    from perflab.bench.scheduler import RunCount
    from perflab.lab.bench_blocks import Arm, BlockPlan
    from perflab.lab.bench_session import BenchRequest, BenchSession

    candidates, dropped = preflight(candidates)
    knob_names = list(dict.fromkeys(n for c in candidates for n in c.settings))
    _refuse_after_crash(knob_names)
    originals = read_values(knob_names)
    by_label = {c.label: c for c in candidates}
    in_force: dict[str, dict[str, str]] = {BASELINE: {k: v for k, v in originals.items() if v is not None}}

    @contextlib.contextmanager
    def variant(block: int, label: str) -> Iterator[None]:
        """The variant's settings for its segment; the originals restored after, also on failure or
        Ctrl-C (once more if the first restore was interrupted)."""
        report = None
        try:
            if label != BASELINE:  # the baseline's values are the originals, read above
                report = apply_candidate(by_label[label])
                in_force[label] = _read_in_force(knob_names)
            events.segment(block, label, in_force[label])
            yield
        finally:
            if report is not None:
                try:
                    restore_candidate(report, originals)
                except BaseException:
                    restore_candidate(report, originals)
                    raise

    def block_arms(block: int) -> list[Arm]:
        order = labels if block % 2 == 0 else labels[::-1]
        return [Arm(0, label, runs=options.runs_per_block, warmup=options.warmup,
                    in_force=functools.partial(variant, block, label)) for label in order]

    def ran(arm: Arm, run: Run | None) -> None:
        if run is not None:
            events.run(arm.variant, run)

    bench_options = BenchOptions(count=RunCount(runs=options.blocks * options.runs_per_block),
                                 warmup=options.warmup, seed=options.seed, timeout_s=options.timeout_s,
                                 metrics=list(options.metrics), tuning=tuning)
    command = Command.from_argv(list(argv))
    request = BenchRequest([command], bench_options, alpha=options.alpha, noise=options.noise,
                           kind="tune-try", plan=BlockPlan(block_arms, ran=ran))
    session = BenchSession(request, store)  # stored block by block, as every result
    raw = session.measure()  # raises (PerflabError) only when nothing was measured
    if raw.status == "failed":
        raw.message = f"{raw.message} (settings restored, runs so far kept)"
    elif raw.status == "interrupted":
        raw.message = "interrupted (Ctrl-C or SIGTERM); settings restored, runs so far kept"
    session.benchmark = _per_variant(raw, labels, by_label, originals, command.command, list(argv),
                                     options, in_force)
    comparisons: list[MetricComparison] = []
    kept, keep_reason = None, "not requested"

    def decide(benchmark: Benchmark) -> dict[str, Any]:
        nonlocal comparisons, kept, keep_reason
        if benchmark.status == "complete":
            comparisons = _compare(benchmark, labels, options)
        if options.keep_if_better:
            kept, keep_reason = _keep(comparisons, by_label, options)
        return {"comparisons": [asdict(c) for c in comparisons], "decision_metric": options.decision_metric,
                "kept": kept, "keep_reason": keep_reason, "restored_to": originals}

    session.benchmark.settings["dropped"] = dropped
    outcome = session.conclude(analysis=decide)
    return TrialResult(outcome.benchmark, comparisons, kept, keep_reason, originals, dropped,
                       outcome.bench_id)


LOCK_PATH = "/run/lock/perflab-tune-try.lock"


@contextlib.contextmanager
def _trial_lock(events: Events) -> Iterator[None]:
    """One trial at a time on this machine: the knobs are system-wide, and a second trial switching
    them would corrupt both the measurements and the originals the first one restores."""
    import fcntl
    from pathlib import Path

    path = Path(os.environ.get("PERFLAB_TUNE_LOCK", LOCK_PATH))
    if not path.parent.is_dir():
        path = Path("/tmp") / path.name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            events.waiting(f"another tune try (pid {holder}) holds {path}; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _refuse_after_crash(knob_names: Sequence[str]) -> None:
    """A trial killed with SIGKILL leaves its candidate applied (and journaled): the "originals" read
    now would be the candidate's values, so insist on a rollback first."""
    from perflab.system import journal

    boot = journal.boot_id()
    stale = sorted({i.knob for i in journal.pending()
                    if i.label.startswith("tune-try:") and i.knob in knob_names and i.boot_id == boot})
    if stale:
        raise PerflabError(f"a previous tune try did not finish and left {', '.join(stale)} changed "
                           "(see `perflab system status`); run `perflab system rollback` first")


def _read_in_force(names: Sequence[str]) -> dict[str, str]:
    return {k: v for k, v in read_values(list(names)).items() if v is not None}


def _per_variant(raw: Benchmark, labels: list[str], by_label: dict[str, Candidate],
                 originals: dict[str, str | None], command: str, argv: list[str], options: TrialOptions,
                 in_force: dict[str, dict[str, str]]) -> Benchmark:
    """Split the session's single command into one CommandResult per variant (so every report and
    ``perflab compare`` sees the variants as the things compared), keeping the executed order."""
    runs, warm, note = raw.commands[0].runs, raw.commands[0].warmup_runs, raw.commands[0].memory_note
    commands = []
    for label in labels:
        # the values read back while the variant was in force; the candidate's specs as a fallback
        settings = in_force.get(label) or (by_label[label].settings if label != BASELINE
                                           else {k: v for k, v in originals.items() if v is not None})
        result = CommandResult(name=label, command=command, argv=list(argv), parameters=dict(settings),
                               runs=[r for r in runs if r.variant == label], metrics=list(options.metrics),
                               memory_note=note)
        result.warmup_runs = warm // len(labels)
        if label in in_force:
            result.notes.append("parameters: the values read back while this variant was in force")
        if label in by_label:
            requested = by_label[label].settings.items()
            result.notes.append("requested: " + ", ".join(f"{k}={v}" for k, v in requested))
            if label in in_force and in_force[label] == in_force.get(BASELINE):
                result.notes.append("identical to the baseline: every knob already had this value, so any "
                                    "difference measured is noise (an A/A comparison)")
        commands.append(result)
    index = {label: i for i, label in enumerate(labels)}
    settings = dict(raw.settings)
    settings.update(blocks=options.blocks, runs_per_block=options.runs_per_block, warmup=options.warmup,
                    alpha=options.alpha, noise=options.noise, keep_if_better=options.keep_if_better,
                    decide_by=options.decision_metric, order_rule="alternating blocks (forward, reverse)",
                    candidates={c.label: c.settings for c in by_label.values()}, originals=originals)
    order = [index[r.variant] for r in sorted(runs, key=lambda r: r.sequence)]
    return Benchmark(commands=commands, created_at=raw.created_at, kind="tune-try", status=raw.status,
                     message=raw.message, order=order,
                     environment=raw.environment, settings=settings)


def _compare(benchmark: Benchmark, labels: list[str], options: TrialOptions) -> list[MetricComparison]:
    """Every candidate against the baseline on every metric, Holm-adjusted as one family."""
    import numpy as np

    from perflab.analysis.benchmark import comparison_to_dict
    from perflab.stats.compare import compare_many

    metrics: list[tuple[str, str, bool]] = [(WALL, "s", False)]
    metrics += [(m.name, m.unit, m.higher_is_better) for m in options.metrics]
    base = benchmark.commands[0]
    pairs, meta = [], []
    for cand in benchmark.commands[1:]:
        for name, unit, higher in metrics:
            pairs.append((samples(base, name), samples(cand, name)))
            meta.append((cand.name, name, unit, higher))
    if not pairs:
        return []
    usable = [i for i, (a, b) in enumerate(pairs) if a and b]
    results: dict[int, Any] = {}
    if usable:
        found = compare_many([pairs[i] for i in usable], alpha=options.alpha, noise=options.noise,
                             higher_is_better=[meta[i][3] for i in usable], seed=options.seed)
        results = dict(zip(usable, found, strict=True))
    out = []
    for i, (cand, name, unit, higher) in enumerate(meta):
        a, b = pairs[i]
        if i in results:
            comparison = comparison_to_dict(results[i])
        else:
            comparison = {"ratio": None, "ratio_ci": [None, None], "p_value": None, "p_adjusted": None,
                          "verdict": "inconclusive", "reason": f"metric {name!r} missing in every run"}
        out.append(MetricComparison(cand, name, unit, higher,
                                    float(np.median(a)) if a else None, float(np.median(b)) if b else None,
                                    comparison))
    return out


def _keep(comparisons: list[MetricComparison], by_label: dict[str, Candidate],
          options: TrialOptions) -> tuple[str | None, str]:
    """Re-apply the best candidate whose decision metric is significantly better (verdict 'faster')."""
    metric = options.decision_metric
    winners = [c for c in comparisons if c.metric == metric and c.comparison["verdict"] == "faster"]
    if not winners:
        verdicts = ", ".join(f"{c.candidate}: {c.comparison['verdict']}" for c in comparisons
                             if c.metric == metric) or "no comparison"
        return None, f"no candidate significantly better on {metric} ({verdicts}); originals kept"

    def gain(c: MetricComparison) -> float:
        ratio = c.comparison["ratio"]
        return ratio if c.higher_is_better else 1.0 / ratio

    best = max(winners, key=gain)
    report = apply_candidate(by_label[best.candidate], label="tune-try-kept")
    values = ", ".join(f"{r.knob}={r.after}" for r in report.results)
    lo, hi = best.comparison["ratio_ci"]
    ci = f"95 % CI [{lo:.4g}, {hi:.4g}]" if lo is not None and hi is not None else "no CI"
    return best.candidate, (f"{best.candidate} kept: significantly better on {metric} "
                            f"(ratio {best.comparison['ratio']:.4g}, {ci}); in force now: {values}; "
                            "`perflab system rollback` undoes it")

