"""Suites on real processes and the real store: variants by env, template, git revision and in-process
callables; the stored table recomputed by hand from the stored samples. Nothing asserts a timing."""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from perflab.analysis.suite import Cell, analyze_suite
from perflab.errors import PerflabError
from perflab.lab.suite import SuiteRunOptions, run_suite, suite_cells
from perflab.lab.suite_file import load_suite
from perflab.store.db import Store

HERE = Path(__file__).parent


def suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "perflab.toml"
    path.write_text(text)
    return path


ENV_TEMPLATE = """\
[suite]
runs = 6
warmup = 1
seed = 5
metrics = ["wall", "mode"]
primary = "wall"

[[metric]]
name = "mode"
regex = "mode=([0-9]+)"
direction = "lower"

[[benchmark]]
name = "echo"
command = "sh -c 'echo mode=$MODE{extra}'"

[[variant]]
name = "one"
env = { MODE = "1" }
vars = { extra = "" }

[[variant]]
name = "two"
env = { MODE = "2" }
vars = { extra = "" }
template = "nice -n 1 {command}"
"""


def test_env_and_template_variants_reach_their_runs(tmp_path: Path) -> None:
    store = Store.open()
    outcome = run_suite(load_suite(suite(tmp_path, ENV_TEMPLATE)), SuiteRunOptions(), store)
    bench = store.get(outcome.suite_id)
    assert bench.kind == "suite" and bench.status == "complete"
    cells = {c.parameters["variant"]: c for c in bench.commands}
    assert {r.metrics["mode"] for r in cells["one"].runs} == {1.0}
    assert {r.metrics["mode"] for r in cells["two"].runs} == {2.0}
    assert cells["two"].argv[:3] == ["nice", "-n", "1"] and cells["one"].argv[0] == "sh"
    assert all(len(c.runs) == 6 and c.warmup_runs == 1 for c in cells.values())
    # interleaved: within every block each variant ran exactly once
    for block in range(6):
        assert sorted(r.variant for c in cells.values() for r in c.runs if r.block == block) == ["one", "two"]
    row = bench.analysis["rows"][0]
    mode = row["speedups"]["two"]["mode"]
    assert mode["speedup"] == pytest.approx(0.5) and mode["verdict"] == "slower"  # 2 vs 1: exact, no noise


