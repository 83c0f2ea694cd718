"""`perflab bench` end to end: real commands, the real SQLite store (per test, from conftest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import perflab
from perflab.store.db import Store

MIB = 1 << 20
SRC = str(Path(perflab.__file__).resolve().parents[1])


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``perflab ARGS`` in this process (the root's error handling included)."""
    from perflab.cli import main

    old = sys.argv
    sys.argv = ["perflab", *args]
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err


def test_argv_command_json_output_and_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", "--runs", "5", "--json", "--", "true")
    assert code == 0, err
    data = json.loads(out)  # stdout is nothing but the JSON document
    assert data["status"] == "complete" and data["id"] is not None
    [command] = data["commands"]
    assert command["argv"] == ["true"] and len(command["runs"]) == 5
    assert all(r["peak_rss_bytes"] < 2 * MIB for r in command["runs"])
    assert data["analysis"]["commands"][0]["runs"] == 5
    assert f"saved as #{data['id']}" in err
    stored = Store.open().get(data["id"])
    assert [r.wall_ns for r in stored.commands[0].runs] == [r["wall_ns"] for r in command["runs"]]


def test_a_50_mb_workload_reports_its_own_peak(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", "--runs", "3", "--warmup", "0", "--json", "--",
                         "dd", "if=/dev/zero", "of=/dev/null", "bs=50000000", "count=1")
    assert code == 0, err
    peaks = [r["peak_rss_bytes"] for r in json.loads(out)["commands"][0]["runs"]]
    assert all(abs(p - 50_000_000) <= 5_000_000 for p in peaks), peaks


def test_two_commands_are_compared_in_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", "--runs", "8", "--seed", "1", "sleep 0.005", "sleep 0.03")
    assert code == 0, err
    assert "sleep 0.005" in out and "sleep 0.03" in out and "slower" in out


def test_failing_command_exits_1_with_a_clear_message_and_keeps_samples(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = f"n=$(cat {tmp_path}/c 2>/dev/null || echo 0); n=$((n+1)); echo $n > {tmp_path}/c; [ $n -le 3 ]"
    code, out, err = cli(capsys, "bench", "--runs", "10", "--name", "flaky", "-q", "--", "sh", "-c", script)
    assert code == 1
    assert "perflab: error: command 'flaky' exited with code 1 on run 3" in err
    assert "--ignore-failure" in err and "saved as #1" in err
    stored = Store.open().get(1)
    assert stored.status == "failed" and [r.exit_code for r in stored.commands[0].runs] == [0, 0, 1]


def test_timeout_is_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    code, out, err = cli(capsys, "bench", "--runs", "2", "--warmup", "0", "--timeout", "0.2", "-i", "-q",
                         "sleep 20")
    assert code == 0, err
    assert time.monotonic() - start < 30  # not killed: 40 s
    runs = Store.open().get(1).commands[0].runs
    assert [r.timed_out for r in runs] == [True, True]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_keeps_the_samples_and_exits_130(tmp_path: Path, signum: int) -> None:
    """A real `perflab bench` process gets SIGINT mid-run (as Ctrl-C would send it); SIGTERM alike."""
    count = tmp_path / "count"
    script = f"echo x >> {count}; sleep 0.05"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "perflab", "bench", "--runs", "1000", "--name", "slow",
         "--cleanup", f"touch {tmp_path}/cleaned", "--", "sh", "-c", script],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not count.exists() or len(count.read_text().split()) < 5):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    cause = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"  # before the fix SIGTERM said Ctrl-C
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
    assert f"interrupted by {cause}" in err and "saved as #1" in err
    stored = Store.open().get(1)
    assert stored.status == "interrupted" and cause in str(stored.message)
    assert 3 <= len(stored.commands[0].runs) < 1000
    assert (tmp_path / "cleaned").exists()  # --cleanup still ran
    executions = len(count.read_text().split())
    time.sleep(0.2)
    assert len(count.read_text().split()) == executions  # nothing keeps running after exit


def test_sigkill_keeps_every_completed_block_marked_interrupted(tmp_path: Path) -> None:
    """Before the fix a SIGKILL lost every run (the result was written only at the end)."""
    count = tmp_path / "count"
    # a SIGKILLed perflab cannot remove its private perflab-run-* directory: in tmp_path, not the system's
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
               TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "perflab", "bench", "--runs", "1000", "-q", "--", "sh", "-c",
         f"echo x >> {count}; sleep 0.02"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not count.exists() or len(count.read_text().split()) < 8):
        assert proc.poll() is None
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    executions = len(count.read_text().split())
    stored = Store.open().get(1)
    assert stored.status == "interrupted" and "killed while measuring" in str(stored.message)
    runs = stored.commands[0].runs
    assert 1 <= len(runs) <= executions  # every completed block (one run each here) up to the kill
    assert [r.sequence for r in runs] == list(range(len(runs)))
    assert stored.order == [0] * len(runs)


def test_interrupt_before_any_run_stores_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "perflab", "bench", "--runs", "3",
         "--setup", f"sh -c 'touch {tmp_path}/s; sleep 30'", "--", "true"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "s").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "the 0 runs measured are not stored" in err and "Traceback" not in err
    assert Store.open().list() == []  # before the fix: an interrupted result with 0 runs was stored


def test_baseline_save_and_compare(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "bench", "--runs", "6", "-q", "--save-baseline", "base", "--", "sleep", "0.01")
    assert code == 0, err
    code, out, err = cli(capsys, "bench", "--runs", "6", "--json", "--baseline", "base", "--",
                         "sleep", "0.01")
    assert code == 0, err
    data = json.loads(out)
    comparison = data["analysis"]["baseline_comparison"]
    assert comparison["a"]["id"] == 1 and comparison["comparisons"][0]["verdict"]
    assert "A = #1" in err  # the human comparison goes to stderr when stdout carries JSON
    code, _, err = cli(capsys, "bench", "--runs", "2", "--baseline", "nope", "--", "true")
    assert code == 1 and "no baseline named 'nope'" in err


