"""`perflab kernel` sub-commands (kernel_audit)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the `perflab kernel` app."""
