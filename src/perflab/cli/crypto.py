"""`perflab crypto` commands: kernel crypto throughput per driver (AF_ALG)."""

from __future__ import annotations

import json
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
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default $PERFLAB_DB or "
                                           "sqlite:///.perflab/perflab.db).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Bytes/s per algorithm, driver and size, with the median's confidence interval; every run
    (including an `unavailable` one, with its reason) is stored and can be shown with `perflab show ID`."""
    from perflab.kernel.crypto_bench import (
        DEFAULT_ALGORITHMS,
        DEFAULT_SIZES,
        BenchSettings,
        parse_size,
        run_bench,
        to_benchmark,
    )
    from perflab.store.db import Store

    names = _split(algorithms) or list(DEFAULT_ALGORITHMS)
    size_list = [parse_size(s) for s in _split(sizes)] or list(DEFAULT_SIZES)
    settings = BenchSettings(algorithms=names, sizes=size_list, samples=samples)
    with Store.open(db) as store:  # a bad URL fails before anything is measured
        results = run_bench(settings, userspace=userspace)
        bench_id = store.save(to_benchmark(results, settings, userspace=userspace))
        url = store.url
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        from rich.console import Console

        from perflab.report.terminal import print_crypto_results

        print_crypto_results(Console(), [r.to_dict() for r in results])
    typer.echo(f"saved as #{bench_id} in {url}", err=True)
