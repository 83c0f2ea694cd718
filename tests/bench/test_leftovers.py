"""What a benchmarked command leaves running is killed and counted; its output is read as a bounded tail."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.bench.build import ensure_launcher
from perflab.bench.commands import Command, parse_metric
from perflab.bench.executor import LauncherExecutor, RunSpec
from perflab.bench.runner import OUTPUT_TAIL, BenchOptions, run_benchmark
from perflab.bench.scheduler import RunCount


def _alive(marker: str, argv0: bytes = b"") -> list[int]:
    """Pids whose command line holds ``marker`` (a unique sleep duration) and whose program name ends
    with ``argv0``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker.encode() in cmdline and state != "Z" and cmdline.split(b"\0")[0].endswith(argv0):
                found.append(int(entry.name))
    return found


@pytest.fixture
def launcher() -> Iterator[LauncherExecutor]:
    build = ensure_launcher()
    assert build.path is not None, build.reason
    executor = LauncherExecutor(str(build.path), spawn=build.describe())
    yield executor
    executor.close()


def test_background_child_and_setsid_daemon_are_killed_and_counted(launcher: LauncherExecutor) -> None:
    """Before the fix both stayed alive after every run; the count is taken before any kill (a group
    kill first made it a race: 0, 1 or 2 when both had been running)."""
    marker = f"6{os.getpid()}.25"
    run = launcher.run(RunSpec(["sh", "-c", f"sleep {marker} & setsid sleep {marker} & exit 0"]))
    assert run.ok and run.left_running == 2
    assert _alive(marker) == []


def test_each_level_of_a_left_tree_is_counted_once(launcher: LauncherExecutor, tmp_path: Path) -> None:
    """A background subshell and its own child: the child is found after its parent is killed.

    The fifo makes the run end only after the subshell has forked its sleep, so 2 always holds."""
    marker = f"5{os.getpid()}.125"
    ready = tmp_path / "ready"
    script = f"mkfifo {ready}; (sleep {marker} & echo up > {ready}; wait) & read line < {ready}; exit 0"
    run = launcher.run(RunSpec(["sh", "-c", script]))
    assert run.ok and run.left_running == 2
    assert _alive(marker) == []


def test_more_children_than_one_read_of_the_list_are_all_counted(launcher: LauncherExecutor) -> None:
    """700 pids do not fit the launcher's 4 KiB read of /proc/.../children: the rest are found in later
    rounds. (The guard against parsing the cut last pid as a shorter one is not observable here: such a
    pid is usually no process, and this passed before the guard too.)"""
    marker = f"3{os.getpid()}.25"
    run = launcher.run(RunSpec(["sh", "-c", f"for i in $(seq 700); do sleep {marker} & done; exit 0"]))
    assert run.ok and run.left_running == 700
    assert _alive(marker) == []


def test_a_setsid_grandchild_dies_with_a_timed_out_run(launcher: LauncherExecutor, tmp_path: Path) -> None:
    """The fifo makes sure the daemon has left the run's group before the timeout."""
    marker = f"7{os.getpid()}.5"
    ready = tmp_path / "ready"
    script = (f"mkfifo {ready}; setsid sh -c 'echo up > {ready}; sleep {marker}' & "
              f"read line < {ready}; sleep {marker}")
    run = launcher.run(RunSpec(["sh", "-c", script], timeout_s=1.0))
    assert run.timed_out and run.left_running >= 1
    assert _alive(marker) == []


def test_a_timed_out_runs_own_foreground_child_is_not_counted(launcher: LauncherExecutor) -> None:
    """The timeout killed it; the run did not leave it behind (before the fix: counted 1 time in 10)."""
    marker = f"4{os.getpid()}.5"
    run = launcher.run(RunSpec(["sh", "-c", f"sleep {marker}; true"], timeout_s=0.2))
    assert run.timed_out and run.left_running == 0
    assert _alive(marker) == []


def test_keep_children_leaves_them_running(launcher: LauncherExecutor) -> None:
    marker = f"8{os.getpid()}.75"
    run = launcher.run(RunSpec(["sh", "-c", f"sleep {marker} & exit 0"], keep_children=True))
    try:
        assert run.ok and run.left_running == 0
        # the kept child may still be between fork and exec (its command line briefly empty): wait for
        # the exec, after which only a kill changes what /proc shows
        deadline = time.monotonic() + 30
        while len(_alive(marker, argv0=b"sleep")) != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_alive(marker, argv0=b"sleep")) == 1
        assert _alive(marker) == _alive(marker, argv0=b"sleep")
    finally:
        for pid in _alive(marker):
            os.kill(pid, signal.SIGKILL)


def test_a_clean_command_leaves_nothing(launcher: LauncherExecutor) -> None:
    assert launcher.run(RunSpec(["true"])).left_running == 0


def test_benchmark_warns_about_leftovers() -> None:
    from perflab.analysis.warnings import command_warnings
    from perflab.stats.summary import summarize

    marker = f"9{os.getpid()}.5"
    bench = run_benchmark([Command.from_argv(["sh", "-c", f"sleep {marker} & exit 0"], name="bg")],
                          BenchOptions(RunCount(runs=3), warmup=0, capture_environment=False))
    command = bench.commands[0]
    assert [r.left_running for r in command.runs] == [1, 1, 1]
    warnings = command_warnings(command, summarize(command.wall_times_s()))
    assert any(w.startswith("left 3 processes running") for w in warnings)
    assert _alive(marker) == []


def test_metrics_are_matched_in_a_bounded_tail_of_a_huge_output() -> None:
    """A command printing 8 x OUTPUT_TAIL bytes: perflab reads only the tail and says so."""
    size = 8 * OUTPUT_TAIL
    script = f"head -c {size} /dev/zero | tr '\\\\0' x; echo; echo 'ops=42'"
    bench = run_benchmark([Command.from_argv(["sh", "-c", script], name="loud")],
                          BenchOptions(RunCount(runs=2), warmup=0, capture_environment=False,
                                       metrics=[parse_metric("ops=ops=([0-9]+)")]))
    command = bench.commands[0]
    assert [r.metrics["ops"] for r in command.runs] == [42.0, 42.0]
    assert any("last 1024 KiB only" in note for note in command.notes)
