"""`perflab results/show/compare/import` against a real SQLite file.

Most calls run in-process through typer's CliRunner (each perflab subprocess pays ~2 s of scipy and
SQLAlchemy imports on a loaded CI box); the error-path test runs the real ``python -m perflab`` to check
the one-line message and the exit code the CLI root produces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import perflab
from perflab.cli import results
from perflab.errors import PerflabError
from perflab.store.db import Store
from perflab.store.model import Benchmark
from tests.report.helpers import synthetic

HF = Path(__file__).parents[1] / "report" / "data" / "hyperfine-1.15.json"


def perflab_process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(perflab.__file__).parents[1]), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True, env=env,
                          timeout=60)


APP = typer.Typer()
results.register(APP)


class Outcome:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def perflab_cli(*args: str) -> Outcome:
    """In-process run; a PerflabError becomes what the CLI root prints (checked for real below)."""
    result = CliRunner().invoke(APP, list(args), env={"COLUMNS": "200"})
    error = result.exception
    if isinstance(error, PerflabError):
        return Outcome(error.exit_code, result.stdout, f"perflab: error: {error.message}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, "")


def stored(*commands, created="2026-11-23T00:00:00+00:00") -> int:  # type: ignore[no-untyped-def]
    with Store.open() as store:
        return store.save(Benchmark(commands=list(commands), created_at=created))


def test_import_list_show_compare_hyperfine_file() -> None:
    out = perflab_cli("import", str(HF), "--save-baseline", "hf")
    assert out.returncode == 0, out.stderr
    assert "2 command(s), 10 runs → #1" in out.stdout
    listing = perflab_cli("results")
    assert "sleep 0.001" in listing.stdout and "import" in listing.stdout and "hf" in listing.stdout
    rows = json.loads(perflab_cli("results", "--json").stdout)
    assert rows[0]["id"] == 1 and rows[0]["runs"] == 10 and rows[0]["baselines"] == ["hf"]
    show = perflab_cli("show", "hf")
    assert show.returncode == 0, show.stderr
    assert "Raw samples" in show.stdout and "(mean only: no per-run values, no CI)" in show.stdout
    assert "→ " in show.stdout  # the verdict line between the two commands
    shown = json.loads(perflab_cli("show", "1", "--json").stdout)
    assert shown["analysis"]["commands"][0]["wall"]["n"] == 5
    # compare a stored id against the JSON file it came from: same samples → no change claimed
    cmp = json.loads(perflab_cli("compare", "1", str(HF), "--json").stdout)
    assert [c["ratio"] for c in cmp["comparisons"]] == [1.0, 1.0]
    assert all(c["verdict"] in ("no significant change", "inconclusive") for c in cmp["comparisons"])


def test_compare_verdict_metric_alpha_noise() -> None:
    a = stored(synthetic("A", 0.010, 20, seed=1, metric=100.0))
    b = stored(synthetic("A", 0.013, 20, seed=2, metric=100.0))
    out = perflab_cli("compare", str(a), str(b))
    assert out.returncode == 0, out.stderr
    assert "A (B) is 1.3" in out.stdout and "× slower than A (A) (B/A 1." in out.stdout
    assert "→ slower" in out.stdout and "(Holm)" in out.stdout  # wall and ops: a family of two
    only = json.loads(perflab_cli("compare", str(a), str(b), "--metric", "ops", "--json").stdout)
    assert [c["metric"] for c in only["comparisons"]] == ["ops"]
    assert only["comparisons"][0]["verdict"] == "slower" and only["comparisons"][0]["higher_is_better"]
    wide = json.loads(perflab_cli("compare", str(a), str(b), "--metric", "wall", "--noise", "0.5",
                                  "--json").stdout)
    assert wide["comparisons"][0]["verdict"] == "no significant change"  # a 30 % change inside ±50 %
    bad = perflab_cli("compare", str(a), str(b), "--alpha", "2")
    assert bad.returncode == 1 and "alpha must be between 0 and 1" in bad.stderr


def test_malformed_import_is_a_clear_error_and_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [\n  {"command": "x", "times": [0.1,]}\n]}\n')
    out = perflab_process("import", str(bad))  # the real executable: message and exit code
    assert out.returncode == 1
    assert out.stderr.strip() == f"perflab: error: {bad}:2:34: invalid JSON: Expecting value"
    assert "Traceback" not in out.stderr and out.stdout == ""
    missing = tmp_path / "missing.json"
    missing.write_text('{"results": [{"command": "x"}]}')
    out = perflab_cli("import", str(missing))
    assert out.returncode == 1 and "results[0]: missing field 'times'" in out.stderr
    assert json.loads(perflab_cli("results", "--json").stdout) == []


def test_unknown_ids_and_db_option(tmp_path: Path) -> None:
    out = perflab_cli("show", "42")
    assert out.returncode == 1 and "no benchmark with id 42" in out.stderr
    out = perflab_cli("compare", "nope", "1")
    assert out.returncode == 1 and "'nope' is neither a benchmark id" in out.stderr
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert perflab_cli("import", str(HF), "--db", url).returncode == 0
    assert json.loads(perflab_cli("results", "--db", url, "--json").stdout)[0]["runs"] == 10
    assert json.loads(perflab_cli("results", "--json").stdout) == []  # the default store is untouched
    out = perflab_cli("results", "--db", "notaurl")
    assert out.returncode == 1 and "invalid database URL" in out.stderr


def test_show_reports_uncertainty_and_environment() -> None:
    from perflab.env.capture import capture_environment

    with Store.open() as store:
        bench = Benchmark(commands=[synthetic("A", 0.01, 12, seed=1)], created_at="t",
                          environment=capture_environment())
        bid = store.save(bench)
    out = perflab_cli("show", str(bid))
    assert out.returncode == 0, out.stderr
    assert "Median [95% CI]" in out.stdout and " ± " in out.stdout
    assert "VM: yes" in out.stdout and "container: no" in out.stdout


def test_compare_of_different_commands_needs_force() -> None:
    a = stored(synthetic("gzip", 0.010, 20, seed=1))
    b = stored(synthetic("zstd", 0.006, 20, seed=2))
    refused = perflab_cli("compare", str(a), str(b))
    assert refused.returncode == 1 and "--force" in refused.stderr and "\n" not in refused.stderr
    forced = perflab_cli("compare", str(a), str(b), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "zstd (B) is 1." in forced.stdout and "gzip (A) (forced: a different command)" in forced.stdout
    twice = [perflab_cli("compare", str(a), str(b), "--force", "--json").stdout for _ in range(2)]
    assert twice[0] == twice[1]  # the same stored data prints the same figures


def test_import_json_duplicate_warning_pyperf_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(APP, ["import", str(HF), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {
        "id": 1, "file": str(HF), "format": "hyperfine", "commands": ["sleep 0.001", "sleep 0.002"],
        "runs": 10, "store": json.loads(first.stdout)["store"], "baseline": None, "imported_before_as": []}
    again = runner.invoke(APP, ["import", str(HF)])
    assert again.exit_code == 0 and "was imported before as #1 (same content); imported again as #2" in \
        again.stderr
    suite = Path(__file__).parents[1] / "store" / "data" / "pyperf-2.11-suite.json"
    pyperf = runner.invoke(APP, ["import", str(suite)])
    assert pyperf.exit_code == 0 and "(pyperf): 2 command(s), 40 runs → #3" in pyperf.stdout
    # re-export stored results: hyperfine's schema from an id, to a file and to stdout
    out = tmp_path / "again.json"
    exported = runner.invoke(APP, ["export", "1", "--format", "hyperfine", "-o", str(out)])
    assert exported.exit_code == 0 and f"written to {out}" in exported.stderr
    original = json.loads(HF.read_text())["results"]
    again_times = [r["times"] for r in json.loads(out.read_text())["results"]]
    original_times = [r["times"] for r in original]
    assert len(again_times) == 2 and all(  # stored in whole ns: equal to the ns
        a == pytest.approx(b, abs=1e-9) for a, b in zip(again_times, original_times, strict=True))
    md = runner.invoke(APP, ["export", "3", "--format", "markdown"])
    assert md.exit_code == 0 and md.stdout.startswith("| Command") and "`sum list`" in md.stdout
    own = json.loads(runner.invoke(APP, ["export", "1"]).stdout)
    assert own["id"] == 1 and own["analysis"]["commands"][0]["wall"]["n"] == 5
    bad = runner.invoke(APP, ["export", "1", "--format", "xml"])
    assert bad.exit_code != 0 and "--format xml: choose from json, hyperfine" in str(bad.exception)


def test_results_list_keeps_timestamps_whole_at_80_columns() -> None:
    """Observed in a pipe: timestamps split over two lines."""
    stored(synthetic("a command with a long name --and --many --flags", 0.01, 5, seed=1),
           synthetic("another command with a long name", 0.01, 5, seed=2),
           created="2026-11-23T00:00:00+00:00")
    out = CliRunner().invoke(APP, ["results"], env={"COLUMNS": "80"}).stdout
    assert "2026-11-23T00:00:00+00:00" in out and max(len(line) for line in out.splitlines()) <= 80
