"""Whole benchmarks with real processes: interleaving, adaptive stopping, failures, hooks, metrics."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest

from perflab.bench.commands import Command, expand, parse_metric
from perflab.bench.runner import BenchOptions, MeasurementSession, Observer, run_benchmark
from perflab.bench.scheduler import RunCount
from perflab.errors import PerflabError
from perflab.store.model import Run

MIB = 1 << 20


def _opts(**kwargs: object) -> BenchOptions:
    kwargs.setdefault("capture_environment", False)
    return BenchOptions(**kwargs)  # type: ignore[arg-type]


def counter(path: Path, then: str = "") -> str:
    """A shell snippet that counts its executions in ``path`` and exposes the count as $n."""
    return f"n=$(cat {path} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {path}; {then}"


def test_true_and_sleep() -> None:
    bench = run_benchmark(expand(["true", "sleep 0.02"]), _opts(count=RunCount(runs=10), seed=1))
    assert bench.status == "complete" and bench.message is None
    true, sleep = bench.commands
    assert len(true.runs) == len(sleep.runs) == 10 and true.warmup_runs == sleep.warmup_runs == 1
    assert all(r.ok for r in true.runs + sleep.runs)
    assert statistics.median(sleep.wall_times_s()) >= 0.02
    assert statistics.median(true.wall_times_s()) < statistics.median(sleep.wall_times_s())
    assert all(r.peak_rss_bytes is not None and r.peak_rss_bytes < 2 * MIB for r in true.runs)
    assert true.memory_note is None
    assert bench.settings["seed"] == 1 and bench.settings["runs"] == 10


def test_runs_are_interleaved_in_random_blocks_and_the_seed_reproduces_the_order() -> None:
    commands = expand(["true", "true --version", "true --help"])
    bench = run_benchmark(commands, _opts(count=RunCount(runs=12), seed=42, warmup=0))
    order = bench.order
    assert len(order) == 36
    blocks = [order[i:i + 3] for i in range(0, 36, 3)]
    assert all(sorted(b) == [0, 1, 2] for b in blocks)  # every block runs every command once
    assert len({tuple(b) for b in blocks}) > 1  # randomized, not one fixed order
    assert order != sorted(order)  # never all of A, then all of B
    for index, result in enumerate(bench.commands):
        for run in result.runs:
            assert order[run.sequence] == index and run.sequence // 3 == run.block
    sequences = sorted(r.sequence for c in bench.commands for r in c.runs)
    assert sequences == list(range(36))
    again = run_benchmark(commands, _opts(count=RunCount(runs=12), seed=42, warmup=0))
    assert again.order == order
    other = run_benchmark(commands, _opts(count=RunCount(runs=12), seed=43, warmup=0))
    assert other.order != order


def test_adaptive_stopping_stops_early_for_a_stable_command() -> None:
    count = RunCount(min_runs=10, max_runs=300, max_time_s=30, target_precision=0.10)
    bench = run_benchmark(expand(["sleep 0.01"]), _opts(count=count))
    n = len(bench.commands[0].runs)
    assert 10 <= n < 300, n
    assert "median CI" in bench.settings["stopped_because"]


def test_adaptive_stopping_hits_max_runs_for_a_noisy_command() -> None:
    """Sleeps of 1–9 ms picked by the pid: the median's CI stays far wider than 1 %."""
    noisy = "sh -c 'sleep 0.00$(( $$ % 9 + 1 ))'"
    count = RunCount(min_runs=10, max_runs=30, max_time_s=30, target_precision=0.01)
    bench = run_benchmark(expand([noisy]), _opts(count=count))
    assert len(bench.commands[0].runs) == 30
    assert "max-runs" in bench.settings["stopped_because"]


def test_adaptive_stopping_respects_max_time() -> None:
    count = RunCount(min_runs=5, max_runs=10_000, max_time_s=0.5, target_precision=0.0001)
    start = time.monotonic()
    bench = run_benchmark(expand(["sleep 0.01"]), _opts(count=count))
    assert time.monotonic() - start < 30  # ignoring max-time would take 10,000 × 10 ms = 100 s
    assert "max-time" in bench.settings["stopped_because"]
    assert 5 <= len(bench.commands[0].runs) < 100


