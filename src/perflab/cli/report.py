"""`perflab report`: one offline HTML page of everything stored (or of the results named)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's command to the root app."""
    app.command("report")(report_command)


def report_command(
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="[IDS]...", help="Benchmark ids or baseline names (default: every stored result).")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="The HTML file to write.")] = "report.html",
    suite: Annotated[str | None, typer.Option("--suite", help="Only results of this suite.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only results created at or after DATE (e.g. 2026-11-29 or 2026-11-29T15:00, UTC).")]
    = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in a browser afterwards.")] = False,
    db: Annotated[str | None, typer.Option(
        "--db", help="SQLAlchemy URL of the store [env PERFLAB_DB, else sqlite:///.perflab/perflab.db].")]
    = None,
) -> None:
    """Write one self-contained HTML page (no network, no script) of the stored results and analyses."""
    from perflab.lab.report_session import open_in_browser, write_report

    outcome = write_report(output, db=db, ids=ids or (), suite=suite, since=since)
    size = f"{outcome.bytes / 1e6:.2f} MB" if outcome.bytes >= 1e5 else f"{outcome.bytes / 1e3:.0f} kB"
    typer.echo(f"wrote {outcome.path} ({size}): {outcome.results} result(s); sections: "
               f"{', '.join(outcome.sections)}")
    if open_page:
        problem = open_in_browser(outcome.path)
        if problem:
            typer.echo(f"perflab: {problem}", err=True)
