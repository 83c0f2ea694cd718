"""`perflab report`: gather what the store holds (results and their stored analyses) and write one page.

The figures come from the analyses stored with each result; when a result carries none (an old or
imported one, or a tune trial, which stores its decision but not per-variant summaries) they are computed
now by the analysis package from the stored raw runs, and the page says so. ``perflab.report.html``
only lays them out.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perflab.analysis.benchmark import analyze, stored_or_fresh
from perflab.analysis.samples import WALL, samples
from perflab.analysis.warnings import environment_warnings
from perflab.errors import PerflabError
from perflab.report.html.model import ReportData, ResultView
from perflab.store.db import Store
from perflab.store.model import Benchmark

ALL_RESULTS = 1 << 62
#: kinds whose commands are timed benchmarks worth a history; at most this many histories on a page
HISTORY_KINDS = {"bench", "import", "suite"}
HISTORY_LIMIT = 30
#: kinds whose figures all live in the stored analysis: their runs are not timings of a command (crypto
#: batches, anns worker processes), so no per-command wall-time summary is made of them
FIGURES_ONLY = {"crypto", "anns"}
#: kinds that store a decision of their own instead of per-command summaries: the summaries behind
#: their distribution plots are computed now, and the page says so
OWN_ANALYSIS = {
    "tune-try": "per-variant summaries computed now from the stored runs (a trial stores its comparisons "
                "and decision, which are shown as stored)",
    "suite": "per-cell summaries (median with a bootstrap CI, outliers) computed now from the stored runs "
             "for these plots; the suite table shows the suite's stored analysis (order-statistics CIs)",
}


@dataclass
class ReportOutcome:
    path: Path
    bytes: int
    results: int
    sections: list[str]


def parse_since(text: str) -> datetime:
    """``2026-11-29`` or a full ISO 8601 time; a time without zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PerflabError(
            f"--since {text!r} is not a date (examples: 2026-11-29, 2026-11-29T15:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _suite_of(benchmark: Benchmark) -> str | None:
    suite = benchmark.settings.get("suite_name") or benchmark.settings.get("suite")
    if isinstance(suite, dict):
        suite = suite.get("name")
    return str(suite) if suite is not None else None


def select(store: Store, ids: Sequence[str] = (), suite: str | None = None,
           since: datetime | None = None) -> list[Benchmark]:
    """The results asked for (ids or baseline names; all when none), oldest first, then filtered."""
    if ids:
        chosen = [store.resolve(ref) for ref in ids]
    else:
        chosen = [store.get(row.id) for row in reversed(store.list(limit=ALL_RESULTS))]
    if suite is not None:
        chosen = [b for b in chosen if _suite_of(b) == suite]
        if not chosen:
            raise PerflabError(f"no stored result belongs to suite {suite!r} in {store.url}")
    if since is not None:
        chosen = [b for b in chosen if _moment(b.created_at) >= since]
    return chosen


def _emulated(benchmark: Benchmark) -> str | None:
    """Why the timings are emulated (a VM under TCG labels itself), or None."""
    label = benchmark.settings.get("label") or benchmark.analysis.get("label")
    if isinstance(label, str) and "emulat" in label.lower():
        reason = benchmark.settings.get("accel_reason")
        return f"{label}: {reason}" if reason else label
    for source in (benchmark.analysis, benchmark.settings):
        value = source.get("emulated")
        if value:
            return value if isinstance(value, str) else "timings measured under an emulator"
    return None


def _trial_comparisons(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """A tune trial's stored comparisons in the flat shape every section reads."""
    return [{"baseline": "baseline", "candidate": c.get("candidate"), "metric": c.get("metric"),
             "unit": c.get("unit"), **(c.get("comparison") or {})}
            for c in analysis.get("comparisons") or []]


def view_of(benchmark: Benchmark) -> ResultView:
    """One stored result with the figures its sections show."""
    if benchmark.kind in FIGURES_ONLY or not benchmark.commands:
        return ResultView(benchmark, [], [], environment_warnings(benchmark.environment),
                          benchmark.analysis, emulated=_emulated(benchmark))
    recomputed = None
    if benchmark.kind in OWN_ANALYSIS:
        fresh = analyze(benchmark)
        commands, warnings = fresh["commands"], fresh["warnings"]
        comparisons = _trial_comparisons(benchmark.analysis) if benchmark.kind == "tune-try" else []
        recomputed = OWN_ANALYSIS[benchmark.kind]
    else:
        analysis = stored_or_fresh(benchmark)
        if analysis is not benchmark.analysis:
            recomputed = "no analysis was stored with this result: figures computed now from its raw runs"
        commands, warnings = analysis["commands"], analysis.get("warnings") or []
        comparisons = list(analysis.get("comparisons") or [])
        comparisons += (analysis.get("baseline_comparison") or {}).get("comparisons") or []
    return ResultView(benchmark, commands, comparisons, warnings, benchmark.analysis,
                      samples=[samples(c, WALL) for c in benchmark.commands],
                      recomputed=recomputed, emulated=_emulated(benchmark))


def _scope(ids: Sequence[str], suite: str | None, since: str | None) -> str:
    parts = [f"results {', '.join(ids)}" if ids else "every stored result"]
    if suite:
        parts.append(f"suite {suite}")
    if since:
        parts.append(f"since {since}")
    return ", ".join(parts)


def gather(store: Store, ids: Sequence[str] = (), suite: str | None = None,
           since: str | None = None) -> ReportData:
    """Everything the page shows for this scope, read from the store."""
    chosen = select(store, ids, suite, parse_since(since) if since else None)
    extras: dict[str, Any] = {}
    if not ids and suite is None:  # these records belong to the whole store, not to a selection
        method = method_records(store, parse_since(since) if since else None)
        if method:
            extras["method"] = method
        history = history_records(store, chosen)
        if history:
            extras["history"] = history
    return ReportData(store_url=store.url, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                      scope=_scope(ids, suite, since), results=[view_of(b) for b in chosen], extras=extras)


def history_records(store: Store, results: Sequence[Benchmark]) -> list[dict[str, Any]]:
    """Every benchmark named in at least two of ``results`` (a command of a benchmark, or a suite's
    benchmark), across the whole store, with each result's median ± CI and the steps the history analysis
    finds; at most HISTORY_LIMIT benchmarks, the most often stored first."""
    from perflab.lab.history import benchmark_history

    seen: Counter[str] = Counter()
    for b in results:
        if b.kind in HISTORY_KINDS:
            seen.update({(c.parameters.get("benchmark") if b.kind == "suite" else None) or c.name
                         for c in b.commands})
    out = []
    for name, count in seen.most_common(HISTORY_LIMIT):
        if count < 2:
            break
        try:
            cells = [c for c in benchmark_history(store, name) if len(c.points) >= 2]
        except PerflabError:  # no run of it has wall times (all timed out, say): nothing to draw
            continue
        if cells:
            out.append({"name": name, "metric": "wall", "cells": [
                {"input": c.input, "variant": c.variant,
                 "points": [{"benchmark_id": p.benchmark_id, "created_at": p.created_at, "commit": p.commit,
                             "dirty": p.dirty, "n": s.n, "median": s.median, "ci": list(s.ci)}
                            for p, s in zip(c.points, c.summaries, strict=True)],
                 "steps": [{"index": st.index, "ratio": st.ratio, "p_adjusted": st.p_adjusted}
                           for st in c.steps]} for c in cells]})
    return out


def method_records(store: Store, since: datetime | None = None) -> dict[str, Any] | None:
    """Ideas (with tier and last verdict) and experiments (with their decision), or None when the store
    holds neither."""
    from perflab.lab.ideas import views
    from perflab.store.method import MethodRecords

    records = MethodRecords(store)
    ideas = [v.to_dict() for v in views(records)]
    experiments = records.experiments()
    if since is not None:
        experiments = [e for e in experiments if _moment(e.created_at) >= since]
    if not ideas and not experiments:
        return None
    titles = {i["id"]: i["title"] for i in ideas}
    return {"ideas": ideas, "experiments": [
        {"id": e.id, "idea_id": e.idea_id, "idea": titles.get(e.idea_id, f"idea {e.idea_id}"),
         "state": e.state, "verdict": e.verdict, "created_at": e.created_at, "updated_at": e.updated_at,
         "decision": e.record.get("decision"),
         "baseline_id": (e.record.get("baseline") or {}).get("benchmark_id"),
         "candidate_id": (e.record.get("candidate") or {}).get("benchmark_id")} for e in experiments]}


def write_report(output: str | os.PathLike[str], *, db: str | None = None, ids: Sequence[str] = (),
                 suite: str | None = None, since: str | None = None) -> ReportOutcome:
    """Read the store, render the page and write it atomically (all of it or nothing)."""
    from perflab.report.export.base import atomic_write
    from perflab.report.html import render_page

    _check_extra()
    target = Path(output)
    if target.is_dir():
        raise PerflabError(f"{target} is a directory: give a file name for the report, e.g. -o report.html")
    with Store.open(db) as store:
        data = gather(store, ids, suite, since)
    page = render_page(data)
    encoded = page.html.encode()
    atomic_write(target, encoded)
    return ReportOutcome(target, len(encoded), len(data.results), page.sections)


def _check_extra() -> None:
    """The page needs the ``report`` extra; say so in one line instead of a traceback."""
    import importlib.util

    missing = [m for m in ("jinja2", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise PerflabError(f"perflab report needs {' and '.join(missing)}: pip install 'perflab[report]'")


def open_in_browser(path: Path) -> str | None:
    """Open the page in the user's browser; returns why it could not, or None."""
    import webbrowser

    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error as error:
        return f"could not open a browser: {error}"
    return None if opened else "no browser found to open it (open the file yourself)"
