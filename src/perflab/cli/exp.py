"""`perflab exp` and `perflab tracker`: the performance method as commands (docs/method.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Experiments: baseline → candidate → one documented decision (docs/method.md).", no_args_is_help=True
)

_Opt = typer.Option
DbOption = Annotated[str | None, _Opt("--db", help="Store URL [env PERFLAB_DB, else ./.perflab/perflab.db].")]


def parse_fraction(text: str, flag: str) -> float:
    """'5%' or '0.05' → 0.05."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a fraction or a percentage (e.g. 5% or 0.05)", param_hint=flag
        ) from None
    if not 0.0 <= value < 10.0:
        raise typer.BadParameter(f"{text!r} must be a non-negative percentage", param_hint=flag)
    return value


def _experiments(db: str | None, quiet: bool = False):  # noqa: ANN202 - lazy imports keep start-up fast
    from perflab.lab.experiment import Experiments
    from perflab.store.db import Store
    from perflab.store.method import MethodRecords

    def say(message: str) -> None:
        if not quiet:
            print(f"perflab: {message}", file=sys.stderr)

    return Experiments(MethodRecords(Store.open(db)), observe=say)


def _rule(threshold: str, maybe: str, max_regression: str, higher: bool) -> Any:
    from perflab.analysis.decision import DecisionRule

    return DecisionRule(
        threshold=parse_fraction(threshold, "--threshold"),
        maybe=parse_fraction(maybe, "--maybe"),
        max_regression=parse_fraction(max_regression, "--max-regression"),
        higher_is_better=higher,
    )


@app.command("start")
def start_command(
    idea: Annotated[int, typer.Argument(metavar="IDEA", help="The idea's id (perflab idea list).")],
    command: Annotated[
        list[str] | None, typer.Argument(metavar="[-- CMD [ARG…]]", help="The command, with {input}.")
    ] = None,
    inputs: Annotated[
        str, _Opt("--inputs", help="Comma-separated inputs: PATH, NAME=VALUE, each optionally @WEIGHT.")
    ] = "",
    suite: Annotated[
        str | None, _Opt("--suite", help="Take the command and inputs from a benchmark of this suite file.")
    ] = None,
    benchmark: Annotated[str | None, _Opt("--benchmark", help="Which benchmark of --suite.")] = None,
    variant: Annotated[
        str | None, _Opt("--variant", help="Which variant of --suite (default: its reference).")
    ] = None,
    runs: Annotated[int, _Opt("--runs", help="Runs per input and arm (at least 10).")] = 10,
    warmup: Annotated[int, _Opt("--warmup", help="Unrecorded runs per command first.")] = 1,
    max_cv: Annotated[str, _Opt("--max-cv", help="Refuse a baseline input noisier than this CV.")] = "10%",
    min_inputs: Annotated[int, _Opt("--min-inputs", help="Inputs the method asks for.")] = 3,
    build: Annotated[
        str | None,
        _Opt("--build", help="Build command run in private checkouts of revisions (e.g. 'make -j2')."),
    ] = None,
    check: Annotated[
        str | None,
        _Opt(
            "--check",
            help="Correctness command that must pass on every candidate; {input} and "
            "{candidate} substituted.",
        ),
    ] = None,
    accept_noisy: Annotated[
        str | None, _Opt("--accept-noisy", help="REASON to accept a noisy baseline.")
    ] = None,
    single_input: Annotated[str | None, _Opt("--single-input", help="REASON to accept fewer inputs.")] = None,
    seed: Annotated[int | None, _Opt("--seed", help="Seed of the run order and resampling.")] = None,
    db: DbOption = None,
) -> None:
    """Measure the baseline of an idea on every input. Example:
    perflab exp start 1 --inputs a.txt,b.txt,c.txt -- gzip -6 -c {input}"""
    from perflab.lab.experiment_plan import Plan, parse_inputs, plan_from_suite

    words = [w for w in (command or []) if w != "--"]
    settings = {
        "build": build,
        "check": check,
        "runs": runs,
        "warmup": warmup,
        "min_inputs": min_inputs,
        "max_cv": parse_fraction(max_cv, "--max-cv"),
        "seed": seed,
    }
    if suite:
        if words or inputs:
            raise typer.BadParameter("--suite gives the command and inputs: leave out -- CMD and --inputs")
        plan = plan_from_suite(suite, benchmark, variant, **settings)
    else:
        if not words:
            raise typer.BadParameter(
                "give the command after --, with {input} where each input goes (or --suite FILE)"
            )
        cwd = Path.cwd()
        plan = Plan(
            command=words,
            inputs=parse_inputs([v for v in inputs.split(",") if v], cwd),
            cwd=str(cwd),
            **settings,
        )
    experiments = _experiments(db)
    exp_id = experiments.start(idea, plan, accept_noisy=accept_noisy, single_input=single_input)
    row = experiments.records.experiment(exp_id)
    cvs = ", ".join(f"{n} CV {cv:.1%}" for n, cv in row.record["baseline"]["cv"].items())
    typer.echo(
        f"experiment {exp_id}: baseline measured ({cvs}); next: perflab exp run {exp_id} -- CMD or --rev REV"
    )


