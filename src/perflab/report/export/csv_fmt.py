"""CSV in hyperfine's column layout (seconds), plus perflab's uncertainty columns before parameters."""

from __future__ import annotations

import csv
import io
from typing import Any

from perflab.report.export.hyperfine_json import hyperfine_result
from perflab.store.model import Benchmark

HYPERFINE_COLUMNS = ["command", "mean", "stddev", "median", "user", "system", "min", "max"]
EXTRA_COLUMNS = ["median_ci_low", "median_ci_high", "confidence", "runs", "peak_rss_median_bytes"]


class CsvExporter:
    name = "csv"
    extension = ".csv"

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes:
        params = sorted({k for c in benchmark.commands for k in c.parameters})
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(HYPERFINE_COLUMNS + EXTRA_COLUMNS + [f"parameter_{p}" for p in params])
        for command, summary in zip(benchmark.commands, analysis["commands"], strict=True):
            entry = hyperfine_result(command)
            row: list[Any] = [entry[k] if entry[k] is not None else "" for k in HYPERFINE_COLUMNS]
            wall = summary["wall"]
            lo, hi = wall["median_ci"]
            rss = summary.get("peak_rss", {}).get("median")
            row += ["" if lo is None else lo, "" if hi is None else hi, wall["confidence"], len(command.runs),
                    "" if rss is None else int(rss)]
            row += [command.parameters.get(p, "") for p in params]
            writer.writerow(row)
        return buf.getvalue().encode()
