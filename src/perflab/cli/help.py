"""Help text a user can read: metavars in words (no Python types), one example per command, and the
one-line-error-then-usage form for a call that cannot start.

Applied to the whole command tree once per call by the root group (a walk over ~200 parameters, a few
microseconds); a command that documents its own example keeps it.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

EXAMPLES = {
    "bench": "perflab bench 'gzip -k -f data.bin' 'zstd -q -f data.bin'",
    "results": "perflab results --json",
    "show": "perflab show 3",
    "compare": "perflab compare main 7",
    "import": "perflab import hyperfine.json --save-baseline before",
    "report": "perflab report -o report.html",
    "tracker": "perflab tracker",
    "system audit": "perflab system audit --profile p2p-node",
    "system apply": "perflab system apply network-throughput --dry-run",
    "system verify": "perflab system verify network-throughput",
    "system rollback": "perflab system rollback",
    "system status": "perflab system status",
    "system profiles": "perflab system profiles --json",
    "tune try": "perflab tune try --knob net.ipv4.tcp_congestion_control=cubic,bbr -- ./transfer-test",
    "suite run": "perflab suite run suite.toml",
    "check": "perflab check --against main",
    "history": "perflab history nap --metric wall",
    "kernel audit": "perflab kernel audit --config /boot/config-$(uname -r)",
    "kernel merge": "perflab kernel merge base.config hotpath.config -o .config --srctree /usr/src/linux",
    "kernel diff": "perflab kernel diff old.config new.config --fragment",
    "crypto bench": "perflab crypto bench --userspace",
    "vm run": "perflab vm run vmlinuz -- uname -r",
    "vm stress": "perflab vm stress vmlinuz --repeat 20 -- true",
    "vm bench": "perflab vm bench a/vmlinuz b/vmlinuz -- true",
    "anns run": "perflab anns run",
    "anns show": "perflab anns show 3",
    "anns list": "perflab anns list",
    "anns compare": "perflab anns compare 3 4",
}

# What typer's plain help would print for a value's type, and what it means to a user instead.
_METAVARS = {"int": "N", "integer": "N", "float": "NUM", "str": "TEXT", "text": "TEXT", "path": "PATH",
             "file": "FILE", "filename": "FILE", "directory": "DIR"}


def _type_label(param: Any, ctx: Any) -> str:
    """typer's type label (``<int range>``, ``<list[str]>``, ``INTEGER RANGE`` in older typers)."""
    display = getattr(param, "display_type", None)
    label = display(ctx) if callable(display) else getattr(getattr(param, "type", None), "name", "")
    return str(label or "").strip("<>").lower()


def metavar_for(label: str) -> str | None:
    """A plain-words metavar for a type label, or None to leave typer's (e.g. a tuple's own names)."""
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    label = label.removesuffix(" range").strip()
    if "|" in label:  # choices: the values themselves are the best help
        return "[" + label + "]"
    return _METAVARS.get(label)


def _no_type(ctx: Any) -> None:
    return None


def _polish_params(command: Any, ctx: Any) -> None:
    help_option = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    for param in [*getattr(command, "params", []), *([help_option] if help_option else [])]:
        if getattr(param, "param_type_name", "") == "argument":
            # its NAME (NAME... when repeated) says it all: typer would append the Python type
            param.display_type_rich = _no_type
            if getattr(param, "metavar", None) is None:  # typer's usage line would show {name}
                param.metavar = param.name.upper()
            continue
        if getattr(param, "is_flag", False):
            param.display_type_rich = _no_type  # a flag takes no value (rich help would say <bool>)
            continue
        if getattr(param, "metavar", None) is not None:
            continue
        if getattr(param, "nargs", 1) != 1:  # tuples name their parts (NAME LO HI) already
            continue
        metavar = metavar_for(_type_label(param, ctx))
        if metavar is not None:
            param.metavar = metavar


def polish(group: Any, ctx: Any, path: tuple[str, ...] = ()) -> None:
    """Plain metavars and an example for every command under ``group`` (best effort: help is never
    worth a crash, so any surprise from another typer leaves its help as it is)."""
    try:
        for name, command in getattr(group, "commands", {}).items():
            full = (*path, name)
            if getattr(command, "commands", None):
                polish(command, ctx, full)
                continue
            _polish_params(command, ctx)
            text = (command.help or "") + (command.epilog or "")
            example = EXAMPLES.get(" ".join(full))
            if example and "Example" not in text:
                command.epilog = f"Example: {example}"
    except Exception:  # noqa: BLE001 - see docstring
        return


def usage_error(ctx: typer.Context, message: str) -> NoReturn:
    """``perflab: error: MESSAGE`` on one line, then the usage and where the full help is; exit 2."""
    print(f"perflab: error: {message}", file=sys.stderr)
    print(ctx.get_usage(), file=sys.stderr)
    print(f"Try '{ctx.command_path} --help' for help.", file=sys.stderr)
    raise typer.Exit(2)
