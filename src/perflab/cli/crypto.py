"""`perflab crypto` commands: kernel crypto throughput per driver (AF_ALG)."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer

app = typer.Typer(help="Kernel crypto: throughput of each registered driver through AF_ALG.",
                  no_args_is_help=True)


def _split(values: list[str] | None) -> list[str]:
    """Accept both repeated options and comma lists (``--sizes 16,4K --sizes 64K``)."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


@app.command("bench")
def bench(
    algorithms: Annotated[list[str] | None, typer.Option(
        "--algorithms", help="xts(aes), cbc(aes), gcm(aes), sha1, sha256, sha512, crc32c "
        "(comma list or repeated; default all).")] = None,
    sizes: Annotated[list[str] | None, typer.Option(
        "--sizes", help="Buffer sizes, e.g. 16,256,4K,64K (default 16 B … 64 KiB).")] = None,
    userspace: Annotated[bool, typer.Option(
        "--userspace", help="Also measure userspace implementations (hashlib), labelled as such.")] = False,
    samples: Annotated[int, typer.Option("--samples", help="Timed batches per size (≥ 3).")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Bytes/s per algorithm, driver and size, with the median's confidence interval."""
    from perflab.kernel.crypto_bench import (
        DEFAULT_ALGORITHMS,
        DEFAULT_SIZES,
        BenchSettings,
        parse_size,
        run_bench,
    )

    names = _split(algorithms) or list(DEFAULT_ALGORITHMS)
    size_list = [parse_size(s) for s in _split(sizes)] or list(DEFAULT_SIZES)
    settings = BenchSettings(algorithms=names, sizes=size_list, samples=samples)
    results = run_bench(settings, userspace=userspace)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    _print(results)


def _rate(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} B/s"


def _print(results: list) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    unavailable = [r for r in results if r.status != "ok"]
    measured = [r for r in results if r.status == "ok"]
    for result in measured:
        title = f"{result.algorithm} — {result.source}"
        if result.source.startswith("kernel"):
            title += f" driver {result.implementation}"
            if result.implementation == result.active_driver:
                title += " (the kernel's choice)"
        table = Table(title=escape(title), title_justify="left")
        level = f"{result.sizes[0].confidence:.0%}" if result.sizes else ""
        for column in ("size", "median", f"{level} CI of median", "samples × ops"):
            table.add_column(column, justify="right")
        for size in result.sizes:
            ci = f"{_rate(size.ci_low)} … {_rate(size.ci_high)}"
            table.add_row(f"{size.size} B", _rate(size.median), ci,
                          f"{len(size.bytes_per_s)} × {size.ops_per_sample}")
        console.print(table)
    if unavailable:
        table = Table(title="Not measured", title_justify="left")
        columns = ("algorithm", "source", "status", "reason", "kernel's active driver", "would enable it")
        for column in columns:
            table.add_column(column, overflow="fold")
        for r in unavailable:
            if r.active_driver:
                active = f"{r.active_driver} (priority {r.active_priority})"
            else:
                later = " (template: appears on first use)" if "(" in r.algorithm else ""
                active = "none registered" + later
            table.add_row(escape(r.algorithm), escape(r.source), r.status, escape(r.reason or ""),
                          escape(active) if r.source.startswith("kernel") else "",
                          "\n".join(r.enable_config))
        console.print(table)
