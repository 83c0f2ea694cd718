"""`perflab suite run`: a perflab.toml suite (benchmarks × inputs × variants), interleaved, stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Suites: benchmarks × inputs × variants from perflab.toml, one stored table.", no_args_is_help=True
)

SuiteOption = Annotated[str, typer.Option("--suite", metavar="FILE", help="The suite file.")]


class _Bar:
    """One rich progress bar over the whole suite, with ETA (SuiteObserver)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task: Any = None
        self.total = 0

    def start(self, total_runs: int) -> None:
        self.progress.start()
        self.total = total_runs
        self.task = self.progress.add_task("suite", total=total_runs)

    def advance(self, cell: str) -> None:
        self.progress.update(self.task, advance=1, description=cell)

    def unplanned(self, runs: int) -> None:
        self.total -= runs
        self.progress.update(self.task, total=self.total)

    def stop(self) -> None:
        self.progress.stop()


@app.command("run")
def run_command(
    suite: SuiteOption = "perflab.toml",
    variant: Annotated[
        str | None,
        typer.Option("--variant", help="Only these variants, comma-separated (the reference is always run)."),
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", help="Only benchmarks whose name matches REGEX.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the order and inputs (recorded).")
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the verdicts.")] = 0.05,
    noise: Annotated[float, typer.Option("--noise", help="Noise band of the verdicts.")] = 0.01,
    export_markdown: Annotated[
        str | None, typer.Option("--export-markdown", metavar="<path>", help="Write the table as Markdown.")
    ] = None,
    save_baseline: Annotated[
        str | None,
        typer.Option(
            "--save-baseline", metavar="NAME", help="Save the result as baseline NAME (for perflab check)."
        ),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run every benchmark × input × variant in randomized interleaved blocks; print and store the table
    (median ± CI per cell, speedups with CI and Holm-corrected verdicts, TOTAL and geometric mean)."""
    from rich.console import Console

    from perflab.errors import PerflabError
    from perflab.lab.suite import SuiteObserver, SuiteRunOptions, run_suite
    from perflab.lab.suite_file import load_suite
    from perflab.report.suite import print_suite, suite_markdown
    from perflab.store.db import Store

    spec = load_suite(suite)
    if export_markdown is not None and not Path(export_markdown).resolve().parent.is_dir():
        raise PerflabError(f"cannot export to {export_markdown}: its directory does not exist")
    options = SuiteRunOptions(
        variants=[v.strip() for v in variant.split(",")] if variant else None,
        filter=filter_,
        seed=seed,
        alpha=alpha,
        noise=noise,
    )
    store = Store.open(db)
    err = Console(stderr=True)
    bar = None if quiet else _Bar(err)
    try:
        outcome = run_suite(spec, options, store, observer=bar or SuiteObserver())
    finally:
        if bar is not None:
            bar.stop()
    bench = outcome.benchmark
    print_suite(Console(), bench)
    for note in outcome.notes:
        err.print(f"note: {note}", highlight=False)
    if export_markdown is not None:
        from perflab.report.export import atomic_write

        atomic_write(export_markdown, suite_markdown(bench).encode())
    if save_baseline and bench.status == "complete":
        store.set_baseline(save_baseline, outcome.suite_id)
    elif save_baseline:
        err.print(
            f"perflab: not saved as baseline {save_baseline!r}: the suite is {bench.status}", highlight=False
        )
    err.print(
        f"saved as #{outcome.suite_id} in {store.url}"
        + (f" (baseline {save_baseline!r})" if save_baseline and bench.status == "complete" else ""),
        highlight=False,
    )
    if bench.status == "interrupted":
        raise PerflabError(f"interrupted; the runs measured are saved as #{outcome.suite_id}", exit_code=130)
    if bench.status == "failed":
        raise PerflabError(f"{bench.message} (the runs measured are saved as #{outcome.suite_id})")
