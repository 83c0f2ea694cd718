"""`perflab results`, `show`, `compare`, `import`: read the store, compare, bring hyperfine results in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL of the store [env PERFLAB_DB, else sqlite:///.perflab/perflab.db]."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("results")(results_command)
    app.command("show")(show_command)
    app.command("compare")(compare_command)
    app.command("import")(import_command)
    app.command("export")(export_command)


def _print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, allow_nan=False))


def results_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stored benchmarks (newest first) with their baselines."""
    from dataclasses import asdict

    from perflab.store.db import Store

    with Store.open(db) as store:
        rows = store.list(limit=limit)
        url = store.url
    if as_json:
        _print_json([asdict(r) for r in rows])
        return
    from rich.console import Console
    from rich.table import Table

    from perflab.report.terminal import print_table

    console = Console()
    if not rows:
        console.print(f"no benchmarks stored in {url} yet (run perflab bench or perflab import)")
        return
    table = Table(title=f"Benchmarks in {url}", title_justify="left")
    for col in ("ID", "Created (UTC)", "Kind", "Status", "Commands", "Runs", "Baselines"):
        table.add_column(col, justify="right" if col in ("ID", "Runs") else "left", overflow="fold",
                         no_wrap=col in ("ID", "Created (UTC)", "Runs"))  # a timestamp stays whole
    for r in rows:
        names = ", ".join(r.commands[:4]) + (f", … (+{len(r.commands) - 4})" if len(r.commands) > 4 else "")
        table.add_row(str(r.id), r.created_at, r.kind, r.status, names, str(r.runs), ", ".join(r.baselines))
    print_table(console, table)


