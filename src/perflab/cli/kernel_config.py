"""`perflab kernel merge` and `perflab kernel diff`: .config fragments, resolved by the kernel's Kconfig."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

_MERGE_HELP = """Merge FRAGMENTs into BASE and write OUT; BASE is never modified.

Order: (1) read BASE and the fragments; (2) later fragments win, each redefinition is reported;
(3) --modprobed-db prunes BASE like 'make localmodconfig' (=m symbols of unlisted modules → n),
keeping what the listed modules and the fragments' y/m symbols depend on; (4) the fragments are applied
on top; (5) --srctree resolves with the tree's own 'make olddefconfig' (run in a private build
directory, the tree is only read) and checks every requested value: honoured / changed (with the
reason) / absent. Without --srctree the result is an UNRESOLVED textual merge.

A kernel tree is code: resolving runs its Kconfig ($(shell,...) calls), its Makefiles and scripts/kconfig
as you. The tree must be owned by you or root (--trust-tree to skip that check) and of BASE's version
(from BASE's header; --allow-version-mismatch to resolve anyway).

Example: perflab kernel merge /boot/config-$(uname -r) hotpath.config -o .config --srctree /usr/src/linux
"""


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `perflab kernel` app."""
    app.command("merge", help=_MERGE_HELP)(merge_command)
    app.command("diff")(diff_command)


def merge_command(
    base: Annotated[Path, typer.Argument(help="Base .config (read only).")],
    fragments: Annotated[list[Path], typer.Argument(help="Fragments, applied in order (later wins).")],
    out: Annotated[Path, typer.Option("-o", "--output", help="Where to write the merged .config "
                                      "(atomically).")],
    modprobed_db: Annotated[Path | None, typer.Option(
        "--modprobed-db", help="Modules to keep (one per line, # comments); needs --srctree.")] = None,
    srctree: Annotated[Path | None, typer.Option(
        "--srctree", help="Kernel source tree whose Kconfig resolves the result.")] = None,
    arch: Annotated[str | None, typer.Option("--arch", help="ARCH for the tree (default: this machine's).")]
    = None,
    allow_version_mismatch: Annotated[bool, typer.Option(
        "--allow-version-mismatch", help="Resolve even when BASE's kernel version (its header) is not the "
        "tree's (Makefile).")] = False,
    trust_tree: Annotated[bool, typer.Option(
        "--trust-tree", help="Resolve with a tree owned by another user (it is code: it runs as you).")]
    = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 3 when a requested value did not survive (needs --srctree).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    from perflab.errors import PerflabError
    from perflab.kernel.config import write_atomic
    from perflab.kernel.merge import merge

    if strict and srctree is None:
        raise PerflabError("--strict needs --srctree: without the kernel's Kconfig no value can be checked")
    if out.resolve() == base.resolve():
        raise PerflabError(f"{out}: refusing to overwrite BASE; choose another -o")
    result = merge(base, list(fragments), modprobed_db=modprobed_db, srctree=srctree, arch=arch,
                   allow_version_mismatch=allow_version_mismatch, trust_tree=trust_tree)
    if srctree is not None:
        import gc

        # The process ends right after this command: move the parsed Kconfig graph (millions of
        # objects in cycles) out of the collector's reach so the exit does not spend ~1 s walking it.
        gc.freeze()
    write_atomic(out, result.text)
    if as_json:
        data = result.to_json()
        data["output"] = str(out)
        typer.echo(json.dumps(data, indent=2, default=lambda o: o.__dict__))
    else:
        _print_merge(result, out)
    failed = result.not_honoured()
    if strict and failed:
        names = ", ".join(f"CONFIG_{row.symbol}" for row in failed[:8])
        raise PerflabError(f"--strict: {len(failed)} requested value(s) did not survive: {names} "
                           f"({out} was written)", exit_code=3)


def _print_merge(result: object, out: Path) -> None:
    """Plain lines (one per symbol) so the report reads the same in a terminal, a log or grep."""
    from perflab.kernel.merge import STATUSES, MergeResult

    assert isinstance(result, MergeResult)
    echo = typer.echo
    for redef in result.redefinitions:
        echo(f"redefined CONFIG_{redef.symbol}: {redef.old} ({redef.old_source}) -> {redef.new} "
             f"({redef.source})")
    prune = result.prune
    if prune is not None:
        echo(f"modprobed-db: {prune.modules} modules: {len(prune.kept_modules)} kept as =m, "
             f"{len(prune.builtin_modules)} builtin, {len(prune.not_enabled)} not enabled in BASE, "
             f"{len(prune.unmapped)} unmapped; {len(prune.pruned)} =m symbols switched off "
             f"({prune.makefiles_read} Makefiles read)")
        if prune.unmapped:
            echo("  modules no Makefile builds (nothing kept for them): " + ", ".join(prune.unmapped))
        if prune.not_enabled:
            echo("  listed but not enabled in BASE: " + ", ".join(
                f"{m} ({'/'.join(s)})" for m, s in prune.not_enabled.items()))
        for symbol, why in prune.forced_for_fragment.items():
            echo(f"  kept CONFIG_{symbol}=m for the fragment ({why})")
        if prune.restored:
            echo(f"  {len(prune.restored)} pruned symbols came back to their BASE value (the kernel's "
                 "Kconfig needs them):")
            for symbol, why in prune.restored.items():
                echo(f"    CONFIG_{symbol}  {why}".rstrip())
    if result.resolved:
        echo(f"resolved with: {' '.join(result.command)}")
    else:
        echo("UNRESOLVED: textual merge, dependencies not checked (pass --srctree to resolve with the "
             "kernel's Kconfig)")
    echo("requested vs actual" + ("" if result.resolved else " (unresolved)") + ":")
    width = max((len(row.symbol) for row in result.rows), default=0) + 7
    for row in result.rows:
        actual = "(absent)" if row.actual is None else row.actual
        line = f"  {'CONFIG_' + row.symbol:<{width}} {row.requested:>3} -> {actual:<8} {row.status:<10}"
        reason = f" {row.reason}" if row.reason and row.status != "unresolved" else ""
        if row.status == "not in BASE":
            line = f"  {'CONFIG_' + row.symbol:<{width}} {row.requested:>3} -> {actual:<8} {'unresolved':<10}"
        echo(f"{line}{reason} [{row.source}]")
    lifts: dict[str, list[str]] = {}
    for row in result.rows:
        for line in row.fix:
            mark = "" if row.fix_checked else " (unconfirmed)"
            lifts.setdefault(line, []).append(f"CONFIG_{row.symbol}{mark}")
    if lifts:
        echo("to get the requested values held down by their dependencies, add to a fragment:")
        for line, wanted_by in lifts.items():
            echo(f"  {line}  # for {', '.join(wanted_by)}")
    shown = [e for e in result.side_effects if not e.from_pruning and not e.toolchain]
    toolchain = [e for e in result.side_effects if e.toolchain]
    if result.side_effects:
        promotions = sum(1 for e in shown if e.promotion)
        echo(f"side effects (not requested): {len(shown)}, {promotions} promoted m -> y:")
        hidden = sum(1 for e in result.side_effects if e.from_pruning and not e.toolchain)
        if hidden:
            echo(f"  (+{hidden} options switched off because what they depend on was pruned; "
                 "--json lists them)")
        _print_effects(shown)
    if toolchain:
        echo(f"toolchain-dependent (this machine's compiler, assembler, linker, pahole or rustc decided "
             f"them, not your requests; resolve where you build, or install the tool): {len(toolchain)}")
        _print_effects(toolchain)
    for note in result.notes:
        echo(f"note: {note}")
    counts = {s: sum(1 for r in result.rows if r.status == s) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    echo(f"wrote {out}: {summary or 'no requests'}")


def _print_effects(effects: list) -> None:
    width = max((len(e.symbol) for e in effects), default=0) + 7
    for effect in effects:
        before = "(unset)" if effect.before is None else effect.before or '""'
        after = "(not written)" if effect.after is None else effect.after or '""'
        mark = "  [m -> y]" if effect.promotion else ""
        reason = f"  {effect.reason}" if effect.reason else ""
        tool = f"  [{effect.toolchain}]" if effect.toolchain else ""
        typer.echo(f"  {'CONFIG_' + effect.symbol:<{width}} {before} -> {after}{mark}{tool}{reason}")


def diff_command(
    a: Annotated[Path, typer.Argument(help="Old .config.")],
    b: Annotated[Path, typer.Argument(help="New .config.")],
    fragment: Annotated[bool, typer.Option("--fragment", help="Print B − A as a fragment instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Added, removed and changed symbols, =y/=m counts on each side, and the m → y promotions."""
    from perflab.kernel.diff import diff_files

    result = diff_files(a, b)
    if fragment:
        typer.echo(result.fragment(), nl=False)
        return
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    for side, path in (("a", a), ("b", b)):
        c = result.counts[side]
        typer.echo(f"{side.upper()} {path}: {c['y']} =y, {c['m']} =m, {c['n']} not set, {c['total']} symbols")
    typer.echo(f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed "
               f"({len(result.promotions)} m → y, {len(result.demotions)} y → m)")
    for title, changes in (("added", result.added), ("removed", result.removed),
                           ("changed", result.changed), ("m → y promotions", result.promotions)):
        if not changes:
            continue
        typer.echo(f"\n{title}:")
        for change in changes:
            typer.echo(f"  CONFIG_{change.symbol}: {result.shown(change.symbol, change.old)} → "
                       f"{result.shown(change.symbol, change.new)}")
