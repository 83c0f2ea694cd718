"""hyperfine's ``--export-json`` schema, exactly, so tools written for hyperfine read perflab's output.

Field semantics follow hyperfine's ``BenchmarkResult``: times in seconds; ``stddev`` is the sample
standard deviation and ``null`` for a single run; ``user``/``system`` are mean CPU seconds;
``memory_usage_byte`` and ``exit_codes`` have one entry per run (``null`` exit code = killed by a
signal); ``memory_usage_byte`` is omitted when any run's memory is unknown and ``parameters`` when there
are none, as hyperfine does. Every run is exported, as hyperfine exports every invocation. ``command``
holds the benchmark's name (``--name`` when given), as hyperfine writes ``get_name()`` there: tools that
match results across files by ``command`` (plot_benchmark_comparison) see the names the user chose.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.store.jsonio import load_json, parse_hyperfine
from perflab.store.model import Benchmark, CommandResult


def hyperfine_result(command: CommandResult) -> dict[str, Any]:
    """One entry of hyperfine's ``results`` list."""
    if not command.runs:
        raise PerflabError(f"cannot export {command.name!r} in hyperfine's schema: it has no runs")
    times = [r.wall_s for r in command.runs]
    n = len(times)
    entry: dict[str, Any] = {
        "command": command.name,
        "mean": statistics.fmean(times),
        "stddev": statistics.stdev(times) if n > 1 else None,
        "median": statistics.median(times),
        "user": statistics.fmean(r.user_s for r in command.runs),
        "system": statistics.fmean(r.sys_s for r in command.runs),
        "min": min(times),
        "max": max(times),
        "times": times,
    }
    memory = [r.peak_rss_bytes for r in command.runs]
    if all(m is not None for m in memory):
        entry["memory_usage_byte"] = memory
    entry["exit_codes"] = [r.exit_code for r in command.runs]
    if command.parameters:
        entry["parameters"] = dict(sorted(command.parameters.items()))
    return entry


class HyperfineJsonExporter:
    name = "json"
    extension = ".json"

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes:
        doc = {"results": [hyperfine_result(c) for c in benchmark.commands]}
        return (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode()


def import_hyperfine_json(path: str | Path) -> Benchmark:
    """Read a hyperfine ``--export-json`` file; malformed input → PerflabError naming file and line."""
    return parse_hyperfine(load_json(path), path)
