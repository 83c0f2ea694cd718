"""Every output of a benchmark result is a reporter: ``report(outcome)`` for a ``BenchOutcome``.

The library session (``perflab.lab.bench_session``) hands the stored, analysed result to each reporter
in order; the CLI chooses which ones from its flags. Formats live in ``report.export`` (files) and
``report.terminal`` (tables); this module only connects them to the session.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from perflab.lab.bench_session import BenchOutcome


class TerminalReporter:
    """The results table, verdicts and warnings (and the baseline comparison) on a rich console.

    ``time_unit`` fixes the table's unit (hyperfine's ``-u``); ``sort="median"`` puts the fastest first."""

    def __init__(self, console: Console, *, time_unit: tuple[float, str] | None = None,
                 sort: str = "command") -> None:
        self.console = console
        self.time_unit = time_unit
        self.sort = sort

    def report(self, outcome: BenchOutcome) -> None:
        from perflab.report.terminal import print_benchmark, print_comparison

        print_benchmark(self.console, outcome.benchmark, outcome.benchmark.analysis, time_unit=self.time_unit,
                        sort=self.sort)
        if outcome.comparison is not None:
            self.console.print()
            print_comparison(self.console, outcome.comparison)


class JsonReporter:
    """perflab's full result (raw runs, environment, analysis) as JSON on a stream (stdout)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def report(self, outcome: BenchOutcome) -> None:
        from perflab.store.jsonio import json_safe

        stream = self.stream or sys.stdout
        stream.write(json.dumps(json_safe(outcome.benchmark.to_dict()), indent=2) + "\n")
        stream.flush()


class FileReporter:
    """One export: ``json`` (hyperfine's schema), ``markdown``, ``asciidoc``, ``orgmode``, ``csv`` or
    ``perflab``; written atomically, or to stdout for ``-``. ``where`` says where it went."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, *, time_unit: tuple[float, str] | None = None,
                 sort: str = "command") -> None:
        self.path = path
        self.fmt = fmt
        self.view = {"time_unit": time_unit, "sort": sort}
        self.where: str | None = None

    def report(self, outcome: BenchOutcome) -> None:
        from perflab.report.export import export_benchmark

        self.where = export_benchmark(outcome.benchmark, self.path, self.fmt, **self.view)


def export_reporters(exports: list[tuple[Any, str]], *, time_unit: tuple[float, str] | None = None,
                     sort: str = "command") -> list[FileReporter]:
    """FileReporters for the (path, format) pairs whose path is given."""
    return [FileReporter(path, fmt, time_unit=time_unit, sort=sort)
            for path, fmt in exports if path is not None]
