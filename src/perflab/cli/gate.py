"""`perflab check` (the CI regression gate) and `perflab history` (a benchmark across stored results)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

DbOption = Annotated[str | None, typer.Option("--db", help="Store URL.")]


class _PlainOptionsCommand(TyperCommand):
    """Parses its plain options without typer's per-call pydantic adapters (``cli._fastparse``): for
    ``perflab history``, importing pydantic alone would cost more than reading the whole history."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from perflab.cli._fastparse import install_plain_coercion

        install_plain_coercion([*self.params, self.get_help_option(ctx)])
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
    app.command("history", cls=_PlainOptionsCommand)(history_command)


def check_command(
    against: Annotated[
        str, typer.Option("--against", metavar="BASELINE", help="Baseline name or result id to compare with.")
    ],
    threshold: Annotated[
        str, typer.Option("--threshold", help="Regressions smaller than this never fail (5% or 0.05).")
    ] = "5%",
    result: Annotated[
        str | None,
        typer.Option("--result", metavar="ID", help="Check this stored result instead of running the suite."),
    ] = None,
    suite: Annotated[str, typer.Option("--suite", metavar="FILE", help="The suite to run.")] = "perflab.toml",
    metric: Annotated[
        str | None, typer.Option("--metric", help="Metric to gate on [the suite's primary].")
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Family-wise error rate of the gate (Holm).")
    ] = 0.05,
    db: DbOption = None,
) -> None:
    """Exit 1 when any cell regressed significantly (Holm across all cells) by more than the threshold
    against BASELINE, else 0; prints the comparison table. Runs the suite unless --result is given."""
    from rich.console import Console

    from perflab.errors import PerflabError
    from perflab.lab.check import check, parse_threshold
    from perflab.store.db import Store

    limit = parse_threshold(threshold)
    store = Store.open(db)
    baseline = store.resolve(against)
    if result is not None:
        current = store.resolve(result)
    else:
        from perflab.lab.suite import run_suite
        from perflab.lab.suite_file import load_suite

        outcome = run_suite(load_suite(suite), store=store)
        current = store.get(outcome.suite_id)
        typer.echo(f"suite saved as #{outcome.suite_id} in {store.url}", err=True)
        if current.status != "complete":
            raise PerflabError(f"the suite did not complete ({current.message}); no verdict")
    outcome_check = check(current, baseline, metric=metric, threshold=limit, alpha=alpha)
    from perflab.report.gate import print_check

    print_check(Console(), outcome_check)
    if not outcome_check.passed:
        raise PerflabError(
            f"{len(outcome_check.regressions)} regression(s) beyond {limit:.1%} "
            f"(Holm-corrected, alpha {alpha:g}) against #{baseline.id}"
        )


def history_command(
    name: Annotated[
        str, typer.Argument(metavar="BENCH", help="Benchmark (suite benchmark or command name).")
    ],
    metric: Annotated[
        str, typer.Option("--metric", help="wall, user, sys, peak_rss or a custom metric.")
    ] = "wall",
    window: Annotated[int, typer.Option("--window", help="Results per window of the step test.")] = 1,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Family-wise error rate of the steps (Holm).")
    ] = 0.05,
    noise: Annotated[float, typer.Option("--noise", help="Shifts within ±NOISE are not steps.")] = 0.01,
    last: Annotated[
        int, typer.Option("--last", min=1, help="Show the last N results (and every step) per cell.")
    ] = 10,
    all_: Annotated[bool, typer.Option("--all", help="Show every stored result.")] = False,
    db: DbOption = None,
) -> None:
    """BENCH across every stored result: commit, date, median [95 % CI], n, and the points where it
    stepped (Mann–Whitney between adjacent windows, Holm-corrected, beyond the noise band). Shows the
    last results and every step (each with the result before it); --all for everything."""
    from perflab.lab.history import benchmark_history
    from perflab.report.history import print_history

    cells = benchmark_history(db, name, metric=metric, window=window, alpha=alpha, noise=noise)
    print_history(name, metric, cells, last=None if all_ else last)
    # The interpreter's last garbage collection would walk every object typer and numpy made (~20 ms, a
    # tenth of the command, measured in docs/benchmarks.md); frozen objects are left to the OS at exit.
    # History reads only: nothing it made needs a finaliser (the store connection is already closed).
    import gc

    gc.freeze()
