"""`perflab kernel` commands: the audit lives in kernel_audit, merge and diff in kernel_config."""

from __future__ import annotations

import typer

from perflab.cli import kernel_audit, kernel_config

app = typer.Typer(help="Kernel configuration: audit the running kernel, merge fragments, diff configs.",
                  no_args_is_help=True)
kernel_audit.register(app)
kernel_config.register(app)
