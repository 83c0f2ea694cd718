"""``perflab suite run`` as a library function: a suite file in, one stored, analysed result out.

Within each benchmark × input the variants run interleaved in randomized blocks (every block runs each
variant once, in a fresh random order), so drift of the machine hits every variant alike. Ctrl-C or
SIGTERM stops the suite and keeps everything measured; a failed run stops it too (status "failed"),
also keeping what was measured. The result is one Benchmark of kind ``suite``: one CommandResult per cell
(``parameters`` = benchmark, input, variant) holding its raw runs, and ``analysis`` = the suite table
(``perflab.analysis.suite``)::

    from perflab.lab.suite import SuiteRunOptions, run_suite
    from perflab.lab.suite_file import load_suite
    from perflab.store.db import Store
    outcome = run_suite(load_suite("perflab.toml"), SuiteRunOptions(), Store.open())
    outcome.suite_id, outcome.benchmark.analysis["totals"]
    cells = suite_cells(Store.open().get(outcome.suite_id))   # per-cell samples, from the store
"""

from __future__ import annotations

import functools
import random
import re
import secrets
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from perflab.analysis.suite import Cell, analyze_suite
from perflab.bench.inprocess import PER_CALL
from perflab.bench.instructions import InstructionCounter, find_counter
from perflab.errors import PerflabError
from perflab.lab.bench_session import sigterm_as_interrupt
from perflab.lab.suite_prep import (
    PreparedInput,
    PreparedVariant,
    prepare_input,
    prepare_variant,
    release_variant,
    variant_in_force,
)
from perflab.lab.suite_spec import BenchmarkSpec, SuiteSpec
from perflab.lab.suite_vm import VmGroup, measure_vm, prepare_vms, vm_settings
from perflab.store.model import Benchmark, CommandResult

if TYPE_CHECKING:
    from perflab.store.db import Store

NO_INPUT = "-"


@dataclass
class SuiteRunOptions:
    variants: list[str] | None = None  # a subset, by name (the reference is always kept)
    filter: str | None = None  # regex on benchmark names
    seed: int | None = None  # overrides the suite's seed
    alpha: float = 0.05
    noise: float = 0.01


class SuiteObserver:
    """Progress callbacks; the default does nothing (the CLI draws one bar with ETA)."""

    def start(self, total_runs: int) -> None:
        """Measuring starts; ``total_runs`` warm-up and measured runs are planned."""

    def advance(self, cell: str) -> None:
        """One run of ``cell`` (benchmark/input/variant) finished."""

    def unplanned(self, runs: int) -> None:
        """``runs`` of the planned runs will not be made (an adaptive count stopped before max-runs)."""


@dataclass
class SuiteOutcome:
    suite_id: int
    benchmark: Benchmark
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    spec: SuiteSpec
    benchmarks: list[BenchmarkSpec]
    variants: list[PreparedVariant]
    inputs: dict[str, PreparedInput]
    seed: int
    counter: InstructionCounter | None = None  # when "instructions" is one of the metrics


def _select(spec: SuiteSpec, options: SuiteRunOptions) -> tuple[list[BenchmarkSpec], list[Any]]:
    names = [v.name for v in spec.variants]
    chosen = options.variants or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise PerflabError(
            f"no variant named {', '.join(map(repr, unknown))} in {spec.path} (have {', '.join(names)})"
        )
    if spec.reference not in chosen:
        chosen = [spec.reference, *chosen]
    variants = [v for v in spec.variants if v.name in chosen]
    benchmarks = spec.benchmarks
    if options.filter:
        try:
            pattern = re.compile(options.filter)
        except re.error as error:
            raise PerflabError(f"filter {options.filter!r}: bad regular expression: {error}") from None
        benchmarks = [b for b in benchmarks if pattern.search(b.name)]
        if not benchmarks:
            raise PerflabError(f"filter {options.filter!r} matches no benchmark of {spec.path}")
    return benchmarks, variants