def test_exports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "bench", "--runs", "4", "-q", "--export-json", str(tmp_path / "r.json"),
                       "--export-markdown", str(tmp_path / "r.md"), "--export-csv", str(tmp_path / "r.csv"),
                       "true", "sleep 0.001")
    assert code == 0, err
    hyperfine = json.loads((tmp_path / "r.json").read_text())
    assert [r["command"] for r in hyperfine["results"]] == ["true", "sleep 0.001"]
    assert len(hyperfine["results"][0]["times"]) == 4
    assert "sleep 0.001" in (tmp_path / "r.md").read_text()
    assert "sleep 0.001" in (tmp_path / "r.csv").read_text()
    missing_dir = str(tmp_path / "no" / "r.json")
    code, _, err = cli(capsys, "bench", "--runs", "2", "--export-json", missing_dir, "true")
    assert code == 1 and "does not exist" in err


def test_parameters_hooks_input_env(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "in").write_text("data\n")
    log = tmp_path / "log"
    code, out, err = cli(
        capsys, "bench", "--runs", "1", "--warmup", "0", "--json",
        "-L", "x", "a,b", "-P", "n", "1", "2", "-D", "1", "--name", "{x}-{n}",
        "--input", str(tmp_path / "in"), "--env", "V=env-ok",
        "--setup", f"touch {tmp_path}/setup", "--prepare", f"sh -c 'echo prep >> {log}'",
        "--cleanup", f"touch {tmp_path}/cleanup",
        f"sh -c 'test -f {tmp_path}/setup && read line && echo {{x}}{{n}} $line $V >> {log}'")
    assert code == 0, err
    data = json.loads(out)
    assert [c["name"] for c in data["commands"]] == ["a-1", "b-1", "a-2", "b-2"]  # first list fastest
    assert data["commands"][3]["parameters"] == {"x": "b", "n": "2"}
    lines = log.read_text().splitlines()
    assert lines.count("prep") == 4
    assert sorted(line for line in lines if line != "prep") == [
        "a1 data env-ok", "a2 data env-ok", "b1 data env-ok", "b2 data env-ok"]
    assert (tmp_path / "cleanup").exists()


def test_metric_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", "--runs", "3", "--json", "--metric", "ops=ops=([0-9.]+):ops/s",
                         "--", "echo", "ops=41.5")
    assert code == 0, err
    data = json.loads(out)
    assert [r["metrics"]["ops"] for r in data["commands"][0]["runs"]] == [41.5] * 3
    assert data["commands"][0]["metrics"][0]["unit"] == "ops/s"


def test_shell_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", "--runs", "5", "--shell", "--json", "echo a | cat")
    assert code == 0, err
    [command] = json.loads(out)["commands"]
    assert command["argv"] == ["sh", "-c", "echo a | cat"] and command["shell_spawn_s"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--runs", "5", "--min-runs", "3", "true"], "cannot be combined"),
    (["--"], "nothing after --"),
    (["--metric", "x", "true"], "expected NAME=REGEX"),
    (["--max-runs", "5", "--min-runs", "10", "true"], "below --min-runs"),
    (["'unterminated"], "No closing quotation"),
    (["no-such-command-xyz"], "command not found"),
    (["--step", "2", "true"], "--step needs --parameter-scan"),
    (["-L", "x"], "expected two values"),
])
def test_bad_input_is_a_one_line_error(capsys: pytest.CaptureFixture[str], args: list[str],
                                       message: str) -> None:
    code, out, err = cli(capsys, "bench", *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_process_tuning_is_applied_and_read_back(capsys: pytest.CaptureFixture[str]) -> None:
    """--nice 5 and --pin 0 need no privileges; the read-back lands in the environment."""
    code, out, err = cli(capsys, "bench", "--runs", "2", "--json", "--nice", "5", "--pin", "0", "--",
                         "sh", "-c", "test $(cut -d' ' -f19 /proc/self/stat) = 5")
    assert code == 0, err  # the workload itself checked its nice value
    tuning = json.loads(out)["environment"]["process_tuning"]
    assert tuning["nice"]["applied"] and tuning["pin"]["observed"] == "0"


def test_metric_instructions_counts_first_runs_and_labels_them(capsys: pytest.CaptureFixture[str]) -> None:
    """--metric instructions, as suites count them: separate untimed runs of the first 6 runs (valgrind
    here: no hardware counters, so the figure is labelled simulated); two counts of the same command
    agree within 0.1 %. A missing valgrind fails this test (.ci/system-deps installs it)."""
    loop = "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done"
    code, out, err = cli(capsys, "bench", "--runs", "7", "--warmup", "0", "--metric", "instructions",
                         "--json", "--", "sh", "-c", loop)
    assert code == 0, err
    command = json.loads(out)["commands"][0]
    counts = [r["metrics"]["instructions"] for r in command["runs"] if "instructions" in r["metrics"]]
    assert len(counts) == 6 and len(command["runs"]) == 7  # only the first 6 are counted
    assert min(counts) > 100_000 and (max(counts) - min(counts)) / min(counts) < 0.001, counts
    (spec,) = [m for m in command["metrics"] if m["name"] == "instructions"]
    assert spec["higher_is_better"] is False
    assert "simulated" in spec["unit"] or "hardware" in spec["unit"]
    assert any("instructions: " in note and "untimed" in note for note in command["notes"])
