"""The launcher's two spawn modes (static + vfork-style clone, dynamic + fork) with real processes, and
the floor that a vfork-started run's ru_maxrss inherits from the launcher."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.bench.build import SPAWN_ENV, ensure_launcher
from perflab.bench.commands import Command
from perflab.bench.executor import LauncherExecutor, RunSpec, SpawnError
from perflab.bench.runner import BenchOptions, run_benchmark
from perflab.bench.scheduler import RunCount

MIB = 1 << 20
ALLOC = 50_000_000


def _executor(mode: str) -> LauncherExecutor:
    build = ensure_launcher(mode)
    assert build.path is not None and build.mode == mode, build.reason  # cc and libc.a are installed here
    return LauncherExecutor(str(build.path), spawn=build.describe())


@pytest.fixture(scope="module", params=["vfork", "fork"])
def launcher(request: pytest.FixtureRequest) -> Iterator[LauncherExecutor]:
    ex = _executor(request.param)
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def trap_program(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A static program without libc that dies on its first instruction: its own peak RSS is a few KiB,
    far below the launcher's, so what a vfork-started run reports for it is the launcher's floor."""
    d = tmp_path_factory.mktemp("trap")
    src = d / "trap.c"
    src.write_text("void _start(void) { __builtin_trap(); }\n")
    out = d / "trap"
    subprocess.run(["cc", "-nostdlib", "-static", "-O2", "-o", str(out), str(src)], check=True)
    return str(out)


def test_default_build_is_static_vfork_and_the_env_forces_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ensure_launcher().mode == "vfork"
    monkeypatch.setenv(SPAWN_ENV, "fork")
    forced = ensure_launcher()
    assert forced.mode == "fork" and "forced" in forced.describe()
    monkeypatch.setenv(SPAWN_ENV, "spoon")
    with pytest.raises(Exception, match="use 'vfork' or 'fork'"):
        ensure_launcher()


def test_true_reports_its_own_peak_under_2_mib_above_the_floor(launcher: LauncherExecutor) -> None:
    runs = [launcher.run(RunSpec(["true"])) for _ in range(20)]
    assert all(r.ok and r.peak_rss_bytes is not None and 0 < r.peak_rss_bytes < 2 * MIB for r in runs), runs
    if launcher.spawn.startswith("static"):
        floor = launcher.rss_floor_kb * 1024
        assert 0 < floor < 1 * MIB  # the static launcher stays small
        assert all(r.peak_rss_bytes > floor for r in runs)  # type: ignore[operator]
    else:
        assert launcher.rss_floor_kb == 0  # fork mode does not measure a floor
    assert launcher.floored_runs == 0


def test_50_mb_within_10_percent(launcher: LauncherExecutor) -> None:
    run = launcher.run(RunSpec(["dd", "if=/dev/zero", "of=/dev/null", f"bs={ALLOC}", "count=1"]))
    assert run.ok and run.peak_rss_bytes is not None
    assert abs(run.peak_rss_bytes - ALLOC) <= 0.10 * ALLOC, run.peak_rss_bytes


def test_exec_errors_are_reported(launcher: LauncherExecutor, tmp_path: Path) -> None:
    script = tmp_path / "noexec.sh"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(SpawnError, match="Permission denied"):
        launcher.run(RunSpec([str(script)]))
    with pytest.raises(SpawnError, match="cannot change to directory"):
        launcher.run(RunSpec(["true"], cwd=str(tmp_path / "missing")))
    with pytest.raises(SpawnError, match="No such file"):
        launcher.run(RunSpec([str(tmp_path / "gone")]))
    assert launcher.run(RunSpec(["true"])).ok  # and the launcher keeps working


def test_timeout_kills_the_process_group(launcher: LauncherExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    run = launcher.run(RunSpec(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"], timeout_s=0.2))
    assert run.timed_out and run.signal == 9
    background = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and Path(f"/proc/{background}").exists():
        state = (Path(f"/proc/{background}/stat").read_text(errors="replace").rsplit(")", 1)[-1].split()
                 or ["X"])[0]
        if state in ("Z", "X"):
            break
        time.sleep(0.02)
    else:
        assert not Path(f"/proc/{background}").exists(), "the background child survived the timeout"


def test_a_run_below_the_launchers_floor_gets_no_peak(trap_program: str) -> None:
    with _executor("vfork") as ex:
        run = ex.run(RunSpec([trap_program]))
        assert run.signal is not None  # it died on its trap instruction
        assert run.peak_rss_bytes is None and ex.floored_runs == 1 and ex.rss_floor_kb > 0
        assert ex.run(RunSpec(["true"])).peak_rss_bytes is not None and ex.floored_runs == 1


def test_the_benchmark_says_why_a_peak_is_missing(trap_program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPAWN_ENV, "vfork")
    bench = run_benchmark([Command.from_argv([trap_program], name="trap"), Command.from_argv(["true"])],
                          BenchOptions(count=RunCount(runs=3), ignore_failure=True, capture_environment=False,
                                       seed=1))
    trap, true = bench.commands
    assert all(r.peak_rss_bytes is None for r in trap.runs)
    assert any("peak memory unknown for 3 run(s)" in n and "KiB" in n for n in trap.notes), trap.notes
    assert all(r.peak_rss_bytes is not None for r in true.runs) and not true.notes
    assert bench.environment["launcher_spawn"] == "static launcher, vfork-style clone"


def test_the_encoded_environment_is_reused_but_a_changed_one_reaches_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with _executor("vfork") as ex:
        for value in ("1", "1", "2"):
            env = {"PATH": "/usr/bin:/bin", "PERFLAB_V": value}
            assert ex.run(RunSpec(["sh", "-c", "echo $PERFLAB_V"], env=env, stdout=str(out))).ok
            assert out.read_text().strip() == value
        with pytest.raises(SpawnError, match="NUL byte"):
            ex.run(RunSpec(["true"], env={"PATH": "/usr/bin", "BAD": "a\0b"}))
        with pytest.raises(SpawnError, match="NUL byte"):
            ex.run(RunSpec(["true", "a\0b"]))


def test_the_stopping_rule_asks_for_the_samples_only_when_it_checks() -> None:
    from perflab.bench.scheduler import StopRule

    calls = []

    def samples() -> list[list[float]]:
        calls.append(1)
        return [[0.01] * 40]

    fixed = StopRule(RunCount(runs=5))
    assert [fixed.decide(n, 0.1, samples).stop for n in (4, 5)] == [False, True] and not calls
    adaptive = StopRule(RunCount(min_runs=10, target_precision=0.01))
    assert not adaptive.decide(5, 0.1, samples).stop and not calls  # below --min-runs: nothing to check
    assert adaptive.decide(10, 0.1, samples).stop and calls == [1]  # identical samples: CI of width 0