def run_suite(
    spec: SuiteSpec,
    options: SuiteRunOptions | None = None,
    store: Store | None = None,
    *,
    observer: SuiteObserver | None = None,
) -> SuiteOutcome:
    """Prepare (inputs, worktrees, profiles), measure every cell interleaved, analyse, store."""
    from perflab.env.capture import capture_environment
    from perflab.store.db import Store

    options = options or SuiteRunOptions()
    observer = observer or SuiteObserver()
    store = store or Store.open()
    benchmarks, variant_specs = _select(spec, options)
    seed = (
        options.seed
        if options.seed is not None
        else (spec.seed if spec.seed is not None else secrets.randbits(32))
    )
    created = datetime.now(UTC).isoformat(timespec="seconds")
    cells: list[CommandResult] = []
    status, message = "complete", None
    prepared: list[PreparedVariant] = []
    with tempfile.TemporaryDirectory(prefix="perflab-suite-") as workdir:
        try:
            used = list(dict.fromkeys(n for b in benchmarks for n in b.inputs))
            inputs = {n: prepare_input(spec.inputs[n], workdir, seed, spec.directory) for n in used}
            for v in variant_specs:
                prepared.append(prepare_variant(v, workdir))
            prepare_vms(prepared)  # vm variants: kernel, initramfs, one accelerator for all
            counter = find_counter() if "instructions" in spec.metrics else None
            plan = _Plan(spec, benchmarks, prepared, inputs, seed, counter)
            environment = capture_environment()
            observer.start(sum(len(b.inputs or [NO_INPUT]) * _planned(b, len(prepared)) for b in benchmarks))
            with sigterm_as_interrupt():
                for b in benchmarks:
                    for inp in b.inputs or [NO_INPUT]:
                        before = len(cells)
                        failure = _measure_group(plan, b, inp, observer, cells)
                        made = sum(len(c.runs) + c.warmup_runs for c in cells[before:])
                        observer.unplanned(max(0, _planned(b, len(prepared)) - made))
                        if failure is not None:
                            status, message = "failed", failure
                            break
                    if status != "complete":
                        break
        except KeyboardInterrupt:
            status, message = "interrupted", "interrupted (Ctrl-C or SIGTERM); the runs measured are kept"
        finally:
            for p in prepared:
                release_variant(p)
    if not any(c.runs for c in cells) and status != "complete":
        raise PerflabError(message or "nothing was measured")
    bench = Benchmark(
        commands=cells,
        created_at=created,
        kind="suite",
        status=status,  # type: ignore[arg-type]
        message=message,
        environment=environment,
        settings=_settings(plan, options, variant_specs),
    )
    bench.analysis = analyze_cells(bench, alpha=options.alpha, noise=options.noise, seed=seed)
    suite_id = store.save(bench)
    notes = [n for p in prepared for n in p.notes]
    return SuiteOutcome(suite_id, bench, notes)


def _planned(b: BenchmarkSpec, variants: int) -> int:
    """Runs (warm-up included) one benchmark × input makes at most."""
    return variants * (b.settings.planned_runs + b.settings.warmup)


def _settings(plan: _Plan, options: SuiteRunOptions, variant_specs: Sequence[Any]) -> dict[str, Any]:
    spec = plan.spec
    return {
        "suite": spec.describe(),
        "suite_name": spec.name,
        "suite_path": spec.path,
        "reference": spec.reference,
        "variants": [v.name for v in variant_specs],
        "metrics": spec.metrics,
        "primary": spec.primary,
        "seed": plan.seed,
        "filter": options.filter,
        "directions": {m: _higher(spec, m) for m in spec.metrics},
        "inputs": {
            n: {"path": i.path, "seed": i.seed, "sha256": i.sha256, "bytes": i.bytes}
            for n, i in plan.inputs.items()
        },
        "revisions": {p.spec.name: p.commit for p in plan.variants if p.commit},
        "order_rule": "per benchmark × input: randomized blocks, each variant once per block",
        **vm_settings(plan.variants),
    }


def _higher(spec: SuiteSpec, metric: str) -> bool:
    return next((m.higher_is_better for m in spec.custom_metrics if m.name == metric), False)


def _cell_name(b: BenchmarkSpec, inp: str, variant: str) -> str:
    return f"{b.name}[{inp}]@{variant}" if inp != NO_INPUT else f"{b.name}@{variant}"


def _command_text(b: BenchmarkSpec, v: PreparedVariant, input_path: str | None) -> list[str]:
    """argv of a command benchmark under one variant: vars and {input} substituted, template applied."""

    def fill(text: str) -> str:
        for key, value in v.spec.vars.items():
            text = text.replace("{" + key + "}", value)
        return text.replace("{input}", input_path or "")

    if b.argv is not None and v.spec.template is None:
        return [fill(w) for w in b.argv]
    text = fill(b.command if b.command is not None else shlex.join(b.argv or []))
    if v.spec.template is not None:
        text = v.spec.template.replace("{command}", text)
    return ["sh", "-c", text] if b.shell else shlex.split(text)