def _raw_table(benchmark: Any) -> Any:
    """Raw-sample facts the summary table hides: exit codes, kills, blocks, first samples in run order."""
    from collections import Counter

    from rich.table import Table

    from perflab.report.format import fmt_time, time_unit

    table = Table(title="Raw samples", title_justify="left")
    columns = ("Command", "Runs", "Exit codes", "Timed out", "Signals", "Blocks", "Seq", "First runs")
    for col in columns:
        table.add_column(col, overflow="fold")
    for c in benchmark.commands:
        runs = sorted(c.runs, key=lambda r: r.sequence)
        codes = Counter("signal" if r.exit_code is None else str(r.exit_code) for r in runs)
        signals = Counter(str(r.signal) for r in runs if r.signal is not None)
        unit = time_unit(runs[len(runs) // 2].wall_s if runs else None)
        first = ", ".join(fmt_time(r.wall_s, unit, suffix=False) for r in runs[:8])
        first += (" …" if len(runs) > 8 else "") + (f" {unit[1]}" if runs else "")
        blocks = len({r.block for r in runs})
        seq = f"{runs[0].sequence}…{runs[-1].sequence}" if runs else "-"
        table.add_row(
            c.name,
            str(len(runs)),
            ", ".join(f"{k}×{v}" for k, v in sorted(codes.items())) or "-",
            str(sum(r.timed_out for r in runs)),
            ", ".join(f"{k}×{v}" for k, v in sorted(signals.items())) or "-",
            str(blocks),
            seq,
            first or "-",
        )
    return table


def _environment_lines(env: dict[str, Any]) -> list[str]:
    if not env:
        return ["no environment recorded"]
    vm = env.get("vm") or {}
    container = env.get("container") or {}
    git = env.get("git")
    load = env.get("loadavg")
    smt = env.get("smt") or {}
    return [
        f"CPU: {env.get('cpu_model')} ({env.get('cores_logical')} logical / "
        f"{env.get('cores_physical')} physical, SMT {'on' if smt.get('active') else 'off'})",
        f"kernel {env.get('kernel_release')}; THP {env.get('thp')}; ASLR {env.get('aslr')}; governor "
        f"{env.get('governor')}; turbo {env.get('turbo')}",
        f"VM: {'yes (' + str(vm.get('kind')) + ')' if vm.get('detected') else 'no'}; container: "
        f"{'yes (' + str(container.get('kind')) + ')' if container.get('detected') else 'no'}; load "
        f"{', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}",
        f"host {env.get('hostname')}; Python {env.get('python')}; perflab {env.get('perflab_version')}; git "
        + (f"{git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}" if git else "n/a"),
    ]


def show_command(
    benchmark_id: Annotated[str, typer.Argument(
        metavar="ID", help="Benchmark id, baseline name or JSON file.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    reanalyze: Annotated[bool, typer.Option(
        "--reanalyze", help="Recompute the analysis from the raw runs instead of the stored one.")] = False,
) -> None:
    """Show one benchmark: summary with uncertainty, verdicts, warnings, raw samples, environment."""
    from perflab.analysis.benchmark import analyze, stored_or_fresh
    from perflab.store.db import Store

    with Store.open(db) as store:
        bench = store.resolve(benchmark_id)
    # A crypto benchmark has no command runs to reanalyze: its figures live in the stored analysis.
    if bench.kind == "crypto":
        analysis = bench.analysis
    else:
        analysis = analyze(bench) if reanalyze else stored_or_fresh(bench)
    if as_json:
        data = bench.to_dict()
        data["analysis"] = analysis
        _print_json(data)
        return
    from rich.console import Console

    from perflab.report.terminal import print_benchmark, print_comparison, print_table

    console = Console()
    print_benchmark(console, bench, analysis)
    if bench.kind == "suite" and bench.analysis.get("rows"):  # the stored suite table (speedups, TOTAL)
        from perflab.report.suite import print_suite

        console.print()
        print_suite(console, bench)
    if analysis.get("baseline_comparison"):
        console.print()
        print_comparison(console, analysis["baseline_comparison"])
    if bench.commands:
        console.print()
        print_table(console, _raw_table(bench))
    console.print()
    console.print("[bold]Environment[/bold]")
    for line in _environment_lines(bench.environment):
        console.print(f"  {line}", markup=False, highlight=False)
    if bench.settings:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(bench.settings.items()) if v not in (None, [], {}))
        console.print(f"  settings: {shown}", markup=False, highlight=False)


def compare_command(
    a: Annotated[str, typer.Argument(help="Baseline: benchmark id, baseline name or JSON file.")],
    b: Annotated[str, typer.Argument(help="Candidate: benchmark id, baseline name or JSON file.")],
    metric: Annotated[str | None, typer.Option(
        "--metric", "-m", help="Compare only this metric (wall, user, sys, peak_rss or a custom one).")]
    = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    noise: Annotated[float, typer.Option(
        "--noise", help="Noise band as a fraction: changes within ±noise are never called a change.")] = 0.01,
    force: Annotated[bool, typer.Option(
        "--force", help="Compare commands that match by neither name nor command line (by position); "
        "the result is labelled forced.")] = False,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the bootstrap (default: derived from the data, so the same results "
        "always print the same figures).")] = None,
    fail_on_regression: Annotated[bool, typer.Option(
        "--fail-on-regression", help="Exit 1 when any comparison's verdict is 'slower' (Holm-corrected, "
        "the whole CI beyond the --noise band): a CI gate on two stored results.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare B against A: ratio of medians with its CI, p-value (Holm when several) and a verdict.
    Commands are matched by name or command line.

    Example: perflab compare base 12"""
    from perflab.analysis.benchmark import compare_benchmarks
    from perflab.store.db import Store

    with Store.open(db) as store:
        first = store.resolve(a)
        second = store.resolve(b)
    result = compare_benchmarks(first, second, metric=metric, alpha=alpha, noise=noise, force=force,
                                seed=seed)
    if as_json:
        _print_json(result)
    else:
        from rich.console import Console

        from perflab.report.terminal import print_comparison

        print_comparison(Console(), result)
    if fail_on_regression:
        from perflab.lab.check import regressions_of

        regressed = regressions_of(result["comparisons"])
        if regressed:
            from perflab.errors import PerflabError

            raise PerflabError("regression: " + "; ".join(regressed))


def import_command(
    path: Annotated[str, typer.Argument(
        metavar="FILE.json", help="hyperfine --export-json or pyperf JSON file.")],
    baseline: Annotated[str | None, typer.Option(
        "--save-baseline", help="Also save the import as baseline NAME.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a hyperfine JSON export (raw times, exit codes, memory, parameters) or a pyperf JSON file
    into the store; importing the same file again is warned about.

    Example: perflab import results.json --save-baseline before"""
    import sys

    from perflab.analysis.benchmark import analyze
    from perflab.store.db import Store
    from perflab.store.jsonio import import_result_file

    bench = import_result_file(path)  # validated before the store is touched
    bench.analysis = analyze(bench)
    with Store.open(db) as store:
        before = store.imports_of(bench.settings["source_sha256"])
        bench_id = store.save(bench)
        if baseline:
            store.set_baseline(baseline, bench_id)
        url = store.url
    runs = sum(len(c.runs) for c in bench.commands)
    if before:
        print(f"perflab: warning: {path} was imported before as "
              f"{', '.join(f'#{i}' for i in before)} (same content); imported again as #{bench_id}",
              file=sys.stderr)
    if as_json:
        _print_json({"id": bench_id, "file": path, "format": bench.settings["imported_from"],
                     "commands": [c.name for c in bench.commands], "runs": runs, "store": url,
                     "baseline": baseline, "imported_before_as": before})
        return
    typer.echo(
        f"imported {path} ({bench.settings['imported_from']}): {len(bench.commands)} command(s), {runs} runs "
        f"→ #{bench_id} in {url}" + (f" (baseline {baseline!r})" if baseline else "")
    )


EXPORT_FORMATS = {"json": "perflab", "hyperfine": "json", "markdown": "markdown", "asciidoc": "asciidoc",
                  "orgmode": "orgmode", "csv": "csv"}


def export_command(
    benchmark_id: Annotated[str, typer.Argument(
        metavar="ID", help="Benchmark id, baseline name or JSON file.")],
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="json (perflab's full result), hyperfine (hyperfine's JSON schema), markdown, "
        "asciidoc, orgmode or csv.")] = "json",
    output: Annotated[str, typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")] = "-",
    db: DbOption = None,
) -> None:
    """Export a stored result again, in any format ``bench`` exports.

    Example: perflab export 12 --format hyperfine -o results.json"""
    import sys

    from perflab.errors import PerflabError
    from perflab.report.export import export_benchmark
    from perflab.store.db import Store

    if fmt not in EXPORT_FORMATS:
        raise PerflabError(f"--format {fmt}: choose from {', '.join(EXPORT_FORMATS)}")
    if output != "-" and not Path(output).parent.resolve().is_dir():
        raise PerflabError(f"cannot export to {output}: directory {Path(output).parent} does not exist")
    with Store.open(db) as store:
        bench = store.resolve(benchmark_id)
    where = export_benchmark(bench, output, EXPORT_FORMATS[fmt])
    if where != "stdout":
        print(f"{fmt} export of {benchmark_id} written to {where}", file=sys.stderr)