def test_a_failing_command_stops_the_benchmark_and_keeps_the_runs(tmp_path: Path) -> None:
    """Succeeds three times (1 warm-up + 2 runs), then exits 3."""
    count_file = tmp_path / "count"
    cmd = Command.from_argv(["sh", "-c", counter(count_file, "[ $n -le 3 ] || exit 3")], name="flaky")
    bench = run_benchmark([cmd], _opts(count=RunCount(runs=10)))
    assert bench.status == "failed"
    assert "'flaky' exited with code 3 on run 3" in str(bench.message)
    runs = bench.commands[0].runs
    assert [r.exit_code for r in runs] == [0, 0, 3]


def test_ignore_failure_keeps_going(tmp_path: Path) -> None:
    cmd = Command.from_argv(["sh", "-c", "exit 1"])
    bench = run_benchmark([cmd], _opts(count=RunCount(runs=4), ignore_failure=True))
    assert bench.status == "complete" and [r.exit_code for r in bench.commands[0].runs] == [1, 1, 1, 1]


def test_a_run_past_its_timeout_is_killed_and_recorded() -> None:
    start = time.monotonic()
    bench = run_benchmark(expand(["sleep 30"]), _opts(count=RunCount(runs=3), timeout_s=0.2, warmup=0))
    assert time.monotonic() - start < 20  # not killed: 30 s
    assert bench.status == "failed" and "timed out after 0.2 s" in str(bench.message)
    [run] = bench.commands[0].runs
    assert run.timed_out and run.signal == 9 and 0.2 <= run.wall_s < 1.5


def test_timeouts_with_ignore_failure_are_all_recorded() -> None:
    bench = run_benchmark(expand(["sleep 30"]),
                          _opts(count=RunCount(runs=3), timeout_s=0.1, warmup=0, ignore_failure=True))
    assert bench.status == "complete" and [r.timed_out for r in bench.commands[0].runs] == [True] * 3


def test_a_missing_command_raises_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(PerflabError, match="command not found: 'no-such-command-xyz'"):
        run_benchmark(expand([f"touch {marker}", "no-such-command-xyz"]), _opts(count=RunCount(runs=2)))
    assert not marker.exists()


def test_shell_spawn_cost_is_measured_and_subtracted() -> None:
    """``sh -c ':'`` is as cheap as the calibration ``sh -c ''``: with the spawn cost subtracted its
    median must be near zero, and no run may go negative."""
    commands = expand([":"], shell=True)
    bench = run_benchmark(commands, _opts(count=RunCount(runs=30), shell=True, seed=3))
    [result] = bench.commands
    spawn = result.shell_spawn_s
    assert spawn is not None and 1e-5 < spawn < 0.05
    samples = bench.settings["shell_spawn_samples_s"]
    assert len(samples) == 30 and statistics.median(samples) == pytest.approx(spawn)
    assert any("shell spawn cost" in n and "subtracted" in n for n in result.notes)
    walls = result.wall_times_s()
    assert min(walls) >= 0  # clamped; how close to 0 the median lands depends on the machine's load


def test_the_spawn_cost_subtracted_is_the_calibration_median_and_clamps_at_zero() -> None:
    """The arithmetic of the subtraction, exact on synthetic runs (the real-process test above can only
    check what holds whatever the load)."""
    from perflab.bench.shell_cost import subtract_spawn_cost
    from perflab.store.model import CommandResult, Run

    def run(ms: float, user: float = 0.002, sys_: float = 0.001) -> Run:
        return Run(sequence=0, wall_ns=round(ms * 1e6), user_s=user, sys_s=sys_, exit_code=0)

    calibration = [run(1.0, 0.0005, 0.0002), run(2.0, 0.001, 0.0004), run(9.0, 0.004, 0.003)]
    result = CommandResult(name="true", command="true", argv=["true"], runs=[run(5.0), run(1.5)])
    walls = subtract_spawn_cost([result], calibration)
    assert walls == [0.001, 0.002, 0.009]
    assert result.shell_spawn_s == 0.002
    assert [r.wall_ns for r in result.runs] == [3_000_000, 0]  # 5 − 2 ms; 1.5 − 2 clamps at 0
    assert result.runs[0].user_s == pytest.approx(0.001) and result.runs[0].sys_s == pytest.approx(0.0006)
    assert any("subtracted" in note for note in result.notes)