def _measure_group(
    plan: _Plan, b: BenchmarkSpec, inp: str, observer: SuiteObserver, cells: list[CommandResult]
) -> str | None:
    """All variants of one benchmark × input, interleaved; their cells are appended to ``cells`` (also
    when a run fails or Ctrl-C arrives); returns the failure, if any."""
    rng = random.Random(f"{plan.seed}:{b.name}:{inp}")
    input_path = plan.inputs[inp].path if inp != NO_INPUT else None
    if plan.variants[0].vm is not None:
        argvs = [_command_text(b, v, input_path) for v in plan.variants]
        names = [_cell_name(b, inp, v.spec.name) for v in plan.variants]
        group = VmGroup(b, inp, argvs, names, list(plan.spec.custom_metrics), plan.spec.directory)
        return measure_vm(plan.variants, group, rng, observer, cells)
    if b.is_callable:
        from perflab.lab.suite_callable import measure_callable

        return measure_callable(
            plan.variants,
            b,
            inp,
            input_path,
            rng,
            observer,
            [_cell_name(b, inp, v.spec.name) for v in plan.variants],
            cells,
        )
    from perflab.bench.commands import Command
    from perflab.bench.options import BenchOptions
    from perflab.bench.run_io import Place
    from perflab.lab.bench_blocks import Arm, BlockPlan
    from perflab.lab.bench_session import BenchRequest, BenchSession

    commands = [
        Command(
            name=_cell_name(b, inp, v.spec.name),
            command=shlex.join(argv := _command_text(b, v, input_path)),
            argv=argv,
            parameters={"benchmark": b.name, "input": inp, "variant": v.spec.name},
        )
        for v in plan.variants
    ]
    places = [Place(env=dict(v.spec.env), cwd=v.cwd or plan.spec.directory) for v in plan.variants]
    options = BenchOptions(
        count=b.settings.count,
        warmup=0,
        seed=rng.getrandbits(32),
        timeout_s=b.settings.timeout_s,
        metrics=list(plan.spec.custom_metrics),
        capture_environment=False,
    )

    def block(_number: int) -> list[Arm]:
        """Every variant once, in a fresh random order, under its settings."""
        arms = [
            Arm(i, v.spec.name, in_force=functools.partial(variant_in_force, v, in_process=False))
            for i, v in enumerate(plan.variants)
        ]
        rng.shuffle(arms)
        return arms

    def ran(arm: Arm, _run: object) -> None:
        observer.advance(commands[arm.index].name)

    request = BenchRequest(
        commands,
        options,
        kind="suite",
        plan=BlockPlan(block, warmup_blocks=b.settings.warmup, ran=ran),
        places=places,
        instructions=plan.counter is not None,
    )
    try:
        raw = BenchSession(request).measure()
    except PerflabError as error:  # nothing measured (a command that does not exist)
        return error.message
    for cell, v in zip(raw.commands, plan.variants, strict=True):
        cell.notes += v.notes
    cells += raw.commands
    if raw.status == "interrupted":
        raise KeyboardInterrupt
    return raw.message if raw.status == "failed" else None


def suite_cells(bench: Benchmark) -> list[Cell]:
    """The per-cell samples of a stored suite result, per metric (for callables ``wall`` is per call)."""
    metrics = bench.settings.get("metrics") or ["wall"]
    out = []
    for c in bench.commands:
        p = c.parameters
        values: dict[str, list[float]] = {}
        for m in metrics:
            values[m] = _metric_values(c, m)
        out.append(Cell(p.get("benchmark", c.name), p.get("input", NO_INPUT), p.get("variant", ""), values))
    return out


def _metric_values(cell: CommandResult, metric: str) -> list[float]:
    from perflab.analysis.samples import samples

    if metric == "wall" and cell.runs and PER_CALL in cell.runs[0].metrics:
        return samples(cell, PER_CALL)
    return samples(cell, metric)


def analyze_cells(
    bench: Benchmark, *, alpha: float = 0.05, noise: float = 0.01, seed: int | None = None
) -> dict[str, Any]:
    """The suite table of a stored suite result (re-computable at any time from its raw runs)."""
    s = bench.settings
    metrics = s.get("metrics") or ["wall"]
    analysis = analyze_suite(
        suite_cells(bench),
        variants=s.get("variants") or [],
        reference=s.get("reference", ""),
        metrics=metrics,
        higher_is_better=s.get("directions") or {},
        alpha=alpha,
        noise=noise,
        seed=seed,
    )
    if s.get("label"):  # vm variants under TCG: every figure of theirs is emulated
        analysis["label"] = s["label"]
        analysis["emulated_variants"] = list(s.get("emulated_variants") or [])
    return analysis