def test_totals_and_geomean_equal_hand_computation_from_stored_samples() -> None:
    rng = np.random.default_rng(11)
    cells = []
    for b in ("a", "b", "c"):
        base = rng.uniform(0.01, 0.1)
        cells.append(Cell(b, "-", "ref", {"wall": list(base * rng.lognormal(0, 0.02, 12))}))
        cells.append(Cell(b, "-", "new", {"wall": list(0.8 * base * rng.lognormal(0, 0.02, 12))}))
    table = analyze_suite(
        cells, variants=["ref", "new"], reference="ref", metrics=["wall"], higher_is_better={}, seed=3
    )
    med = {(c.benchmark, c.variant): float(np.median(c.samples["wall"])) for c in cells}
    totals = table["totals"]["wall"]
    for v in ("ref", "new"):
        assert totals["sum"][v]["value"] == pytest.approx(sum(med[(b, v)] for b in "abc"))
        lo, hi = totals["sum"][v]["ci"]
        assert lo <= totals["sum"][v]["value"] <= hi
    speedups = [med[(b, "ref")] / med[(b, "new")] for b in "abc"]
    geo = math.exp(sum(map(math.log, speedups)) / 3)
    assert totals["geomean_speedup"]["new"]["value"] == pytest.approx(geo)
    assert totals["total_speedup"]["new"]["value"] == pytest.approx(
        sum(med[(b, "ref")] for b in "abc") / sum(med[(b, "new")] for b in "abc")
    )
    lo, hi = totals["geomean_speedup"]["new"]["ci"]
    assert lo <= geo <= hi
    # Holm across the suite: the family is all three rows; each adjusted p is at least its raw p
    rows = [r["speedups"]["new"]["wall"] for r in table["rows"]]
    assert table["family_sizes"] == {"wall": 3}
    assert all(r["p_adjusted"] >= r["p_value"] for r in rows) and all(r["verdict"] == "faster" for r in rows)
    ordered = sorted(r["p_value"] for r in rows)
    assert min(r["p_adjusted"] for r in rows) == pytest.approx(min(1.0, 3 * ordered[0]))


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def test_git_revision_variants_build_in_private_worktrees(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for version in (1, 2):
        (repo / "prog.in").write_text(f"#!/bin/sh\necho version={version}\n")
        git(repo, "add", "prog.in")
        git(repo, "commit", "-q", "-m", f"v{version}")
    (repo / "prog.in").write_text("#!/bin/sh\necho version=99\n")  # uncommitted work: must stay untouched
    text = """\
[suite]
runs = 3
warmup = 0
metrics = ["version"]

[[metric]]
name = "version"
regex = "version=([0-9]+)"

[[benchmark]]
name = "prog"
command = "./prog"

[[variant]]
name = "old"
rev = "HEAD~1"
build = "sh -c 'cp prog.in prog && chmod +x prog'"
repo = "repo"

[[variant]]
name = "new"
rev = "main"
build = "sh -c 'cp prog.in prog && chmod +x prog'"
repo = "repo"
"""
    store = Store.open()
    outcome = run_suite(load_suite(suite(tmp_path, text)), SuiteRunOptions(seed=1), store)
    bench = store.get(outcome.suite_id)
    versions = {c.parameters["variant"]: {r.metrics["version"] for r in c.runs} for c in bench.commands}
    assert versions == {"old": {1.0}, "new": {2.0}}
    assert bench.settings["revisions"]["new"] == git(repo, "rev-parse", "main").strip()
    assert (repo / "prog.in").read_text().endswith("version=99\n") and not (repo / "prog").exists()
    assert git(repo, "worktree", "list").count("\n") == 1  # the private worktrees are gone


def test_an_unknown_git_revision_is_one_line_naming_the_variant(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("x")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "one")
    text = """\
[[benchmark]]
name = "t"
command = "true"

[[variant]]
name = "base"

[[variant]]
name = "ghost"
rev = "no-such-branch"
repo = "repo"
"""
    with pytest.raises(PerflabError, match="variant 'ghost': revision 'no-such-branch': no such commit"):
        run_suite(load_suite(suite(tmp_path, text)), SuiteRunOptions(seed=1), Store.open())
    assert git(repo, "worktree", "list").count("\n") == 1


def test_callable_benchmark_is_calibrated_and_per_call(tmp_path: Path) -> None:
    text = f"""\
[suite]
runs = 4
warmup = 1

[[benchmark]]
name = "sum"
callable = "suite_callables:env_sized"
path = "{HERE}"

[[variant]]
name = "small"
env = {{ SUITE_WORK = "100" }}

[[variant]]
name = "large"
env = {{ SUITE_WORK = "5000" }}
"""
    store = Store.open()
    outcome = run_suite(load_suite(suite(tmp_path, text)), SuiteRunOptions(seed=2), store)
    bench = store.get(outcome.suite_id)
    assert "SUITE_WORK" not in os.environ  # restored after every block
    for c in bench.commands:
        for r in c.runs:
            n = int(r.metrics["iterations"])
            assert n >= 1 and n & (n - 1) == 0  # a power of two, from the calibration
            assert r.metrics["per_call_s"] == pytest.approx(r.wall_ns / 1e9 / r.metrics["iterations"])
    cells = {c.variant: c for c in suite_cells(bench)}
    assert cells["small"].samples["wall"] == [r.metrics["per_call_s"] for r in bench.commands[0].runs]


def test_filter_and_variant_selection(tmp_path: Path) -> None:
    spec = load_suite(suite(tmp_path, ENV_TEMPLATE))
    with pytest.raises(Exception, match="matches no benchmark"):
        run_suite(spec, SuiteRunOptions(filter="^nothing$"), Store.open())
    with pytest.raises(Exception, match="no variant named 'three'"):
        run_suite(spec, SuiteRunOptions(variants=["three"]), Store.open())


def test_calibration_stops_once_a_loop_lasts_10_ms() -> None:
    """A call that sleeps 1 ms: 16 calls last at least 16 ms, so calibration never goes past 16 (the
    only bound that holds under any load: a sleep is never shorter than asked)."""
    import time

    from perflab.bench.inprocess import calibrate

    n = calibrate(time.sleep, (0.001,))
    assert 1 <= n <= 16 and n & (n - 1) == 0


def adaptive_suite(bounded: str, early: str) -> str:
    """Two benchmarks (given as their command or callable lines) × two variants with adaptive run counts."""
    return f"""\
[suite]
warmup = 1
seed = 3

[[benchmark]]
name = "bounded"
{bounded}
min-runs = 3
max-runs = 6

[[benchmark]]
name = "early"
{early}
min-runs = 3
max-time = 0.001

[[variant]]
name = "a"

[[variant]]
name = "b"
env = {{ X = "1", SUITE_WORK = "300" }}
"""


class Planned:
    """A SuiteObserver that checks the planned total against the runs made."""

    def __init__(self) -> None:
        self.total = self.advanced = 0

    def start(self, total_runs: int) -> None:
        self.total = total_runs

    def advance(self, cell: str) -> None:
        self.advanced += 1

    def unplanned(self, runs: int) -> None:
        self.total -= runs


@pytest.mark.parametrize(("bounded", "early"), [
    ('command = "true"', 'command = "true"'),
    (f'callable = "suite_callables:small_sum"\npath = "{HERE}"',
     f'callable = "suite_callables:env_sized"\npath = "{HERE}"'),
], ids=["commands", "callables"])
def test_adaptive_run_count_in_a_suite(tmp_path: Path, bounded: str, early: str) -> None:
    """Only what always holds, for commands and for in-process callables (each sample a calibrated loop):
    bench's rule keeps every cell within [min-runs, max-runs], the variants of a benchmark get the same
    count (whole blocks), and a 1 ms max-time stops right after min-runs (three blocks of runs take longer
    than 1 ms), far below bench's default max-runs of 1000."""
    store = Store.open()
    observer = Planned()
    spec = load_suite(suite(tmp_path, adaptive_suite(bounded, early)))
    outcome = run_suite(spec, SuiteRunOptions(), store, observer=observer)
    bench = store.get(outcome.suite_id)
    assert bench.status == "complete"
    counts = {(c.parameters["benchmark"], c.parameters["variant"]): len(c.runs) for c in bench.commands}
    assert 3 <= counts["bounded", "a"] <= 6 and counts["bounded", "a"] == counts["bounded", "b"]
    assert counts["early", "a"] == counts["early", "b"] == 3
    assert observer.total == observer.advanced == sum(counts.values()) + 4  # + 1 warm-up per cell
