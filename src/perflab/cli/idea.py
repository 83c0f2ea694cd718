"""`perflab idea`: the ideas backlog (add, list in tiers, set status, show, import/export Markdown)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Ideas for making things faster, ranked in tiers, with their measured gains.", no_args_is_help=True
)

_Opt = typer.Option
DbOption = Annotated[str | None, _Opt("--db", help="Store URL [env PERFLAB_DB, else ./.perflab/perflab.db].")]
JsonOption = Annotated[bool, _Opt("--json", help="Print JSON on stdout.")]


def _records(db: str | None):  # noqa: ANN202 - the store types are imported lazily (start-up time)
    from perflab.store.db import Store
    from perflab.store.method import MethodRecords

    return MethodRecords(Store.open(db))


def _gain_text(view) -> str:  # noqa: ANN001
    if view.last_gain is None:
        return "not measured"
    lo, hi = view.last_gain_ci or (None, None)
    ci = f" [{lo * 100:+.1f}, {hi * 100:+.1f}]" if lo is not None else " (no CI)"
    return f"{view.last_gain * 100:+.1f} %{ci} {view.last_verdict or ''}".rstrip()


@app.command("add")
def add_command(
    title: Annotated[str, typer.Argument(help="What to try, in a few words.")],
    impact: Annotated[str, _Opt("--impact", help="Expected impact: high, medium or low.")] = "medium",
    effort: Annotated[str, _Opt("--effort", help="Expected effort: low, medium or high.")] = "medium",
    where: Annotated[str | None, _Opt("--where", help="PATH:LINE where the change would go.")] = None,
    note: Annotated[str | None, _Opt("--note", help="Free text: the hypothesis, a link.")] = None,
    tag: Annotated[list[str] | None, _Opt("--tag", help="A tag (repeatable).")] = None,
    db: DbOption = None,
) -> None:
    """Add an idea. Example: perflab idea add 'zstd -1 instead of gzip -6' --impact high --effort low"""
    records = _records(db)
    idea_id = records.add_idea(title, impact, effort, location=where, note=note, tags=tag or [])
    typer.echo(f"idea {idea_id} added: {title.strip()}")


@app.command("list")
def list_command(
    status: Annotated[str | None, _Opt("--status", help="Only ideas with this status.")] = None,
    tag: Annotated[str | None, _Opt("--tag", help="Only ideas with this tag.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List ideas in tiers with status and last measured gain. Example: perflab idea list --status todo"""
    from perflab.lab.ideas import TIER_NAMES, views

    items = views(_records(db), status=status, tag=tag)
    if as_json:
        typer.echo(json.dumps([v.to_dict() for v in items], indent=2))
        return
    if not items:
        typer.echo("no ideas yet (perflab idea add TITLE, or perflab idea import ideas.md)")
        return
    from rich.console import Console
    from rich.table import Table

    from perflab.report.terminal import print_table

    console = Console()
    for tier_no in sorted({v.tier for v in items}):
        table = Table(title=f"{TIER_NAMES[tier_no]}", title_justify="left")
        for column in ("ID", "Idea", "Impact", "Effort", "Status", "Last gain (95 % CI)", "Tags"):
            table.add_column(column, overflow="fold", justify="right" if column == "ID" else "left")
        for v in (v for v in items if v.tier == tier_no):
            table.add_row(
                str(v.idea.id),
                v.idea.title,
                v.idea.impact,
                v.idea.effort,
                v.idea.status,
                _gain_text(v),
                ", ".join(v.idea.tags),
            )
        print_table(console, table)


@app.command("set")
def set_command(
    idea_id: Annotated[int, typer.Argument(metavar="ID", help="The idea's id.")],
    status: Annotated[
        str, _Opt("--status", help="todo, in-progress, review, benching, kept, maybe, discarded or done.")
    ],
    reason: Annotated[str | None, _Opt("--reason", help="Why (kept in the idea's history).")] = None,
    db: DbOption = None,
) -> None:
    """Change an idea's status. Example: perflab idea set 3 --status discarded --reason 'breaks ABI'"""
    _records(db).set_status(idea_id, status, reason)
    typer.echo(f"idea {idea_id}: {status}")


@app.command("show")
def show_command(
    idea_id: Annotated[int, typer.Argument(metavar="ID", help="The idea's id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an idea with its history, experiments and measured gains. Example: perflab idea show 3"""
    from perflab.lab.ideas import TIER_NAMES, views

    records = _records(db)
    records.idea(idea_id)
    view = views(records, ids=[idea_id])[0]
    exps = records.experiments(idea_id=idea_id)
    if as_json:
        data = view.to_dict()
        data["experiment_records"] = [
            {"id": e.id, "state": e.state, "verdict": e.verdict, "decision": e.record.get("decision")}
            for e in exps
        ]
        typer.echo(json.dumps(data, indent=2))
        return
    i = view.idea
    typer.echo(f"idea {i.id}: {i.title}")
    typer.echo(f"  {TIER_NAMES[view.tier]} (impact {i.impact}, effort {i.effort}); status {i.status}")
    for label, value in (("where", i.location), ("note", i.note), ("tags", ", ".join(i.tags))):
        if value:
            typer.echo(f"  {label}: {value}")
    typer.echo(f"  last measured gain: {_gain_text(view)}")
    typer.echo("  history:")
    for e in i.events:
        typer.echo(f"    {e['at']}  {e['status']}" + (f"  ({e['reason']})" if e["reason"] else ""))
    typer.echo("  experiments:" + ("" if exps else " none yet (perflab exp start IDEA)"))
    for e in exps:
        d = e.record.get("decision")
        gain = (
            f"{d['gain'] * 100:+.1f} % [{d['gain_ci'][0] * 100:+.1f}, {d['gain_ci'][1] * 100:+.1f}]"
            if d and d.get("gain") is not None
            else ""
        )
        typer.echo(f"    #{e.id} {e.state} {e.verdict or ''} {gain}".rstrip())


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A Markdown file with a table of ideas (Idea | Status | …).")],
    db: DbOption = None,
) -> None:
    """Import ideas from a Markdown table. Example: perflab idea import docs/ideas.md"""
    from perflab.lab.ideas import import_markdown

    ids = import_markdown(_records(db), path)
    typer.echo(f"imported {len(ids)} ideas from {path} (ids {ids[0]}–{ids[-1]})")


@app.command("export")
def export_command(
    output: Annotated[str, _Opt("-o", "--output", help="Write the Markdown here ('-' for stdout).")] = "-",
    status: Annotated[str | None, _Opt("--status", help="Only ideas with this status.")] = None,
    db: DbOption = None,
) -> None:
    """Write the ideas as one Markdown table. Example: perflab idea export -o docs/ideas.md"""
    from perflab.lab.ideas import export_markdown, views

    text = export_markdown(views(_records(db), status=status))
    if output == "-":
        typer.echo(text, nl=False)
        return
    from perflab.report.export.base import atomic_write

    atomic_write(output, text.encode())
    typer.echo(f"wrote {output}")
