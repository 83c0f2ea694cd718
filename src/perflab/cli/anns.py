"""`perflab anns`: vector-search benchmarks (run, list, show, compare)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(help="Vector search: insert/s, QPS at a recall, latency — with CIs, equal settings, "
                  "labels.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL of the store [env PERFLAB_DB, else sqlite:///.perflab/perflab.db].")]


def _ints(text: str | None, option: str) -> list[int] | None:
    from perflab.errors import PerflabError

    if text is None:
        return None
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise PerflabError(f"{option} {text!r}: give comma-separated integers") from None
    if not values or min(values) < 1:
        raise PerflabError(f"{option} {text!r}: give positive integers")
    return values


@app.command("run")
def run(
    dataset: Annotated[str, typer.Option("--dataset", help="glove, synthetic[:N[:DIM]] or an ann-benchmarks "
                                         ".hdf5 file.")] = "glove",
    engines: Annotated[str, typer.Option("--engines", help="Comma list: built-in names (perflab anns list), "
                                         "module:Class, entry-point names, exec:COMMAND.")] =
        "hnswlib,faiss-hnsw,faiss-ivf,usearch,annoy",
    k: Annotated[int, typer.Option("--k", help="Neighbours per query (recall@k).")] = 10,
    threads: Annotated[str, typer.Option("--threads", help="Query threads for QPS, e.g. 1,2.")] = "1",
    processes: Annotated[int, typer.Option("--processes", help="Separate processes per engine (≥ 5).")] = 5,
    limit: Annotated[int | None, typer.Option("--limit", help="Use only the first N base vectors.")] = None,
    queries: Annotated[int | None, typer.Option("--queries", help="Number of queries (glove: drawn from "
                                                "the set; default 1000).")] = None,
    hnsw_m: Annotated[int, typer.Option("--hnsw-m", min=2, help="HNSW M (all HNSW engines).")] = 16,
    ef_construction: Annotated[int, typer.Option("--ef-construction", min=1, help="HNSW efConstruction "
                                                 "(all HNSW engines).")] = 200,
    ef: Annotated[str | None, typer.Option("--ef", help="HNSW ef sweep (all HNSW engines).")] = None,
    nprobe: Annotated[str | None, typer.Option("--nprobe", help="IVF nprobe sweep.")] = None,
    search_k: Annotated[str | None, typer.Option("--search-k", help="Annoy search_k sweep.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before a process is killed.")] = 900.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of query choice, data and order.")] = 0,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print analysis['anns'] as JSON.")] = False,
) -> None:
    """Measure each engine in ≥ 5 interleaved processes; print figures with CIs and run-mode labels; store."""
    from rich.console import Console

    from perflab.lab.anns_session import AnnsRequest, run_and_save
    from perflab.packs.anns.engines.base import Settings
    from perflab.report.anns_terminal import print_anns

    given = (("ef_sweep", _ints(ef, "--ef")), ("nprobe_sweep", _ints(nprobe, "--nprobe")),
             ("search_k_sweep", _ints(search_k, "--search-k")))
    sweeps = {name: v for name, v in given if v}
    hnsw = {"hnsw_m": hnsw_m, "hnsw_ef_construction": ef_construction}
    req = AnnsRequest(dataset=dataset, engines=[e.strip() for e in engines.split(",") if e.strip()], k=k,
                      threads=_ints(threads, "--threads") or [1], processes=processes, limit=limit,
                      queries=queries, seed=seed, timeout_s=timeout, settings=Settings(**sweeps, **hnsw))
    err = Console(stderr=True)
    bench = run_and_save(req, db, lambda msg: err.print(f"[dim]{msg}[/]"))
    if as_json:
        typer.echo(json.dumps(bench.analysis["anns"], indent=2))
    else:
        print_anns(Console(), bench.analysis["anns"])
    typer.echo(f"saved as #{bench.id}", err=True)


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="Result id or baseline name.")],
         db: DbOption = None) -> None:
    """Print a stored vector-search result."""
    from rich.console import Console

    from perflab.errors import PerflabError
    from perflab.report.anns_terminal import print_anns
    from perflab.store.db import Store

    with Store.open(db) as store:
        bench = store.resolve(ref)
    if "anns" not in bench.analysis:
        raise PerflabError(f"{ref}: result #{bench.id} is a {bench.kind} result, not a vector-search one")
    print_anns(Console(), bench.analysis["anns"])


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Datasets and engines found here, with versions and how each runs (installed or not)."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from perflab.packs.anns.datasets import AVAILABLE, glove_path
    from perflab.packs.anns.plugin import all_engines
    from perflab.report.terminal import print_table

    infos = all_engines()
    try:
        glove = f"installed ({glove_path()})"
    except Exception as error:  # PerflabError: the package is missing
        glove = f"not installed: {getattr(error, 'message', error)}"
    if as_json:
        typer.echo(json.dumps({"datasets": {"glove": glove, "others": list(AVAILABLE[1:])},
                               "engines": [asdict(i) for i in infos]}, indent=2))
        return
    console = Console()
    console.print(f"datasets: glove — {glove}; {AVAILABLE[1]} (seeded); {AVAILABLE[2]} "
                  "(ann-benchmarks format)")
    t = Table(title="engines")
    for col in ("engine", "installed", "version", "runs as", "algorithm", "from"):
        t.add_column(col)
    for i in infos:
        t.add_row(i.name, "yes" if i.installed else f"no — {i.reason}", i.version or "—", i.run_mode or "—",
                  i.algorithm or "—", i.origin)
    print_table(console, t)
    console.print("plug in your own: --engines module:Class, an entry point in group "
                  "perflab.anns_engines, or exec:COMMAND (JSON lines; docs/anns-plugins.md)")


@app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="ENGINE (newest result with it), ID:ENGINE or BASELINE:ENGINE.")],
    b: Annotated[str, typer.Argument(help="The same forms as A.")],
    db: DbOption = None,
) -> None:
    """A against B on every figure both measured: factor with 95 % CI, or 'no significant difference'."""
    from perflab.lab.anns_session import compare_refs
    from perflab.report.anns_terminal import comparison_lines

    result = compare_refs(a, b, db)
    typer.echo(f"{result['a']} [{result['run_mode_a']}] vs {result['b']} [{result['run_mode_b']}] "
               "(medians over processes, 95 % CI, Mann–Whitney U per figure, 1 % noise band)")
    for line in comparison_lines(result["a"], result["b"], result["rows"]):
        typer.echo(f"  {line}")
