"""`perflab kernel` commands (filled in by the kernel work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="kernel commands.", no_args_is_help=True)
