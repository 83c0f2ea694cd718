"""Exports: one module per format behind the ``Exporter`` interface (hyperfine's src/export layout).

``json`` is hyperfine's schema exactly; ``markdown``, ``asciidoc``, ``orgmode`` and ``csv`` follow
hyperfine's layout and add the uncertainty perflab computes; ``perflab`` is perflab's own full result
(raw runs, environment). The target ``-`` is standard output, as in hyperfine ≥ 1.16.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from perflab.errors import PerflabError
from perflab.report.export.base import Exporter, atomic_write
from perflab.report.export.csv_fmt import CsvExporter
from perflab.report.export.hyperfine_json import (
    HyperfineJsonExporter,
    hyperfine_result,
    import_hyperfine_json,
)
from perflab.report.export.markup import AsciidocExporter, MarkdownExporter, MarkupTable, OrgmodeExporter
from perflab.store.model import Benchmark


class PerflabJsonExporter:
    name = "perflab"
    extension = ".json"

    def serialize(self, benchmark: Benchmark, analysis: dict[str, Any]) -> bytes:
        data = benchmark.to_dict()
        data["analysis"] = analysis
        return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


EXPORTERS: dict[str, Exporter] = {
    e.name: e for e in (HyperfineJsonExporter(), MarkdownExporter(), AsciidocExporter(), OrgmodeExporter(),
                        CsvExporter(), PerflabJsonExporter())
}
STDOUT = "-"


def render(benchmark: Benchmark, fmt: str, analysis: dict[str, Any] | None = None, *,
           time_unit: tuple[float, str] | None = None, sort: str = "command") -> bytes:
    """The bytes of one format (a key of ``EXPORTERS``); the tables take hyperfine's ``-u`` and
    ``--sort`` (JSON and CSV stay in seconds and command order, as hyperfine's)."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise PerflabError(f"unknown export format {fmt!r} (choose from {', '.join(EXPORTERS)})")
    if analysis is None:
        from perflab.analysis.benchmark import stored_or_fresh

        analysis = stored_or_fresh(benchmark)
    if isinstance(exporter, MarkupTable):
        return exporter.serialize(benchmark, analysis, time_unit=time_unit, sort=sort)
    return exporter.serialize(benchmark, analysis)


def export_benchmark(
    benchmark: Benchmark, path: str | os.PathLike[str], fmt: str, analysis: dict[str, Any] | None = None, *,
    time_unit: tuple[float, str] | None = None, sort: str = "command",
) -> str:
    """Write one export atomically (temp file + fsync + rename), or to standard output for ``-``.

    Returns where it went (``stdout`` or the path), for the caller to tell the user."""
    data = render(benchmark, fmt, analysis, time_unit=time_unit, sort=sort)
    if os.fspath(path) == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return "stdout"
    atomic_write(path, data)
    return os.fspath(path)


__all__ = [
    "EXPORTERS",
    "STDOUT",
    "Exporter",
    "atomic_write",
    "export_benchmark",
    "hyperfine_result",
    "import_hyperfine_json",
    "render",
]
