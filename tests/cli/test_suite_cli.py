"""`perflab suite run` end to end: the example suite from the README, Ctrl-C, a malformed file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perflab.store.db import Store

ROOT = Path(__file__).resolve().parents[2]  # the checkout (perflab itself may be installed elsewhere)
EXAMPLE = ROOT / "examples" / "compress"


def perflab_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perflab", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )


@pytest.mark.slow
def test_example_suite_runs_from_its_directory(tmp_path: Path) -> None:
    markdown = tmp_path / "result.md"
    proc = perflab_cli(
        "suite", "run", "--filter", "^gzip$", "--export-markdown", str(markdown), "-q", cwd=EXAMPLE
    )
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    text = markdown.read_text()
    assert "| gzip | text |" in text and "| gzip | random |" in text
    assert "| TOTAL | 2/2 rows |" in text and "| geometric mean | 2/2 rows |" in text
    (listing,) = Store.open().list()
    bench = Store.open().get(listing.id)
    assert bench.kind == "suite" and len(bench.commands) == 4  # 1 benchmark × 2 inputs × 2 variants
    assert all(len(c.runs) == 10 for c in bench.commands)
    assert set(bench.settings["inputs"]) == {"text", "random"} and bench.settings["inputs"]["text"]["seed"]


def test_ctrl_c_keeps_what_was_measured(tmp_path: Path) -> None:
    (tmp_path / "perflab.toml").write_text(
        '[suite]\nruns = 200\nwarmup = 0\n[[benchmark]]\nname = "nap"\n'
        'argv = ["sh", "-c", "touch started; sleep 0.05"]\n'
        '[[variant]]\nname = "a"\n[[variant]]\nname = "b"\n'
    )
    proc = perflab_cli("suite", "run", "-q", cwd=tmp_path)
    deadline = time.monotonic() + 120  # a loaded machine can take seconds just to import perflab
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # a few measured runs (each ~0.05 s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; the runs measured are saved as #1" in err
    bench = Store.open().get(1)
    assert bench.status == "interrupted" and sum(len(c.runs) for c in bench.commands) > 0


def test_malformed_suite_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "perflab.toml").write_text('[suite]\nrusn = 3\n[[benchmark]]\nname = "t"\nargv = ["true"]\n')
    proc = perflab_cli("suite", "run", cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert (
        err.strip() == "perflab: error: perflab.toml:2: suite.rusn: unknown key (allowed: "
        "max-runs, max-time, metrics, min-benchmarking-time, min-runs, name, primary, reference, runs, seed, "
        "target-precision, timeout, warmup)"
    )
    assert not (tmp_path / ".perflab").exists()  # nothing written


def test_show_prints_the_stored_suite_table(tmp_path: Path) -> None:
    (tmp_path / "perflab.toml").write_text(
        '[suite]\nruns = 3\nwarmup = 0\n[[benchmark]]\nname = "t"\nargv = ["true"]\n'
        '[[variant]]\nname = "a"\n[[variant]]\nname = "b"\n')
    env = {**os.environ, "COLUMNS": "250"}
    run = subprocess.run([sys.executable, "-m", "perflab", "suite", "run", "-q"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    shown = subprocess.run([sys.executable, "-m", "perflab", "show", "1"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "speedup b" in shown.stdout and "TOTAL" in shown.stdout
