"""The JSON contract hyperfine's own ``scripts/`` rely on, checked on perflab's ``--export-json`` output.

Written from reading sharkdp/hyperfine's scripts (not vendored). What each one reads from
``json.load(f)["results"]``:

- advanced_statistics.py: ``command`` (str), ``times`` (seconds; np.percentile/np.std(ddof=1)/np.median,
  scaled ×1000 for ``--time-unit millisecond``).
- plot_benchmark_comparison.py: per file, the list of ``command`` must be *equal* across files (assert);
  ``mean`` (seconds, ``round(mean, 2)``).
- plot_histogram.py: ``command`` (legend), ``times`` (np.min/np.max for the range; seconds).
- plot_parametrized.py: ``parameters`` (a dict with exactly one entry whose value ``float()`` parses),
  ``mean`` and ``stddev`` (seconds, used as error bars), all files sharing one parameter name.
- plot_progression.py: ``command``, ``times`` (in run order).
- plot_whisker.py: ``command``, ``times``, ``median`` (``--sort-by median``).
- welch_ttest.py: exactly two results; ``command``, ``times``.

The same checker runs on a real hyperfine 1.15 export (tests/report/data), so the contract is hyperfine's.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cli.test_bench_cli import cli

HYPERFINE_EXPORT = Path(__file__).parent / "data" / "hyperfine-1.15.json"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_contract(doc: Any) -> list[dict[str, Any]]:
    """Every field, type and unit the scripts read; returns the results list."""
    assert isinstance(doc, dict) and isinstance(doc["results"], list) and doc["results"]
    for entry in doc["results"]:
        assert isinstance(entry["command"], str) and entry["command"]
        times = entry["times"]
        assert isinstance(times, list) and times and all(_is_number(t) and t >= 0 for t in times)
        # seconds, and the summary fields are those of `times` (advanced_statistics recomputes them)
        for key in ("mean", "median", "min", "max"):
            assert _is_number(entry[key]), key
        assert entry["mean"] == pytest.approx(statistics.fmean(times), rel=1e-9)
        assert entry["median"] == pytest.approx(float(np.median(times)), rel=1e-9)
        assert (entry["min"], entry["max"]) == (min(times), max(times))
        if len(times) > 1:
            assert entry["stddev"] == pytest.approx(float(np.std(times, ddof=1)), rel=1e-9)
        else:
            assert entry["stddev"] is None  # hyperfine writes null for a single run
        for key in ("user", "system"):
            assert _is_number(entry[key]) and entry[key] >= 0, key
        assert len(entry["exit_codes"]) == len(times)
        params = entry.get("parameters", {})
        assert isinstance(params, dict) and all(isinstance(v, str) for v in params.values())
    return doc["results"]


def check_parametrized(results: list[dict[str, Any]]) -> list[float]:
    """plot_parametrized.py: exactly one parameter per result, one name for all, float() of its value."""
    names = set()
    values = []
    for entry in results:
        [(name, value)] = entry["parameters"].items()
        names.add(name)
        values.append(float(value))
    assert len(names) == 1
    return values


def test_the_checker_accepts_a_real_hyperfine_export() -> None:
    results = check_contract(json.loads(HYPERFINE_EXPORT.read_text()))
    assert check_parametrized(results) == [1.0, 2.0]


def test_perflab_export_meets_every_scripts_contract(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    scan = tmp_path / "scan.json"
    code, _, err = cli(capsys, "bench", "--runs", "3", "--warmup", "0", "-q", "-P", "t", "0", "0.002",
                       "-D", "0.001", "sleep {t}", "--export-json", str(scan))
    assert code == 0, err
    results = check_contract(json.loads(scan.read_text()))
    assert check_parametrized(results) == [0.0, 0.001, 0.002]
    assert [r["command"] for r in results] == ["sleep 0", "sleep 0.001", "sleep 0.002"]
    # times are seconds: `sleep 0.002` cannot take less than 2 ms, nor (on any box) 2000 s
    assert all(0.002 <= t < 60 for t in results[2]["times"])

    pair = tmp_path / "pair.json"
    code, _, err = cli(capsys, "bench", "--runs", "1", "--warmup", "0", "-q", "-n", "fast", "-n", "slow",
                       "true", "sleep 0.001", "--export-json", str(pair))
    assert code == 0, err
    two = check_contract(json.loads(pair.read_text()))
    assert len(two) == 2  # welch_ttest.py needs exactly two
    assert [r["command"] for r in two] == ["fast", "slow"]  # the names: files pair up by name


def test_plot_benchmark_comparison_pairs_a_named_perflab_run_with_a_named_hyperfine_run(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Observed: ``hyperfine -n A`` writes command "A", perflab wrote the command line, so the script's
    ``assert commands == benchmark_commands`` failed on a mixed pair."""
    hyperfine_like = {"results": [dict(json.loads(HYPERFINE_EXPORT.read_text())["results"][0], command="A")]}
    ours = tmp_path / "ours.json"
    code, _, err = cli(capsys, "bench", "--runs", "2", "--warmup", "0", "-q", "-n", "A", "sleep 0.001",
                       "--export-json", str(ours))
    assert code == 0, err
    files = [hyperfine_like, json.loads(ours.read_text())]
    commands = [[b["command"] for b in check_contract(doc)] for doc in files]
    assert commands[0] == commands[1]
    assert all(isinstance(round(b["mean"], 2), float) for doc in files for b in doc["results"])