@app.command("run")
def run_command(
    exp_id: Annotated[int, typer.Argument(metavar="EXP", help="The experiment's id.")],
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="[-- CMD [ARG…]]", help="The candidate command, with {input}."),
    ] = None,
    rev: Annotated[str | None, _Opt("--rev", help="Measure this git revision (private checkout).")] = None,
    check: Annotated[str | None, _Opt("--check", help="Correctness command for this candidate.")] = None,
    kill_at: Annotated[
        float | None,
        _Opt(
            "--kill-at",
            help="KILL when a run takes longer than this factor × its input's baseline median, e.g. 1.10.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Measure a candidate against the baseline (interleaved where it can still run). Example:
    perflab exp run 1 --check 'sh -c "{candidate} | gunzip | cmp - {input}"' -- gzip -1 -c {input}"""
    words = [w for w in (command or []) if w != "--"] or None
    experiments = _experiments(db)
    cand = experiments.run(exp_id, command=words, rev=rev, check=check, kill_factor=kill_at)
    extra = "" if cand.interleaved else f" — warning: {cand.warning}"
    check_text = "" if not cand.check else f"; check {'passed' if cand.check['passed'] else 'FAILED'}"
    typer.echo(
        f"experiment {exp_id}: candidate measured (result {cand.benchmark_id}){check_text}{extra}; "
        f"next: perflab exp decide {exp_id}"
    )


@app.command("decide")
def decide_command(
    exp_id: Annotated[int, typer.Argument(metavar="EXP", help="The experiment's id.")],
    threshold: Annotated[str, _Opt("--threshold", help="KEEP at a significant gain ≥ this.")] = "5%",
    maybe: Annotated[str, _Opt("--maybe", help="MAYBE at a significant gain ≥ this.")] = "2%",
    max_regression: Annotated[
        str, _Opt("--max-regression", help="DISCARD when an input is significantly worse by more.")
    ] = "2%",
    higher_is_better: Annotated[bool, _Opt("--higher-is-better", help="The metric is a throughput.")] = False,
    as_json: Annotated[bool, _Opt("--json", help="Print the decision as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Apply the one rule of docs/method.md; the idea's status follows. Example: perflab exp decide 1"""
    from perflab.lab.experiment import decision_dict
    from perflab.store.jsonio import json_safe

    decision = _experiments(db, quiet=as_json).decide(
        exp_id, _rule(threshold, maybe, max_regression, higher_is_better)
    )
    if as_json:
        typer.echo(json.dumps(json_safe(decision_dict(decision)), indent=2))
        return
    for e in decision.inputs:
        typer.echo(
            f"  {e.name}: gain {e.gain * 100:+.1f} % [{e.gain_ci[0] * 100:+.1f}, {e.gain_ci[1] * 100:+.1f}]"
            f" (Holm p={e.p_holm:.3g}){' REGRESSED' if e.regressed else ''}"
        )
    typer.echo(f"experiment {exp_id}: {decision.verdict} — {decision.reason}")


@app.command("log")
def log_command(
    exp_id: Annotated[int, typer.Argument(metavar="EXP", help="The experiment's id.")],
    output: Annotated[str, _Opt("-o", "--output", help="Write the Markdown here ('-': stdout).")] = "-",
    db: DbOption = None,
) -> None:
    """Write the experiment as Markdown (hypothesis, tables, decision, check).
    Example: perflab exp log 1 -o e1.md"""
    from perflab.lab.experiment_log import experiment_markdown

    experiments = _experiments(db)
    text = experiment_markdown(experiments.records, experiments.records.experiment(exp_id))
    _write(output, text)


def _write(output: str, text: str) -> None:
    if output == "-":
        typer.echo(text, nl=False)
        return
    from perflab.report.export.base import atomic_write

    atomic_write(output, text.encode())
    print(f"perflab: wrote {output}", file=sys.stderr)


@app.command("list")
def list_command(
    db: DbOption = None, as_json: Annotated[bool, _Opt("--json", help="Print JSON.")] = False
) -> None:
    """List experiments with state, verdict and gain. Example: perflab exp list"""
    from perflab.lab.experiment_log import tracker_rows

    rows = tracker_rows(_experiments(db).records)
    states = {e.id: e.state for e in _experiments(db).records.experiments()}
    if as_json:
        typer.echo(json.dumps([{**r.__dict__, "state": states[r.exp_id]} for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no experiments yet (perflab exp start IDEA --inputs … -- CMD {input})")
    for r in rows:
        gain = (
            ""
            if r.gain is None
            else f" {r.gain * 100:+.1f} % [{r.gain_ci[0] * 100:+.1f}, {r.gain_ci[1] * 100:+.1f}]"
        )
        typer.echo(f"#{r.exp_id}  idea {r.idea_id} ({r.idea}): {states[r.exp_id]} {r.verdict or ''}{gain}")


@app.command("resume")
def resume_command(
    exp_id: Annotated[int, typer.Argument(metavar="EXP", help="The experiment's id.")],
    accept_noisy: Annotated[
        str | None, _Opt("--accept-noisy", help="REASON to accept a noisy baseline.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Repeat the step a killed (or refused) perflab left under way. Example: perflab exp resume 1"""
    typer.echo(f"experiment {exp_id}: {_experiments(db).resume(exp_id, accept_noisy=accept_noisy)}")


@app.command("combine")
def combine_command(
    a: Annotated[int, typer.Argument(metavar="A", help="An experiment with a code change.")],
    b: Annotated[int, typer.Argument(metavar="B", help="Another one on the same baseline commit.")],
    db: DbOption = None,
) -> None:
    """Measure two changes alone and together; report a conflict. Example: perflab exp combine 2 3"""
    from perflab.analysis.decision import DecisionRule
    from perflab.lab.experiment_combine import combine

    result = combine(_experiments(db), a, b, DecisionRule())
    typer.echo(f"experiments {a} + {b} (result {result['benchmark_id']}): {result['summary']}")
    if result["conflict"]:
        raise typer.Exit(1)


def tracker_command(
    measure: Annotated[
        bool,
        _Opt(
            "--measure",
            help="Measure the first baseline against the current tree (interleaved) for the cumulative gain.",
        ),
    ] = False,
    markdown: Annotated[bool, _Opt("--markdown", help="Print Markdown (for the repository).")] = False,
    output: Annotated[str, _Opt("-o", "--output", help="Write here ('-': stdout).")] = "-",
    db: DbOption = None,
) -> None:
    """The effort so far: baseline → each experiment (Δ with CI, verdict) → cumulative gain of what was kept,
    measured. Example: perflab tracker --measure --markdown -o TRACKER.md"""
    from perflab.analysis.decision import DecisionRule
    from perflab.lab.experiment_combine import measure_cumulative
    from perflab.lab.experiment_log import tracker_markdown

    experiments = _experiments(db)
    cumulative = measure_cumulative(experiments, DecisionRule()) if measure else None
    text = tracker_markdown(experiments.records, cumulative)
    if not markdown and output == "-":
        text = "\n".join(line.replace("**", "") for line in text.splitlines()) + "\n"
    _write(output, text)
