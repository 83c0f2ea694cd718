"""`perflab tune` commands (filled in by the tune work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="tune commands.", no_args_is_help=True)
