"""The thin command-line layer: parse options, call the engines, print.

Sub-command modules import only typer at module level; anything heavy (numpy, scipy, SQLAlchemy,
the engines) is imported inside the command functions so ``perflab --help`` stays fast.
"""

from __future__ import annotations

import os
import sys

# typer's rich help formatter costs ~0.3 s of imports on every call; plain help keeps `perflab --help`
# fast. Results are still rendered with rich. TYPER_USE_RICH=1 brings back the boxed help.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from perflab import __version__  # noqa: E402
from perflab.cli._fastparse import install_plain_coercion  # noqa: E402
from perflab.cli.help import polish  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402


class _RootGroup(TyperGroup):
    """The root group parses its own options (--help, --version) without typer's pydantic adapters."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        polish(self, ctx)
        install_plain_coercion([*self.params, self.get_help_option(ctx)])
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RootGroup,
    name="perflab",
    help="Honest performance engineering on Linux: measure → tune → compare → decide → report.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"perflab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """perflab measures commands, tunes Linux, audits kernel configs and reports only measured effects."""


#: which module serves each top-level command, in the order ``perflab --help`` lists them. A call that
#: names one of these registers only that module: typer turns every registered command into a click
#: command on every call, evaluating each signature's annotations, so registering all of them costs a
#: bench call about as much as its own option parsing. A test checks this table against the modules.
COMMAND_MODULES: dict[str, str] = {
    "bench": "bench",
    "results": "results", "show": "results", "compare": "results", "import": "results", "export": "results",
    "report": "report",
    "check": "gate", "history": "gate",
    "system": "system", "tune": "tune", "suite": "suite", "kernel": "kernel", "crypto": "crypto", "vm": "vm",
    "idea": "idea",
    "exp": "exp", "tracker": "exp",
    "anns": "anns",
}


def _attach(module_name: str) -> None:
    """Add one command module's commands (or its sub-app) to the root app."""
    import importlib

    module = importlib.import_module(f"perflab.cli.{module_name}")
    if hasattr(module, "register"):
        module.register(app)
        return
    app.add_typer(module.app, name=module_name)
    if module_name == "exp":
        app.command("tracker")(module.tracker_command)


def modules_for(argv: list[str]) -> list[str]:
    """The command modules a call needs: the one its command names, or all of them (root --help, an
    unknown or missing command, shell completion)."""
    everything = list(dict.fromkeys(COMMAND_MODULES.values()))
    if os.environ.get("_PERFLAB_COMPLETE"):
        return everything
    if argv and argv[0] in COMMAND_MODULES:
        return [COMMAND_MODULES[argv[0]]]
    return everything


def register_commands(argv: list[str] | None = None) -> None:
    """Register the command modules this call needs (every one by default), each exactly once."""
    app.registered_commands.clear()
    app.registered_groups.clear()
    for module_name in modules_for(sys.argv[1:] if argv is None else argv):
        _attach(module_name)


_INTERRUPTS: list[int] = []


def _on_sigint(signum: int, frame: object) -> None:
    _INTERRUPTS.append(signum)
    raise KeyboardInterrupt


def _watch_interrupts() -> None:
    """Note Ctrl-C before it unwinds: typer (0.12+) turns a KeyboardInterrupt that leaves a command into a
    silent exit 130, which ``standalone_mode=False`` returns as a plain code. An ignored SIGINT (a
    background job) stays ignored."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def main() -> None:
    register_commands(sys.argv[1:])
    _watch_interrupts()
    try:
        # standalone_mode=False returns the code of typer.Exit / ctx.exit instead of exiting.
        code = app(standalone_mode=False)
    except PerflabError as error:
        from perflab.cli.hints import cli_message

        print(f"perflab: error: {cli_message(error)}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("perflab: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        print("perflab: aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as error:
        # click's usage errors (typer may ship its own copy of click) carry a message and an exit code.
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(error.exit_code)
        raise
    if code == 130 and _INTERRUPTS:  # Ctrl-C that typer turned into a silent exit: say so
        print("perflab: interrupted", file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)
