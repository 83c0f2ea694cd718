"""Piped output (no terminal: rich's 80 columns) and a narrow COLUMNS: no line over the width, and what a
user reads stays whole (a timestamp, a CI, a verdict on one line). Real commands, a real store; the
`system` commands here only read (tune try, which writes /proc/sys, is checked in tests/lab)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import perflab

SRC = str(Path(perflab.__file__).resolve().parents[1])
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def perflab_run(tmp_path: Path, *args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": SRC, "NO_COLOR": "1",
           "HOME": str(tmp_path), "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}",
           "PERFLAB_STATE_DIR": str(tmp_path / "state")}
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two stored benchmarks of two commands each (ids 1 and 2)."""
    tmp = tmp_path_factory.mktemp("narrow")
    for _ in range(2):
        perflab_run(tmp, "bench", "--runs", "6", "-q", "-n", "short", "-n",
                    "a rather long name for the second command", "sleep 0.001", "sleep 0.002")
    return tmp


@pytest.mark.parametrize("columns", [None, "80", "60"])
@pytest.mark.parametrize("args", [["results"], ["show", "1"], ["compare", "1", "2"],
                                  ["system", "audit"], ["system", "profiles"], ["system", "status"],
                                  ["bench", "--runs", "5", "sleep 0.001", "sleep 0.002"]])
def test_piped_output_fits_the_width(store: Path, args: list[str], columns: str | None) -> None:
    width = int(columns or 80)
    proc = perflab_run(store, *args, columns=columns)
    assert widest(proc.stdout) <= width, proc.stdout
    assert widest(proc.stderr) <= width, proc.stderr
    assert proc.stdout.strip()


def test_compare_piped_keeps_verdicts_cis_and_timestamps_whole(store: Path) -> None:
    text = perflab_run(store, "compare", "1", "2").stdout
    data = json.loads(perflab_run(store, "compare", "1", "2", "--json").stdout)
    lines = text.splitlines()
    for c in data["comparisons"]:
        assert any(re.search(rf"Verdict: +{c['verdict']}$", line) for line in lines), c["verdict"]
        if c.get("ratio_ci") and c["ratio_ci"][0] is not None:
            ci = f"[{c['ratio_ci'][0]:.3f}, {c['ratio_ci'][1]:.3f}]"
            assert any(ci in line for line in lines), ci
    assert len(TIMESTAMP.findall(text)) >= 2


def test_results_piped_keeps_timestamps_whole(store: Path) -> None:
    text = perflab_run(store, "results").stdout
    assert len(TIMESTAMP.findall(text)) >= 2
