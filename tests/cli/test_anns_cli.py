"""`perflab anns list/run/show/compare` with real worker processes and a real SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import perflab
from perflab.cli import anns

RUNNER = CliRunner()


def test_list_names_every_engine_with_its_version_and_run_mode() -> None:
    out = RUNNER.invoke(anns.app, ["list"], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    for name in ("bruteforce", "hnswlib", "faiss-hnsw", "faiss-ivf", "usearch", "annoy", "voyager"):
        assert name in out.output
    assert "embedded native library" in out.output and "emulation in Python" in out.output
    assert "glove — installed" in out.output


@pytest.mark.slow
def test_run_prints_cis_and_labels_then_compare_and_show_read_the_store() -> None:
    out = RUNNER.invoke(anns.app, ["run", "--dataset", "synthetic:2000:8", "--queries", "30",
                                   "--engines", "bruteforce,faiss-flat", "--processes", "5"],
                        env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "emulation in Python" in out.output and "embedded native library" in out.output
    assert "5 ok" in out.output and " [" in out.output  # medians with their intervals
    cmp = RUNNER.invoke(anns.app, ["compare", "bruteforce", "1:faiss-flat"])
    assert cmp.exit_code == 0, cmp.output
    assert "n=5/5" in cmp.output and "[emulation in Python]" in cmp.output
    show = RUNNER.invoke(anns.app, ["show", "1"], env={"COLUMNS": "250"})
    assert show.exit_code == 0 and "faiss-flat" in show.output


def test_too_few_processes_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(perflab.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-m", "perflab", "anns", "run", "--processes", "3",
                           "--dataset", "synthetic:100:4"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "perflab: error: --processes 3: at least 5 separate processes are needed for a CI of each figure"]


@pytest.mark.slow
def test_hnsw_m_and_ef_construction_reach_every_hnsw_engine_and_the_result() -> None:
    out = RUNNER.invoke(anns.app, ["run", "--dataset", "synthetic:2000:8", "--queries", "20", "--engines",
                                   "hnswlib,faiss-hnsw", "--processes", "5", "--hnsw-m", "8",
                                   "--ef-construction", "40", "--ef", "16,32", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert result["engine_settings"]["hnsw_m"] == 8
    assert result["engine_settings"]["hnsw_ef_construction"] == 40
    assert result["engines"]["hnswlib"]["build_parameters"]["M"] == 8
    assert result["engines"]["faiss-hnsw"]["build_parameters"]["efConstruction"] == 40
    assert result["engines"]["hnswlib"]["processes_ok"] == 5


def test_ef_construction_below_one_is_refused() -> None:
    out = RUNNER.invoke(anns.app, ["run", "--dataset", "synthetic:100:4", "--ef-construction", "0"])
    assert out.exit_code == 2 and "--ef-construction" in out.output
