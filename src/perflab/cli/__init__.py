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


def _register() -> None:
    from perflab.cli import (
        anns,
        bench,
        crypto,
        exp,
        gate,
        idea,
        kernel,
        report,
        results,
        suite,
        system,
        tune,
        vm,
    )

    bench.register(app)
    results.register(app)
    report.register(app)
    gate.register(app)
    app.add_typer(system.app, name="system")
    app.add_typer(tune.app, name="tune")
    app.add_typer(suite.app, name="suite")
    app.add_typer(kernel.app, name="kernel")
    app.add_typer(crypto.app, name="crypto")
    app.add_typer(vm.app, name="vm")
    app.add_typer(idea.app, name="idea")
    app.add_typer(exp.app, name="exp")
    app.command("tracker")(exp.tracker_command)
    app.add_typer(anns.app, name="anns")


#: top-level commands registered by a module's ``register(app)`` (the rest are groups: add_typer)
_REGISTERED_BY = {"bench": "bench", "results": "results", "show": "results", "compare": "results",
                  "import": "results", "export": "results", "report": "report", "check": "gate",
                  "history": "gate"}
_GROUPS = ("system", "tune", "suite", "kernel", "crypto", "vm", "idea", "exp", "anns")


def _register_only(word: str) -> bool:
    """Register just the command ``word`` names (typer builds every registered command's parameters on
    each call: ~90 signatures, most of a short command's start-up); False when ``word`` is not one."""
    import importlib

    if word in _REGISTERED_BY:
        importlib.import_module(f"perflab.cli.{_REGISTERED_BY[word]}").register(app)
    elif word == "tracker":
        app.command("tracker")(importlib.import_module("perflab.cli.exp").tracker_command)
    elif word in _GROUPS:
        app.add_typer(importlib.import_module(f"perflab.cli.{word}").app, name=word)
    else:
        return False
    return True


def main() -> None:
    word = sys.argv[1] if len(sys.argv) > 1 else ""
    # the whole tree for help, completion, options before the command and unknown words (their error
    # lists every command); else only the command named
    if "_PERFLAB_COMPLETE" in os.environ or not _register_only(word):
        _register()
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
    sys.exit(code if isinstance(code, int) else 0)
