"""`perflab tune` commands: try a tuning against the current settings and keep it only if it helps."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

app = typer.Typer(help="Try tunings in a measured closed loop (apply → measure → restore).",
                  no_args_is_help=True)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        from perflab.report.format import fmt_time

        return fmt_time(value)
    from perflab.report.format import fmt_value

    return fmt_value(value, unit)


def _ratio(comparison: dict[str, Any]) -> str:
    ratio, (lo, hi) = comparison["ratio"], comparison["ratio_ci"]
    if ratio is None:
        return "n/a"
    if lo is None or hi is None:
        return f"{ratio:.3f} (no CI: {comparison['reason']})"
    return f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]"


_Opt = typer.Option


@app.command(name="try")
def try_(
    words: Annotated[list[str] | None, typer.Argument(
        metavar="[PROFILE] -- CMD [ARG...]",
        help="A profile to try (omit with --knob), then the command after --.")] = None,
    knob: Annotated[list[str] | None, _Opt(
        "--knob", help="NAME=V1,V2,…: try each value (repeat for a product).")] = None,
    metric: Annotated[list[str] | None, _Opt(
        "--metric", help="NAME=REGEX[:UNIT[:higher|lower]] parsed from the command's output.")] = None,
    blocks: Annotated[int, _Opt("--blocks", help="Alternating blocks (each variant once per block).")] = 4,
    runs_per_block: Annotated[int, _Opt("--runs-per-block", help="Measured runs per variant per block.")] = 3,
    warmup: Annotated[int, _Opt("--warmup", help="Unrecorded runs after every switch of settings.")] = 1,
    alpha: Annotated[float, _Opt("--alpha", help="Significance level (Holm-adjusted).")] = 0.05,
    noise: Annotated[float, _Opt(
        "--noise", help="Changes within ±noise (a fraction) count as no change.")] = 0.01,
    decide_by: Annotated[str | None, _Opt(
        "--decide-by", help="Metric deciding --keep-if-better (default: first --metric, else wall).")] = None,
    keep_if_better: Annotated[bool, _Opt(
        "--keep-if-better", help="Leave the best candidate applied if significantly better.")] = False,
    timeout: Annotated[float | None, _Opt("--timeout", help="Kill a run after this many seconds.")] = None,
    seed: Annotated[int | None, _Opt("--seed", help="Seed for the run order and the resampling.")] = None,
    db: Annotated[str | None, _Opt(
        "--db", help="Store URL (default $PERFLAB_DB or ./.perflab/perflab.db).")] = None,
    pin: Annotated[str | None, _Opt("--pin", help="Pin the runs to CPUS (e.g. 0-1,3).")] = None,
    nice: Annotated[int | None, _Opt("--nice", help="Nice value of the runs.")] = None,
    sched: Annotated[str | None, _Opt("--sched", help="Scheduling policy of the runs, e.g. fifo:10.")] = None,
    membind: Annotated[str | None, _Opt("--membind", help="Bind the runs' memory to NUMA NODES.")] = None,
    interleave: Annotated[str | None, _Opt("--interleave", help="Interleave run memory on NODES.")] = None,
    thp: Annotated[str | None, _Opt("--thp", help="'never': no transparent huge pages for the runs.")] = None,
    no_aslr: Annotated[bool, _Opt("--no-aslr", help="Disable address-space randomization (runs).")] = False,
    as_json: Annotated[bool, _Opt(
        "--json", help="Print the stored result (with its analysis) as JSON on stdout; tables go to stderr.")]
    = False,
) -> None:
    """Measure CMD under the current settings and under each candidate, alternating in blocks, then print
    per metric the ratio with its CI and the verdict. Everything is rolled back unless --keep-if-better
    finds a candidate significantly better. Example:
    perflab tune try --knob net.ipv4.tcp_congestion_control=cubic,bbr -- ./load-test"""
    from perflab.bench.commands import parse_metric
    from perflab.errors import PerflabError
    from perflab.lab.candidates import candidate_from_profile, candidates_from_knobs
    from perflab.lab.tune_try import Events, TrialOptions, run_trial
    from perflab.store.db import Store

    words = list(words or [])
    knob, metric = list(knob or []), list(metric or [])
    if knob:
        candidates, argv = candidates_from_knobs(knob), words
    else:
        if len(words) < 2:
            raise PerflabError("usage: perflab tune try PROFILE -- CMD [ARG…]  or  "
                               "perflab tune try --knob NAME=V1,V2 -- CMD [ARG…]")
        candidates, argv = [candidate_from_profile(words[0])], words[1:]
    options = TrialOptions(blocks=blocks, runs_per_block=runs_per_block, warmup=warmup, alpha=alpha,
                           noise=noise, metrics=[parse_metric(m) for m in metric], decide_by=decide_by,
                           keep_if_better=keep_if_better, timeout_s=timeout, seed=seed)
    options.validate()
    from perflab.system.process import ProcessTuning

    tuning = ProcessTuning.from_options(pin=pin, nice=nice, sched=sched, membind=membind,
                                        interleave=interleave, thp=thp, no_aslr=no_aslr)
    store = Store.open(db)  # a bad --db fails before the machine is touched

    class Progress(Events):
        def segment(self, block: int, variant: str, applied: dict[str, str]) -> None:
            values = ", ".join(f"{k}={v}" for k, v in applied.items())
            typer.echo(f"block {block + 1}/{blocks}: {variant} ({values or 'current settings'})", err=True)

        def waiting(self, message: str) -> None:
            typer.echo(f"perflab: {message}", err=True)

    from perflab.bench.runner import RunFailed
    from perflab.cli.hints import tune_failure_hints

    try:
        result = run_trial(argv, candidates, options, events=Progress(),
                           tuning=None if tuning.is_empty() else tuning, store=store)
    except RunFailed as error:  # before anything was measured (a --setup-like hook)
        raise PerflabError(error.message + tune_failure_hints(error.remedies),
                           exit_code=error.exit_code) from None
    bench = result.benchmark
    bench_id = result.bench_id
    from rich.console import Console

    if as_json:
        import json

        from perflab.store.jsonio import json_safe  # the same JSON rule as `perflab bench --json`

        typer.echo(json.dumps(json_safe(bench.to_dict()), indent=2, allow_nan=False))
        console = Console(stderr=True)
    else:
        console = Console()  # the terminal's width, COLUMNS, or 80 in a pipe (see print_table)
    _print(result, console)
    typer.echo(f"stored as benchmark #{bench_id} (kind tune-try) in {store.url}", err=as_json)
    if bench.status == "interrupted":
        typer.echo(f"perflab: {bench.message}", err=True)
        sys.exit(130)
    if bench.status != "complete":
        raise PerflabError((bench.message or "the trial did not complete")
                           + tune_failure_hints(bench.settings.get("failure_remedies", ())))


def _print(result: Any, console: Any) -> None:
    from rich.table import Table

    from perflab.report.terminal import print_table
    from perflab.stats.bootstrap import median_ci

    bench = result.benchmark
    for label, knobs in result.dropped.items():
        for knob, why in knobs.items():
            console.print(f"not tried in {label}: {knob} ({why})", highlight=False)
    variants = Table(title="Medians per variant (95 % CI)", title_justify="left")
    variants.add_column("variant", overflow="fold")
    variants.add_column("settings in force", overflow="fold")
    variants.add_column("runs", overflow="fold")
    variants.add_column("wall", overflow="fold")
    metric_units = {m.name: m.unit for m in (bench.commands[0].metrics if bench.commands else [])}
    for name in metric_units:
        variants.add_column(name, overflow="fold")
    for command in bench.commands:
        ok = [r for r in command.runs if r.ok]
        cells = [command.name, ", ".join(f"{k}={v}" for k, v in command.parameters.items()), str(len(ok))]
        for name, unit in [("wall", "s"), *metric_units.items()]:
            values = [r.wall_s for r in ok] if name == "wall" else [r.metrics[name] for r in ok
                                                                    if name in r.metrics]
            cells.append(_median_cell(values, unit, median_ci))
        variants.add_row(*cells)
    print_table(console, variants)
    if result.comparisons:
        table = Table(title="Candidate vs baseline (ratio of medians, 95 % bootstrap CI)",
                      title_justify="left")
        for column in ("candidate", "metric", "baseline", "candidate median", "ratio [CI]", "p (Holm)",
                       "verdict"):
            table.add_column(column, overflow="fold")
        for c in result.comparisons:
            p = c.comparison["p_adjusted"]
            direction = "higher is better" if c.higher_is_better else "lower is better"
            table.add_row(c.candidate, f"{c.metric} ({direction})", _fmt(c.baseline_median, c.unit),
                          _fmt(c.candidate_median, c.unit), _ratio(c.comparison),
                          "n/a" if p is None else f"{p:.3g}", c.comparison["verdict"])
        print_table(console, table)
        for c in result.comparisons:
            console.print(f"  {c.candidate} / {c.metric}: {c.comparison['reason']}", highlight=False)
    for command in bench.commands:
        for note in command.notes:
            if note.startswith("identical"):
                console.print(f"note: {command.name}: {note}", highlight=False)
    if bench.message:
        console.print(f"status {bench.status}: {bench.message}", highlight=False)
    restored = ", ".join(f"{k}={v}" for k, v in result.originals.items())
    if result.kept:
        console.print(f"kept: {result.keep_reason}", highlight=False)
    else:
        console.print(f"restored (read back): {restored or 'nothing was changed'}"
                      + (f"; {result.keep_reason}" if result.keep_reason != "not requested" else ""),
                      highlight=False)


def _median_cell(values: list[float], unit: str, median_ci: Any) -> str:
    if not values:
        return "n/a"
    import numpy as np

    median = float(np.median(values))
    lo, hi = median_ci(values)
    if lo != lo:  # NaN: too few runs for an interval
        return f"{_fmt(median, unit)} (no CI: {len(values)} runs)"
    return f"{_fmt(median, unit)} [{_fmt(lo, unit)}, {_fmt(hi, unit)}]"
