"""`perflab system` commands: audit, apply, verify, rollback, status, profiles."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

app = typer.Typer(
    help="Audit, apply, verify and roll back Linux tunings (crash-safe journal).", no_args_is_help=True
)

_PROFILE_FILE = typer.Option(None, "--profile-file", help="Load the profile from this TOML file.")
_JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _console() -> Any:
    from rich.console import Console

    return Console()  # the terminal's width, COLUMNS, or 80 in a pipe: the tables fold, nothing is cut


def _table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _load(profile: str | None, profile_file: str | None) -> Any:
    from perflab.system.profiles import load_profile

    return load_profile(profile, profile_file=profile_file)


def _fail(message: str) -> None:
    from perflab.errors import PerflabError

    raise PerflabError(message)


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
def audit(
    profile: str = typer.Option(None, "--profile", help="Compare with what this profile wants."),
    profile_file: str = _PROFILE_FILE,
    as_json: bool = _JSON,
) -> None:
    """Every knob: current value, wanted value, whether it can be changed here and why not."""
    from perflab.report.terminal import print_table
    from perflab.system.audit import audit as run_audit

    loaded = _load(profile, profile_file) if (profile or profile_file) else None
    report = run_audit(loaded)
    if as_json:
        _dump(report.to_dict())
        return
    console = _console()
    facts = _table("Machine", ["probe", "value", "how we know"])
    for probe in report.probes.items:
        facts.add_row(probe.name, probe.value, probe.detail)
    print_table(console, facts)
    title = f"Knobs (profile {report.profile})" if report.profile else "Knobs"
    columns = ["knob", "current"] + (["wanted", "ok"] if loaded else []) + ["changeable here", "why not"]
    table = _table(title, columns)
    for row in report.rows:
        cells = [row.knob, row.current if row.current is not None else "-"]
        if loaded:
            cells += [row.wanted or "", {True: "yes", False: "NO", None: ""}[row.ok]]
        cells += ["yes" if row.changeable else "no", row.reason]
        table.add_row(*cells)
    print_table(console, table)


@app.command()
def apply(
    profile: str = typer.Argument(None, help="Profile name (see `perflab system profiles`)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    profile_file: str = _PROFILE_FILE,
    keep_partial: bool = typer.Option(
        False, "--keep-partial", help="Do not undo earlier knobs on a failure."
    ),
    as_json: bool = _JSON,
) -> None:
    """Apply a profile: journal each original first, read every write back, undo on failure."""
    from perflab.report.terminal import print_table
    from perflab.system.apply import apply_settings

    loaded = _load(profile, profile_file)
    report = apply_settings(
        loaded.settings, dry_run=dry_run, label=f"profile {loaded.name}", keep_partial=keep_partial
    )
    files = [str(path) for path in loaded.source]
    if as_json:
        _dump({**report.to_dict(), "profile_files": files})
    else:
        _console().print(f"profile {loaded.name} from {', '.join(files)}", markup=False, highlight=False)
        table = _table(
            f"apply {loaded.name}" + (" (dry run)" if dry_run else ""),
            ["knob", "before", "wanted", "after", "status", "reason"],
        )
        for r in report.results:
            table.add_row(r.knob, r.before or "-", r.wanted, r.after or "-", r.status, r.reason)
        console = _console()
        print_table(console, table)
        counts = {
            s: sum(1 for r in report.results if r.status == s) for s in {r.status for r in report.results}
        }
        console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        if report.rolled_back:
            console.print("a knob failed: everything this apply changed was put back")
    if not report.ok:
        failed = [r.knob for r in report.results if r.status == "failed"]
        _fail(
            f"apply {loaded.name}: {', '.join(failed)} failed"
            + ("; everything this apply changed was put back" if report.rolled_back else "")
        )


@app.command()
def verify(
    profile: str = typer.Argument(None, help="Profile to check; without one, the changes in the journal."),
    profile_file: str = _PROFILE_FILE,
    as_json: bool = _JSON,
) -> None:
    """Per knob, expected against actual: shows drift. Exit 1 when any knob drifted."""
    from perflab.report.terminal import print_table
    from perflab.system.audit import verify as run_verify

    if profile or profile_file:
        loaded = _load(profile, profile_file)
        settings, title = loaded.settings, f"verify {loaded.name}"
    else:
        from perflab.system.apply import status

        settings = {e.knob: e.wanted for e in status() if not e.stale_boot}
        title = "verify journal"
    rows = run_verify(settings)
    if as_json:
        _dump([row.__dict__ for row in rows])
    else:
        table = _table(title, ["knob", "expected", "actual", "status", "reason"])
        for row in rows:
            table.add_row(row.knob, row.expected, row.actual or "-", row.status, row.reason)
        console = _console()
        print_table(console, table)
        if not rows:
            console.print("nothing to verify: perflab has no changes in force")
    drifted = [row.knob for row in rows if row.status == "drift"]
    if drifted:
        _fail(f"{len(drifted)} knob(s) differ from what was expected: {', '.join(drifted)}")


@app.command()
def rollback(as_json: bool = _JSON) -> None:
    """Restore every original value from the journal (also after a crash or SIGKILL mid-apply)."""
    from perflab.report.terminal import print_table
    from perflab.system.apply import rollback as run_rollback

    report = run_rollback()
    if as_json:
        _dump(report.to_dict())
    else:
        console = _console()
        if report.results:
            table = _table("rollback", ["knob", "original", "before rollback", "now", "status", "reason"])
            for r in report.results:
                table.add_row(r.knob, r.original, r.before or "-", r.after or "-", r.status, r.reason)
            print_table(console, table)
        if report.message:
            console.print(report.message)
        for line in report.unreadable:
            console.print(f"could not read: {line}", markup=False)
        for note in report.notes:
            console.print(note, markup=False)
    failed = [r.knob for r in report.results if r.status == "failed"]
    if failed:
        _fail(f"rollback could not restore {', '.join(failed)}; the journal keeps them")
    if report.unreadable:
        _fail(f"rollback restored everything it could read, but {len(report.unreadable)} journal "
              f"record(s) could not be read (listed above): a change they held was not restored")


@app.command()
def status(as_json: bool = _JSON) -> None:
    """What perflab changed that has not been rolled back, and whether it is still in force."""
    import time

    from perflab.report.terminal import print_table
    from perflab.system.apply import problems
    from perflab.system.apply import status as run_status

    entries = run_status()
    notes = problems()
    for note in notes:  # on stderr, so --json stays a list of changes
        sys.stderr.write(f"perflab: warning: journal: {note}\n")
    if as_json:
        _dump([e.__dict__ for e in entries])
        return
    console = _console()
    if not entries:
        empty = " that it can read" if notes else " (the journal is empty)"
        console.print(f"perflab has changed nothing{empty}")
        return
    table = _table("perflab changes", ["knob", "original", "set to", "current", "in force", "by", "when"])
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
        in_force = "yes" if e.in_force else ("no (rebooted)" if e.stale_boot else "no (changed since)")
        table.add_row(e.knob, e.original, e.wanted, e.current or "-", in_force, e.label, when)
    print_table(console, table)


@app.command()
def profiles(as_json: bool = _JSON) -> None:
    """List the profiles visible from here (local ones shadow shipped ones)."""
    from perflab.report.terminal import print_table
    from perflab.system.profiles import list_profiles, load_profile

    found = list_profiles()
    if as_json:
        _dump({name: str(path) for name, path in found.items()})
        return
    table = _table("profiles", ["name", "file", "description"])
    for name, path in found.items():
        try:
            description = load_profile(str(path)).description
        except Exception as error:  # a broken local profile must not hide the others
            description = f"(invalid: {error})"
        table.add_row(name, str(path), description)
    print_table(_console(), table)
