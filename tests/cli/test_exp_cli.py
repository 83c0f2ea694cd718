"""The README's method walk-through as a test (real gzip/bzip2 processes), and SIGKILL mid-experiment.

Verdicts asserted here come from rules, not from timings (REJECT on a failed check) or from effects far
beyond noise; where a verdict depends on the machine (gzip -1 against -6) the test asserts what must hold
whatever the load: a decision with a CI was stored and the idea's status follows it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perflab.lab.experiment import IDEA_STATUS

ROUND_TRIP = 'sh -c "{candidate} | gunzip | cmp -s - {input}"'


def perflab(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "perflab", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    """Three compressible inputs of different kinds (numbers, repeated words, hex of random bytes)."""
    (tmp_path / "numbers.txt").write_text("\n".join(str(i) for i in range(60000)))
    (tmp_path / "words.txt").write_text("the quick brown fox jumps\n" * 30000)
    (tmp_path / "hex.txt").write_text(os.urandom(120000).hex())
    return tmp_path


INPUTS = "numbers.txt,words.txt,hex.txt"
NOISY_OK = ("--accept-noisy", "a test machine shared with other work")  # the refusal has its own test


@pytest.mark.slow
def test_walk_through(data: Path) -> None:
    perflab(data, "idea", "add", "gzip -1 instead of gzip -6", "--impact", "high", "--effort", "low")
    perflab(data, "idea", "add", "truncate instead of compressing", "--impact", "high", "--effort", "low")
    perflab(data, "exp", "start", "1", "--inputs", INPUTS, *NOISY_OK, "--", "gzip", "-6", "-c", "{input}")
    perflab(data, "exp", "run", "1", "--check", ROUND_TRIP, "--", "gzip", "-1", "-c", "{input}")
    decided = json.loads(perflab(data, "exp", "decide", "1", "--json").stdout)
    assert decided["verdict"] in IDEA_STATUS and len(decided["inputs"]) == 3
    assert decided["gain_ci"][0] <= decided["gain"] <= decided["gain_ci"][1]
    idea = json.loads(perflab(data, "idea", "show", "1", "--json").stdout)
    assert idea["status"] == IDEA_STATUS[decided["verdict"]] and idea["last_gain"] == decided["gain"]

    perflab(data, "exp", "start", "2", "--inputs", INPUTS, *NOISY_OK, "--", "gzip", "-6", "-c", "{input}")
    perflab(data, "exp", "run", "2", "--check", ROUND_TRIP, "--", "head", "-c", "100", "{input}")
    rejected = perflab(data, "exp", "decide", "2")
    assert "REJECT" in rejected.stdout
    assert json.loads(perflab(data, "idea", "show", "2", "--json").stdout)["status"] == "discarded"

    log = perflab(data, "exp", "log", "2").stdout
    for heading in (
        "## Hypothesis",
        "## Environment",
        "## Inputs",
        "## Baseline",
        "## Candidate",
        "## Per-input results",
        "## Decision",
        "## Correctness check",
    ):
        assert heading in log
    assert "FAILED" in log and "REJECT" in log
    tracker = perflab(data, "tracker", "--markdown").stdout
    assert "| 1 | gzip -1 instead of gzip -6 |" in tracker and "| REJECT |" in tracker
    assert "not measured" in tracker  # no --measure: the cumulative gain is not guessed


def test_sigkill_mid_baseline_leaves_a_resumable_experiment(data: Path) -> None:
    perflab(data, "idea", "add", "x", "--impact", "high", "--effort", "low")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perflab",
            "exp",
            "start",
            "1",
            "--inputs",
            INPUTS,
            "--runs",
            "30",
            *NOISY_OK,
            "--",
            "sh",
            "-c",
            'sleep 0.05; cat "$0" >/dev/null',
            "{input}",
        ],
        cwd=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(data)},  # killed, it cannot remove its perflab-run-* directory
    )
    db = Path(os.environ["PERFLAB_DB"].removeprefix("sqlite:///"))
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline and state is None:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                row = conn.execute("select state from experiments where id = 1").fetchone()
                state = row[0] if row else None
        except sqlite3.OperationalError:
            pass
    time.sleep(0.5)  # well inside the ~5 s baseline
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert state == "baseline-running"
    listing = perflab(data, "exp", "list", "--json")
    assert json.loads(listing.stdout)[0]["state"] == "baseline-running"
    assert "baseline measured" in perflab(data, "exp", "resume", "1").stdout
    assert json.loads(perflab(data, "exp", "list", "--json").stdout)[0]["state"] == "baseline"
