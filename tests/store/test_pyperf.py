"""pyperf's JSON read into a Benchmark: a real pyperf 2.11 suite (``python -m pyperf timeit`` ×2, joined
with ``pyperf.BenchmarkSuite``), in tests/store/data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.store.jsonio import import_result_file, load_result_file
from perflab.store.pyperf_json import parse_pyperf

SUITE = Path(__file__).parent / "data" / "pyperf-2.11-suite.json"


def test_a_real_pyperf_suite_imports_every_value_in_seconds() -> None:
    raw = json.loads(SUITE.read_text())
    bench = load_result_file(SUITE)
    assert [c.name for c in bench.commands] == ["sum range", "sum list"]
    for command, entry in zip(bench.commands, raw["benchmarks"], strict=True):
        values = [v for run in entry["runs"] for v in run.get("values", [])]
        assert [r.wall_s for r in command.runs] == pytest.approx(values, abs=1e-9)
        assert command.warmup_runs == sum(len(run.get("warmups", [])) for run in entry["runs"])
        assert "mean time of one loop iteration over 100 loops" in command.notes[0]
    assert bench.kind == "import" and bench.settings["imported_from"] == "pyperf"
    assert bench.settings["per_run_cpu_times"] is False
    assert len(import_result_file(SUITE).settings["source_sha256"]) == 64


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["metadata"].update(unit="byte"), "unit 'byte' is not a time"),
    (lambda d: d["benchmarks"][0]["runs"][1]["values"].__setitem__(0, "x"), r"runs\[1\]\.values\[0\]"),
    (lambda d: d.update(benchmarks=[]), "'benchmarks' is empty"),
    (lambda d: [r.pop("values", None) for r in d["benchmarks"][1]["runs"]], "no run has values"),
])
def test_bad_pyperf_files_name_the_place(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(SUITE.read_text())
    change(data)
    with pytest.raises(PerflabError, match=message):
        parse_pyperf(data, "p.json")