def test_metrics_are_parsed_from_each_runs_output(tmp_path: Path) -> None:
    script = counter(tmp_path / "count", 'echo "noise"; echo "throughput: $n.5 MB/s" >&2')
    metric = parse_metric("tput=throughput: ([0-9.]+) MB/s:MB/s")
    bench = run_benchmark([Command.from_argv(["sh", "-c", script])],
                          _opts(count=RunCount(runs=4), metrics=[metric]))
    assert bench.status == "complete"
    assert [r.metrics["tput"] for r in bench.commands[0].runs] == [2.5, 3.5, 4.5, 5.5]  # warm-up was 1.5
    assert bench.commands[0].metrics[0].unit == "MB/s"


def test_a_missing_metric_is_a_clear_failure() -> None:
    metric = parse_metric("ops=ops=([0-9]+)")
    bench = run_benchmark([Command.from_argv(["echo", "nothing"], name="quiet")],
                          _opts(count=RunCount(runs=3), metrics=[metric], warmup=0))
    assert bench.status == "failed"
    assert bench.message == "metric 'ops' (regex 'ops=([0-9]+)') not found in the output of 'quiet' on run 1"


def test_hooks_input_and_env_are_observable(tmp_path: Path) -> None:
    (tmp_path / "input.txt").write_text("payload\n")
    log = tmp_path / "log"
    script = f"test -f {tmp_path}/setup-done && cat >> {log} && echo \"env=$BENCH_VAR\" >> {log}"
    [cmd] = expand([f"sh -c '{script}'"], setup=[f"touch {tmp_path}/setup-done"],
                   prepare=[f"sh -c 'echo prepare >> {log}'"], cleanup=[f"touch {tmp_path}/cleanup-done"])
    bench = run_benchmark([cmd], _opts(count=RunCount(runs=2), input_path=str(tmp_path / "input.txt"),
                                       env={"BENCH_VAR": "xyz"}))
    assert bench.status == "complete", bench.message
    assert log.read_text().splitlines() == ["prepare", "payload", "env=xyz"] * 3  # warm-up + 2 runs
    assert (tmp_path / "cleanup-done").exists()


def test_a_failing_prepare_hook_stops_with_its_exit_code(tmp_path: Path) -> None:
    [cmd] = expand(["true"], prepare=["sh -c 'echo broken >&2; exit 4'"])
    bench = run_benchmark([cmd], _opts(count=RunCount(runs=2)))
    assert bench.status == "failed"
    assert "--prepare of 'true'" in str(bench.message) and "exit code 4: broken" in str(bench.message)


def test_parameters_reach_the_commands(tmp_path: Path) -> None:
    from perflab.bench.commands import parse_parameter_list, parse_parameter_scan

    out = tmp_path / "out"
    params = [parse_parameter_list("x", "a,b"), parse_parameter_scan("n", "1", "2", None)]
    commands = expand([f"sh -c 'echo {{x}}{{n}} >> {out}'"], parameters=params)
    bench = run_benchmark(commands, _opts(count=RunCount(runs=1), warmup=0))
    assert sorted(out.read_text().split()) == ["a1", "a2", "b1", "b2"]
    assert [c.parameters for c in bench.commands] == [
        {"x": "a", "n": "1"}, {"x": "b", "n": "1"}, {"x": "a", "n": "2"}, {"x": "b", "n": "2"}]


def test_measurement_session_block_by_block_with_variants() -> None:
    """The API ``perflab tune try`` uses: blocks with a change in between, variant on every run."""
    seen: list[tuple[int, str]] = []

    class Record(Observer):
        def run_done(self, session: MeasurementSession, index: int, run: Run) -> None:
            seen.append((index, run.variant))

    commands = [Command.from_argv(["true"], name="a"), Command.from_argv([sys.executable, "-S", "-c", "0"],
                                                                         name="b")]
    with MeasurementSession(commands, _opts(seed=5), observer=Record()) as session:
        session.setup()
        session.warmup()
        for block in range(4):
            session.run_block(variant=("base", "tuned")[block % 2])
    bench = session.finish()
    assert bench.status == "complete" and len(bench.order) == 8
    assert [r.variant for r in bench.commands[0].runs] == ["base", "tuned", "base", "tuned"]
    assert [r.block for r in bench.commands[1].runs] == [0, 1, 2, 3]
    assert sorted(seen) == sorted((i, v) for i in (0, 1) for v in ("base", "tuned", "base", "tuned"))
    assert bench.environment["executor"] == "launcher"
