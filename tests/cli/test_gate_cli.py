"""`perflab check`, `perflab history` and `perflab compare --fail-on-regression` on real suites.

The gate runs on the instructions metric (valgrind here): a count that varies by well under 0.1 % between
runs of the same command, so the A/A case cannot reach the 5 % threshold and the planted 20 % regression
(6 vs 6 fully separated counts: Mann–Whitney p = 0.0022 < 0.05) always fails. Timing is never asserted."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, Run


def needs_valgrind(test):  # noqa: ANN001, ANN201 - a missing valgrind fails the test, never skips it
    def check(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if shutil.which("valgrind") is None:
            pytest.fail("valgrind not installed: .ci/system-deps installs it", pytrace=False)
        return test(*args, **kwargs)

    return functools.wraps(test)(check)

SUITE = """\
[suite]
runs = 6
warmup = 0
metrics = ["instructions", "wall"]
primary = "instructions"

[[benchmark]]
name = "loop"
argv = ["sh", "-c", "i=0; while [ $i -lt $LOOPS ]; do i=$((i+1)); done"]

[[variant]]
name = "only"
env = {{ LOOPS = "{loops}" }}
"""


def perflab(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # wide tables: no cell wrapped across lines
    return subprocess.run([sys.executable, "-m", "perflab", *args], cwd=cwd, text=True, capture_output=True,
                          timeout=600, env=env)


@pytest.mark.slow
@needs_valgrind
def test_check_fails_on_a_planted_regression_and_passes_a_a(tmp_path: Path) -> None:
    (tmp_path / "perflab.toml").write_text(SUITE.format(loops=5000))
    done = perflab(tmp_path, "suite", "run", "-q", "--save-baseline", "main")
    assert done.returncode == 0, done.stderr
    same = perflab(tmp_path, "check", "--against", "main", "--threshold", "5%")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "PASS" in same.stdout
    (tmp_path / "perflab.toml").write_text(SUITE.format(loops=6000))  # 20 % more loop iterations
    slower = perflab(tmp_path, "check", "--against", "main", "--threshold", "5%")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    assert "REGRESSION" in slower.stdout and "FAIL: 1 cell(s) regressed" in slower.stdout
    assert "1 regression(s) beyond 5.0%" in slower.stderr
    history = perflab(tmp_path, "history", "loop", "--metric", "instructions")
    assert history.returncode == 0 and "1 step(s)" in history.stdout  # the regression, found as a step
    same_again = perflab(tmp_path, "check", "--against", "main", "--result", "2", "--threshold", "5%")
    assert same_again.returncode == 0  # the stored A/A result, read instead of run


def synthetic(factor: float, seed: int) -> Benchmark:
    rng = np.random.default_rng(seed)
    runs = [Run(sequence=i, wall_ns=int(factor * 1e7 * rng.lognormal(0, 0.02)), user_s=0.0, sys_s=0.0,
                exit_code=0) for i in range(30)]
    return Benchmark(commands=[CommandResult(name="work", command="work", argv=["work"], runs=runs)],
                     created_at="2026-11-29T00:00:00+00:00")


def test_compare_fail_on_regression(tmp_path: Path) -> None:
    store = Store.open()
    a, same, slow = (store.save(synthetic(f, s)) for f, s in ((1.0, 1), (1.0, 2), (1.2, 3)))
    assert perflab(tmp_path, "compare", str(a), str(same), "--fail-on-regression").returncode == 0
    failed = perflab(tmp_path, "compare", str(a), str(slow), "--fail-on-regression")
    assert failed.returncode == 1
    assert "perflab: error: regression: work (B) wall: ratio 1.1" in failed.stderr
    assert perflab(tmp_path, "compare", str(a), str(slow)).returncode == 0  # without the flag: a report only


def test_history_of_an_unknown_benchmark_is_one_line(tmp_path: Path) -> None:
    done = perflab(tmp_path, "history", "nothing-here")
    assert done.returncode == 1 and done.stderr.strip().startswith("perflab: error: no stored result")
