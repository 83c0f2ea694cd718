"""Terminal presentation of a vector-search result (analysis["anns"], docs/anns.md) and of a comparison."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from perflab.report.terminal import print_table

RECALLS = ("0.90", "0.95", "0.99")


def _num(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def fig(f: dict[str, Any] | None, scale: float = 1.0, digits: str | None = None) -> str:
    """``median [lo, hi]``, or the median with the reason it has no CI, or ``—``."""
    if not f or f.get("median") is None:
        return "—"
    show = (lambda v: format(v / scale, digits)) if digits else (lambda v: _num(v / scale))
    if f.get("ci"):
        lo, hi = f["ci"]
        return f"{show(f['median'])} [{show(lo)}, {show(hi)}]"
    return f"{show(f['median'])} (no CI: {f.get('why_no_ci', 'n/a')})"


def _processes(e: dict[str, Any]) -> str:
    failed = f", {e['processes_failed']} failed" if e["processes_failed"] else ""
    return f"{e['processes_ok']} ok{failed}"


def build_table(anns: dict[str, Any]) -> Table:
    t = Table(title=f"{anns['dataset']['name']}: build and insert, median [95 % CI] over processes")
    for col in ("engine", "runs as", "build s", "insert/s batch", "insert/s 1-by-1", "index MiB", "disk MiB",
                "processes"):
        t.add_column(col)
    for name, e in anns["engines"].items():
        if not e.get("installed"):
            t.add_row(escape(name), "not installed", *["—"] * 5, "0")
            continue
        f = e.get("figures", {})
        single = fig(f["insert_single_per_s"]) if f.get("insert_single_per_s") else "n/a (static index)"
        t.add_row(escape(name), escape(e.get("run_mode") or "?"), fig(f.get("build_s")),
                  fig(f.get("insert_batch_per_s")),
                  single, fig(f.get("index_peak_rss_bytes"), 1 << 20), fig(f.get("disk_bytes"), 1 << 20),
                  _processes(e))
    return t


def _at_recall(item: dict[str, Any] | None) -> str:
    if not item or not item["n"]:
        return "not reached"
    return f"{fig(item)} ({item['reached_in']})"


def recall_table(anns: dict[str, Any]) -> Table:
    t = Table(title=f"QPS at recall@{anns['k']} ≥ target (interpolated on each process's frontier), "
                    "median [95 % CI]")
    t.add_column("engine")
    t.add_column("runs as")
    for n in anns["threads"]:
        for r in RECALLS:
            t.add_column(f"≥{r} {n}t")
    for name, e in anns["engines"].items():
        if e.get("qps_at_recall"):
            t.add_row(escape(name), escape(e.get("run_mode") or "?"),
                      *[_at_recall(e["qps_at_recall"].get(f"qps_at_recall_{r}_{n}t"))
                        for n in anns["threads"] for r in RECALLS])
    return t


def curve_table(name: str, e: dict[str, Any], threads: list[int]) -> Table:
    t = Table(title=escape(f"{name} [{e.get('run_mode')}, {e.get('version')}]: recall–QPS over "
                           f"{e.get('search_param') or 'its only setting'}; * = Pareto frontier "
                           f"({threads[-1]}t)"))
    for col in (e.get("search_param") or "setting", "recall", *[f"QPS {n}t" for n in threads],
                "p50 ms", "p95 ms", "p99 ms"):
        t.add_column(col)
    front = set(e.get("frontier", {}).get(str(threads[-1]), []))
    for c in e.get("curve", []):
        t.add_row(("*" if c["key"] in front else " ") + str(c["value"] if c["value"] is not None else "—"),
                  fig(c["recall"], digits=".4f"), *[fig(c["qps"][str(n)]) for n in threads],
                  fig(c["p50_ms"]), fig(c["p95_ms"]), fig(c["p99_ms"]))
    return t


def print_anns(console: Console, anns: dict[str, Any], curves: bool = True) -> None:
    s, d = anns["engine_settings"], anns["dataset"]
    console.print(f"[bold]{escape(d['name'])}[/] ({escape(d['source'])}, {d['metric']}, "
                  f"{d['n']} × {d['dim']}, "
                  f"{d['queries']} queries, k={anns['k']}); {anns['processes']} processes per engine, "
                  f"interleaved in random order; query threads {anns['threads']} pinned to CPUs "
                  f"{anns['cpus']}; build threads {s['build_threads']} on CPUs "
                  f"{anns.get('build_cpus', anns['cpus'])}")
    console.print(f"equal settings: HNSW M={s['hnsw_m']} efConstruction={s['hnsw_ef_construction']} "
                  f"ef sweep {s['ef_sweep']}; IVF nprobe sweep {s['nprobe_sweep']}; annoy n_trees="
                  f"{s['annoy_trees']} search_k sweep {s['search_k_sweep']}")
    print_table(console, build_table(anns))
    print_table(console, recall_table(anns))
    if curves:
        for name, e in anns["engines"].items():
            if e.get("curve"):
                print_table(console, curve_table(name, e, anns["threads"]))
    for name, e in anns["engines"].items():
        for note in e.get("notes", []):
            console.print(f"[yellow]{escape(name)}: {escape(note)}[/]")


def _inv(x: float) -> float:
    return 1.0 / x if x > 0 else float("inf")


def comparison_lines(a: str, b: str, rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        lo, hi = r["ci"]
        ci = f"[{lo:.2f}, {hi:.2f}]"
        n = f"n={r['n_a']}/{r['n_b']}, p={r['p']:.3g}"
        if r["verdict"] == "not comparable":
            out.append(f"{r['what']}: not comparable ({r['reason']})")
        elif r["verdict"] == "faster":
            out.append(f"{a} {r['what']} {r['factor']:.2f}× {r['better']} than {b} {ci} ({n})")
        elif r["verdict"] == "slower":
            out.append(f"{b} {r['what']} {1 / r['factor']:.2f}× {r['better']} than {a} "
                       f"[{_inv(hi):.2f}, {_inv(lo):.2f}] ({n})")
        else:
            out.append(f"{r['what']}: {r['verdict'].replace('change', 'difference')} "
                       f"({a}/{b} {r['factor']:.2f}× {ci}; {n})")
    return out
