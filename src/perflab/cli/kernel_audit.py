"""`perflab kernel audit`: hot-path symbols, active crypto drivers and unused CPU features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `perflab kernel` app."""
    app.command("audit")(audit_command)


def audit_command(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Another machine's .config (or config.gz). "
        "Default: the running kernel's /proc/config.gz or /boot/config-*.")] = None,
    modules_dir: Annotated[Path | None, typer.Option(
        "--modules-dir", help="Directory with modules.order, modules.builtin, modules.builtin.modinfo "
        "of that build.")] = None,
    groups: Annotated[list[Path] | None, typer.Option(
        "--groups", help="Extra hot-path group TOML file (repeatable); "
        ".perflab/kernel-groups/*.toml is read too.")] = None,
    cpuinfo: Annotated[Path | None, typer.Option(
        "--cpuinfo", help="A copied /proc/cpuinfo (with --config).")] = None,
    proc_crypto: Annotated[Path | None, typer.Option(
        "--proc-crypto", help="A copied /proc/crypto (with --config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Is each hot-path driver builtin, a (loaded) module, not set, or absent in this kernel version?"""
    from perflab.kernel.audit import audit, gather_sources
    from perflab.kernel.hotpath import load_groups

    report = audit(load_groups(list(groups or [])), gather_sources(config, modules_dir, cpuinfo, proc_crypto))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_report(report)


def _print_report(report: object) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from perflab.kernel.audit import ABSENT, BUILTIN, MODULE, MOVED, NOT_SET, NOT_YET, AuditReport
    from perflab.report.terminal import print_table

    assert isinstance(report, AuditReport)
    console = Console()
    where = "running kernel" if report.running else "files"
    release = f" {report.release}" if report.release else ""
    console.print(f"[bold]Kernel audit[/bold] ({where}{release}): config {report.config}; "
                  f"modules: {report.modules_source}")
    styles = {BUILTIN: "green", MODULE: "cyan", NOT_SET: "yellow", ABSENT: "dim", MOVED: "blue",
              NOT_YET: "dim"}
    groups: dict[str, list] = {}
    for st in report.symbols:
        groups.setdefault(st.group, []).append(st)
    for name, states in groups.items():
        table = Table(title=name, title_justify="left")
        table.add_column("symbol", no_wrap=True)
        table.add_column("state", no_wrap=True)
        table.add_column("detail", overflow="fold")
        table.add_column("what", overflow="fold")
        for st in states:
            state = st.state if st.state != "value" else f"= {st.value}"
            style = styles.get(st.state, "")
            plain_absent = st.state == ABSENT and st.detail.startswith("not in this config (")
            detail = "" if st.state == "value" or plain_absent else st.detail
            table.add_row(f"CONFIG_{st.symbol}", f"[{style}]{state}[/{style}]" if style else state, detail,
                          st.what)
        print_table(console, table)
    if report.algorithms:
        table = Table(title="/proc/crypto: driver the kernel picks (highest priority, self-test passed)",
                      title_justify="left")
        for column in ("algorithm", "active driver", "priority", "kind", "why", "other drivers"):
            table.add_column(column, overflow="fold")
        for algo in report.algorithms:
            others = ", ".join(f"{o['driver']} ({o['priority']})" for o in algo.others[1:])
            priority = "" if algo.priority is None else str(algo.priority)
            table.add_row(algo.algorithm, algo.driver or "—", priority, algo.kind, algo.reason, others)
        print_table(console, table)
    if report.findings:
        console.print("[bold]Findings[/bold]")
        for finding in report.findings:
            console.print(escape(f"  • [{finding.group}] {finding.message}"), soft_wrap=True)
    elif report.cpu_flags_checked:
        console.print("No CPU feature without a driver.")
    if any(st.state == ABSENT for st in report.symbols):
        console.print("absent: the symbol is not in this config at all: it does not exist in this kernel "
                      "version, or it is a hidden symbol nothing selected", soft_wrap=True)
    for note in report.notes:
        console.print(escape(f"note: {note}"), soft_wrap=True)
